"""read."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ...errors import FormatError
from ...images import image_size
from ...inputs import read_input
from ...io_utils import gc_paused
from ...model import EMPTY, Annotation, Asset, Dataset, Label
from ...report import Report
from .layout import (
    MAX_SKIP_ENTRIES,
    NAME_FILES,
    SIZES_FILE,
    SPLIT_KEYS,
    YAML_KNOWN,
    Entry,
    discover_tree,
    discover_yaml,
    find_names_file,
    find_yaml,
    load_yaml,
    looks_like_labels,
    names_from_file,
    names_from_yaml,
    resolve_root,
)
from .rows import Problems, box_of, box_text, parse_floats, poly_of, poly_text

# ------------------------------------------------------------------------------------------ read


class _Reader:
    """Parses label files into annotations; the per-row hot loop lives in `parse`."""

    def __init__(self, names: dict[int, str] | None, skip_bad_rows: bool, problems: Problems,
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
            if self.skipped <= MAX_SKIP_ENTRIES:
                self.report.dropped("bad rows skipped", why=f"{file} line {lineno}: {message}")
        else:
            self.problems.add(file, f"line {lineno}", message)

    def _class(self, token: str, file: Path, lineno: int) -> int | None:
        if len(token) > 20:  # no class list is that long; int() of over 4,300 digits would raise
            self.bad(file, lineno, f"class index {token[:12]}... ({len(token):,} characters) is out of range")
            return None
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
                bad = next(t for t in parts[1:] if parse_floats(t) is None)
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
            if (cls_token.isascii() and cls_token.isdigit() and len(cls_token) < 19
                    and (names is None or int(cls_token) in names)):
                idx = int(cls_token)
            else:
                idx = self._class(cls_token, file, lineno)
                if idx is None:
                    continue
            self.used_indexes.add(idx)
            label = names[idx] if names is not None else str(idx)
            source = " ".join(parts[1:5]) if n <= 6 else " ".join(parts[1:])
            if n <= 6:
                box = box_of(vals[0], vals[1], vals[2], vals[3], W, H)
                score = None
                if n == 6:
                    score = vals[4]
                    self.confidence = True
                extra = EMPTY if box_text(box, W, H) == source else {"yolo": {"text": source}}
                anns.append(Annotation(label, box, None, None, None, None, None, score, 0, None, None,
                                       EMPTY, (), extra))
            else:
                poly = poly_of(vals, W, H)
                extra = EMPTY if poly_text(poly, W, H) == source else {"yolo": {"text": source}}
                anns.append(Annotation(label, None, [poly], None, None, None, None, None, 0, None, None,
                                       EMPTY, (), extra))
        return anns


def _read_text(path: Path, problems: Problems) -> str | None:
    try:
        data = read_input(path)
    except FormatError as exc:  # a FIFO, device or dangling link
        problems.add(path, None, exc.message)
        return None
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
    problems = Problems()
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
        yaml_path = find_yaml(folder)
    meta: dict[str, Any] = {}
    names: dict[int, str] | None = None
    data: dict[str, Any] = {}
    if yaml_path is not None:
        data = load_yaml(yaml_path)
        if "names" in data:
            names = names_from_yaml(data, yaml_path)
            meta["names_from"] = yaml_path.name
        extra_keys = {k: v for k, v in data.items() if k not in YAML_KNOWN}
        if extra_keys:
            meta["yaml"] = extra_keys
    names_file = find_names_file(folder)
    if names is None and names_file is not None:
        names = names_from_file(names_file)
        meta["names_from"] = names_file.name
    elif names is not None and names_file is not None and names_from_file(names_file) != names:
        report.info(f"{names_file.name} disagrees with {yaml_path.name if yaml_path else 'data.yaml'}",
                    why="the yaml's names were used")
    if names is None:
        report.info("classes named by their index", why="no data.yaml, classes.txt or obj.names")

    has_splits = yaml_path is not None and images_dir is None and any(data.get(k) for k in SPLIT_KEYS)
    split_order: list[str] = []
    if has_splits:
        root = resolve_root(data, yaml_path, report)  # type: ignore[arg-type]
        entries, pool, split_order = discover_yaml(data, yaml_path, root, problems)  # type: ignore[arg-type]
    else:
        root = folder
        entries, pool = discover_tree(folder, images_dir)
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
        if "labels" in txt.parent.parts or looks_like_labels(txt):
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
    if reader.skipped > MAX_SKIP_ENTRIES:
        report.dropped("more bad rows skipped", reader.skipped - MAX_SKIP_ENTRIES)

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


def _tracked(entries: list[Entry], desc: str, progress: bool) -> Iterable[Entry]:
    if not progress:
        return entries
    from ...progress import track

    return track(entries, desc, unit="file")


def _load_sizes(path: Path, problems: Problems) -> dict[str, tuple[str, int, int, str | None]]:
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
                      ) -> Entry | None:
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
    return Entry(None, name, split, txt, (width, height))


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


