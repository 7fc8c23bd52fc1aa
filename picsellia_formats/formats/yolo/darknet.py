"""Darknet / CVAT "YOLO 1.1" datasets: ``obj.data`` naming ``obj.names`` and one image list per split.

CVAT (Datumaro's ``YoloExporter``) writes ``obj.data`` (``classes = N``, ``train = data/train.txt``,
``names = data/obj.names``), lists of ``data/obj_<split>_data/x.jpg`` and the label files beside the
images. The ``data/`` prefix is the folder Darknet expects; in the export it is not a folder, so every
path is resolved by dropping leading components until it names a file here.

Example:
    >>> d = parse_obj_data(Path("fixtures/real_exports/cvat_yolo11/obj.data"))
    >>> d["train"][0].name, d["names"].name
    ('train.txt', 'obj.names')
"""

from __future__ import annotations

from pathlib import Path

from ...errors import FormatError

OBJ_DATA = "obj.data"
#: obj.data keys that name image lists -> the split they mean.
LIST_KEYS = {"train": "train", "valid": "val", "val": "val", "test": "test"}


def resolve_prefixed(base: Path, value: str) -> Path | None:
    """`value` (a path written in a dataset file) as a file under `base`, dropping leading folders
    that do not exist here (``data/train.txt`` -> ``base/train.txt``); None when nothing fits."""
    parts = [p for p in value.replace("\\", "/").split("/") if p not in ("", ".")]
    if ".." in parts:
        return None
    for i in range(len(parts)):
        cand = base.joinpath(*parts[i:])
        if cand.is_file():
            return cand
    return None


def parse_obj_data(path: Path) -> dict[str, object]:
    """``{"train": [list file], "val": [...], "test": [...], "names": obj.names path, "classes": N}``.

    Raises FormatError naming the file and line of a line that is not ``key = value`` or of a list
    or names file that is not there.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise FormatError(f"cannot read: {exc}", file=path) from None
    out: dict[str, object] = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise FormatError(f"expected 'key = value', got {line[:80]!r}", file=path, record=f"line {lineno}")
        key, value = key.strip().lower(), value.strip()
        if key in LIST_KEYS:
            found = resolve_prefixed(path.parent, value)
            if found is None:
                raise FormatError(f"the image list {value!r} is not there (nor without its leading folders)",
                                  file=path, record=f"line {lineno}")
            out.setdefault(LIST_KEYS[key], [])
            out[LIST_KEYS[key]].append(found)  # type: ignore[attr-defined]
        elif key == "names":
            found = resolve_prefixed(path.parent, value)
            if found is None:
                raise FormatError(f"the class names file {value!r} is not there", file=path,
                                  record=f"line {lineno}")
            out["names"] = found
        elif key == "classes":
            try:
                out["classes"] = int(value)
            except ValueError:
                raise FormatError(f"classes must be an integer, got {value!r}", file=path,
                                  record=f"line {lineno}") from None
    return out
