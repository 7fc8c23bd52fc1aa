"""Recognise CreateML JSON: a list of ``{"image", "annotations": [{"label", "coordinates"}]}``.

Example:
    >>> from pathlib import Path
    >>> detect(Path("fixtures/createml_roboflow/_annotations.createml.json"))[0]
    0.9
"""

from __future__ import annotations

from pathlib import Path

from .._json_files import detect_file_or_folder, json_head


def sniff(path: Path) -> tuple[float, str]:
    """Look at the head of one .json file for CreateML's keys (no full parse)."""
    head, why = json_head(path)
    if head is None:
        return 0.0, why
    text = head.lstrip()
    if not text.startswith(b"["):
        return 0.0, "not a JSON list"
    if b'"image"' not in head or b'"annotations"' not in head:
        return 0.0, "no 'image' and 'annotations' keys in its head"
    if b'"coordinates"' in head:
        return 0.9, "a list of images with annotations holding label and coordinates (CreateML)"
    if path.name.lower().endswith(".createml.json"):
        return 0.8, "named *.createml.json, a list of images with annotations"
    return 0.5, "a list of images with (empty) annotations lists"


def detect(path: Path) -> tuple[float, str]:
    """A CreateML .json file, or a folder holding exactly one (at its top or in annotations/)."""
    return detect_file_or_folder(path, sniff, "CreateML")
