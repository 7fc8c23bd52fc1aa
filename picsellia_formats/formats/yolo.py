"""YOLO text labels (detection and segmentation rows), read and written through the model.

A YOLO dataset is a folder: one ``.txt`` per image, one object per row, class names in
``data.yaml`` (Ultralytics), ``classes.txt`` (Label Studio, labelImg) or ``obj.names`` (Darknet).

* Rows: ``class cx cy w h`` (detection), ``class cx cy w h conf`` (a prediction, Ultralytics
  ``save_conf``: the confidence becomes `Annotation.score`), or ``class x1 y1 x2 y2 x3 y3 ...``
  (segmentation: an odd count >= 7). Every value is normalised to [0, 1] by the image size.
* Layouts: ``images/<split>/`` + ``labels/<split>/`` (the split becomes an asset tag),
  ``<split>/images/`` + ``<split>/labels/`` (Roboflow), ``images/`` + ``labels/``, or images and
  ``.txt`` side by side; or whatever ``data.yaml`` names in ``train``/``val``/``test`` (folders,
  lists of folders, ``.txt`` files listing images). An image pairs with its label file by stem,
  whatever its extension; an image without a label file (or with an empty one) has no objects.
* Image sizes come from the image headers (after EXIF orientation, no decode): the reader needs
  the images, and says which one is missing.
* Coordinates: pixel values are ``value * size``; the writer prints ``value / size`` with 14
  significant digits, and a row whose source text those digits would not reproduce keeps its
  text in ``extra["yolo"]["text"]``, so YOLO -> model -> YOLO gives back the same rows.

Example:
    >>> ds = read("fixtures/labelstudio_yolo/test_import_yolo_data")
    >>> len(ds), ds.num_annotations, ds.label_names
    (7, 25, ['closed_door', 'opened_door', 'bus', 'number'])
    >>> a = ds.assets[5]
    >>> a.file_name, a.width, a.height, a.annotations[0].box
    ('img_6.jpeg', 1280, 720, (92.0, 178.0, 268.0, 415.0))
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from operator import truediv
from pathlib import Path, PurePosixPath
from typing import Any

from ..errors import FormatError, PicselliaFormatsError, Problem
from ..fidelity import report_foreign_fields
from ..images import IMAGE_EXTENSIONS, image_size
from ..io_utils import gc_paused, safe_relative_path
from ..model import EMPTY, Annotation, Asset, Dataset, Label
from ..report import Report
from . import FormatSpec, Option

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
_YAML_KEY = {"valid": "val", "validation": "val", "training": "train", "testing": "test"}
_YAML_KNOWN = frozenset(("path", "train", "val", "test", "nc", "names"))
_MAX_PROBLEMS = 20
_MAX_SKIP_ENTRIES = 100
_SNAP = 1e-9  # pixel values this close to a multiple of 1e-6 px are taken as that multiple


# ------------------------------------------------------------------------------------- numbers


def _snap(v: float) -> float:
    """`v` or, when within 1e-9 px of it, the nearest multiple of 1e-6 px.

    Undoes the last-digit noise of ``value * size`` (``0.02708333333333 * 480`` is
    ``12.9999999999998``, written by someone as 13), far below any meaningful precision.
    """
    r = round(v * 1e6) / 1e6
    return r if r != v and -_SNAP <= r - v <= _SNAP else v


def _box_of(cx: float, cy: float, w: float, h: float, W: int, H: int) -> tuple[float, float, float, float]:
    bw = w * W
    bh = h * H
    return (_snap(cx * W - bw * 0.5), _snap(cy * H - bh * 0.5), _snap(bw), _snap(bh))


def _box_text(box: tuple[float, float, float, float], W: float, H: float) -> str:
    """The writer's text of a box (no clipping): ``cx cy w h``."""
    x, y, w, h = box
    return f"{(x + w * 0.5) / W:.14g} {(y + h * 0.5) / H:.14g} {w / W:.14g} {h / H:.14g}"


def _poly_of(vals: list[float], W: int, H: int) -> list[float]:
    out = vals[:]
    out[0::2] = [_snap(v * W) for v in vals[0::2]]
    out[1::2] = [_snap(v * H) for v in vals[1::2]]
    return out


def _poly_text(part: list[float], W: float, H: float) -> str:
    xs = part[0::2]
    ys = part[1::2]
    return " ".join([f"{x / W:.14g} {y / H:.14g}" for x, y in zip(xs, ys)])


def _parse_floats(text: str) -> list[float] | None:
    try:
        return [float(t) for t in text.split()]
    except ValueError:
        return None


# ------------------------------------------------------------------------------------ problems


class _Problems:
    """Problems of several files (each one names its own file and line)."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.count = 0

    def add(self, file: Path | str, record: str | None, message: str) -> None:
        self.count += 1
        if len(self.problems) < _MAX_PROBLEMS:
            self.problems.append(Problem(message, str(file), record))

    def extend(self, err: FormatError) -> None:
        for p in err.problems:
            self.add(p.file or "", p.record, p.message)
        self.count += err.more

    def raise_if_any(self) -> None:
        if self.count:
            first = self.problems[0]
            raise FormatError(first.message, file=first.file, record=first.record, problems=self.problems,
                              more=self.count - len(self.problems))


# ------------------------------------------------------------------------------------ class names


def _load_yaml(path: Path) -> dict[str, Any]:
    """data.yaml as a dict; scalars under ``names`` stay strings (``no``, ``on``, ``1e3`` are names)."""
    import yaml  # PyYAML loads with the first data.yaml: the CLI start and other formats do not pay for it

    try:
        text = path.read_text(encoding="utf-8-sig")
        data = yaml.safe_load(text)
        raw = yaml.load(text, Loader=yaml.BaseLoader)  # names as plain strings
    except OSError as exc:
        raise FormatError(f"cannot read: {exc.strerror or exc}", file=path) from None
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


def _names_from_yaml(data: dict[str, Any], path: Path) -> dict[int, str]:
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


def _names_from_file(path: Path) -> dict[int, str]:
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
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


def _find_yaml(root: Path) -> Path | None:
    for name in YAML_FILES:
        p = root / name
        if p.is_file():
            return p
    for p in sorted(root.glob("*.y*ml")):
        if p.suffix.lower() in (".yaml", ".yml") and p.is_file():
            try:
                with open(p, encoding="utf-8", errors="replace") as f:
                    head = f.read(1 << 16)
            except OSError:
                continue
            if "\nnames:" in "\n" + head:
                return p
    return None


def _find_names_file(root: Path) -> Path | None:
    for folder in (root, root / "labels", root / "data"):
        for name in NAME_FILES:
            p = folder / name
            if p.is_file():
                return p
    return None


# ------------------------------------------------------------------------------------- discovery


class _Entry:
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


def _discover_tree(root: Path, images_dir: Path | None) -> tuple[list[_Entry], list[Path]]:
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
                entries.append(_Entry(img, "/".join(rel[1:]), rel[0], label))
                continue
        split, name = _place(rel)
        entries.append(_Entry(img, name, split, label))
    return entries, txts


def _resolve_root(data: dict[str, Any], yaml_path: Path, report: Report) -> Path:
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


def _list_file_images(path: Path, root: Path, problems: _Problems) -> list[Path]:
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
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


def _discover_yaml(data: dict[str, Any], yaml_path: Path, root: Path, problems: _Problems
                   ) -> tuple[list[_Entry], list[Path], list[str]]:
    by_image: dict[Path, _Entry] = {}
    entries: list[_Entry] = []
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
                    if cand is not None and cand.is_file():
                        label = cand
                        break
                entry = by_image[img] = _Entry(img, name, tag, label)
                entries.append(entry)
    return entries, list(pool), splits


def _looks_like_labels(path: Path) -> bool:
    """Whether the first non-empty line of a .txt file is a numeric YOLO row."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for _ in range(50):
                line = f.readline()
                if not line:
                    return False
                parts = line.split()
                if parts:
                    return (len(parts) in (5, 6) or (len(parts) >= 7 and len(parts) % 2)) and \
                        _parse_floats(line) is not None
    except OSError:
        return False
    return False


# ------------------------------------------------------------------------------------------ read


class _Reader:
    """Parses label files into annotations; the per-row hot loop lives in `parse`."""

    def __init__(self, names: dict[int, str] | None, skip_bad_rows: bool, problems: _Problems,
                 report: Report) -> None:
        self.names = names
        self.n_classes = (max(names) + 1) if names else 0
        self.skip = skip_bad_rows
        self.problems = problems
        self.report = report
        self.skipped = 0
        self.confidence = False
        self.used_indexes: set[int] = set()

    def bad(self, file: Path, lineno: int, message: str) -> None:
        if self.skip:
            self.skipped += 1
            if self.skipped <= _MAX_SKIP_ENTRIES:
                self.report.dropped("bad rows skipped", why=f"{file} line {lineno}: {message}")
        else:
            self.problems.add(file, f"line {lineno}", message)

    def _class(self, token: str, file: Path, lineno: int) -> int | None:
        try:
            idx = int(token)
        except ValueError:
            try:
                f = float(token)
            except ValueError:
                self.bad(file, lineno, f"class index {token!r} is not an integer")
                return None
            if not f.is_integer():
                self.bad(file, lineno, f"class index {token!r} is not an integer")
                return None
            idx = int(f)
        if idx < 0 or (self.names is not None and idx not in self.names):
            known = f"0..{self.n_classes - 1}" if self.names else "none"
            self.bad(file, lineno, f"class index {idx} is out of range (classes: {known})")
            return None
        return idx

    def parse(self, text: str, file: Path, W: int, H: int) -> list[Annotation]:
        anns: list[Annotation] = []
        names = self.names
        for lineno, line in enumerate(text.splitlines(), 1):
            parts = line.split()
            n = len(parts)
            if not n:
                continue
            if n not in (5, 6) and (n < 7 or not n % 2):
                self.bad(file, lineno, f"{n} values; expected 5 (class cx cy w h), 6 (with a confidence) "
                                       f"or an odd count >= 7 (class x1 y1 x2 y2 x3 y3 ...)")
                continue
            try:
                vals = [float(t) for t in parts[1:]]
            except ValueError:
                bad = next(t for t in parts[1:] if _parse_floats(t) is None)
                self.bad(file, lineno, f"{bad!r} is not a number")
                continue
            lo = min(vals)
            hi = max(vals)
            total = sum(vals)
            if not (lo >= 0.0 and hi <= 1.0 and total == total):
                what = next((v for v in vals if not 0.0 <= v <= 1.0), "nan")
                self.bad(file, lineno, f"value {what} is outside [0, 1] (YOLO values are normalised)")
                continue
            cls_token = parts[0]
            if cls_token.isascii() and cls_token.isdigit() and (names is None or int(cls_token) in names):
                idx = int(cls_token)
            else:
                idx = self._class(cls_token, file, lineno)
                if idx is None:
                    continue
            self.used_indexes.add(idx)
            label = names[idx] if names is not None else str(idx)
            source = " ".join(parts[1:5]) if n <= 6 else " ".join(parts[1:])
            if n <= 6:
                box = _box_of(vals[0], vals[1], vals[2], vals[3], W, H)
                score = None
                if n == 6:
                    score = vals[4]
                    self.confidence = True
                extra = EMPTY if _box_text(box, W, H) == source else {"yolo": {"text": source}}
                anns.append(Annotation(label, box, None, None, None, None, None, score, 0, None, None,
                                       EMPTY, (), extra))
            else:
                poly = _poly_of(vals, W, H)
                extra = EMPTY if _poly_text(poly, W, H) == source else {"yolo": {"text": source}}
                anns.append(Annotation(label, None, [poly], None, None, None, None, None, 0, None, None,
                                       EMPTY, (), extra))
        return anns


def _read_text(path: Path, problems: _Problems) -> str | None:
    try:
        data = path.read_bytes()
    except OSError as exc:
        problems.add(path, None, f"cannot read: {exc.strerror or exc}")
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        problems.add(path, None, f"not UTF-8 text: {exc.reason} at byte {exc.start}")
        return None


def read(
    path: str | Path,
    *,
    images: str | Path | None = None,
    report: Report | None = None,
    skip_bad_rows: bool = False,
    progress: bool = False,
) -> Dataset:
    """Read a YOLO dataset folder (or its ``data.yaml``).

    `images`: the folder of the images when they are not inside the dataset folder.
    `skip_bad_rows`: report each bad row and go on, instead of raising FormatError.
    `progress`: a bar over the label files on stderr when it is a terminal.
    Raises FormatError naming the file and line of every bad row, label files without an image,
    and unreadable images.
    """
    path = Path(path)
    report = report if report is not None else Report()
    problems = _Problems()
    images_dir = Path(images) if images else None
    if path.is_file():
        if path.suffix.lower() not in (".yaml", ".yml"):
            raise FormatError("a YOLO dataset is a folder (or its data.yaml), not a single file", file=path)
        yaml_path: Path | None = path
        folder = path.parent
    else:
        folder = path
        if folder.name == "labels" and (folder.parent / "images").is_dir():
            folder = folder.parent  # pointed at the labels folder of an images/ + labels/ pair
        yaml_path = _find_yaml(folder)
    meta: dict[str, Any] = {}
    names: dict[int, str] | None = None
    data: dict[str, Any] = {}
    if yaml_path is not None:
        data = _load_yaml(yaml_path)
        if "names" in data:
            names = _names_from_yaml(data, yaml_path)
            meta["names_from"] = yaml_path.name
        extra_keys = {k: v for k, v in data.items() if k not in _YAML_KNOWN}
        if extra_keys:
            meta["yaml"] = extra_keys
    names_file = _find_names_file(folder)
    if names is None and names_file is not None:
        names = _names_from_file(names_file)
        meta["names_from"] = names_file.name
    elif names is not None and names_file is not None and _names_from_file(names_file) != names:
        report.info(f"{names_file.name} disagrees with {yaml_path.name if yaml_path else 'data.yaml'}",
                    why="the yaml's names were used")
    if names is None:
        report.info("classes named by their index", why="no data.yaml, classes.txt or obj.names")

    has_splits = yaml_path is not None and images_dir is None and any(data.get(k) for k in SPLIT_KEYS)
    split_order: list[str] = []
    if has_splits:
        root = _resolve_root(data, yaml_path, report)  # type: ignore[arg-type]
        entries, pool, split_order = _discover_yaml(data, yaml_path, root, problems)  # type: ignore[arg-type]
    else:
        root = folder
        entries, pool = _discover_tree(folder, images_dir)
    problems.raise_if_any()
    if not entries and not pool and yaml_path is None and names_file is None:
        raise FormatError("no YOLO dataset here: no data.yaml, classes.txt or obj.names, no label files and no "
                          "images", file=path)

    used = {e.label for e in entries if e.label is not None}
    skip_names = set(NAME_FILES)
    labels_root = root / "labels"
    sizes = _load_sizes(labels_root.parent / SIZES_FILE, problems)
    for txt in pool:
        if txt in used or txt.name in skip_names:
            continue
        entry = _entry_from_sizes(txt, labels_root, sizes)
        if entry is not None:
            entries.append(entry)
            continue
        if "labels" in txt.parent.parts or _looks_like_labels(txt):
            where = txt.parent.parent / "images" if txt.parent.name == "labels" else txt.parent
            looked = f"in {images_dir}" if images_dir else f"beside it or in {where}"
            problems.add(txt, None, f"label file without an image: no {txt.stem}.<jpg|jpeg|png|bmp|webp> "
                                    f"{looked} (YOLO values are relative to the image size, so the image "
                                    "is needed)")
    problems.raise_if_any()

    if sizes:
        if all(e.image is None for e in entries):
            rank = {key: i for i, key in enumerate(sizes)}  # the writer's (the dataset's) order
            entries.sort(key=lambda e: rank[e.label.relative_to(labels_root).with_suffix("").as_posix()])  # type: ignore[union-attr]
        else:
            entries.sort(key=lambda e: (e.splits[0] if e.splits else "", e.file_name))
    reader = _Reader(names, skip_bad_rows, problems, report)
    assets: list[Asset] = []
    crlf = lf = 0
    with gc_paused():
        for e in _tracked(entries, f"reading {path.name}", progress):
            if e.image is None:
                W, H = e.size  # type: ignore[misc]
            else:
                try:
                    W, H = image_size(e.image)
                except FormatError as err:
                    problems.extend(err)
                    continue
            anns: list[Annotation] = []
            if e.label is not None:
                text = _read_text(e.label, problems)
                if text:
                    anns = reader.parse(text, e.label, W, H)
                    if "\r\n" in text:
                        crlf += 1
                    else:
                        lf += 1
            assets.append(Asset(e.file_name, W, H, anns, None, list(e.splits)))
    problems.raise_if_any()
    if reader.skipped > _MAX_SKIP_ENTRIES:
        report.dropped("more bad rows skipped", reader.skipped - _MAX_SKIP_ENTRIES)

    if names is not None:
        labels = _labels_from_names(names, report)
    else:
        labels = [Label(str(i)) for i in sorted(reader.used_indexes)]
    if not split_order:
        split_order = sorted({s for e in entries for s in e.splits})
    if split_order:
        meta["splits"] = split_order
    if reader.confidence:
        meta["confidence"] = True
    if crlf > lf:
        meta["newline"] = "\r\n"
    return Dataset(labels, assets, {"yolo": meta} if meta else {})


def _tracked(entries: list[_Entry], desc: str, progress: bool) -> Iterable[_Entry]:
    if not progress:
        return entries
    from ..progress import track

    return track(entries, desc, unit="file")


def _load_sizes(path: Path, problems: _Problems) -> dict[str, tuple[str, int, int, str | None]]:
    """`SIZES_FILE`: ``{"<label path under labels/, no .txt>": [file_name, width, height, split?]}``."""
    if not path.is_file():
        return {}
    import orjson

    try:
        data = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        problems.add(path, None, f"cannot read image sizes: {exc}")
        return {}
    out: dict[str, tuple[str, int, int, str | None]] = {}
    if not isinstance(data, dict):
        problems.add(path, None, "expected an object of label path -> [file name, width, height]")
        return out
    for key, v in data.items():
        ok = isinstance(v, list) and len(v) in (3, 4) and isinstance(v[0], str) and v[0] \
            and all(type(n) is int and n > 0 for n in v[1:3]) and (len(v) == 3 or isinstance(v[3], str))
        if not ok:
            problems.add(path, repr(key), f"expected [file name, width, height(, split)], got {v!r}")
            continue
        out[key] = (v[0], v[1], v[2], v[3] if len(v) == 4 else None)
    return out


def _entry_from_sizes(txt: Path, labels_root: Path, sizes: dict[str, tuple[str, int, int, str | None]]
                      ) -> _Entry | None:
    if not sizes:
        return None
    try:
        key = txt.relative_to(labels_root).with_suffix("").as_posix()
    except ValueError:
        return None
    found = sizes.get(key)
    if found is None:
        return None
    name, width, height, split = found
    return _Entry(None, name, split, txt, (width, height))


def _labels_from_names(names: dict[int, str], report: Report) -> list[Label]:
    labels: list[Label] = []
    seen: set[str] = set()
    contiguous = sorted(names) == list(range(len(names)))
    merged = 0
    for idx in sorted(names):
        name = names[idx]
        if name in seen:
            merged += 1
            continue
        seen.add(name)
        labels.append(Label(name, extra=EMPTY if contiguous else {"yolo": {"index": idx}}))
    if merged:
        report.changed("class indexes sharing a name merged into one label", merged)
    return labels


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
            data = _load_yaml(path)
        except FormatError as err:
            return 0.0, str(err)
        if "names" in data and any(k in data for k in SPLIT_KEYS):
            return 0.9, f"{path.name} has names and {'/'.join(k for k in SPLIT_KEYS if k in data)}"
        return 0.0, f"{path.name} lacks names or train/val/test"
    yaml_path = _find_yaml(path)
    names_file = _find_names_file(path)
    if yaml_path is not None:
        try:
            data = _load_yaml(yaml_path)
        except FormatError:
            data = {}
        if "names" in data and any(k in data for k in SPLIT_KEYS):
            return 0.95, f"{yaml_path.name} has names and image sets"
    txts = _sample_txts(path)
    if not txts:
        return 0.0, "no .txt label files in the folder"
    numeric = [t for t in txts if _looks_like_labels(t)]
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


# ------------------------------------------------------------------------------------------- write


def _out_name(file_name: str) -> str:
    """A safe relative posix path for an asset (fast path for plain names)."""
    if file_name and "/" not in file_name and "\\" not in file_name and ":" not in file_name \
            and file_name not in (".", "..") and "\x00" not in file_name:
        return file_name
    try:
        return safe_relative_path(file_name).as_posix()
    except ValueError:
        base = PurePosixPath(file_name.replace("\\", "/")).name
        return base if base not in ("", ".", "..") else "image"


def _stem(name: str) -> str:
    slash = name.rfind("/")
    dot = name.rfind(".")
    return name[:dot] if dot > slash + 1 else name


def _split_of(asset: Asset, split_tags: frozenset[str]) -> str | None:
    for tag in asset.tags:
        if tag in split_tags or tag.lower() in SPLIT_TAGS:
            return tag
    return None


def _yaml_text(names: list[str], split_dirs: dict[str, list[str]], extra: dict[str, Any]) -> str:
    import yaml

    doc: dict[str, Any] = {}
    for key, dirs in split_dirs.items():
        doc[key] = dirs[0] if len(dirs) == 1 else dirs
    doc["nc"] = len(names)
    doc["names"] = names
    text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, default_flow_style=False, width=1 << 16)
    if extra:
        text += yaml.safe_dump(extra, sort_keys=False, allow_unicode=True, default_flow_style=False,
                               width=1 << 16)
    return text


class _Counts:
    __slots__ = ("boxes_as_polygons", "clipped", "crowd", "masks_as_boxes", "masks_as_polygons", "multipart",
                 "no_size", "other", "poly_as_boxes", "qa", "scores", "small_parts", "with_attributes")

    def __init__(self) -> None:
        for s in self.__slots__:
            setattr(self, s, 0)
        self.other: dict[str, int] = {}


_FORMATS: dict[int, str] = {}
_BOX_ROW = "%d %.14g %.14g %.14g %.14g"  # one % format: faster than an f-string of four specs


def _clip01(v: float) -> float:
    return 0.0 if not v >= 0.0 else (1.0 if v > 1.0 else v)


class _Writer:
    """Builds the text of one label file per asset. `rows` is the hot path."""

    def __init__(self, index: dict[str, int], task: str, confidence: bool) -> None:
        self.index = index
        self.task = task
        self.confidence = confidence
        self.c = _Counts()
        self._divisors: dict[tuple[float, float, int], tuple[float, ...]] = {}

    def box_row(self, idx: int, ann: Annotation, box: Any, W: float, H: float) -> str:
        ex = ann.extra
        if ex and "yolo" in ex:
            text = ex["yolo"].get("text") if isinstance(ex["yolo"], dict) else None
            if text and _text_matches_box(text, box, W, H):
                coords = text
            else:
                coords = self._box_coords(box, W, H)
        else:
            x, y, w, h = box
            cx = (x + w * 0.5) / W
            cy = (y + h * 0.5) / H
            nw = w / W
            nh = h / H
            if 0.0 <= cx <= 1.0 and 0.0 <= cy <= 1.0 and 0.0 <= nw <= 1.0 and 0.0 <= nh <= 1.0:
                coords = f"{cx:.14g} {cy:.14g} {nw:.14g} {nh:.14g}"
            else:
                coords = self._box_coords(box, W, H)
        score = ann.score
        if score is not None:
            if self.confidence:
                return f"{idx} {coords} {score:.14g}"
            self.c.scores += 1
        return f"{idx} {coords}"

    def _box_coords(self, box: Any, W: float, H: float) -> str:
        x, y, w, h = box
        vals = ((x + w * 0.5) / W, (y + h * 0.5) / H, w / W, h / H)
        if not all(0.0 <= v <= 1.0 for v in vals):
            # clip the corners to the image (values in range but reaching outside are valid YOLO)
            self.c.clipped += 1
            x0, y0 = _clip01(x / W), _clip01(y / H)
            x1, y1 = max(x0, _clip01((x + w) / W)), max(y0, _clip01((y + h) / H))
            vals = ((x0 + x1) * 0.5, (y0 + y1) * 0.5, x1 - x0, y1 - y0)
        return " ".join([f"{v:.14g}" for v in vals])

    def poly_rows(self, idx: int, ex: Any, parts: list[list[float]], W: float, H: float,
                  out: list[str]) -> None:
        if len(parts) == 1 and ex and "yolo" in ex and isinstance(ex["yolo"], dict):
            text = ex["yolo"].get("text")
            if text and _text_matches_poly(text, parts[0], W, H):
                out.append(f"{idx} {text}")
                return
        if len(parts) > 1:
            self.c.multipart += 1
        cache = self._divisors
        if len(cache) > 4096:
            cache.clear()
        for part in parts:
            n = len(part)
            if n < 6 or n % 2:
                self.c.small_parts += 1
                continue
            divisors = cache.get((W, H, n))
            if divisors is None:
                divisors = cache[(W, H, n)] = (W, H) * (n // 2)
            flat = tuple(map(truediv, part, divisors))
            if not (min(flat) >= 0.0 and max(flat) <= 1.0 and sum(flat) == sum(flat)):
                self.c.clipped += 1
                flat = tuple(_clip01(v) for v in flat)
            fmt = _FORMATS.get(n)
            if fmt is None:
                fmt = _FORMATS[n] = " ".join(["%.14g"] * n)
            out.append(f"{idx} " + fmt % flat)

    def rows(self, asset: Asset, W: float, H: float) -> list[str]:
        out: list[str] = []
        append = out.append
        index = self.index
        c = self.c
        boxes_as_boxes = self.task != "segment"
        polygons_as_boxes = self.task == "detect"
        for ann in asset.annotations:
            box = ann.box
            if box is not None and ann.mask is None and ann.keypoints is None and ann.line is None \
                    and ann.point is None and (boxes_as_boxes if ann.polygon is None else polygons_as_boxes):
                if ann.polygon is not None:
                    c.poly_as_boxes += 1
                if ann.extra or ann.score is not None:
                    append(self.box_row(index[ann.label], ann, box, W, H))
                else:
                    x, y, w, h = box
                    cx = (x + w * 0.5) / W
                    cy = (y + h * 0.5) / H
                    nw = w / W
                    nh = h / H
                    if 0.0 <= cx <= 1.0 and 0.0 <= cy <= 1.0 and 0.0 <= nw <= 1.0 and 0.0 <= nh <= 1.0:
                        append(_BOX_ROW % (index[ann.label], cx, cy, nw, nh))
                    else:
                        append(f"{index[ann.label]} {self._box_coords(box, W, H)}")
            else:
                self.slow(index[ann.label], ann, W, H, out)
            if ann.qa:
                c.qa += len(ann.qa)
            if ann.attributes:
                c.with_attributes += 1
            if ann.iscrowd:
                c.crowd += 1
        return out

    def slow(self, idx: int, ann: Annotation, W: float, H: float, out: list[str]) -> None:
        """Every object that is not a plain box written as a box."""
        c = self.c
        other = c.other
        for kind in ("keypoints", "line", "point"):
            if getattr(ann, kind) is not None:
                other[kind] = other.get(kind, 0) + 1
        box = ann.box
        if ann.polygon is None and ann.mask is None:
            if box is None:
                if ann.keypoints is None and ann.line is None and ann.point is None:
                    other["classification"] = other.get("classification", 0) + 1
                return
            if self.task == "segment":
                x, y, w, h = box
                c.boxes_as_polygons += 1
                if ann.score is not None:
                    c.scores += 1
                self.poly_rows(idx, EMPTY, [[x, y, x + w, y, x + w, y + h, x, y + h]], W, H, out)
            else:
                out.append(self.box_row(idx, ann, box, W, H))
            return
        if self.task == "detect":
            if box is None:
                from ..geometry import annotation_bbox

                box = annotation_bbox(ann)
            if ann.polygon is not None:
                c.poly_as_boxes += 1
            else:
                c.masks_as_boxes += 1
            out.append(self.box_row(idx, ann, box, W, H))
            return
        if ann.score is not None:
            c.scores += 1
        if ann.polygon is not None:
            self.poly_rows(idx, ann.extra, ann.polygon, W, H, out)
            return
        from .. import masks

        mask_to_polygons = getattr(masks, "mask_to_polygons", None)
        if mask_to_polygons is not None:
            parts = mask_to_polygons(ann.mask)
            if parts:
                c.masks_as_polygons += 1
                self.poly_rows(idx, EMPTY, parts, W, H, out)
                return
        from ..masks import rle_bbox

        c.masks_as_boxes += 1
        out.append(self.box_row(idx, ann, box or rle_bbox(ann.mask), W, H))  # type: ignore[arg-type]

    def report_to(self, report: Report) -> None:
        c = self.c
        report.approximated("polygons written as boxes", c.poly_as_boxes, "YOLO detection rows are boxes")
        report.approximated("masks written as boxes", c.masks_as_boxes,
                            "YOLO detection rows are boxes" if self.task == "detect" else "no polygon traced")
        report.approximated("masks written as polygons", c.masks_as_polygons, "YOLO rows hold no RLE")
        report.approximated("multi-part polygons written as one row per part", c.multipart,
                            "a YOLO row holds one ring")
        report.approximated("objects clipped to the image", c.clipped, "YOLO values must be within [0, 1]")
        report.changed("boxes written as 4-point polygons", c.boxes_as_polygons,
                       "segmentation datasets hold one kind of row")
        report.dropped("polygon parts with fewer than 3 points or an odd count of values", c.small_parts)
        plural = {"keypoints": "keypoints", "line": "lines", "point": "points",
                  "classification": "image-level classifications"}
        for kind, n in c.other.items():
            report.dropped(plural[kind], n, "YOLO rows hold boxes and polygons only")
        report.dropped("scores", c.scores, "written only with --yolo-confidence, on box rows")
        report.dropped("object Q&A answers", c.qa, "YOLO has no Q&A")
        report.dropped("object attributes", c.with_attributes, "YOLO has no attributes")
        report.dropped("crowd flags", c.crowd, "YOLO has no iscrowd")
        report.dropped("objects of images of unknown size", c.no_size, "pass --images to read the sizes")


def _text_matches_box(text: str, box: Any, W: float, H: float) -> bool:
    vals = _parse_floats(text)
    if vals is None or len(vals) != 4:
        return False
    return _box_of(vals[0], vals[1], vals[2], vals[3], W, H) == tuple(box)  # type: ignore[arg-type]


def _text_matches_poly(text: str, part: list[float], W: float, H: float) -> bool:
    vals = _parse_floats(text)
    if vals is None or len(vals) != len(part):
        return False
    return _poly_of(vals, W, H) == list(part)  # type: ignore[arg-type]


def _find_image(images: Path, name: str, split: str | None) -> Path | None:
    cands = [images / name]
    if split:
        cands += [images / split / name, images / "images" / split / name, images / split / "images" / name]
    cands.append(images / "images" / name)
    for c in cands:
        if c.is_file():
            return c
    return None


def write(
    dataset: Dataset,
    path: str | Path,
    *,
    images: str | Path | None = None,
    report: Report | None = None,
    task: str | None = None,
    copy_images: str | None = None,
    confidence: bool | None = None,
    progress: bool = False,
) -> None:
    """Write `dataset` as a YOLO folder: ``data.yaml``, ``classes.txt``, ``labels/[<split>/]*.txt``.

    One label file per asset (empty for an asset without objects), in ``labels/<split>/`` when the
    asset has a split tag (train, val, test, ...), else in ``labels/``. `task`: ``detect`` (boxes;
    polygons and masks as their boxes), ``segment`` (polygons; boxes as 4-point polygons, masks
    traced) or ``mixed`` (each object as it is); by default ``segment`` when the dataset holds
    polygons or masks, else ``detect``. `images`: folder of the image files, copied (or hard-linked,
    ``copy_images="link"``) into ``images/[<split>/]``; ``copy_images="none"`` writes labels only.
    Asking for ``copy`` or ``link`` without `images` is an error (nothing to copy); left out, images
    are copied when `images` is given.
    `confidence`: write scores as a 6th value on box rows (default: when the source had them).
    `progress`: a bar over the assets on stderr when it is a terminal.
    """
    if task is not None and task not in ("detect", "segment", "mixed"):
        raise ValueError(f"task must be detect, segment or mixed, got {task!r}")
    if copy_images is None:
        copy_images = "copy"
    elif copy_images not in ("copy", "link", "none"):
        raise ValueError(f"copy_images must be copy, link or none, got {copy_images!r}")
    elif copy_images != "none" and not images:
        raise PicselliaFormatsError(f"--yolo-images {copy_images} (copy_images={copy_images!r}): needs --images, "
                                    "the folder of the image files to put beside the labels")
    report = report if report is not None else Report()
    report_foreign_fields(dataset, "yolo", report)  # other formats' fields it cannot hold
    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    meta = dataset.metadata.get("yolo") or {}
    if confidence is None:
        confidence = bool(meta.get("confidence"))
    nl = "\r\n" if meta.get("newline") == "\r\n" else "\n"

    labels = list(dataset.labels)
    known = {label.name for label in labels}
    has_shapes = False
    for asset in dataset.assets:
        for ann in asset.annotations:
            if ann.label not in known:
                known.add(ann.label)
                labels.append(Label(ann.label))
            if not has_shapes and (ann.polygon is not None or ann.mask is not None):
                has_shapes = True
    if task is None:
        task = "segment" if has_shapes else "detect"
    names, index = _class_indexes(labels, report)

    split_tags = frozenset(meta.get("splits", ())) | SPLIT_TAGS
    splits = [_split_of(a, split_tags) for a in dataset.assets]
    any_split = any(s is not None for s in splits)
    unsplit = sum(1 for s in splits if s is None) if any_split else 0
    if unsplit:
        report.info("assets without a split tag written to train", unsplit)
    images_dir = Path(images) if images and copy_images != "none" else None

    writer = _Writer(index, task, confidence)
    c = writer.c
    made: set[str] = set()
    taken: set[str] = set()
    sizes: dict[str, list[Any]] = {}
    renamed: list[str] = []
    missing_images = 0
    extra_tags = statuses = image_qa = 0
    root = str(out)
    labels_root = root + "/labels/"
    images_root = root + "/images/"
    os.makedirs(labels_root, exist_ok=True)  # even with no assets: data.yaml's sets resolve to it on read
    with gc_paused():
        pairs: Iterable[tuple[Asset, str | None]] = zip(dataset.assets, splits)
        if progress and len(splits) > 1:
            from ..progress import track

            pairs = track(pairs, "writing YOLO files", total=len(splits), unit="file")
        for asset, split in pairs:
            if any_split and split is None:
                split = "train"
            name = _out_name(asset.file_name)
            rel = f"{split}/{name}" if split else name
            stem = _stem(rel)
            if stem in taken:
                stem, rel = _rename(stem, rel, taken)
                renamed.append(f"{asset.file_name} -> {rel}")
            taken.add(stem)
            folder = stem[:stem.rfind("/") + 1]
            if folder not in made:
                os.makedirs(labels_root + folder, exist_ok=True)
                made.add(folder)
            W, H = asset.width, asset.height
            if (not W or not H) and images:
                src = _find_image(Path(images), name, split)
                if src is not None:
                    W, H = image_size(src)
            if asset.annotations and W and H:
                rows = writer.rows(asset, W, H)
                text = nl.join(rows) + nl if rows else ""
            else:
                c.no_size += len(asset.annotations)
                text = ""
            _write_bytes(labels_root + stem + ".txt", text.encode())
            src = _find_image(images_dir, name, split) if images_dir is not None else None
            if src is not None:
                _put_image(src, images_root + rel, copy_images)
            else:
                missing_images += images_dir is not None
                if W and H:
                    wh = [name, round(W), round(H)]
                    sizes[stem] = [*wh, split] if split else wh
            if asset.tags and len(asset.tags) > (1 if split in asset.tags else 0):
                extra_tags += 1
            if asset.status:
                statuses += 1
            if asset.qa:
                image_qa += len(asset.qa)

    split_dirs: dict[str, list[str]] = {}
    if any_split:
        for s in sorted({s or "train" for s in splits}, key=_split_rank):
            key = _YAML_KEY.get(s.lower(), s)
            split_dirs.setdefault(key, []).append(f"images/{s}")
    else:
        split_dirs = {"train": ["images"], "val": ["images"]}
    yaml_extra = meta.get("yaml") if isinstance(meta.get("yaml"), dict) else {}
    with open(out / "data.yaml", "w", encoding="utf-8", newline="") as f:
        f.write(_yaml_text(names, split_dirs, yaml_extra))
    if all("\n" not in n and "\r" not in n and n.strip() == n and n for n in names):
        with open(out / "classes.txt", "w", encoding="utf-8", newline="") as f:
            f.write("".join(n + nl for n in names))
    else:
        report.info("classes.txt not written", why="a class name has a line break or edge spaces")

    if sizes:
        import orjson

        with open(out / SIZES_FILE, "wb") as f:
            f.write(orjson.dumps(sizes))
    writer.report_to(report)
    if renamed:
        report.changed("file names changed to keep label files apart", len(renamed),
                       "two images share a stem", example=renamed[0])
    if missing_images:
        report.info("images not found in the images folder, not copied", missing_images)
    report.dropped("asset tags other than the split", extra_tags, "YOLO has no tags")
    report.dropped("asset statuses", statuses, "YOLO has no review status")
    report.dropped("image Q&A answers", image_qa, "YOLO has no Q&A")


_CREATE = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)


def _write_bytes(path: str, data: bytes) -> None:
    """One file in one open/write/close, without the buffered-io layer (100k small files)."""
    fd = os.open(path, _CREATE, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def _split_rank(s: str) -> tuple[int, str]:
    order = {"train": 0, "training": 0, "val": 1, "valid": 1, "validation": 1, "test": 2, "testing": 2}
    return (order.get(s.lower(), 3), s)


def _rename(stem: str, rel: str, taken: set[str]) -> tuple[str, str]:
    ext = rel[len(stem):]
    base = f"{stem}_{ext.lstrip('.')}" if ext else f"{stem}_"
    new, i = base, 2
    while new in taken:
        new, i = f"{base}{i}", i + 1
    return new, new + ext


def _put_image(src: Path, dst: str, mode: str) -> None:
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    if mode == "link":
        try:
            os.link(src, dst)
            return
        except OSError:
            pass
    shutil.copyfile(src, dst)


def _class_indexes(labels: Iterable[Label], report: Report) -> tuple[list[str], dict[str, int]]:
    """Class names in index order and the index of each label name."""
    labels = list(labels)
    wanted = [label.extra.get("yolo", {}).get("index") if label.extra else None for label in labels]
    if all(type(i) is int and i >= 0 for i in wanted) and len(set(wanted)) == len(wanted) and labels:
        names = [""] * (max(wanted) + 1)  # type: ignore[type-var]
        for label, i in zip(labels, wanted):
            names[i] = label.name  # type: ignore[index]
        gaps = [i for i, n in enumerate(names) if not n]
        if not gaps:
            return names, {label.name: i for label, i in zip(labels, wanted)}  # type: ignore[misc]
        report.changed("class indexes renumbered", len(labels), "YOLO names are a list without gaps")
    names = [label.name for label in labels]
    return names, {n: i for i, n in enumerate(names)}


FORMAT = FormatSpec(
    name="yolo",
    description="YOLO txt labels (detection and segmentation rows) with data.yaml / classes.txt",
    detect=detect,
    read=read,
    write=write,
    hint_keys=frozenset(("text", "names_from", "newline")),
    output="folder",
    default_file_name="",
    read_options=(
        Option("skip_bad_rows", "--yolo-skip-bad-rows", "skip bad YOLO rows (each one reported) instead "
               "of failing"),
    ),
    write_options=(
        Option("task", "--yolo-task", "YOLO rows: detect (boxes), segment (polygons) or mixed; default "
               "segment when the dataset has polygons or masks", type=str,
               choices=("detect", "segment", "mixed")),
        Option("copy_images", "--yolo-images", "with --images: copy (default), link (hard links) or none",
               type=str, choices=("copy", "link", "none")),
        Option("confidence", "--yolo-confidence", "write scores as a 6th value on box rows"),
    ),
)
