"""``split --stream`` to TFRecord, YOLO, VOC and COCO with images: the in-memory split's folder (shards, label
map, input readers; Ultralytics' layout; the VOC devkit; COCO split files; images placed; split.json), byte
for byte, its printed table and report,
its errors and its --strict refusal, without the Dataset.

Every bundled COCO fixture with images (missing ones left out with --skip-missing-images), generated COCO
files (sizes missing, source split tags, undeclared labels, Pascal fields and image labels, missing images),
random files from hypothesis, the pool and Dask; TensorFlow's own parser reads the streamed shards.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import picsellia_formats as pf
from picsellia_formats.cli import main
from picsellia_formats.commands.tfrecord import default_image_index
from picsellia_formats.streaming import tfrecord as streamed
from tests.streaming.test_tfrecord import COCO_FIXTURES, _image_folder, _synthetic

ROOT = Path(__file__).resolve().parents[2]


def _with_images() -> list[tuple[Path, Path]]:
    """(COCO fixture, its images folder) for the fixtures of which at least one image is bundled."""
    out = []
    for src in COCO_FIXTURES:
        assets = pf.read(src, "coco").assets
        index = default_image_index(src, assets[0].file_name if assets else None)
        if any(index.find(a.file_name) is not None for a in assets):
            out.append((src, index.folder))
    return out


FIXTURES = _with_images()


def _untimed(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _untimed(v) for k, v in value.items() if k != "seconds"}
    if isinstance(value, list):
        return [_untimed(v) for v in value]
    return value


def _tree(path: Path) -> dict[str, Any]:
    """sha256 of every file (the input readers with the folder's own name taken out); split.json as data
    without its timings; not the output marker (a digest of the files, timings included)."""
    out: dict[str, Any] = {}
    for p in sorted(path.rglob("*")):
        if not p.is_file() or p.name == ".picsellia-formats.json":
            continue
        data = p.read_bytes()
        if p.name == "split.json":
            out[p.name] = _untimed(orjson.loads(data))
            continue
        if p.name == "pipeline_input_readers.config":
            data = data.replace(str(path.resolve()).encode(), b"DST")
        out[p.relative_to(path).as_posix()] = hashlib.sha256(data).hexdigest()
    return out


def _both(src: Path, images: Path, tmp_path: Path, capsys: pytest.CaptureFixture, *extra: str, to: str = "tfrecord"
          ) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """(exit code, files, table, report lines) of ``split --to <to>`` in memory and streamed."""
    out = []
    for mode in ("--no-stream", "--stream"):
        dst = tmp_path / to / mode.strip("-")
        code = main(["split", str(src), str(dst), "--to", to, "--images", str(images), "--seed", "1",
                     "--ratios", "0.6,0.2,0.2", mode, *extra])
        printed = capsys.readouterr()
        table = printed.out.split("\n")
        table = [line for line in table if " s" not in line[-6:] and "->" not in line]  # no timing, no paths
        # no progress bar: its lines, and the blank line (as wide as the bar, so timing-dependent) that clears it
        err = [line.replace(str(dst), "DST") for line in printed.err.splitlines() if "/s]" not in line and line.strip()]
        out.append((code, _tree(dst) if dst.exists() else None, table, err))
    return out[0], out[1]


def test_fixtures_with_images_are_found() -> None:
    assert len(FIXTURES) >= 6


@pytest.mark.parametrize("extra", [[], ["--tfrecord-shards", "3"], ["--tfrecord-masks", "--tfrecord-shards", "2"]],
                         ids=["default", "shards", "masks"])
@pytest.mark.parametrize(("src", "images"), FIXTURES, ids=lambda p: str(p.relative_to(ROOT / "fixtures")))
def test_fixtures_give_the_in_memory_split(src: Path, images: Path, extra: list[str], tmp_path: Path,
                                           capsys: pytest.CaptureFixture) -> None:
    memory, stream = _both(src, images, tmp_path, capsys, "--skip-missing-images", "--skip-broken-images",
                           "--tfrecord-workers", "0", *extra)
    assert memory[0] == 0 and memory[1] is not None and any(".record-" in k for k in memory[1])
    assert stream == memory


def _generated(folder: Path, n: int, *, sizeless: bool = False, undeclared: bool = False,
               pascal_at: int | None = None, label_at: int | None = None, remove: int = 0) -> tuple[Path, Path]:
    src = _synthetic(folder, n, pascal_at=pascal_at, label_at=label_at)
    coco = json.loads(src.read_text())
    for i, image in enumerate(coco["images"]):
        if sizeless and i % 4 == 1:
            del image["width"], image["height"]
    if undeclared:
        coco["annotations"][-1]["category_id"] = 3  # no such category: a label named for its id
    src.write_text(json.dumps(coco))
    for p in sorted((folder / "images").iterdir())[1:1 + remove]:
        p.unlink()
    return src, folder / "images"


@pytest.mark.parametrize(("src", "images"), FIXTURES, ids=lambda p: str(p.relative_to(ROOT / "fixtures")))
@pytest.mark.parametrize("extra", [["--to", "yolo"], ["--to", "yolo", "--images-mode", "none"],
                                   ["--to", "yolo", "--images-mode", "copy", "--yolo-task", "segment"],
                                   ["--to", "voc"], ["--to", "voc", "--images-mode", "none", "--voc-one-based"],
                                   ["--to", "coco"], ["--to", "coco", "--images-mode", "none"]],
                         ids=["yolo", "yolo-labels-only", "yolo-segment-copy", "voc", "voc-labels-only", "coco",
                              "coco-labels-only"])
def test_fixtures_give_the_in_memory_layouts(src: Path, images: Path, extra: list[str], tmp_path: Path,
                                             capsys: pytest.CaptureFixture) -> None:
    memory, stream = _both(src, images, tmp_path, capsys, "--skip-missing-images", *extra[2:], to=extra[1])
    assert memory[0] == 0 and memory[1] and stream == memory


@pytest.mark.parametrize("case", [
    {}, {"sizeless": True}, {"pascal_at": 33, "label_at": 34}, {"label_at": 5},
    {"remove": 3}, {"sizeless": True, "remove": 2, "pascal_at": 40}],
    ids=["plain", "sizeless", "pascal-and-label-late", "label-early", "missing", "all"])
def test_generated_files_give_the_in_memory_split(case: dict, tmp_path: Path, capsys: pytest.CaptureFixture,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(streamed, "BATCH", 7)
    src, images = _generated(tmp_path / "src", 45, **case)
    memory, stream = _both(src, images, tmp_path, capsys, "--skip-missing-images", "--tfrecord-workers", "0",
                           "--tfrecord-shards", "2")
    assert memory[0] == 0 and stream == memory
    if case.get("remove"):
        assert any("images whose file is missing, left out of the output" in line for line in memory[3])
    for to in ("yolo", "voc", "coco"):
        memory, stream = _both(src, images, tmp_path, capsys, "--skip-missing-images", to=to)
        if to == "coco" and "label_at" in case:  # a COCO image label: kept in memory only, refused by a stream
            assert memory[0] == 0 and stream[0] == 2 and stream[1] is None and "--no-stream" in stream[3][-1]
            continue
        assert memory[0] == 0 and stream == memory


def test_exif_rotated_images_without_sizes(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """EXIF-rotated JPEGs whose size the file lacks (the in-memory reader reads it from the headers, the
    stream does the same to each asset): the same records and the same EXIF line in the report."""
    from PIL import Image

    src, images = _generated(tmp_path / "src", 16, sizeless=True)
    coco = json.loads(src.read_text())
    for image in coco["images"][1::4]:  # the sizeless ones
        path = images / image["file_name"]
        picture = Image.open(path).convert("RGB")
        exif = Image.Exif()
        exif[0x0112] = 6  # rotated 90 degrees: width and height swap once oriented
        path.unlink()
        image["file_name"] = path.with_suffix(".jpg").name
        picture.save(images / image["file_name"], exif=exif)
    src.write_text(json.dumps(coco))
    memory, stream = _both(src, images, tmp_path, capsys, "--tfrecord-workers", "0")
    assert memory[0] == 0 and any("EXIF" in line for line in memory[3])
    assert stream == memory


def test_late_record_fields_need_no_restart(tmp_path: Path, capsys: pytest.CaptureFixture,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The label-table pass already saw the Pascal fields and the image labels: the source is streamed twice
    (table, records), not once more for each field met late."""
    monkeypatch.setattr(streamed, "BATCH", 5)
    src, images = _generated(tmp_path / "src", 40, pascal_at=31, label_at=37)
    opened = []
    real = streamed.stream
    monkeypatch.setattr(streamed, "stream", lambda *a, **k: opened.append(1) or real(*a, **k))
    memory, stream = _both(src, images, tmp_path, capsys, "--tfrecord-workers", "0")
    assert memory[0] == 0 and stream == memory and opened == [1]


def test_missing_images_fail_like_in_memory(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    src, images = _generated(tmp_path / "src", 12, remove=2)
    memory, stream = _both(src, images, tmp_path, capsys, "--tfrecord-workers", "0")
    assert memory[0] == 2 and memory[1] is None and "image files not found" in "\n".join(memory[3])
    assert stream == memory
    for to in ("yolo", "voc", "coco"):
        memory, stream = _both(src, images, tmp_path, capsys, to=to)
        assert memory[0] == 2 and memory[1] is None and stream == memory


def test_undeclared_category_fails_like_in_memory(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """An object of a category the file does not declare: the same error, nothing written."""
    src = tmp_path / "a.json"
    images = _image_folder()
    src.write_text(json.dumps({
        "images": [{"id": i, "file_name": f"i{i}.jpg"} for i in range(1, 9)],
        "annotations": [{"id": i, "image_id": i, "category_id": 1 + i % 2, "bbox": [1, 1, 4, 4], "iscrowd": 0}
                        for i in range(1, 9)],
        "categories": [{"id": 1, "name": "a"}]}))
    memory, stream = _both(src, images, tmp_path, capsys, "--tfrecord-workers", "0")
    assert memory[0] == 2 and memory[1] is None and "category" in "\n".join(memory[3])
    assert stream == memory


@pytest.mark.parametrize("strict", ["--strict", "--strict=all"])
def test_strict_refuses_like_in_memory(strict: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    src, images = _generated(tmp_path / "src", 12)  # polygons without --tfrecord-masks: written as boxes
    memory, stream = _both(src, images, tmp_path, capsys, "--tfrecord-workers", "0", strict)
    assert memory[0] == 1 and memory[1] is None and "polygons written as boxes" in "\n".join(memory[3])
    assert stream == memory
    memory, stream = _both(src, images, tmp_path, capsys, strict, "--yolo-task", "detect", to="yolo")
    assert memory[0] == 1 and memory[1] is None and stream == memory


def test_stream_through_the_pool(tmp_path: Path, capsys: pytest.CaptureFixture,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(streamed, "BATCH", 16)
    src, images = _generated(tmp_path / "src", 70, pascal_at=60)
    memory, stream = _both(src, images, tmp_path, capsys, "--tfrecord-workers", "2", "--tfrecord-shards", "2")
    assert memory[0] == 0 and stream == memory


def test_stream_on_dask_gives_the_pool_files(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from tests.conftest import require

    require("distributed", "dask", "a streamed TFRecord split on Dask")
    src, images = _generated(tmp_path / "src", 30)
    common = ["split", str(src), "--to", "tfrecord", "--images", str(images), "--ratios", "0.5,0.5", "-q",
              "--tfrecord-shards", "2", "--tfrecord-workers", "2", "--stream"]
    assert main([*common[:2], str(tmp_path / "pool"), *common[2:]]) == 0
    assert main([*common[:2], str(tmp_path / "dask"), *common[2:], "--tfrecord-engine", "dask"]) == 0
    capsys.readouterr()
    assert _tree(tmp_path / "dask") == _tree(tmp_path / "pool")


@pytest.mark.parametrize(("extra", "message"), [
    (["--to", "picsellia"], "a picsellia split is written in memory"),
    (["--to", "voc", "--voc-layout", "flat"], "--voc-layout flat: a split written as one dataset is one VOC devkit"),
    (["--to", "tfrecord", "--per-split-folders"], "--per-split-folders is written in memory"),
    (["--to", "tfrecord", "--images-mode", "copy"], "does not hold image files"),
])
def test_stream_refusals_name_no_stream(extra: list[str], message: str, tmp_path: Path,
                                        capsys: pytest.CaptureFixture) -> None:
    src, images = _generated(tmp_path / "src", 6)
    code = main(["split", str(src), str(tmp_path / "out"), "--ratios", "0.5,0.5", "--stream", *extra,
                 *(["--images", str(images)] if "tfrecord" in extra else [])])
    err = capsys.readouterr().err
    assert code == 2 and message in err
    assert not (tmp_path / "out").exists()


def test_tfrecord_needs_images(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    src, _ = _generated(tmp_path / "src", 4)
    errors = []
    for mode in ("--no-stream", "--stream"):
        assert main(["split", str(src), str(tmp_path / mode), "--to", "tfrecord", mode]) == 2
        errors.append(capsys.readouterr().err)
        assert not (tmp_path / mode).exists()
    assert errors[0] == errors[1] and "--images" in errors[0]


def test_large_coco_streams_by_itself(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture) -> None:
    from picsellia_formats import api
    from picsellia_formats.streaming import split_write

    src, images = _generated(tmp_path / "src", 8)
    calls = []
    real = split_write.write_split_records
    monkeypatch.setattr(split_write, "write_split_records", lambda *a, **k: calls.append(1) or real(*a, **k))
    monkeypatch.setattr(api, "STREAM_ABOVE", src.stat().st_size)
    common = ["--to", "tfrecord", "--images", str(images), "-q", "--tfrecord-workers", "0"]
    assert main(["split", str(src), str(tmp_path / "a"), *common]) == 0
    monkeypatch.setattr(api, "STREAM_ABOVE", src.stat().st_size + 1)
    assert main(["split", str(src), str(tmp_path / "b"), *common]) == 0
    capsys.readouterr()
    assert calls == [1]
    a, b = _tree(tmp_path / "a"), _tree(tmp_path / "b")
    assert a == b and "label_map.pbtxt" in a


_OBJECT = st.fixed_dictionaries({
    "category_id": st.integers(1, 3),
    "bbox": st.tuples(st.floats(-2, 30), st.floats(-2, 30), st.floats(0, 12), st.floats(0, 12)),
    "polygon": st.booleans(),
    "attributes": st.sampled_from([None, {"truncated": 1}, {"pose": "Left"}, {"occluded": True}]),
    "image_label": st.booleans(),
})


@settings(max_examples=16, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(images=st.lists(st.tuples(st.integers(0, 16), st.lists(_OBJECT, max_size=4), st.booleans()),
                       min_size=1, max_size=14),
       batch=st.integers(1, 5), masks=st.booleans(), shards=st.integers(1, 3), seed=st.integers(0, 3),
       to=st.sampled_from(["tfrecord", "tfrecord", "yolo", "voc", "coco"]))
def test_random_files_give_the_in_memory_split(images, batch, masks, shards, seed, to, tmp_path_factory,
                                               monkeypatch) -> None:
    """Random COCO files (sizes given or not, boxes out of the image, polygons, Pascal attributes and image
    labels anywhere, images 15 and 16 missing) split in memory and streamed (TFRecord in random batch sizes,
    YOLO, VOC): the same folder, byte for byte."""
    folder = _image_folder()  # i0.jpg .. i14.jpg
    monkeypatch.setattr(streamed, "BATCH", batch)
    tmp = tmp_path_factory.mktemp("random")
    coco_images, anns = [], []
    for n, (k, objects, sized) in enumerate(images):
        record: dict[str, Any] = {"id": n + 1, "file_name": f"i{k}.jpg"}
        if sized:
            record.update(width=20 + k, height=16 + k)
        coco_images.append(record)
        for o in objects:
            ann: dict[str, Any] = {"id": len(anns) + 1, "image_id": n + 1, "category_id": o["category_id"],
                                   "iscrowd": 0}
            if not o["image_label"]:
                x, y, w, h = o["bbox"]
                ann["bbox"] = [x, y, w, h]
                if o["polygon"]:
                    ann["segmentation"] = [[x, y, x + w, y, x + w, y + h]]
            if o["attributes"]:
                ann["attributes"] = o["attributes"]
            anns.append(ann)
    src = tmp / "annotations.json"
    src.write_text(json.dumps({"images": coco_images, "annotations": anns,
                               "categories": [{"id": i, "name": n} for i, n in ((1, "a"), (2, "b"), (3, "c"))]}))
    outs = []
    for mode in ("--no-stream", "--stream"):
        dst = tmp / to / mode.strip("-")
        args = ["split", str(src), str(dst), "--to", to, "--images", str(folder), "--ratios", "0.5,0.5",
                "--seed", str(seed), "-q", "--skip-missing-images", mode]
        if to == "tfrecord":
            args += ["--tfrecord-workers", "0", "--tfrecord-shards", str(shards)]
            args += ["--tfrecord-masks"] if masks else []
        elif masks:  # labels only
            args += ["--images-mode", "none"]
        outs.append((main(args), _tree(dst) if dst.exists() else None))
    if to == "coco" and any(o["image_label"] for k, objects, _ in images if k < 15 for o in objects):
        assert outs[1] == (2, None)  # a COCO image label: kept by the in-memory write only, refused by a stream
    else:  # an image with objects and no size, found nowhere (YOLO), or no image found (COCO): the same refusal
        assert outs[1] == outs[0] and (outs[0][0] == 0 or to in ("yolo", "coco"))


@pytest.mark.parametrize("masks", [False, True], ids=["boxes", "masks"])
def test_tensorflow_parses_the_streamed_split(masks: bool, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """TensorFlow itself (the OD API decoder's feature spec) reads every streamed shard: each split's
    records are the images split.json assigns to it, with their boxes and labels."""
    from tests.conftest import require
    from tests.formats.tfrecord.conftest import parse_records

    tf = require("tensorflow", "test", "TensorFlow's parsing of a streamed split")
    src, images = _generated(tmp_path / "src", 24)
    dst = tmp_path / "out"
    assert main(["split", str(src), str(dst), "--to", "tfrecord", "--images", str(images), "--stream", "-q",
                 "--ratios", "0.5,0.25,0.25", "--tfrecord-shards", "2", *(["--tfrecord-masks"] if masks else [])]) == 0
    capsys.readouterr()
    assignment = json.loads((dst / "split.json").read_text())
    coco = json.loads(src.read_text())
    by_name = {im["file_name"]: im for im in coco["images"]}
    seen = []
    for split in ("train", "val", "test"):
        rows = parse_records(tf, sorted(dst.glob(f"{split}.record-*")), masks=masks)
        names = sorted(r["image/filename"].decode() for r in rows)
        assert names == sorted(n for n, s in assignment["assignment"].items() if s == split)
        seen += names
        for row in rows:
            image = by_name[row["image/filename"].decode()]
            objects = [a for a in coco["annotations"] if a["image_id"] == image["id"] and "bbox" in a]
            assert (row["image/width"], row["image/height"]) == (image["width"], image["height"])
            assert sorted(row["image/object/class/label"].tolist()) == sorted(a["category_id"] for a in objects)
            assert np.allclose(sorted(row["image/object/bbox/xmin"].tolist()),
                               sorted(a["bbox"][0] / image["width"] for a in objects))
            if masks:
                assert len(row["image/object/mask"]) == len(objects)
    assert sorted(seen) == sorted(by_name)
