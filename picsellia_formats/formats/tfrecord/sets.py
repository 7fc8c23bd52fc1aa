"""Encoding jobs into record sets, on a local process pool or a distributed engine, from a list or a stream.

`encode_chunk` is the unit of work: a pure function of a chunk of `AssetJob`s and the read-only
`EncodeOptions`, run unchanged by the local pool and by Dask (`engines.map_shards`, the options sent once
per worker). `Encoder.run` feeds it ``(RecordSet, job)`` pairs from any iterable (the in-memory writer's
lists, or a stream's batches), at most a few chunks in flight, and writes each record to its set in the
order the pairs came: record ``i`` of a set goes to shard ``i % n``. So the bytes depend on the jobs'
order only, never on the engine, the number of workers or whether the jobs came from a stream.

Example:
    >>> import tempfile, pathlib
    >>> from picsellia_formats.formats.tfrecord.encode import AssetJob, EncodeOptions, ObjectJob
    >>> from picsellia_formats.formats.tfrecord.write import image_source
    >>> job = AssetJob(0, "raccoon-105.jpg", 720, 960, "1", [ObjectJob("raccoon", 1, (250, 49, 464, 820))], [], None)
    >>> options = EncodeOptions(image_source("fixtures/raccoon_voc/images"))
    >>> out = RecordSet(pathlib.Path(tempfile.mkdtemp()) / "x.record", 1)
    >>> totals = {}
    >>> Encoder(options, totals, workers=0).run([(out, job)])
    >>> out.close(); totals["written"], out.written
    (1, 1)
    >>> out.remove()
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from ...errors import FormatError, ProblemCollector
from ...io_utils import gc_paused
from ...outputs import new_temp_path, release
from .encode import AssetJob, EncodeOptions, encode_job
from .records import frame, shard_paths
from .sources import BROKEN, MISSING, TOO_LARGE

Result = tuple[int, "bytes | None", "str | None", dict[str, int], "str | None"]


def encode_chunk(jobs: Sequence[AssetJob], options: EncodeOptions) -> list[Result]:
    """Encode and frame a chunk of jobs: the unit of work of the pool and of the engine (pure)."""
    out = []
    for job in jobs:
        index, data, problem, counts, where = encode_job(job, options)
        out.append((index, frame(data) if data is not None else None, problem, counts, where))
    return out


def auto_workers(n_images: int, n_objects: int, masks: bool) -> int:
    """Worker processes worth starting: none for small jobs (a pool costs ~0.3 s to start; records
    cost ~0.1 ms each, masks ~0.3 ms each), else one per CPU (at most 8)."""
    work = n_images * 1e-4 + (n_objects * 3e-4 if masks else 0.0)
    if work < 1.0:
        return 0
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return min(cpus, 8) if cpus >= 2 else 0


class RecordSet:
    """The temporary shard files of one record set at `prefix`, opened now, renamed by the caller."""

    def __init__(self, prefix: str | os.PathLike[str], shards: int, suffixed: bool = False) -> None:
        self.prefix = Path(prefix)
        self.shards = shards
        self.paths = shard_paths(prefix, shards, suffixed=suffixed)
        self.tmps = [new_temp_path(p) for p in self.paths]  # removed on SIGTERM; recognised by the next run
        self.written = 0
        self.files: list[BinaryIO] = []
        try:
            for t in self.tmps:
                t.parent.mkdir(parents=True, exist_ok=True)
                self.files.append(open(t, "wb"))
        except OSError as exc:
            self.remove()
            raise FormatError(f"cannot write: {exc.strerror or exc}", file=self.prefix) from None

    def write(self, data: bytes) -> None:
        try:
            self.files[self.written % self.shards].write(data)
        except OSError as exc:
            raise FormatError(f"cannot write: {exc.strerror or exc}", file=self.prefix) from None
        self.written += 1

    def close(self) -> None:
        """Close every shard; FormatError (naming the prefix) when one cannot be flushed."""
        failure = None
        for f in self.files:
            try:
                f.close()
            except OSError as exc:
                failure = failure or exc
        self.files = []
        if failure is not None:
            raise FormatError(f"cannot write: {failure.strerror or failure}", file=self.prefix) from None

    def remove(self) -> None:
        for f in self.files:
            try:
                f.close()
            except OSError:
                pass
        self.files = []
        for t in self.tmps:
            release(t)

    @property
    def pending(self) -> list[tuple[Path, Path]]:
        """``[(temporary, target)]`` of every shard."""
        return list(zip(self.tmps, self.paths))


def skippable(problem: str | None) -> str | None:
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


def _n_objects(job: AssetJob) -> int:
    """Objects and image-level classes: what the dataset counts as its annotations."""
    return len(job.objects) + len(job.classes)


class Encoder:
    """Encodes ``(RecordSet, AssetJob)`` pairs on `engine` and writes the records to their sets.

    `workers`: processes of the local pool (0: this process; None: `auto_workers` of `expected`, the
    number of images and objects to come), or of a local Dask cluster. `engine`: ``local`` or ``dask``
    (`engines.map_shards`; `scheduler`: a running Dask scheduler's address). Counters go to `totals`.
    A missing (unless `skip_missing`), broken or too large (unless `skip_broken`) or unreadable image
    is collected; `run` raises a FormatError naming every such image once all jobs are through.
    """

    def __init__(self, options: EncodeOptions, totals: dict[str, Any], *, workers: int | None = None,
                 engine: str | None = None, scheduler: str | None = None, skip_missing: bool = False,
                 skip_broken: bool = False, expected: tuple[int, int] = (0, 0), progress: Any = None) -> None:
        self.options = options
        self.totals = totals
        self.engine = engine or "local"
        self.scheduler = scheduler
        if workers is None and self.engine == "local":
            workers = auto_workers(expected[0], expected[1], options.masks)
        self.workers = workers
        self.skip_missing = skip_missing
        self.skip_broken = skip_broken
        self.bar = progress
        self.problems = ProblemCollector()  # each problem names its image: never the (temporary) output
        self.chunk_size = 16 if options.masks else 64

    def _results(self, chunks: Iterable[list[AssetJob]]) -> Iterator[list[Result]]:
        from ...engines import map_shards

        if self.engine == "local" and not self.workers:
            return map_shards(encode_chunk, chunks, self.options, workers=0)
        import multiprocessing

        return map_shards(encode_chunk, chunks, self.options, engine=self.engine, workers=self.workers,
                          scheduler=self.scheduler, mp_context=multiprocessing.get_context("spawn"))

    def run(self, items: Iterable[tuple[RecordSet, AssetJob]]) -> None:
        submitted: deque[list[tuple[RecordSet, AssetJob]]] = deque()

        def chunks() -> Iterator[list[AssetJob]]:
            buf: list[tuple[RecordSet, AssetJob]] = []
            for item in items:
                buf.append(item)
                if len(buf) == self.chunk_size:
                    submitted.append(buf)
                    yield [job for _, job in buf]
                    buf = []
            if buf:
                submitted.append(buf)
                yield [job for _, job in buf]

        where = self.options.images.describe() if self.options.images else "nowhere"
        results = self._results(chunks())
        try:
            with gc_paused():
                for chunk in results:
                    for (target, job), result in zip(submitted.popleft(), chunk):
                        self._take(target, job, result, where)
                    if self.bar is not None:
                        self.bar.update(len(chunk))
        finally:
            close = getattr(results, "close", None)
            if close is not None:
                close()  # the engine shuts down (pending shards cancelled) on an error too
        self.problems.raise_if_any()

    def _take(self, target: RecordSet, job: AssetJob, result: Result, where: str) -> None:
        totals = self.totals
        _, data, problem, counts, image_file = result
        kind = skippable(problem)
        if kind is not None and (self.skip_missing if kind == "missing" else self.skip_broken):
            totals[kind] = totals.get(kind, 0) + 1
            totals[f"{kind}_objects"] = totals.get(f"{kind}_objects", 0) + _n_objects(job)
            if kind != "missing":
                totals.setdefault(f"{kind}_names", []).append(job.file_name)
        elif problem is not None:
            if kind == "missing":
                problem = f"{MISSING} (looked in {where}; --skip-missing-images leaves such images out)"
            elif kind is not None:
                problem += " (--skip-broken-images leaves such images out)"
            self.problems.add(f"image {job.file_name!r}", problem, file=image_file)
        elif not self.problems:
            target.write(data)  # type: ignore[arg-type]
            totals["written"] = totals.get("written", 0) + 1
            totals["objects_written"] = totals.get("objects_written", 0) + _n_objects(job)
        for key, n in counts.items():
            totals[key] = totals.get(key, 0) + n
