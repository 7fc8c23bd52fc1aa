"""Pascal VOC segmentation PNGs: ``SegmentationClass/`` and ``SegmentationObject/``, read and written.

The devkit stores, for each segmented image ``<id>``, two palette PNGs the size of the image:

* ``SegmentationClass/<id>.png``: each pixel holds a class index (0 = background, then the
  classes in order), 255 = "void" (the unlabelled border around objects, ignored by scoring);
* ``SegmentationObject/<id>.png``: each pixel holds an object index, ``i`` being the i-th
  ``<object>`` of ``Annotations/<id>.xml`` (1-based), 0 = background, 255 = void.

Both use the VOC colour map as their palette. The class list is the VOC one (background + 20
classes) unless the folder holds a ``labelmap.txt`` (``name:r,g,b::`` lines, as Datumaro and CVAT
write it), whose order gives the indices. RGB PNGs (CVAT writes those) are read through the colours.

Reading: the i-th object gets its instance mask (COCO RLE, or polygons with ``mode="polygon"``),
keeping its box; instance indices beyond the XML's objects become new objects of the class their
pixels carry; a class PNG without an object PNG gives one mask object per class present
(``extra["voc"]["segmentation"] == "class"``). The void pixels of each image are kept as an RLE in
``Asset.extra["voc"]["void"]`` so that a write puts them back.

Writing: objects with a mask or a polygon are painted, in order (a later object covers an earlier
one where they overlap: counted in the report), with their object index and class index; kept
void pixels are restored; ``labelmap.txt`` lists the classes.

Example:
    >>> palette = voc_colormap()
    >>> palette[3:6], palette[255 * 3:]
    ([128, 0, 0], [224, 224, 192])
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import FormatError, OptionError
from ...io_utils import safe_relative_path
from ...masks import mask_to_polygons, mask_to_rle, polygon_to_mask, rle_to_mask, voc_colormap
from ...model import Annotation, Asset, Dataset
from ...report import Report
from ...shapes import annotation_bbox

#: The VOC 2012 classes, index 0 being the background.
VOC_CLASSES = (
    "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor",
)
VOID = 255
CLASS_DIR = "SegmentationClass"
OBJECT_DIR = "SegmentationObject"
LABELMAP = "labelmap.txt"
#: labelme2voc's class list (used when there is no labelmap.txt)
CLASS_NAMES = "class_names.txt"
MODES = ("rle", "polygon", "none")


# ------------------------------------------------------------------------------------------ labelmap


def read_labelmap(path: Path) -> list[tuple[str, tuple[int, int, int] | None]]:
    """``labelmap.txt`` lines ``name:r,g,b:parts:actions`` (``#`` comments) -> [(name, colour)]."""
    out: list[tuple[str, tuple[int, int, int] | None]] = []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FormatError(f"cannot read the label map: {exc}", file=path) from None
    for n, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, rest = line.partition(":")
        colour = None
        rgb = rest.partition(":")[0].strip()
        if rgb:
            try:
                r, g, b = (int(v) for v in rgb.split(","))
            except ValueError:
                raise FormatError(f"colour must be r,g,b, got {rgb!r}", file=path, record=f"line {n}") from None
            colour = (r, g, b)
        out.append((name.strip(), colour))
    return out


def write_labelmap(path: Path, classes: Sequence[str], palette: Sequence[int]) -> None:
    lines = ["# label:color_rgb:parts:actions"]
    for i, name in enumerate(classes):
        r, g, b = palette[3 * i:3 * i + 3]
        lines.append(f"{name}:{r},{g},{b}::")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _class_list(root: Path) -> tuple[list[str], list[tuple[int, int, int] | None]]:
    lm = root / LABELMAP
    if lm.is_file():
        entries = read_labelmap(lm)
        if entries:
            return [e[0] for e in entries], [e[1] for e in entries]
    names = root / CLASS_NAMES
    if names.is_file():  # labelme2voc: one class per line, index 0 = _background_
        classes = [line.strip() for line in names.read_text(encoding="utf-8").splitlines() if line.strip()]
        classes = [c for c in classes if c != "__ignore__"]
        if classes:
            return classes, [None] * len(classes)
    return list(VOC_CLASSES), [None] * len(VOC_CLASSES)


# ---------------------------------------------------------------------------------------------- read


def _png_indices(path: Path, colours: dict[tuple[int, int, int], int]) -> np.ndarray:
    """The index image of a segmentation PNG: palette or grey values as they are; RGB through
    `colours` (unknown colours raise)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.load()
            if im.mode in ("P", "L"):
                return np.asarray(im, dtype=np.uint8)
            if im.mode in ("I", "I;16"):
                return np.asarray(im).astype(np.int64)
            rgb = np.asarray(im.convert("RGB"), dtype=np.int64)
    except FileNotFoundError:
        raise FormatError("segmentation PNG not found", file=path) from None
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise FormatError(f"not a readable PNG: {exc}", file=path) from None
    code = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
    out = np.full(code.shape, -1, dtype=np.int64)
    for (r, g, b), index in colours.items():
        out[code == ((r << 16) | (g << 8) | b)] = index
    if (out < 0).any():
        ys, xs = np.nonzero(out < 0)
        c = rgb[ys[0], xs[0]].tolist()
        raise FormatError(f"colour {tuple(c)} at x={xs[0]}, y={ys[0]} is not in the colour map", file=path)
    return out


def _mask_of(binary: np.ndarray, mode: str) -> dict[str, Any]:
    if mode == "polygon":
        return {"polygon": mask_to_polygons(binary)}
    return {"mask": mask_to_rle(binary)}


def read_segmentation(
    dataset: Dataset,
    root: str | os.PathLike[str],
    report: Report | None = None,
    *,
    mode: str = "rle",
    stems: Sequence[str] | None = None,
) -> int:
    """Attach the masks of ``root/SegmentationObject`` and ``root/SegmentationClass`` to `dataset`.

    `stems` are the image ids (XML names without ``.xml``) of the assets, in order; by default
    each asset's file name without extension. Returns the number of images that had a PNG.
    Raises FormatError for unreadable PNGs, sizes that disagree with the asset, or class
    indices outside the class list.
    """
    if mode not in MODES:
        raise OptionError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    root = Path(root)
    report = report if report is not None else Report()
    obj_dir, cls_dir = root / OBJECT_DIR, root / CLASS_DIR
    if mode == "none" or not (obj_dir.is_dir() or cls_dir.is_dir()):
        return 0
    classes, given_colours = _class_list(root)
    palette = voc_colormap()
    colours: dict[tuple[int, int, int], int] = {}
    for i, c in enumerate(given_colours):
        colours[c or tuple(palette[3 * i:3 * i + 3])] = i  # type: ignore[index]
    colours[tuple(palette[3 * VOID:3 * VOID + 3])] = VOID  # type: ignore[index]
    if stems is None:
        stems = [Path(a.file_name).with_suffix("").as_posix() for a in dataset.assets]
    found = with_void = added = relabelled = 0
    for asset, stem in zip(dataset.assets, stems):
        try:
            rel = safe_relative_path(f"{stem}.png")
        except ValueError:
            continue
        obj_png = obj_dir / rel
        cls_png = cls_dir / rel
        has_obj, has_cls = obj_png.is_file(), cls_png.is_file()
        if not (has_obj or has_cls):
            continue
        found += 1
        cls = _png_indices(cls_png, colours) if has_cls else None
        obj = _png_indices(obj_png, colours) if has_obj else None
        ref = obj if obj is not None else cls
        assert ref is not None
        h, w = ref.shape
        for arr, p in ((cls, cls_png), (obj, obj_png)):
            if arr is not None and arr.shape != (h, w):
                raise FormatError(f"size {arr.shape[1]}x{arr.shape[0]} differs from {w}x{h} of the other PNG",
                                  file=p)
        if asset.width and asset.height and (asset.width, asset.height) != (w, h):
            raise FormatError(f"size {w}x{h} differs from the image size {asset.width}x{asset.height}",
                              file=obj_png if has_obj else cls_png)
        if not asset.width or not asset.height:
            asset.width, asset.height = w, h
        if cls is not None:
            bad = (cls != VOID) & (cls >= len(classes))
            if bad.any():
                raise FormatError(f"class index {int(cls[bad][0])} is beyond the {len(classes)} classes "
                                  f"({LABELMAP} or the VOC list)", file=cls_png)
        void = (ref == VOID)
        if cls is not None:
            void |= cls == VOID
        if void.any():
            voc = dict(asset.extra.get("voc", {})) if asset.extra else {}
            voc["void"] = mask_to_rle(void)
            extra = dict(asset.extra) if asset.extra else {}
            extra["voc"] = voc
            asset.extra = extra
            with_void += 1
        if obj is not None:
            a, r = _attach_instances(asset, obj, cls, classes, mode, dataset)
            added += a
            relabelled += r
        else:
            assert cls is not None
            for index in np.unique(cls).tolist():
                if index in (0, VOID):
                    continue
                name = classes[index]
                dataset.add_label(name)
                asset.annotations.append(Annotation(name, **_mask_of(cls == index, mode),
                                                    extra={"voc": {"segmentation": "class"}}))
                added += 1
            report.info("class masks read as one object per class present", 1,
                        why=f"{CLASS_DIR} without {OBJECT_DIR}", example=stem)
    if found:
        report.info("images with VOC segmentation PNGs", found)
    if with_void:
        report.info("images with void (255) pixels, kept to be written back", with_void)
    if added:
        report.info("objects made from segmentation PNGs (no matching XML object)", added)
    if relabelled:
        report.changed("object labels that disagree with the class PNG (the XML name kept)", relabelled)
    return found


def _attach_instances(asset: Asset, obj: np.ndarray, cls: np.ndarray | None, classes: list[str],
                      mode: str, dataset: Dataset) -> tuple[int, int]:
    added = disagree = 0
    objects = asset.annotations
    for index in np.unique(obj).tolist():
        if index in (0, VOID):
            continue
        binary = obj == index
        name = None
        if cls is not None:
            values, counts = np.unique(cls[binary], return_counts=True)
            keep = (values != VOID) & (values != 0)
            if keep.any():
                name = classes[int(values[keep][np.argmax(counts[keep])])]
        geometry = _mask_of(binary, mode)
        if index <= len(objects):
            ann = objects[index - 1]
            if name is not None and name != ann.label:
                disagree += 1
            if "mask" in geometry:
                ann.mask = geometry["mask"]
            else:
                ann.polygon = geometry["polygon"]
        else:
            label = name or "object"
            dataset.add_label(label)
            x, y, w, h = (float(v) for v in _array_box(binary))
            objects.append(Annotation(label, box=(x, y, w, h), **geometry,
                                      extra={"voc": {"segmentation_index": index}}))
            added += 1
    return added, disagree


def _array_box(binary: np.ndarray) -> tuple[int, int, int, int]:
    rows = np.flatnonzero(binary.any(axis=1))
    cols = np.flatnonzero(binary.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1)


# --------------------------------------------------------------------------------------------- write


def _default_objects(asset: Asset) -> list[Annotation]:
    """The objects a VOC XML of `asset` lists, in order: those with a box or one computable."""
    return [a for a in asset.annotations if annotation_bbox(a) is not None]


def _save_png(path: Path, index: np.ndarray, palette: list[int]) -> None:
    from PIL import Image

    h, w = index.shape
    im = Image.frombytes("P", (w, h), np.ascontiguousarray(index, dtype=np.uint8).tobytes())
    im.putpalette(palette)
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path, format="PNG")


def write_segmentation(
    dataset: Dataset,
    root: str | os.PathLike[str],
    report: Report | None = None,
    *,
    items: Iterable[tuple[Asset, str, Sequence[Annotation]]] | None = None,
) -> dict[str, int]:
    """Write ``SegmentationClass/<id>.png``, ``SegmentationObject/<id>.png`` and ``labelmap.txt``
    under `root` for every asset with at least one mask or polygon object.

    `items` gives ``(asset, image id, the objects its XML lists, in order)``; by default the
    image id is the file name without extension and the objects those with a box. Returns counts:
    ``images`` written, ``mask`` and ``polygon`` objects painted.
    """
    root = Path(root)
    report = report if report is not None else Report()
    if items is None:
        items = [(a, Path(a.file_name).with_suffix("").as_posix(), _default_objects(a)) for a in dataset.assets]
    classes = ["background", *(label.name for label in dataset.labels if label.name != "background")]
    if len(classes) > VOID:
        raise FormatError(f"{len(classes) - 1} classes do not fit in a VOC segmentation PNG (254 at most)")
    class_index = {name: i for i, name in enumerate(classes)}
    palette = voc_colormap()
    written = no_size = covered = too_many = unsafe = 0
    painted = {"mask": 0, "polygon": 0}
    for asset, stem, objects in items:
        shaped = [(i, a) for i, a in enumerate(objects, start=1) if a.mask is not None or a.polygon is not None]
        if not shaped:
            continue
        if not asset.width or not asset.height:
            no_size += 1
            continue
        h, w = int(asset.height), int(asset.width)
        cls = np.zeros((h, w), np.uint8)
        obj = np.zeros((h, w), np.uint8)
        for index, ann in shaped:
            if index >= VOID:
                too_many += 1
                continue
            if ann.mask is not None:
                if (ann.mask.height, ann.mask.width) != (h, w):
                    raise FormatError(f"mask size {ann.mask.width}x{ann.mask.height} differs from the image "
                                      f"size {w}x{h}", record=f"{asset.file_name}: object {index}")
                binary = rle_to_mask(ann.mask).astype(bool)
            else:
                binary = polygon_to_mask(ann.polygon, h, w).astype(bool)  # type: ignore[arg-type]
            painted["mask" if ann.mask is not None else "polygon"] += 1
            if (obj[binary] != 0).any():
                covered += 1
            obj[binary] = index
            cls[binary] = class_index.get(ann.label, 0)
        void = asset.extra.get("voc", {}).get("void") if asset.extra else None
        if void is not None and (void.height, void.width) == (h, w):
            v = rle_to_mask(void).astype(bool)
            obj[v] = VOID
            cls[v] = VOID
        try:
            rel = safe_relative_path(stem + ".png")
        except ValueError:
            unsafe += 1
            continue
        _save_png(root / CLASS_DIR / rel, cls, palette)
        _save_png(root / OBJECT_DIR / rel, obj, palette)
        written += 1
    if written:
        write_labelmap(root / LABELMAP, classes, palette)
        report.info("images written as VOC segmentation PNGs", written)
    if painted["polygon"]:
        report.approximated("polygons written as pixel masks", painted["polygon"], "VOC segmentation PNGs")
    if no_size:
        report.dropped("segmentations of images without a size", no_size, "pass images= for their sizes")
    if covered:
        report.approximated("objects partly covered by a later object in the PNGs", covered,
                            "a pixel holds one object")
    if too_many:
        report.dropped("objects beyond index 254 in segmentation PNGs", too_many)
    if unsafe:
        report.dropped("segmentations of images with an unsafe name", unsafe, "absolute or '..' path")
    return {"images": written, **painted}
