"""fix: a corrected copy for the rules with a safe fix, every change reported, the source untouched."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

import picsellia_formats as pf
from picsellia_formats.model import Annotation, Asset, Dataset, Label, Mask
from picsellia_formats.validation import RULES, fix, validate
from picsellia_formats.validation.fixes import orient_annotation, orient_point
from tests.validation.defects import OPTIONS, SCHEMA, build, source_of


def _digest(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def corpora(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("fixcorpora")
    return root, build(root)


@pytest.mark.parametrize("name", ["cats", "terrain", "yolo", "voc"])
def test_fixed_copy_revalidates_clean_for_the_fixed_codes(corpora: tuple[Path, dict], name: str,
                                                           tmp_path: Path) -> None:
    root, built = corpora
    corpus, _ = built[name]
    src, images = source_of(corpus)
    before = _digest(root)
    options = {"schema": SCHEMA, **OPTIONS} if name == "cats" else {}
    report = validate(src, images, **options)
    fixed, log = fix(report)
    fmt = report.stats["format"]
    out = tmp_path / ("fixed.json" if fmt == "coco" else "fixed")
    pf.write(fixed, out, fmt, images=images)
    after = validate(out, images, **options)
    fixable = {f.code for f in report if RULES[f.code].fix} - {"label-near-duplicate"}  # case variants stay
    assert fixable, "the corpus has fixable defects"
    assert not fixable & after.codes(), after.to_text()
    assert log.codes == fixable, (log.codes ^ fixable)
    assert _digest(root) == before  # the source files are untouched


def test_the_source_dataset_is_not_modified() -> None:
    ds = Dataset([Label("cat "), Label("dog")], [
        Asset("a.jpg", 100, 80, [
            Annotation("cat ", box=(90.0, 10.0, 20.0, 20.0), area=400.0),
            Annotation("dog", polygon=[[90.0, 10.0, 120.0, 10.0, 120.0, 30.0]], box=(90.0, 10.0, 30.0, 20.0)),
            Annotation("dog", polygon=[[10.0, 10.0, 50.0, 50.0, 50.0, 10.0, 10.0, 60.0]]),
            Annotation("dog", box=(5.0, 5.0, 0.0, 3.0)),
            Annotation("cat ", box=(90.0, 10.0, 20.0, 20.0), area=400.0),
        ])])
    snapshot = _snapshot(ds)
    fixed, log = fix(validate(ds))
    assert _snapshot(ds) == snapshot
    assert fixed != ds
    anns = fixed.assets[0].annotations
    assert [a.label for a in anns] == ["cat", "dog", "dog"]
    assert anns[0].box == (90.0, 10.0, 10.0, 20.0) and anns[0].area is None
    xs = anns[1].polygon[0][0::2]
    assert (min(xs), max(xs)) == (90.0, 100)  # clipped at the image's right edge
    assert anns[1].box == (90.0, 10.0, 10.0, pytest.approx(20 / 3))  # the stated box follows the polygon
    assert len(anns[2].polygon) == 2  # the crossing ring became two pieces
    assert [label.name for label in fixed.labels] == ["cat", "dog"]
    assert log.counts() == {"bbox-partly-out-of-image": 1, "box-zero-size": 1, "duplicate-object": 1,
                            "label-whitespace": 1, "polygon-partly-out-of-image": 1,
                            "polygon-self-intersecting": 1}
    assert not validate(fixed, skip="dataset").failed("warning")


def _snapshot(ds: Dataset) -> str:
    return repr([ds.labels, [(a, a.annotations) for a in ds.assets], ds.metadata])


def test_whitespace_variants_merge_into_one_label() -> None:
    ds = Dataset([Label("car"), Label(" car"), Label("bus")],
                 [Asset("a.jpg", 10, 10, [Annotation(" car", box=(1.0, 1.0, 2.0, 2.0)),
                                          Annotation("car", box=(3.0, 3.0, 2.0, 2.0))])])
    fixed, log = fix(validate(ds))
    assert fixed.label_names == ["car", "bus"]
    assert {a.label for a in fixed.assets[0].annotations} == {"car"}
    assert "label ' car' merged into 'car'" in log.to_text()


def test_undeclared_labels_are_declared() -> None:
    ds = Dataset([Label("cat")], [Asset("a.jpg", 10, 10, [Annotation("dog", box=(1.0, 1.0, 2.0, 2.0))])])
    fixed, _ = fix(validate(ds))
    assert fixed.label_names == ["cat", "dog"]


def test_only_enabled_rules_are_fixed() -> None:
    ds = Dataset([Label("cat")], [Asset("a.jpg", 10, 10, [Annotation("cat", box=(8.0, 1.0, 5.0, 2.0)),
                                                          Annotation("cat", box=(1.0, 1.0, 0.0, 2.0))])])
    fixed, log = fix(validate(ds, skip=["bbox-partly-out-of-image"]))
    assert fixed.assets[0].annotations == [ds.assets[0].annotations[0]]
    assert log.codes == {"box-zero-size"}
    fixed, log = fix(ds)  # a Dataset is validated first
    assert log.codes == {"box-zero-size", "bbox-partly-out-of-image"}


def test_fix_is_deterministic(corpora: tuple[Path, dict], tmp_path: Path) -> None:
    _, built = corpora
    src, images = source_of(built["terrain"][0])
    outs = []
    for k in range(2):
        fixed, log = fix(validate(src, images))
        pf.write(fixed, tmp_path / f"{k}.json", "coco")
        outs.append(((tmp_path / f"{k}.json").read_bytes(), [str(c) for c in log]))
    assert outs[0] == outs[1]


# ---------------------------------------------------------------------------------------- EXIF


@pytest.mark.parametrize("orientation", range(1, 9))
def test_geometry_turns_with_the_image(tmp_path: Path, orientation: int) -> None:
    """A box and a polygon drawn on the stored pixels land on the same pixels of the displayed image."""
    raw = np.zeros((30, 50), np.uint8)
    raw[5:12, 20:41] = 255  # rows 5..11, columns 20..40
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(raw).save(tmp_path / "e.jpg", "JPEG", quality=100, exif=exif.tobytes())
    with Image.open(tmp_path / "e.jpg") as im:
        shown = np.asarray(ImageOps.exif_transpose(im)) > 128
    ys, xs = np.nonzero(shown)
    expected = (xs.min(), ys.min(), xs.max() + 1 - xs.min(), ys.max() + 1 - ys.min())
    ann = Annotation("cat", box=(20.0, 5.0, 21.0, 7.0), polygon=[[20.0, 5.0, 41.0, 5.0, 41.0, 12.0, 20.0, 12.0]],
                     mask=pf.Mask(30, 50, _rle(raw > 128)))
    moved = orient_annotation(ann, orientation, 50, 30)
    assert tuple(round(v) for v in moved.box) == expected
    pxs, pys = moved.polygon[0][0::2], moved.polygon[0][1::2]
    assert (min(pxs), min(pys), max(pxs) - min(pxs), max(pys) - min(pys)) == pytest.approx(expected)
    from pycocotools import mask as coco_mask

    decoded = coco_mask.decode({"size": [moved.mask.height, moved.mask.width],
                                "counts": moved.mask.counts.encode()})
    assert decoded.shape == shown.shape and (decoded.astype(bool) == shown).mean() > 0.99


def _rle(binary: np.ndarray) -> str:
    from pycocotools import mask as coco_mask

    return coco_mask.encode(np.asfortranarray(binary.astype(np.uint8)))["counts"].decode()


def test_exif_swapped_asset_is_fixed_end_to_end(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.new("RGB", (60, 40)).save(tmp_path / "t.jpg", "JPEG", exif=exif.tobytes())
    ds = Dataset([Label("cat")], [Asset("t.jpg", 60, 40, [Annotation("cat", box=(10.0, 5.0, 20.0, 10.0)),
                                                          Annotation("cat", point=(0.0, 0.0))])])
    report = validate(ds, tmp_path)
    assert "image-exif-swapped" in report.codes()
    fixed, log = fix(report)
    asset = fixed.assets[0]
    assert (asset.width, asset.height) == (40, 60)
    assert asset.annotations[0].box == (25.0, 10.0, 10.0, 20.0)  # (H - y - h, x, h, w)
    assert asset.annotations[1].point == (40.0, 0.0)
    assert orient_point(6, 60, 40)(0.0, 0.0) == (40.0, 0.0)
    assert "image-exif-swapped" not in validate(fixed, tmp_path).codes()
    assert log.codes == {"image-exif-swapped"}


def test_missing_sizes_come_from_the_header(tmp_path: Path) -> None:
    Image.new("RGB", (64, 48)).save(tmp_path / "a.png")
    ds = Dataset([Label("cat")], [Asset("a.png", None, None, [Annotation("cat", box=(60.0, 1.0, 10.0, 2.0))])])
    fixed, log = fix(validate(ds, tmp_path))
    assert (fixed.assets[0].width, fixed.assets[0].height) == (64, 48)
    assert fixed.assets[0].annotations[0].box == (60.0, 1.0, 4.0, 2.0)  # clipped to the new size
    assert log.codes == {"image-size-unknown", "bbox-partly-out-of-image"}
    fixed, log = fix(validate(ds))  # without images there is nothing to take the size from
    assert fixed.assets[0].width is None and not log


def test_mask_size_mismatch_has_no_fix() -> None:
    ds = Dataset([Label("cat")], [Asset("a.jpg", 10, 10, [Annotation("cat", mask=Mask(11, 10, [110]))])])
    fixed, log = fix(validate(ds))
    assert fixed.assets[0] is ds.assets[0] and not log


def test_fix_log_json() -> None:
    ds = Dataset([Label("cat")], [Asset("a.jpg", 10, 10, [Annotation("cat", box=(1.0, 1.0, 0.0, 2.0), id=4)])])
    _, log = fix(validate(ds))
    assert log.to_dict() == {"changes": 1, "counts": {"box-zero-size": 1}, "list": [
        {"code": "box-zero-size", "detail": "box dropped: box (1, 1, 0, 2) has a zero size", "asset": "a.jpg",
         "asset_index": 0, "object_index": 0, "object_id": 4}]}


def test_near_duplicates_alone_merge_only_colliding_names() -> None:
    ds = Dataset([Label("car"), Label("car "), Label(" bus")],
                 [Asset("a.jpg", 10, 10, [Annotation("car ", box=(1.0, 1.0, 2.0, 2.0)),
                                          Annotation(" bus", box=(3.0, 3.0, 2.0, 2.0))])])
    fixed, log = fix(validate(ds, rules=["label-near-duplicate"]))
    assert fixed.label_names == ["car", " bus"] and log.codes == {"label-near-duplicate"}
