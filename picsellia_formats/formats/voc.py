"""Pascal VOC: one XML per image, flat or in the devkit layout, read and written without loss.

Layouts read: a single ``.xml`` file; a folder of XML files (searched recursively; when the
folder holds none, its ``annotations``/``Annotations`` child); the devkit layout
(``Annotations/``, ``JPEGImages/``, ``ImageSets/Main/<split>.txt``, whose one-column lists become
asset tags). Every element the devkit, labelImg and CVAT write is kept:

* image: ``filename`` -> ``Asset.file_name``; ``size/width``, ``size/height`` -> the asset size;
  ``folder``, ``path``, ``source``, ``size/depth``, ``segmented`` and the root's XML attributes
  (labelImg's ``verified="yes"``) -> ``Asset.extra["voc"]``; unknown elements -> ``Asset.metadata``.
* object: ``name`` -> the label; ``bndbox`` -> the box; ``pose``, ``truncated``, ``difficult``,
  ``occluded``, CVAT's ``<attributes>`` entries, ``part``, ``actions`` and unknown elements ->
  ``Annotation.attributes`` (numbers as numbers, nested elements as dicts, repeated ones as lists).

Coordinates are the corners as they stand (``x = xmin``, ``w = xmax - xmin``); ``one_based=True``
applies the devkit's 1-based convention, shifting every corner by one on read and back on write.
What the model has no field for (element order, indentation, number spelling, XML declaration) is
kept in ``extra["voc"]`` so that an unchanged file is written back byte for byte; data coming from
other formats is written as a clean labelImg-style file (tab indented, integers rounded to nearest).

Example:
    >>> ds = read("fixtures/voc_toy_cats/gts_vocpascal_format", images="fixtures/voc_toy_cats/images")
    >>> len(ds), ds.num_annotations, ds.label_names
    (12, 12, ['cat'])
    >>> ds.assets[0].annotations[0].box, dict(ds.assets[0].annotations[0].attributes)
    ((1.0, 49.0, 340.0, 450.0), {'pose': 'Unspecified', 'truncated': 1, 'difficult': 0})
"""

from __future__ import annotations

import math
import os
import re
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor

from ..errors import MAX_PROBLEMS, FormatError, Problem
from ..fidelity import report_foreign_fields
from ..geometry import annotation_bbox
from ..images import IMAGE_EXTENSIONS, image_size
from ..io_utils import gc_paused, safe_relative_path
from ..model import EMPTY, Annotation, Asset, Dataset, Label
from ..report import Report
from . import FormatSpec, Option
from ._voc_render import (
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
from ._voc_xml import (
    Style,
    element_value,
    local,
    new_parser,
    parse,
    typed,
)

_XML_SUFFIX = ".xml"
_HEAD = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]*\?>)?\s*(?:<!--.*?-->\s*)*<(?:\w+:)?annotation[\s>/]",
                   re.DOTALL)
_isfinite = math.isfinite
_floor = math.floor


class _Problems:
    """Problems across many files, raised together (up to MAX_PROBLEMS shown)."""

    def __init__(self) -> None:
        self.items: list[Problem] = []
        self.count = 0

    def add(self, file: Any, record: str | None, message: str) -> None:
        self.count += 1
        if len(self.items) < MAX_PROBLEMS:
            self.items.append(Problem(message, str(file), record))

    def add_error(self, exc: FormatError) -> None:
        for p in exc.problems:
            self.add(p.file, p.record, p.message)
        self.count += exc.more

    def raise_if_any(self) -> None:
        if self.count:
            first = self.items[0]
            raise FormatError(first.message, file=first.file, record=first.record, problems=self.items,
                              more=self.count - len(self.items))


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


# --------------------------------------------------------------------------------------------- detect


def _walk_files(folder: Path | str) -> Iterator[tuple[str, os.DirEntry[str]]]:
    """(relative folder prefix ending in "/", entry) of every file under `folder`, hidden folders
    skipped, unreadable folders passed over (os.scandir: no stat per file)."""
    stack = [("", str(folder))]
    root = os.path.realpath(folder)
    linked = {root}
    while stack:
        prefix, d = stack.pop()
        try:
            entries = list(os.scandir(d))
        except OSError:
            continue
        for e in entries:
            if e.is_dir():
                if e.name.startswith("."):
                    continue
                if e.is_symlink():  # followed once, unless it points at the folder or above (a loop)
                    real = os.path.realpath(e.path)
                    if real in linked or root.startswith(real + os.sep):
                        continue
                    linked.add(real)
                stack.append((prefix + e.name + "/", e.path))
            else:
                yield prefix, e


def _xml_files(folder: Path) -> list[tuple[str, str]]:
    """(relative stem, path) of every .xml file under `folder`, sorted by relative path."""
    out = [(prefix + e.name[:-4], e.path) for prefix, e in _walk_files(folder)
           if e.name[-4:].lower() == _XML_SUFFIX and e.is_file()]
    out.sort()
    return out


def _has_xml(folder: Path) -> bool:
    try:
        return any(e.name[-4:].lower() == _XML_SUFFIX and e.is_file() for e in os.scandir(folder))
    except OSError:
        return False


def _child(folder: Path, name: str, exact: bool = False) -> Path | None:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return None
    for e in entries:
        if (e.name == name if exact else e.name.lower() == name.lower()) and e.is_dir():
            return Path(e.path)
    return None


class _Source:
    """Where the XML files, images and split lists of an input are."""

    def __init__(self, kind: str, ann_dir: Path, files: list[tuple[str, str]], image_dir: Path | None,
                 sets_dir: Path | None) -> None:
        self.kind = kind
        self.ann_dir = ann_dir
        self.files = files
        self.image_dir = image_dir
        self.sets_dir = sets_dir


def _locate(path: Path) -> _Source:
    if path.is_file():
        return _Source("file", path.parent, [(path.stem, str(path))], None, None)
    if not path.is_dir():
        raise FormatError("no such file or folder", file=path)
    ann = _child(path, "Annotations", exact=True)
    if ann is not None and not _has_xml(path):
        sets = path / "ImageSets" / "Main"
        jpeg = path / "JPEGImages"
        return _Source("devkit", ann, _xml_files(ann), jpeg if jpeg.is_dir() else None,
                       sets if sets.is_dir() else None)
    if not _has_xml(path):
        sub = _child(path, "annotations")
        if sub is not None and _has_xml(sub):
            return _Source("folder", sub, _xml_files(sub), None, None)
    files = _xml_files(path)
    if not files:
        raise FormatError("no .xml file in the folder (nor in an Annotations/ child)", file=path)
    return _Source("folder", path, files, None, None)


def _sniff(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError:
        return False
    return _HEAD.match(head) is not None


def detect(path: Path) -> tuple[float, str]:
    """Confidence that `path` is Pascal VOC: an XML file whose root is ``<annotation>``, or a folder
    (or its Annotations/ child) of such files (a few are sampled; folder names alone decide nothing)."""
    if path.is_file():
        if path.suffix.lower() != _XML_SUFFIX:
            return 0.0, f"{path.name} is not an .xml file"
        if _sniff(path):
            return 0.9, "an XML file whose root is <annotation>"
        return 0.0, "an XML file whose root is not <annotation>"
    try:
        src = _locate(path)
    except (FormatError, OSError):
        return 0.0, "no .xml file in the folder or its Annotations/ child"
    files = src.files
    step = max(1, len(files) // 5)
    sample = [Path(p) for _, p in files[::step][:5]]
    hits = sum(_sniff(p) for p in sample)
    where = "" if src.ann_dir == path else f" in {src.ann_dir.name}/"
    if hits == len(sample):
        layout = " (devkit layout)" if src.kind == "devkit" else ""
        return 0.85, f"{len(files)} .xml files{where}, {hits} sampled all rooted at <annotation>{layout}"
    if hits:
        return 0.4, f"{hits} of {len(sample)} sampled .xml files{where} are rooted at <annotation>"
    return 0.0, f"none of {len(sample)} sampled .xml files{where} is rooted at <annotation>"


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

    def __init__(self, shift: float, problems: _Problems, report: Report) -> None:
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
                    problems.add(file, _record(el, index), "more than one <bndbox>")
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
                        problems.add(file, f"{_record(el, index)}: line {c.sourceline}",
                                     f"more than one <{t}> in <bndbox>")
                        ok = False
                    elif t in CORNER_SET:
                        values[t] = c.text
                    else:
                        if bb_extra is None:
                            bb_extra = {}
                        _put(bb_extra, t, element_value(c))
                if len(values) != 4:
                    missing = [k for k in CORNERS if k not in values]
                    problems.add(file, f"{_record(el, index)}: line {child.sourceline}",
                                 f"<bndbox> lacks {', '.join(f'<{k}>' for k in missing)}")
                    ok = False
                    box = ()
                    continue
                raw = (values["xmin"], values["ymin"], values["xmax"], values["ymax"])
                try:
                    x0, y0, x1, y1 = float(raw[0]), float(raw[1]), float(raw[2]), float(raw[3])  # type: ignore
                    if not _isfinite(x0) or not _isfinite(y0) or not _isfinite(x1) or not _isfinite(y1):
                        raise ValueError
                except (TypeError, ValueError):
                    bad = next(k for k, t in zip(CORNERS, raw) if number(t) is None)
                    problems.add(file, f"{_record(el, index)}: line {child.sourceline}",
                                 f"<{bad}> is not a finite number: {values[bad]!r}")
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
                    problems.add(file, _record(el, index), "more than one <name>")
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
                        problems.add(file, f"{_record(el, index)}: line {a.sourceline}",
                                     "a CVAT <attributes> entry must be <attribute> with a <name>")
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
            problems.add(file, _record(el, index), "object without a <name>" if name is None else "empty <name>")
            return None
        if box is None:
            problems.add(file, _record(el, index), "object without a <bndbox>")
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
                    problems.add(file, f"line {child.sourceline}", f"more than one <{tag}>")
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
            if rel != _stem(filename):
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
                    self.problems.add(file, f"line {c.sourceline}",
                                      f"<{t}> must be a non-negative number, got {text!r}")
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


def _stem(name: str) -> str:
    """``a/b.jpg`` -> ``a/b`` (only the last component's last suffix goes)."""
    slash = max(name.rfind("/"), name.rfind("\\"))
    dot = name.rfind(".")
    return name[:dot] if dot > slash + 1 else name


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


def _read_image_sets(sets_dir: Path, by_stem: dict[str, Asset], report: Report) -> None:
    class_lists = unknown = 0
    for path in sorted(p for p in sets_dir.iterdir() if p.suffix.lower() == ".txt" and p.is_file()):
        try:
            rows = [line.split() for line in path.read_text(encoding="utf-8", errors="replace").splitlines()]
        except OSError as exc:
            raise FormatError(f"cannot read: {exc.strerror or exc}", file=path) from None
        rows = [r for r in rows if r]
        if any(len(r) != 1 for r in rows):
            class_lists += 1
            continue
        tag = path.stem
        for (image_id,) in rows:
            asset = by_stem.get(image_id)
            if asset is None:
                unknown += 1
                continue
            if tag not in asset.tags:
                asset.tags.append(tag)
    if class_lists:
        report.info("ImageSets/Main per-class lists ignored", class_lists,
                    "they restate which images hold each class; the objects say it")
    if unknown:
        report.info("ImageSets/Main ids without an XML or image ignored", unknown)


def read(
    path: str | Path,
    *,
    images: str | Path | None = None,
    report: Report | None = None,
    one_based: bool = False,
    masks: str = "rle",
    progress: bool = False,
) -> Dataset:
    """Read a VOC XML file, a folder of them, or a devkit folder.

    `images` (the devkit's ``JPEGImages/`` by default) gives sizes missing or zero in the XML and
    adds every image without an XML as an asset with no objects. `one_based`: the corners follow
    the devkit's 1-based pixel convention; each is shifted by -1 (``x = xmin - 1``).
    `masks`: how the devkit's ``SegmentationObject``/``SegmentationClass`` PNGs are read, if any:
    ``rle`` (default), ``polygon`` or ``none`` (see `voc_segmentation`). `progress`: a bar over the
    XML files on stderr when it is a terminal.
    Raises FormatError naming the file and line of every problem (up to 20).
    """
    path = Path(path)
    report = report if report is not None else Report()
    src = _locate(path)
    problems = _Problems()
    reader = _Reader(1.0 if one_based else 0.0, problems, report)
    keyed: list[tuple[str, Asset]] = []
    with gc_paused():
        for rel, file in _tracked(src.files, f"reading {path.name}", progress):
            try:
                with open(file, "rb") as f:
                    data = f.read()
            except OSError as exc:
                problems.add(file, None, f"cannot read: {exc.strerror or exc}")
                continue
            try:
                asset = reader.read_file(data, file, rel)
            except FormatError as exc:
                problems.add_error(exc)
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
    image_dir = Path(images) if images else src.image_dir
    if image_dir is not None:
        keyed = _attach_images(keyed, image_dir, report)
    for rel, asset in keyed:
        voc = asset.extra.get("voc") if asset.extra else None
        if voc is not None and voc.get("filename_made") is None and not asset.file_name:
            asset.file_name = rel + ".jpg"
            voc["filename_made"] = asset.file_name
            report.info("XML files without a <filename>: image name made from the XML name", example=rel)
    if src.sets_dir is not None:
        _read_image_sets(src.sets_dir, dict(keyed), report)
    labels = [Label(name) for name in reader.labels]
    dataset = Dataset(labels, [a for _, a in keyed], {"voc": {"layout": src.kind}})
    if src.kind == "devkit" and masks != "none":
        from .voc_segmentation import read_segmentation

        read_segmentation(dataset, src.ann_dir.parent, report, mode=masks, stems=[rel for rel, _ in keyed])
    return dataset


def _tracked(files: list[tuple[str, str]], desc: str, progress: bool) -> Iterable[tuple[str, str]]:
    if not progress or len(files) < 2:
        return files
    from ..progress import track

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


def _attach_images(keyed: list[tuple[str, Asset]], image_dir: Path, report: Report) -> list[tuple[str, Asset]]:
    """Fill missing sizes from image headers; add images without an XML as empty assets."""
    by_stem: dict[str, Path] = {}
    by_base: dict[str, Path | None] = {}
    for prefix, e in _walk_files(image_dir):
        name = e.name
        dot = name.rfind(".")
        if dot <= 0 or name[dot:].lower() not in IMAGE_EXTENSIONS:
            continue
        key = prefix + name[:dot]
        if key in by_stem:
            continue
        by_stem[key] = Path(e.path)
        base = name[:dot]
        by_base[base] = None if base in by_base else Path(e.path)
    used: set[Path] = set()
    filled = 0
    for rel, asset in keyed:
        stem = _stem(asset.file_name.replace("\\", "/")) if asset.file_name else rel
        found = by_stem.get(stem) or by_stem.get(rel) or by_base.get(stem.rpartition("/")[2])
        if found is None:
            continue
        used.add(found)
        if not asset.file_name:
            asset.file_name = found.relative_to(image_dir).as_posix()
            asset.extra["voc"]["filename_made"] = asset.file_name
        if not asset.width or not asset.height:
            asset.width, asset.height = image_size(found)
            filled += 1
    if filled:
        report.info("image sizes taken from the image headers (missing or zero in the XML)", filled)
    extra = [(key, p) for key, p in by_stem.items() if p not in used]
    if not extra:
        return keyed
    for key, p in extra:
        w, h = image_size(p)
        keyed.append((key, Asset(p.relative_to(image_dir).as_posix(), w, h, [])))
    report.info("images without an XML read as assets with no objects", len(extra))
    keyed.sort(key=lambda item: item[0])
    return keyed


# ---------------------------------------------------------------------------------------------- write

_APPROX = {"polygon": "polygons", "mask": "masks", "keypoints": "keypoints"}
_DROP = {"line": "lines", "point": "points", "classification": "image-level classifications"}


def _objects(asset: Asset, shift: float, counts: Counts) -> list[tuple[Annotation, tuple[str, ...]]]:
    out = []
    kinds = counts.kinds
    for ann in asset.annotations:
        box = ann.box
        if (ann.mask is not None or ann.polygon is not None or ann.keypoints is not None or box is None
                or ann.line is not None or ann.point is not None):
            kind = ann.kind
            kinds[kind] = kinds.get(kind, 0) + 1
            if kind in _DROP:
                continue
            if box is None:
                box = annotation_bbox(ann)
            if box is None:
                counts.no_box += 1
                continue
        if ann.qa:
            counts.qa += len(ann.qa)
        if ann.score is not None:
            counts.scores += 1
        if ann.iscrowd:
            counts.crowd += 1
        corners = corner_texts(box, ann.extra, shift, counts)
        if corners is not None:
            out.append((ann, corners))
    return out


def _xml_name(asset: Asset, taken: set[str], counts: dict[str, int]) -> str:
    """The XML path (relative, without .xml) of an asset: its stem, made safe and unique."""
    voc = asset.extra.get("voc") if asset.extra else None
    stem = voc.get("xml") if voc else None
    name = asset.file_name
    if stem is None:
        if "/" in name or "\\" in name or ":" in name or name in (".", "..") or "\x00" in name:
            try:
                name = safe_relative_path(name).as_posix()
            except ValueError:
                base = name.replace("\\", "/").rstrip("/").rpartition("/")[2]
                try:
                    name = safe_relative_path(base).as_posix() if base not in ("", ".", "..") else ""
                except ValueError:
                    name = ""
                counts["unsafe"] = counts.get("unsafe", 0) + 1
                if not name:
                    name = f"image_{len(taken) + 1}"
        stem = _stem(name)
    else:
        try:
            stem = safe_relative_path(stem).as_posix()
        except ValueError:
            stem = _stem(name.replace("\\", "/").rpartition("/")[2]) or f"image_{len(taken) + 1}"
            counts["unsafe"] = counts.get("unsafe", 0) + 1
    key = stem.casefold()
    if key in taken:
        candidates = (c for cs in ([name], (f"{stem}_{i}" for i in range(2, len(taken) + 3))) for c in cs)
        for c in candidates:
            if c.casefold() not in taken:
                stem = c
                break
        key = stem.casefold()
        counts["renamed"] = counts.get("renamed", 0) + 1
    taken.add(key)
    return stem


def _write_bytes(path: str, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
    finally:
        os.close(fd)


#: threads creating the XML files while the main thread renders (0, the default: write inline).
#: Measured on a shared 2-core machine, threads sometimes halved a 10k-file write and sometimes
#: made a 100k-file write slower (they wait for the GIL after each system call), so they are opt-in.
WRITE_THREADS = int(os.environ.get("PF_VOC_WRITE_THREADS", "0"))


def _write_many(items: list[tuple[str, bytes]]) -> None:
    for path, data in items:
        _write_bytes(path, data)


class _Files:
    """Writes files on worker threads (open/write/close release the GIL) while the caller renders.

    Files go in batches; at most a few batches wait, so memory stays bounded. `close` waits for
    every batch and raises the first error.
    """

    BATCH = 256
    WAITING = 4

    def __init__(self, threads: int | None = None) -> None:
        threads = WRITE_THREADS if threads is None else threads
        self.batch: list[tuple[str, bytes]] = []
        self.pending: deque[Future[None]] = deque()
        if threads:
            from concurrent.futures import ThreadPoolExecutor

            self.pool: ThreadPoolExecutor | None = ThreadPoolExecutor(max_workers=threads,
                                                                      thread_name_prefix="pf-voc-write")
        else:
            self.pool = None

    def add(self, path: str, data: bytes) -> None:
        if self.pool is None:
            _write_bytes(path, data)
            return
        self.batch.append((path, data))
        if len(self.batch) >= self.BATCH:
            self._submit()

    def _submit(self) -> None:
        if self.batch and self.pool is not None:
            self.pending.append(self.pool.submit(_write_many, self.batch))
            self.batch = []
        while len(self.pending) > self.WAITING:
            self.pending.popleft().result()

    def close(self) -> None:
        try:
            self._submit()
            while self.pending:
                self.pending.popleft().result()
        finally:
            if self.pool is not None:
                self.pool.shutdown(wait=True, cancel_futures=True)


def _image_lookup(images: Path | None) -> dict[str, Path]:
    if images is None or not images.is_dir():
        return {}
    out: dict[str, Path] = {}
    for p in sorted(images.rglob("*")):
        if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file():
            out.setdefault(p.relative_to(images).as_posix(), p)
            out.setdefault(p.relative_to(images).with_suffix("").as_posix(), p)
    return out


def write(
    dataset: Dataset,
    path: str | Path,
    *,
    images: str | Path | None = None,
    report: Report | None = None,
    one_based: bool = False,
    layout: str | None = None,
    folder: str | None = None,
    segmentation: bool = False,
    progress: bool = False,
) -> None:
    """Write one XML per asset into the folder `path` (`progress`: a bar on stderr when it is a terminal).

    `layout`: ``flat`` (``<stem>.xml`` in `path`) or ``devkit`` (``Annotations/<stem>.xml`` and
    ``ImageSets/Main/<tag>.txt`` from asset tags); by default the layout the data was read from
    (devkit stays devkit), else flat. `one_based` adds one to every corner (the devkit
    convention). `folder` fills ``<folder>`` for data that has none. `images` gives sizes the
    dataset lacks (from image headers). `segmentation` also writes the masks and polygons as the
    devkit's ``SegmentationClass``/``SegmentationObject`` PNGs (see `voc_segmentation`).
    """
    report = report if report is not None else Report()
    report_foreign_fields(dataset, "voc", report)  # other formats' fields it cannot hold
    if layout is None:
        layout = "devkit" if dataset.metadata.get("voc", {}).get("layout") == "devkit" else "flat"
    if layout not in ("flat", "devkit"):
        raise ValueError(f"layout must be flat or devkit, got {layout!r}")
    out = Path(path)
    ann_dir = out / "Annotations" if layout == "devkit" else out
    ann_dir.mkdir(parents=True, exist_ok=True)
    base = str(ann_dir)
    shift = 1.0 if one_based else 0.0
    counts = Counts()
    names: dict[str, int] = {}
    taken: set[str] = set()
    made: set[str] = set()
    lookup: dict[str, Path] | None = None
    image_ids: list[str] = []
    statuses = image_qa = 0
    segmented: list[tuple[Asset, str, list[Annotation]]] | None = [] if segmentation else None
    used_labels: set[str] = set()
    sep = os.sep
    files = _Files()
    assets: Iterable[Asset] = dataset.assets
    if progress and len(dataset.assets) > 1:
        from ..progress import track

        assets = track(dataset.assets, "writing VOC files", unit="file")
    try:
        for asset in assets:
            if asset.width is None or asset.height is None:
                if images is not None:
                    if lookup is None:
                        lookup = _image_lookup(Path(images))
                    found = lookup.get(asset.file_name) or lookup.get(_stem(asset.file_name))
                    if found is not None:
                        w, h = image_size(found)
                        asset = _sized(asset, w, h)
            objects = _objects(asset, shift, counts)
            for ann, _ in objects:
                used_labels.add(ann.label)
            stem = _xml_name(asset, taken, names)
            image_ids.append(stem)
            if "/" in stem:
                parent = stem.rpartition("/")[0]
                if parent not in made:
                    (ann_dir / parent).mkdir(parents=True, exist_ok=True)
                    made.add(parent)
            if segmented is not None:
                segmented.append((asset, stem, [ann for ann, _ in objects]))
            data = render_asset(asset, objects, counts, folder)
            files.add(base + sep + stem.replace("/", sep) + _XML_SUFFIX, data)
            if asset.status:
                statuses += 1
            image_qa += len(asset.qa)
    finally:
        files.close()
    _write_image_sets(dataset, out, layout, image_ids, report)
    if segmented is not None:
        from .voc_segmentation import write_segmentation

        painted = write_segmentation(dataset, out, report, items=segmented)
        for kind in ("mask", "polygon"):  # carried by the PNGs, not only as boxes
            if painted[kind]:
                counts.kinds[kind] -= painted[kind]
    _report(counts, names, report)
    if statuses:
        report.dropped("asset statuses", statuses, "VOC has no review status")
    if image_qa:
        report.dropped("image Q&A answers", image_qa, "VOC has no Q&A")
    unused = [label.name for label in dataset.labels if label.name not in used_labels]
    if unused:
        report.dropped("labels without objects", len(unused), "VOC has no label list", example=unused[0])


def _sized(asset: Asset, width: int, height: int) -> Asset:
    """A shallow copy of `asset` with a size (the dataset is not modified)."""
    return Asset(asset.file_name, asset.width or width, asset.height or height, asset.annotations, asset.id,
                 asset.tags, asset.status, asset.metadata, asset.qa, asset.extra)


def _write_image_sets(dataset: Dataset, out: Path, layout: str, image_ids: list[str], report: Report) -> None:
    tagged = sum(1 for a in dataset.assets if a.tags)
    if not tagged:
        return
    if layout != "devkit":
        report.dropped("asset tags", tagged, "the flat layout has no ImageSets; use layout=devkit "
                       "(--voc-layout devkit)")
        return
    lists: dict[str, list[str]] = {}
    for asset, image_id in zip(dataset.assets, image_ids):
        for tag in asset.tags:
            lists.setdefault(tag, []).append(image_id)
    sets_dir = out / "ImageSets" / "Main"
    sets_dir.mkdir(parents=True, exist_ok=True)
    bad = 0
    taken: set[str] = set()
    for tag in sorted(lists):
        if (not tag or "/" in tag or "\\" in tag or "\x00" in tag or tag in (".", "..") or ":" in tag
                or tag.casefold() in taken):
            bad += 1
            continue
        taken.add(tag.casefold())
        _write_bytes(str(sets_dir / f"{tag}.txt"), "".join(i + "\n" for i in lists[tag]).encode())
    if bad:
        report.dropped("asset tags that cannot name a file", bad, "ImageSets/Main/<tag>.txt")


def _report(counts: Counts, names: dict[str, int], report: Report) -> None:
    for kind, n in sorted(counts.kinds.items()):
        if kind in _APPROX:
            report.approximated(f"{_APPROX[kind]} written as boxes", n, "VOC objects are boxes")
        elif kind in _DROP:
            report.dropped(_DROP[kind], n, "VOC has no such shape")
    if counts.no_box:
        report.dropped("objects without geometry", counts.no_box)
    if counts.nonfinite:
        report.dropped("boxes with non-finite coordinates", counts.nonfinite)
    if counts.rounded:
        report.rounded("boxes with non-integer corners", counts.rounded, "VOC corners are written as whole "
                       "pixels, rounded to nearest")
    if counts.size_rounded:
        report.rounded("image sizes with non-integer values", counts.size_rounded)
    if counts.sizes:
        report.info("image sizes unknown, written as 0", counts.sizes, "pass images= (--images) to read them")
    if counts.qa:
        report.dropped("object Q&A answers", counts.qa, "VOC has no Q&A")
    if counts.scores:
        report.dropped("detection scores", counts.scores, "VOC has no score")
    if counts.crowd:
        report.dropped("crowd flags (iscrowd)", counts.crowd, "VOC has no crowd flag")
    if counts.attrs_json:
        report.changed("nested attribute values written as JSON text", counts.attrs_json)
    if counts.metadata:
        report.dropped("asset metadata entries", counts.metadata, "key is not a usable XML element name")
    if names.get("unsafe"):
        report.changed("unsafe image paths: XML named after the base name", names["unsafe"])
    if names.get("renamed"):
        report.changed("XML file names made unique", names["renamed"], "several images share a stem")


FORMAT = FormatSpec(
    name="voc",
    description="Pascal VOC XML (one file per image; flat folder or devkit layout)",
    detect=detect,
    read=read,
    write=write,
    hint_keys=frozenset(("order", "style", "layout", "bndbox_order", "size_order", "xml", "filename_made", "raw",
                         "render")),
    output="folder",
    default_file_name="Annotations",
    read_options=(
        Option("one_based", "--voc-one-based", "VOC corners use the devkit's 1-based pixel convention "
               "(shift by one on read and write)"),
        Option("masks", "--voc-masks", "VOC devkit segmentation PNGs read as rle (default), polygon or none",
               type=str, choices=("rle", "polygon", "none")),
    ),
    write_options=(
        Option("one_based", "--voc-one-based", "VOC corners use the devkit's 1-based pixel convention "
               "(shift by one on read and write)"),
        Option("layout", "--voc-layout", "VOC output layout: flat (default) or devkit (Annotations/ + "
               "ImageSets/Main/<tag>.txt)", type=str, choices=("flat", "devkit")),
        Option("folder", "--voc-folder", "VOC <folder> text for images that have none", type=str),
        Option("segmentation", "--voc-segmentation", "VOC: also write masks and polygons as "
               "SegmentationClass/ and SegmentationObject/ palette PNGs"),
    ),
)
