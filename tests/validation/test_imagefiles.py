"""Image-file rules: header-only probes, truncation without a decode, EXIF, types, duplicates, the pool."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from PIL import Image

from picsellia_formats.model import Annotation, Asset, Dataset, Label
from picsellia_formats.validation import validate
from picsellia_formats.validation.imagefiles import probe
from tests.conftest import FIXTURES

TERRAIN1 = FIXTURES / "sahi_coco" / "coco_utils" / "terrain1.jpg"
TERRAIN2 = FIXTURES / "sahi_coco" / "coco_utils" / "terrain2.png"
GRAY = FIXTURES / "sahi_coco" / "coco_utils" / "terrain2_gray.png"


def _save(path: Path, fmt: str, size: tuple[int, int] = (40, 30), **kw: object) -> Path:
    Image.new("RGB", size, (200, 30, 30)).save(path, fmt, **kw)
    return path


def _exif(path: Path, orientation: int, size: tuple[int, int] = (40, 30)) -> Path:
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.new("RGB", size, (10, 200, 10)).save(path, "JPEG", exif=exif.tobytes())
    return path


@pytest.mark.parametrize(("path", "fmt", "size"), [
    (TERRAIN1, "jpeg", (2048, 1365)), (TERRAIN2, "png", (1024, 682)), (GRAY, "png", (1024, 682))])
def test_real_images(path: Path, fmt: str, size: tuple[int, int]) -> None:
    f = probe((str(path),))
    assert (f.status, f.format, (f.width, f.height), f.orientation) == ("ok", fmt, size, 1)


def test_truncated_jpeg_and_png_are_found(tmp_path: Path) -> None:
    for src in (TERRAIN1, TERRAIN2):
        data = src.read_bytes()
        cut = tmp_path / f"cut{src.suffix}"
        cut.write_bytes(data[: len(data) * 2 // 3])
        f = probe((str(cut),))
        assert f.status == "truncated", f
        assert (f.width, f.height) == probe((str(src),))[3:5]  # the header is still read


def test_trailing_bytes_after_the_end_marker_are_not_truncation(tmp_path: Path) -> None:
    """Motion photos and some cameras append data after the JPEG's EOI: the decode confirms it is whole."""
    for src in (TERRAIN1, TERRAIN2):
        p = tmp_path / f"tail{src.suffix}"
        p.write_bytes(src.read_bytes() + b"trailer: not image data" * 100)
        assert probe((str(p),)).status == "ok"
        p.write_bytes(src.read_bytes() + b"\x00" * 16)  # zero padding
        assert probe((str(p),)).status == "ok"


@pytest.mark.parametrize("fmt,ext", [("GIF", ".gif"), ("BMP", ".bmp"), ("WEBP", ".webp"), ("TIFF", ".tif")])
def test_other_types_whole_and_cut(tmp_path: Path, fmt: str, ext: str) -> None:
    p = _save(tmp_path / f"x{ext}", fmt, (64, 48))
    f = probe((str(p),))
    assert f.status == "ok" and f.format == fmt.lower() and (f.width, f.height) == (64, 48)
    if fmt in ("GIF", "BMP", "WEBP"):
        data = p.read_bytes()
        p.write_bytes(data[: len(data) - 10])
        assert probe((str(p),)).status in ("truncated", "unreadable")


def test_missing_unreadable_and_empty(tmp_path: Path) -> None:
    assert probe((str(tmp_path / "nope.jpg"),)).status == "missing"
    (tmp_path / "text.jpg").write_text("hello")
    assert probe((str(tmp_path / "text.jpg"),)).status == "unreadable"
    (tmp_path / "empty.png").write_bytes(b"")
    assert probe((str(tmp_path / "empty.png"),)).status == "unreadable"


def test_deep_mode_finds_corruption_inside_a_complete_file(tmp_path: Path) -> None:
    data = bytearray(TERRAIN2.read_bytes())
    for i in range(len(data) // 2, len(data) // 2 + 400):
        data[i] ^= 0x5A
    p = tmp_path / "corrupt.png"
    p.write_bytes(bytes(data))
    assert probe((str(p),)).status == "ok"  # header and IEND intact: the fast probe cannot see it
    assert probe((str(p),), deep=True).status in ("truncated", "unreadable")


@pytest.mark.parametrize(("orientation", "swapped"), [(1, False), (3, False), (5, True), (6, True), (8, True)])
def test_exif_orientation(tmp_path: Path, orientation: int, swapped: bool) -> None:
    f = probe((str(_exif(tmp_path / "e.jpg", orientation)),))
    assert (f.raw_width, f.raw_height) == (40, 30)
    assert (f.width, f.height) == ((30, 40) if swapped else (40, 30))
    assert f.orientation == orientation


def test_an_ambiguous_name_is_a_missing_image_naming_the_candidates(tmp_path: Path) -> None:
    for sub in ("train", "val"):
        (tmp_path / sub).mkdir()
        Image.new("RGB", (4, 3)).save(tmp_path / sub / "a.jpg")
    report = validate(_dataset(Asset("a.jpg", 4, 3)), tmp_path, rules=["image-missing"])
    [finding] = [f for f in report if f.code == "image-missing"]
    assert "fits 2 files" in finding.message and "'train/a.jpg'" in finding.message and "'val/a.jpg'" in finding.message


# ------------------------------------------------------------------------------- through validate


def _dataset(*assets: Asset) -> Dataset:
    return Dataset([Label("cat")], list(assets))


def test_size_rules(tmp_path: Path) -> None:
    _exif(tmp_path / "turned.jpg", 6)
    _exif(tmp_path / "flipped.jpg", 3)
    _exif(tmp_path / "upright.jpg", 8)
    _save(tmp_path / "plain.png", "PNG")
    ds = _dataset(Asset("turned.jpg", 40, 30), Asset("flipped.jpg", 40, 30), Asset("upright.jpg", 30, 40),
                  Asset("plain.png", 41, 30), Asset("plain.png", 40, 30))
    report = validate(ds, tmp_path, rules=["images"])
    assert sorted((f.code, f.asset_index) for f in report) == [
        ("image-exif-orientation", 1), ("image-exif-swapped", 0), ("image-size-mismatch", 3)]
    assert report.of("image-exif-swapped")[0].data == {"stated": [40, 30], "file": [30, 40], "stored": [40, 30],
                                                      "orientation": 6}


def test_types_and_extensions(tmp_path: Path) -> None:
    _save(tmp_path / "a.webp", "WEBP")
    _save(tmp_path / "b.jpg", "PNG")
    _save(tmp_path / "c.tiff", "TIFF")
    _save(tmp_path / "d.gif", "GIF")
    ds = _dataset(*(Asset(n, 40, 30) for n in ("a.webp", "b.jpg", "c.tiff", "d.gif")))
    report = validate(ds, tmp_path, rules=["images"])
    assert sorted((f.code, f.asset) for f in report) == [
        ("image-extension-mismatch", "b.jpg"), ("image-type-unsupported", "a.webp")]


def test_duplicates_by_content_and_unicode_names(tmp_path: Path) -> None:
    _save(tmp_path / "été.png", "PNG")
    shutil.copy(tmp_path / "été.png", tmp_path / "東京.png")
    _save(tmp_path / "other.png", "PNG", (40, 31))
    (tmp_path / "sub").mkdir()
    shutil.copy(tmp_path / "other.png", tmp_path / "sub" / "stray.png")
    ds = _dataset(Asset("été.png", 40, 30), Asset("東京.png", 40, 30), Asset("other.png", 40, 31))
    report = validate(ds, tmp_path, rules=["images"])
    assert [(f.code, f.asset) for f in report] == [("image-duplicate", "東京.png"),
                                                   ("image-not-in-dataset", None)]
    assert report.of("image-not-in-dataset")[0].message.startswith("sub/stray.png")
    assert not validate(ds, tmp_path, rules=["image-duplicate"], hash_images=False)


def test_the_pool_gives_what_one_process_gives(tmp_path: Path) -> None:
    """Shards run in worker processes above 256 assets; the findings are the same and in the same order."""
    data = io.BytesIO()
    Image.new("RGB", (20, 10)).save(data, "JPEG")
    assets = []
    for i in range(600):
        name = f"img_{i:04d}.jpg"
        blob = data.getvalue()
        if i % 50 == 7:
            blob = blob[: len(blob) // 2]
        if i % 61 != 5:
            (tmp_path / name).write_bytes(blob + (b"" if i % 3 else b"\x00" * (i % 7)))
        assets.append(Asset(name, 20 if i % 97 else 21, 10, [Annotation("cat", box=(1.0, 1.0, 5.0, 5.0))]))
    ds = _dataset(*assets)
    pooled = validate(ds, tmp_path, rules=["images"], workers=2)
    alone = validate(ds, tmp_path, rules=["images"], workers=0)
    assert [str(f) for f in pooled] == [str(f) for f in alone]
    assert pooled.counts()["image-missing"] == 10 and pooled.counts()["image-truncated"] == 12
    assert pooled.stats["images_checked"] == 590  # the 10 missing ones are not counted as checked


def test_images_folder_must_exist(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        validate(_dataset(Asset("a.jpg", 1, 1)), tmp_path / "nope")
