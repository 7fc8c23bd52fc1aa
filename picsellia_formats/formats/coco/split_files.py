"""COCO datasets kept as one file per split: found, read as one dataset with split tags, written back.

Reading is `read.read_split_files`, writing `write.write_split_files` (this module finds and decides).

Layouts recognised in a folder (each COCO file's split from its folder or its name, by `splits`):

* Roboflow: ``train/_annotations.coco.json``, ``valid/…``, ``test/…`` (images beside each file);
* one file per split at the top or in ``annotations/``: ``instances_train.json`` +
  ``instances_val.json`` (a year suffix is allowed: ``instances_val2017.json``), ``train.json``…

When one split has several COCO files (``instances_val`` and ``person_keypoints_val``) the
``instances_`` one is taken; otherwise the folder is not a per-split folder (name one file).
Every asset gets its split as a tag (as written: ``valid`` stays ``valid``); writing such a
dataset to a folder writes ``annotations/instances_<split>.json`` per split tag, each a complete
COCO file (every category, that split's images and annotations), which pycocotools loads.

Example:
    >>> from pathlib import Path
    >>> sorted(find_split_files(Path("fixtures/real_exports/coco_per_split")))
    ['train', 'val']
    >>> wants_split_files(Dataset(), Path("out.json"), True)
    True
"""

from __future__ import annotations

import re
from pathlib import Path

from ...model import Dataset
from ...splits import canonical_split, split_order
from .._json_files import FOLDER_THRESHOLD, detect_file_or_folder, json_files
from .detect import sniff

#: where ``write_split_files`` puts each split's file, relative to the output folder
SPLIT_FILE_PATTERN = "annotations/instances_{split}.json"
#: dataset metadata key (under ``coco``) recording the split files a dataset was read from
SPLIT_FILES_KEY = "split_files"
_YEAR = re.compile(r"^(.*?)(?:[-_]?\d{4})?$")


def _split_word(word: str) -> str | None:
    """``train``, ``val2017``, ``valid`` -> the word without its year when it names a split."""
    m = _YEAR.match(word)
    base = m.group(1) if m else word
    return base if canonical_split(base) else None


def split_of_file(path: Path, root: Path) -> str | None:
    """The split a COCO file belongs to: its folder's name (below `root`, ``annotations/`` aside)
    when it names a split, else the last ``_`` word of its name (``instances_val2017`` -> ``val``)."""
    parent = path.parent
    if parent != root and parent.name.lower() != "annotations":
        split = _split_word(parent.name)
        if split is not None:
            return split
    stem = path.name[:-len(path.suffix)]
    return _split_word(stem.rsplit("_", 1)[-1])


def _candidates(root: Path) -> list[Path]:
    found = json_files(root)
    try:
        subs = sorted(p for p in root.iterdir() if p.is_dir() and _split_word(p.name))
    except OSError:
        subs = []
    for sub in subs:
        found += sorted(p for p in sub.iterdir() if p.suffix.lower() == ".json" and p.is_file())
    return found


def _pattern(path: Path, root: Path) -> str:
    """A split file's name with its split taken out: ``instances_`` or ``<split>/_annotations.coco.json``."""
    if path.parent != root and path.parent.name.lower() != "annotations" and _split_word(path.parent.name):
        return "<split>/" + path.name
    return path.parent.name.lower() + "/" + path.name.rsplit("_", 1)[0] + "_"


def find_split_files(path: Path) -> dict[str, Path] | None:
    """``{split: file}`` when folder `path` holds COCO files for two or more splits, else None."""
    if not path.is_dir():
        return None
    by_split: dict[str, list[Path]] = {}
    others: list[Path] = []
    for p in _candidates(path):
        if sniff(p)[0] < FOLDER_THRESHOLD:
            others.append(p)
            continue
        split = split_of_file(p, path)
        if split is None:
            return None  # a COCO file that names no split: not a per-split folder
        by_split.setdefault(split, []).append(p)
    if not by_split:
        return None
    # a file named like the COCO split files but unreadable (truncated, not JSON) is one of them: the
    # reader then names it, rather than the folder silently reading as the other splits only
    patterns = {_pattern(p, path) for files in by_split.values() for p in files}
    for p in others:
        split = split_of_file(p, path)
        if split is not None and split not in by_split and _pattern(p, path) in patterns:
            by_split[split] = [p]
    if len(by_split) < 2:
        return None
    canon: dict[str, str] = {}
    out: dict[str, Path] = {}
    for split, files in by_split.items():
        key = canonical_split(split) or split
        if key in canon:
            return None  # val/ and valid/ both present: ambiguous
        canon[key] = split
        if len(files) > 1:
            files = [f for f in files if f.name.lower().startswith("instances")]
            if len(files) != 1:
                return None
        out[split] = files[0]
    return dict(sorted(out.items(), key=lambda kv: split_order(kv[0])))


def wants_split_files(dataset: Dataset, path: Path, split_files: bool | None) -> bool:
    """Whether a COCO write of `dataset` to `path` writes one file per split (see the module doc):
    asked (`split_files`), or, by default, the dataset came from split files and `path` is not a
    ``.json`` file."""
    if split_files is not None:
        return bool(split_files)
    meta = dataset.metadata.get("coco") or {}
    return bool(meta.get(SPLIT_FILES_KEY)) and Path(path).suffix.lower() != ".json"


def split_tags_written(dataset: Dataset | None, split_files: bool | None) -> bool:
    """Whether a COCO write carries split tags (as file names): asked (`split_files`), or the dataset
    came from split files. Then the writer, not the format's declaration, reports the other tags.

    Example:
        >>> split_tags_written(Dataset(), None), split_tags_written(Dataset(), True)
        (False, True)
    """
    if split_files:
        return True
    meta = (dataset.metadata.get("coco") or {}) if dataset is not None else {}
    return split_files is None and bool(meta.get(SPLIT_FILES_KEY))


def detect(path: Path) -> tuple[float, str]:
    """Confidence that `path` (a .json file, or a folder holding exactly one COCO json) is COCO."""
    if path.is_dir():
        files = find_split_files(path)
        if files:
            shown = ", ".join(f"{split}: {p.relative_to(path).as_posix()}" for split, p in files.items())
            return 0.85, f"folder holds one COCO file per split ({shown})"
    return detect_file_or_folder(path, sniff, "COCO")


