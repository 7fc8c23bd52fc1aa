"""The streaming COCO writer gives the in-memory writer's bytes and report (fixtures, synthetic, edge ids)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import picsellia_formats as pf
from picsellia_formats.model import Annotation, Asset, Dataset, Label
from picsellia_formats.report import Report
from picsellia_formats.streaming.coco_sink import CocoSink, write_coco

ROOT = Path(__file__).resolve().parents[2]
COCO_FIXTURES = sorted(p for p in (ROOT / "fixtures").rglob("*") if p.suffix.lower() == ".json"
                       and "result" not in p.name and "dets" not in p.parent.name)


def _both(ds: Dataset, tmp_path: Path, **options) -> tuple[bytes, bytes, str, str]:
    r1, r2 = Report(), Report()
    pf.write(ds, tmp_path / "mem.json", "coco", report=r1, **options)  # the API: what COCO cannot hold too
    write_coco(ds, tmp_path / "stream.json", report=r2, **options)
    return (tmp_path / "mem.json").read_bytes(), (tmp_path / "stream.json").read_bytes(), str(r1), str(r2)


@pytest.mark.parametrize("path", COCO_FIXTURES, ids=lambda p: str(p.relative_to(ROOT / "fixtures")))
def test_same_bytes_as_in_memory_on_fixtures(path: Path, tmp_path: Path) -> None:
    ds = pf.read(path)  # every bundled COCO fixture reads on its own: a failure here is a reader regression
    hints = ds.metadata.get("coco", {})
    if hints.get("split_files") or hints.get("image_labels"):  # layouts only the in-memory writer rewrites
        with pytest.raises(pf.FormatError, match="convert in memory"):
            write_coco(ds, tmp_path / "stream.json")
        assert not (tmp_path / "stream.json").exists()
        return
    mem, stream, r1, r2 = _both(ds, tmp_path)
    assert stream == mem
    assert r2 == r1


def test_same_bytes_on_synthetic_10k(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from synth_coco import ensure

    ds = pf.read(ensure(10000, tmp_path))
    mem, stream, r1, r2 = _both(ds, tmp_path)
    assert stream == mem and r2 == r1


@pytest.mark.parametrize("ids", [
    [(3, 10), (3, 11)],          # duplicate image ids: renumbered
    [("a", 1), ("b", 1)],        # string image ids, duplicate annotation ids
    [(None, None), (5, None)],   # missing ids
    [(2, 5), (1, 5)],            # unique image ids out of order, duplicate annotation ids
])
def test_ids_renumbered_like_in_memory(ids, tmp_path: Path) -> None:
    assets = [Asset(f"{k}.jpg", 8, 8, [Annotation("cat", box=(0.0, 0.0, 2.0, 2.0), id=aid),
                                       Annotation("dog", polygon=[[0.0, 0.0, 4.0, 0.0, 4.0, 4.0]])], id=iid)
              for k, (iid, aid) in enumerate(ids)]
    ds = Dataset([Label("cat", id=4)], assets)  # "dog" is met on an annotation: a new category id
    mem, stream, r1, r2 = _both(ds, tmp_path)
    assert stream == mem and r2 == r1


def test_lossy_items_reported_like_in_memory(tmp_path: Path) -> None:
    a = Asset("a.jpg", 8, 8, [Annotation("cat", box=(0.0, 0.0, 2.0, 2.0), area=99.0),
                              Annotation("tag")], tags=("x",))
    mem, stream, r1, r2 = _both(Dataset([], [a]), tmp_path, segmentation="rle")
    assert stream == mem and r2 == r1 and r1


def test_abort_leaves_no_output(tmp_path: Path) -> None:
    out = tmp_path / "a.json"
    with pytest.raises(RuntimeError), CocoSink(out, []) as sink:
        sink.add(Asset("a.jpg", 1, 1, []))
        raise RuntimeError
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("renumber", [False, True], ids=["ids kept (spill copied)", "ids renumbered (re-read)"])
def test_many_batches_give_the_in_memory_bytes(renumber: bool, monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    from picsellia_formats.streaming import coco_sink

    monkeypatch.setattr(coco_sink, "BATCH", 3)
    assets = [Asset(f"{k}.jpg", 8, 8, [Annotation("cat", box=(0.0, 0.0, 2.0, 2.0), id=j if renumber else 10 * k + j)
                                       for j in range(k % 3)], id=(k % 5 if renumber else k)) for k in range(20)]
    ds = Dataset([Label("cat", id=1)], assets)
    mem, stream, r1, r2 = _both(ds, tmp_path)
    assert stream == mem and r2 == r1
    assert ("renumbered" in r1) is renumber


def test_a_coco_image_label_in_a_stream_is_refused_naming_the_file(tmp_path: Path) -> None:
    out = tmp_path / "a.json"
    with pytest.raises(pf.FormatError, match="convert in memory") as info, \
            CocoSink(out, [Label("cat")], refuse_image_labels=True, source="src.json") as sink:
        sink.add(Asset("a.jpg", 8, 8, [Annotation("cat")]))
        sink.close()
    assert "src.json" in str(info.value) and "a.jpg" in str(info.value)
    assert not out.exists()


def test_pycocotools_loads_a_streamed_file_with_masks_and_polygons(tmp_path: Path) -> None:
    """pycocotools (COCO's own API) indexes the sink's output and decodes every mask of it."""
    from pycocotools import mask as mask_utils
    from pycocotools.coco import COCO

    src = ROOT / "fixtures" / "sahi_coco" / "coco_utils" / "terrain_all_coco.json"
    out = tmp_path / "streamed.json"
    pf.write_stream(pf.stream(src), out, "coco", segmentation="rle")
    api = COCO(str(out))
    ds = pf.read(src)
    assert len(api.getImgIds()) == len(ds.assets)
    assert len(api.getAnnIds()) == ds.num_annotations
    for ann in api.loadAnns(api.getAnnIds()):
        rle = api.annToRLE(ann)
        assert mask_utils.area(rle) > 0
