"""YOLO reader and writer: the Label Studio fixtures, exact round trips, data.yaml dialects, bad rows."""

from __future__ import annotations

import atexit
import math
import random
import shutil
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

import picsellia_formats as pf
from picsellia_formats.formats import yolo
from picsellia_formats.formats.yolo import rows as yolo_rows
from picsellia_formats.model import QA, Annotation, Asset, Dataset, Label, Mask
from tests.conftest import FIXTURES, run_cli

LS = FIXTURES / "labelstudio_yolo"
LS_MIXED = LS / "test_import_yolo_data"
LS_UNIF = LS / "test_import_yolo_data_unif_dims"
CLASSES = ["closed_door", "opened_door", "bus", "number"]


# ------------------------------------------------------------------------------------------ helpers


def _image(path: Path, size: tuple[int, int] = (64, 48), orientation: int | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    im = Image.new("RGB", size, (120, 30, 200))
    fmt = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".bmp": "BMP", ".webp": "WEBP"}[path.suffix.lower()]
    if orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = orientation
        im.save(path, fmt, exif=exif.tobytes())
    else:
        im.save(path, fmt)
    return path


def _dataset(root: Path, labels: dict[str, str], classes: list[str] | None = ("a", "b", "c"),  # type: ignore[assignment]
             size: tuple[int, int] = (64, 48), ext: str = ".jpg") -> Path:
    """images/ + labels/ with one image per label file (``{"x": "0 0.5 0.5 0.2 0.2"}``)."""
    for stem, text in labels.items():
        _image(root / "images" / f"{stem}{ext}", size)
        lbl = root / "labels" / f"{stem}.txt"
        lbl.parent.mkdir(parents=True, exist_ok=True)
        lbl.write_text(text)
    if classes is not None:
        (root / "classes.txt").write_text("".join(c + "\n" for c in classes))
    return root


def _rows(path: Path) -> list[list[str]]:
    return [line.split() for line in path.read_text().splitlines() if line.strip()]


def _normalised(folder: Path) -> dict[str, list[tuple[int, tuple[float, ...]]]]:
    """Every label file as (class, values rounded to 12 significant digits) rows: 'text after normalising'."""
    out = {}
    for p in sorted(folder.rglob("*.txt")):
        rows = []
        for parts in _rows(p):
            rows.append((int(parts[0]), tuple(float(f"{float(v):.12g}") for v in parts[1:])))
        out[p.relative_to(folder).as_posix()] = rows
    return out


# ------------------------------------------------------------------------------ Label Studio fixtures


@pytest.mark.parametrize(("folder", "n_images", "n_boxes"), [(LS_MIXED, 7, 25), (LS_UNIF, 5, 19)],
                         ids=["mixed_dims", "unif_dims"])
def test_labelstudio_counts_and_class_order(folder: Path, n_images: int, n_boxes: int) -> None:
    ds = pf.read(folder)
    assert (len(ds), ds.num_annotations) == (n_images, n_boxes)
    assert ds.label_names == CLASSES
    assert all(a.annotations for a in ds.assets)
    assert all(ann.kind == "box" for _, ann in ds.annotations())


def test_labelstudio_mixed_extensions_and_per_image_sizes() -> None:
    ds = pf.read(LS_MIXED, "yolo")
    got = {a.file_name: (a.width, a.height) for a in ds.assets}
    assert got == {"img_1.jpg": (640, 329), "img_2.png": (640, 427), "img_3.png": (1280, 720),
                   "img_4.png": (640, 494), "img_5.jpg": (640, 425), "img_6.jpeg": (1280, 720),
                   "img_7.jpeg": (640, 427)}
    # first row of img_3.txt: 3 0.2828125 0.23055555555555557 0.0390625 0.06388888888888888 on 1280x720
    first = ds.assets[2].annotations[0]
    assert first.label == "number"
    assert first.box == pytest.approx((0.2828125 * 1280 - 25, 0.23055555555555557 * 720 - 23, 50, 46), abs=1e-9)


def test_pixel_values_are_snapped_only_within_a_nanopixel() -> None:
    # Label Studio wrote integer pixel boxes; value * size gives them back exactly
    ds = pf.read(LS_MIXED)
    for _, ann in ds.annotations():
        assert all(v == round(v) for v in ann.box)
    assert yolo_rows.snap(12.99999999999984) == 13.0
    assert yolo_rows.snap(12.3456789012) == 12.3456789012
    assert yolo_rows.snap(0.1 + 0.2) == 0.3


@pytest.mark.parametrize("folder", [LS_MIXED, LS_UNIF], ids=["mixed_dims", "unif_dims"])
def test_yolo_to_yolo_is_byte_identical(folder: Path, tmp_path: Path) -> None:
    report = pf.convert(folder, tmp_path / "out", "yolo", images=folder / "images")
    assert not report.lossy, str(report)
    for src in sorted((folder / "labels").glob("*.txt")):
        assert (tmp_path / "out" / "labels" / src.name).read_bytes() == src.read_bytes()  # CRLF kept too
    for img in (folder / "images").iterdir():
        assert (tmp_path / "out" / "images" / img.name).read_bytes() == img.read_bytes()
    assert yaml.safe_load((tmp_path / "out" / "data.yaml").read_text())["names"] == CLASSES
    assert (tmp_path / "out" / "classes.txt").read_text().split() == CLASSES


@pytest.mark.parametrize("folder", [LS_MIXED, LS_UNIF], ids=["mixed_dims", "unif_dims"])
def test_yolo_to_coco_to_yolo_is_exact(folder: Path, tmp_path: Path) -> None:
    pf.convert(folder, tmp_path / "c.json", "coco")
    coco_ds = pf.read(tmp_path / "c.json")
    yolo_ds = pf.read(folder)
    assert [[ann.box for ann in a.annotations] for a in coco_ds.assets] == \
        [[ann.box for ann in a.annotations] for a in yolo_ds.assets]  # the same floats, bit for bit
    report = pf.convert(tmp_path / "c.json", tmp_path / "back", "yolo", images=folder / "images")
    assert not report.lossy, str(report)
    assert _normalised(tmp_path / "back" / "labels") == _normalised(folder / "labels")
    # and the numbers differ by float noise only (14 significant digits written)
    for src in sorted((folder / "labels").glob("*.txt")):
        for a, b in zip(_rows(src), _rows(tmp_path / "back" / "labels" / src.name), strict=True):
            assert a[0] == b[0]
            assert all(abs(float(x) - float(y)) < 1e-13 for x, y in zip(a[1:], b[1:], strict=True))


# ----------------------------------------------------------------------------------- precision


def test_box_moves_less_than_a_hundredth_of_a_pixel_on_4k(tmp_path: Path) -> None:
    rng = random.Random(7)
    W, H = 3840, 2160
    anns = []
    for _ in range(2000):
        w, h = rng.uniform(0.5, 900), rng.uniform(0.5, 900)
        x, y = rng.uniform(0, W - w), rng.uniform(0, H - h)
        anns.append(Annotation("a", box=(x, y, w, h)))
    ds = Dataset([Label("a")], [Asset("big.png", W, H, anns)])
    pf.write(ds, tmp_path / "y", "yolo")
    _image(tmp_path / "y" / "images" / "big.png", (W, H))
    back = pf.read(tmp_path / "y")
    worst = max(abs(a - b) for src, got in zip(anns, back.assets[0].annotations) for a, b in zip(src.box, got.box))
    assert worst < 1e-6  # far inside the 0.01 px asked


def test_integer_coco_boxes_survive_coco_yolo_coco(tmp_path: Path) -> None:
    rng = random.Random(3)
    anns = [Annotation("a", box=(float(rng.randint(0, 400)), float(rng.randint(0, 300)),
                                 float(rng.randint(1, 200)), float(rng.randint(1, 150)))) for _ in range(500)]
    ds = Dataset([Label("a")], [Asset("i.jpg", 641, 479, anns)])
    pf.write(ds, tmp_path / "y", "yolo")
    _image(tmp_path / "y" / "images" / "i.jpg", (641, 479))
    assert [a.box for a in pf.read(tmp_path / "y").assets[0].annotations] == [a.box for a in anns]


# ------------------------------------------------------------------------------------- data.yaml


def _split_tree(root: Path) -> Path:
    for split, stems in (("train", ["t1", "t2"]), ("val", ["v1"])):
        for stem in stems:
            _image(root / "images" / split / f"{stem}.png", (100, 50))
            (root / "labels" / split).mkdir(parents=True, exist_ok=True)
            (root / "labels" / split / f"{stem}.txt").write_text("1 0.5 0.5 0.2 0.4\n")
    return root


@pytest.mark.parametrize("names", [
    "names: [cat, dog]\n",
    "names:\n  0: cat\n  1: dog\n",
    "names:\n- cat\n- dog\nnc: 2\n",
    "names: {1: dog, 0: cat}\n",
])
def test_data_yaml_names_list_or_dict(names: str, tmp_path: Path) -> None:
    root = _split_tree(tmp_path / "ds")
    (root / "data.yaml").write_text("path: .\ntrain: images/train\nval: images/val\n" + names)
    ds = pf.read(root)
    assert ds.label_names == ["cat", "dog"]
    assert [(a.file_name, a.tags) for a in ds.assets] == [("t1.png", ["train"]), ("t2.png", ["train"]),
                                                          ("v1.png", ["val"])]
    assert {ann.label for _, ann in ds.annotations()} == {"dog"}


def test_data_yaml_names_that_yaml_would_turn_into_booleans(tmp_path: Path) -> None:
    root = _split_tree(tmp_path / "ds")
    (root / "data.yaml").write_text("train: images/train\nval: images/val\nnames: [no, yes]\n")
    assert pf.read(root).label_names == ["no", "yes"]


def test_data_yaml_txt_lists_and_lists_of_folders(tmp_path: Path) -> None:
    root = _split_tree(tmp_path / "ds")
    (root / "train.txt").write_text("./images/train/t1.png\n./images/train/t2.png\n")
    (root / "val.txt").write_text("images/val/v1.png\n")
    (root / "data.yaml").write_text("train: train.txt\nval: [val.txt]\ntest: [images/val, images/train]\n"
                                    "names: [cat, dog]\n")
    ds = pf.read(root / "data.yaml")
    assert [(a.file_name, a.tags) for a in ds.assets] == [
        ("t1.png", ["train", "test"]), ("t2.png", ["train", "test"]), ("v1.png", ["val", "test"])]
    assert ds.num_annotations == 3


def test_data_yaml_roboflow_layout_and_missing_absolute_path(tmp_path: Path) -> None:
    root = tmp_path / "rf"
    for split in ("train", "valid"):
        _image(root / split / "images" / f"{split}_a.jpg", (80, 60))
        (root / split / "labels").mkdir(parents=True)
        (root / split / "labels" / f"{split}_a.txt").write_text("0 0.5 0.5 0.5 0.5\n")
    (root / "data.yaml").write_text("path: /content/datasets/rf\ntrain: ../train/images\nval: ../valid/images\n"
                                    "nc: 1\nnames: ['thing']\nroboflow:\n  workspace: w\n  version: 3\n")
    report = pf.Report()
    ds = pf.read(root, report=report)
    assert [(a.file_name, a.tags, len(a.annotations)) for a in ds.assets] == [
        ("train_a.jpg", ["train"], 1), ("valid_a.jpg", ["val"], 1)]
    assert "path" in str(report)
    pf.write(ds, tmp_path / "out", "yolo")
    written = yaml.safe_load((tmp_path / "out" / "data.yaml").read_text())
    assert written["roboflow"] == {"workspace": "w", "version": 3}  # unknown keys kept
    assert written["names"] == ["thing"] and written["train"] == "images/train"


def test_data_yaml_errors_name_the_file(tmp_path: Path) -> None:
    root = _split_tree(tmp_path / "ds")
    (root / "data.yaml").write_text("train: images/train\nnames: [cat, dog]\nnc: 3\n")
    with pytest.raises(pf.FormatError, match=r"data\.yaml: nc: nc is 3 but names lists 2"):
        pf.read(root)
    (root / "data.yaml").write_text("train: images/train\nnames: [cat, [dog]\n")
    with pytest.raises(pf.FormatError, match=r"data\.yaml.*not valid YAML"):
        pf.read(root)
    (root / "data.yaml").write_text("train: images/nowhere\nnames: [cat, dog]\n")
    with pytest.raises(pf.FormatError, match=r"nowhere does not exist"):
        pf.read(root)


def test_split_folders_without_yaml_become_tags(tmp_path: Path) -> None:
    root = _split_tree(tmp_path / "ds")
    (root / "classes.txt").write_text("cat\ndog\n")
    ds = pf.read(root)
    assert [(a.file_name, a.tags) for a in ds.assets] == [("t1.png", ["train"]), ("t2.png", ["train"]),
                                                          ("v1.png", ["val"])]
    pf.write(ds, tmp_path / "out", "yolo")
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.txt")) == [
        "classes.txt", "labels/train/t1.txt", "labels/train/t2.txt", "labels/val/v1.txt"]
    assert yaml.safe_load((tmp_path / "out" / "data.yaml").read_text()) == {
        "train": "images/train", "val": "images/val", "nc": 2, "names": ["cat", "dog"]}


def test_obj_names_and_side_by_side_layout(tmp_path: Path) -> None:
    root = tmp_path / "darknet"
    _image(root / "data" / "obj" / "a.JPG", (40, 20))
    _image(root / "data" / "obj" / "b.webp", (40, 20))
    (root / "data" / "obj" / "a.txt").write_text("1 0.5 0.5 1 1\n")
    (root / "data" / "obj.names").write_text("x\ny\n")
    (root / "data" / "train.txt").write_text("data/obj/a.JPG\n")  # an image list, not labels
    ds = pf.read(root)
    assert ds.label_names == ["x", "y"]
    assert [(a.file_name, len(a.annotations)) for a in ds.assets] == [("data/obj/a.JPG", 1), ("data/obj/b.webp", 0)]
    assert ds.assets[0].annotations[0].box == (0.0, 0.0, 40.0, 20.0)


def test_images_folder_given_separately(tmp_path: Path) -> None:
    _image(tmp_path / "imgs" / "p.png", (10, 10))
    _image(tmp_path / "imgs" / "q.png", (10, 10))
    (tmp_path / "lbl").mkdir()
    (tmp_path / "lbl" / "p.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    (tmp_path / "lbl" / "classes.txt").write_text("only\n")
    report = pf.Report()
    ds = pf.read(tmp_path / "lbl", "yolo", images=tmp_path / "imgs", report=report)
    # issue 15: an image no label file names is not part of the dataset (no train/val leak) ...
    assert [(a.file_name, len(a.annotations)) for a in ds.assets] == [("p.png", 1)]
    assert report.count("info", "images of the images folder that no label file names, not added") == 1
    # ... unless asked, and then counted
    report = pf.Report()
    ds = pf.read(tmp_path / "lbl", "yolo", images=tmp_path / "imgs", include_unlabelled=True, report=report)
    assert [(a.file_name, len(a.annotations)) for a in ds.assets] == [("p.png", 1), ("q.png", 0)]
    assert report.count("info", "images without a label file added as empty images") == 1


def test_without_class_names_classes_are_indexes(tmp_path: Path) -> None:
    root = _dataset(tmp_path / "ds", {"a": "3 0.5 0.5 0.1 0.1\n1 0.5 0.5 0.1 0.1\n"}, classes=None)
    report = pf.Report()
    ds = pf.read(root, "yolo", report=report)
    assert ds.label_names == ["1", "3"]
    assert "class named by its index" in str(report)


# ------------------------------------------------------------------------------------- bad rows


@pytest.mark.parametrize(("row", "message"), [
    ("0 0.5 0.5 0.2", "4 values; expected 5"),
    ("0 0.5 0.5 0.2 0.2 0.3 0.4", None),  # a valid 3-point polygon: no error
    ("0 0.5 0.5 0.2 0.2 0.3 0.4 0.5", "8 values"),
    ("5 0.5 0.5 0.2 0.2", "class index 5 is out of range"),
    ("-1 0.5 0.5 0.2 0.2", "class index -1 is out of range"),
    ("x 0.5 0.5 0.2 0.2", "class index 'x' is not an integer"),
    ("1.5 0.5 0.5 0.2 0.2", "class index '1.5' is not an integer"),
    ("0 1.5 0.5 0.2 0.2", r"value 1\.5 is outside \[0, 1\]"),
    ("0 0.5 -0.1 0.2 0.2", r"value -0\.1 is outside"),
    ("0 0.5 nan 0.2 0.2", "value nan is outside"),
    ("0 0.5 inf 0.2 0.2", "value inf is outside"),
    ("0 0.5 0.5 0.2 abc", "'abc' is not a number"),
    ("0 0.5 0.5 0.2 0.2 1.2", r"value 1\.2 is outside"),  # a confidence must be in [0, 1] too
])
def test_bad_rows_name_file_and_line(row: str, message: str | None, tmp_path: Path) -> None:
    root = _dataset(tmp_path / "ds", {"ok": "0 0.5 0.5 0.2 0.2\n", "bad": f"1 0.5 0.5 0.1 0.1\n\n{row}\n"})
    if message is None:
        assert pf.read(root).num_annotations == 3
        return
    with pytest.raises(pf.FormatError, match=message) as err:
        pf.read(root)
    assert str(err.value).startswith(f"{root / 'labels' / 'bad.txt'}: line 3: ")


def test_every_bad_row_is_listed_at_once(tmp_path: Path) -> None:
    root = _dataset(tmp_path / "ds", {"a": "0 2 0 0 0\n0 0.5\n", "b": "9 0.1 0.1 0.1 0.1\n"})
    with pytest.raises(pf.FormatError) as err:
        pf.read(root)
    lines = err.value.lines()
    assert len(lines) == 3
    assert lines[0].endswith("a.txt: line 1: value 2.0 is outside [0, 1] (YOLO values are normalised)")
    assert "a.txt: line 2: 2 values" in lines[1] and "b.txt: line 1: class index 9" in lines[2]


def test_skip_bad_rows_reports_each_one(tmp_path: Path) -> None:
    root = _dataset(tmp_path / "ds", {"a": "0 2 0 0 0\n0 0.5 0.5 0.2 0.2\n0 0.5\n", "b": "9 0.1 0.1 0.1 0.1\n"})
    report = pf.Report()
    ds = pf.read(root, "yolo", report=report, skip_bad_rows=True)
    assert ds.num_annotations == 1
    assert report.count("dropped", "bad rows skipped") == 3
    text = str(report)
    assert "a.txt line 1: value 2.0 is outside" in text and "a.txt line 3" in text and "b.txt line 1" in text


def test_cli_skip_bad_rows_flag(tmp_path: Path) -> None:
    root = _dataset(tmp_path / "ds", {"a": "0 0.5 0.5 0.2 0.2\n7 0.5 0.5 0.2 0.2\n"})
    failed = run_cli("convert", root, tmp_path / "o.json", "--to", "coco")
    assert failed.code == 2 and "a.txt: line 2: class index 7 is out of range" in failed.err + failed.out
    ok = run_cli("convert", root, tmp_path / "o.json", "--to", "coco", "--yolo-skip-bad-rows")
    assert ok.code == 0, ok.err
    assert "1 bad row skipped (" in ok.out  # one row: singular, and no second verb ("skipped dropped")


# --------------------------------------------------------------------------- empty and missing files


def test_empty_txt_missing_txt_and_blank_lines(tmp_path: Path) -> None:
    root = _dataset(tmp_path / "ds", {"empty": "", "blank": "\n  \n", "one": "2 0.5 0.5 1 1\n"})
    _image(root / "images" / "nolabel.bmp")
    ds = pf.read(root)
    assert [(a.file_name, len(a.annotations)) for a in ds.assets] == [
        ("blank.jpg", 0), ("empty.jpg", 0), ("nolabel.bmp", 0), ("one.jpg", 1)]
    pf.write(ds, tmp_path / "out", "yolo")
    for stem in ("blank", "empty", "nolabel"):
        assert (tmp_path / "out" / "labels" / f"{stem}.txt").read_bytes() == b""
    assert (tmp_path / "out" / "labels" / "one.txt").read_text() == "2 0.5 0.5 1 1\n"


def test_label_file_without_image_is_a_clear_error(tmp_path: Path) -> None:
    root = _dataset(tmp_path / "ds", {"a": "0 0.5 0.5 0.2 0.2\n"})
    (root / "labels" / "ghost.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    with pytest.raises(pf.FormatError, match=r"ghost\.txt: label file without an image: no ghost\.<jpg"):
        pf.read(root)


@pytest.mark.parametrize("ext", [".jpg", ".jpeg", ".JPG", ".png", ".PNG", ".bmp", ".webp", ".Jpeg"])
def test_any_image_extension_pairs_by_stem(ext: str, tmp_path: Path) -> None:
    root = _dataset(tmp_path / "ds", {"img_6": "1 0.5 0.5 0.5 0.5\n"}, ext=ext, size=(30, 20))
    ds = pf.read(root)
    assert ds.assets[0].file_name == f"img_6{ext}"
    assert ds.assets[0].annotations[0].box == (7.5, 5.0, 15.0, 10.0)


@pytest.mark.parametrize("orientation", [1, 3, 5, 6, 7, 8])
def test_exif_orientation_gives_the_displayed_size(orientation: int, tmp_path: Path) -> None:
    root = tmp_path / "ds"
    _image(root / "images" / "rot.jpg", (60, 40), orientation=orientation)
    (root / "labels").mkdir()
    (root / "labels" / "rot.txt").write_text("0 0.5 0.5 0.5 0.5\n")
    (root / "classes.txt").write_text("a\n")
    asset = pf.read(root).assets[0]
    displayed = (40, 60) if orientation >= 5 else (60, 40)
    assert (asset.width, asset.height) == displayed
    assert asset.annotations[0].box == (displayed[0] / 4, displayed[1] / 4, displayed[0] / 2, displayed[1] / 2)


def test_unicode_file_names(tmp_path: Path) -> None:
    root = _dataset(tmp_path / "ds", {"東京_été": "0 0.5 0.5 0.2 0.2\n"})
    ds = pf.read(root)
    assert ds.assets[0].file_name == "東京_été.jpg"
    pf.write(ds, tmp_path / "out", "yolo", images=root / "images")
    assert (tmp_path / "out" / "labels" / "東京_été.txt").exists()
    assert (tmp_path / "out" / "images" / "東京_été.jpg").exists()


# ----------------------------------------------------------------------------------- segmentation


SEG = "1 0.1 0.1 0.9 0.1 0.9 0.8 0.1 0.8\n0 0.25 0.5 0.5 0.5\n"


def test_segmentation_rows_are_polygons(tmp_path: Path) -> None:
    root = _dataset(tmp_path / "ds", {"s": SEG}, size=(200, 100))
    ds = pf.read(root)
    poly, box = ds.assets[0].annotations
    assert poly.polygon == [[20.0, 10.0, 180.0, 10.0, 180.0, 80.0, 20.0, 80.0]] and poly.box is None
    assert box.box == (0.0, 25.0, 100.0, 50.0)


@pytest.mark.parametrize(("task", "expected", "report_line"), [
    ("mixed", SEG, None),
    (None, "1 0.1 0.1 0.9 0.1 0.9 0.8 0.1 0.8\n0 0 0.25 0.5 0.25 0.5 0.75 0 0.75\n",
     "1 box written as 4-point polygons"),
    ("segment", "1 0.1 0.1 0.9 0.1 0.9 0.8 0.1 0.8\n0 0 0.25 0.5 0.25 0.5 0.75 0 0.75\n",
     "1 box written as 4-point polygons"),
    ("detect", "1 0.5 0.45 0.8 0.7\n0 0.25 0.5 0.5 0.5\n", "1 polygon written as boxes"),
])
def test_writer_tasks(task: str | None, expected: str, report_line: str | None, tmp_path: Path) -> None:
    ds = pf.read(_dataset(tmp_path / "ds", {"s": SEG}, size=(200, 100)))
    options = {"task": task} if task else {}
    report = pf.write(ds, tmp_path / "out", "yolo", **options)
    assert (tmp_path / "out" / "labels" / "s.txt").read_text() == expected
    if report_line:
        assert report_line in str(report)
    else:
        assert not report


def test_coco_polygons_masks_and_unsupported_kinds(tmp_path: Path) -> None:
    qa = [QA("text", "why?", "because")]
    mask = Mask(4, 4, [5, 2, 2, 2, 5])  # a 2x2 square at (1, 1)
    anns = [
        Annotation("p", polygon=[[0, 0, 4, 0, 4, 4], [6, 6, 8, 6, 8, 8]], qa=qa),
        Annotation("m", mask=mask, iscrowd=1),
        Annotation("k", keypoints=[1, 1, 2], box=(0, 0, 2, 2)),
        Annotation("l", line=[0, 0, 1, 1]),
        Annotation("pt", point=(1, 1)),
        Annotation("c"),
        Annotation("b", box=(1, 1, 2, 2), score=0.5, attributes={"color": "red"}),
    ]
    ds = Dataset(assets=[Asset("x.png", 10, 10, anns, tags=["train", "reviewed"], status="ACCEPTED")])
    report = pf.write(ds, tmp_path / "seg", "yolo")
    rows = _rows(tmp_path / "seg" / "labels" / "train" / "x.txt")
    # issue 14: the two parts stay ONE object (one ring joined by zero-width bridges, as Ultralytics does)
    assert [r[0] for r in rows] == ["0", "1", "2", "6"]  # joined parts, mask traced, keypoints' box, the box
    assert [float(v) * 10 for v in rows[0][1:]] == pytest.approx(
        [4, 4, 0, 0, 4, 0, 4, 4, 6, 6, 8, 6, 8, 8, 6, 6])
    assert rows[1][1:] == ["0.1", "0.1", "0.1", "0.3", "0.3", "0.3", "0.3", "0.1"]
    text = str(report)
    for line in ("1 multi-part polygon written as one ring joined by zero-width bridges",
                 "1 mask written as polygons", "1 keypoint object dropped", "1 line dropped", "1 point dropped",
                 "1 image-level classification dropped", "1 object Q&A answer dropped",
                 "1 crowd flag dropped", "1 object attribute dropped", "1 detection score dropped",
                 "1 asset status dropped", "1 asset tag other than the split dropped",
                 "2 boxes written as 4-point polygons"):
        assert line in text, (line, text)
    report = pf.write(ds, tmp_path / "det", "yolo", task="detect", confidence=True)
    rows = _rows(tmp_path / "det" / "labels" / "train" / "x.txt")
    assert rows[1] == ["1", "0.2", "0.2", "0.2", "0.2"]  # the mask's box
    assert rows[-1] == ["6", "0.2", "0.2", "0.2", "0.2", "0.5"]  # with its confidence
    assert "1 polygon written as boxes" in str(report) and "1 mask written as boxes" in str(report)


def test_confidence_column_round_trips(tmp_path: Path) -> None:
    root = _dataset(tmp_path / "ds", {"p": "0 0.5 0.5 0.2 0.2 0.873787\n1 0.25 0.25 0.1 0.1 0.5\n"})
    ds = pf.read(root)
    assert [a.score for a in ds.assets[0].annotations] == [0.873787, 0.5]
    report = pf.write(ds, tmp_path / "out", "yolo")
    assert not report
    assert (tmp_path / "out" / "labels" / "p.txt").read_bytes() == (root / "labels" / "p.txt").read_bytes()


def test_out_of_image_boxes_are_clipped_and_reported(tmp_path: Path) -> None:
    ds = Dataset([Label("a")], [Asset("i.jpg", 100, 100, [Annotation("a", box=(-10, 50, 30, 80)),
                                                          Annotation("a", box=(90, 0, 30, 10))])])
    report = pf.write(ds, tmp_path / "out", "yolo")
    assert "1 object clipped to the image" in str(report)  # the first one reaches out, but its values fit
    assert _rows(tmp_path / "out" / "labels" / "i.txt") == [["0", "0.05", "0.9", "0.3", "0.8"],
                                                            ["0", "0.95", "0.05", "0.1", "0.1"]]


def test_assets_without_size_are_refused_not_written_unreadable(tmp_path: Path) -> None:
    # issue 15: YOLO written without known sizes was an empty label file our reader could not read back
    ds = Dataset([Label("a")], [Asset("i.jpg", None, None, [Annotation("a", box=(1, 1, 2, 2))])])
    with pytest.raises(pf.FormatError, match=r"image 'i\.jpg'.*no known size.*pass --images"):
        pf.write(ds, tmp_path / "out", "yolo")
    assert not (tmp_path / "out").exists()  # nothing half-written
    _image(tmp_path / "imgs" / "i.jpg", (10, 10))
    report = pf.write(ds, tmp_path / "out2", "yolo", images=tmp_path / "imgs")
    assert not report.lossy
    assert (tmp_path / "out2" / "labels" / "i.txt").read_text() == "0 0.2 0.2 0.2 0.2\n"


def test_stem_collisions_are_renamed_and_reported(tmp_path: Path) -> None:
    _image(tmp_path / "imgs" / "a.jpg")
    _image(tmp_path / "imgs" / "a.png")
    ds = Dataset([Label("x")], [Asset("a.jpg", 64, 48, [Annotation("x", box=(0, 0, 32, 24))]),
                                Asset("a.png", 64, 48, [])])
    report = pf.write(ds, tmp_path / "out", "yolo", images=tmp_path / "imgs")
    assert "file name changed to keep label files apart" in str(report)
    assert sorted(p.name for p in (tmp_path / "out" / "labels").iterdir()) == ["a.txt", "a_png.txt"]
    assert sorted(p.name for p in (tmp_path / "out" / "images").iterdir()) == ["a.jpg", "a_png.png"]


def test_unsafe_file_names_stay_inside_the_output(tmp_path: Path) -> None:
    ds = Dataset([Label("x")], [Asset("../../evil.jpg", 10, 10, []), Asset("/abs/dir/pic.jpg", 10, 10, [])])
    pf.write(ds, tmp_path / "out", "yolo")
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.txt")) == [
        "classes.txt", "labels/evil.txt", "labels/pic.txt"]


@pytest.mark.parametrize("mode", ["copy", "link"])
def test_images_copied_or_linked(mode: str, tmp_path: Path) -> None:
    pf.convert(LS_MIXED, tmp_path / "out", "yolo", images=LS_MIXED / "images",
               write_options={"copy_images": mode})
    src, dst = LS_MIXED / "images" / "img_2.png", tmp_path / "out" / "images" / "img_2.png"
    assert dst.read_bytes() == src.read_bytes()
    if mode == "link":
        assert dst.stat().st_ino == src.stat().st_ino or dst.stat().st_nlink == 1  # cross-device falls back


def test_output_is_deterministic(tmp_path: Path) -> None:
    src = FIXTURES / "sahi_coco" / "coco_utils" / "terrain_all_coco.json"
    for name in ("a", "b"):
        pf.convert(src, tmp_path / name, "yolo")
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*") if p.is_file())
    assert files_a == files_b and files_a
    assert all((tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files_a)


def test_label_order_of_the_dataset_is_the_class_order(tmp_path: Path) -> None:
    ds = Dataset([Label("zebra"), Label("ant")], [Asset("i.jpg", 10, 10, [Annotation("ant", box=(0, 0, 1, 1)),
                                                                          Annotation("new", box=(0, 0, 1, 1))])])
    pf.write(ds, tmp_path / "out", "yolo")
    assert yaml.safe_load((tmp_path / "out" / "data.yaml").read_text())["names"] == ["zebra", "ant", "new"]
    assert [r[0] for r in _rows(tmp_path / "out" / "labels" / "i.txt")] == ["1", "2"]


# ------------------------------------------------------------------------------------------ detect


@pytest.mark.parametrize("path", [LS_MIXED, LS_UNIF])
def test_detect_labelstudio(path: Path) -> None:
    assert pf.detect(path) == "yolo"
    conf, why = yolo.detect(path)
    assert conf >= 0.9 and "classes.txt" in why


def test_detect_data_yaml_file_and_folder(tmp_path: Path) -> None:
    root = _split_tree(tmp_path / "ds")
    (root / "data.yaml").write_text("train: images/train\nval: images/val\nnames: [cat, dog]\n")
    assert pf.detect(root) == "yolo"
    assert pf.detect(root / "data.yaml") == "yolo"


@pytest.mark.parametrize(("path", "why"), [
    (FIXTURES / "picsellia_coco_det" / "annotations.json", "not a data.yaml"),
    (FIXTURES / "raccoon_voc", "no .txt label files"),
    (FIXTURES / "voc_toy_cats" / "dets_classname_abs_xywh", "do not hold numeric YOLO rows"),
])
def test_detect_explains_rejections(path: Path, why: str) -> None:
    conf, reason = yolo.detect(path)
    assert conf == 0.0 and why in reason


def test_detect_numeric_txt_without_images_is_weak() -> None:
    conf, reason = yolo.detect(FIXTURES / "voc_toy_cats" / "dets_classid_rel_xcycwh")
    assert 0 < conf < 0.5 and "no images" in reason


# ------------------------------------------------------------------------------------------- fuzz


_ALPHABET = "0123456789 .\n-e+nai\r\t"
_FUZZ_ROOT = Path(tempfile.mkdtemp(prefix="pf-yolo-fuzz-")) / "ds"
atexit.register(shutil.rmtree, _FUZZ_ROOT.parent, True)
for _src in sorted((LS_MIXED / "labels").glob("*.txt")):  # the real label files, on small images
    (_FUZZ_ROOT / "labels").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_src, _FUZZ_ROOT / "labels" / _src.name)
    _image(_FUZZ_ROOT / "images" / f"{_src.stem}.png", (64, 36))
shutil.copyfile(LS_MIXED / "classes.txt", _FUZZ_ROOT / "classes.txt")
_FUZZ_TEXT = (LS_MIXED / "labels" / "img_3.txt").read_text()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 3), st.text(_ALPHABET, max_size=4)),
                min_size=1, max_size=6))
def test_mutated_label_files_read_or_raise_format_error(edits: list[tuple[int, int, str]]) -> None:
    text = _FUZZ_TEXT
    for pos, cut, insert in edits:
        pos %= len(text) + 1
        text = text[:pos] + insert + text[pos + cut:]
    (_FUZZ_ROOT / "labels" / "img_3.txt").write_text(text)
    try:
        ds = pf.read(_FUZZ_ROOT)
    except pf.FormatError as err:
        assert "img_3.txt" in str(err)
    else:
        assert len(ds) == 7
        for _, ann in ds.annotations():
            geometry = ann.box if ann.box is not None else ann.polygon[0]
            assert all(math.isfinite(v) for v in geometry)


# --------------------------------------------------------------------- labels without their images


@pytest.mark.parametrize("src", [
    FIXTURES / "picsellia_coco_det" / "annotations.json",
    FIXTURES / "sahi_coco" / "coco_utils" / "visdrone2019-det-train-first50image.json",
    FIXTURES / "sahi_coco" / "coco_utils" / "terrain_all_coco.json",
], ids=lambda p: p.name)
def test_labels_only_output_reads_back_through_image_sizes_json(src: Path, tmp_path: Path) -> None:
    ds = pf.read(src)
    report = pf.write(ds, tmp_path / "y", "yolo", task="mixed")
    assert (tmp_path / "y" / yolo.SIZES_FILE).is_file() and not (tmp_path / "y" / "images").exists()
    back = pf.read(tmp_path / "y")

    def inside(a: Asset) -> list[Annotation]:  # one picsellia box lies wholly below its image: dropped
        return [u for u in a.annotations if u.polygon or u.box[1] < a.height]

    outside = sum(len(a.annotations) - len(inside(a)) for a in ds.assets)
    assert report.count("dropped", "boxes outside their image") == outside
    assert [(a.file_name, a.width, a.height, len(a.annotations)) for a in back.assets] == \
        [(a.file_name, a.width, a.height, len(inside(a))) for a in ds.assets]  # empty images too
    for a, b in zip(ds.assets, back.assets):
        for u, v in zip(inside(a), b.annotations):
            if u.polygon:
                assert v.polygon == u.polygon  # integer pixels come back exactly (snapped)
            else:
                assert v.box == pytest.approx(u.box)


def test_labels_only_split_output_reads_back_with_its_splits(tmp_path: Path) -> None:
    ds = Dataset([Label("a")], [Asset("t.jpg", 10, 10, [Annotation("a", box=(1, 1, 2, 2))], tags=["train"]),
                                Asset("v.jpg", 20, 10, [], tags=["val"])])
    pf.write(ds, tmp_path / "y", "yolo")
    back = pf.read(tmp_path / "y")
    assert [(a.file_name, a.width, a.tags, len(a.annotations)) for a in back.assets] == [
        ("t.jpg", 10, ["train"], 1), ("v.jpg", 20, ["val"], 0)]


def test_same_folder_for_train_and_val_tags_nothing(tmp_path: Path) -> None:
    root = _dataset(tmp_path / "ds", {"a": "0 0.5 0.5 0.2 0.2\n"})
    (root / "data.yaml").write_text("train: images\nval: images\nnames: [a, b, c]\n")
    ds = pf.read(root)
    assert ds.assets[0].tags == []
    pf.write(ds, tmp_path / "out", "yolo")
    assert (tmp_path / "out" / "labels" / "a.txt").is_file()  # still the flat layout


def test_unicode_digit_class_index_is_a_bad_row_not_a_crash(tmp_path: Path) -> None:
    root = _dataset(tmp_path / "ds", {"a": "² 0.5 0.5 0.2 0.2\n"})
    with pytest.raises(pf.FormatError, match=r"a\.txt: line 1: class index '²' is not an integer"):
        pf.read(root)


def test_pointing_at_the_labels_folder_reads_the_dataset() -> None:
    ds = pf.read(LS_MIXED / "labels", "yolo")
    assert (len(ds), ds.num_annotations, ds.label_names) == (7, 25, CLASSES)


def test_class_indexes_with_gaps_are_renumbered_and_reported(tmp_path: Path) -> None:
    root = _dataset(tmp_path / "ds", {"a": "2 0.5 0.5 0.2 0.2\n0 0.5 0.5 0.2 0.2\n"}, classes=None)
    (root / "data.yaml").write_text("names: {0: cat, 2: dog}\n")
    ds = pf.read(root)
    assert ds.label_names == ["cat", "dog"] and [a.label for a in ds.assets[0].annotations] == ["dog", "cat"]
    report = pf.write(ds, tmp_path / "out", "yolo")
    assert "class indexes renumbered" in str(report)
    assert [r[0] for r in _rows(tmp_path / "out" / "labels" / "a.txt")] == ["1", "0"]


def test_a_dataset_without_assets_reads_back_with_its_classes(tmp_path: Path) -> None:
    ds = Dataset([Label("a"), Label("b")], [])
    pf.write(ds, tmp_path / "y", "yolo")
    back = pf.read(tmp_path / "y")
    assert [label.name for label in back.labels] == ["a", "b"] and not back.assets
