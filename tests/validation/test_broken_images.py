"""An image that does not decode is one finding naming its file, in every format, never exit 2.

The same small dataset (three raccoon photos, one cut short) is laid out as YOLO, COCO and VOC. COCO
and VOC state the sizes, so the reader needs no header and the image probe names the broken file;
YOLO (and VOC without a stated size) needs the header for the size: when it cannot be read the
validator names the file (left out, with its label rows counted) and checks the rest.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from picsellia_formats.errors import FormatError
from picsellia_formats.validation import fix, validate
from tests.conftest import FIXTURES, run_cli

SRC = FIXTURES / "raccoon_voc"
NAMES = ("raccoon-105", "raccoon-106", "raccoon-110")
BROKEN = "raccoon-110.jpg"
IMAGE_CODES = ("image-truncated", "image-unreadable")
#: how the broken image is cut: inside its header (no size to read), inside its data, or not an image at all
CUTS = {"header": 100, "data": 3000, "garbage": 0}
#: what the probe says of each cut
EXPECTED_CODE = {"header": "image-truncated", "data": "image-truncated", "garbage": "image-unreadable"}


def _images(folder: Path, cut: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in NAMES:
        data = (SRC / "images" / f"{name}.jpg").read_bytes()
        if f"{name}.jpg" == BROKEN:
            data = data[:CUTS[cut]] if CUTS[cut] else b"this is not an image\n"
        (folder / f"{name}.jpg").write_bytes(data)


def _boxes() -> dict[str, tuple[int, int, list[tuple[int, int, int, int]]]]:
    """Sizes and corner boxes of the three images, from their VOC files."""
    from xml.etree import ElementTree

    out = {}
    for name in NAMES:
        root = ElementTree.parse(SRC / "annotations" / f"{name}.xml").getroot()
        w, h = int(root.findtext("size/width")), int(root.findtext("size/height"))
        boxes = [tuple(int(o.findtext(f"bndbox/{k}")) for k in ("xmin", "ymin", "xmax", "ymax"))
                 for o in root.iter("object")]
        out[name] = (w, h, boxes)
    return out


def make(fmt: str, root: Path, cut: str, sized: bool = True) -> tuple[Path, Path]:
    """(the annotations to validate, the images folder) of the dataset in `fmt`."""
    boxes = _boxes()
    if fmt == "yolo":
        _images(root / "images" / "train", cut)
        (root / "labels" / "train").mkdir(parents=True)
        for name, (w, h, bs) in boxes.items():
            rows = [f"0 {(x0 + x1) / 2 / w:.6f} {(y0 + y1) / 2 / h:.6f} {(x1 - x0) / w:.6f} {(y1 - y0) / h:.6f}"
                    for x0, y0, x1, y1 in bs]
            (root / "labels" / "train" / f"{name}.txt").write_text("\n".join(rows) + "\n")
        (root / "data.yaml").write_text("path: .\ntrain: images/train\nnames:\n  0: raccoon\n")
        return root, root / "images"
    _images(root / "images", cut)
    if fmt == "coco":
        images = [{"id": i, "file_name": f"{n}.jpg", "width": w, "height": h}
                  for i, (n, (w, h, _)) in enumerate(boxes.items(), 1)]
        anns = [{"id": len(images) * 10 + k, "image_id": i, "category_id": 1, "bbox": [x0, y0, x1 - x0, y1 - y0],
                 "area": (x1 - x0) * (y1 - y0), "iscrowd": 0}
                for i, (_, _, bs) in enumerate(boxes.values(), 1) for k, (x0, y0, x1, y1) in enumerate(bs)]
        path = root / "instances.json"
        path.write_text(json.dumps({"images": images, "annotations": anns,
                                    "categories": [{"id": 1, "name": "raccoon"}]}))
        return path, root / "images"
    ann = root / "annotations"
    ann.mkdir()
    for name in NAMES:
        text = (SRC / "annotations" / f"{name}.xml").read_text()
        if not sized and f"{name}.jpg" == BROKEN:
            text = text.replace("<size>", "<!--").replace("</size>", "-->")
        (ann / f"{name}.xml").write_text(text)
    return ann, root / "images"


def _image_findings(report) -> list:
    """The image findings, but for image-size-unknown (true of a VOC file without a size, and not the point)."""
    return [f for f in report.findings if f.code.startswith("image-") and f.code != "image-size-unknown"]


@pytest.mark.parametrize("cut", sorted(CUTS))
@pytest.mark.parametrize(("fmt", "sized"), [("yolo", True), ("coco", True), ("voc", True), ("voc", False)])
def test_one_finding_names_the_broken_file(tmp_path: Path, fmt: str, sized: bool, cut: str) -> None:
    src, images = make(fmt, tmp_path, cut, sized)
    report = validate(src, images, format=fmt)
    found = _image_findings(report)
    assert [f.code for f in found] == [EXPECTED_CODE[cut]], [str(f) for f in found]
    finding = found[0]
    assert finding.asset == BROKEN
    assert BROKEN in str(finding)  # the file is named (in the message or as the finding's file)
    assert "None" not in finding.message and "?" not in finding.message
    assert report.failed("error")
    assert ("image-size-unknown" in report.codes()) == (not sized and cut != "data")  # else the header gave it
    # the other two images are checked as usual
    assert {a.file_name for a in report.dataset.assets} >= {"raccoon-105.jpg", "raccoon-106.jpg"}


@pytest.mark.parametrize("cut", ["header", "garbage"])
def test_yolo_left_out_asset_counts_its_rows_and_fix_logs_it(tmp_path: Path, cut: str) -> None:
    src, images = make("yolo", tmp_path, cut)
    report = validate(src, images, format="yolo")
    (finding,) = _image_findings(report)
    assert "its 1 label row not read" in finding.message
    assert finding.file.endswith(BROKEN)
    assert [a.file_name for a in report.dataset.assets] == ["raccoon-105.jpg", "raccoon-106.jpg"]
    _, log = fix(report)
    assert [c.code for c in log] == [EXPECTED_CODE[cut]]
    assert BROKEN in log.to_text()


def test_yolo_without_images_folder_still_names_the_file(tmp_path: Path) -> None:
    src, _ = make("yolo", tmp_path, "header")
    (finding,) = _image_findings(validate(src, format="yolo"))
    assert finding.code == "image-truncated" and finding.file.endswith(BROKEN)


def test_yolo_conversion_still_refuses_naming_the_file(tmp_path: Path) -> None:
    """Converting must not drop an asset silently: the reader refuses, naming the image."""
    from picsellia_formats import read

    src, _ = make("yolo", tmp_path, "header")
    with pytest.raises(FormatError, match=BROKEN):
        read(src, "yolo")


@pytest.mark.parametrize("fmt", ["yolo", "coco", "voc"])
def test_cli_validate_and_report_go_on(tmp_path: Path, fmt: str) -> None:
    src, images = make(fmt, tmp_path / "data", "header", sized=fmt != "voc")
    result = run_cli("validate", src, "--images", images, "--from", fmt)
    assert result.code == 1, result.err  # findings at error severity, not an unreadable input
    assert BROKEN in result.out and "Traceback" not in result.err
    out = tmp_path / "report.html"
    result = run_cli("report", src, out, "--images", images, "--from", fmt, "-q")
    assert result.code == 0, result.err
    assert BROKEN in out.read_text()


def test_layouts_are_the_same_dataset(tmp_path: Path) -> None:
    """The three layouts hold the same objects (so the test compares like with like)."""
    counts = set()
    for fmt in ("yolo", "coco", "voc"):
        src, images = make(fmt, tmp_path / fmt, "data")
        ds = validate(src, images, format=fmt).dataset
        counts.add(tuple(sorted((a.file_name, len(a.annotations)) for a in ds.assets)))
        shutil.rmtree(tmp_path / fmt)
    assert len(counts) == 1
