"""TFRecords from a stream: the in-memory writer's shards, byte for byte, and its report.

Every bundled COCO fixture with its images, and synthetic COCO files with generated JPEG and PNG images
(several batches; objects that turn the Pascal fields and the image classes on late, which restarts the
stream); the stream's failures name ``--no-stream``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

import picsellia_formats as pf
from picsellia_formats.commands.tfrecord import default_image_index
from picsellia_formats.formats.tfrecord.write import write_tfrecords
from picsellia_formats.report import Report
from picsellia_formats.streaming import tfrecord as streamed
from picsellia_formats.streaming.api import file_split
from picsellia_formats.streaming.tfrecord import write_tfrecords_stream

ROOT = Path(__file__).resolve().parents[2]


def _coco_fixtures() -> list[Path]:
    """The bundled COCO instances files a stream reads (not results lists, not files named for a split)."""
    out = []
    for p in sorted((ROOT / "fixtures").rglob("*.json")):
        try:
            if pf.detect(p) == "coco" and file_split(p) is None and not isinstance(json.loads(p.read_bytes()), list):
                out.append(p)
        except pf.FormatError:
            continue
    return out


COCO_FIXTURES = _coco_fixtures()
OPTIONS = [{}, {"shards": 3}, {"masks": True}, {"split_by_tag": True, "shards": 2}]


def _digests(paths: list[Path]) -> list[tuple[str, str]]:
    return [(p.name, hashlib.sha256(p.read_bytes()).hexdigest()) for p in paths]


def _both(src: Path, images, tmp_path: Path, **options) -> tuple[object, object]:
    """(digests, sorted report lines) in memory and streamed, or the error message of each."""
    out = []
    for name in ("memory", "stream"):
        report = Report()
        prefix = tmp_path / name / ("{split}.record" if options.get("split_by_tag") else "data.record")
        common = dict(images=images, report=report, progress=False, skip_missing=True, skip_broken=True, **options)
        try:
            if name == "memory":
                paths = write_tfrecords(pf.read(src, "coco", report=report), prefix, **common)
            else:
                paths = write_tfrecords_stream(src, prefix, **common).paths
        except pf.FormatError as exc:
            out.append(("error", str(exc)))
            continue
        sets = [(r["split"], r["records"], Path(r["input_path"]).name, list(r)) for r in report.stats["record_sets"]]
        out.append((_digests(paths), sorted(str(e) for e in report.entries), sets))
    return out[0], out[1]


def test_fixtures_are_found() -> None:
    assert len(COCO_FIXTURES) >= 8


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: ",".join(o) or "default")
@pytest.mark.parametrize("src", COCO_FIXTURES, ids=lambda p: str(p.relative_to(ROOT / "fixtures")))
def test_same_shards_as_in_memory_on_fixtures(src: Path, options: dict, tmp_path: Path) -> None:
    first = pf.read(src, "coco")
    images = default_image_index(src, first.assets[0].file_name if first.assets else None)
    memory, stream = _both(src, images, tmp_path, **options)
    assert stream == memory


def _synthetic(folder: Path, n: int, *, pascal_at: int | None = None, label_at: int | None = None) -> Path:
    """`n` generated images (JPEG, every fifth PNG), boxes and polygons, an empty image, an EXIF-less grey one."""
    rng = np.random.default_rng(7)
    (folder / "images").mkdir(parents=True)
    images, anns = [], []
    for i in range(n):
        w, h = int(rng.integers(24, 64)), int(rng.integers(24, 64))
        name = f"img_{i:04d}.{'png' if i % 5 == 0 else 'jpg'}"
        Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(folder / "images" / name)
        images.append({"id": 1000 + i, "file_name": name, "width": w, "height": h})
        for k in range(i % 4):  # image 0, 4, 8... have no object
            x, y = float(rng.integers(0, w // 2)), float(rng.integers(0, h // 2))
            ann = {"id": len(anns) + 1, "image_id": 1000 + i, "category_id": 1 + k % 2, "iscrowd": 0,
                   "bbox": [x, y, 5.0, 6.0], "area": 30.0}
            if k == 2:
                ann["segmentation"] = [[x, y, x + 5, y, x + 5, y + 6]]
            if i == pascal_at and k == 0:
                ann["attributes"] = {"truncated": 1, "pose": "Left"}
            anns.append(ann)
        if i == label_at:
            anns.append({"id": len(anns) + 1, "image_id": 1000 + i, "category_id": 2, "iscrowd": 0})
    path = folder / "annotations.json"
    path.write_text(json.dumps({"images": images, "annotations": anns, "categories": [
        {"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}]}))
    return path


@pytest.mark.parametrize("late", [{}, {"pascal_at": 37}, {"label_at": 41}, {"pascal_at": 3, "label_at": 44}],
                         ids=["plain", "pascal-late", "image-label-late", "both"])
@pytest.mark.parametrize("options", OPTIONS[:3], ids=lambda o: ",".join(o) or "default")
def test_same_shards_on_synthetic(late: dict, options: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                  ) -> None:
    monkeypatch.setattr(streamed, "BATCH", 7)  # many batches; the late fields come after several
    src = _synthetic(tmp_path / "src", 50, **late)
    memory, stream = _both(src, tmp_path / "src" / "images", tmp_path, workers=0, **options)
    assert memory[0] != "error" and stream == memory
    assert sum(s[1] for s in memory[2]) == 50


def test_same_shards_through_the_pool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(streamed, "BATCH", 16)
    src = _synthetic(tmp_path / "src", 80, pascal_at=60)
    memory, stream = _both(src, tmp_path / "src" / "images", tmp_path, workers=2, shards=2)
    assert memory[0] != "error" and stream == memory


def test_restart_leaves_no_temporary_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(streamed, "BATCH", 5)
    src = _synthetic(tmp_path / "src", 30, label_at=20)
    write_tfrecords_stream(src, tmp_path / "out" / "x.record", images=tmp_path / "src" / "images", progress=False,
                           workers=0)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["x.record"]


def test_missing_images_fail_like_in_memory(tmp_path: Path) -> None:
    src = _synthetic(tmp_path / "src", 12)
    for p in sorted((tmp_path / "src" / "images").iterdir())[3:5]:
        p.unlink()
    errors = []
    for write in (write_tfrecords_stream, lambda s, o, **k: write_tfrecords(pf.read(s), o, **k)):
        with pytest.raises(pf.FormatError) as info:
            write(src, tmp_path / "out" / "x.record", images=tmp_path / "src" / "images", progress=False)
        errors.append(str(info.value))
        assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())
    assert errors[0] == errors[1] and "img_0003" in errors[0]


def test_file_named_for_a_split_names_no_stream(tmp_path: Path) -> None:
    src = ROOT / "fixtures" / "real_exports" / "coco_per_split" / "annotations" / "instances_val.json"
    with pytest.raises(pf.FormatError, match="--no-stream"):
        write_tfrecords_stream(src, tmp_path / "x.record", images=src.parent.parent / "images", progress=False)
    assert not list(tmp_path.iterdir())


def test_other_formats_cannot_stream(tmp_path: Path) -> None:
    with pytest.raises(pf.FormatError, match="cannot be read as a stream"):
        write_tfrecords_stream(ROOT / "fixtures" / "raccoon_voc" / "annotations", tmp_path / "x.record",
                               images=ROOT / "fixtures" / "raccoon_voc" / "images", progress=False)


@pytest.mark.parametrize("extra", [[], ["--split-by-tag", "--shards", "2"], ["--masks"]],
                         ids=["default", "split", "masks"])
def test_cli_stream_gives_the_in_memory_output(extra: list[str], tmp_path: Path, capsys: pytest.CaptureFixture
                                               ) -> None:
    from picsellia_formats.cli import main

    src = _synthetic(tmp_path / "src", 30, pascal_at=20)
    outs = {}
    for mode in ("--no-stream", "--stream"):
        out = tmp_path / mode.strip("-")
        prefix = out / ("{split}.record" if "--split-by-tag" in extra else "data.record")
        assert main(["tfrecord", str(src), str(prefix), mode, "--workers", "0", "--report", str(out / "r.json"),
                     *extra]) == 0
        printed = capsys.readouterr()
        report = json.loads((out / "r.json").read_text())
        (out / "r.json").unlink()
        outs[mode] = (_digests(sorted(out.iterdir())), printed.out.replace(str(out.resolve()), "OUT"),
                      printed.err.split(" in ")[0], sorted(map(str, report["entries"])),
                      report["stats"]["records"])
    assert outs["--stream"][0] == outs["--no-stream"][0]
    assert outs["--stream"][1] == outs["--no-stream"][1]  # the pipeline input readers
    assert outs["--stream"][2] == outs["--no-stream"][2]  # the summary's counts
    assert outs["--stream"][3:] == outs["--no-stream"][3:] and outs["--stream"][4] == 30  # the JSON report


def test_cli_stream_of_another_format_names_no_stream(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from picsellia_formats.cli import main

    voc = ROOT / "fixtures" / "raccoon_voc"
    code = main(["tfrecord", str(voc / "annotations"), str(tmp_path / "x.record"), "--stream", "--images",
                 str(voc / "images")])
    assert code == 2 and "without --stream" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_cli_streams_large_coco_by_itself(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from picsellia_formats import api
    from picsellia_formats.cli import main

    src = _synthetic(tmp_path / "src", 5)
    calls = []
    real = streamed.write_tfrecords_stream
    monkeypatch.setattr(streamed, "write_tfrecords_stream", lambda *a, **k: calls.append(1) or real(*a, **k))
    monkeypatch.setattr(api, "STREAM_ABOVE", src.stat().st_size)
    assert main(["tfrecord", str(src), str(tmp_path / "a" / "x.record"), "-q"]) == 0
    monkeypatch.setattr(api, "STREAM_ABOVE", src.stat().st_size + 1)
    assert main(["tfrecord", str(src), str(tmp_path / "b" / "x.record"), "-q"]) == 0
    assert calls == [1]
    assert (tmp_path / "a" / "x.record").read_bytes() == (tmp_path / "b" / "x.record").read_bytes()


_IMAGES = None


def _image_folder() -> Path:
    """15 generated images (sizes 20..34 x 16..30), made once per session."""
    global _IMAGES
    if _IMAGES is None:
        import tempfile

        _IMAGES = Path(tempfile.mkdtemp(prefix="pf-stream-tfrecord-"))
        rng = np.random.default_rng(11)
        for i in range(15):
            Image.fromarray(rng.integers(0, 255, (16 + i, 20 + i, 3), dtype=np.uint8)).save(_IMAGES / f"i{i}.jpg")
    return _IMAGES



_OBJECT = st.fixed_dictionaries({
    "category_id": st.integers(1, 3),
    "bbox": st.tuples(st.floats(-2, 30), st.floats(-2, 30), st.floats(0, 12), st.floats(0, 12)),
    "polygon": st.booleans(),
    "attributes": st.sampled_from([None, {"truncated": 1}, {"pose": "Left"}, {"occluded": True}]),
    "image_label": st.booleans(),
})


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(images=st.lists(st.tuples(st.integers(0, 14), st.lists(_OBJECT, max_size=4), st.booleans()), max_size=12),
       batch=st.integers(1, 5), options=st.sampled_from(OPTIONS[:3]))
def test_same_shards_on_random_files(images, batch, options, tmp_path_factory, monkeypatch) -> None:
    """Random COCO files (sizes given or not, boxes out of the image, polygons, Pascal attributes and image labels
    anywhere) in random batch sizes: the stream's shards and report are the in-memory writer's."""
    folder = _image_folder()
    monkeypatch.setattr(streamed, "BATCH", batch)
    tmp = tmp_path_factory.mktemp("random")
    coco_images, anns = [], []
    for n, (k, objects, sized) in enumerate(images):
        record = {"id": n + 1, "file_name": f"i{k}.jpg"}
        if sized:
            record.update(width=20 + k, height=16 + k)
        coco_images.append(record)
        for o in objects:
            ann = {"id": len(anns) + 1, "image_id": n + 1, "category_id": o["category_id"], "iscrowd": 0}
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
    memory, stream = _both(src, folder, tmp, workers=0, **options)
    assert stream == memory


def test_cli_stream_refuses_reader_options(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from picsellia_formats.cli import main

    src = _synthetic(tmp_path / "src", 3)
    code = main(["tfrecord", str(src), str(tmp_path / "x.record"), "--stream", "--coco-ground-truth", str(src)])
    assert code == 2 and "without --stream" in capsys.readouterr().err
    assert not (tmp_path / "x.record").exists()


@pytest.mark.parametrize("options", [{}, {"masks": True, "shards": 2}], ids=["boxes", "masks"])
def test_tensorflow_parses_the_streamed_shards(options: dict, tmp_path: Path) -> None:
    """TensorFlow itself (the OD API decoder's feature spec) reads every streamed record: the boxes,
    labels and image sizes of the source, not only bytes equal to the in-memory shards."""
    from tests.conftest import require
    from tests.formats.tfrecord.conftest import parse_records

    tf = require("tensorflow", "test", "TensorFlow's parsing of streamed shards")
    src = _synthetic(tmp_path / "src", 12)
    out = write_tfrecords_stream(src, tmp_path / "out" / "data.record", images=tmp_path / "src" / "images",
                                 progress=False, **options)
    rows = parse_records(tf, out.paths, masks=bool(options.get("masks")))
    coco = json.loads(src.read_text())
    by_name = {im["file_name"]: im for im in coco["images"]}
    assert sorted(r["image/filename"].decode() for r in rows) == sorted(by_name)
    for row in rows:
        image = by_name[row["image/filename"].decode()]
        assert (row["image/width"], row["image/height"]) == (image["width"], image["height"])
        objects = [a for a in coco["annotations"] if a["image_id"] == image["id"] and "bbox" in a]
        assert len(row["image/object/bbox/xmin"]) == len(objects)
        assert sorted(row["image/object/class/label"].tolist()) == sorted(a["category_id"] for a in objects)
        for a in objects:
            x, y = a["bbox"][:2]
            assert any(abs(x0 * image["width"] - x) < 1e-3 and abs(y0 * image["height"] - y) < 1e-3
                       for x0, y0 in zip(row["image/object/bbox/xmin"], row["image/object/bbox/ymin"]))
        if options.get("masks"):
            assert len(row["image/object/mask"]) == len(objects)
