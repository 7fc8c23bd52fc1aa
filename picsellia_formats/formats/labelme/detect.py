"""Recognise LabelMe JSON: one file per image (``shapes`` + ``imagePath``), or a folder of them.

Example:
    >>> from pathlib import Path
    >>> detect(Path("fixtures/labelme/primitives/primitives.json"))[0]
    0.9
"""

from __future__ import annotations

from pathlib import Path

from .._json_files import json_head

#: how many .json files of a folder detection looks at (sorted; a folder is judged on a sample)
SAMPLE = 50


def sniff(path: Path) -> tuple[float, str]:
    """Look at the head of one .json file for LabelMe's keys (no full parse)."""
    head, why = json_head(path)
    if head is None:
        return 0.0, why
    if not head.lstrip().startswith(b"{"):
        return 0.0, "not a JSON object"
    if b'"shapes"' not in head:
        return 0.0, "no 'shapes' key in its head"
    if b'"imagePath"' in head or b'"imageData"' in head:
        return 0.9, "has LabelMe's shapes and imagePath/imageData"
    if b'"shape_type"' in head or (b'"points"' in head and b'"label"' in head):
        return 0.8, "has shapes with label and points (LabelMe)"
    return 0.3, "has a 'shapes' key"


def label_files(folder: Path) -> list[Path]:
    """Every .json file under `folder` (recursive, sorted), hidden folders and files left out."""
    out = []
    for p in folder.rglob("*"):
        if p.suffix.lower() != ".json" or not p.is_file():
            continue
        if any(part.startswith(".") for part in p.relative_to(folder).parts):
            continue
        out.append(p)
    return sorted(out)


def detect(path: Path) -> tuple[float, str]:
    """A LabelMe file, or a folder whose .json files (recursive) are LabelMe files."""
    if path.is_file():
        return sniff(path)
    if not path.is_dir():
        return 0.0, "no such file or folder"
    files = label_files(path)
    if not files:
        return 0.0, "no .json file in the folder"
    sample = files[:SAMPLE]
    hits = [p for p in sample if sniff(p)[0] >= 0.8]
    if not hits:
        return 0.0, f"none of {len(sample)} .json files is a LabelMe file"
    if len(hits) == len(sample):
        return 0.85, f"folder of LabelMe files ({hits[0].relative_to(path).as_posix()}, ...)"
    return 0.4, f"{len(hits)} of {len(sample)} .json files looked at are LabelMe files (the others are skipped)"
