"""Rendering of Pascal VOC XML text from the model: string building with cached pieces, no DOM.

The writer's hot path. An asset read from VOC is rendered in its own layout (kept in
``extra["voc"]``: style, element order, number texts); anything else as a plain labelImg-style
file. `corner_texts` turns a box into the four corner values as written (source text while it still
holds the value, else whole pixels rounded to nearest, counted).

Example:
    >>> from picsellia_formats.model import Annotation, Asset
    >>> ann = Annotation("cat", box=(1.0, 2.0, 3.5, 4.0))
    >>> counts = Counts()
    >>> corner_texts(ann.box, ann.extra, 0.0, counts), counts.rounded
    ((1, 2, 5, 6), 1)
    >>> render_asset(Asset("a.jpg", 8, 8), [], counts).splitlines()[:3]
    [b'<annotation>', b'\\t<filename>a.jpg</filename>', b'\\t<size>']
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from ...model import EMPTY, Annotation, Asset
from .xml import DEFAULT_STYLE, escape, escape_attr, is_element_name, pads_for, render_value, scalar_text

_isfinite = math.isfinite
_floor = math.floor

CORNERS = ("xmin", "ymin", "xmax", "ymax")
CORNER_SET = frozenset(CORNERS)
CORNER_LIST = list(CORNERS)
FLAGS = frozenset(("truncated", "difficult", "occluded"))
#: object children in the order labelImg and most tools write them (no order stored when equal)
OBJECT_ORDER = ("name", "pose", "truncated", "difficult", "bndbox")
#: image children written for data from other formats, each only when there is a value
TOP_ORDER = ("folder", "filename", "path", "source", "size", "segmented")
SIZE_ORDER = ("width", "height", "depth")
TOP_SINGLE = frozenset(TOP_ORDER)
OBJECT_RESERVED = frozenset(("name", "bndbox", "attributes"))
DEFAULTS = {"pose": "Unspecified", "truncated": 0, "difficult": 0}


def number(text: str | None) -> float | None:
    """float of a coordinate/size text, None when it is not a finite number."""
    try:
        v = float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return v if _isfinite(v) else None


class Counts:
    """Per-write tallies turned into report entries at the end."""

    __slots__ = (
        "attrs_json",
        "metadata",
        "no_box",
        "nonfinite",
        "rounded",
        "size_rounded",
        "sizes",
    )

    def __init__(self) -> None:
        self.no_box = self.nonfinite = self.rounded = 0
        self.attrs_json = self.sizes = self.size_rounded = self.metadata = 0


def corner_texts(box: Any, extra: Mapping[str, Any], shift: float, counts: Counts) -> tuple[Any, ...] | None:
    """xmin, ymin, xmax, ymax as written: the source's text while it still holds the value, else
    the whole number (non-integers rounded to nearest and counted); None for a non-finite box."""
    x, y, w, h = box
    x2 = x + w
    y2 = y + h
    if shift:
        x += shift
        y += shift
        x2 += shift
        y2 += shift
    voc = extra.get("voc") if extra else None
    texts = voc.get("bndbox") if voc else None
    if texts is None:
        try:
            a, b, c, d = _floor(x + 0.5), _floor(y + 0.5), _floor(x2 + 0.5), _floor(y2 + 0.5)
        except (ValueError, OverflowError, TypeError):
            pass
        else:
            if a != x or b != y or c != x2 or d != y2:
                counts.rounded += 1
            return (a, b, c, d)
    out: list[Any] = []
    rounded = False
    for i, v in enumerate((x, y, x2, y2)):
        if texts is not None:
            t = texts[i]
            tv = number(t)
            if tv is not None and abs(tv - v) <= 1e-9 * (1.0 + abs(v)):
                out.append(t)
                continue
        v = float(v)
        if not _isfinite(v):
            counts.nonfinite += 1
            return None
        if v.is_integer():
            out.append(int(v))
            continue
        out.append(_floor(v + 0.5))
        rounded = True
    if rounded:
        counts.rounded += 1
    return tuple(out)


def _flag(value: Any) -> Any:
    return int(value) if type(value) is bool else value


def _cvat_block(keys: Iterable[str], attrs: Mapping[str, Any], pads: tuple[str, ...], d: int,
                counts: Counts) -> str:
    p1, p2 = pads[d + 1], pads[d + 2]
    out = []
    for k in keys:
        v = attrs[k]
        if type(v) in (dict, list) or isinstance(v, Mapping):
            v = orjson.dumps(v, option=orjson.OPT_SORT_KEYS, default=str).decode()
            counts.attrs_json += 1
        out.append(f"{p1}<attribute>{p2}<name>{escape(k)}</name>{p2}<value>{escape(scalar_text(v))}</value>"
                   f"{p1}</attribute>")
    return f"<attributes>{''.join(out)}{pads[d]}</attributes>"


def _render_object(ann: Annotation, corners: tuple[str, ...], label: str, pads: tuple[str, ...],
                   counts: Counts) -> str:
    """One ``<object>`` at depth 1 (its children at depth 2)."""
    attrs = ann.attributes
    extra = ann.extra
    voc = extra.get("voc") if extra else None
    p2 = pads[2]
    if voc is None:
        if attrs:
            get = attrs.get
            pose, tr, di = get("pose", "Unspecified"), get("truncated", 0), get("difficult", 0)
            fast = (type(pose) is str and type(tr) is int and type(di) is int
                    and attrs.keys() <= _DEFAULT_KEYS)
        else:
            pose, tr, di, fast = "Unspecified", 0, 0, True
        if fast:
            key = (label, pose, tr, di, p2)
            head = _HEADS.get(key)
            if head is None:
                head = (f"<object>{p2}<name>{label}</name>{p2}<pose>{escape(pose)}</pose>{p2}<truncated>{tr}"
                        f"</truncated>{p2}<difficult>{di}</difficult>{p2}<bndbox>{pads[3]}<xmin>")
                if len(_HEADS) < 100_000:
                    _HEADS[key] = head
            p3 = pads[3]
            a, b, c, d = corners
            return (f"{head}{a}</xmin>{p3}<ymin>{b}</ymin>{p3}<xmax>{c}</xmax>{p3}<ymax>{d}</ymax>{p2}</bndbox>"
                    f"{pads[1]}</object>")
    order = voc.get("order") if voc else None
    defaults = order is None
    if order is None:
        order = OBJECT_ORDER if "occluded" not in attrs else (*OBJECT_ORDER[:4], "occluded", "bndbox")
    cvat = voc.get("cvat", ()) if voc else ()
    placed = set(order).difference(OBJECT_RESERVED)
    placed.update(cvat)
    leftover_elements: list[str] = []
    leftover_cvat: list[str] = []
    for k in attrs:
        if k in placed:
            continue
        v = attrs[k]
        scalar = not (type(v) in (dict, list) or isinstance(v, Mapping))
        if k in OBJECT_RESERVED or not is_element_name(k) or (scalar and k not in FLAGS and k != "pose"):
            leftover_cvat.append(k)
        else:
            leftover_elements.append(k)
    cvat_keys = [k for k in cvat if k in attrs] + leftover_cvat
    parts = []
    done: set[str] = set()
    for tag in order:
        if tag == "name":
            parts.append(f"<name>{label}</name>")
        elif tag == "bndbox":
            parts.append(_render_bndbox(corners, voc, pads))
        elif tag == "attributes":
            if "attributes" not in done and cvat_keys:
                parts.append(_cvat_block(cvat_keys, attrs, pads, 2, counts))
            done.add("attributes")
        elif tag in done:
            continue
        elif tag in attrs:
            done.add(tag)
            v = attrs[tag]
            parts.append(render_value(tag, _flag(v) if tag in FLAGS else v, pads, 2))
        elif defaults and tag in DEFAULTS:
            parts.append(f"<{tag}>{scalar_text(DEFAULTS[tag])}</{tag}>")
    for k in leftover_elements:
        v = attrs[k]
        parts.append(render_value(k, _flag(v) if k in FLAGS else v, pads, 2))
    if "attributes" not in done and cvat_keys:
        parts.append(_cvat_block(cvat_keys, attrs, pads, 2, counts))
    attrib = voc.get("attrib") if voc else None
    head = "<object" + "".join(f' {k}="{escape_attr(v)}"' for k, v in attrib.items()) + ">" if attrib else "<object>"
    body = "".join(p2 + p for p in parts if p)
    return f"{head}{body}{pads[1]}</object>"


def _render_bndbox(corners: tuple[str, ...], voc: Mapping[str, Any] | None, pads: tuple[str, ...]) -> str:
    p3 = pads[3]
    order = voc.get("bndbox_order") if voc else None
    extra = voc.get("bndbox_extra") if voc else None
    if order is None and not extra:
        return (f"<bndbox>{p3}<xmin>{corners[0]}</xmin>{p3}<ymin>{corners[1]}</ymin>{p3}<xmax>{corners[2]}</xmax>"
                f"{p3}<ymax>{corners[3]}</ymax>{pads[2]}</bndbox>")
    values = dict(zip(CORNERS, corners))
    parts = []
    done: set[str] = set()
    for tag in order or CORNERS:
        if tag in done:
            continue
        done.add(tag)
        if tag in values:
            parts.append(f"<{tag}>{values[tag]}</{tag}>")
        elif extra and tag in extra:
            parts.append(render_value(tag, extra[tag], pads, 3))
    for tag in CORNERS:
        if tag not in done:
            parts.append(f"<{tag}>{values[tag]}</{tag}>")
    return f"<bndbox>{''.join(p3 + p for p in parts)}{pads[2]}</bndbox>"


def _size_text(value: Any, key: str, texts: Mapping[str, str] | None, counts: Counts) -> str:
    if texts is not None and key in texts:
        t = texts[key]
        if value is None or number(t) == value:
            return t
    if value is None:
        return "0"
    if type(value) is int:
        return str(value)
    v = float(value)
    if v.is_integer():
        return str(int(v))
    if not _isfinite(v):
        counts.sizes += 1
        return "0"
    counts.size_rounded += 1
    return str(_floor(v + 0.5))


def _render_size(asset: Asset, voc: Mapping[str, Any], pads: tuple[str, ...], counts: Counts) -> str:
    texts = voc.get("texts")
    order = voc.get("size_order", SIZE_ORDER)
    extra = voc.get("size_extra")
    p2 = pads[2]
    if texts is None and extra is None and order is SIZE_ORDER:
        w, h = asset.width, asset.height
        depth = voc.get("depth") if "order" in voc else voc.get("depth", 3)
        if type(w) is int and type(h) is int and type(depth) is int:
            return f"<size>{p2}<width>{w}</width>{p2}<height>{h}</height>{p2}<depth>{depth}</depth>{pads[1]}</size>"
    if ((asset.width is None and not (texts and "width" in texts))
            or (asset.height is None and not (texts and "height" in texts))):
        counts.sizes += 1
    parts = []
    done: set[str] = set()
    for tag in order:
        if tag in done:
            continue
        done.add(tag)
        if tag == "width":
            parts.append(f"<width>{_size_text(asset.width, 'width', texts, counts)}</width>")
        elif tag == "height":
            parts.append(f"<height>{_size_text(asset.height, 'height', texts, counts)}</height>")
        elif tag == "depth":
            if "depth" in voc or "order" not in voc:
                parts.append(render_value("depth", voc.get("depth", 3), pads, 2))
        elif extra and tag in extra:
            parts.append(render_value(tag, extra[tag], pads, 2))
    return f"<size>{''.join(p2 + p for p in parts)}{pads[1]}</size>"


_LABELS: dict[str, str] = {}
#: start of a plain object up to its <xmin> value, by (label, pose, truncated, difficult, indent)
_HEADS: dict[tuple[Any, ...], str] = {}
_DEFAULT_PADS = pads_for(DEFAULT_STYLE[2], DEFAULT_STYLE[3])
_DEFAULT_KEYS = frozenset(DEFAULTS)


def _label_text(name: str) -> str:
    text = _LABELS.get(name)
    if text is None:
        text = escape(name)
        if len(_LABELS) < 100_000:
            _LABELS[name] = text
    return text


def render_asset(asset: Asset, objects: list[tuple[Annotation, tuple[str, ...]]], counts: Counts | None,
                  folder: str | None = None) -> bytes:
    """The XML bytes of one asset (objects already reduced to their corner texts)."""
    counts = counts if counts is not None else Counts()
    extra = asset.extra
    voc = extra.get("voc") if extra else None
    if voc is None:
        if not asset.metadata:  # data from another format: the plain labelImg-style file
            pads = _DEFAULT_PADS
            objs = "".join([f"\n\t{_render_object(ann, corners, _label_text(ann.label), pads, counts)}"
                            for ann, corners in objects])
            head = f"<annotation>\n\t<folder>{escape(folder)}</folder>" if folder is not None else "<annotation>"
            return (f"{head}\n\t<filename>{escape(asset.file_name)}</filename>\n\t"
                    f"{_render_size(asset, EMPTY, pads, counts)}\n\t<segmented>0</segmented>{objs}\n"
                    f"</annotation>\n").encode()
        voc = EMPTY
    prefix, encoding, nl, ind, trailing = voc.get("style", DEFAULT_STYLE)
    pads = pads_for(nl, ind)
    p1 = pads[1]
    order = voc.get("order")
    defaults = order is None
    if order is None:
        order = TOP_ORDER
    root = voc.get("root")
    parts = [prefix.decode(encoding, "replace") if prefix else "",
             "<annotation" + "".join(f' {k}="{escape_attr(v)}"' for k, v in root.items()) + ">"
             if root else "<annotation>"]
    append = parts.append
    metadata = asset.metadata
    objs = iter(objects)
    done: set[str] = set()
    for tag in order:
        if tag == "object":
            nxt = next(objs, None)
            if nxt is not None:
                ann, corners = nxt
                append(p1)
                append(_render_object(ann, corners, _label_text(ann.label), pads, counts))
            continue
        if tag in done:
            continue
        done.add(tag)
        if tag == "filename":
            name = asset.file_name
            if name == voc.get("filename_made"):
                name = ""
            append(f"{p1}<filename>{escape(name)}</filename>")
        elif tag == "size":
            append(p1)
            append(_render_size(asset, voc, pads, counts))
        elif tag == "segmented":
            if tag in voc or defaults:
                append(p1 + render_value(tag, voc.get(tag, 0), pads, 1))
        elif tag == "folder":
            value = voc.get("folder")
            if value is None and defaults:
                value = folder
            if value is not None:
                append(p1 + render_value(tag, value, pads, 1))
        elif tag in voc and tag in TOP_SINGLE:
            append(p1 + render_value(tag, voc[tag], pads, 1))
        elif tag in metadata:
            append(p1 + render_value(tag, metadata[tag], pads, 1))
    for ann, corners in objs:
        append(p1)
        append(_render_object(ann, corners, _label_text(ann.label), pads, counts))
    for key in metadata:
        if key in done:
            continue
        if is_element_name(key) and key not in TOP_SINGLE and key != "object":
            append(p1 + render_value(key, metadata[key], pads, 1))
        else:
            counts.metadata += 1
    append(pads[0] + "</annotation>")
    body = "".join(parts)
    out = body.encode(encoding, "xmlcharrefreplace") if encoding != "utf-8" else body.encode()
    if trailing:
        out += trailing
    raw = voc.get("raw")
    if raw is not None and voc.get("render") == hash(out):
        return raw
    return out
