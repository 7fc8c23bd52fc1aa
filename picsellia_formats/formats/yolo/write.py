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


def _keypoint_counts(assets: Iterable[Asset]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for asset in assets:
        for ann in asset.annotations:
            if ann.keypoints is not None:
                n = len(ann.keypoints) // 3
                counts[n] = counts.get(n, 0) + 1
    return counts


def _kpt_shape(counts: dict[int, int], meta: dict[str, Any]) -> tuple[int, int]:
    """The source's ``kpt_shape``, else the most common keypoint count (the larger on a tie), 3 values each."""
    given = meta.get("kpt_shape")
    if isinstance(given, list) and len(given) == 2:
        return int(given[0]), int(given[1])
    if not counts:
        raise OptionError("YOLO pose needs keypoints: the dataset has none (choose another --yolo-task)")
    return max(counts, key=lambda n: (counts[n], n)), 3


def _options(task: str | None, copy_images: str | None, images: str | Path | None) -> str:
    """The checked images mode (`copy_images`, default ``copy``); OptionError on a bad task or mode."""
    if task is not None and task not in TASKS:
        raise OptionError(f"task must be one of {', '.join(TASKS)}, got {task!r}")
    if copy_images is None:
        return "copy"
    if copy_images not in ("copy", "link", "symlink", "none"):
        raise OptionError(f"copy_images must be copy, link, symlink or none, got {copy_images!r}")
    if copy_images != "none" and not images:
        raise PicselliaFormatsError(f"--yolo-images {copy_images} (copy_images={copy_images!r}): needs --images, "
                                    "the folder of the image files to put beside the labels")
    return copy_images


class YoloFolder:
    """A YOLO folder written one asset at a time: `add` writes the asset's label file (and puts its image),
    `close` writes what needs every asset (``data.yaml``, ``classes.txt``, ``image_sizes.json``'s end) and
    the report entries. Held per asset: its label file's stem (names kept apart) and its split's name.

    The decisions that need the whole dataset are made by the caller and given: `task`, `names`/`index`
    (`_class_indexes`), `kpt_shape`, `any_split` (untagged assets go to train). A label met first on an
    object gets the next index (`index` is filled in place) unless `fixed_indexes` (the source's own YOLO
    indexes are kept: a later label could only renumber them, FormatError).

    Example:
        >>> import tempfile
        >>> from picsellia_formats.model import Annotation
        >>> out = Path(tempfile.mkdtemp())
        >>> w = YoloFolder(out, ["cat"], {"cat": 0}, task="detect", report=Report())
        >>> w.add(Asset("a.jpg", 10, 10, [Annotation("cat", box=(0, 0, 5, 5))]))
        >>> (out / "labels" / "a.txt").read_text()
        '0 0.25 0.25 0.5 0.5\\n'
        >>> w.close(); sorted(p.name for p in out.iterdir())
        ['classes.txt', 'data.yaml', 'image_sizes.json', 'labels']
    """

    def __init__(self, out: Path, names: list[str], index: dict[str, int], *, task: str, report: Report,
                 confidence: bool = False, kpt_shape: tuple[int, int] | None = None, any_split: bool = False,
                 images: str | Path | None = None, copy_images: str = "copy", meta: dict[str, Any] | None = None,
                 fixed_indexes: bool = False) -> None:
        self.out, self.names, self.report = out, names, report
        self.meta = meta or {}
        self.nl = "\r\n" if self.meta.get("newline") == "\r\n" else "\n"
        self.any_split, self.kpt_shape, self.copy_images = any_split, kpt_shape, copy_images
        self.fixed_indexes = fixed_indexes
        self.index = index
        self.writer = RowWriter(index, task, confidence, kpt_shape)
        self.image_index = ImageIndex(images) if images else None
        self.copy_from = self.image_index if copy_images != "none" else None
        self.made: set[str] = set()
        self.taken: set[str] = set()
        self.splits: set[str] = set()
        self.renamed: list[str] = []
        self.missing_images = self.link_refused = self.extra_tags = 0
        self.unsplit = self.n_sizes = 0
        self.unknown: list[str] = []  # assets with rows and no size: nothing is written after the first
        self.sizes_file: Any = None
        root = str(out)
        self.labels_root = root + "/labels/"
        self.images_root = root + "/images/"
        os.makedirs(self.labels_root, exist_ok=True)  # even with no assets: data.yaml's sets resolve to it

    def _new_label(self, name: str) -> int:
        if self.fixed_indexes:
            raise FormatError(f"label {name!r} is not in the label list and the list keeps the source's YOLO "
                              "class indexes: convert in memory (--no-stream)")
        self.names.append(name)
        self.index[name] = len(self.names) - 1
        return len(self.names) - 1

    def add(self, asset: Asset) -> None:
        """Write one asset's label file (an empty one without objects) and put its image."""
        index = self.index
        for ann in asset.annotations:
            if ann.label not in index:
                self._new_label(ann.label)
        split = split_of(asset.tags, asset=asset.file_name)
        if split is None:
            if self.any_split:
                self.unsplit += 1
                split = "train"
        else:
            self.splits.add(split)
        W, H = asset.width, asset.height
        if (not W or not H) and self.image_index is not None:
            src = self.image_index.find(asset.file_name, split)
            if src is not None:
                W, H = image_size(src)
        if not (W and H):
            W = H = None
            if any(ann.kind in _ROW_KINDS for ann in asset.annotations):  # rows need the size; tags do not
                self.unknown.append(asset.file_name)
        if self.unknown:
            return
        name = _out_name(asset.file_name)
        rel = f"{split}/{name}" if split else name
        stem = _stem(rel)
        taken = self.taken
        if stem in taken:
            stem, rel = _rename(stem, rel, taken)
            self.renamed.append(f"{asset.file_name} -> {rel}")
        taken.add(stem)
        folder = stem[:stem.rfind("/") + 1]
        if folder not in self.made:
            os.makedirs(self.labels_root + folder, exist_ok=True)
            self.made.add(folder)
        if asset.annotations and W is not None:
            rows = self.writer.rows(asset, W, H)  # type: ignore[arg-type]
            nl = self.nl
            text = nl.join(rows) + nl if rows else ""
        else:
            text = ""
        write_bytes(self.labels_root + stem + ".txt", text.encode())
        src = self.copy_from.find(asset.file_name, split) if self.copy_from is not None else None
        if src is not None:
            self.link_refused += not put_image(src, self.images_root + rel, self.copy_images)
        else:
            self.missing_images += self.copy_from is not None
            if W is not None:
                entry = [name, round(W), round(H)]  # type: ignore[arg-type]
                self._size(stem, [*entry, split] if split else entry)
        if asset.tags and len(asset.tags) > (1 if split in asset.tags else 0):
            self.extra_tags += 1

    def _size(self, stem: str, entry: list[Any]) -> None:
        """One ``image_sizes.json`` entry, appended to the file (the object's keys in the assets' order)."""
        import orjson

        if self.sizes_file is None:
            self.sizes_file = open(self.out / SIZES_FILE, "wb")
            head = b"{"
        else:
            head = b","
        self.sizes_file.write(head + orjson.dumps(stem) + b":" + orjson.dumps(entry))
        self.n_sizes += 1

    def close(self) -> None:
        """Write data.yaml, classes.txt, the end of image_sizes.json and the report entries.

        Raises FormatError when an image holding objects had no known size (YOLO values are fractions of it).
        """
        if self.sizes_file is not None:
            self.sizes_file.write(b"}")
            self.sizes_file.close()
            self.sizes_file = None
        report, out, names, nl = self.report, self.out, self.names, self.nl
        if self.unknown:
            unknown = self.unknown
            where = "in the images folder given" if self.image_index is not None else "without --images"
            raise FormatError(f"{len(unknown)} images holding objects have no known size {where} (e.g. "
                              f"{unknown[0]!r}); YOLO values are fractions of the image size: pass --images (the "
                              "folder of the image files) or give the sizes (width and height) in the source",
                              record=f"image {unknown[0]!r}")
        if self.unsplit:
            report.info("assets without a split tag written to train", self.unsplit)
        splits = sorted(self.splits) + (["train"] if self.unsplit else [])
        split_dirs = _split_dirs(splits if self.any_split else [], report)
        pose: dict[str, list[int]] = {}
        if self.kpt_shape is not None:
            pose["kpt_shape"] = list(self.kpt_shape)
            flip = self.meta.get("flip_idx")
            if isinstance(flip, list) and len(flip) == self.kpt_shape[0]:
                pose["flip_idx"] = flip
        yaml_extra = self.meta.get("yaml") if isinstance(self.meta.get("yaml"), dict) else {}
        with open(out / "data.yaml", "w", encoding="utf-8", newline="") as f:
            f.write(_yaml_text(names, split_dirs, pose, yaml_extra))
        if all("\n" not in n and "\r" not in n and n.strip() == n and n for n in names):
            with open(out / "classes.txt", "w", encoding="utf-8", newline="") as f:
                f.write("".join(n + nl for n in names))
        else:
            report.info("classes.txt not written", why="a class name has a line break or edge spaces")
        self.writer.report_to(report)
        if self.renamed:
            report.changed("file names changed to keep label files apart", len(self.renamed),
                           "two images share a stem", example=self.renamed[0])
        report.info("images copied: the file system refused links", self.link_refused)
        if self.missing_images:
            report.info("images not found in the images folder, not copied", self.missing_images)
        report.dropped("asset tags other than the split", self.extra_tags, "YOLO has no tags")

    def abort(self) -> None:
        """Close the open file after an error (the caller's output policy removes the folder)."""
        if self.sizes_file is not None:
            self.sizes_file.close()
            self.sizes_file = None


def _write_all(folder: YoloFolder, assets: Iterable[Asset]) -> None:
    try:
        with gc_paused():
            add = folder.add
            for asset in assets:
                add(asset)
        folder.close()
    finally:
        folder.abort()


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
    """Write `dataset` as a YOLO folder in Ultralytics' layout (`YoloFolder` fed with the dataset's assets).

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
    copy_images = _options(task, copy_images, images)
    report = report if report is not None else Report()
    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    meta = dataset.metadata.get("yolo") or {}
    if task is None:
        task = default_task(dataset, meta)
        if meta.get("task") not in TASKS:
            report_chosen_task(task, report)
    if task == "classify":
        write_classify(dataset, out, Path(images) if images else None, copy_images, report)
        return
    names, index = _class_indexes(labels_in_use(dataset), report)
    folder = YoloFolder(out, names, index, task=task, report=report,
                        confidence=bool(meta.get("confidence")) if confidence is None else confidence,
                        kpt_shape=_kpt_shape(_keypoint_counts(dataset.assets), meta) if task == "pose" else None,
                        any_split=any(split_of(a.tags, asset=a.file_name) is not None for a in dataset.assets),
                        images=images, copy_images=copy_images, meta=meta)
    assets: Iterable[Asset] = dataset.assets
    if progress and len(dataset.assets) > 1:
        from ...progress import track

        assets = track(assets, "writing YOLO files", total=len(dataset.assets), unit="file")
    _write_all(folder, assets)

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
    """`write` for assets met once (a stream): each label file written as its asset comes, memory bounded.

    What `write` decides from the whole dataset comes from what the stream knows before its first asset:

    * the task (unless given or in the source's metadata): segment when `has_shapes` (some object is a
      polygon or a mask), else pose when a label declares keypoints (COCO keypoint categories), else detect;
    * `kpt_shape` for pose: the source's, else the one keypoint count the labels declare (OptionError when
      they declare several: pass the task detect, or convert in memory);
    * the split folders: `any_split` (some asset has a split tag);
    * class indexes: the labels' order, a label met first on an object getting the next index.

    The stream is checked against those hints as it goes and at its end: an object or tag that `write`
    would have decided otherwise from (a polygon in a stream said to have none, a split tag, keypoints in a
    detect stream, a pose stream without keypoints, keypoint counts that make another `kpt_shape`) raises
    FormatError, never a different output. The output is `write`'s, byte for byte.

    Example:
        >>> import tempfile, os
        >>> from picsellia_formats.model import Annotation, Asset, Label
        >>> out = tempfile.mkdtemp()
        >>> write_stream([Label("cat")], {}, iter([Asset("a.jpg", 10, 10, [Annotation("cat", box=(0, 0, 5, 5))])]),
        ...              out)
        >>> open(os.path.join(out, "labels", "a.txt")).read()
        '0 0.25 0.25 0.5 0.5\\n'
    """
    copy_images = _options(task, copy_images, images)
    report = report if report is not None else Report()
    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    labels = list(labels)
    meta = metadata.get("yolo") or {}
    declared = sorted({len(label.keypoints) for label in labels if label.keypoints})
    given = task if task is not None else meta.get("task") if meta.get("task") in TASKS else None
    task = stream_task(labels, metadata, has_shapes, given)
    if given is None:
        report_chosen_task(task, report)
    if task == "classify":
        from types import SimpleNamespace

        write_classify(SimpleNamespace(assets=assets), out, Path(images) if images else None,  # type: ignore[arg-type]
                       copy_images, report)
        return
    kpt_shape = None
    kpt_given = isinstance(meta.get("kpt_shape"), list) and len(meta["kpt_shape"]) == 2
    if task == "pose":
        if kpt_given:
            kpt_shape = _kpt_shape({}, meta)
        elif len(declared) == 1:
            kpt_shape = (declared[0], 3)
        else:
            raise OptionError("YOLO pose from a stream needs one keypoint count: the labels declare "
                              f"{', '.join(map(str, declared)) or 'none'} (convert in memory, --no-stream)")
    names, index = _class_indexes(labels, report)
    fixed = names != [label.name for label in labels]
    folder = YoloFolder(out, names, index, task=task, report=report,
                        confidence=bool(meta.get("confidence")) if confidence is None else confidence,
                        kpt_shape=kpt_shape, any_split=any_split, images=images, copy_images=copy_images,
                        meta=meta, fixed_indexes=fixed)
    check = _StreamCheck(task if given is None else None, None if kpt_given else kpt_shape,
                         any_split)
    _write_all(folder, check.assets(assets))
    check.finish()


def report_chosen_task(task: str, report: Report) -> None:
    """Say which task the writer chose when neither the caller nor the source named one (detect, the plain
    case, goes unsaid).

    Example:
        >>> r = Report(); report_chosen_task("segment", r); str(r)
        '1 YOLO task chosen: segment (the objects include polygons or masks; --yolo-task picks another)'
    """
    why = {"segment": "the objects include polygons or masks", "pose": "the objects have keypoints"}.get(task)
    if why is not None:
        report.info(f"YOLO task chosen: {task}", 1, f"{why}; --yolo-task picks another")


def stream_task(labels: Iterable[Label], metadata: dict[str, Any], has_shapes: bool, task: str | None = None) -> str:
    """The task `write_stream` writes: `task` when given, else the source's, else segment with `has_shapes`,
    pose when a label declares keypoints, else detect (`default_task`'s rule on what a stream knows first).

    Example:
        >>> stream_task([Label("person", keypoints=["nose"])], {}, has_shapes=False)
        'pose'
    """
    if task is not None:
        return task
    given = (metadata.get("yolo") or {}).get("task")
    if given in TASKS:
        return given  # type: ignore[no-any-return]
    return "segment" if has_shapes else "pose" if any(label.keypoints for label in labels) else "detect"


class _StreamCheck:
    """What `write` would have decided from the whole dataset, checked against the stream's hints."""

    def __init__(self, default_task: str | None, kpt_shape: tuple[int, int] | None, any_split: bool) -> None:
        self.default_task, self.kpt_shape, self.any_split = default_task, kpt_shape, any_split
        self.shapes = self.keypoints = self.split = False
        self.counts: dict[int, int] = {}

    def assets(self, assets: Iterable[Asset]) -> Iterable[Asset]:
        watch_kinds = self.default_task is not None
        counts = self.counts if self.kpt_shape is not None else None
        for asset in assets:
            if watch_kinds or counts is not None:
                for ann in asset.annotations:
                    if ann.polygon is not None or ann.mask is not None:
                        self.shapes = True
                    elif ann.keypoints is not None:
                        self.keypoints = True
                    if counts is not None and ann.keypoints is not None:
                        n = len(ann.keypoints) // 3
                        counts[n] = counts.get(n, 0) + 1
                if watch_kinds and self.default_task == "detect" and (self.shapes or self.keypoints):
                    self._refuse(f"asset {asset.file_name!r} has a {'polygon or mask' if self.shapes else 'keypoint'}"
                                 " object, the stream said it had none")
                if self.shapes and self.default_task == "segment":
                    watch_kinds = False  # all a segment stream needs to have seen
            if not self.any_split and asset.tags and split_of(asset.tags, asset=asset.file_name) is not None:
                self._refuse(f"asset {asset.file_name!r} has a split tag, the stream said none had")
            yield asset

    def finish(self) -> None:
        if self.default_task == "segment" and not self.shapes:
            self._refuse("the stream said some object was a polygon or a mask, none was")
        if self.default_task == "pose" and (self.shapes or not self.keypoints):
            self._refuse("the labels declare keypoints, but " + ("some object is a polygon or a mask" if self.shapes
                                                                 else "no object has any"))
        if self.kpt_shape is not None and self.counts and _kpt_shape(self.counts, {})[0] != self.kpt_shape[0]:
            self._refuse(f"most objects have {_kpt_shape(self.counts, {})[0]} keypoints, the labels declare "
                         f"{self.kpt_shape[0]}")

    @staticmethod
    def _refuse(why: str) -> None:
        raise FormatError(f"the YOLO layout chosen before the stream's first asset does not fit it ({why}): pass "
                          "the task (--yolo-task) or convert in memory (--no-stream)")
