"""layout."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

from ...errors import FormatError
from ...images import IMAGE_EXTENSIONS
from ...inputs import open_input, read_input, read_input_text
from ...report import Report
from .rows import Problems, parse_floats

#: Files that list class names, one per line, in the order they are looked for.
NAME_FILES = ("classes.txt", "obj.names")
#: data.yaml file names looked for in a dataset folder (then any *.yaml with ``names``).
YAML_FILES = ("data.yaml", "data.yml", "dataset.yaml", "dataset.yml")
#: data.yaml keys that name image sets, in the order they are read.
SPLIT_KEYS = ("train", "val", "test")
#: Asset tags taken for a split when writing (besides those the source named).
SPLIT_TAGS = frozenset(("train", "val", "valid", "validation", "test", "trainval", "training", "testing"))
#: Written beside labels/ for images not copied: their names and sizes, so the folder reads back.
SIZES_FILE = "image_sizes.json"
#: Significant digits of written coordinates: 4k px * 5e-15 = 2e-11 px at worst.
DIGITS = 14
YAML_KEY = {"valid": "val", "validation": "val", "training": "train", "testing": "test"}
YAML_KNOWN = frozenset(("path", "train", "val", "test", "nc", "names"))
MAX_SKIP_ENTRIES = 100

# ------------------------------------------------------------------------------------ class names


def load_yaml(path: Path) -> dict[str, Any]:
    """data.yaml as a dict; scalars under ``names`` stay strings (``no``, ``on``, ``1e3`` are names)."""
    import yaml  # PyYAML loads with the first data.yaml: the CLI start and other formats do not pay for it

    try:
        text = read_input_text(path, "utf-8-sig")
        data = yaml.safe_load(text)
        raw = yaml.load(text, Loader=yaml.BaseLoader)  # names as plain strings
    except OSError as exc:
        raise FormatError(f"cannot read: {exc.strerror or exc}", file=path) from None
    except ValueError as exc:  # PyYAML's int() of a number over 4,300 digits (not a YAMLError)
        raise FormatError(f"not usable YAML: {exc}", file=path) from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else None
        raise FormatError(f"not valid YAML: {getattr(exc, 'problem', None) or exc}", file=path,
                          record=where) from None
    if not isinstance(data, dict) or not isinstance(raw, dict):
        raise FormatError("expected a YAML mapping (names, train, val, ...)", file=path)
    if "names" in raw:
        data["names"] = raw["names"]
    return data


def names_from_yaml(data: dict[str, Any], path: Path) -> dict[int, str]:
    names = data.get("names")
    out: dict[int, str] = {}
    if isinstance(names, list):
        for i, n in enumerate(names):
            if not isinstance(n, str):
                raise FormatError(f"names[{i}] must be a string, got {n!r}", file=path, record="names")
            out[i] = n
    elif isinstance(names, dict):
        for k, n in names.items():
            try:
                idx = int(k)
            except (TypeError, ValueError):
                raise FormatError(f"names keys must be class indexes, got {k!r}", file=path,
                                  record="names") from None
            if idx < 0 or not isinstance(n, str):
                raise FormatError(f"names[{k}] must be a string at an index >= 0, got {n!r}", file=path,
                                  record="names")
            out[idx] = n
    else:
        raise FormatError(f"names must be a list or a mapping of index -> name, got {type(names).__name__}",
                          file=path, record="names")
    nc = data.get("nc")
    if nc is not None:
        try:
            nc_int = int(nc)
        except (TypeError, ValueError):
            raise FormatError(f"nc must be an integer, got {nc!r}", file=path, record="nc") from None
        if nc_int != len(out):
            raise FormatError(f"nc is {nc_int} but names lists {len(out)} classes", file=path, record="nc")
    return out


def names_from_file(path: Path) -> dict[int, str]:
    try:
        lines = read_input_text(path, "utf-8-sig").splitlines()
    except OSError as exc:
        raise FormatError(f"cannot read: {exc.strerror or exc}", file=path) from None
    except UnicodeDecodeError as exc:
        raise FormatError(f"not UTF-8 text: {exc.reason} at byte {exc.start}", file=path) from None
    names = [line.strip() for line in lines]
    while names and not names[-1]:
        names.pop()
    for i, n in enumerate(names):
        if not n:
            raise FormatError("empty class name", file=path, record=f"line {i + 1}")
    return dict(enumerate(names))


def find_yaml(root: Path) -> Path | None:
    for name in YAML_FILES:
        p = root / name
        if p.is_file():
            return p
    for p in sorted(root.glob("*.y*ml")):
        if p.suffix.lower() in (".yaml", ".yml") and p.is_file():
            try:
                head = read_input(p, 1 << 16).decode("utf-8", "replace")
            except (OSError, FormatError):
                continue
            if "\nnames:" in "\n" + head:
                return p
    return None


def find_names_file(root: Path) -> Path | None:
    for folder in (root, root / "labels", root / "data"):
        for name in NAME_FILES:
            p = folder / name
            if p.is_file():
                return p
    return None


# ------------------------------------------------------------------------------------- discovery


class Entry:
    """One image of the dataset: where it is, its label file, its name in the model, its splits.

    ``image`` is None for a label file whose image is absent but whose size `SIZES_FILE` gives.
    """

    __slots__ = ("file_name", "image", "label", "size", "splits")

    def __init__(self, image: Path | None, file_name: str, split: str | None, label: Path | None,
                 size: tuple[int, int] | None = None) -> None:
        self.image = image
        self.file_name = file_name
        self.splits = [split] if split else []
        self.label = label
        self.size = size


def _walk(root: Path) -> tuple[list[Path], list[Path]]:
    """(images, .txt files) under `root`, sorted; hidden folders skipped."""
    images: list[Path] = []
    txts: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        base = Path(dirpath)
        for name in sorted(filenames):
            ext = os.path.splitext(name)[1].lower()
            if ext == ".txt":
                txts.append(base / name)
            elif ext in IMAGE_EXTENSIONS:
                images.append(base / name)
    return images, txts


def _labels_path(image: Path) -> Path | None:
    """Ultralytics' rule: the last ``images`` folder of the path becomes ``labels``, suffix ``.txt``."""
    parts = image.parts
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] == "images":
            return Path(*parts[:i], "labels", *parts[i + 1:-1], image.stem + ".txt")
    return None


def _place(rel: tuple[str, ...]) -> tuple[str | None, str]:
    """(split, file name) of an image from its path relative to the dataset or image root."""
    if "images" in rel[:-1]:
        i = len(rel) - 2 - rel[-2::-1].index("images")
        after = rel[i + 1:]
        if len(after) >= 2:
            return after[0], "/".join(after[1:])
        if i >= 1 and rel[i - 1].lower() in SPLIT_TAGS:
            return rel[i - 1], after[0]
        return None, after[0]
    if len(rel) >= 2 and rel[0].lower() in SPLIT_TAGS:
        return rel[0], "/".join(rel[1:])
    return None, "/".join(rel)


def _label_for(image: Path, txt_set: set[Path]) -> Path | None:
    mapped = _labels_path(image)
    if mapped is not None and mapped in txt_set:
        return mapped
    sibling = image.with_suffix(".txt")
    return sibling if sibling in txt_set else None


def discover_tree(root: Path, images_dir: Path | None) -> tuple[list[Entry], list[Path]]:
    """Entries for a folder laid out by convention; also every .txt found (the label pool)."""
    images, txts = _walk(root)
    txt_set = set(txts)
    if images_dir is not None:
        images, _ = _walk(images_dir)
    entries = []
    for img in images:
        if images_dir is None:
            rel = img.relative_to(root).parts
            label = _label_for(img, txt_set)
        else:
            rel = img.relative_to(images_dir).parts
            stem_rel = Path(*rel).with_suffix(".txt")
            label = None
            for cand in (root / stem_rel, root / "labels" / stem_rel, _labels_path(img)):
                if cand is not None and cand in txt_set:
                    label = cand
                    break
            if len(rel) >= 2 and rel[0] != "images":
                entries.append(Entry(img, "/".join(rel[1:]), rel[0], label))
                continue
        split, name = _place(rel)
        entries.append(Entry(img, name, split, label))
    return entries, txts


def resolve_root(data: dict[str, Any], yaml_path: Path, report: Report) -> Path:
    base = yaml_path.parent
    given = data.get("path")
    if not isinstance(given, str) or not given:
        return base
    p = Path(given)
    root = p if p.is_absolute() else base / p
    if root.is_dir():
        return root
    report.info("data.yaml 'path' not found, the yaml's folder used instead", why=f"path: {given}")
    return base


def _split_sources(value: Any, root: Path) -> list[Path]:
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        if not isinstance(item, str) or not item:
            continue
        p = Path(item)
        cand = p if p.is_absolute() else root / p
        if not cand.exists() and item.startswith("../"):
            cand = root / item[3:]  # Roboflow's ../train/images, as Ultralytics resolves it
        out.append(cand)
    return out


def _list_file_images(path: Path, root: Path, problems: Problems) -> list[Path]:
    try:
        lines = read_input_text(path, "utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError, FormatError) as exc:
        problems.add(path, None, f"cannot read the image list: {exc}")
        return []
    out = []
    for line in lines:
        line = line.strip()
        if not line:
            continue
        p = Path(line)
        if not p.is_absolute():
            beside = path.parent / line
            p = beside if line.startswith("./") or beside.exists() else root / line
        out.append(Path(os.path.normpath(p)))
    return out


def discover_yaml(data: dict[str, Any], yaml_path: Path, root: Path, problems: Problems
                   ) -> tuple[list[Entry], list[Path], list[str]]:
    by_image: dict[Path, Entry] = {}
    entries: list[Entry] = []
    pool: dict[Path, None] = {}
    splits: list[str] = []
    seen_label_dirs: set[Path] = set()
    sources = {key: _split_sources(data[key], root) for key in SPLIT_KEYS if data.get(key)}
    # train and val naming the same images (a common stand-in for "no split") tag nothing
    same = len(sources) > 1 and all(v == next(iter(sources.values())) for v in sources.values())
    if same:
        sources = dict([next(iter(sources.items()))])
    for key, srcs in sources.items():
        tag = None if same else key
        if tag:
            splits.append(key)
        for src in srcs:
            if not src.exists():
                labels_dir = _labels_path(src / "x.png")
                if labels_dir is not None and labels_dir.parent.is_dir():
                    # labels without their images: image_sizes.json (or an error per file) decides
                    pool.update(dict.fromkeys(_walk(labels_dir.parent)[1]))
                    continue
            if src.is_dir():
                images, txts_here = _walk(src)
                base = src
            elif src.is_file() and src.suffix.lower() == ".txt":
                images = _list_file_images(src, root, problems)
                txts_here = []
                parents = {p.parent for p in images}
                base = Path(os.path.commonpath([str(p) for p in parents])) if parents else src.parent
            elif src.is_file() and src.suffix.lower() in IMAGE_EXTENSIONS:
                images, txts_here, base = [src], [], src.parent
            else:
                problems.add(yaml_path, key, f"{src} does not exist")
                continue
            label_dirs = {_labels_path(img).parent for img in images if _labels_path(img) is not None}
            for d in sorted(label_dirs - seen_label_dirs):
                seen_label_dirs.add(d)
                if d.is_dir() and d != src:
                    pool.update(dict.fromkeys(_walk(d)[1]))
            pool.update(dict.fromkeys(txts_here))
            for img in images:
                entry = by_image.get(img)
                if entry is not None:
                    if tag and tag not in entry.splits:
                        entry.splits.append(tag)
                    continue
                try:
                    name = img.relative_to(base).as_posix()
                except ValueError:
                    name = img.name
                mapped = _labels_path(img)
                label = None
                for cand in (mapped, img.with_suffix(".txt")):
                    if cand is not None and os.path.lexists(cand) and not cand.is_dir():  # FIFOs too: named on read
                        label = cand
                        break
                entry = by_image[img] = Entry(img, name, tag, label)
                entries.append(entry)
    return entries, list(pool), splits


def looks_like_labels(path: Path) -> bool:
    """Whether the first non-empty line of a .txt file is a numeric YOLO row."""
    try:
        with open_input(path) as raw, io.TextIOWrapper(raw, encoding="utf-8", errors="replace") as f:
            for _ in range(50):
                line = f.readline()
                if not line:
                    return False
                parts = line.split()
                if parts:
                    return (len(parts) in (5, 6) or (len(parts) >= 7 and len(parts) % 2)) and \
                        parse_floats(line) is not None
    except (OSError, FormatError):
        return False
    return False


# -------------------------------------------------------------------------------------------- detect


def _sample_txts(folder: Path, limit: int = 5, budget: int = 5000) -> list[Path]:
    """A few .txt files (not class lists), looking in labels/ folders first, then anywhere (bounded)."""
    found: list[Path] = []
    seen = 0
    preferred = [folder / "labels"] + [d / "labels" for d in sorted(folder.iterdir())
                                       if d.is_dir() and d.name.lower() in SPLIT_TAGS]
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


def detect(path: Path) -> tuple[float, str]:
    """Confidence that `path` is a YOLO dataset folder (or its data.yaml), and why."""
    if path.is_file():
        if path.suffix.lower() not in (".yaml", ".yml"):
            return 0.0, "a single file that is not a data.yaml (YOLO is a folder of .txt files)"
        try:
            data = load_yaml(path)
        except FormatError as err:
            return 0.0, str(err)
        if "names" in data and any(k in data for k in SPLIT_KEYS):
            return 0.9, f"{path.name} has names and {'/'.join(k for k in SPLIT_KEYS if k in data)}"
        return 0.0, f"{path.name} lacks names or train/val/test"
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
    has_images = in_labels or images_beside
    if (yaml_path is not None or names_file is not None) and has_images:
        where = "labels/" if in_labels else "txt files beside images"
        return 0.9, f"numeric label rows in {where} and class names in {(yaml_path or names_file).name}"  # type: ignore[union-attr]
    if has_images:
        return 0.6, "numeric label rows beside images (no data.yaml, classes.txt or obj.names)"
    if names_file is not None or yaml_path is not None:
        return 0.4, "numeric label rows and class names, but no images found beside them"
    return 0.2, "numeric .txt rows, but no images beside them and no class names"


