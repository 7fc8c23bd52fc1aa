"""XML plumbing of the Pascal VOC format: a safe parser, a fast escape, typed leaf values, the
generic element <-> value mapping and the text renderer (string building, no DOM).

Kept apart from `voc.py` (which decides what the fields mean) so that the renderer can be read,
tested and tuned on its own.

Example:
    >>> escape("a < b & c")
    'a &lt; b &amp; c'
    >>> typed("3"), typed("0.5"), typed("007"), typed("true")
    (3, 0.5, '007', True)
    >>> render_value("size", {"width": 3, "height": 4}, pads_for("\\n", "  "), 1)
    '<size>\\n    <width>3</width>\\n    <height>4</height>\\n  </size>'
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from ...errors import FormatError

#: (prefix bytes before the root, encoding, newline, indent unit, trailing bytes after the root)
Style = tuple[bytes, str, str, str, bytes]
DEFAULT_STYLE: Style = (b"", "utf-8", "\n", "\t", b"\n")

_isfinite = math.isfinite
_NEEDS_ESCAPE = re.compile(r"[&<>\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_NEEDS_ATTR_ESCAPE = re.compile(r"[&<>\"\x00-\x1f\ufffe\uffff]")
_INVALID_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
#: element names the writer creates from free keys (conservative ASCII subset of XML names)
_ELEMENT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*\Z")


# --------------------------------------------------------------------------------------------- parse


#: lxml's etree, loaded by the first `new_parser` (every `parse` takes a parser): the CLI start and
#: the other formats do not pay for importing it
etree: Any = None


def new_parser() -> etree.XMLParser:
    """An lxml parser with entity resolution, DTD loading and network access off, huge trees refused."""
    global etree
    if etree is None:
        from lxml import etree
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        dtd_validation=False,
        remove_comments=True,
        remove_pis=True,
        strip_cdata=True,
        collect_ids=False,
    )


def _line_of(data: bytes, index: int) -> int:
    return data.count(b"\n", 0, index) + 1


def parse(data: bytes, parser: etree.XMLParser, file: Any) -> etree._Element:
    """Parse `data`; FormatError (naming `file` and the line) on malformed XML or any DTD.

    A DOCTYPE is refused outright: VOC files never need one, and it is where entity expansion
    ("billion laughs") and external entities live.
    """
    for marker in (b"<!DOCTYPE", b"<!ENTITY"):
        at = data.find(marker)
        if at >= 0:
            raise FormatError(
                "DOCTYPE/ENTITY declarations are refused (no entity expansion, no external entities)",
                file=file, record=f"line {_line_of(data, at)}",
            )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        line = exc.lineno or (exc.position[0] if exc.position else 0)
        raise FormatError(f"malformed XML: {exc.msg}", file=file, record=f"line {line}") from None
    except (etree.LxmlError, ValueError) as exc:
        raise FormatError(f"malformed XML: {exc}", file=file) from None
    if root.getroottree().docinfo.doctype:  # a DTD in an encoding the byte check cannot see
        raise FormatError("DOCTYPE declarations are refused", file=file, record="line 1")
    return root


def local(tag: str) -> str:
    """``{namespace}name`` -> ``name``."""
    return tag.rpartition("}")[2] if tag[0] == "{" else tag


_TYPED: dict[str, Any] = {}
_MISSING = object()


def typed(text: str | None) -> Any:
    """A leaf's value: int or float when the text is exactly how that number prints, true/false as
    bools, otherwise the text (stripped). ``render_scalar(typed(t)) == t`` for every stripped `t`."""
    if not text:
        return ""
    value = _TYPED.get(text, _MISSING)
    if value is _MISSING:
        value = _typed(text)
        if len(text) <= 32 and len(_TYPED) < 8192:
            _TYPED[text] = value
    return value


def _typed(text: str) -> Any:
    t = text.strip()
    if not t:
        return ""
    c = t[0]
    if "0" <= c <= "9" or c == "-":
        try:
            i = int(t)
        except ValueError:
            try:
                f = float(t)
            except ValueError:
                return t
            return f if _isfinite(f) and repr(f) == t else t
        return i if str(i) == t else t
    if t == "true":
        return True
    if t == "false":
        return False
    return t


def element_value(el: etree._Element, typed_leaves: bool = True) -> Any:
    """The value of an element: a leaf's (typed) text, or a dict of its children (a child tag seen
    twice becomes a list); XML attributes as ``@name`` keys, text beside children as ``#text``."""
    n = len(el)
    items = el.items()
    if not n and not items:
        return typed(el.text) if typed_leaves else (el.text or "").strip()
    out: dict[str, Any] = {}
    for k, v in items:
        out["@" + local(k)] = v
    text = (el.text or "").strip()
    if text:
        out["#text"] = typed(text) if typed_leaves else text
    for child in el:
        tag = child.tag
        if type(tag) is not str:
            continue
        tag = local(tag)
        value = element_value(child, typed_leaves)
        if tag in out:
            prev = out[tag]
            if type(prev) is list:
                prev.append(value)
            else:
                out[tag] = [prev, value]
        else:
            out[tag] = value
    return out


# -------------------------------------------------------------------------------------------- render


def escape(text: str) -> str:
    """Escape text content (``&``, ``<``, ``>``); characters XML 1.0 cannot hold become U+FFFD."""
    if _NEEDS_ESCAPE.search(text) is None:
        return text
    if _INVALID_CHARS.search(text) is not None:
        text = _INVALID_CHARS.sub("\ufffd", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape_attr(text: str) -> str:
    if _NEEDS_ATTR_ESCAPE.search(text) is None:
        return text
    text = _INVALID_CHARS.sub("\ufffd", text)
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
            .replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;"))


def is_element_name(name: Any) -> bool:
    return type(name) is str and _ELEMENT_NAME.match(name) is not None and not name[:3].lower() == "xml"


def scalar_text(value: Any) -> str:
    """Text of a scalar (not escaped): bools as true/false, floats as their shortest repr, None as ''."""
    t = type(value)
    if t is str:
        return value
    if t is int:
        return str(value)
    if t is bool:
        return "true" if value else "false"
    if t is float:
        return repr(value)
    if value is None:
        return ""
    return str(value)


def render_scalar(value: Any) -> str:
    """Escaped text of a scalar (see `scalar_text`)."""
    t = type(value)
    if t is int:
        return str(value)
    return escape(scalar_text(value))


#: deepest element the renderer indents (lxml without huge_tree refuses deeper documents)
MAX_DEPTH = 260
_PADS: dict[tuple[str, str], tuple[str, ...]] = {}


def pads_for(nl: str, ind: str) -> tuple[str, ...]:
    """``pads[d]``: the whitespace before an element at depth d (cached per style)."""
    key = (nl, ind)
    pads = _PADS.get(key)
    if pads is None:
        pads = _PADS[key] = tuple(nl + ind * d for d in range(MAX_DEPTH + 2))
    return pads


def render_value(tag: str, value: Any, pads: tuple[str, ...], depth: int) -> str:
    """Render `value` as element(s) named `tag` at `depth` (the inverse of `element_value`).

    A list renders as repeated elements; a dict as an element with children (``@x`` keys as
    attributes, ``#text`` as text); anything else as a leaf. ``pads[d]`` is the whitespace that
    precedes an element at depth d.
    """
    if type(value) is list:
        return pads[depth].join(render_value(tag, v, pads, depth) for v in value) if value else ""
    if isinstance(value, Mapping):
        attrs = "".join(f' {k[1:]}="{escape_attr(scalar_text(v))}"'
                        for k, v in value.items() if type(k) is str and k[:1] == "@")
        children = [(k, v) for k, v in value.items() if not (type(k) is str and k[:1] in "@#")]
        text = render_scalar(value["#text"]) if "#text" in value else ""
        if not children:
            return f"<{tag}{attrs}>{text}</{tag}>"
        inner = pads[depth + 1]
        body = "".join(inner + render_value(k, v, pads, depth + 1) for k, v in children
                       if not (type(v) is list and not v))
        return f"<{tag}{attrs}>{text}{body}{pads[depth]}</{tag}>"
    return f"<{tag}>{render_scalar(value)}</{tag}>"

