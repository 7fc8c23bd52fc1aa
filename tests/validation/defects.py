"""Inject each defect of the validator's catalogue once into corpora built from the bundled real fixtures.

Corpora (copies in a folder of your choice; the fixtures are never touched):

* ``cats``: ``voc_toy_cats`` COCO ground truth (10 images, 12 boxes) and its 12 JPEGs, with valid
  attributes added to every object (``color``, ``visibility``, ``occluded``; see `SCHEMA`).
* ``terrain``: ``sahi_coco/coco_utils/combined_coco.json`` (2 images, 12 polygons) and its images.
* ``yolo``: ``labelstudio_yolo/test_import_yolo_data`` (7 images of 3 types, 25 boxes).
* ``voc``: ``voc_toy_cats/gts_vocpascal_format`` (10 xml) and its images.

Every `Defect` knows its rule code, the corpus it goes into and, once injected, what identifies
the finding it must cause (`Expect`). ``also`` lists codes that follow from the same edit (an
image record without a width is also of unknown size). Run it to look at the corpora:

    python tests/validation/defects.py /tmp/defect-corpora
"""

from __future__ import annotations

import copy
import io
import json
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"

#: questions/attributes of the ``cats`` corpus (every clean object satisfies them)
SCHEMA = {
    "color": {"on": "object", "kind": "select", "choices": ["red", "blue"], "required": True},
    "visibility": {"on": "object", "kind": "range", "min": 0, "max": 100},
    "occluded": {"on": "object", "kind": "boolean"},
}
#: validation options the corpus runs with (the imbalance threshold is lowered so that one added rare
#: label makes the imbalance injection; min_objects so the clean 12 cats are not "few")
OPTIONS = {"max_imbalance": 5.0, "min_objects": 3}


@dataclass
class Expect:
    """What identifies a finding: its code and any of asset (file name), object id, record, label."""

    code: str
    asset: str | None = None
    object_id: Any = None
    record: str | None = None
    label: str | None = None

    def matches(self, f: Any) -> bool:
        if f.code != self.code:
            return False
        if self.asset is not None and f.asset != self.asset and not (f.file or "").endswith(self.asset):
            return False
        if self.object_id is not None and f.object_id != self.object_id:
            return False
        if self.record is not None and self.record not in (f.record or ""):
            return False
        if self.label is not None and self.label not in f.message:
            return False
        return True

    def __str__(self) -> str:
        fields_ = {k: v for k, v in self.__dict__.items() if v is not None and k != "code"}
        return f"{self.code} {fields_}"


class Corpus:
    """A COCO file and its images folder being edited; ``write()`` saves the JSON."""

    def __init__(self, name: str, folder: Path, json_name: str, images: Path) -> None:
        self.name = name
        self.folder = folder
        self.json = folder / json_name
        self.images = images
        self.top: dict[str, Any] = json.loads(self.json.read_text()) if self.json.exists() else {}
        self._next_id = 900000

    def next_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def image(self, file_name: str) -> dict[str, Any]:
        return next(im for im in self.top["images"] if im["file_name"] == file_name)

    def add_image(self, file_name: str, width: Any, height: Any, **extra: Any) -> int:
        image_id = self.next_id()
        record = {"id": image_id, "file_name": file_name, **extra}
        if width is not None:
            record["width"] = width
        if height is not None:
            record["height"] = height
        self.top["images"].append(record)
        return image_id

    def add_ann(self, image_id: Any, category_id: Any = None, **fields_: Any) -> int:
        ann_id = fields_.pop("id") if "id" in fields_ else self.next_id()
        cat = self.top["categories"][0]["id"] if category_id is None else category_id
        record = {"id": ann_id, "image_id": image_id, "category_id": cat, "iscrowd": 0, **fields_}
        record.setdefault("bbox", [10.0, 10.0, 20.0, 20.0])
        record.setdefault("area", record["bbox"][2] * record["bbox"][3] if len(record["bbox"]) == 4 else 0)
        record.setdefault("segmentation", [])
        if self.name == "cats":
            record.setdefault("attributes", {"color": "red", "visibility": 50, "occluded": False})
        self.top["annotations"].append(record)
        return ann_id

    def add_category(self, name: str, cid: int | None = None) -> int:
        cid = cid if cid is not None else max(c["id"] for c in self.top["categories"]) + 1
        self.top["categories"].append({"id": cid, "name": name, "supercategory": "none"})
        return cid

    def first_image(self) -> dict[str, Any]:
        return self.top["images"][0]

    def jpeg_copy(self, src: str, dst: str, **save: Any) -> tuple[int, int]:
        with Image.open(self.images / src) as im:
            im.load()
            im.save(self.images / dst, "JPEG", **save)
            return im.size

    def write(self) -> None:
        self.json.write_text(json.dumps(self.top, allow_nan=True))


@dataclass
class Defect:
    code: str
    corpus: str
    inject: Callable[[Corpus], Expect | list[Expect]]
    also: tuple[str, ...] = field(default_factory=tuple)


# ------------------------------------------------------------------------------------- injections
# Each takes the corpus, edits it, and returns what the finding must look like.


def _dup_file_name(c: Corpus) -> Expect:
    first = c.first_image()
    c.add_image(first["file_name"], first["width"], first["height"])
    return Expect("duplicate-file-name", asset=first["file_name"])


def _dup_asset_id(c: Corpus) -> Expect:
    c.top["images"].append({"id": c.first_image()["id"], "file_name": "ghost.jpg", "width": 10, "height": 10})
    return Expect("duplicate-asset-id", record=f"image[{len(c.top['images']) - 1}]")


def _dup_object_id(c: Corpus) -> Expect:
    first = c.top["annotations"][0]
    c.add_ann(first["image_id"], first["category_id"], id=first["id"], bbox=[30.0, 40.0, 50.0, 60.0], area=3000.0)
    return Expect("duplicate-object-id", object_id=first["id"])


def _dup_label_id(c: Corpus) -> Expect:
    c.top["categories"].append({"id": c.top["categories"][0]["id"], "name": "dog", "supercategory": "none"})
    return Expect("duplicate-label-id", record=f"category[{len(c.top['categories']) - 1}]")


def _unknown_asset(c: Corpus) -> Expect:
    ann_id = c.add_ann(123456789)
    return Expect("unknown-asset", object_id=ann_id)


def _unknown_label(c: Corpus) -> Expect:
    ann_id = c.add_ann(c.first_image()["id"], 424242)
    return Expect("unknown-label", object_id=ann_id)


def _label_unused(c: Corpus) -> Expect:
    c.add_category("zebra")
    return Expect("label-unused", label="'zebra'")


def _label_near_duplicate(c: Corpus) -> Expect:
    cid = c.add_category("Cat")
    c.add_ann(c.first_image()["id"], cid, bbox=[40.0, 40.0, 30.0, 30.0], area=900.0)
    return Expect("label-near-duplicate", label="'Cat'")


def _label_whitespace(c: Corpus) -> Expect:
    cid = c.add_category("dog ")
    for k in range(3):
        c.add_ann(c.first_image()["id"], cid, bbox=[50.0 + 10 * k, 60.0, 25.0, 25.0], area=625.0)
    return Expect("label-whitespace", label="'dog '")


def _label_empty(c: Corpus) -> Expect:
    cid = c.add_category("")
    for k in range(3):
        c.add_ann(c.first_image()["id"], cid, bbox=[100.0 + 10 * k, 100.0, 20.0, 20.0], area=400.0)
    return Expect("label-empty", label="''")


def _file_name_unsafe(c: Corpus) -> Expect:
    first = c.first_image()
    shutil.copy(c.images / first["file_name"], c.images / "unsafe_copy.jpg")
    c.add_image("../unsafe_copy.jpg", first["width"], first["height"])
    return Expect("file-name-unsafe", asset="../unsafe_copy.jpg")


def _non_finite(c: Corpus) -> Expect:
    ann_id = c.add_ann(c.first_image()["id"], bbox=[float("nan"), 10.0, 20.0, 20.0], area=400.0)
    return Expect("non-finite-coordinate", object_id=ann_id)


def _box(code: str, box: list[float]) -> Callable[[Corpus], Expect]:
    def inject(c: Corpus) -> Expect:
        area = box[2] * box[3]
        return Expect(code, object_id=c.add_ann(c.first_image()["id"], bbox=box, area=area))
    return inject


def _polygon(code: str, make: Callable[[dict[str, Any]], list[list[float]]], box: bool = True
             ) -> Callable[[Corpus], Expect]:
    def inject(c: Corpus) -> Expect:
        image = c.image("terrain2.png")
        parts = make(image)
        xs = [v for p in parts for v in p[0::2]]
        ys = [v for p in parts for v in p[1::2]]
        bbox = [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)] if box and xs else []
        ann_id = c.add_ann(image["id"], segmentation=parts, bbox=bbox, area=bbox[2] * bbox[3] if bbox else 0)
        return Expect(code, object_id=ann_id, asset="terrain2.png")
    return inject


def _bbox_geometry_mismatch(c: Corpus) -> Expect:
    image = c.image("terrain2.png")
    ann_id = c.add_ann(image["id"], segmentation=[[100, 100, 200, 100, 200, 200, 100, 200]],
                       bbox=[300.0, 300.0, 100.0, 100.0], area=10000.0)
    return Expect("bbox-geometry-mismatch", object_id=ann_id)


def _rle_size_mismatch(c: Corpus) -> Expect:
    image = c.image("terrain2.png")
    h, w = image["height"] + 1, image["width"]
    counts = [h * 10, h * 5, h * (w - 15)]  # a 5-column stripe
    ann_id = c.add_ann(image["id"], segmentation={"size": [h, w], "counts": counts}, bbox=[10.0, 0.0, 5.0, h],
                       area=5.0 * h, iscrowd=1)
    return Expect("rle-size-mismatch", object_id=ann_id)


def _points_out(c: Corpus) -> Expect:
    image = c.image("terrain2.png")
    ann_id = c.add_ann(image["id"], bbox=[10.0, 10.0, 50.0, 50.0], area=2500.0,
                       keypoints=[20, 20, 2, image["width"] + 40, 30, 2], num_keypoints=2)
    return Expect("points-out-of-image", object_id=ann_id)


def _area_mismatch(c: Corpus) -> Expect:
    return Expect("area-mismatch", object_id=c.add_ann(c.first_image()["id"], bbox=[60.0, 70.0, 10.0, 10.0],
                                                       area=5000.0))


def _duplicate_object(c: Corpus) -> Expect:
    first = c.top["annotations"][0]
    fields_ = {k: copy.deepcopy(v) for k, v in first.items() if k not in ("id", "image_id", "category_id")}
    ann_id = c.add_ann(first["image_id"], first["category_id"], **fields_)
    return Expect("duplicate-object", object_id=ann_id)


def _size_invalid(c: Corpus) -> Expect:
    shutil.copy(c.images / c.first_image()["file_name"], c.images / "negative_width.jpg")
    c.add_image("negative_width.jpg", -5, c.first_image()["height"])
    return Expect("image-size-invalid", asset="negative_width.jpg")


def _size_unknown(c: Corpus) -> Expect:
    second = c.top["images"][1]
    del second["width"], second["height"]
    return Expect("image-size-unknown", asset=second["file_name"])


def _image_missing(c: Corpus) -> Expect:
    c.add_image("not_there.jpg", 100, 100)
    return Expect("image-missing", asset="not_there.jpg")


def _image_unreadable(c: Corpus) -> Expect:
    (c.images / "notes.jpg").write_text("this is not an image\n")
    c.add_image("notes.jpg", 100, 100)
    return Expect("image-unreadable", asset="notes.jpg")


def _image_truncated(c: Corpus) -> Expect:
    first = c.first_image()
    data = (c.images / first["file_name"]).read_bytes()
    (c.images / "cut.jpg").write_bytes(data[: len(data) * 3 // 5])
    c.add_image("cut.jpg", first["width"], first["height"])
    return Expect("image-truncated", asset="cut.jpg")


def _type_unsupported(c: Corpus) -> Expect:
    first = c.first_image()
    with Image.open(c.images / first["file_name"]) as im:
        im.save(c.images / "photo.webp", "WEBP")
        w, h = im.size
    c.add_image("photo.webp", w, h)
    return Expect("image-type-unsupported", asset="photo.webp")


def _extension_mismatch(c: Corpus) -> Expect:
    first = c.first_image()
    with Image.open(c.images / first["file_name"]) as im:
        im.save(c.images / "really_png.jpg", "PNG")
        w, h = im.size
    c.add_image("really_png.jpg", w, h)
    return Expect("image-extension-mismatch", asset="really_png.jpg")


def _size_mismatch(c: Corpus) -> Expect:
    first = c.first_image()
    first["width"] += 10
    return Expect("image-size-mismatch", asset=first["file_name"])


def _exif_jpeg(c: Corpus, name: str, orientation: int) -> tuple[int, int]:
    first = c.first_image()
    with Image.open(c.images / first["file_name"]) as im:
        exif = Image.Exif()
        exif[0x0112] = orientation
        buf = io.BytesIO()
        im.save(buf, "JPEG", exif=exif.tobytes())
        (c.images / name).write_bytes(buf.getvalue())
        return im.size


def _exif_swapped(c: Corpus) -> Expect:
    w, h = _exif_jpeg(c, "turned.jpg", 6)
    image_id = c.add_image("turned.jpg", w, h)  # the stored size: an annotator that ignored EXIF
    c.add_ann(image_id, bbox=[10.0, 20.0, 100.0, 50.0], area=5000.0)
    return Expect("image-exif-swapped", asset="turned.jpg")


def _exif_orientation(c: Corpus) -> Expect:
    w, h = _exif_jpeg(c, "upside_down.jpg", 3)
    image_id = c.add_image("upside_down.jpg", w, h)
    c.add_ann(image_id, bbox=[10.0, 20.0, 100.0, 50.0], area=5000.0)
    return Expect("image-exif-orientation", asset="upside_down.jpg")


def _image_duplicate(c: Corpus) -> Expect:
    third = c.top["images"][2]
    shutil.copy(c.images / third["file_name"], c.images / "copy_of_third.jpg")
    c.add_image("copy_of_third.jpg", third["width"], third["height"])
    return Expect("image-duplicate", asset="copy_of_third.jpg")


def _not_in_dataset(c: Corpus) -> Expect:
    shutil.copy(c.images / c.first_image()["file_name"], c.images / "stray.jpg")
    with Image.open(c.images / "stray.jpg") as im:  # other bytes: not an image-duplicate
        im.rotate(90, expand=True).save(c.images / "stray.jpg", "JPEG", quality=70)
    return Expect("image-not-in-dataset", asset="stray.jpg")


def _answer(code: str, attributes: dict[str, Any]) -> Callable[[Corpus], Expect]:
    def inject(c: Corpus) -> Expect:
        x = 5.0 + 45 * len(c.top["annotations"]) % 300
        ann_id = c.add_ann(c.first_image()["id"], bbox=[x, 200.0, 40.0, 40.0], area=1600.0,
                           attributes=attributes)
        return Expect(code, object_id=ann_id)
    return inject


def _asset_empty(c: Corpus) -> Expect:
    first = c.first_image()
    with Image.open(c.images / first["file_name"]) as im:
        im.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(c.images / "nothing_here.jpg", "JPEG")
        w, h = im.size
    c.add_image("nothing_here.jpg", w, h)
    return Expect("asset-empty", asset="nothing_here.jpg")


def _class_few(c: Corpus) -> Expect:
    cid = c.add_category("lynx")
    c.add_ann(c.first_image()["id"], cid, bbox=[200.0, 10.0, 30.0, 30.0], area=900.0)
    return Expect("class-few-objects", label="'lynx'")


def _class_imbalance(c: Corpus) -> Expect:
    cid = c.add_category("ocelot")
    c.add_ann(c.first_image()["id"], cid, bbox=[220.0, 10.0, 30.0, 30.0], area=900.0)
    return Expect("class-imbalance")


# YOLO and VOC corpora: edits of their text files


def _yolo_line(code: str, line: str) -> Callable[[Corpus], Expect]:
    def inject(c: Corpus) -> Expect:
        path = c.folder / "labels" / "img_2.txt"
        n = len([x for x in path.read_text().splitlines() if x.strip()])
        with open(path, "a") as f:
            f.write(line + "\n")
        return Expect(code, asset="img_2.png", record=f"object[{n}]")
    return inject


def _yolo_truncated(c: Corpus) -> Expect:
    path = c.folder / "images" / "img_3.png"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return Expect("image-truncated", asset="img_3.png")


def _voc_box(code: str, xml: str, old: str, new: str) -> Callable[[Corpus], Expect]:
    def inject(c: Corpus) -> Expect:
        path = c.folder / xml
        text = path.read_text()
        assert old in text, (xml, old)
        path.write_text(text.replace(old, new, 1))
        return Expect(code, asset=xml.replace(".xml", ".jpg"), record="object[0]")
    return inject


DEFECTS: list[Defect] = [
    # structure
    Defect("duplicate-file-name", "cats", _dup_file_name, also=("asset-empty",)),
    Defect("duplicate-asset-id", "cats", _dup_asset_id),
    Defect("duplicate-object-id", "cats", _dup_object_id),
    Defect("duplicate-label-id", "cats", _dup_label_id),
    Defect("unknown-asset", "cats", _unknown_asset),
    Defect("unknown-label", "cats", _unknown_label),
    Defect("label-unused", "cats", _label_unused),
    Defect("label-near-duplicate", "cats", _label_near_duplicate, also=("class-few-objects", "class-imbalance")),
    Defect("label-whitespace", "cats", _label_whitespace),
    Defect("label-empty", "cats", _label_empty),
    Defect("file-name-unsafe", "cats", _file_name_unsafe, also=("asset-empty", "image-duplicate")),
    # geometry
    Defect("non-finite-coordinate", "cats", _non_finite),
    Defect("box-negative-size", "cats", _box("box-negative-size", [10.0, 10.0, -20.0, 20.0])),
    Defect("box-zero-size", "cats", _box("box-zero-size", [10.0, 10.0, 20.0, 0.0])),
    Defect("bbox-out-of-image", "cats", _box("bbox-out-of-image", [900.0, 10.0, 20.0, 20.0])),
    Defect("bbox-partly-out-of-image", "cats", _box("bbox-partly-out-of-image", [-5.0, 10.0, 20.0, 20.0])),
    Defect("object-too-small", "cats", _box("object-too-small", [150.0, 150.0, 1.5, 1.5])),
    Defect("area-mismatch", "cats", _area_mismatch),
    Defect("duplicate-object", "cats", _duplicate_object),
    Defect("image-size-invalid", "cats", _size_invalid, also=("asset-empty", "image-duplicate",
                                                              "image-size-unknown")),
    Defect("image-size-unknown", "cats", _size_unknown),
    Defect("polygon-out-of-image", "terrain", _polygon("polygon-out-of-image", lambda im: [
        [im["width"] + 10, 10, im["width"] + 60, 10, im["width"] + 60, 60]])),
    Defect("polygon-partly-out-of-image", "terrain", _polygon("polygon-partly-out-of-image", lambda im: [
        [im["width"] - 20, 10, im["width"] + 30, 10, im["width"] + 30, 60, im["width"] - 20, 60]])),
    Defect("polygon-too-few-points", "terrain", _polygon("polygon-too-few-points", lambda im: [
        [50, 50, 80, 80, 50, 50, 80, 80]])),
    Defect("polygon-zero-area", "terrain", _polygon("polygon-zero-area", lambda im: [[10, 10, 20, 20, 30, 30]])),
    Defect("polygon-self-intersecting", "terrain", _polygon("polygon-self-intersecting", lambda im: [
        [300, 300, 400, 400, 400, 300, 300, 420]])),
    Defect("bbox-geometry-mismatch", "terrain", _bbox_geometry_mismatch),
    Defect("rle-size-mismatch", "terrain", _rle_size_mismatch),
    Defect("points-out-of-image", "terrain", _points_out),
    # images
    Defect("image-missing", "cats", _image_missing, also=("asset-empty",)),
    Defect("image-unreadable", "cats", _image_unreadable, also=("asset-empty",)),
    Defect("image-truncated", "cats", _image_truncated, also=("asset-empty",)),
    Defect("image-type-unsupported", "cats", _type_unsupported, also=("asset-empty", "image-extension-mismatch")),
    Defect("image-extension-mismatch", "cats", _extension_mismatch, also=("asset-empty",)),
    Defect("image-size-mismatch", "cats", _size_mismatch),
    Defect("image-exif-swapped", "cats", _exif_swapped),
    Defect("image-exif-orientation", "cats", _exif_orientation),
    Defect("image-duplicate", "cats", _image_duplicate, also=("asset-empty",)),
    Defect("image-not-in-dataset", "cats", _not_in_dataset),
    # Q&A and attributes (checked against SCHEMA)
    Defect("answer-wrong-type", "cats", _answer("answer-wrong-type",
                                                 {"color": "red", "visibility": 50, "occluded": "yes"})),
    Defect("answer-not-in-choices", "cats", _answer("answer-not-in-choices",
                                                     {"color": "purple", "visibility": 50, "occluded": False})),
    Defect("answer-out-of-range", "cats", _answer("answer-out-of-range",
                                                   {"color": "red", "visibility": 150, "occluded": False})),
    Defect("answer-missing", "cats", _answer("answer-missing", {"visibility": 50, "occluded": False})),
    # dataset
    Defect("asset-empty", "cats", _asset_empty),
    Defect("class-few-objects", "cats", _class_few, also=("class-imbalance",)),
    Defect("class-imbalance", "cats", _class_imbalance, also=("class-few-objects",)),
    # other readers: YOLO (normalised boxes) and VOC (corner boxes)
    Defect("box-zero-size", "yolo", _yolo_line("box-zero-size", "1 0.5 0.5 0 0.1")),
    Defect("bbox-partly-out-of-image", "yolo", _yolo_line("bbox-partly-out-of-image", "0 0.95 0.5 0.2 0.2")),
    Defect("image-truncated", "yolo", _yolo_truncated),
    Defect("box-negative-size", "voc", _voc_box("box-negative-size", "2007_000549.xml", "<ymin>49</ymin>",
                                                "<ymin>520</ymin>")),
    Defect("bbox-partly-out-of-image", "voc", _voc_box("bbox-partly-out-of-image", "2007_003525.xml",
                                                       "<xmax>", "<xmax>9")),
]
#: codes no injection covers, with the reason (each has a unit test in tests/validation/test_rules.py)
NOT_INJECTED = {
    "undeclared-label": "no bundled format can declare labels and use another one (COCO maps ids to names)",
    "dataset-empty": "an empty dataset is its own corpus (tests/validation/test_rules.py)",
}


def build(root: Path) -> dict[str, tuple[Corpus, list[tuple[Defect, list[Expect]]]]]:
    """Build every corpus under `root` with every defect injected once; returns
    ``{corpus name: (corpus, [(defect, expected findings)])}``."""
    corpora = {
        "cats": _copy_coco(root / "cats", FIXTURES / "voc_toy_cats" / "gts_coco_format" / "toy_example_coco.JSON",
                           FIXTURES / "voc_toy_cats" / "images", "cats"),
        "terrain": _copy_coco(root / "terrain", FIXTURES / "sahi_coco" / "coco_utils" / "combined_coco.json",
                              FIXTURES / "sahi_coco" / "coco_utils", "terrain"),
        "yolo": _copy_tree(root / "yolo", FIXTURES / "labelstudio_yolo" / "test_import_yolo_data", "yolo"),
        "voc": _copy_tree(root / "voc", FIXTURES / "voc_toy_cats" / "gts_vocpascal_format", "voc"),
    }
    out: dict[str, tuple[Corpus, list[tuple[Defect, list[Expect]]]]] = {k: (c, []) for k, c in corpora.items()}
    for defect in DEFECTS:
        corpus = corpora[defect.corpus]
        expected = defect.inject(corpus)
        out[defect.corpus][1].append((defect, expected if isinstance(expected, list) else [expected]))
    for name in ("cats", "terrain"):
        corpora[name].write()
    return out


def clean(root: Path) -> dict[str, Corpus]:
    """The same corpora without defects (the cats with their valid attributes)."""
    corpora = {
        "cats": _copy_coco(root / "cats", FIXTURES / "voc_toy_cats" / "gts_coco_format" / "toy_example_coco.JSON",
                           FIXTURES / "voc_toy_cats" / "images", "cats"),
        "terrain": _copy_coco(root / "terrain", FIXTURES / "sahi_coco" / "coco_utils" / "combined_coco.json",
                              FIXTURES / "sahi_coco" / "coco_utils", "terrain"),
        "yolo": _copy_tree(root / "yolo", FIXTURES / "labelstudio_yolo" / "test_import_yolo_data", "yolo"),
        "voc": _copy_tree(root / "voc", FIXTURES / "voc_toy_cats" / "gts_vocpascal_format", "voc"),
    }
    for name in ("cats", "terrain"):
        corpora[name].write()
    return corpora


def _copy_coco(folder: Path, json_file: Path, images: Path, name: str) -> Corpus:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "images").mkdir(exist_ok=True)
    top = json.loads(json_file.read_text())
    for im in top["images"]:
        src = images / im["file_name"]
        if src.exists():
            shutil.copy(src, folder / "images" / im["file_name"])
    if name == "cats":
        for a in top["annotations"]:
            a["attributes"] = {"color": "red" if a["id"] % 2 else "blue", "visibility": 80, "occluded": False}
    (folder / "annotations.json").write_text(json.dumps(top))
    return Corpus(name, folder, "annotations.json", folder / "images")


def _copy_tree(folder: Path, src: Path, name: str) -> Corpus:
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(src, folder)
    if name == "voc":
        shutil.copytree(FIXTURES / "voc_toy_cats" / "images", folder.parent / "voc_images", dirs_exist_ok=True)
        return Corpus(name, folder, "-", folder.parent / "voc_images")
    return Corpus(name, folder, "-", folder / "images")


def source_of(corpus: Corpus) -> tuple[Path, Path]:
    """(the path to validate, its images folder)."""
    if corpus.name in ("cats", "terrain"):
        return corpus.json, corpus.images
    return corpus.folder, corpus.images


def main() -> None:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "defect-corpora")
    built = build(root)
    for name, (corpus, injected) in built.items():
        src, images = source_of(corpus)
        print(f"{name}: {src} (images {images}): {len(injected)} defects")
        for defect, expected in injected:
            print(f"  {defect.code:<28} {'; '.join(str(e) for e in expected)}")
    print(f"schema: {json.dumps(SCHEMA)}\noptions: {OPTIONS}")


if __name__ == "__main__":
    main()
