"""OD API TFRecords from the canonical model: `write_tfrecords`, and the registry's writer (`write`).

One ``tf.train.Example`` per image (see `encode`), shards named ``{prefix}-{i:05d}-of-{n:05d}``
with record ``i`` in shard ``i % n`` (see `records`). Images are read, checked (`sources`) and
encoded by a pure function per image, in a process pool for large jobs; a progress bar shows on a
terminal. Every shard is written beside its target and renamed once every set is complete.

Example:
    >>> import tempfile, pathlib
    >>> from picsellia_formats.model import Asset, Dataset, Annotation
    >>> box = (250, 49, 464, 820)
    >>> ds = Dataset(assets=[Asset("raccoon-105.jpg", 720, 960, [Annotation("raccoon", box=box)])])
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "train.record"
    >>> paths = write_tfrecords(ds, out, images="fixtures/raccoon_voc/images", progress=False)
    >>> [p.name for p in paths]
    ['train.record']
"""

from __future__ import annotations

import os
import sys
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from ...errors import FormatError, OptionError, ProblemCollector
from ...images import ImageIndex
from ...io_utils import gc_paused
from ...labels import labels_in_use
from ...model import Dataset
from ...outputs import check_file_set, commit_file_set, existing_set, new_temp_path, release
from ...report import Report, check_strict
from ...splits import canonical_split, split_of, split_order
from ...tfod.labelmap import BACKGROUND, LabelMapItem, label_map_items, write_label_map
from .encode import AssetJob, EncodeOptions, encode_job
from .jobs import build_jobs
from .keys import DECODABLE
from .records import frame, input_path_pattern, shard_paths, split_prefix
from .sources import (
    BROKEN,
    DECODE_CHECKS,
    MISSING,
    TOO_LARGE,
    EmbeddedImages,
    FolderImages,
    embedded_images,
    is_record_source,
)

#: the label map the registry's writer puts beside the records
LABEL_MAP_NAME = "label_map.pbtxt"


Result = tuple[int, "bytes | None", "str | None", dict[str, int], "str | None"]


def encode_chunk(jobs: Sequence[AssetJob], options: EncodeOptions) -> list[Result]:
    """Encode and frame a chunk of jobs (a pure function: the unit of work of the pool)."""
    out = []
    for job in jobs:
        index, data, problem, counts, where = encode_job(job, options)
        out.append((index, frame(data) if data is not None else None, problem, counts, where))
    return out


#: the read-only options of a pool worker, set once when it starts (`_start_worker`), so the image
#: source (an `ImageIndex` that walks its folder once, a table of embedded images) is sent and built
#: once per worker, not once per chunk
_WORKER_OPTIONS: list[EncodeOptions] = []


def _start_worker(options: EncodeOptions) -> None:
    _WORKER_OPTIONS[:] = [options]


def _encode_chunk_in_worker(jobs: Sequence[AssetJob]) -> list[Result]:
    return encode_chunk(jobs, _WORKER_OPTIONS[0])


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
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_start_worker,
                             initargs=(options,)) as pool:
        pending: deque[Any] = deque()
        for chunk in chunks:
            pending.append(pool.submit(_encode_chunk_in_worker, chunk))
            if len(pending) >= workers * 4:  # bounded: memory stays flat on huge data sets
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _progress(total: int, desc: str, enabled: bool | None) -> Any:
    from tqdm import tqdm

    show = sys.stderr.isatty() if enabled is None else enabled
    return tqdm(total=total, desc=desc, unit=" img", file=sys.stderr, disable=not show, leave=False)


def _encode_set(jobs: Sequence[AssetJob], prefix: str | os.PathLike[str], options: EncodeOptions, shards: int,
                workers: int | None, progress: bool | None, totals: dict[str, Any],
                skip_missing: bool = False, skip_broken: bool = False, suffixed: bool = False
                ) -> list[tuple[Path, Path]]:
    """Encode `jobs` into temporary shard files beside their targets; ``[(temporary, target)]``.

    A missing (unless `skip_missing`), broken or too large (unless `skip_broken`) or unreadable
    image stops it with a FormatError listing every such image; errors name `prefix`, never the
    temporary files.
    """
    paths = shard_paths(prefix, shards, suffixed=suffixed)
    if workers is None:
        workers = _auto_workers(jobs, options.masks)
    chunk_size = 16 if options.masks else 64
    chunks = (list(jobs[i:i + chunk_size]) for i in range(0, len(jobs), chunk_size))
    problems = ProblemCollector()  # each problem names its image: never the (temporary) output
    tmps = [new_temp_path(p) for p in paths]  # removed on SIGTERM; recognised by the next run
    for p in tmps:
        p.parent.mkdir(parents=True, exist_ok=True)
    files: list[BinaryIO] = []
    ok = False
    try:
        try:
            files = [open(t, "wb") for t in tmps]
        except OSError as exc:
            raise FormatError(f"cannot write: {exc.strerror or exc}", file=prefix) from None
        position = written = 0
        where = options.images.describe() if options.images else "nowhere"
        with _progress(len(jobs), Path(prefix).name, progress) as bar, gc_paused():
            for results in _run_chunks(chunks, options, workers):
                for _, data, problem, counts, image_file in results:
                    kind = _skippable(problem)
                    if kind is not None and (skip_missing if kind == "missing" else skip_broken):
                        totals[kind] = totals.get(kind, 0) + 1
                        totals[f"{kind}_objects"] = totals.get(f"{kind}_objects", 0) + _n_objects(jobs[position])
                        if kind != "missing":
                            totals.setdefault(f"{kind}_names", []).append(jobs[position].file_name)  # type: ignore
                    elif problem is not None:
                        if kind == "missing":
                            problem = f"{MISSING} (looked in {where}; --skip-missing-images leaves such images out)"
                        elif kind is not None:
                            problem += " (--skip-broken-images leaves such images out)"
                        problems.add(f"image {jobs[position].file_name!r}", problem, file=image_file)
                    elif not problems:
                        try:
                            files[written % shards].write(data)  # type: ignore[arg-type]
                        except OSError as exc:
                            raise FormatError(f"cannot write: {exc.strerror or exc}", file=prefix) from None
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
            try:
                f.close()
            except OSError as exc:
                if ok:
                    ok = False
                    raise FormatError(f"cannot write: {exc.strerror or exc}", file=prefix) from None
        if not ok:
            _remove(tmps)
    return list(zip(tmps, paths))


def _skippable(problem: str | None) -> str | None:
    """``missing``, ``broken`` or ``too_large`` for a problem the caller may skip, else None."""
    if problem is None:
        return None
    if problem == MISSING:
        return "missing"
    if problem.startswith(BROKEN):
        return "broken"
    if problem.startswith(TOO_LARGE):
        return "too_large"
    return None


def _remove(paths: Iterable[Path]) -> None:
    for p in paths:
        release(p)


def _commit(pending: Sequence[tuple[Path, Path]], report: Report, strict: bool | str,
            prefixes: Sequence[Path] = (), any_split: bool = False) -> list[Path]:
    """Put the shards in place (journaled) and delete the other files of the previous sets at
    `prefixes` (`outputs.commit_file_set`: an earlier run's shards of another count or split),
    reported with their count."""
    if report.refuses(strict):
        _remove(t for t, _ in pending)
        from ...errors import LossyConversionError

        raise LossyConversionError(report, strict)
    if not pending:
        return []
    prefixes = list(prefixes) or [pending[0][1]]
    targets = {p.absolute() for _, p in pending}
    stale = sorted({p for prefix in prefixes for p in existing_set(prefix, any_split)
                    if p.absolute() not in targets})
    try:
        commit_file_set(pending, prefixes, any_split=any_split)
    except OSError as exc:
        _remove(t for t, _ in pending)
        raise FormatError(f"cannot write: {exc.strerror or exc}", file=pending[0][1]) from None
    if stale:
        report.info("files of an earlier record set at the same prefix removed", len(stale),
                    ", ".join(p.name for p in stale[:5]) + (" ..." if len(stale) > 5 else ""))
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
    totals: dict[str, Any] = {}
    pending = _encode_set(jobs, prefix, options, shards, workers, progress, totals)
    _report_counts(totals, report)
    return _commit(pending, report, strict)


def _report_counts(totals: dict[str, Any], report: Report) -> None:
    """The counters of one record set into `report`: its findings and the records and objects written."""
    report.stats["records"] = report.stats.get("records", 0) + totals.get("written", 0)
    report.stats["objects"] = report.stats.get("objects", 0) + totals.get("objects_written", 0)
    if totals.get("missing"):
        report.dropped("images whose file is missing", totals["missing"], "--skip-missing-images")
        report.dropped("objects on images whose file is missing", totals.get("missing_objects", 0),
                       "--skip-missing-images")
    for kind, what in (("broken", "images that do not decode"), ("too_large", "images over the pixel limit")):
        if totals.get(kind):
            names = totals.get(f"{kind}_names", [])
            shown = ", ".join(map(repr, names[:5])) + (" ..." if len(names) > 5 else "")  # type: ignore
            report.dropped(what, totals[kind], f"skip_broken (--skip-broken-images): {shown}")
            report.dropped(f"objects on {what}", totals.get(f"{kind}_objects", 0), "--skip-broken-images")
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
        if key.endswith("_names"):
            continue
        if key.startswith("format:"):
            report.info(f"{key[7:] or 'unknown'} images passed through", n,
                        f"the OD API decoder is built for {' and '.join(sorted(DECODABLE))}")
        elif key.startswith("partial:"):
            report.dropped(f"{key[8:]} values", n, "not every object of the image has one")


def image_source(images: Any, dataset_folder: str | os.PathLike[str] | None = None
                 ) -> FolderImages | EmbeddedImages:
    """Where `write_tfrecords` reads image bytes: TFRecords (a record file, or a folder of records
    and no image) give their embedded images; a folder, several folders or an `ImageIndex` are
    searched by `ImageIndex` (`dataset_folder`: where paths as written are also tried).

    Example:
        >>> image_source("fixtures/raccoon_voc/data/test.record").describe()
        'the records of fixtures/raccoon_voc/data/test.record'
    """
    if isinstance(images, (FolderImages, EmbeddedImages)):
        return images
    if isinstance(images, ImageIndex):
        return FolderImages((images,))
    roots = [images] if isinstance(images, (str, os.PathLike)) else list(images)
    if len(roots) == 1 and not isinstance(roots[0], ImageIndex) and is_record_source(roots[0]):
        return embedded_images(roots[0])
    return FolderImages(tuple(r if isinstance(r, ImageIndex) else ImageIndex(r, dataset_folder) for r in roots))


def write_tfrecords(
    dataset: Dataset,
    prefix: str | os.PathLike[str],
    *,
    images: Any = None,
    shards: int = 1,
    masks: bool = False,
    label_map: Sequence[LabelMapItem] | None = None,
    label_ids: str = "sequential",
    split_by_tag: bool = False,
    workers: int | None = None,
    progress: bool | None = None,
    report: Report | None = None,
    strict: bool | str = False,
    skip_missing: bool = False,
    skip_broken: bool = False,
    check_decode: str = "fast",
    max_pixels: int | None = -1,
    suffixed: bool = False,
    canonical_splits: bool = False,
    overwrite: bool = False,
    report_unheld: bool = True,
) -> list[Path]:
    """Write `dataset` as OD API TFRecords at `prefix`; return the files written.

    `images`: where the image bytes come from (see `image_source`): a folder (or several, or an
    `ImageIndex`) searched by the one image-lookup policy of `images.ImageIndex`, or TFRecords whose
    embedded images are reused. `masks`: one full-size PNG mask per object (``mask_type:
    PNG_MASKS``). `label_map`: the items giving class ids (default: `label_map_items` of the
    dataset's labels with `label_ids`). `split_by_tag`: one set per split tag (``train``, ``val``,
    ``test``...) at `split_prefix`; untagged images go to an ``untagged`` set. `workers`: processes
    encoding images (None: a pool only when the job is large enough to pay for it; 0: this process).
    `strict`: raise LossyConversionError, writing nothing, when the report says annotation data was
    lost (``"all"``: format metadata too; see `report.check_strict`). `report_unheld`: report what the
    OD API cannot hold (`formats.capabilities`; False when the caller, e.g. `api.write`, already did).
    `skip_missing`: leave out (and report) images whose file is not found, instead of failing.
    `check_decode`: ``fast`` (default), ``full`` or ``none``: how each image is checked to decode
    before it is packed (`sources.decode_problem`);
    `skip_broken`: leave out (and report, with counts and names) images that do not decode or whose
    header claims more than `max_pixels` pixels (-1: Pillow's ``MAX_IMAGE_PIXELS``; None: no limit),
    instead of failing. `suffixed`: shard names even for one shard (``x.record-00000-of-00001``);
    `canonical_splits`: sets named by the canonical split (``valid`` and ``validation`` -> ``val``).
    Files appear only once every set is complete. An existing set at `prefix` (any shard count;
    with `split_by_tag`, any split's) raises OutputExistsError unless `overwrite`; then it is
    replaced whole: files of the previous set that this run does not write are deleted (and reported).

    Raises FormatError naming every image that stops the job (its file when found; never a
    temporary file), OptionError for a bad `check_decode`.
    """
    report = report if report is not None else Report()
    strict = check_strict(strict)
    by_template = "{split}" in str(prefix)
    if not by_template:
        check_file_set(prefix, overwrite=overwrite, any_split=split_by_tag)
    if images is None:
        raise FormatError("the TFRecord writer needs the image files: pass images= (--images)")
    if check_decode not in DECODE_CHECKS:
        raise OptionError(f"check_decode must be one of {', '.join(DECODE_CHECKS)}, got {check_decode!r}")
    source = image_source(images)
    if label_map is not None:
        items = list(label_map)
    else:
        items = label_map_items(labels_in_use(dataset), ids=label_ids)
    known = {item.name for item in items}
    missing = sorted({ann.label for _, ann in dataset.annotations()} - known)
    if missing:
        raise FormatError(f"labels missing from the label map: {', '.join(map(repr, missing[:10]))}")
    if report_unheld:
        from .. import get
        from ..capabilities import report_for_spec

        report_for_spec(get("tfrecord"), dataset, {"masks": masks, "split_by_tag": split_by_tag}, report)
    with gc_paused():
        jobs, pascal, any_classes = build_jobs(dataset, items, masks=masks, report=report)
    background = sum(1 for _, ann in dataset.annotations() if ann.label == BACKGROUND)
    if background:
        report.info("objects labelled 'background' written with class id 0", background,
                    "the OD API treats id 0 as the background")
    options = EncodeOptions(source, masks, pascal, any_classes, check_decode, max_pixels)
    if not split_by_tag:
        groups = {"": jobs}
    else:
        groups = _split_groups(dataset, jobs, prefix, report, canonical_splits)
    targets = {split: split_prefix(prefix, split) if split else Path(prefix) for split in groups}
    if by_template:  # each split's set checked before any is encoded
        for target in targets.values():
            check_file_set(target, overwrite=overwrite)
    totals: dict[str, Any] = {}
    pending: list[tuple[Path, Path]] = []
    sets = []
    try:
        for split in sorted(groups, key=split_order):
            group = groups[split]
            target = targets[split]
            before = totals.get("written", 0)
            pending += _encode_set(group, target, options, shards, workers, progress, totals, skip_missing,
                                   skip_broken, suffixed)
            sets.append({"split": split or None, "input_path": input_path_pattern(target, shards, suffixed=suffixed),
                         "records": totals.get("written", 0) - before})
    except BaseException:
        _remove(t for t, _ in pending)
        raise
    _report_counts(totals, report)
    report.stats["record_sets"] = sets
    prefixes = [targets[split] for split in sorted(groups, key=split_order)] if by_template else [Path(prefix)]
    return _commit(pending, report, strict, prefixes, split_by_tag and not by_template)


def _split_groups(dataset: Dataset, jobs: list[AssetJob], prefix: str | os.PathLike[str], report: Report,
                  canonical: bool = False) -> dict[str, list[AssetJob]]:
    del prefix
    groups: dict[str, list[AssetJob]] = {}
    problems = ProblemCollector()
    for asset, job in zip(dataset.assets, jobs):
        try:
            split = split_of(asset.tags)
            if split and canonical:
                split = canonical_split(split)
        except FormatError as exc:
            problems.add(f"image {asset.file_name!r}", exc.message)
            continue
        groups.setdefault(split or "untagged", []).append(job)
    problems.raise_if_any()
    if "untagged" in groups:
        report.info("images without a split tag written to the 'untagged' set", len(groups["untagged"]))
    return groups


def write(
    dataset: Dataset,
    path: Path,
    *,
    images: Path | None = None,
    report: Report,
    shards: int = 1,
    masks: bool = False,
    split_by_tag: bool = False,
    label_ids: str = "sequential",
    workers: int | None = None,
    skip_broken: bool = False,
    progress: bool = False,
) -> None:
    """The registry's writer: ``data.record`` (or one set per split) and ``label_map.pbtxt`` in the
    folder `path`. `images` may be TFRecords (their embedded images are reused).

    Raises FormatError (no images, an image missing, broken or over the pixel limit...).
    """
    if images is None:
        raise FormatError("the TFRecord writer needs the image files: pass the images folder (--images)")
    path.mkdir(parents=True, exist_ok=True)
    items = label_map_items(labels_in_use(dataset), ids=label_ids)
    prefix = path / ("{split}.record" if split_by_tag else "data.record")
    write_tfrecords(dataset, prefix, images=images, shards=shards, masks=masks, label_map=items,
                    split_by_tag=split_by_tag, workers=workers, report=report, progress=progress,
                    skip_broken=skip_broken, report_unheld=False)  # api.write reported what it cannot hold
    write_label_map(items, path / LABEL_MAP_NAME)
