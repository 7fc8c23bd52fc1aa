"""read."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ...errors import FormatError, OptionError, ProblemCollector
from ...images import BrokenImage, size_or_broken
from ...inputs import read_input
from ...io_utils import gc_paused
from ...model import EMPTY, Annotation, Asset, Dataset, Label
from ...report import Report
from .classify import classify_layout, read_classify
from .darknet import OBJ_DATA, parse_obj_data
from .discover import Entry, discover_tree, discover_yaml, resolve_root
from .layout import (
    NAME_FILES,
    SIZES_FILE,
    SPLIT_KEYS,
    YAML_KNOWN,
    find_names_file,
    find_yaml,
    load_yaml,
    looks_like_labels,
    names_from_file,
    names_from_yaml,
    pose_keys,
)
from .parse import MAX_SKIP_ENTRIES, ROW_TASKS, RowParser


def _read_text(path: Path, problems: ProblemCollector) -> str | None:
    try:
        data = read_input(path)  # a FIFO, device or dangling link: a problem naming it, never a hang
    except FormatError as exc:
        problems.add(None, exc.message, file=path)
        return None
    except OSError as exc:
        problems.add(None, f"cannot read: {exc.strerror or exc}", file=path)
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        problems.add(None, f"not UTF-8 text: {exc.reason} at byte {exc.start}", file=path)
        return None


def read(
    path: str | Path,
    *,
    images: str | Path | None = None,
    report: Report | None = None,
    skip_bad_rows: bool = False,
    include_unlabelled: bool = False,
    task: str | None = None,
    progress: bool = False,
    broken_images: list[BrokenImage] | None = None,
) -> Dataset:
    """Read a YOLO dataset folder (or its ``data.yaml`` / Darknet ``obj.data``).

    `images`: the folder of the images when they are not inside the dataset folder; only the images
    a label file names are read from it, unless `include_unlabelled` (their count is reported).
    `skip_bad_rows`: report each bad row and go on, instead of raising FormatError.
    `task`: the Ultralytics task the rows must follow (detect, segment, obb, pose); by default pose when
    ``data.yaml`` has ``kpt_shape``, else each row is read by its count (see `parse`).
    `progress`: a bar over the label files on stderr when it is a terminal.
    `broken_images`: a list to which each image whose header cannot be read is appended (a
    `BrokenImage`: its asset is left out) instead of failing; the validator's hook, not a format option.
    Raises FormatError naming the file and line of every bad row, label files without an image,
    and unreadable images.

    Example:
        >>> ds = read("fixtures/real_exports/cvat_yolo11")
        >>> [(a.file_name, a.tags, len(a.annotations)) for a in ds.assets]
        [('frame_000000.jpg', ['train'], 2), ('frame_000001.jpg', ['train'], 0)]
    """
    path = Path(path)
    report = report if report is not None else Report()
    problems = ProblemCollector()
    images_dir = Path(images) if images else None
    if task is not None and task not in (*ROW_TASKS, "classify"):
        raise OptionError(f"task must be one of {', '.join((*ROW_TASKS, 'classify'))}, got {task!r}")
    obj_data: Path | None = None
    if path.is_file():
        if path.name.lower() == OBJ_DATA:
            obj_data, yaml_path, folder = path, None, path.parent
        elif path.suffix.lower() not in (".yaml", ".yml"):
            raise FormatError("a YOLO dataset is a folder (or its data.yaml or obj.data), not a single file",
                              file=path)
        else:
            yaml_path, folder = path, path.parent
    else:
        folder = path
        if folder.name == "labels" and (folder.parent / "images").is_dir():
            folder = folder.parent  # pointed at the labels folder of an images/ + labels/ pair
        yaml_path = find_yaml(folder)
        if yaml_path is None and (folder / OBJ_DATA).is_file():
            obj_data = folder / OBJ_DATA
        elif yaml_path is None and task in (None, "classify"):
            layout = classify_layout(folder)
            if layout is not None:
                return read_classify(folder, layout)
    meta: dict[str, Any] = {}
    names: dict[int, str] | None = None
    data: dict[str, Any] = {}
    if obj_data is not None:
        data = parse_obj_data(obj_data)
        names_path = data.pop("names", None)
        if isinstance(names_path, Path):
            names = names_from_file(names_path)
            meta["names_from"] = OBJ_DATA
        yaml_path = obj_data
    elif yaml_path is not None:
        data = load_yaml(yaml_path)
        if "names" in data:
            names = names_from_yaml(data, yaml_path)
            meta["names_from"] = yaml_path.name
        extra_keys = {k: v for k, v in data.items() if k not in YAML_KNOWN}
        if extra_keys:
            meta["yaml"] = extra_keys
    kpt_shape, flip_idx = pose_keys(data, yaml_path) if obj_data is None and yaml_path else (None, None)
    if kpt_shape is not None:
        if task not in (None, "pose"):
            raise OptionError(f"task {task!r} given, but {yaml_path} declares kpt_shape (a pose dataset)")
        task = "pose"
        meta["kpt_shape"] = list(kpt_shape)
        if flip_idx is not None:
            meta["flip_idx"] = flip_idx
    elif task == "pose":
        raise OptionError("task 'pose' needs kpt_shape: [N, 2 or 3] in data.yaml")
    names_file = find_names_file(folder)
    if names is None and names_file is not None:
        names = names_from_file(names_file)
        meta["names_from"] = names_file.name
    elif names is not None and names_file is not None and names_from_file(names_file) != names:
        report.info(f"{names_file.name} disagrees with {yaml_path.name if yaml_path else 'data.yaml'}",
                    why="the yaml's names were used")
    if names is None:
        report.info("classes named by their index", why="no data.yaml, classes.txt or obj.names")

    sets = [v for k in SPLIT_KEYS if data.get(k) for v in (data[k] if isinstance(data[k], list) else [data[k]])]
    lists_only = all(isinstance(v, Path) or (isinstance(v, str) and v.lower().endswith(".txt")) for v in sets)
    has_splits = yaml_path is not None and bool(sets) and (images_dir is None or lists_only)
    split_order: list[str] = []
    unlabelled = 0
    if has_splits:
        root = folder if obj_data is not None else resolve_root(data, yaml_path, report)  # type: ignore[arg-type]
        entries, pool, split_order = discover_yaml(data, yaml_path, root, problems, images_dir)  # type: ignore[arg-type]
    else:
        root = folder
        entries, pool, unlabelled = discover_tree(folder, images_dir, include_unlabelled, problems)
    problems.raise_if_any()
    if not entries and not pool and yaml_path is None and names_file is None:
        raise FormatError("no YOLO dataset here: no data.yaml, classes.txt or obj.names, no label files and no "
                          "images", file=path)
    if unlabelled:
        if include_unlabelled:
            report.info("images without a label file added as empty images", unlabelled,
                        why="--include-unlabelled")
        else:
            report.info("images of the images folder that no label file names, not added", unlabelled,
                        why="--include-unlabelled adds them as empty images")

    used = {e.label for e in entries if e.label is not None}
    skip_names = set(NAME_FILES)
    labels_root = root / "labels"
    sizes = _load_sizes(labels_root.parent / SIZES_FILE, problems)
    not_labels: list[Path] = []
    for txt in pool:
        if txt in used or txt.name in skip_names:
            continue
        entry = _entry_from_sizes(txt, labels_root, sizes)
        if entry is not None:
            entries.append(entry)
            continue
        if looks_like_labels(txt) or ("labels" in txt.parent.parts and _is_empty(txt)):
            where = txt.parent.parent / "images" if txt.parent.name == "labels" else txt.parent
            looked = f"in {images_dir}" if images_dir else f"beside it or in {where}"
            problems.add(None, f"label file without an image: no {txt.stem}.<jpg|jpeg|png|bmp|webp> "
                                    f"{looked} (YOLO values are relative to the image size, so the image "
                                    "is needed)", file=txt)
        elif txt.suffix == ".txt" and not any(txt == Path(str(v)) for v in sets):
            not_labels.append(txt)
    problems.raise_if_any()
    if not_labels:
        report.info("text files that hold no YOLO rows, ignored", len(not_labels), example=str(not_labels[0]))

    if sizes:
        if all(e.image is None for e in entries):
            rank = {key: i for i, key in enumerate(sizes)}  # the writer's (the dataset's) order
            entries.sort(key=lambda e: rank[e.label.relative_to(labels_root).with_suffix("").as_posix()])  # type: ignore[union-attr]
        else:
            entries.sort(key=lambda e: (e.splits[0] if e.splits else "", e.file_name))
    _keep_names_apart(entries, report)
    reader = RowParser(names, task, kpt_shape, skip_bad_rows, problems, report)
    assets: list[Asset] = []
    crlf = lf = 0
    with gc_paused():
        for e in _tracked(entries, f"reading {path.name}", progress):
            if e.image is None:
                W, H = e.size  # type: ignore[misc]
            else:
                try:
                    size = size_or_broken(e.image, e.file_name, broken_images, left_out=True)
                except FormatError as err:
                    problems.extend(err)
                    continue
                if size is None:  # noted in broken_images: its rows are counted, never parsed
                    broken_images[-1] = broken_images[-1]._replace(objects=_row_count(e.label))  # type: ignore[index]
                    continue
                W, H = size
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
    kinds = reader.row_kinds
    if task is not None:
        meta["task"] = task
    elif kinds and set(kinds) == {"obb"}:
        meta["task"] = "obb"  # every row 4 corners: written back as OBB rows
    return Dataset(labels, assets, {"yolo": meta} if meta else {})


def _row_count(label: Path | None) -> int:
    """Non-blank lines of a label file (0 when there is none or it cannot be read)."""
    if label is None:
        return 0
    try:
        return sum(1 for line in read_input(label).splitlines() if line.strip())
    except (OSError, FormatError):  # unreadable, or a FIFO/device (read_input refuses it): not counted
        return 0


def _is_empty(path: Path) -> bool:
    try:
        return path.stat().st_size == 0
    except OSError:
        return False


def _keep_names_apart(entries: list[Entry], report: Report) -> None:
    """Entries of several splits sharing a file name get ``<split>/`` in front (stable, reported)."""
    seen: dict[str, int] = {}
    for e in entries:
        seen[e.file_name] = seen.get(e.file_name, 0) + 1
    clashes = {n for n, k in seen.items() if k > 1}
    if not clashes:
        return
    renamed = 0
    for e in entries:
        if e.file_name in clashes and e.splits:
            e.file_name = f"{e.splits[0]}/{e.file_name}"
            renamed += 1
    if renamed:
        report.info("file names prefixed with their split folder (the same name in several splits)", renamed,
                    example=next(e.file_name for e in entries if e.splits and "/" in e.file_name))


def _tracked(entries: list[Entry], desc: str, progress: bool) -> Iterable[Entry]:
    if not progress:
        return entries
    from ...progress import track

    return track(entries, desc, unit="file")


def _load_sizes(path: Path, problems: ProblemCollector) -> dict[str, tuple[str, int, int, str | None]]:
    """`SIZES_FILE`: ``{"<label path under labels/, no .txt>": [file_name, width, height, split?]}``."""
    if not path.is_file():
        return {}
    import orjson

    try:
        data = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        problems.add(None, f"cannot read image sizes: {exc}", file=path)
        return {}
    out: dict[str, tuple[str, int, int, str | None]] = {}
    if not isinstance(data, dict):
        problems.add(None, "expected an object of label path -> [file name, width, height]", file=path)
        return out
    for key, v in data.items():
        ok = isinstance(v, list) and len(v) in (3, 4) and isinstance(v[0], str) and v[0] \
            and all(type(n) is int and n > 0 for n in v[1:3]) and (len(v) == 3 or isinstance(v[3], str))
        if not ok:
            problems.add(repr(key), f"expected [file name, width, height(, split)], got {v!r}", file=path)
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


