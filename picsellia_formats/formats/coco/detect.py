"""detect."""

from __future__ import annotations

from pathlib import Path

from .._json_files import json_head

# --------------------------------------------------------------------------------------------- detect


def sniff(path: Path) -> tuple[float, str]:
    """Look at the head of a JSON file for COCO's keys (no full parse)."""
    head, why = json_head(path)  # not a .json file, or unreadable (a folder named x.json...): said, not raised
    if head is None:
        return 0.0, why
    text = head.lstrip()
    if text.startswith(b"["):
        if b'"image_id"' in head and b'"category_id"' in head:
            return 0.8, "a list of detections with image_id and category_id (COCO results)"
        if text[1:].lstrip().startswith(b"]"):
            return 0.1, "an empty JSON list"
        return 0.0, "a JSON list without image_id/category_id"
    if not text.startswith(b"{"):
        return 0.0, "not a JSON object"
    if b'"external_picture_url"' in head or b'"internal_picture_id"' in head:
        return 0.0, "has Picsellia image keys (external_picture_url)"
    signals = sum(k in head for k in (b'"file_name"', b'"category_id"', b'"image_id"', b'"bbox"'))
    if b'"images"' in head and signals >= 2:
        return 0.9, "has images with file_name and annotations with image_id/category_id"
    if b'"images"' in head and b'"categories"' in head:
        return 0.6, "has images and categories"
    if b'"images"' in head and signals:
        return 0.5, "has an images list"
    return 0.0, "no COCO keys (images, annotations, categories) in its head"
