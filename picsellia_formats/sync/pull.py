"""Pull a dataset version from the platform: annotations into any format, images beside them.

Assets and labels are listed page by page (cursor pagination), annotations loaded in chunks with
``XGET``; the canonical `Dataset` is built and written with `picsellia_formats.write`. Images are
downloaded in parallel into ``DEST/images/``: each goes to a resume file named by its data id in the
private folder ``DEST/.pf-pull/`` (mode 0700, opened with ``O_NOFOLLOW``, so it can neither collide with an
image nor write through a planted link), resumed with a Range request after a cut, capped in size, checked
against the SHA-256 the push stored (or the storage ETag) and only then renamed into place, so a pull
interrupted and run again fetches only what is missing. The downloads run on this process's threads or,
with ``engine="dask"``, on a Dask cluster's workers (`transfers`: they get presigned URLs, never the token;
``DEST`` must be on storage they share).

As the SDK does, annotations are loaded 10 per call for SEGMENTATION, LINE and MULTI versions (100
otherwise) and review statuses are read from the annotation listing (``GET annotations``).

File names come from the platform: names that would leave the destination (``../x.jpg``,
``/etc/y.jpg``, ``C:\\x.jpg``) are refused and counted in the report.

Example:
    >>> import tempfile
    >>> from picsellia_formats.sync.emulator import Emulator
    >>> from picsellia_formats.model import Dataset
    >>> from picsellia_formats.sync import push
    >>> with Emulator(tempfile.mkdtemp()) as emu:
    ...     client = Client(emu.url, emu.token)
    ...     _ = push(Dataset(), tempfile.mkdtemp(), "empty", "v1", client=client, quiet=True)
    ...     pull("empty", "v1", tempfile.mkdtemp(), "coco", client=client, quiet=True).assets
    0
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import formats
from ..api import write
from ..engines import check_engine
from ..errors import PicselliaFormatsError
from ..io_utils import safe_relative_path, staged_files
from ..masks import rle_counts_problem
from ..model import Asset, Dataset, Label
from ..outputs import MARKER
from ..progress import bar
from ..report import Report
from ..textutil import count
from . import shapes
from .client import DATA_LISTING, Client, SyncError
from .pool import pool_map
from .push import data_hash
from .push_annotations import load_chunk
from .transfers import DownloadJob, Outcome, Transfers, download_shard, fetch_file, raise_failures

log = logging.getLogger("picsellia_formats.sync")

IMAGES_DIR = "images"


@dataclass
class PullResult:
    """What a pull fetched and wrote."""

    dataset_name: str
    version: str
    dest: Path
    format: str
    assets: int = 0
    objects: int = 0
    labels: int = 0
    downloaded: int = 0
    already_there: int = 0
    seconds: float = 0.0
    report: Report = field(default_factory=Report)
    dataset: Dataset | None = field(default=None, repr=False)

    def summary(self) -> str:
        return (f"pulled dataset {self.dataset_name!r} version {self.version!r}: {count(self.assets, 'asset')}, "
                f"{count(self.objects, 'object')}, {count(self.labels, 'label')} as {self.format} into {self.dest}; "
                f"images {self.downloaded:,} downloaded, {self.already_there:,} already there, in {self.seconds:.2f} s")


def fetch_dataset(client: Client, dataset_name: str, version: str, status: str | None = None,
                  workers: int = 8, report: Report | None = None, quiet: bool = True
                  ) -> tuple[Dataset, dict[str, dict[str, Any]]]:
    """The canonical dataset of a version, and the platform data (``data`` dict) of each file name.

    Assets are sorted by file name; with `status` only assets whose annotation has that status are kept.
    An answer of the wrong shape (a list for an object, a missing id...) is a SyncError naming the
    version, never a crash; sizes that are not positive integers and file names no file system takes
    are dropped and reported.
    """
    report = report if report is not None else Report()
    try:
        return _fetch_dataset(client, dataset_name, version, status, workers, report, quiet)
    except PicselliaFormatsError:
        raise
    except (KeyError, TypeError, AttributeError, IndexError, ValueError) as exc:
        raise SyncError(f"dataset {dataset_name!r} version {version!r}: the platform's answer has an unexpected "
                        f"shape ({type(exc).__name__}: {str(exc)[:200]}); nothing was written") from None


#: the longest file name (one path component, in bytes) common file systems take (ext4, XFS, APFS, NTFS)
NAME_MAX = 255


def _size_of(value: Any) -> int | None:
    return value if type(value) is int and value > 0 else None


def _number(v: Any) -> bool:
    return type(v) in (int, float) and math.isfinite(v)


def _usable(annotations: list[Any], name: str, report: Report) -> list[Any]:
    """The platform's shapes that a file can hold: masks whose RLE covers the image (else the COCO file
    written would be one no reader takes), coordinates that are finite numbers; the rest dropped, counted."""
    kept = []
    for ann in annotations:
        problem = None
        if ann.mask is not None:
            detail = (rle_counts_problem(ann.mask.height, ann.mask.width, ann.mask.counts) if ann.mask.height
                      else "the image size is unknown")
            if detail is not None:
                problem = ("masks whose RLE does not fit the image", detail)
        geometries = (ann.box, ann.line, ann.point, ann.keypoints, *(ann.polygon or ()))
        if problem is None and not all(all(map(_number, g)) for g in geometries if g is not None):
            problem = ("shapes whose coordinates are not finite numbers", "")
        if problem is None:
            kept.append(ann)
        else:
            report.dropped(f"{problem[0]} (from the platform)", 1, "no annotation file can hold them",
                           example=f"{name}: {problem[1]}" if problem[1] else name)
    return kept


def _fetch_dataset(client: Client, dataset_name: str, version: str, status: str | None, workers: int,
                   report: Report, quiet: bool) -> tuple[Dataset, dict[str, dict[str, Any]]]:
    ds = client.find_dataset(dataset_name)
    if ds is None:
        raise SyncError(f"dataset {dataset_name!r} not found in organization {client.organization.get('name')!r}")
    ver = client.find_version(str(ds["id"]), version)
    if ver is None:
        raise SyncError(f"dataset {dataset_name!r} has no version {version!r}")
    vid = str(ver["id"])
    skeletons = client.skeletons(vid) if ver.get("type") in ("KEYPOINT", "MULTI") else {}
    listed = client.list_labels(vid)
    grouped = any(item.get("group_id") for item in listed)
    groups = {str(g["id"]): str(g.get("name")) for g in client.label_groups(vid)} if grouped else {}
    labels = []
    for item in listed:
        skeleton = skeletons.get(str(item["id"])) or {}
        labels.append(Label(item["name"], group=groups.get(str(item.get("group_id"))),
                            keypoints=skeleton.get("vertices"), skeleton=skeleton.get("edges")))
    with bar(0, "listing assets", quiet, unit="asset") as progress:
        platform_assets = []
        for asset in client.paginate(f"/api/dataset/version/{vid}/assets", dict(DATA_LISTING)):
            if asset["data"].get("upload_status", "DONE") != "DONE":
                report.dropped("assets whose image the platform has not processed", 1,
                               f"upload status {asset['data'].get('upload_status')}",
                               example=str(asset["data"].get("filename")))
                continue
            platform_assets.append(asset)
            progress.update(1)
    status_of = {str(rec["id"]): rec.get("status") for rec in client.list_annotations(vid, status)}
    ids = list(status_of)
    position = {ann_id: i for i, ann_id in enumerate(ids)}  # listed oldest first: the last one wins
    size = load_chunk(ver.get("type"))
    chunks = [ids[i:i + size] for i in range(0, len(ids), size)]
    latest: dict[str, dict[str, Any]] = {}
    with bar(len(chunks), "loading annotations", quiet, unit="chunk") as progress:
        for chunk in pool_map(lambda c: client.load_annotations(vid, c), chunks, workers, progress):
            for item in chunk:
                item = {**item, "status": status_of.get(str(item.get("id")))}
                have = latest.get(str(item["asset_id"]))
                if have is None or position.get(str(item["id"]), 0) > position.get(str(have["id"]), 0):
                    latest[str(item["asset_id"])] = item

    dataset = Dataset(labels=labels)
    data_of: dict[str, dict[str, Any]] = {}
    left_out = 0
    platform_assets.sort(key=lambda a: (str(a["data"]["filename"]), str(a["id"])))
    for asset in platform_assets:
        data = asset["data"]
        raw = str(data.get("filename"))
        try:
            name = safe_relative_path(raw).as_posix()
        except ValueError:
            report.dropped("assets with unsafe file names", 1, "their names would leave the destination folder",
                           example=repr(raw))
            continue
        if name in data_of:
            report.dropped("assets whose file name another asset already has", 1, example=name)
            continue
        if any(len(part.encode("utf-8", "surrogatepass")) > NAME_MAX for part in name.split("/")):
            report.dropped(f"assets whose file name is longer than {NAME_MAX} bytes", 1,
                           "no common file system can hold the image", example=name[:80] + "...")
            continue
        item = latest.get(str(asset["id"]))
        if status is not None and item is None:
            left_out += 1
            continue
        meta = data.get("meta") or {}
        width, height = _size_of(meta.get("width")), _size_of(meta.get("height"))
        if (width, height) != (meta.get("width"), meta.get("height")):
            shown = f"{name}: {meta.get('width')!r} x {meta.get('height')!r}"
            report.dropped("image sizes from the platform that are not positive integers", 1,
                           "the size is left unknown", example=shown)
        annotations = _usable(shapes.from_platform(item, width, height), name, report) if item else []
        tags = [str(t["name"]) for t in asset.get("tags") or () if t.get("name")]
        dataset.add_asset(Asset(name, width, height, annotations, tags=tags,
                                status=item.get("status") if item else None))
        data_of[name] = data
    if left_out:
        report.info(f"assets whose review status is not {status}", left_out,
                    f"--status {status}; the version has {_statuses_present(client, vid, len(platform_assets))}")
    dataset.ensure_labels()
    return dataset, data_of


def _statuses_present(client: Client, vid: str, assets: int) -> str:
    """``"38 PENDING, 2 ACCEPTED, 1 asset without annotation"``: what a ``--status`` filter chose from."""
    latest: dict[str, str] = {}
    for rec in client.list_annotations(vid):  # oldest first: an asset's last annotation wins
        latest[str(rec.get("asset_id", rec["id"]))] = str(rec.get("status") or "no status")
    counts: dict[str, int] = {}
    for value in latest.values():
        counts[value] = counts.get(value, 0) + 1
    parts = [f"{n:,} {name}" for name, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    if assets > len(latest):
        parts.append(count(assets - len(latest), "asset without annotation", many="assets without annotation"))
    return ", ".join(parts) or "no annotations"


def _remove_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass


PART_DIR = ".pf-pull"


def part_dir(dest: Path) -> Path:
    """The private folder of resume files under `dest` (0700, refused when it is a link)."""
    folder = dest / PART_DIR
    try:
        folder.mkdir(mode=0o700, parents=True)
    except FileExistsError:
        if folder.is_symlink() or not folder.is_dir():
            raise SyncError(f"{folder}: not a folder of ours (a link?); remove it and pull again") from None
    return folder


def download_image(client: Client, target: Path, data: dict[str, Any], parts: Path | None = None) -> bool:
    """Download one image to `target` with checksum and resume; False when a verified copy was there.

    The resume file is ``parts/<data id>.part`` (`part_dir`); a download larger than the size the storage
    states, or than `Limits.download_bytes`, is refused. An expired presigned URL is asked again.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    parts = parts if parts is not None else part_dir(target.parent)
    url = data.get("presigned_url")
    for _ in range(client.retry.attempts):
        url = url or client.data_url(str(data["id"]))
        status = fetch_file(client, target, str(data["id"]), data_hash(data), url, parts)
        if status != "expired":
            return status == "done"
        url = None
    raise SyncError(f"{target.name}: the storage refused {client.retry.attempts} presigned URLs in a row")


def download_images(client: Client, transfers: Transfers, jobs: list[tuple[Path, dict[str, Any]]], parts: Path,
                    workers: int, progress: Any = None) -> int:
    """Download every ``(target, data)`` job with `transfers` (the presigned URLs asked here, with the token;
    the bytes fetched and written where `transfers` runs, without it); an expired URL is asked again. Returns
    how many were downloaded (the rest were there). Raises SyncError naming every file that failed, or that
    a worker wrote where this process does not see it."""
    pending = list(jobs)
    urls: dict[str, str | None] = {str(data["id"]): data.get("presigned_url") for _, data in jobs}
    downloaded = 0
    for _ in range(client.retry.attempts):
        missing = [str(data["id"]) for _, data in pending if not urls[str(data["id"])]]
        for data_id, url in zip(missing, pool_map(client.data_url, missing, workers)):
            urls[data_id] = url
        todo = [DownloadJob(str(data.get("filename") or target.name), os.path.abspath(target),
                            os.path.abspath(parts), str(data["id"]), data_hash(data), str(urls[str(data["id"])]))
                for target, data in pending]
        outcomes = transfers.run(download_shard, client, todo, progress)
        raise_failures(outcomes, "downloaded")
        downloaded += sum(o.status == "done" for o in outcomes)
        unseen = [Outcome(job.name, "error", f"{job.target}: written by a worker but not visible here (the pull "
                          "destination must be on storage every worker shares; see docs/scale.md)")
                  for job, o in zip(todo, outcomes) if o.status == "done" and not Path(job.target).is_file()]
        raise_failures(unseen, "seen after their download")
        retry = [(job, o) for job, o in zip(pending, outcomes) if o.status == "expired"]
        for _, data in (job for job, _ in retry):
            urls[str(data["id"])] = None
        pending = [job for job, _ in retry]
        if not pending:
            return downloaded
    raise SyncError(f"the storage refused {client.retry.attempts} presigned URLs in a row for {len(pending)} images")


def pull(
    dataset_name: str,
    version: str,
    dest: str | os.PathLike[str],
    format: str = "coco",  # noqa: A002 - the word users know
    images: bool = True,
    status: str | None = None,
    *,
    client: Client | None = None,
    host: str | None = None,
    workers: int = 8,
    quiet: bool = False,
    write_options: dict[str, Any] | None = None,
    engine: str | None = None,
    scheduler: str | None = None,
) -> PullResult:
    """Pull `dataset_name`/`version` into `dest`: annotations written as `format`, images (unless
    ``images=False``) downloaded into ``dest/images/``. `status` keeps only assets whose annotation has
    that status (e.g. ``ACCEPTED``). Returns counts and the fidelity report of the write.
    ``engine="dask"`` downloads the images on the workers of a Dask cluster (`scheduler`, else a local one;
    see `transfers`: the API calls and the token stay here, `dest` must be on storage every worker shares).
    """
    t0 = time.perf_counter()
    check_engine(engine)
    spec = formats.get(format)
    dest = Path(dest)
    if status is not None:
        status = status.upper()
    result = PullResult(dataset_name, version, dest, spec.name)
    own_client = client is None
    client = client or Client(host, workers=workers)
    try:
        dataset, data_of = fetch_dataset(client, dataset_name, version, status, workers, result.report, quiet)
        image_root = dest / IMAGES_DIR
        if images and data_of:
            image_root.mkdir(parents=True, exist_ok=True)
            parts = part_dir(dest)
            root = image_root.resolve()
            jobs = []
            for name, data in data_of.items():
                target = image_root / name
                if not target.resolve().is_relative_to(root):
                    raise SyncError(f"{name}: resolves outside {image_root} (a symbolic link?)")
                jobs.append((target, data))
            with bar(len(jobs), "downloading", quiet) as progress, Transfers(engine, workers, scheduler) as transfers:
                result.downloaded = download_images(client, transfers, jobs, parts, workers, progress)
            _remove_empty(parts)
            result.already_there = len(jobs) - result.downloaded
    finally:
        if own_client:
            client.close()
    dest.mkdir(parents=True, exist_ok=True)
    target_path = dest / spec.default_file_name if spec.output == "file" else dest
    # DST is pull's own folder (the command checked it): its annotations are rewritten; a folder
    # format's files join images/ there (staged: all or nothing), the output marker left out
    if spec.output == "file":
        write(dataset, target_path, spec.name, images=image_root if images else None, report=result.report,
              overwrite=True, **(write_options or {}))
    else:
        with staged_files(dest) as stage:
            write(dataset, stage / "new", spec.name, images=image_root if images else None,
                  report=result.report, overwrite=True, **(write_options or {}))
            for entry in (stage / "new").iterdir():
                if entry.name != MARKER:
                    entry.rename(stage / entry.name)
            shutil.rmtree(stage / "new")
    result.assets, result.objects, result.labels = len(dataset), dataset.num_annotations, len(dataset.labels)
    result.dataset = dataset
    result.seconds = time.perf_counter() - t0
    return result
