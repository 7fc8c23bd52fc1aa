"""The image transfers of push and pull as tasks over shards: on this process's threads, or on an engine.

The I/O-bound part of a push (reading each image file and sending its bytes to object storage) and of a
pull (fetching each image and writing it under ``DEST/images/``) is a function of a shard of jobs:
`upload_shard` / `download_shard`. ``engine="local"`` (the default) runs the whole list as one shard on
this process's threads; ``engine="dask"`` sends shards of `SHARD` jobs to the workers of a Dask cluster
(`picsellia_formats.engines`), each shard running its files on `TransferContext.threads` threads. Same
function, same jobs, same outcomes: only where it runs differs.

**The API token never leaves this process.** Every transfer goes to a presigned URL (reference §5.2:
``generate_presigned_url`` answers ``{client_type, presigned_url_data: {url, fields}}``; multipart uploads
get one ``generate_part_presigned_url`` per part; downloads use ``data.presigned_url`` or
``GET data/{id}/presigned-url``). A presigned URL carries its own signature for one object and one
method, valid about an hour, and the storage takes no ``Authorization`` header (the SDK sends none; the
emulator's ``/_storage`` routes check the signature only). So the driver makes every API call (object
name, presigned URL, multipart start and completion, data registration), and a worker holds only a
token-free `Storage` made from `StorageSettings` (retries, timeouts, caps) and the jobs: file path,
expected SHA-256, presigned URL. Nothing a worker receives holds the token (a test pickles the payload and
looks for it), and a worker has no way to call the API: `Storage` refuses. A URL that expires before its
worker uses it comes back as ``expired``; the driver asks for a fresh one and sends the job again.

**Where the files must be.** A worker reads each image by the path the driver checked (push) and writes
into the pull destination: ``--images`` and the pull ``DEST`` must be on storage every worker mounts at
the same path. A worker that cannot see a file, or sees different bytes (its SHA-256 differs from the one
the driver computed), fails that file with a message naming it and the host; the push or pull then stops
with every such file listed (`raise_failures`), never skipping one. After a pull, the driver checks that
each downloaded file is visible to it too.

Example:
    >>> import tempfile, pathlib
    >>> from picsellia_formats.sync.transport import StorageSettings
    >>> missing = str(pathlib.Path(tempfile.mkdtemp()) / "a.jpg")
    >>> plan = UploadPlan("o/a.jpg", "image/jpeg", "minio", "http://127.0.0.1:9/")
    >>> [o.status for o in upload_shard([UploadJob("a.jpg", missing, "0" * 64, 3, plan)],
    ...                                 TransferContext(StorageSettings(), 1))]
    ['error']
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from .pool import pool_map
from .transport import LARGE_FILE, Storage, StorageSettings, SyncError

#: Jobs per task on an engine: enough to amortise a task's cost, few enough to spread a batch over workers.
SHARD = 16
#: Failures listed in the error of a push or pull whose transfers failed (the rest are counted).
SHOWN = 20
_MD5 = re.compile(r'^"?([0-9a-f]{32})"?$')


@dataclass(frozen=True)
class UploadPlan:
    """Where and how the bytes of one object go, as the platform said (`Client.plan_upload`).

    ``client_type``: aws, minio, google (a form POST to `url` with `fields`) or azure (a PUT). A multipart
    upload (``upload_id`` set) PUTs part `i` to ``part_urls[i]`` (S3) or the parts in turn to `url` with a
    ``Content-Range`` (google); the driver completes it."""

    object_name: str
    content_type: str
    client_type: str
    url: str
    fields: dict[str, str] = field(default_factory=dict)
    upload_id: str | None = None
    part_urls: tuple[str, ...] = ()


@dataclass(frozen=True)
class UploadJob:
    """One image to upload: its platform name, the file, what the driver found in it, where it goes."""

    name: str
    path: str
    sha256: str
    size: int
    plan: UploadPlan


@dataclass(frozen=True)
class DownloadJob:
    """One image to download: its name, target file, resume folder, data id, expected SHA-256, URL."""

    name: str
    target: str
    parts: str
    data_id: str
    sha256: str | None
    url: str


@dataclass(frozen=True)
class Outcome:
    """What became of one job: ``done``, ``there`` (a verified copy was there already), ``expired`` (the
    presigned URL was refused: ask a new one) or ``error`` (`detail` says why, naming the file)."""

    name: str
    status: str
    detail: str = ""
    etags: tuple[str, ...] = ()


@dataclass(frozen=True)
class TransferContext:
    """The read-only second argument of a shard task: storage settings and threads per shard (no token)."""

    settings: StorageSettings
    threads: int = 4


# -- one file ---------------------------------------------------------------------------------------------


def send_object(storage: Storage, plan: UploadPlan, content: bytes) -> tuple[str, ...] | None:
    """Send `content` as the plan says (as the SDK does, ``services/upload/file.py``); the part ETags of
    an S3 multipart upload (else ``()``), None when the storage refused the URL (403: expired)."""
    kind = plan.client_type.lower()
    if plan.upload_id is not None:
        if kind == "google":
            size = len(content)
            for start in range(0, size, LARGE_FILE):
                end = min(size, start + LARGE_FILE) - 1
                resp = storage.request("PUT", plan.url, data=content[start:end + 1], api=False, ok=(308, 403),
                                       headers={"Content-Length": str(end + 1 - start),
                                                "Content-Range": f"bytes {start}-{end}/{size}"})
                if resp.status_code == 403:
                    return None
            return ()
        etags = []
        for number, url in enumerate(plan.part_urls):
            start = number * LARGE_FILE
            resp = storage.request("PUT", url, data=content[start:start + LARGE_FILE], api=False, ok=(403,))
            if resp.status_code == 403:
                return None
            etags.append(resp.headers.get("ETag", ""))
        return tuple(etags)
    if kind == "azure":
        headers = {**plan.fields, "Content-Type": plan.content_type, "x-ms-blob-type": "BlockBlob"}
        resp = storage.request("PUT", plan.url, data=content, headers=headers, api=False, ok=(403,))
    elif kind in ("aws", "minio", "google"):
        form = {**plan.fields, "Content-Type": plan.content_type}
        resp = storage.request("POST", plan.url, data=form, files={"file": (plan.object_name, content)},
                               api=False, ok=(403,))
    else:
        raise SyncError(f"storage type {plan.client_type!r} is not supported")
    return None if resp.status_code == 403 else ()


def _where() -> str:
    return f"host {socket.gethostname()}"


def upload_file(storage: Storage, job: UploadJob) -> Outcome:
    """Read `job`'s file, check it is the one the driver hashed, send it; the outcome (errors named)."""
    try:
        with open(job.path, "rb") as f:
            content = f.read()
    except FileNotFoundError:
        return Outcome(job.name, "error", f"{job.path}: no such file on {_where()} (every worker must see the "
                                          "images folder at the same path; see docs/scale.md)")
    except OSError as exc:
        return Outcome(job.name, "error", f"{job.path}: cannot be read on {_where()} ({exc.strerror or exc})")
    if hashlib.sha256(content).hexdigest() != job.sha256:
        return Outcome(job.name, "error", f"{job.path} on {_where()} is not the file checked before the push "
                                          "(its SHA-256 differs: changed meanwhile, or another copy)")
    try:
        etags = send_object(storage, job.plan, content)
    except SyncError as exc:
        return Outcome(job.name, "error", f"{job.name}: {exc}")
    return Outcome(job.name, "expired") if etags is None else Outcome(job.name, "done", etags=etags)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _md5(path: Path) -> str:
    digest = hashlib.md5()  # the storage ETag of a single-part upload
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _verified(part: Path, expected_sha: str | None, etag: str | None, total: int | None) -> bool:
    if total is not None and part.stat().st_size != total:
        return False
    if expected_sha:
        return _sha256(part) == expected_sha
    match = _MD5.match(etag or "")
    return _md5(part) == match.group(1) if match else True


def _open_part(part: Path, append: bool) -> Any:
    flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | (os.O_APPEND if append else os.O_TRUNC)
    try:
        fd = os.open(part, flags, 0o600)
    except OSError as exc:
        raise SyncError(f"{part}: cannot open the resume file ({exc.strerror}; a planted link?)") from None
    return os.fdopen(fd, "ab" if append else "wb")


def fetch_file(storage: Storage, target: Path, data_id: str, expected: str | None, url: str,
               parts: Path) -> str:
    """Download `url` to `target` through the resume file ``parts/<data id>.part``, checked against the
    SHA-256 `expected` (or the storage's MD5 ETag) before the rename: ``done``, ``there`` (a verified copy
    was there) or ``expired`` (the storage refused the URL: ask a new one). A download larger than the
    size the storage states, or than `Limits.download_bytes`, is refused (SyncError)."""
    if target.exists():
        if expected is None or _sha256(target) == expected:
            return "there"
        target.unlink()
    if not parts.is_dir():
        raise SyncError(f"{target.name}: the destination folder {parts.parent} is not visible on {_where()} "
                        "(every worker must see the pull destination at the same path; see docs/scale.md)")
    target.parent.mkdir(parents=True, exist_ok=True)
    part = parts / f"{data_id}.part"
    if part.is_symlink():
        part.unlink()
    cap = storage.limits.download_bytes
    for n in range(storage.retry.attempts):
        offset = part.stat().st_size if part.exists() else 0
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        total: int | None = None
        try:
            resp = storage.request("GET", url, headers=headers, api=False, stream=True, ok=(403, 416))
            with resp:
                if resp.status_code == 403:
                    return "expired"
                etag = resp.headers.get("ETag")
                if resp.status_code == 416:
                    total = offset
                else:
                    crange = re.match(r"bytes \d+-\d+/(\d+)", resp.headers.get("Content-Range") or "")
                    if resp.status_code == 206 and crange:
                        total = int(crange.group(1))
                    elif resp.headers.get("Content-Length", "").isdigit():
                        total = int(resp.headers["Content-Length"])
                    if total is not None and total > cap:
                        raise SyncError(f"{target.name}: the storage states {total:,} bytes, over the "
                                        f"{cap:,}-byte limit")
                    limit = total if total is not None else cap
                    append = resp.status_code == 206
                    size = offset if append else 0
                    with _open_part(part, append) as f:
                        for chunk in resp.iter_content(1 << 16):
                            size += len(chunk)
                            if size > limit:
                                raise SyncError(f"{target.name}: the storage sent more than "
                                                f"{'it stated' if total is not None else 'the limit'} "
                                                f"({limit:,} bytes)")
                            f.write(chunk)
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError):
            storage._sleep(storage._backoff(n))
            continue
        except SyncError:
            part.unlink(missing_ok=True)
            raise
        if _verified(part, expected, etag, total):
            os.replace(part, target)
            return "done"
        part.unlink(missing_ok=True)
        storage._sleep(storage._backoff(n))
    raise SyncError(f"{target.name}: could not download a verified copy after {storage.retry.attempts} attempts")


def download_file(storage: Storage, job: DownloadJob) -> Outcome:
    """`fetch_file` of one job, its errors (storage, disk) turned into an outcome naming the file."""
    try:
        status = fetch_file(storage, Path(job.target), job.data_id, job.sha256, job.url, Path(job.parts))
    except SyncError as exc:
        return Outcome(job.name, "error", str(exc))
    except OSError as exc:
        return Outcome(job.name, "error", f"{job.target}: cannot be written on {_where()} ({exc.strerror or exc})")
    return Outcome(job.name, status)


# -- shards --------------------------------------------------------------------------------------------


def upload_files(storage: Storage, jobs: Sequence[UploadJob], threads: int, progress: Any = None) -> list[Outcome]:
    """`upload_file` of each job on `threads` threads, outcomes in order (never raises for one file)."""
    return pool_map(lambda job: upload_file(storage, job), list(jobs), threads, progress)


def download_files(storage: Storage, jobs: Sequence[DownloadJob], threads: int,
                   progress: Any = None) -> list[Outcome]:
    """`download_file` of each job on `threads` threads, outcomes in order (never raises for one file)."""
    return pool_map(lambda job: download_file(storage, job), list(jobs), threads, progress)


#: this worker process's storage sessions, by settings (a connection pool reused by every shard)
_STORAGE: dict[tuple[StorageSettings, int], Storage] = {}


def worker_storage(settings: StorageSettings, threads: int) -> Storage:
    """The token-free `Storage` of this process for `settings` (made once, reused)."""
    key = (settings, threads)
    if key not in _STORAGE:
        _STORAGE[key] = Storage(settings, workers=threads)
    return _STORAGE[key]


def upload_shard(shard: Sequence[UploadJob], context: TransferContext) -> list[Outcome]:
    """The engine task of a push: `upload_files` of `shard` with this worker's token-free storage."""
    return upload_files(worker_storage(context.settings, context.threads), shard, context.threads)


def download_shard(shard: Sequence[DownloadJob], context: TransferContext) -> list[Outcome]:
    """The engine task of a pull: `download_files` of `shard` with this worker's token-free storage."""
    return download_files(worker_storage(context.settings, context.threads), shard, context.threads)


def raise_failures(outcomes: Sequence[Outcome], what: str) -> None:
    """SyncError naming every failed file (the first `SHOWN`, then a count) when an outcome is an error.

    Example:
        >>> raise_failures([Outcome("a.jpg", "error", "a.jpg: no such file")], "uploaded")
        Traceback (most recent call last):
        ...
        picsellia_formats.sync.transport.SyncError: a.jpg: no such file
    """
    failed = [o for o in outcomes if o.status == "error"]
    if not failed:
        return
    if len(failed) == 1:
        raise SyncError(failed[0].detail)
    lines = [f"  {o.detail}" for o in failed[:SHOWN]]
    if len(failed) > SHOWN:
        lines.append(f"  ... and {len(failed) - SHOWN:,} more")
    raise SyncError(f"{len(failed):,} images could not be {what}:\n" + "\n".join(lines))


class Transfers:
    """Where the transfers of one push or pull run: this process's threads (``local``) or a Dask cluster
    (``dask``, started or joined on first use and closed with this object).

    `workers`: threads of the local transfers, and threads per shard on the engine; the local Dask cluster
    has ``min(workers, CPUs)`` processes (a running one, `scheduler`, has its own).

    Example:
        >>> with Transfers() as t:
        ...     t.engine
        'local'
    """

    def __init__(self, engine: str | None = None, workers: int = 8, scheduler: str | None = None,
                 shard: int = SHARD) -> None:
        from ..engines import check_engine

        self.engine = check_engine(engine)
        self.workers = workers
        self.scheduler = scheduler
        self.shard = shard
        self._session: Any = None
        self._executor: Any = None

    def __enter__(self) -> Transfers:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        if self._session is not None:
            session, self._session, self._executor = self._session, None, None
            session.__exit__(None, None, None)

    def _engine_executor(self) -> Any:
        if self._executor is None:
            from ..engines import executor

            session = executor("dask", workers=min(self.workers, os.cpu_count() or 1), scheduler=self.scheduler)
            self._executor = session.__enter__()
            self._session = session
        return self._executor

    def run(self, task: Callable[[Sequence[Any], TransferContext], list[Outcome]], storage: Storage,
            jobs: Sequence[Any], progress: Any = None) -> list[Outcome]:
        """`task` (`upload_shard` or `download_shard`) over `jobs`, outcomes in order. Locally: the whole
        list as one shard with `storage` (the client's own, token-free storage requests); on the engine:
        shards of `shard` jobs with a bounded number in flight, each worker with its own `Storage`."""
        if not jobs:
            return []
        threads = min(self.workers, len(jobs))
        if self.engine == "local":
            files = upload_files if task is upload_shard else download_files
            return files(storage, jobs, threads, progress)
        context = TransferContext(storage.settings, min(self.workers, self.shard))
        ex = self._engine_executor()
        shards = [list(jobs[i:i + self.shard]) for i in range(0, len(jobs), self.shard)]
        pending: deque[Any] = deque()
        out: list[Outcome] = []
        limit = 4 * max(1, min(self.workers, os.cpu_count() or 1))
        try:
            for shard in shards:
                pending.append(ex.submit(task, shard, context, pure=False))
                if len(pending) >= limit:
                    out.extend(_take(pending.popleft(), progress))
            while pending:
                out.extend(_take(pending.popleft(), progress))
        finally:
            for fut in pending:
                fut.cancel()
        return out


def _take(future: Any, progress: Any) -> list[Outcome]:
    result: list[Outcome] = future.result()
    if progress is not None:
        progress.update(len(result))
    return result
