"""rasterise of a stream, and on the Dask engine: the in-memory (local pool) masks, byte for byte.

The Dask tests start a local cluster of 2 worker processes (the ``dask`` extra: skipped with the reason
outside CI, an error under CI=true).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import picsellia_formats as pf
from picsellia_formats.rasterise import rasterise
from picsellia_formats.report import Report
from picsellia_formats.streaming import rasterise as streamed
from picsellia_formats.streaming.rasterise import rasterise_stream
from tests.conftest import require

ROOT = Path(__file__).resolve().parents[2]


def _coco_fixtures() -> list[Path]:
    """The bundled COCO files a stream reads."""
    out = []
    for p in sorted((ROOT / "fixtures").rglob("*.json")):
        try:
            if pf.detect(p) != "coco" or isinstance(json.loads(p.read_bytes()), list):
                continue
            s = pf.stream(p)
            list(s.assets)
        except pf.FormatError:
            continue
        out.append(p)
    return out


COCO_FIXTURES = _coco_fixtures()


def _files(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != ".picsellia-formats.json"}


def _both(src: Path, tmp_path: Path, **options) -> tuple[object, object]:
    out = []
    for name in ("memory", "stream"):
        report = Report()
        try:
            if name == "memory":
                rasterise(pf.read(src, "coco", report=report), tmp_path / name, report=report, **options)
            else:
                rasterise_stream(src, tmp_path / name, report=report, **options)
        except pf.FormatError as exc:
            out.append(("error", str(exc)))
            continue
        # the in-memory reader tags the assets of a file named for a split (and says so); masks have no tags
        lines = sorted(str(e) for e in report.entries if "tagged with the split" not in e.what)
        out.append((_files(tmp_path / name), lines, report.stats))
    return out[0], out[1]


def test_fixtures_are_found() -> None:
    assert len(COCO_FIXTURES) >= 10


@pytest.mark.parametrize("options", [{"kind": "semantic"}, {"kind": "instance", "boxes": True}],
                         ids=["semantic", "instance-boxes"])
@pytest.mark.parametrize("src", COCO_FIXTURES, ids=lambda p: str(p.relative_to(ROOT / "fixtures")))
def test_same_masks_as_in_memory_on_fixtures(src: Path, options: dict, tmp_path: Path) -> None:
    memory, stream = _both(src, tmp_path, images=src.parent, **options)
    assert stream == memory


def _synthetic(folder: Path, n: int) -> Path:
    """`n` generated images in two folders; every third has no size in the file (read from its header), a JPEG
    and a PNG share each stem (their mask names are made unique), polygons, RLE masks and boxes."""
    from pycocotools import mask as mask_utils

    rng = np.random.default_rng(3)
    images, anns = [], []
    for i in range(n):
        w, h = int(rng.integers(16, 48)), int(rng.integers(16, 48))
        name = f"{'a' if i % 4 < 2 else 'b'}/img_{i // 4:03d}.{'jpg' if i % 2 else 'png'}"
        (folder / "images" / name).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(folder / "images" / name)
        image = {"id": i + 1, "file_name": name}
        if i % 3:
            image.update(width=w, height=h)
        images.append(image)
        for k in range(i % 4):
            x, y = float(rng.integers(0, w // 2)), float(rng.integers(0, h // 2))
            ann = {"id": len(anns) + 1, "image_id": i + 1, "category_id": 1 + k % 3, "iscrowd": 0,
                   "bbox": [x, y, 6.0, 5.0], "area": 30.0}
            if k == 1:
                ann["segmentation"] = [[x, y, x + 6, y, x + 6, y + 5]]
            elif k == 2 and i % 3:
                m = np.zeros((h, w), dtype=np.uint8, order="F")
                m[int(y):int(y) + 5, int(x):int(x) + 6] = 1
                rle = mask_utils.encode(m)
                ann.update(segmentation={"size": [h, w], "counts": rle["counts"].decode()}, iscrowd=1)
            anns.append(ann)
    path = folder / "annotations.json"
    path.write_text(json.dumps({"images": images, "annotations": anns, "categories": [
        {"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}, {"id": 3, "name": "bird"}]}))
    return path


@pytest.mark.parametrize("options", [{"kind": "semantic"}, {"kind": "instance"}, {"kind": "instance", "boxes": True},
                                     {"kind": "semantic", "jobs": 2}], ids=["semantic", "instance", "boxes", "pool"])
def test_same_masks_on_synthetic(options: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(streamed, "SHARD", 5)
    src = _synthetic(tmp_path / "src", 40)
    memory, stream = _both(src, tmp_path, images=tmp_path / "src" / "images", **options)
    assert memory[0] != "error" and stream == memory
    assert memory[2]["images"] == 40 and any("header" in line for line in memory[1])
    assert any("unique" in line for line in memory[1])


def test_too_large_fails_like_in_memory(tmp_path: Path) -> None:
    src = tmp_path / "big.json"
    src.write_text(json.dumps({"images": [{"id": 1, "file_name": "a.jpg", "width": 100000, "height": 100000}],
                               "annotations": [], "categories": [{"id": 1, "name": "cat"}]}))
    memory, stream = _both(src, tmp_path)
    assert memory[0] == "error" and stream == memory
    assert not (tmp_path / "stream").exists()


def test_cli_stream(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from picsellia_formats.cli import main

    src = _synthetic(tmp_path / "src", 12)
    printed = []
    for mode in ("--stream", "--no-stream"):
        assert main(["rasterise", str(src), str(tmp_path / mode), "--images", str(tmp_path / "src" / "images"),
                     "--kind", "instance", mode]) == 0
        printed.append(capsys.readouterr().out.replace(str(tmp_path / mode), "OUT"))
    # the in-memory reader fills missing sizes from --images silently; the stream's planner reads them and says so
    assert printed[0].replace("4 image sizes read from the image headers\n", "") == printed[1]
    assert "12 instance masks" in printed[0]
    assert _files(tmp_path / "--stream") == _files(tmp_path / "--no-stream")
    voc = ROOT / "fixtures" / "raccoon_voc" / "annotations"
    assert main(["rasterise", str(voc), str(tmp_path / "voc"), "--stream"]) == 2
    assert "without --stream" in capsys.readouterr().err


def _need_dask() -> None:
    require("distributed", "dask", "rasterise on Dask")


def test_dask_masks_are_the_pool_masks(tmp_path: Path) -> None:
    _need_dask()
    src = _synthetic(tmp_path / "src", 30)
    images = tmp_path / "src" / "images"
    ds = pf.read(src)
    outs = {}
    for name, options in (("inline", {}), ("pool", {"jobs": 2}), ("dask", {"jobs": 2, "engine": "dask"})):
        report = rasterise(ds, tmp_path / name, "instance", images=images, boxes=True, **options)
        outs[name] = (_files(tmp_path / name), str(report), report.stats)
    rasterise_stream(src, tmp_path / "dask-stream", "instance", images=images, boxes=True, jobs=2, engine="dask")
    assert outs["dask"] == outs["pool"] == outs["inline"]
    assert _files(tmp_path / "dask-stream") == outs["pool"][0]
    assert len(outs["pool"][0]) == 32  # 30 masks, labels.txt, instances.csv
