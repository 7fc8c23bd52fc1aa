"""write."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from operator import truediv
from pathlib import Path, PurePosixPath
from typing import Any

from ...errors import OptionError, PicselliaFormatsError
from ...fidelity import report_foreign_fields
from ...images import image_size
from ...io_utils import gc_paused, safe_relative_path
from ...model import EMPTY, Annotation, Asset, Dataset, Label
from ...report import Report
from .._writer import write_bytes
from .layout import SIZES_FILE, SPLIT_TAGS, YAML_KEY
from .rows import text_matches_box, text_matches_poly

# ------------------------------------------------------------------------------------------- write


def _out_name(file_name: str) -> str:
    """A safe relative posix path for an asset (fast path for plain names)."""
    if file_name and "/" not in file_name and "\\" not in file_name and ":" not in file_name \
            and file_name not in (".", "..") and "\x00" not in file_name:
        return file_name
    try:
        return safe_relative_path(file_name).as_posix()
    except ValueError:
        base = PurePosixPath(file_name.replace("\\", "/")).name
        return base if base not in ("", ".", "..") else "image"


def _stem(name: str) -> str:
    slash = name.rfind("/")
    dot = name.rfind(".")
    return name[:dot] if dot > slash + 1 else name


def _split_of(asset: Asset, split_tags: frozenset[str]) -> str | None:
    for tag in asset.tags:
        if tag in split_tags or tag.lower() in SPLIT_TAGS:
            return tag
    return None


def _yaml_text(names: list[str], split_dirs: dict[str, list[str]], extra: dict[str, Any]) -> str:
    import yaml

    doc: dict[str, Any] = {}
    for key, dirs in split_dirs.items():
        doc[key] = dirs[0] if len(dirs) == 1 else dirs
    doc["nc"] = len(names)
    doc["names"] = names
    text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, default_flow_style=False, width=1 << 16)
    if extra:
        text += yaml.safe_dump(extra, sort_keys=False, allow_unicode=True, default_flow_style=False,
                               width=1 << 16)
    return text


class _Counts:
    __slots__ = ("boxes_as_polygons", "clipped", "crowd", "masks_as_boxes", "masks_as_polygons", "multipart",
                 "no_size", "other", "poly_as_boxes", "qa", "scores", "small_parts", "with_attributes")

    def __init__(self) -> None:
        for s in self.__slots__:
            setattr(self, s, 0)
        self.other: dict[str, int] = {}


_FORMATS: dict[int, str] = {}
_BOX_ROW = "%d %.14g %.14g %.14g %.14g"  # one % format: faster than an f-string of four specs


def _clip01(v: float) -> float:
    return 0.0 if not v >= 0.0 else (1.0 if v > 1.0 else v)


class _Writer:
    """Builds the text of one label file per asset. `rows` is the hot path."""

    def __init__(self, index: dict[str, int], task: str, confidence: bool) -> None:
        self.index = index
        self.task = task
        self.confidence = confidence
        self.c = _Counts()
        self._divisors: dict[tuple[float, float, int], tuple[float, ...]] = {}

    def box_row(self, idx: int, ann: Annotation, box: Any, W: float, H: float) -> str:
        ex = ann.extra
        if ex and "yolo" in ex:
            text = ex["yolo"].get("text") if isinstance(ex["yolo"], dict) else None
            if text and text_matches_box(text, box, W, H):
                coords = text
            else:
                coords = self._box_coords(box, W, H)
        else:
            x, y, w, h = box
            cx = (x + w * 0.5) / W
            cy = (y + h * 0.5) / H
            nw = w / W
            nh = h / H
            if 0.0 <= cx <= 1.0 and 0.0 <= cy <= 1.0 and 0.0 <= nw <= 1.0 and 0.0 <= nh <= 1.0:
                coords = f"{cx:.14g} {cy:.14g} {nw:.14g} {nh:.14g}"
            else:
                coords = self._box_coords(box, W, H)
        score = ann.score
        if score is not None:
            if self.confidence:
                return f"{idx} {coords} {score:.14g}"
            self.c.scores += 1
        return f"{idx} {coords}"

    def _box_coords(self, box: Any, W: float, H: float) -> str:
        x, y, w, h = box
        vals = ((x + w * 0.5) / W, (y + h * 0.5) / H, w / W, h / H)
        if not all(0.0 <= v <= 1.0 for v in vals):
            # clip the corners to the image (values in range but reaching outside are valid YOLO)
            self.c.clipped += 1
            x0, y0 = _clip01(x / W), _clip01(y / H)
            x1, y1 = max(x0, _clip01((x + w) / W)), max(y0, _clip01((y + h) / H))
            vals = ((x0 + x1) * 0.5, (y0 + y1) * 0.5, x1 - x0, y1 - y0)
        return " ".join([f"{v:.14g}" for v in vals])

    def poly_rows(self, idx: int, ex: Any, parts: list[list[float]], W: float, H: float,
                  out: list[str]) -> None:
        if len(parts) == 1 and ex and "yolo" in ex and isinstance(ex["yolo"], dict):
            text = ex["yolo"].get("text")
            if text and text_matches_poly(text, parts[0], W, H):
                out.append(f"{idx} {text}")
                return
        if len(parts) > 1:
            self.c.multipart += 1
        cache = self._divisors
        if len(cache) > 4096:
            cache.clear()
        for part in parts:
            n = len(part)
            if n < 6 or n % 2:
                self.c.small_parts += 1
                continue
            divisors = cache.get((W, H, n))
            if divisors is None:
                divisors = cache[(W, H, n)] = (W, H) * (n // 2)
            flat = tuple(map(truediv, part, divisors))
            if not (min(flat) >= 0.0 and max(flat) <= 1.0 and sum(flat) == sum(flat)):
                self.c.clipped += 1
                flat = tuple(_clip01(v) for v in flat)
            fmt = _FORMATS.get(n)
            if fmt is None:
                fmt = _FORMATS[n] = " ".join(["%.14g"] * n)
            out.append(f"{idx} " + fmt % flat)

    def rows(self, asset: Asset, W: float, H: float) -> list[str]:
        out: list[str] = []
        append = out.append
        index = self.index
        c = self.c
        boxes_as_boxes = self.task != "segment"
        polygons_as_boxes = self.task == "detect"
        for ann in asset.annotations:
            box = ann.box
            if box is not None and ann.mask is None and ann.keypoints is None and ann.line is None \
                    and ann.point is None and (boxes_as_boxes if ann.polygon is None else polygons_as_boxes):
                if ann.polygon is not None:
                    c.poly_as_boxes += 1
                if ann.extra or ann.score is not None:
                    append(self.box_row(index[ann.label], ann, box, W, H))
                else:
                    x, y, w, h = box
                    cx = (x + w * 0.5) / W
                    cy = (y + h * 0.5) / H
                    nw = w / W
                    nh = h / H
                    if 0.0 <= cx <= 1.0 and 0.0 <= cy <= 1.0 and 0.0 <= nw <= 1.0 and 0.0 <= nh <= 1.0:
                        append(_BOX_ROW % (index[ann.label], cx, cy, nw, nh))
                    else:
                        append(f"{index[ann.label]} {self._box_coords(box, W, H)}")
            else:
                self.slow(index[ann.label], ann, W, H, out)
            if ann.qa:
                c.qa += len(ann.qa)
            if ann.attributes:
                c.with_attributes += 1
            if ann.iscrowd:
                c.crowd += 1
        return out

    def slow(self, idx: int, ann: Annotation, W: float, H: float, out: list[str]) -> None:
        """Every object that is not a plain box written as a box."""
        c = self.c
        other = c.other
        for kind in ("keypoints", "line", "point"):
            if getattr(ann, kind) is not None:
                other[kind] = other.get(kind, 0) + 1
        box = ann.box
        if ann.polygon is None and ann.mask is None:
            if box is None:
                if ann.keypoints is None and ann.line is None and ann.point is None:
                    other["classification"] = other.get("classification", 0) + 1
                return
            if self.task == "segment":
                x, y, w, h = box
                c.boxes_as_polygons += 1
                if ann.score is not None:
                    c.scores += 1
                self.poly_rows(idx, EMPTY, [[x, y, x + w, y, x + w, y + h, x, y + h]], W, H, out)
            else:
                out.append(self.box_row(idx, ann, box, W, H))
            return
        if self.task == "detect":
            if box is None:
                from ...geometry import annotation_bbox

                box = annotation_bbox(ann)
            if ann.polygon is not None:
                c.poly_as_boxes += 1
            else:
                c.masks_as_boxes += 1
            out.append(self.box_row(idx, ann, box, W, H))
            return
        if ann.score is not None:
            c.scores += 1
        if ann.polygon is not None:
            self.poly_rows(idx, ann.extra, ann.polygon, W, H, out)
            return
        from ... import masks

        mask_to_polygons = getattr(masks, "mask_to_polygons", None)
        if mask_to_polygons is not None:
            parts = mask_to_polygons(ann.mask)
            if parts:
                c.masks_as_polygons += 1
                self.poly_rows(idx, EMPTY, parts, W, H, out)
                return
        from ...masks import rle_bbox

        c.masks_as_boxes += 1
        out.append(self.box_row(idx, ann, box or rle_bbox(ann.mask), W, H))  # type: ignore[arg-type]

    def report_to(self, report: Report) -> None:
        c = self.c
        report.approximated("polygons written as boxes", c.poly_as_boxes, "YOLO detection rows are boxes")
        report.approximated("masks written as boxes", c.masks_as_boxes,
                            "YOLO detection rows are boxes" if self.task == "detect" else "no polygon traced")
        report.approximated("masks written as polygons", c.masks_as_polygons, "YOLO rows hold no RLE")
        report.approximated("multi-part polygons written as one row per part", c.multipart,
                            "a YOLO row holds one ring")
        report.approximated("objects clipped to the image", c.clipped, "YOLO values must be within [0, 1]")
        report.changed("boxes written as 4-point polygons", c.boxes_as_polygons,
                       "segmentation datasets hold one kind of row")
        report.dropped("polygon parts with fewer than 3 points or an odd count of values", c.small_parts)
        plural = {"keypoints": "keypoints", "line": "lines", "point": "points",
                  "classification": "image-level classifications"}
        for kind, n in c.other.items():
            report.dropped(plural[kind], n, "YOLO rows hold boxes and polygons only")
        report.dropped("scores", c.scores, "written only with --yolo-confidence, on box rows")
        report.dropped("object Q&A answers", c.qa, "YOLO has no Q&A")
        report.dropped("object attributes", c.with_attributes, "YOLO has no attributes")
        report.dropped("crowd flags", c.crowd, "YOLO has no iscrowd")
        report.dropped("objects of images of unknown size", c.no_size, "pass --images to read the sizes")


def _find_image(images: Path, name: str, split: str | None) -> Path | None:
    cands = [images / name]
    if split:
        cands += [images / split / name, images / "images" / split / name, images / split / "images" / name]
    cands.append(images / "images" / name)
    for c in cands:
        if c.is_file():
            return c
    return None


def _check_copy(copy_images: str | None, images: str | Path | None, task: str | None) -> str:
    if task is not None and task not in ("detect", "segment", "mixed"):
        raise OptionError(f"task must be detect, segment or mixed, got {task!r}")
    if copy_images is None:
        return "copy"
    if copy_images not in ("copy", "link", "none"):
        raise OptionError(f"copy_images must be copy, link or none, got {copy_images!r}")
    if copy_images != "none" and not images:
        raise PicselliaFormatsError(f"--yolo-images {copy_images} (copy_images={copy_images!r}): needs --images, "
                                    "the folder of the image files to put beside the labels")
    return copy_images


def write(
    dataset: Dataset,
    path: str | Path,
    *,
    images: str | Path | None = None,
    report: Report | None = None,
    task: str | None = None,
    copy_images: str | None = None,
    confidence: bool | None = None,
    progress: bool = False,
) -> None:
    """Write `dataset` as a YOLO folder: ``data.yaml``, ``classes.txt``, ``labels/[<split>/]*.txt``.

    One label file per asset (empty for an asset without objects), in ``labels/<split>/`` when the
    asset has a split tag (train, val, test, ...), else in ``labels/``. `task`: ``detect`` (boxes;
    polygons and masks as their boxes), ``segment`` (polygons; boxes as 4-point polygons, masks
    traced) or ``mixed`` (each object as it is); by default ``segment`` when the dataset holds
    polygons or masks, else ``detect``. `images`: folder of the image files, copied (or hard-linked,
    ``copy_images="link"``) into ``images/[<split>/]``; ``copy_images="none"`` writes labels only.
    Asking for ``copy`` or ``link`` without `images` is an error (nothing to copy); left out, images
    are copied when `images` is given.
    `confidence`: write scores as a 6th value on box rows (default: when the source had them).
    `progress`: a bar over the assets on stderr when it is a terminal.
    """
    copy_images = _check_copy(copy_images, images, task)
    report = report if report is not None else Report()
    report_foreign_fields(dataset, "yolo", report)  # other formats' fields it cannot hold
    meta = dataset.metadata.get("yolo") or {}
    labels = list(dataset.labels)
    known = {label.name for label in labels}
    has_shapes = False
    for asset in dataset.assets:
        for ann in asset.annotations:
            if ann.label not in known:
                known.add(ann.label)
                labels.append(Label(ann.label))
            if not has_shapes and (ann.polygon is not None or ann.mask is not None):
                has_shapes = True
    if task is None:
        task = "segment" if has_shapes else "detect"
    names, index = _class_indexes(labels, report)
    split_tags = frozenset(meta.get("splits", ())) | SPLIT_TAGS
    splits = [_split_of(a, split_tags) for a in dataset.assets]
    any_split = any(s is not None for s in splits)
    unsplit = sum(1 for s in splits if s is None) if any_split else 0
    if unsplit:
        report.info("assets without a split tag written to train", unsplit)
    pairs: Iterable[tuple[Asset, str | None]] = zip(dataset.assets, splits)
    if progress and len(splits) > 1:
        from ...progress import track

        pairs = track(pairs, "writing YOLO files", total=len(splits), unit="file")
    _emit(pairs, Path(path), meta, names, _Writer(index, task, _confidence(confidence, meta)), any_split,
          images, copy_images, report, count_unsplit=False)


def write_stream(
    labels: Iterable[Label],
    metadata: dict[str, Any],
    assets: Iterable[Asset],
    path: str | Path,
    *,
    has_shapes: bool,
    any_split: bool = False,
    images: str | Path | None = None,
    report: Report | None = None,
    task: str | None = None,
    copy_images: str | None = None,
    confidence: bool | None = None,
) -> None:
    """`write` for assets met once (a stream): the same bytes, in memory bounded by one asset.

    What `write` learns by a first pass over the dataset, the stream must tell before its first asset:
    `has_shapes` (some object is a polygon or a mask: the default task) and `any_split` (some asset has a
    split tag). A stream that contradicts them raises FormatError (the output is then not put in place),
    never a silently different output. Labels first met on an object get the next class indexes, as in
    `write`, unless the declared labels carry their own YOLO indexes (then FormatError: pass them all).

    Example:
        >>> import tempfile, os
        >>> from picsellia_formats.model import Annotation, Asset, Label
        >>> out = tempfile.mkdtemp()
        >>> write_stream([Label("cat")], {}, iter([Asset("a.jpg", 10, 10, [Annotation("cat", box=(0, 0, 5, 5))])]),
        ...              out, has_shapes=False)
        >>> open(os.path.join(out, "labels", "a.txt")).read()
        '0 0.25 0.25 0.5 0.5\\n'
    """
    from ...errors import FormatError
    from ...fidelity import ForeignFields

    copy_images = _check_copy(copy_images, images, task)
    report = report if report is not None else Report()
    meta = metadata.get("yolo") or {}
    labels = list(labels)
    tally = ForeignFields("yolo")
    tally.add("dataset", metadata)
    for label in labels:
        tally.add("labels", label.extra)
    if task is None:
        task = "segment" if has_shapes else "detect"
    names, index = _class_indexes(labels, report)
    own_indexes = names != [label.name for label in labels]
    split_tags = frozenset(meta.get("splits", ())) | SPLIT_TAGS
    seen_shapes = False

    def pairs() -> Iterable[tuple[Asset, str | None]]:
        nonlocal seen_shapes
        for asset in assets:
            tally.add("assets", asset.extra)
            for ann in asset.annotations:
                if ann.extra:
                    tally.add("objects", ann.extra)
                if ann.label not in index:
                    if own_indexes:
                        raise FormatError(f"label {ann.label!r} is not among the stream's labels, whose YOLO "
                                          "class indexes are fixed", record=asset.file_name)
                    index[ann.label] = len(names)
                    names.append(ann.label)
                if not seen_shapes and (ann.polygon is not None or ann.mask is not None):
                    seen_shapes = True
            split = _split_of(asset, split_tags)
            if split is not None and not any_split:
                raise FormatError("an asset has a split tag but the stream said none has (any_split=False)",
                                  record=asset.file_name)
            yield asset, split

    _emit(pairs(), Path(path), meta, names, _Writer(index, task, _confidence(confidence, meta)), any_split,
          images, copy_images, report)
    if seen_shapes != has_shapes:
        raise FormatError(f"the stream said has_shapes={has_shapes} but its objects say {seen_shapes}")
    tally.report_to(report)


def _confidence(confidence: bool | None, meta: dict[str, Any]) -> bool:
    return bool(meta.get("confidence")) if confidence is None else confidence


def _emit(pairs: Iterable[tuple[Asset, str | None]], out: Path, meta: dict[str, Any], names: list[str],
          writer: _Writer, any_split: bool, images: str | Path | None, copy_images: str, report: Report,
          count_unsplit: bool = True) -> None:
    """Write the label files of `pairs` (asset, split tag), then data.yaml, classes.txt and the report."""
    out.mkdir(parents=True, exist_ok=True)
    nl = "\r\n" if meta.get("newline") == "\r\n" else "\n"
    images_dir = Path(images) if images and copy_images != "none" else None
    c = writer.c
    made: set[str] = set()
    taken: set[str] = set()
    sizes: dict[str, list[Any]] = {}
    renamed: list[str] = []
    seen_splits: set[str] = set()
    missing_images = unsplit = 0
    extra_tags = statuses = image_qa = 0
    root = str(out)
    labels_root = root + "/labels/"
    images_root = root + "/images/"
    os.makedirs(labels_root, exist_ok=True)  # even with no assets: data.yaml's sets resolve to it on read
    with gc_paused():
        for asset, split in pairs:
            if any_split and split is None:
                split = "train"
                unsplit += 1
            if split is not None:
                seen_splits.add(split)
            name = _out_name(asset.file_name)
            rel = f"{split}/{name}" if split else name
            stem = _stem(rel)
            if stem in taken:
                stem, rel = _rename(stem, rel, taken)
                renamed.append(f"{asset.file_name} -> {rel}")
            taken.add(stem)
            folder = stem[:stem.rfind("/") + 1]
            if folder not in made:
                os.makedirs(labels_root + folder, exist_ok=True)
                made.add(folder)
            W, H = asset.width, asset.height
            if (not W or not H) and images:
                src = _find_image(Path(images), name, split)
                if src is not None:
                    W, H = image_size(src)
            if asset.annotations and W and H:
                rows = writer.rows(asset, W, H)
                text = nl.join(rows) + nl if rows else ""
            else:
                c.no_size += len(asset.annotations)
                text = ""
            write_bytes(labels_root + stem + ".txt", text.encode())
            src = _find_image(images_dir, name, split) if images_dir is not None else None
            if src is not None:
                _put_image(src, images_root + rel, copy_images)
            else:
                missing_images += images_dir is not None
                if W and H:
                    wh = [name, round(W), round(H)]
                    sizes[stem] = [*wh, split] if split else wh
            if asset.tags and len(asset.tags) > (1 if split in asset.tags else 0):
                extra_tags += 1
            if asset.status:
                statuses += 1
            if asset.qa:
                image_qa += len(asset.qa)
    if unsplit and count_unsplit:
        report.info("assets without a split tag written to train", unsplit)

    split_dirs: dict[str, list[str]] = {}
    if any_split:
        for s in sorted(seen_splits, key=_split_rank):
            key = YAML_KEY.get(s.lower(), s)
            split_dirs.setdefault(key, []).append(f"images/{s}")
    else:
        split_dirs = {"train": ["images"], "val": ["images"]}
    yaml_extra = meta.get("yaml") if isinstance(meta.get("yaml"), dict) else {}
    with open(out / "data.yaml", "w", encoding="utf-8", newline="") as f:
        f.write(_yaml_text(names, split_dirs, yaml_extra))
    if all("\n" not in n and "\r" not in n and n.strip() == n and n for n in names):
        with open(out / "classes.txt", "w", encoding="utf-8", newline="") as f:
            f.write("".join(n + nl for n in names))
    else:
        report.info("classes.txt not written", why="a class name has a line break or edge spaces")

    if sizes:
        import orjson

        with open(out / SIZES_FILE, "wb") as f:
            f.write(orjson.dumps(sizes))
    writer.report_to(report)
    if renamed:
        report.changed("file names changed to keep label files apart", len(renamed),
                       "two images share a stem", example=renamed[0])
    if missing_images:
        report.info("images not found in the images folder, not copied", missing_images)
    report.dropped("asset tags other than the split", extra_tags, "YOLO has no tags")
    report.dropped("asset statuses", statuses, "YOLO has no review status")
    report.dropped("image Q&A answers", image_qa, "YOLO has no Q&A")


def _split_rank(s: str) -> tuple[int, str]:
    order = {"train": 0, "training": 0, "val": 1, "valid": 1, "validation": 1, "test": 2, "testing": 2}
    return (order.get(s.lower(), 3), s)


def _rename(stem: str, rel: str, taken: set[str]) -> tuple[str, str]:
    ext = rel[len(stem):]
    base = f"{stem}_{ext.lstrip('.')}" if ext else f"{stem}_"
    new, i = base, 2
    while new in taken:
        new, i = f"{base}{i}", i + 1
    return new, new + ext


def _put_image(src: Path, dst: str, mode: str) -> None:
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    if mode == "link":
        try:
            os.link(src, dst)
            return
        except OSError:
            pass
    shutil.copyfile(src, dst)


def _class_indexes(labels: Iterable[Label], report: Report) -> tuple[list[str], dict[str, int]]:
    """Class names in index order and the index of each label name."""
    labels = list(labels)
    wanted = [label.extra.get("yolo", {}).get("index") if label.extra else None for label in labels]
    if all(type(i) is int and i >= 0 for i in wanted) and len(set(wanted)) == len(wanted) and labels:
        names = [""] * (max(wanted) + 1)  # type: ignore[type-var]
        for label, i in zip(labels, wanted):
            names[i] = label.name  # type: ignore[index]
        gaps = [i for i, n in enumerate(names) if not n]
        if not gaps:
            return names, {label.name: i for label, i in zip(labels, wanted)}  # type: ignore[misc]
        report.changed("class indexes renumbered", len(labels), "YOLO names are a list without gaps")
    names = [label.name for label in labels]
    return names, {n: i for i, n in enumerate(names)}


