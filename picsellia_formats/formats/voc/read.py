"""read."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    pass

from ...errors import FormatError, ProblemCollector
from ...images import BrokenImage, ImageIndex
from ...inputs import read_input
from ...io_utils import gc_paused
from ...model import EMPTY, Annotation, Asset, Dataset, Label
from ...report import Report
from .detect import isfinite, locate
from .layout import (
    add_listed_images,
    attach_images,
    file_stem,
    image_assets,
    images_beside,
    read_image_sets,
    tag_split_folders,
)
from .render import (
    CORNER_LIST,
    CORNER_SET,
    CORNERS,
    FLAGS,
    OBJECT_ORDER,
    SIZE_ORDER,
    TOP_SINGLE,
    Counts,
    corner_texts,
    number,
    render_asset,
)
from .xml import (
    Style,
    element_value,
    local,
    new_parser,
    parse,
    typed,
)


class _Interned:
    """Shares equal layout values (styles, element orders, read-only extras) between files."""

    def __init__(self) -> None:
        self.values: dict[Any, Any] = {}

    def __call__(self, value: Any) -> Any:
        return self.values.setdefault(value, value)

    @staticmethod
    def _key(items: tuple[tuple[str, Any], ...]) -> tuple[Any, ...]:
        return tuple((k, ("mapping", tuple(v.items())) if isinstance(v, MappingProxyType) else v) for k, v in items)

    def mapping(self, items: tuple[tuple[str, Any], ...]) -> Mapping[str, Any]:
        key = ("mapping", self._key(items))
        found = self.values.get(key)
        if found is None:
            found = self.values[key] = MappingProxyType(dict(items))
        return found

    def extra(self, items: tuple[tuple[str, Any], ...]) -> Mapping[str, Any]:
        """A shared read-only ``{"voc": {...items}}``."""
        key = ("extra", self._key(items))
        found = self.values.get(key)
        if found is None:
            found = self.values[key] = MappingProxyType({"voc": self.mapping(items)})
        return found


# ----------------------------------------------------------------------------------------------- read


def _record(el: Any, index: int) -> str:
    return f"object {index} (line {el.sourceline})"


def _plain_int(text: str) -> bool:
    """Whether `text` is how the writer prints a whole number (digits, no sign, no leading zero)."""
    return text.isdigit() and text.isascii() and (text[0] != "0" or len(text) == 1)


def _canonical(v: float) -> str | None:
    """How the writer prints `v` when it is a whole number, else None."""
    return str(int(v)) if v.is_integer() else None


def _put(values: dict[str, Any], key: str, value: Any) -> None:
    if key in values:
        prev = values[key]
        if type(prev) is list:
            prev.append(value)
        else:
            values[key] = [prev, value]
    else:
        values[key] = value


class _Reader:
    """Reads one file after another into assets; state shared across files (interning, labels)."""

    def __init__(self, shift: float, problems: ProblemCollector, report: Report) -> None:
        self.shift = shift
        self.problems = problems
        self.report = report
        self.parser = new_parser()
        self.intern = _Interned()
        self.labels: dict[str, None] = {}
        self.wrong_root: list[str] = []

    # ---- objects

    def read_object(self, el: Any, index: int, file: str) -> Annotation | None:
        problems = self.problems
        name = None
        box = None
        texts = None
        bb_order = bb_extra = None
        attrs: dict[str, Any] = {}
        order: list[str] = []
        cvat: list[str] | None = None
        ok = True
        for child in el:
            tag = child.tag
            if type(tag) is not str:
                continue
            if tag[0] == "{":
                tag = local(tag)
            order.append(tag)
            if tag == "bndbox":
                if box is not None:
                    problems.add(_record(el, index), "more than one <bndbox>", file=file)
                    ok = False
                    continue
                values: dict[str, str | None] = {}
                bb_list: list[str] = []
                for c in child:
                    t = c.tag
                    if type(t) is not str:
                        continue
                    if t[0] == "{":
                        t = local(t)
                    bb_list.append(t)
                    if t in values:
                        problems.add(f"{_record(el, index)}: line {c.sourceline}",
                                     f"more than one <{t}> in <bndbox>", file=file)
                        ok = False
                    elif t in CORNER_SET:
                        values[t] = c.text
                    else:
                        if bb_extra is None:
                            bb_extra = {}
                        _put(bb_extra, t, element_value(c))
                if len(values) != 4:
                    missing = [k for k in CORNERS if k not in values]
                    problems.add(f"{_record(el, index)}: line {child.sourceline}",
                                 f"<bndbox> lacks {', '.join(f'<{k}>' for k in missing)}", file=file)
                    ok = False
                    box = ()
                    continue
                raw = (values["xmin"], values["ymin"], values["xmax"], values["ymax"])
                try:
                    x0, y0, x1, y1 = float(raw[0]), float(raw[1]), float(raw[2]), float(raw[3])  # type: ignore
                    if not isfinite(x0) or not isfinite(y0) or not isfinite(x1) or not isfinite(y1):
                        raise ValueError
                except (TypeError, ValueError):
                    bad = next(k for k, t in zip(CORNERS, raw) if number(t) is None)
                    problems.add(f"{_record(el, index)}: line {child.sourceline}",
                                 f"<{bad}> is not a finite number: {values[bad]!r}", file=file)
                    ok = False
                    box = ()
                    continue
                if not (_plain_int(raw[0]) and _plain_int(raw[1]) and _plain_int(raw[2])  # type: ignore
                        and _plain_int(raw[3])):  # type: ignore[arg-type]
                    texts = raw
                shift = self.shift
                box = (x0 - shift, y0 - shift, x1 - x0, y1 - y0)
                if len(bb_list) != 4 or bb_list != CORNER_LIST:
                    bb_order = self.intern(tuple(bb_list))
            elif tag == "name":
                if name is not None:
                    problems.add(_record(el, index), "more than one <name>", file=file)
                    ok = False
                name = (child.text or "").strip()
            elif tag in FLAGS and not len(child) and not child.items():
                _put(attrs, tag, typed(child.text))
            elif tag == "attributes":
                if cvat is None:
                    cvat = []
                for a in child:
                    if type(a.tag) is not str:
                        continue
                    key = value = None
                    for c in a:
                        t = c.tag
                        if t == "name":
                            key = (c.text or "").strip()
                        elif t == "value":
                            value = typed(c.text)
                    if local(a.tag) != "attribute" or not key:
                        problems.add(f"{_record(el, index)}: line {a.sourceline}",
                                     "a CVAT <attributes> entry must be <attribute> with a <name>", file=file)
                        ok = False
                        continue
                    attrs[key] = value if value is not None else ""
                    if key not in cvat:
                        cvat.append(key)
            elif tag == "pose":
                _put(attrs, tag, element_value(child, False))
            else:
                _put(attrs, tag, element_value(child))
        if not ok or box == ():
            return None
        if name is None or not name:
            problems.add(_record(el, index), "object without a <name>" if name is None else "empty <name>", file=file)
            return None
        if box is None:
            problems.add(_record(el, index), "object without a <bndbox>", file=file)
            return None
        self.labels[name] = None
        voc: list[tuple[str, Any]] = []
        if len(order) != 5 or tuple(order) != OBJECT_ORDER:
            voc.append(("order", self.intern(tuple(order))))
        if bb_order is not None:
            voc.append(("bndbox_order", bb_order))
        if cvat:
            voc.append(("cvat", self.intern(tuple(cvat))))
        if el.attrib:
            voc.append(("attrib", self.intern.mapping(tuple((local(k), v) for k, v in el.attrib.items()))))
        if texts is None and bb_extra is None:
            extra = self.intern.extra(tuple(voc)) if voc else EMPTY
        else:
            d = dict(voc)
            if texts is not None:
                d["bndbox"] = texts
            if bb_extra is not None:
                d["bndbox_extra"] = bb_extra
            extra = {"voc": d}
        return Annotation(name, box, None, None, None, None, None, None, 0, None, None, attrs or EMPTY, (), extra)

    # ---- files

    def read_file(self, data: bytes, file: str, rel: str) -> Asset | None:
        """The asset of one XML file, or None (problems recorded) when it cannot be read."""
        root = parse(data, self.parser, file)
        if local(root.tag) != "annotation":
            self.wrong_root.append(str(file))
            return None
        problems = self.problems
        before = problems.count
        voc: dict[str, Any] = {}
        metadata: dict[str, Any] = {}
        order: list[str] = []
        anns: list[Annotation] = []
        filename: str | None = None
        width = height = None
        seen: set[str] = set()
        n_objects = 0
        for child in root:
            tag = child.tag
            if type(tag) is not str:
                continue
            if tag[0] == "{":
                tag = local(tag)
            order.append(tag)
            if tag == "object":
                ann = self.read_object(child, n_objects, file)
                n_objects += 1
                if ann is not None:
                    anns.append(ann)
                continue
            if tag in TOP_SINGLE:
                if tag in seen:
                    problems.add(f"line {child.sourceline}", f"more than one <{tag}>", file=file)
                    continue
                seen.add(tag)
                if tag == "filename":
                    filename = (child.text or "").strip()
                elif tag == "size":
                    width, height = self._read_size(child, file, voc)
                elif tag == "segmented":
                    voc[tag] = typed(child.text) if not len(child) else element_value(child)
                else:  # folder, path, source
                    voc[tag] = element_value(child, False)
            else:
                _put(metadata, tag, element_value(child))
        if problems.count > before:
            return None
        voc["order"] = self.intern(tuple(order))
        if root.attrib:
            voc["root"] = self.intern.mapping(tuple((local(k), v) for k, v in root.attrib.items()))
        voc["style"] = self.intern(_style_of(data))
        if filename:
            if rel != file_stem(filename):
                voc["xml"] = rel
        else:
            voc["xml"] = rel
        asset = Asset(filename or "", width, height, anns, None, None, None, metadata or EMPTY, (), {"voc": voc})
        return asset

    def _read_size(self, el: Any, file: str, voc: dict[str, Any]) -> tuple[Any, Any]:
        width = height = None
        size_order: list[str] = []
        for c in el:
            t = c.tag
            if type(t) is not str:
                continue
            if t[0] == "{":
                t = local(t)
            size_order.append(t)
            if t == "width" or t == "height":
                text = c.text
                v = number(text)
                if v is None or v < 0:
                    self.problems.add(f"line {c.sourceline}",
                                      f"<{t}> must be a non-negative number, got {text!r}", file=file)
                    continue
                value = int(v) if v.is_integer() else v
                if not value or _canonical(v) != text:
                    voc.setdefault("texts", {})[t] = text
                if not value:
                    value = None  # 0 means unknown
                if t == "width":
                    width = value
                else:
                    height = value
            elif t == "depth":
                voc["depth"] = typed(c.text) if not len(c) else element_value(c)
            else:
                _put(voc.setdefault("size_extra", {}), t, element_value(c))
        if tuple(size_order) != SIZE_ORDER:
            voc["size_order"] = self.intern(tuple(size_order))
        return width, height


def _style_of(data: bytes) -> Style:
    """What surrounds the elements: bytes before the root, encoding, newline, indent, bytes after."""
    start = data.find(b"<annotation")
    if start < 0:
        start = data.find(b"<")
    prefix = data[:start] if start > 0 else b""
    encoding = "utf-8"
    if prefix:
        m = re.search(rb"""encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""", prefix)
        if m:
            encoding = m.group(1).decode("ascii").lower()
            try:
                "".encode(encoding)
            except LookupError:
                encoding = "utf-8"
    end = data.rfind(b">") + 1
    trailing = data[end:]
    nl = "\r\n" if b"\r\n" in data else "\n"
    ind = "\t"
    first = data.find(b">", start) + 1
    nxt = data.find(b"<", first)
    if first > 0 and nxt > first:
        gap = data[first:nxt]
        if b"\n" in gap:
            ind = gap[gap.rfind(b"\n") + 1:].decode("ascii", "replace")
        else:
            nl, ind = "", ""
    return (prefix, encoding, nl, ind, trailing)


def read(
    path: str | Path,
    *,
    images: str | Path | None = None,
    report: Report | None = None,
    one_based: bool = False,
    masks: str = "rle",
    progress: bool = False,
    include_unlabelled: bool = False,
    broken_images: list[BrokenImage] | None = None,
) -> Dataset:
    """Read a VOC XML file, a folder of them, a devkit folder, or a segmentation-only devkit.

    A dataset is what its XML files (and ``ImageSets`` lists) declare: `images` (the devkit's
    ``JPEGImages/`` by default, else the XMLs' own folder) gives sizes missing or zero in the XML;
    the images no XML names are counted in the report and added as assets with no objects only
    with `include_unlabelled`. XMLs in split folders (``train/``, ``valid/``: Roboflow's export)
    get the folder's split as a tag. A devkit without ``Annotations/`` (labelme2voc:
    ``JPEGImages/`` + segmentation PNGs) is read from its images and PNGs. `one_based`: the corners follow
    the devkit's 1-based pixel convention; each is shifted by -1 (``x = xmin - 1``).
    `masks`: how the devkit's ``SegmentationObject``/``SegmentationClass`` PNGs are read, if any:
    ``rle`` (default), ``polygon`` or ``none`` (see `segmentation`). `progress`: a bar over the
    XML files on stderr when it is a terminal. `broken_images`: a list to which each image whose header
    cannot be read (for a size the XML lacks) is appended (a `BrokenImage`: its asset is kept without a
    size) instead of failing; the validator's hook, not a format option.
    Raises FormatError naming the file and line of every problem (up to 20).
    """
    path = Path(path)
    report = report if report is not None else Report()
    src = locate(path)
    problems = ProblemCollector()
    reader = _Reader(1.0 if one_based else 0.0, problems, report)
    keyed: list[tuple[str, Asset]] = []
    with gc_paused():
        for rel, file in _tracked(src.files, f"reading {path.name}", progress):
            try:
                data = read_input(file)  # a FIFO, device or dangling link: a problem naming it
            except FormatError as exc:
                problems.extend(exc)
                continue
            except OSError as exc:
                problems.add(None, f"cannot read: {exc.strerror or exc}", file=file)
                continue
            try:
                asset = reader.read_file(data, file, rel)
            except FormatError as exc:
                problems.extend(exc)
                continue
            if asset is None:
                continue
            _keep_bytes_if_needed(asset, data, one_based)
            keyed.append((rel, asset))
    problems.raise_if_any()
    if reader.wrong_root:
        if src.kind == "file":
            raise FormatError("not a VOC file: the root element is not <annotation>", file=path)
        report.info("XML files skipped (root element is not <annotation>)", len(reader.wrong_root),
                    example=reader.wrong_root[0])
    if src.kind == "folder":
        tag_split_folders(keyed)
    image_dir = Path(images) if images else src.image_dir
    if image_dir is None and src.kind == "folder" and any(True for _ in images_beside(src.ann_dir)):
        image_dir = src.ann_dir
    if src.kind == "segmentation":
        keyed = image_assets(src, image_dir)
        include_unlabelled = False
    if image_dir is not None and image_dir.is_dir():
        index = ImageIndex(image_dir, src.ann_dir.parent)
        if src.sets_dir is not None and src.kind == "devkit":
            keyed = add_listed_images(keyed, src.sets_dir, index, report, broken_images)
        keyed = attach_images(keyed, index, report, include_unlabelled, broken_images)
    for rel, asset in keyed:
        voc = asset.extra.get("voc") if asset.extra else None
        if voc is not None and voc.get("filename_made") is None and not asset.file_name:
            asset.file_name = rel + ".jpg"
            voc["filename_made"] = asset.file_name
            report.info("XML files without a <filename>: image name made from the XML name", example=rel)
    if src.sets_dir is not None:
        read_image_sets(src.sets_dir, dict(keyed), report)
    labels = [Label(name) for name in reader.labels]
    dataset = Dataset(labels, [a for _, a in keyed], {"voc": {"layout": src.kind}})
    if src.kind in ("devkit", "segmentation") and masks != "none":
        from .segmentation import read_segmentation

        root = src.ann_dir.parent if src.kind == "devkit" else src.ann_dir
        if read_segmentation(dataset, root, report, mode=masks, stems=[rel for rel, _ in keyed]):
            dataset.metadata["voc"]["segmentation"] = True  # VOC -> VOC writes the PNGs back
    return dataset


def _tracked(files: list[tuple[str, str]], desc: str, progress: bool) -> Iterable[tuple[str, str]]:
    if not progress or len(files) < 2:
        return files
    from ...progress import track

    return track(files, desc, unit="file")


def _keep_bytes_if_needed(asset: Asset, data: bytes, one_based: bool) -> None:
    """When rendering the asset does not give the source bytes back (odd spacing, comments,
    entities...), keep the source bytes with a fingerprint of the rendering: the writer uses them
    as long as the asset renders to the same thing (i.e. is unchanged)."""
    rendered = render_asset(asset, _objects_quiet(asset, one_based), None)
    if rendered != data:
        voc = asset.extra["voc"]
        voc["raw"] = data
        voc["render"] = hash(rendered)


def _objects_quiet(asset: Asset, one_based: bool) -> list[tuple[Annotation, tuple[str, ...]]]:
    counts = Counts()
    shift = 1.0 if one_based else 0.0
    out = []
    for ann in asset.annotations:
        corners = corner_texts(ann.box, ann.extra, shift, counts)  # type: ignore[arg-type]
        if corners is not None:
            out.append((ann, corners))
    return out
