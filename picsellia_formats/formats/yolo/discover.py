"""Which images a YOLO dataset holds, with their label files and splits.

A dataset is what it declares, never more (no leak between splits):

* ``data.yaml`` / ``obj.data`` image sets: every image of a named folder, or every line of a list file
  (resolved through `ImageIndex`: a prefix that is not a folder here, like CVAT's ``data/``, costs nothing);
* without image sets, the images of the dataset folder (each with its label file: Ultralytics'
  ``images/`` -> ``labels/`` rule, a ``.txt`` beside it, or a label file of the same name elsewhere in the
  folder, e.g. ``Annotations/x.txt`` for ``Images/x.jpg``);
* with an outside images folder (``--images``), only the images a label file names; the others are
  counted and added only with ``include_unlabelled``.

Example:
    >>> from picsellia_formats.errors import ProblemCollector
    >>> entries, _, _ = discover_tree(Path("fixtures/real_exports/yolo_annotations_images"), None, False,
    ...                               ProblemCollector())
    >>> [(e.file_name, e.label.name) for e in entries]
    [('img_1.jpg', 'img_1.txt'), ('img_2.jpg', 'img_2.txt')]
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ...errors import ProblemCollector
from ...images import IMAGE_EXTENSIONS, ImageIndex
from ...report import Report
from ...splits import is_split_name
from .darknet import resolve_prefixed
from .layout import NAME_FILES, SPLIT_KEYS, looks_like_labels


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


def walk(root: Path) -> tuple[list[Path], list[Path]]:
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


def labels_path(image: Path) -> Path | None:
    """Ultralytics' rule: the last ``images`` folder of the path becomes ``labels``, suffix ``.txt``."""
    parts = image.parts
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] == "images":
            return Path(*parts[:i], "labels", *parts[i + 1:-1], image.stem + ".txt")
    return None


def _place(rel: tuple[str, ...]) -> tuple[str | None, str]:
    """(split, file name) of an image from its path relative to the dataset or image root."""
    lowered = [p.lower() for p in rel[:-1]]
    if "images" in lowered:
        i = len(lowered) - 1 - lowered[::-1].index("images")
        after = rel[i + 1:]
        if len(after) >= 2:
            return after[0], "/".join(after[1:])
        if i >= 1 and is_split_name(rel[i - 1]):
            return rel[i - 1], after[0]
        return None, after[0]
    if len(rel) >= 2 and is_split_name(rel[0]):
        return rel[0], "/".join(rel[1:])
    return None, "/".join(rel)


def _label_for(image: Path, txt_set: set[Path]) -> Path | None:
    mapped = labels_path(image)
    if mapped is not None and mapped in txt_set:
        return mapped
    sibling = image.with_suffix(".txt")
    return sibling if sibling in txt_set else None


def _is_label_file(txt: Path) -> bool:
    return txt.name not in NAME_FILES and looks_like_labels(txt)


def _label_key(txt: Path, root: Path) -> tuple[str, str | None]:
    """The image name a label file stands for (relative, no extension) and its split, if any."""
    parts = [p for p in txt.relative_to(root).with_suffix("").parts if p != "labels"]
    split = parts[0] if len(parts) > 1 and is_split_name(parts[0]) else None
    return "/".join(parts), split


def discover_tree(root: Path, images_dir: Path | None, include_unlabelled: bool, problems: ProblemCollector
                  ) -> tuple[list[Entry], list[Path], int]:
    """Entries for a folder laid out by convention, every .txt found (the label pool), and the count of
    images of `images_dir` that no label file names (added only with `include_unlabelled`)."""
    images, txts = walk(root)
    txt_set = set(txts)
    if images_dir is not None:
        return _external(root, images_dir, txts, include_unlabelled, problems)
    entries = []
    by_image: dict[Path, Entry] = {}
    for img in images:
        split, name = _place(img.relative_to(root).parts)
        entry = by_image[img] = Entry(img, name, split, _label_for(img, txt_set))
        entries.append(entry)
    used = {e.label for e in entries if e.label is not None}
    orphans = [t for t in txts if t not in used and _is_label_file(t)]
    if orphans and images:
        index = ImageIndex(root)
        for txt in orphans:
            key, split = _label_key(txt, root)
            match = index.lookup(key, split)
            if match.ambiguous:
                problems.add(None, "several images fit this label file: "
                             + ", ".join(str(p) for p in match.candidates[:5]), file=txt)
            elif match.path is not None:
                entry = by_image.get(Path(os.path.normpath(match.path)))
                if entry is not None and entry.label is None:
                    entry.label = txt
    return entries, txts, 0


def _external(root: Path, images_dir: Path, txts: list[Path], include_unlabelled: bool, problems: ProblemCollector
              ) -> tuple[list[Entry], list[Path], int]:
    index = ImageIndex(images_dir)
    found: dict[Path, Entry] = {}
    for txt in txts:
        if txt.name in NAME_FILES or not ("labels" in txt.relative_to(root).parts or _is_label_file(txt)):
            continue
        key, split = _label_key(txt, root)
        match = index.lookup(key, split)
        if match.ambiguous:
            problems.add(None, f"several images under {images_dir} fit this label file: "
                         + ", ".join(str(p) for p in match.candidates[:5]), file=txt)
        elif match.path is not None and match.path not in found:
            entry = _external_entry(match.path, images_dir, txt)
            if not entry.splits and split is not None:  # labels/<split>/x.txt over a shared images folder
                entry.splits = [split]
            found[match.path] = entry
    unlabelled = [img for img in index if img not in found]
    if include_unlabelled:
        for img in unlabelled:
            found[img] = _external_entry(img, images_dir, None)
    entries = [found[p] for p in sorted(found)]
    return entries, txts, len(unlabelled)


def _external_entry(img: Path, images_dir: Path, label: Path | None) -> Entry:
    rel = img.relative_to(images_dir).parts
    if len(rel) >= 2 and rel[0] != "images":
        return Entry(img, "/".join(rel[1:]), rel[0], label)
    split, name = _place(rel)
    return Entry(img, name, split, label)


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
        if isinstance(item, Path):
            out.append(item)
            continue
        if not isinstance(item, str) or not item:
            continue
        p = Path(item)
        cand = p if p.is_absolute() else root / p
        if not cand.exists() and item.startswith("../"):
            cand = root / item[3:]  # Roboflow's ../train/images, as Ultralytics resolves it
        out.append(cand)
    return out


def _list_file_images(path: Path, root: Path, split: str, index: ImageIndex, external: bool,
                      problems: ProblemCollector) -> list[tuple[Path, Path | None]]:
    """(image, label file) for each line of an image list; lines resolved through `index`."""
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        problems.add(None, f"cannot read the image list: {exc}", file=path)
        return []
    out: list[tuple[Path, Path | None]] = []
    for lineno, line in enumerate(lines, 1):
        line = line.strip()
        if not line:
            continue
        match = index.lookup(line, split)  # as written (images folder, then dataset folder), else by name
        if match.ambiguous:
            problems.add(f"line {lineno}", f"several images fit {line!r}: "
                         + ", ".join(str(c) for c in match.candidates[:5]), file=path)
            continue
        if match.path is None:
            problems.add(f"line {lineno}", f"image {line!r} not found under {index.folder}", file=path)
            continue
        img = Path(os.path.normpath(match.path))
        label = None
        for cand in (labels_path(img), img.with_suffix(".txt")):
            if cand is not None and os.path.lexists(cand) and not cand.is_dir():  # FIFOs: named on read
                label = cand
                break
        if label is None and external:
            stem = os.path.splitext(line)[0]
            label = resolve_prefixed(root, stem + ".txt")
            mapped = labels_path(Path(stem + ".png"))
            if label is None and mapped is not None:
                label = resolve_prefixed(root, mapped.as_posix())
        out.append((img, label))
    return out


def discover_yaml(data: dict[str, Any], yaml_path: Path, root: Path, problems: ProblemCollector,
                  images_dir: Path | None = None) -> tuple[list[Entry], list[Path], list[str]]:
    """Entries of the image sets `data` names (folders, lists of folders, list files), split-tagged."""
    by_image: dict[Path, Entry] = {}
    entries: list[Entry] = []
    pool: dict[Path, None] = {}
    splits: list[str] = []
    seen_label_dirs: set[Path] = set()
    index = ImageIndex(images_dir if images_dir is not None else root, root)
    sources = {key: _split_sources(data[key], root) for key in SPLIT_KEYS if data.get(key)}
    # train and val naming the same images (a common stand-in for "no split") tag nothing
    same = len(sources) > 1 and all(v == next(iter(sources.values())) for v in sources.values())
    if same:
        sources = dict([next(iter(sources.items()))])
    for key, srcs in sources.items():
        tag = key
        if same:  # one split named twice (as we write it) keeps its folder's split name, else no tag
            tag = srcs[0].name if len(srcs) == 1 and is_split_name(srcs[0].name) else None
        if tag:
            splits.append(tag)
        for src in srcs:
            if not src.exists():
                labels_dir = labels_path(src / "x.png")
                if labels_dir is not None and labels_dir.parent.is_dir():
                    # labels without their images: image_sizes.json (or an error per file) decides
                    pool.update(dict.fromkeys(walk(labels_dir.parent)[1]))
                    continue
            pairs: list[tuple[Path, Path | None]]
            if src.is_dir():
                images, txts_here = walk(src)
                base = src
                pairs = [(img, None) for img in images]
            elif src.is_file() and src.suffix.lower() == ".txt":
                pairs = _list_file_images(src, root, key, index, images_dir is not None, problems)
                txts_here = []
                parents = {p.parent for p, _ in pairs}
                base = Path(os.path.commonpath([str(p) for p in parents])) if parents else src.parent
            elif src.is_file() and src.suffix.lower() in IMAGE_EXTENSIONS:
                pairs, txts_here, base = [(src, None)], [], src.parent
            else:
                problems.add(key, f"{src} does not exist", file=yaml_path)
                continue
            label_dirs = {labels_path(img).parent for img, _ in pairs if labels_path(img) is not None}
            for d in sorted(label_dirs - seen_label_dirs):
                seen_label_dirs.add(d)
                if d.is_dir() and d != src:
                    pool.update(dict.fromkeys(walk(d)[1]))
            pool.update(dict.fromkeys(txts_here))
            for img, label in pairs:
                entry = by_image.get(img)
                if entry is not None:
                    if tag and tag not in entry.splits:
                        entry.splits.append(tag)
                    continue
                try:
                    name = img.relative_to(base).as_posix()
                except ValueError:
                    name = img.name
                if label is None:
                    for cand in (labels_path(img), img.with_suffix(".txt")):
                        if cand is not None and os.path.lexists(cand) and not cand.is_dir():  # FIFOs: named on read
                            label = cand
                            break
                entry = by_image[img] = Entry(img, name, tag, label)
                entries.append(entry)
    return entries, list(pool), splits
