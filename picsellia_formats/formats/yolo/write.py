"""Dataset -> YOLO folder (Ultralytics' layout); rows by `rowwriter`, classification folders by `classify`."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any

from ...errors import FormatError, OptionError, PicselliaFormatsError
from ...images import ImageIndex, image_size
from ...io_utils import gc_paused, safe_relative_path
from ...labels import labels_in_use
from ...model import Asset, Dataset, Label
from ...report import Report
from ...splits import canonical_split, split_of, split_order
from .._writer import write_bytes
from .classify import put_image, write_classify
from .layout import SIZES_FILE
from .rowwriter import RowWriter

#: Tasks the writer knows (Ultralytics' names, plus mixed: each object as it is).
TASKS = ("detect", "segment", "obb", "pose", "classify", "mixed")

# ------------------------------------------------------------------------------------------- write


#: kinds written as rows of normalised coordinates (they need the image size)
_ROW_KINDS = frozenset({"box", "polygon", "mask", "keypoints"})

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


def _yaml_text(names: list[str], split_dirs: dict[str, list[str]], pose: dict[str, list[int]],
               extra: dict[str, Any]) -> str:
    import yaml

    def dump(doc: dict[str, Any]) -> str:
        return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, default_flow_style=False, width=1 << 16)

    text = dump({key: dirs[0] if len(dirs) == 1 else dirs for key, dirs in split_dirs.items()})
    text += "".join(f"{key}: [{', '.join(map(str, v))}]\n" for key, v in pose.items())  # Ultralytics' style
    text += dump({"nc": len(names), "names": names})
    if extra:
        text += dump(extra)
    return text


def default_task(dataset: Dataset, meta: dict[str, Any]) -> str:
    """The task written when none is asked: the source's, else pose with keypoints only, segment
    with polygons or masks, else detect."""
    given = meta.get("task")
    if given in TASKS:
        return given  # type: ignore[no-any-return]
    shapes = keypoints = False
    for asset in dataset.assets:
        for ann in asset.annotations:
            if ann.polygon is not None or ann.mask is not None:
                shapes = True
            elif ann.keypoints is not None:
                keypoints = True
    if keypoints and not shapes:
        return "pose"
    return "segment" if shapes else "detect"


def _kpt_shape(dataset: Dataset, meta: dict[str, Any]) -> tuple[int, int]:
    given = meta.get("kpt_shape")
    if isinstance(given, list) and len(given) == 2:
        return int(given[0]), int(given[1])
    counts: dict[int, int] = {}
    for asset in dataset.assets:
        for ann in asset.annotations:
            if ann.keypoints is not None:
                n = len(ann.keypoints) // 3
                counts[n] = counts.get(n, 0) + 1
    if not counts:
        raise OptionError("YOLO pose needs keypoints: the dataset has none (choose another --yolo-task)")
    return max(counts, key=lambda n: (counts[n], n)), 3


def _sizes(dataset: Dataset, index: ImageIndex | None, splits: list[str | None]) -> list[tuple[float, float] | None]:
    """Each asset's (width, height): the dataset's, else its image's header; None when unknown.

    Raises FormatError when an asset with objects has no known size (YOLO values are fractions of it).
    """
    out: list[tuple[float, float] | None] = []
    unknown: list[str] = []
    for asset, split in zip(dataset.assets, splits):
        W, H = asset.width, asset.height
        if (not W or not H) and index is not None:
            src = index.find(asset.file_name, split)
            if src is not None:
                W, H = image_size(src)
        if W and H:
            out.append((W, H))
        else:
            out.append(None)
            if any(ann.kind in _ROW_KINDS for ann in asset.annotations):  # rows need the size; tags do not
                unknown.append(asset.file_name)
    if unknown:
        where = "in the images folder given" if index is not None else "without --images"
        raise FormatError(f"{len(unknown)} images holding objects have no known size {where} (e.g. "
                          f"{unknown[0]!r}); YOLO values are fractions of the image size: pass --images (the "
                          "folder of the image files) or give the sizes (width and height) in the source",
                          record=f"image {unknown[0]!r}")
    return out


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
    """Write `dataset` as a YOLO folder in Ultralytics' layout.

    ``images/[<split>/]``, ``labels/[<split>/]*.txt`` (one per asset, empty for an asset without
    objects), ``data.yaml`` (``train``, ``val``, ``test`` when present, ``kpt_shape``/``flip_idx`` for
    pose, ``nc``, ``names``) and ``classes.txt``. Split tags (train, val, test and aliases, see `splits`)
    choose the folder; untagged assets of a split dataset go to train. ``data.yaml`` always names ``train``
    and ``val`` (Ultralytics needs both): a dataset with one split points both at it, one without a val
    split points val at train, and the report says so. It has no ``path`` key: Ultralytics then resolves
    the sets against the yaml's own folder (a relative ``path`` would be resolved against the current
    directory), so the folder can be moved.

    `task`: ``detect``, ``segment``, ``obb``, ``pose``, ``classify`` or ``mixed`` (see `rowwriter`); by
    default the YOLO source's task, else pose with keypoints, segment with polygons or masks, else detect.
    `images`: folder of the image files, copied (or hard-linked, ``copy_images="link"``, or symlinked,
    ``"symlink"``; a refused link falls back to a copy, counted in the report) beside the labels;
    ``copy_images="none"`` writes labels only (then ``image_sizes.json`` keeps the sizes so the folder reads
    back). `confidence`: write scores as a 6th value on box rows (default: when the source had them).
    Raises FormatError when an image holding objects has no known size (pass `images`), OptionError on a
    bad option.

    Example (the call ``split --to yolo`` makes, one dataset for Ultralytics' trainer):
        >>> import tempfile
        >>> from picsellia_formats import read
        >>> ds = read("fixtures/real_exports/yolo_same_name_two_splits")
        >>> out = Path(tempfile.mkdtemp()) / "y"
        >>> write(ds, out, images="fixtures/real_exports/yolo_same_name_two_splits", copy_images="link")
        >>> sorted(p.relative_to(out).as_posix() for p in out.rglob("*.txt"))
        ['classes.txt', 'labels/train/train/1.txt', 'labels/val/val/1.txt']
    """
    if task is not None and task not in TASKS:
        raise OptionError(f"task must be one of {', '.join(TASKS)}, got {task!r}")
    if copy_images is None:
        copy_images = "copy"
    elif copy_images not in ("copy", "link", "symlink", "none"):
        raise OptionError(f"copy_images must be copy, link, symlink or none, got {copy_images!r}")
    elif copy_images != "none" and not images:
        raise PicselliaFormatsError(f"--yolo-images {copy_images} (copy_images={copy_images!r}): needs --images, "
                                    "the folder of the image files to put beside the labels")
    report = report if report is not None else Report()
    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    meta = dataset.metadata.get("yolo") or {}
    if task is None:
        task = default_task(dataset, meta)
    if task == "classify":
        write_classify(dataset, out, Path(images) if images else None, copy_images, report)
        return
    if confidence is None:
        confidence = bool(meta.get("confidence"))
    nl = "\r\n" if meta.get("newline") == "\r\n" else "\n"

    names, index = _class_indexes(labels_in_use(dataset), report)
    kpt_shape = _kpt_shape(dataset, meta) if task == "pose" else None

    splits = [split_of(a.tags, asset=a.file_name) for a in dataset.assets]
    any_split = any(s is not None for s in splits)
    unsplit = sum(1 for s in splits if s is None) if any_split else 0
    if unsplit:
        report.info("assets without a split tag written to train", unsplit)
        splits = [s or "train" for s in splits]
    image_index = ImageIndex(images) if images else None
    sizes_of = _sizes(dataset, image_index, splits)
    copy_from = image_index if copy_images != "none" else None

    writer = RowWriter(index, task, confidence, kpt_shape)
    made: set[str] = set()
    taken: set[str] = set()
    sizes: dict[str, list[Any]] = {}
    renamed: list[str] = []
    missing_images = link_refused = 0
    extra_tags = 0
    root = str(out)
    labels_root = root + "/labels/"
    images_root = root + "/images/"
    os.makedirs(labels_root, exist_ok=True)  # even with no assets: data.yaml's sets resolve to it on read
    with gc_paused():
        items: Iterable[tuple[Asset, str | None, tuple[float, float] | None]] = zip(dataset.assets, splits, sizes_of)
        if progress and len(splits) > 1:
            from ...progress import track

            items = track(items, "writing YOLO files", total=len(splits), unit="file")
        for asset, split, wh in items:
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
            if asset.annotations and wh is not None:
                rows = writer.rows(asset, wh[0], wh[1])
                text = nl.join(rows) + nl if rows else ""
            else:
                text = ""
            write_bytes(labels_root + stem + ".txt", text.encode())
            src = copy_from.find(asset.file_name, split) if copy_from is not None else None
            if src is not None:
                link_refused += not put_image(src, images_root + rel, copy_images)
            else:
                missing_images += copy_from is not None
                if wh is not None:
                    entry = [name, round(wh[0]), round(wh[1])]
                    sizes[stem] = [*entry, split] if split else entry
            if asset.tags and len(asset.tags) > (1 if split in asset.tags else 0):
                extra_tags += 1

    split_dirs = _split_dirs(splits if any_split else [], report)
    pose: dict[str, list[int]] = {}
    if kpt_shape is not None:
        pose["kpt_shape"] = list(kpt_shape)
        flip = meta.get("flip_idx")
        if isinstance(flip, list) and len(flip) == kpt_shape[0]:
            pose["flip_idx"] = flip
    yaml_extra = meta.get("yaml") if isinstance(meta.get("yaml"), dict) else {}
    with open(out / "data.yaml", "w", encoding="utf-8", newline="") as f:
        f.write(_yaml_text(names, split_dirs, pose, yaml_extra))
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
    report.info("images copied: the file system refused links", link_refused)
    if missing_images:
        report.info("images not found in the images folder, not copied", missing_images)
    report.dropped("asset tags other than the split", extra_tags, "YOLO has no tags")


def _split_dirs(splits: list[str | None], report: Report) -> dict[str, list[str]]:
    """data.yaml's ``train``/``val``/``test`` entries; train and val are always there (Ultralytics needs both)."""
    present = sorted({s for s in splits if s}, key=split_order)
    if not present:
        return {"train": ["images"], "val": ["images"]}
    out: dict[str, list[str]] = {}
    for s in present:
        key = {"trainval": "train"}.get(canonical_split(s) or "", canonical_split(s) or s)
        out.setdefault(key, []).append(f"images/{s}")
    if "train" not in out:
        first = next(iter(out))
        out = {"train": list(out[first]), **out}
        report.info(f"data.yaml: no train split, train points to the {first} images", why="Ultralytics needs train")
    if "val" not in out:
        out = {"train": out["train"], "val": list(out["train"]),
               **{k: v for k, v in out.items() if k != "train"}}
        only = "the only split" if len(present) == 1 else "no val split"
        report.info(f"data.yaml: val points to the train images ({only})", why="Ultralytics needs train and val")
    return out


def _rename(stem: str, rel: str, taken: set[str]) -> tuple[str, str]:
    ext = rel[len(stem):]
    base = f"{stem}_{ext.lstrip('.')}" if ext else f"{stem}_"
    new, i = base, 2
    while new in taken:
        new, i = f"{base}{i}", i + 1
    return new, new + ext


def _class_indexes(labels: Iterable[Label], report: Report) -> tuple[list[str], dict[str, int]]:
    """Class names in index order and the index of each label name."""
    labels = list(labels)
    wanted = [label.extra.get("yolo", {}).get("index") if label.extra else None for label in labels]
    if all(type(i) is int and 0 <= i < 2 * len(labels) + 16 for i in wanted) and len(set(wanted)) == len(wanted) \
            and labels:  # a list no longer than twice the labels: memory bounded by the labels
        names = [""] * (max(wanted) + 1)  # type: ignore[type-var]
        for label, i in zip(labels, wanted):
            names[i] = label.name  # type: ignore[index]
        gaps = [i for i, n in enumerate(names) if not n]
        if not gaps:
            return names, {label.name: i for label, i in zip(labels, wanted)}  # type: ignore[misc]
        report.changed("class indexes renumbered", len(labels), "YOLO names are a list without gaps")
    names = [label.name for label in labels]
    return names, {n: i for i, n in enumerate(names)}




def write_stream(
    labels: Iterable[Label],
    metadata: dict[str, Any],
    assets: Iterable[Asset],
    path: str | Path,
    *,
    has_shapes: bool = False,
    any_split: bool = False,
    images: str | Path | None = None,
    report: Report | None = None,
    task: str | None = None,
    copy_images: str | None = None,
    confidence: bool | None = None,
) -> None:
    """`write` for assets met once (a stream): the same files, the assets BUFFERED into a `Dataset` first.

    The YOLO writer needs the whole dataset (its task, class indexes, bridged rings, splits for
    ``data.yaml``), so this holds every asset in memory, then calls `write`: the output is byte for byte
    `write`'s, the memory is not bounded (see docs/scale.md). `has_shapes` and `any_split` are accepted for
    the streaming caller and not needed here.

    Example:
        >>> import tempfile, os
        >>> from picsellia_formats.model import Annotation, Asset, Label
        >>> out = tempfile.mkdtemp()
        >>> write_stream([Label("cat")], {}, iter([Asset("a.jpg", 10, 10, [Annotation("cat", box=(0, 0, 5, 5))])]),
        ...              out)
        >>> open(os.path.join(out, "labels", "a.txt")).read()
        '0 0.25 0.25 0.5 0.5\\n'
    """
    del has_shapes, any_split
    write(Dataset(labels=labels, assets=assets, metadata=metadata), path, images=images, report=report,
          task=task, copy_images=copy_images, confidence=confidence)
