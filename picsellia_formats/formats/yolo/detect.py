"""Is this a YOLO dataset? (data.yaml, obj.data, classify folders, label rows paired with images).

Never yes on an empty sample: a folder scores only from label rows it read, a yaml or obj.data that
declares image sets, or a classification tree holding images.

Example:
    >>> detect(Path("fixtures/real_exports/yolo_annotations_images"))[0] >= 0.9
    True
"""

from __future__ import annotations

import os
from pathlib import Path

from ...errors import FormatError
from ...images import IMAGE_EXTENSIONS
from ...splits import is_split_name
from .classify import classify_layout
from .darknet import OBJ_DATA
from .layout import NAME_FILES, SPLIT_KEYS, find_names_file, find_yaml, load_yaml, looks_like_labels


def _sample_txts(folder: Path, limit: int = 5, budget: int = 5000) -> list[Path]:
    """A few .txt files (not class lists), looking in labels/ folders first, then anywhere (bounded)."""
    found: list[Path] = []
    seen = 0
    preferred = [folder / "labels"] + [d / "labels" for d in sorted(folder.iterdir())
                                       if d.is_dir() and is_split_name(d.name)]
    for base in [*preferred, folder]:
        if not base.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(filenames):
                seen += 1
                if name.endswith(".txt") and name not in NAME_FILES:
                    p = Path(dirpath) / name
                    if p not in found:
                        found.append(p)
                    if len(found) >= limit:
                        return found
            if seen > budget:
                return found
        if found:
            return found
    return found


def _image_stems(folder: Path, budget: int = 20000) -> set[str]:
    """Stems of image files under `folder` (bounded walk), lower-case."""
    stems: set[str] = set()
    seen = 0
    for _dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            seen += 1
            stem, ext = os.path.splitext(name)
            if ext.lower() in IMAGE_EXTENSIONS:
                stems.add(stem.lower())
        if seen > budget:
            break
    return stems


def detect(path: Path) -> tuple[float, str]:
    """Confidence that `path` is a YOLO dataset folder (or its data.yaml / obj.data), and why."""
    if path.is_file():
        if path.name.lower() == OBJ_DATA:
            return 0.9, "a Darknet obj.data"
        if path.suffix.lower() not in (".yaml", ".yml"):
            return 0.0, "a single file that is not a data.yaml (YOLO is a folder of .txt files)"
        try:
            data = load_yaml(path)
        except FormatError as err:
            return 0.0, str(err)
        if "names" in data and any(k in data for k in SPLIT_KEYS):
            return 0.9, f"{path.name} has names and {'/'.join(k for k in SPLIT_KEYS if k in data)}"
        return 0.0, f"{path.name} lacks names or train/val/test"
    if path.name == "labels" and (path.parent / "images").is_dir():
        path = path.parent  # the labels folder of an images/ + labels/ pair: read as its dataset
    if (path / OBJ_DATA).is_file():
        return 0.95, "a Darknet / CVAT YOLO 1.1 folder (obj.data)"
    yaml_path = find_yaml(path)
    names_file = find_names_file(path)
    if yaml_path is not None:
        try:
            data = load_yaml(yaml_path)
        except FormatError:
            data = {}
        if "names" in data and any(k in data for k in SPLIT_KEYS):
            return 0.95, f"{yaml_path.name} has names and image sets"
    txts = _sample_txts(path)
    if not txts:
        if classify_layout(path) is not None:
            return 0.7, "<split>/<class>/ folders of images (an Ultralytics classification dataset)"
        return 0.0, "no .txt label files in the folder"
    numeric = [t for t in txts if looks_like_labels(t)]
    if not numeric:
        pair = (path / "labels").is_dir() and (path / "images").is_dir()
        if pair and names_file is not None:
            return 0.5, (f"images/ + labels/ and {names_file.name}, but the first row of {txts[0].name} is "
                         "not a YOLO row (reading says which rows are wrong)")
        return 0.0, f"its .txt files do not hold numeric YOLO rows (e.g. {txts[0].name})"
    in_labels = any("labels" in t.relative_to(path).parts for t in numeric)
    images_beside = any(t.with_suffix(ext).exists() for t in numeric for ext in (".jpg", ".png", ".jpeg"))
    paired = False
    if not (in_labels or images_beside):
        stems = _image_stems(path)
        paired = any(t.stem.lower() in stems for t in numeric)
    has_images = in_labels or images_beside or paired
    where = "labels/" if in_labels else ("txt files beside images" if images_beside else
                                         "txt files whose images (same name) sit in another folder")
    if (yaml_path is not None or names_file is not None) and has_images:
        return 0.9, f"numeric label rows in {where} and class names in {(yaml_path or names_file).name}"  # type: ignore[union-attr]
    if has_images:
        return 0.6, f"numeric label rows in {where} (no data.yaml, classes.txt or obj.names)"
    if names_file is not None or yaml_path is not None:
        return 0.4, "numeric label rows and class names, but no images found beside them"
    return 0.2, "numeric .txt rows, but no images beside them and no class names"
