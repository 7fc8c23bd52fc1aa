"""Independent readings of fixtures/real_exports (plain Python; never imports picsellia_formats).

Each ``read_<layout>()`` returns a list of images: ``{"file", "split", "size": (w, h), "objects": [...]}``;
an object is ``{"label", "kind", ...}`` with boxes as x, y, w, h and points as absolute pixels (compare to
0.01 px). Run ``python tests/formats/real_exports/expected.py`` to print every reading.

>>> [o["label"] for o in read_ultralytics_pose(3)[0]["objects"]]
['skeleton_label']
"""

from __future__ import annotations

import json
import pathlib
import xml.etree.ElementTree as ET

from PIL import Image

FX = pathlib.Path(__file__).resolve().parents[3] / "fixtures" / "real_exports"


def _size(path: pathlib.Path) -> tuple[int, int]:
    with Image.open(path) as im:
        return im.size


def _names_yaml(path: pathlib.Path) -> list[str]:
    lines = path.read_text().splitlines()
    start = lines.index("names:") + 1
    return [ln.split(":", 1)[1].strip() for ln in lines[start:] if ln.startswith("  ")]


def _yolo_rows(txt: pathlib.Path) -> list[list[float]]:
    return [[float(v) for v in ln.split()] for ln in txt.read_text().splitlines() if ln.strip()]


def _box(cx: float, cy: float, bw: float, bh: float, w: int, h: int) -> list[float]:
    return [(cx - bw / 2) * w, (cy - bh / 2) * h, bw * w, bh * h]


def read_yolo_split_folders(layout: str, task: str = "detect", kpt_shape=None) -> list[dict]:
    """Ultralytics layout images/<split>/x.jpg + labels/<split>/x.txt; task picks the row reading."""
    root = FX / layout
    names = _names_yaml(root / "data.yaml")
    out = []
    for img in sorted((root / "images").glob("*/*.jpg")):
        w, h = _size(img)
        split = img.parent.name
        objs = []
        for r in _yolo_rows(root / "labels" / split / (img.stem + ".txt")):
            o = {"label": names[int(r[0])]}
            if task == "detect":
                o.update(kind="box", box=_box(*r[1:5], w, h))
            elif task in ("segment", "obb"):
                pts = [(r[i] * w, r[i + 1] * h) for i in range(1, len(r), 2)]
                o.update(kind="polygon", points=pts)
            elif task == "pose":
                n, d = kpt_shape
                assert len(r) == 5 + n * d, r
                kp = [r[5 + i * d: 5 + (i + 1) * d] for i in range(n)]
                o.update(kind="box", box=_box(*r[1:5], w, h),
                         keypoints=[(k[0] * w, k[1] * h, int(k[2]) if d == 3 else None) for k in kp])
            objs.append(o)
        out.append({"file": img.name, "split": split, "size": (w, h), "objects": objs})
    return out


def read_ultralytics_pose(dims: int) -> list[dict]:
    return read_yolo_split_folders(f"ultralytics_pose_kpt{dims}", "pose", (3, dims))


def read_cvat_yolo11() -> list[dict]:
    """obj.names + train.txt listing data/obj_train_data/x.jpg; labels beside the images."""
    root = FX / "cvat_yolo11"
    names = (root / "obj.names").read_text().split()
    out = []
    for line in (root / "train.txt").read_text().split():
        rel = line.split("/", 1)[1]  # drop the 'data/' prefix the exporter adds
        img = root / rel
        w, h = _size(img)
        objs = [{"label": names[int(r[0])], "kind": "box", "box": _box(*r[1:], w, h)}
                for r in _yolo_rows(img.with_suffix(".txt"))]
        out.append({"file": img.name, "split": "train", "size": (w, h), "objects": objs})
    return out


def read_yolo_annotations_images() -> list[dict]:
    root = FX / "yolo_annotations_images"
    names = (root / "classes.txt").read_text().split()
    out = []
    for img in sorted((root / "Images").glob("*.jpg")):
        w, h = _size(img)
        objs = [{"label": names[int(r[0])], "kind": "box", "box": _box(*r[1:], w, h)}
                for r in _yolo_rows(root / "Annotations" / (img.stem + ".txt"))]
        out.append({"file": img.name, "split": None, "size": (w, h), "objects": objs})
    return out


def read_yolo_train_txt_prefix() -> list[dict]:
    """train.txt says data/images/train/1.jpg; there is no data/ folder: the image is images/train/1.jpg."""
    return read_yolo_split_folders("yolo_train_txt_prefix")


def read_ultralytics_classify() -> list[dict]:
    root = FX / "ultralytics_classify"
    return [{"file": p.name, "split": p.parent.parent.name, "size": _size(p),
             "objects": [{"label": p.parent.name, "kind": "classification"}]}
            for p in sorted(root.glob("*/*/*.JPEG"))]


def read_coco(path: pathlib.Path, split: str | None) -> list[dict]:
    """Instances: boxes, polygons (absolute), RLE kept as-is; annotations with no geometry are image labels."""
    d = json.loads(path.read_text())
    cats = {c["id"]: c["name"] for c in d["categories"]}
    out = {}
    for im in d["images"]:
        out[im["id"]] = {"file": im["file_name"], "split": split, "size": (im["width"], im["height"]),
                         "objects": []}
    for a in d["annotations"]:
        o = {"label": cats.get(a.get("category_id")), "id": a.get("id")}
        if "caption" in a:
            o.update(kind="caption", text=a["caption"])
        elif isinstance(a.get("segmentation"), dict):
            o.update(kind="rle", rle=a["segmentation"], box=a["bbox"], iscrowd=a.get("iscrowd"))
        elif a.get("segmentation"):
            o.update(kind="polygon", parts=[list(zip(s[::2], s[1::2])) for s in a["segmentation"]])
        elif "bbox" in a:
            o.update(kind="box", box=a["bbox"])
        else:
            o.update(kind="classification")
        out[a["image_id"]]["objects"].append(o)
    return list(out.values())


def read_roboflow_coco() -> list[dict]:
    """train/valid/test each with _annotations.coco.json; category 0 'objects' is Roboflow's superclass."""
    res = []
    for split in ("train", "valid", "test"):
        res += read_coco(FX / "roboflow_coco" / split / "_annotations.coco.json", split)
    return res


def read_coco_per_split() -> list[dict]:
    ann = FX / "coco_per_split" / "annotations"
    return read_coco(ann / "instances_train.json", "train") + read_coco(ann / "instances_val.json", "val")


def read_coco_panoptic() -> list[dict]:
    """segments_info + PNG (id = R + 256 G + 65536 B) into one mask per segment."""
    root = FX / "coco_panoptic"
    d = json.loads((root / "annotations/panoptic_val.json").read_text())
    cats = {c["id"]: c["name"] for c in d["categories"]}
    out = []
    for a in d["annotations"]:
        im = next(i for i in d["images"] if i["id"] == a["image_id"])
        png = Image.open(root / "annotations/panoptic_val" / a["file_name"]).convert("RGB")
        ids = [[r + 256 * g + 65536 * b for (r, g, b) in
                (png.getpixel((x, y)) for x in range(png.width))] for y in range(png.height)]
        objs = [{"label": cats[s["category_id"]], "kind": "mask", "iscrowd": s["iscrowd"],
                 "pixels": [(x, y) for y, row in enumerate(ids) for x, v in enumerate(row) if v == s["id"]]}
                for s in a["segments_info"]]
        out.append({"file": im["file_name"], "split": "val", "size": (im["width"], im["height"]),
                    "objects": objs})
    return out


def read_voc(xml: pathlib.Path, split: str | None) -> dict:
    r = ET.parse(xml).getroot()
    objs = []
    for o in r.iter("object"):
        b = o.find("bndbox")
        x0, y0, x1, y1 = (float(b.findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax"))
        attrs = {a.findtext("name"): a.findtext("value") for a in o.iter("attribute")}
        objs.append({"label": o.findtext("name"), "kind": "box", "box": [x0, y0, x1 - x0, y1 - y0],
                     "attributes": attrs, "occluded": o.findtext("occluded")})
    size = (int(r.findtext("size/width")), int(r.findtext("size/height")))
    return {"file": r.findtext("filename"), "split": split, "size": size, "objects": objs}


def read_roboflow_voc() -> list[dict]:
    root = FX / "roboflow_voc"
    return [read_voc(x, x.parent.name) for x in sorted(root.glob("*/*.xml"))]


def read_cvat_voc() -> list[dict]:
    return [read_voc(x, None) for x in sorted((FX / "cvat_voc/Annotations").glob("*.xml"))]


def read_voc_segmentation_only() -> list[dict]:
    """labelme2voc: SegmentationClass (class index per pixel) + SegmentationObject (instance index)."""
    root = FX / "voc_segmentation_only"
    names = (root / "class_names.txt").read_text().split()
    out = []
    for img in sorted((root / "JPEGImages").glob("*.jpg")):
        cls = Image.open(root / "SegmentationClass" / (img.stem + ".png"))
        obj = Image.open(root / "SegmentationObject" / (img.stem + ".png"))
        inst: dict[int, dict] = {}
        for y in range(cls.height):
            for x in range(cls.width):
                i = obj.getpixel((x, y))
                if i in (0, 255):
                    continue
                o = inst.setdefault(i, {"label": names[cls.getpixel((x, y))], "kind": "mask", "pixels": []})
                o["pixels"].append((x, y))
        out.append({"file": img.name, "split": None, "size": _size(img), "objects": list(inst.values())})
    return out


def read_ultralytics_convert_coco() -> dict:
    """The COCO source and the YOLO segment rows Ultralytics' convert_coco wrote from it (absolute px)."""
    src = read_coco(FX / "ultralytics_convert_coco/coco/annotations/instances_val.json", "val")
    w, h = src[0]["size"]
    rows = _yolo_rows(FX / "ultralytics_convert_coco/yolo_written_by_ultralytics/labels/val/m.txt")
    return {"coco": src, "yolo_m": [(int(r[0]), [(r[i] * w, r[i + 1] * h) for i in range(1, len(r), 2)])
                                    for r in rows]}


READINGS = {
    "cvat_yolo11": read_cvat_yolo11,
    "ultralytics_detect_stray_readme": lambda: read_yolo_split_folders("ultralytics_detect_stray_readme"),
    "yolo_same_name_two_splits": lambda: read_yolo_split_folders("yolo_same_name_two_splits"),
    "ultralytics_segment": lambda: read_yolo_split_folders("ultralytics_segment", "segment"),
    "ultralytics_obb": lambda: read_yolo_split_folders("ultralytics_obb", "obb"),
    "ultralytics_pose_kpt3": lambda: read_ultralytics_pose(3),
    "ultralytics_pose_kpt2": lambda: read_ultralytics_pose(2),
    "ultralytics_classify": read_ultralytics_classify,
    "yolo_annotations_images": read_yolo_annotations_images,
    "yolo_train_txt_prefix": read_yolo_train_txt_prefix,
    "roboflow_coco": read_roboflow_coco,
    "coco_per_split": read_coco_per_split,
    "coco_captions": lambda: read_coco(FX / "coco_captions/annotations/captions_train.json", "train"),
    "coco_image_labels": lambda: read_coco(FX / "coco_image_labels/annotations/labels_train.json", "train"),
    "coco_image_info": lambda: read_coco(FX / "coco_image_info/annotations/image_info_default.json", "default"),
    "coco_panoptic": read_coco_panoptic,
    "roboflow_voc": read_roboflow_voc,
    "cvat_voc": read_cvat_voc,
    "voc_segmentation_only": read_voc_segmentation_only,
    "ultralytics_convert_coco": read_ultralytics_convert_coco,
    "truncated_jpeg": lambda: read_coco(FX / "truncated_jpeg/annotations.json", None),
}

if __name__ == "__main__":
    for name, fn in READINGS.items():
        print(name, json.dumps(fn(), default=str)[:600])
