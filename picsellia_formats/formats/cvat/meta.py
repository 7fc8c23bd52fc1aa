"""CVAT's ``<meta>`` block as an ordered tree, and the label list with its attribute specs.

A node is ``(tag, value)``: ``value`` is the element's text (a leaf, possibly ``""``) or a list of
child nodes (a container, possibly empty: CVAT writes ``<attributes>`` with nothing inside as an
open/close pair on two lines). The ``<labels>`` element is kept as the marker ``("labels", None)``:
the labels themselves live on the dataset's `Label` s (``extra["cvat"]["spec"]``), so that renamed
or added labels are written back.

Example:
    >>> from lxml import etree
    >>> tree = to_tree(etree.fromstring("<meta><task><id>4</id><labels/></task></meta>"))
    >>> tree
    [('task', [('id', '4'), ('labels', None)])]
"""

from __future__ import annotations

from typing import Any

Node = tuple[str, Any]


def _is_container(el: Any) -> bool:
    return len(el) > 0 or (el.text is not None and not el.text.strip() and "\n" in el.text)


def node(el: Any) -> Node:
    """One element as a node (comments and processing instructions are skipped by the parser)."""
    if _is_container(el):
        return el.tag, [node(child) for child in el if isinstance(child.tag, str)]
    return el.tag, el.text or ""


def to_tree(meta: Any, labels_out: list[Any] | None = None) -> list[Node]:
    """The children of ``<meta>`` as nodes; ``<labels>`` directly under ``<task>``, ``<project>`` or
    ``<job>`` becomes the marker and its ``<label>`` elements are appended to `labels_out`."""
    out: list[Node] = []
    for child in meta:
        if not isinstance(child.tag, str):
            continue
        if child.tag in ("task", "project", "job") and _is_container(child):
            sub: list[Node] = []
            for el in child:
                if not isinstance(el.tag, str):
                    continue
                if el.tag == "labels":
                    sub.append(("labels", None))
                    if labels_out is not None:
                        labels_out.extend(x for x in el if isinstance(x.tag, str) and x.tag == "label")
                else:
                    sub.append(node(el))
            out.append((child.tag, sub))
        else:
            out.append(node(child))
    return out


def label_spec(el: Any) -> tuple[str, list[Node]]:
    """``(name, spec)`` of a ``<label>``: every child but ``name`` in order (``name`` kept as marker)."""
    name = ""
    spec: list[Node] = []
    for child in el:
        if not isinstance(child.tag, str):
            continue
        if child.tag == "name":
            name = child.text or ""
            spec.append(("name", None))
        else:
            spec.append(node(child))
    return name, spec


def spec_value(spec: list[Node] | None, tag: str) -> Any:
    """The value of the first `tag` node of a label spec, or None."""
    for t, v in spec or ():
        if t == tag:
            return v
    return None


def attribute_types(spec: list[Node] | None) -> dict[str, str]:
    """``{attribute name: input_type}`` declared by a label spec."""
    out: dict[str, str] = {}
    for t, attrs in spec or ():
        if t == "attributes" and isinstance(attrs, list):
            for tag, fields in attrs:
                if tag == "attribute" and isinstance(fields, list):
                    d = {k: v for k, v in fields if isinstance(v, str)}
                    if "name" in d:
                        out[d["name"]] = d.get("input_type", "text")
    return out
