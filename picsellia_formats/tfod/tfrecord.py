"""TFRecord files in the TF Object Detection API schema, written and read without TensorFlow.

Framing (``tf.io.TFRecordWriter``'s, byte for byte)::

    uint64 length | uint32 masked_crc32c(length) | data | uint32 masked_crc32c(data)

Writing: one ``tf.train.Example`` per image (see `features`), shards named
``{prefix}-{i:05d}-of-{n:05d}`` with record ``i`` in shard ``i % n`` (the OD API tools' round robin);
one shard is the file ``prefix`` itself. Images are read and encoded by a pure function per image,
in a process pool for large jobs; a progress bar shows on a terminal. Reading: records (sharded sets
de-interleaved back into their original order) into the canonical model, including records without
image bytes or without objects.

Example:
    >>> import tempfile, pathlib
    >>> from picsellia_formats.model import Asset, Dataset, Annotation
    >>> box = (250, 49, 464, 820)
    >>> ds = Dataset(assets=[Asset("raccoon-105.jpg", 720, 960, [Annotation("raccoon", box=box)])])
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "train.record"
    >>> paths = write_tfrecords(ds, out, images="fixtures/raccoon_voc/images", progress=False)
    >>> back = read_tfrecords(paths)
    >>> back.assets[0].annotations[0].box
    (250.0, 49.0, 464.0, 820.0)
"""

from __future__ import annotations

import os
import re
import struct
import sys
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import google_crc32c

from ..errors import FormatError, OptionError, ProblemCollector
from ..inputs import open_input_file, read_input
from ..io_utils import gc_paused, safe_relative_path
from ..model import EMPTY, Annotation, Asset, Dataset, Label
from ..outputs import check_file_set, commit_file_set, new_temp_path, release, side_output_dir
from ..report import Report
from .decode import decode_features
from .example import Feature, decode_example
from .features import MISSING, AssetJob, EncodeOptions, ObjectJob, encode_job
from .keys import DECODABLE
from .labelmap import BACKGROUND, LabelMapItem, label_map_items

_U64 = struct.Struct("<Q")
_U32 = struct.Struct("<I")
_crc = google_crc32c.value
SHARD_PATTERN = re.compile(r"^(?P<base>.+)-(?P<i>\d{5})-of-(?P<n>\d{5})$")
#: tags that name a split (`split_by_tag`), lower case
SPLIT_TAGS = ("train", "training", "val", "valid", "validation", "eval", "test", "testing")


# ------------------------------------------------------------------------------------------- framing


def masked_crc(data: bytes) -> int:
    """TFRecord's masked CRC-32C: ``((crc >> 15) | (crc << 17)) + 0xa282ead8`` mod 2**32."""
    crc = _crc(data)
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def frame(data: bytes) -> bytes:
    """One framed record, as ``tf.io.TFRecordWriter.write`` writes it.

    Example:
        >>> frame(b"").hex()
        '000000000000000029039807d8ea82a2'
    """
    length = _U64.pack(len(data))
    return b"".join((length, _U32.pack(masked_crc(length)), data, _U32.pack(masked_crc(data))))


def iter_records(path: str | os.PathLike[str], check_crc: bool = True) -> Iterator[tuple[int, bytes]]:
    """``(byte offset, data)`` of every record of a TFRecord file (uncompressed).

    Raises FormatError naming the file, the record index and its offset on a truncated or corrupt record.
    """
    path = Path(path)
    try:
        f = open_input_file(path)  # a FIFO or device (size 0) would read as an empty file
    except OSError as exc:
        raise FormatError(f"cannot read: {exc.strerror or exc}", file=path) from None
    with f:
        size = os.fstat(f.fileno()).st_size
        offset = 0
        index = 0
        while offset < size:
            where = f"record {index} (byte {offset})"
            head = f.read(12)
            if len(head) < 12:
                raise FormatError(f"truncated record header ({len(head)} of 12 bytes)", file=path,
                                  record=where)
            length = head[:8]
            if check_crc and _U32.unpack_from(head, 8)[0] != masked_crc(length):
                raise FormatError("length CRC mismatch: not a TFRecord file, or a corrupt one "
                                  "(compressed TFRecords are not supported)", file=path, record=where)
            n = _U64.unpack(length)[0]
            if n > size - offset - 16:
                raise FormatError(f"record of {n:,} bytes runs past the end of the file", file=path,
                                  record=where)
            data = f.read(n)
            tail = f.read(4)
            if len(data) < n or len(tail) < 4:
                raise FormatError("truncated record", file=path, record=where)
            if check_crc and _U32.unpack(tail)[0] != masked_crc(data):
                raise FormatError("data CRC mismatch (corrupt record)", file=path, record=where)
            yield offset, data
            offset += 16 + n
            index += 1


def looks_like_tfrecord(path: str | os.PathLike[str]) -> bool:
    """Whether a file starts with a TFRecord header whose length CRC matches (an empty file does not)."""
    try:
        head = read_input(path, 12)
    except (OSError, FormatError):
        return False
    return len(head) == 12 and _U32.unpack_from(head, 8)[0] == masked_crc(head[:8])


def shard_paths(prefix: str | os.PathLike[str], shards: int) -> list[Path]:
    """The files of a set: ``prefix`` itself for one shard, else ``{prefix}-{i:05d}-of-{n:05d}``.

    Example:
        >>> [p.name for p in shard_paths("out/train.record", 2)]
        ['train.record-00000-of-00002', 'train.record-00001-of-00002']
    """
    prefix = Path(prefix)
    if shards < 1:
        raise OptionError(f"shards must be >= 1, got {shards}")
    if shards == 1:
        return [prefix]
    return [prefix.with_name(f"{prefix.name}-{i:05d}-of-{shards:05d}") for i in range(shards)]


def input_path_pattern(prefix: str | os.PathLike[str], shards: int) -> str:
    """What a pipeline config's ``input_path`` should say for a set (a glob for shards)."""
    prefix = Path(prefix)
    if shards == 1:
        return str(prefix)
    return str(prefix.with_name(f"{prefix.name}-?????-of-{shards:05d}"))


# --------------------------------------------------------------------------------------- the jobs


#: object attributes the OD API carries (Pascal VOC's, as the VOC reader names them)
PASCAL_ATTRIBUTES = ("pose", "truncated", "difficult")


def _voc_fields(ann: Annotation) -> tuple[int, int, str | None]:
    """(difficult, truncated, pose) from the object's attributes (the VOC reader's names)."""
    attrs = ann.attributes
    if not attrs:
        return 0, 0, None
    pose = attrs.get("pose", attrs.get("view"))
    return _flag(attrs.get("difficult")), _flag(attrs.get("truncated")), None if pose is None else str(pose)


def _pascal_attributes(difficult: int | None, truncated: int | None, view: str | None) -> dict[str, Any]:
    """The attributes of a read object: the Pascal fields its record carries, named as the VOC
    reader names them (``difficult`` alone only when set: COCO-style writers write 0 for all)."""
    attrs: dict[str, Any] = {}
    pascal = truncated is not None or view is not None
    if view is not None:
        attrs["pose"] = view
    if truncated is not None:
        attrs["truncated"] = truncated
    if difficult is not None and (difficult or pascal):
        attrs["difficult"] = difficult
    return attrs


def _flag(value: Any) -> int:
    if value is None or value is False:
        return 0
    if value is True:
        return 1
    try:
        return int(value)
    except (TypeError, ValueError):
        return 1 if str(value).strip().lower() in ("yes", "true") else 0


def source_ids(assets: Sequence[Asset], report: Report) -> list[str]:
    """``image/source_id`` per asset: its id when every asset has a unique one, else its file name
    when those are unique, else its position (from 1). Never empty, always unique."""
    ids = [str(a.id) if a.id is not None else "" for a in assets]
    if all(ids) and len(set(ids)) == len(ids):
        return ids
    names = [a.file_name for a in assets]
    if all(names) and len(set(names)) == len(names):
        if any(ids):
            report.changed("image source ids taken from file names", len(assets), "asset ids were not unique")
        return names
    report.changed("image source ids numbered from 1", len(assets),
                   "neither asset ids nor file names are unique")
    return [str(i) for i in range(1, len(assets) + 1)]


def build_jobs(dataset: Dataset, items: Sequence[LabelMapItem], *, masks: bool, report: Report
               ) -> tuple[list[AssetJob], bool, bool]:
    """Encoding jobs for every asset, and whether any object has Pascal fields / any image a class.

    What the OD API cannot hold goes into `report`.
    """
    from ..geometry import annotation_bbox, polygon_area

    ids = {item.name: item.id for item in items}
    sids = source_ids(dataset.assets, report)
    jobs = []
    pascal = any_classes = False
    n_poly_boxes = n_mask_boxes = n_kp = n_kp_boxes = n_qa = n_scores = n_attr = 0
    dropped_kinds: dict[str, int] = {}
    for index, (asset, sid) in enumerate(zip(dataset.assets, sids)):
        objects = []
        classes = []
        for ann in asset.annotations:
            box = ann.box
            mask = ann.mask
            polygon = ann.polygon
            if box is None:
                if mask is None and polygon is None:
                    kind = ann.kind
                    if kind == "classification":
                        classes.append((ann.label, ids[ann.label]))
                        continue
                    if kind in ("line", "point"):
                        dropped_kinds[kind] = dropped_kinds.get(kind, 0) + 1
                        continue
                box = annotation_bbox(ann)
                if box is None:
                    dropped_kinds[ann.kind] = dropped_kinds.get(ann.kind, 0) + 1
                    continue
            segm = None
            if mask is not None:
                if masks:
                    segm = ("rle", mask.height, mask.width, mask.counts)
                else:
                    n_mask_boxes += 1
            elif polygon is not None:
                if masks:
                    segm = ("polygon", polygon)
                else:
                    n_poly_boxes += 1
            if ann.keypoints is not None:
                n_kp += 1
                if ann.box is None and polygon is None and mask is None:
                    n_kp_boxes += 1
            area = ann.area
            if area is None:
                if mask is not None:
                    from ..masks import rle_area

                    area = float(rle_area(mask))
                elif polygon is not None:
                    area = polygon_area(polygon)
                else:
                    area = float(box[2] * box[3])
            if ann.attributes:
                difficult, truncated, pose = _voc_fields(ann)
                if truncated or pose is not None:
                    pascal = True
                if any(k not in PASCAL_ATTRIBUTES for k in ann.attributes):
                    n_attr += 1
            else:
                difficult = truncated = 0
                pose = None
            if ann.qa:
                n_qa += len(ann.qa)
            if ann.score is not None:
                n_scores += 1
            extra = None
            if ann.extra:
                tfod = ann.extra.get("tfod")
                extra = tfod.get("features") if isinstance(tfod, dict) else None
            objects.append(ObjectJob(ann.label, ids[ann.label], box if type(box) is tuple else tuple(box),
                                     int(ann.iscrowd or 0), float(area), difficult, truncated, pose or "", segm,
                                     extra or None))
        if classes:
            any_classes = True
        tfod = asset.extra.get("tfod") if asset.extra else None
        extra = tfod.get("features") if isinstance(tfod, dict) else None
        jobs.append(AssetJob(index, asset.file_name, asset.width, asset.height, sid, objects, classes,
                             extra or None))
    keep = "pass masks=True (--masks) to keep them"
    if n_poly_boxes:
        report.approximated("polygons written as boxes", n_poly_boxes, keep)
    if n_mask_boxes:
        report.approximated("masks written as boxes", n_mask_boxes, keep)
    if n_kp_boxes:
        report.approximated("keypoint objects written as the box of their visible points", n_kp_boxes)
    if n_kp:
        report.dropped("object keypoints", n_kp, "not written to the OD API records")
    names = {"line": "lines", "point": "points", "keypoints": "keypoint objects without visible points",
             "polygon": "empty polygons", "mask": "empty masks"}
    for kind, n in dropped_kinds.items():
        report.dropped(names.get(kind, kind), n, "the OD API has no such shape")
    if n_qa:
        report.dropped("object Q&A answers", n_qa, "the OD API has no Q&A")
    if n_scores:
        report.dropped("object scores", n_scores, "OD API ground truth has no score")
    if n_attr:
        report.dropped("objects' attributes", n_attr, "the OD API keeps difficult, truncated and pose only")
    image_qa = sum(len(a.qa) for a in dataset.assets)
    if image_qa:
        report.dropped("image Q&A answers", image_qa, "the OD API has no Q&A")
    statuses = sum(1 for a in dataset.assets if a.status)
    if statuses:
        report.dropped("asset statuses", statuses, "the OD API has no review status")
    return jobs, pascal, any_classes


# ------------------------------------------------------------------------------------- the encoding


Result = tuple[int, "bytes | None", "str | None", dict[str, int]]


def encode_chunk(jobs: Sequence[AssetJob], options: EncodeOptions) -> list[Result]:
    """Encode and frame a chunk of jobs (a pure function: the unit of work of the pool)."""
    out = []
    for job in jobs:
        index, data, problem, counts = encode_job(job, options)
        out.append((index, frame(data) if data is not None else None, problem, counts))
    return out


def _auto_workers(jobs: Sequence[AssetJob], masks: bool) -> int:
    """Worker processes worth starting: none for small jobs (a pool costs ~0.3 s to start; records
    cost ~0.1 ms each, masks ~0.3 ms each), else one per CPU (at most 8)."""
    work = len(jobs) * 1e-4 + (sum(len(j.objects) for j in jobs) * 3e-4 if masks else 0.0)
    if work < 1.0:
        return 0
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return min(cpus, 8) if cpus >= 2 else 0


def _run_chunks(chunks: Iterable[list[AssetJob]], options: EncodeOptions, workers: int
                ) -> Iterator[list[Result]]:
    """Results of `encode_chunk` for each chunk, in order; `workers` processes (0: this one)."""
    if workers <= 0:
        for chunk in chunks:
            yield encode_chunk(chunk, options)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        pending: deque[Any] = deque()
        for chunk in chunks:
            pending.append(pool.submit(encode_chunk, chunk, options))
            if len(pending) >= workers * 4:  # bounded: memory stays flat on huge data sets
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _progress(total: int, desc: str, enabled: bool | None) -> Any:
    from tqdm import tqdm

    show = sys.stderr.isatty() if enabled is None else enabled
    return tqdm(total=total, desc=desc, unit=" img", file=sys.stderr, disable=not show, leave=False)


def _encode_set(jobs: Sequence[AssetJob], prefix: str | os.PathLike[str], options: EncodeOptions, shards: int,
                workers: int | None, progress: bool | None, totals: dict[str, int],
                skip_missing: bool = False) -> list[tuple[Path, Path]]:
    """Encode `jobs` into temporary shard files beside their targets; ``[(temporary, target)]``.

    A missing (unless `skip_missing`) or unreadable image stops it with a FormatError listing
    every such image.
    """
    paths = shard_paths(prefix, shards)
    if workers is None:
        workers = _auto_workers(jobs, options.masks)
    chunk_size = 16 if options.masks else 64
    chunks = (list(jobs[i:i + chunk_size]) for i in range(0, len(jobs), chunk_size))
    problems = ProblemCollector(str(prefix))
    tmps = [new_temp_path(p) for p in paths]  # removed on SIGTERM; recognised by the next run
    for p in tmps:
        p.parent.mkdir(parents=True, exist_ok=True)
    files: list[BinaryIO] = []
    ok = False
    try:
        files = [open(t, "wb") for t in tmps]
        position = written = 0
        where = ", ".join(options.image_roots) or "nowhere"
        with _progress(len(jobs), Path(prefix).name, progress) as bar, gc_paused():
            for results in _run_chunks(chunks, options, workers):
                for _, data, problem, counts in results:
                    if problem == MISSING and skip_missing:
                        totals["missing"] = totals.get("missing", 0) + 1
                        totals["missing_objects"] = totals.get("missing_objects", 0) + _n_objects(jobs[position])
                    elif problem is not None:
                        if problem == MISSING:
                            problem = f"{MISSING} (looked in {where})"
                        problems.add(f"image {jobs[position].file_name!r}", problem)
                    elif not problems:
                        files[written % shards].write(data)  # type: ignore[arg-type]
                        written += 1
                        totals["objects_written"] = totals.get("objects_written", 0) + _n_objects(jobs[position])
                    for key, n in counts.items():
                        totals[key] = totals.get(key, 0) + n
                    position += 1
                bar.update(len(results))
        problems.raise_if_any()
        totals["written"] = totals.get("written", 0) + written
        ok = True
    finally:
        for f in files:
            f.close()
        if not ok:
            _remove(tmps)
    return list(zip(tmps, paths))


def _remove(paths: Iterable[Path]) -> None:
    for p in paths:
        release(p)


def _commit(pending: Sequence[tuple[Path, Path]], report: Report, strict: bool,
            prefixes: Sequence[Path] = (), any_split: bool = False) -> list[Path]:
    """Put the shards in place (journaled) and delete the other files of the previous sets at `prefixes`."""
    if strict and report.lossy:
        _remove(t for t, _ in pending)
        from ..errors import LossyConversionError

        raise LossyConversionError(report)
    if pending:
        commit_file_set(pending, list(prefixes) or [pending[0][1]], any_split=any_split)
    return [path for _, path in pending]


def _n_objects(job: AssetJob) -> int:
    """Objects and image-level classes: what the dataset counts as its annotations."""
    return len(job.objects) + len(job.classes)


def write_jobs(jobs: Sequence[AssetJob], prefix: str | os.PathLike[str], options: EncodeOptions, *,
               shards: int = 1, workers: int | None = None, progress: bool | None = None,
               report: Report | None = None, strict: bool = False) -> list[Path]:
    """Encode `jobs` into a (sharded) TFRecord set at `prefix`; return the shard paths.

    Every shard is written beside its target and renamed once all are complete.
    """
    report = report if report is not None else Report()
    totals: dict[str, int] = {}
    pending = _encode_set(jobs, prefix, options, shards, workers, progress, totals)
    _report_counts(totals, report)
    return _commit(pending, report, strict)


def _report_counts(totals: dict[str, int], report: Report) -> None:
    """The counters of one record set into `report`: its findings and the records and objects written."""
    report.stats["records"] = report.stats.get("records", 0) + totals.get("written", 0)
    report.stats["objects"] = report.stats.get("objects", 0) + totals.get("objects_written", 0)
    if totals.get("missing"):
        report.dropped("images whose file is missing", totals["missing"], "skip_missing (--skip-missing-images)")
        report.dropped("objects on images whose file is missing", totals.get("missing_objects", 0),
                       "--skip-missing-images")
    if totals.get("clamped"):
        report.approximated("boxes clamped to the image", totals["clamped"],
                            "normalised coordinates must lie in [0, 1]")
    if totals.get("degenerate"):
        report.info("boxes of zero width or height (after clamping)", totals["degenerate"],
                    "kept; the OD API may drop them in training")
    if totals.get("exif_rotated"):
        report.changed("boxes and masks of EXIF-rotated images written in the stored pixel frame",
                       totals["exif_rotated"], "TensorFlow decodes images without applying EXIF orientation")
    if totals.get("exif_ignored"):
        report.info("EXIF-rotated images annotated on their stored pixels (sizes match), written as they are",
                    totals["exif_ignored"])
    if totals.get("size_mismatch"):
        report.info("images whose file size differs from the annotated size", totals["size_mismatch"],
                    "boxes normalised by the annotated size, image/width and image/height from the file")
    if totals.get("box_masks"):
        report.approximated("boxes written as rectangular masks", totals["box_masks"],
                            "the OD API needs a mask for every object")
    if totals.get("mask_resized"):
        report.approximated("masks resized to the image size", totals["mask_resized"])
    for key, n in sorted(totals.items()):
        if key.startswith("format:"):
            report.info(f"{key[7:] or 'unknown'} images passed through", n,
                        f"the OD API decoder is built for {' and '.join(sorted(DECODABLE))}")
        elif key.startswith("partial:"):
            report.dropped(f"{key[8:]} values", n, "not every object of the image has one")


def split_of(asset: Asset) -> str | None:
    """The split an asset's tags name (``train``, ``val``, ``test``... as written), or None.

    Raises ValueError when the tags name two different splits.
    """
    found = [t for t in asset.tags if t.lower() in SPLIT_TAGS]
    if len({t.lower() for t in found}) > 1:
        raise FormatError(f"tagged with several splits: {', '.join(found)}")
    return found[0] if found else None


def split_prefix(prefix: str | os.PathLike[str], split: str) -> Path:
    """The prefix of one split's set: ``{split}`` in `prefix` is replaced by it; otherwise
    ``out/data.record`` -> ``out/data-train.record`` and ``out/data`` -> ``out/data-train``.

    Example:
        >>> split_prefix("out/data.record", "train").as_posix(), split_prefix("out/{split}.record", "val").name
        ('out/data-train.record', 'val.record')
    """
    if "{split}" in str(prefix):
        return Path(str(prefix).replace("{split}", split))
    prefix = Path(prefix)
    for suffix in (".tfrecord", ".record", ".tfrecords", ".records"):
        if prefix.name.endswith(suffix) and len(prefix.name) > len(suffix):
            return prefix.with_name(f"{prefix.name[:-len(suffix)]}-{split}{suffix}")
    return prefix.with_name(f"{prefix.name}-{split}")


def write_tfrecords(
    dataset: Dataset,
    prefix: str | os.PathLike[str],
    *,
    images: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None = None,
    shards: int = 1,
    masks: bool = False,
    label_map: Sequence[LabelMapItem] | None = None,
    label_ids: str = "sequential",
    split_by_tag: bool = False,
    workers: int | None = None,
    progress: bool | None = None,
    report: Report | None = None,
    strict: bool = False,
    skip_missing: bool = False,
    overwrite: bool = False,
) -> list[Path]:
    """Write `dataset` as OD API TFRecords at `prefix`; return the files written.

    `images`: folder(s) holding the image files (looked up by the asset's relative file name, then
    its base name). `masks`: one full-size PNG mask per object (``mask_type: PNG_MASKS``).
    `label_map`: the items giving class ids (default: `label_map_items` of the dataset's labels
    with `label_ids`). `split_by_tag`: one set per split tag (``train``, ``val``, ``test``...) at
    `split_prefix`; untagged images go to an ``untagged`` set. `workers`: processes encoding images
    (None: a pool only when the job is large enough to pay for it; 0: this process). `strict`:
    raise LossyConversionError, writing nothing, when the report says something was lost.
    `skip_missing`: leave out (and report) images whose file is not found, instead of failing.
    Files appear only once every set is complete. An existing set at `prefix` (any shard count;
    with `split_by_tag`, any split's) raises OutputExistsError unless `overwrite`; then it is
    replaced whole: shards of the previous run that this one does not write are deleted.
    """
    report = report if report is not None else Report()
    by_template = "{split}" in str(prefix)
    if not by_template:
        check_file_set(prefix, overwrite=overwrite, any_split=split_by_tag)
    if images is None:
        raise FormatError("the TFRecord writer needs the image files: pass images= (--images)")
    roots = [images] if isinstance(images, (str, os.PathLike)) else list(images)
    if label_map is not None:
        items = list(label_map)
    else:
        items = label_map_items(labels_in_use(dataset), ids=label_ids)
    known = {item.name for item in items}
    missing = sorted({ann.label for _, ann in dataset.annotations()} - known)
    if missing:
        raise FormatError(f"labels missing from the label map: {', '.join(map(repr, missing[:10]))}")
    with gc_paused():
        jobs, pascal, any_classes = build_jobs(dataset, items, masks=masks, report=report)
    background = sum(1 for _, ann in dataset.annotations() if ann.label == BACKGROUND)
    if background:
        report.info("objects labelled 'background' written with class id 0", background,
                    "the OD API treats id 0 as the background")
    options = EncodeOptions(tuple(str(r) for r in roots), masks, pascal, any_classes)
    if not split_by_tag:
        tagged = sum(1 for a in dataset.assets if a.tags)
        if tagged:
            report.dropped("asset tags", tagged,
                           "TFRecords have no tags; split_by_tag writes one set per split")
        groups = {"": jobs}
    else:
        groups = _split_groups(dataset, jobs, prefix, report)
    totals: dict[str, int] = {}
    pending: list[tuple[Path, Path]] = []
    sets = []
    targets: list[Path] = []
    try:
        for split in sorted(groups, key=_split_order):
            group = groups[split]
            target = split_prefix(prefix, split) if split else Path(prefix)
            targets.append(target)
            if by_template:
                check_file_set(target, overwrite=overwrite)
            before = totals.get("written", 0)
            pending += _encode_set(group, target, options, shards, workers, progress, totals, skip_missing)
            sets.append({"split": split or None, "input_path": input_path_pattern(target, shards),
                         "records": totals.get("written", 0) - before})
    except BaseException:
        _remove(t for t, _ in pending)
        raise
    _report_counts(totals, report)
    report.stats["record_sets"] = sets
    prefixes = targets if by_template else [Path(prefix)]
    return _commit(pending, report, strict, prefixes, split_by_tag and not by_template)


def _split_groups(dataset: Dataset, jobs: list[AssetJob], prefix: str | os.PathLike[str], report: Report
                  ) -> dict[str, list[AssetJob]]:
    groups: dict[str, list[AssetJob]] = {}
    problems = ProblemCollector(str(prefix))
    for asset, job in zip(dataset.assets, jobs):
        try:
            split = split_of(asset)
        except ValueError as exc:
            problems.add(f"image {asset.file_name!r}", str(exc))
            continue
        groups.setdefault(split or "untagged", []).append(job)
    problems.raise_if_any()
    if "untagged" in groups:
        report.info("images without a split tag written to the 'untagged' set", len(groups["untagged"]))
    return groups


def _split_order(split: str) -> tuple[int, str]:
    order = {"train": 0, "training": 0, "val": 1, "valid": 1, "validation": 1, "eval": 1, "test": 2,
             "testing": 2}
    return (order.get(split.lower(), 3), split)


def labels_in_use(dataset: Dataset) -> list[Label]:
    """The dataset's labels, then the labels its annotations use without declaring them."""
    labels = list(dataset.labels)
    known = {label.name for label in labels}
    for _, ann in dataset.annotations():
        if ann.label not in known:
            known.add(ann.label)
            labels.append(Label(ann.label))
    return labels


# ----------------------------------------------------------------------------------------------- read


def record_files(path: str | os.PathLike[str]) -> list[Path]:
    """The TFRecord files of a path: the file itself, or the record files of a folder (by name:
    ``*.record*``, ``*.tfrecord*``, ``*-?????-of-?????``; else every file with a TFRecord header)."""
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FormatError("no such file or folder", file=path)
    files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
    named = [p for p in files if ".record" in p.name or ".tfrecord" in p.name or SHARD_PATTERN.match(p.name)]
    if named:
        return named
    return [p for p in files if looks_like_tfrecord(p)]


def _interleaved(files: list[Path], check_crc: bool) -> Iterator[tuple[Path, int, int, bytes]]:
    """Records of `files` as ``(file, index in file, offset, data)``; a complete sharded set is read
    round robin (record i from shard i % n), which restores the order it was written in."""
    sets: dict[tuple[Path, str, int], dict[int, Path]] = {}
    for p in files:
        m = SHARD_PATTERN.match(p.name)
        if m:
            sets.setdefault((p.parent, m["base"], int(m["n"])), {})[int(m["i"])] = p
    done: set[Path] = set()
    for p in files:
        if p in done:
            continue
        m = SHARD_PATTERN.match(p.name)
        group = sets.get((p.parent, m["base"], int(m["n"]))) if m else None
        if group is not None and len(group) == int(m["n"]) and int(m["n"]) > 1:  # type: ignore[index]
            members = [group[i] for i in range(len(group))]
            done.update(members)
            iters = [(q, iter_records(q, check_crc)) for q in members]
            counters = [0] * len(iters)
            live = list(range(len(iters)))
            while live:
                still = []
                for k in live:
                    q, it = iters[k]
                    item = next(it, None)
                    if item is None:
                        continue
                    yield q, counters[k], item[0], item[1]
                    counters[k] += 1
                    still.append(k)
                live = still
        else:
            done.add(p)
            for i, (offset, data) in enumerate(iter_records(p, check_crc)):
                yield p, i, offset, data


def _split_tag(path: Path) -> str | None:
    name = path.name
    m = SHARD_PATTERN.match(name)
    if m:
        name = m["base"]
    for suffix in (".tfrecords", ".tfrecord", ".records", ".record"):
        if name.endswith(suffix):
            name = name[:-len(suffix)]
            break
    base = name.rsplit("-", 1)[-1].rsplit("_", 1)[-1]
    return base if base.lower() in SPLIT_TAGS else None


def _source_id_value(text: str | None) -> Any:
    if not text:
        return None
    if text.isascii() and text.isdigit() and (text == "0" or text[0] != "0"):
        return int(text)
    return text


def read_tfrecords(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    label_map: Sequence[LabelMapItem] | None = None,
    extract_images: str | os.PathLike[str] | None = None,
    check_crc: bool = True,
    report: Report | None = None,
) -> Dataset:
    """Read OD API TFRecords (files, or folders of them) into a `Dataset`.

    Object labels come from ``class/text`` (a display name of `label_map` maps to its name), else
    from ``class/label`` through `label_map`, else the id itself as the name. Boxes are turned back
    into absolute pixels (the integer a coordinate was written from is recovered exactly when
    ``float32(x / size)`` matches). Masks (PNG or numerical) become RLE. Image bytes are not kept in
    the model; `extract_images` writes them to that folder under their file names. A file named
    after a split (``train.record``, ``val-00000-of-00002``) tags its images with it.

    Example:
        >>> ds = read_tfrecords("fixtures/raccoon_voc/data/test.record")
        >>> len(ds), ds.num_annotations, ds.label_names
        (40, 44, ['raccoon'])
    """
    if extract_images is None:
        return _read_tfrecords(paths, label_map, None, check_crc, report)
    # staged; in place only when the whole conversion succeeds (`picsellia_formats.outputs.transaction`)
    with side_output_dir(extract_images, "extracted images") as stage:
        return _read_tfrecords(paths, label_map, stage, check_crc, report)


def _read_tfrecords(paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
                    label_map: Sequence[LabelMapItem] | None, extract_images: Path | None, check_crc: bool,
                    report: Report | None) -> Dataset:
    report = report if report is not None else Report()
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    files: list[Path] = []
    for p in paths:
        files += record_files(p)
    by_name: dict[str, LabelMapItem] = {}
    by_id: dict[int, LabelMapItem] = {}
    for item in label_map or ():
        by_name.setdefault(item.name, item)
        by_id.setdefault(item.id, item)
    by_display = {item.display_name: item for item in label_map or () if item.display_name}
    labels: dict[str, Label] = {}
    if label_map:
        from .labelmap import labels_from_items

        for label in labels_from_items(label_map):
            labels[label.name] = label
    extract_dir = Path(extract_images) if extract_images is not None else None
    used_names: set[str] = set()
    counts: dict[str, int] = {}
    assets: list[Asset] = []
    from ..masks import mask_to_rle

    def bump(key: str, n: int = 1) -> None:
        counts[key] = counts.get(key, 0) + n

    problems: ProblemCollector | None = None
    with gc_paused():
        for path, index, offset, data in _interleaved(files, check_crc):
            if problems is None or problems.file != str(path):
                if problems is not None:
                    problems.raise_if_any()
                problems = ProblemCollector(str(path))
            record = f"record {index} (byte {offset})"
            try:
                image = decode_features(decode_example(data))
            except ValueError as exc:
                problems.add(record, str(exc))
                continue
            tag = _split_tag(path)
            file_name = image.file_name or image.source_id or f"record-{len(assets):06d}"
            anns = []
            for obj in image.objects:
                name = obj.text
                if name is not None and label_map and name not in by_name and name in by_display:
                    name = by_display[name].name
                if not name:
                    if obj.label is not None and obj.label in by_id:
                        name = by_id[obj.label].name
                    elif obj.label is not None:
                        name = str(obj.label)
                        bump("named_by_id")
                    else:
                        problems.add(record, "an object has neither class/text nor class/label")
                        break
                label = labels.get(name)
                if label is None:
                    labels[name] = label = Label(name, id=obj.label)
                    if label_map:
                        bump("not_in_map")
                extra: dict[str, Any] = {}
                attrs = _pascal_attributes(obj.difficult, obj.truncated, obj.view)
                if obj.extra:
                    extra["tfod"] = {"features": obj.extra}
                mask = mask_to_rle(obj.mask) if obj.mask is not None else None
                anns.append(Annotation(name, box=obj.box, mask=mask, iscrowd=int(bool(obj.iscrowd)),
                                       area=obj.area, attributes=attrs or EMPTY, extra=extra or EMPTY))
            for text, label_id in image.classes:
                name = text if text else (by_id[label_id].name if label_id in by_id else str(label_id))
                if name not in labels:
                    labels[name] = Label(name, id=label_id)
                anns.append(Annotation(name))
            if image.orientation != 1:
                bump("exif")
            if image.sha256_ok is False:
                bump("sha_mismatch")
            if image.image is None:
                bump("no_image")
            asset_extra: dict[str, Any] = {}
            if image.extra:
                asset_extra["tfod"] = {"features": image.extra}
            if extract_dir is not None and image.image is not None:
                file_name = _extract(extract_dir, file_name, image.image, used_names, bump, problems, record)
            assets.append(Asset(file_name, image.width, image.height, anns, _source_id_value(image.source_id),
                                [tag] if tag else None, extra=asset_extra or EMPTY))
        if problems is not None:
            problems.raise_if_any()
    if counts.get("named_by_id"):
        report.changed("objects named by their class id", counts["named_by_id"],
                       "no class/text and no label map entry")
    if counts.get("not_in_map"):
        report.info("label names not in the label map", counts["not_in_map"])
    if counts.get("exif"):
        report.changed("boxes of EXIF-rotated images turned into the displayed frame", counts["exif"])
    if counts.get("sha_mismatch"):
        report.info("images whose image/key/sha256 does not match their bytes", counts["sha_mismatch"])
    if counts.get("no_image"):
        report.info("records without image bytes", counts["no_image"])
    if counts.get("renamed"):
        report.changed("extracted images renamed", counts["renamed"], "file names repeated")
    return Dataset(list(labels.values()), assets)


def _extract(folder: Path, file_name: str, data: bytes, used: set[str], bump: Any, problems: ProblemCollector,
             record: str) -> str:
    try:
        rel = safe_relative_path(file_name)
    except ValueError as exc:
        problems.add(record, f"image/filename: {exc}")
        return file_name
    name = rel.as_posix()
    if name in used:
        stem, dot, ext = name.rpartition(".")
        k = 2
        while f"{stem or ext}-{k}{dot}{ext if stem else ''}" in used:
            k += 1
        name = f"{stem or ext}-{k}{dot}{ext if stem else ''}"
        bump("renamed")
    used.add(name)
    target = folder / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return name


def features_of_records(path: str | os.PathLike[str]) -> Iterator[dict[str, Feature]]:
    """The raw feature map of every record of a file (for inspection and tests)."""
    for _, data in iter_records(path):
        yield decode_example(data)

