"""Push a `Dataset` and its images to a dataset version on the platform, resumably and without duplicates.

The steps follow the platform's own flows (reference §5): get or create the dataset and the version,
get or create the labels in bulk, upload each new image (object name -> presigned upload -> register
the data -> wait until processed), attach the data to the version (a job, polled), attach asset tags,
then send the annotations with ``bulk-annotations`` in chunks (split in two on 413). The image bytes go from
this process's threads or, with ``engine="dask"``, from a Dask cluster's workers (`transfers`: the API calls
and the token stay here, workers get presigned URLs and file paths).

Every image is identified by its base file name (what the SDK sends, ``os.path.basename``) and the
SHA-256 of its bytes, kept in the data's ``custom_metadata["pf_sha256"]`` (a key declared in the
datalake's custom metadata schema, as ``Datalake.upsert_custom_metadata_schema_key`` does). An image
already in the version, or already uploaded by an interrupted or concurrent push, is not uploaded again
(the datalake is listed again just before each upload and each registration); assets whose annotations
on the platform already equal the ones pushed are not sent again. A second push changes nothing, and two
pushes at once leave one asset per image (duplicates of a file name in the version are removed).

Example:
    >>> import tempfile
    >>> from picsellia_formats.sync.emulator import Emulator
    >>> from picsellia_formats.model import Dataset
    >>> with Emulator(tempfile.mkdtemp()) as emu:
    ...     client = Client(emu.url, emu.token)
    ...     push(Dataset(), tempfile.mkdtemp(), "empty", "v1", client=client, quiet=True).images
    0
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from PIL import Image, UnidentifiedImageError

from ..engines import check_engine
from ..errors import FormatError, OptionError, ProblemCollector
from ..image_header import read_file_header
from ..images import SWAPPING_ORIENTATIONS, ImageIndex, exif_orientation
from ..io_utils import safe_relative_path
from ..model import Asset, Dataset, Label
from ..progress import bar
from ..report import Report
from ..textutil import count
from . import shapes
from .client import Client, SyncError
from .labels import push_label_details
from .pool import pool_map
from .push_annotations import push_annotations
from .transfers import Transfers, UploadJob, raise_failures, upload_shard

log = logging.getLogger("picsellia_formats.sync")

IMPORT_TYPES = ("REPLACE", "KEEP", "CONCATENATE")
#: Key of the data custom metadata holding the SHA-256 of the image bytes.
HASH_KEY = "pf_sha256"
#: The SDK's ``LARGE_FILE_SIZE``: a bigger file goes by multipart upload (`Client.upload_object`).
LARGE_FILE = 25 * 1024 * 1024
#: Images uploaded between two listings of the datalake (a concurrent push's uploads are seen then).
UPLOAD_BATCH = 64
_T = TypeVar("_T")
_R = TypeVar("_R")


@dataclass
class LocalImage:
    """One image to push: the asset, the platform file name, the file and what identifies it."""

    asset: Asset
    name: str
    path: Path
    size: int
    sha256: str
    content_type: str
    width: int
    height: int


@dataclass
class PushResult:
    """What a push did (or, with ``dry_run``, would do)."""

    dataset_name: str
    version: str
    type: str
    images: int = 0
    objects: int = 0
    labels: int = 0
    uploaded: int = 0
    reused_data: int = 0
    already_in_version: int = 0
    replaced: int = 0
    annotations_sent: int = 0
    annotations_unchanged: int = 0
    annotations_skipped: int = 0
    tags_attached: int = 0
    dataset_id: str | None = None
    version_id: str | None = None
    dry_run: bool = False
    seconds: float = 0.0
    report: Report = field(default_factory=Report)

    def summary(self) -> str:
        target = f"dataset {self.dataset_name!r} version {self.version!r} ({self.type})"
        if self.dry_run:
            return (f"plan: push {count(self.images, 'image')}, {count(self.objects, 'object')} and "
                    f"{count(self.labels, 'label')} "
                    f"to {target}; nothing sent (--dry-run)")
        return (f"pushed {count(self.images, 'image')} to {target}: {self.uploaded:,} uploaded, "
                f"{self.reused_data:,} reused from the datalake, {self.already_in_version:,} already in the "
                f"version, {self.replaced:,} replaced; annotations of {count(self.annotations_sent, 'asset')} sent, "
                f"{self.annotations_unchanged:,} unchanged; {count(self.labels, 'label')} in {self.seconds:.2f} s")


def infer_type(dataset: Dataset) -> str:
    """The platform dataset type for the kinds of objects in `dataset` (MULTI when mixed).

    Example:
        >>> from picsellia_formats.model import Annotation, Asset
        >>> infer_type(Dataset(assets=[Asset("a.jpg", annotations=[Annotation("c", box=(0, 0, 1, 1))])]))
        'OBJECT_DETECTION'
    """
    return type_of_kinds({ann.kind for _, ann in dataset.annotations()})


#: The platform dataset type of each kind of object.
KIND_TYPES = {"box": "OBJECT_DETECTION", "polygon": "SEGMENTATION", "mask": "MASK",
              "classification": "CLASSIFICATION", "keypoints": "KEYPOINT", "line": "LINE", "point": "POINT"}


def type_of_kinds(kinds: Iterable[str]) -> str:
    """The platform dataset type for objects of these kinds (``box``, ``polygon``...; MULTI when mixed)."""
    types = {KIND_TYPES[kind] for kind in kinds}
    if not types:
        return "NOT_CONFIGURED"
    return types.pop() if len(types) == 1 else "MULTI"


def _hash_file(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _describe(item: tuple[Asset, str, Path]) -> LocalImage | str:
    asset, name, path = item
    try:
        read_file_header(path)  # a header claiming more pixels than the limit: refused before Pillow
        sha, size = _hash_file(path)
        with Image.open(path) as im:
            width, height = im.size
            if exif_orientation(im) in SWAPPING_ORIENTATIONS:
                width, height = height, width
            content_type = Image.MIME.get(im.format or "", "application/octet-stream")
    except FileNotFoundError:
        return ("image file not found (validate SRC --images DIR --fix DST --drop-broken writes a copy without "
                "the assets whose image is missing)")
    except FormatError as exc:  # too many pixels, not an image, a FIFO or device
        return exc.message
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        return f"not a readable image: {exc}"
    return LocalImage(asset, name, path, size, sha, content_type, width, height)


def scan_images(dataset: Dataset, images_dir: str | os.PathLike[str], workers: int = 8,
                quiet: bool = True, *, index: ImageIndex | None = None, seen: dict[str, str] | None = None,
                problems: ProblemCollector | None = None, first: int = 0) -> list[LocalImage]:
    """Check every asset's image (safe name, present, readable, unique) and hash it.

    Raises FormatError listing every problem (unsafe or duplicate names, missing or unreadable files).
    A stream checks its batches in turn with one `index`, `seen` (base name -> path) and `problems` (then
    raised by the caller, once every batch is checked); `first` is the batch's first asset position.
    """
    root = Path(images_dir)
    index = index if index is not None else ImageIndex(root)  # the one lookup policy every command uses
    collect = problems is None
    problems = problems if problems is not None else ProblemCollector(root)
    todo: list[tuple[Asset, str, Path]] = []
    seen = seen if seen is not None else {}
    for i, asset in enumerate(dataset.assets, first):
        try:
            rel = safe_relative_path(asset.file_name)
        except ValueError as exc:
            problems.add(f"asset[{i}] {asset.file_name!r}", str(exc))
            continue
        name = rel.name  # the platform keeps base names (the SDK sends os.path.basename)
        if name in seen:
            other = seen[name]
            why = "file name used by another asset" if other == rel.as_posix() else \
                f"same base name as {other!r}: the platform keeps base names only; rename one of them"
            problems.add(f"asset[{i}] {rel.as_posix()!r}", why)
            continue
        seen[name] = rel.as_posix()
        match = index.lookup(asset.file_name)
        if match.ambiguous:
            problems.add(f"asset[{i}] {rel.as_posix()!r}", "fits several files equally well: "
                         f"{', '.join(repr(str(p)) for p in match.candidates)}; write its path relative to --images")
            continue
        todo.append((asset, name, match.path or root / rel))
    with bar(len(todo), "checking images", quiet) as progress:
        described = pool_map(_describe, todo, workers, progress)
    images = []
    for (_, name, _), result in zip(todo, described):
        if isinstance(result, str):
            problems.add(name, result)
        else:
            images.append(result)
    if collect:
        problems.raise_if_any()
    return images


def data_hash(data: dict[str, Any]) -> str | None:
    """The content hash a push stored (custom metadata; ``metadata`` for data pushed by 0.1)."""
    for field_ in ("custom_metadata", "metadata"):
        values = data.get(field_)
        if isinstance(values, dict) and values.get(HASH_KEY):
            return str(values[HASH_KEY])
    return None


def check_push_options(mode: str, **sizes: int) -> str:
    """`mode` upper-cased, after checking it and every count in `sizes` (each must be >= 1).

    Example:
        >>> check_push_options("replace", chunk_size=100, workers=8)
        'REPLACE'
    """
    mode = mode.upper()
    if mode not in IMPORT_TYPES:
        raise OptionError(f"mode must be one of {', '.join(IMPORT_TYPES)}, got {mode!r}")
    small = [name for name, value in sizes.items() if value < 1]
    if small:
        raise OptionError(f"{' and '.join(small)} must be >= 1")
    return mode


def push(
    dataset: Dataset,
    images_dir: str | os.PathLike[str],
    dataset_name: str,
    version: str,
    tags: Iterable[str] = (),
    type: str | None = None,  # noqa: A002 - the platform's word
    *,
    client: Client | None = None,
    host: str | None = None,
    mode: str = "REPLACE",
    workers: int = 8,
    chunk_size: int = 100,
    dry_run: bool = False,
    quiet: bool = False,
    engine: str | None = None,
    scheduler: str | None = None,
) -> PushResult:
    """Push `dataset` (images under `images_dir`) to `dataset_name`/`version`; return what was done.

    ``type`` is the platform dataset type (inferred from the objects when None); ``tags`` are asset
    tags given to every pushed asset (besides each asset's own ``tags``); ``mode`` is the
    bulk-annotations import type: REPLACE (default: the platform ends up with exactly these
    annotations), KEEP (assets already annotated are left alone) or CONCATENATE (shapes are added).
    ``dry_run`` checks everything locally and returns the plan without contacting the platform.
    ``engine="dask"`` sends the image bytes from the workers of a Dask cluster (`scheduler`, else a local
    one; see `transfers`: the API calls and the token stay here, every worker must see `images_dir`).
    Raises OptionError for a bad `mode`, `chunk_size` or `workers`, FormatError for bad images or names
    (all of them listed), PlatformError when the platform refuses a request.
    """
    t0 = time.perf_counter()
    mode = check_push_options(mode, chunk_size=chunk_size, workers=workers)
    check_engine(engine)
    vtype = (type or infer_type(dataset)).upper()
    extra_tags = [t for t in dict.fromkeys(tags) if t]
    result = PushResult(dataset_name, version, vtype, dry_run=dry_run)
    report = result.report
    label_names = list(dict.fromkeys([*dataset.label_names, *(a.label for _, a in dataset.annotations())]))
    images = scan_images(dataset, images_dir, workers, quiet)
    result.images, result.objects, result.labels = len(images), dataset.num_annotations, len(label_names)
    report_plan(images, label_names, vtype, report)
    if dry_run:
        result.seconds = time.perf_counter() - t0
        return result

    own_client = client is None
    client = client or Client(host, workers=workers)
    try:
        with Transfers(engine, workers, scheduler) as transfers:
            label_ids, hashed = prepare_version(client, result, label_names,
                                                {label.name: label for label in dataset.labels})
            push_images(client, result, images, label_ids, hashed, extra_tags, mode, workers, chunk_size, quiet,
                        transfers=transfers)
    except (KeyError, TypeError, AttributeError, IndexError) as exc:  # an answer of the wrong shape
        raise SyncError(f"dataset {dataset_name!r} version {version!r}: the platform's answer has an unexpected "
                        f"shape ({exc.__class__.__name__}: {str(exc)[:200]}); what was sent before is kept, "
                        "push again to finish") from None
    finally:
        if own_client:
            client.close()
    result.seconds = time.perf_counter() - t0
    return result


def report_plan(images: Sequence[LocalImage], label_names: list[str], vtype: str, report: Report) -> None:
    """Count in `report` what the platform will not hold of these images' assets (the plan a dry run shows)."""
    for img in images:
        item = shapes.to_platform(img.asset.annotations, dict.fromkeys(label_names, ""), img.width, img.height,
                                  report)
        shapes.restrict(item, vtype, report)
        extras = sum(1 for key in shapes.PER_ANNOTATION_KEYS for s in item[key] if s.get("text") or s.get("attributes"))
        if extras:
            report.dropped("texts and attributes of lines and points", extras,
                           "the SDK creates lines and points with a label only")
        if img.asset.metadata:
            report.dropped("image metadata fields", len(img.asset.metadata),
                           "the platform's data metadata is a fixed key set; nothing is sent there")
        if img.name != Path(img.asset.file_name).as_posix():
            report.info("file names sent as base names", 1, "the platform keeps base names (as the SDK sends)",
                        example=img.asset.file_name)
        if img.asset.qa:
            report.dropped("image Q&A answers", len(img.asset.qa), "the platform client sends no image Q&A")


def prepare_version(client: Client, result: PushResult, label_names: list[str],
                    labels: dict[str, Label]) -> tuple[dict[str, str], bool]:
    """Get or create the dataset, the version (its type) and the labels, declare the hash key; returns the
    label ids by name and whether content hashes can be stored."""
    report = result.report
    ds = client.get_or_create_dataset(result.dataset_name)
    ver = client.get_or_create_version(ds["id"], result.version, result.type)
    result.dataset_id, result.version_id = str(ds["id"]), str(ver["id"])
    vid = result.version_id
    if ver.get("type") in (None, "NOT_CONFIGURED") and result.type != "NOT_CONFIGURED":
        client.set_version_type(vid, result.type)
    elif ver.get("type") != result.type and result.type != "NOT_CONFIGURED":
        report.info("dataset version type kept", 1, f"the version is {ver.get('type')}, the data looks "
                    f"{result.type}")
        result.type = str(ver.get("type"))
    label_ids = client.bulk_labels(vid, label_names) if label_names else {}
    push_label_details(client, vid, labels, label_ids, report)
    hashed = client.ensure_custom_metadata_key(HASH_KEY)
    if not hashed:
        report.info("content hashes not stored", 1, f"this user may not declare the custom metadata key "
                    f"{HASH_KEY!r}: images are matched by file name only")
    return label_ids, hashed


def push_images(client: Client, result: PushResult, images: list[LocalImage], label_ids: dict[str, str],
                hashed: bool, extra_tags: list[str], mode: str, workers: int, chunk_size: int, quiet: bool,
                *, scoped: bool = False, transfers: Transfers | None = None) -> None:
    """Upload, attach, tag and annotate `images` in the prepared version (counted in `result`).

    `transfers`: where the image bytes are sent from (this process's threads by default).
    `scoped` (a batch of a streamed push): the version's assets and annotations are listed for these images
    only, not whole (so the version's assets that are not pushed are not counted in the report).
    """
    report = result.report
    vid = result.version_id or ""
    # 1. what the version already holds
    local_names = {img.name for img in images}
    if scoped:
        existing = _assets_by_name(client, vid, report, list(local_names), dedupe=True) if images else {}
    else:
        existing = _assets_by_name(client, vid, report, dedupe=local_names)
    asset_id_of: dict[str, str] = {}
    need_data: list[LocalImage] = []
    to_delete: list[str] = []
    for img in images:
        asset = existing.get(img.name)
        if asset is not None:
            known = data_hash(asset["data"])
            if known is None or known == img.sha256:
                if known is None:
                    report.info("assets already on the platform without a content hash, kept as they are")
                asset_id_of[img.name] = str(asset["id"])
                result.already_in_version += 1
                continue
            to_delete.append(str(asset["id"]))
            result.replaced += 1
        need_data.append(img)
    others = sum(1 for name in existing if name not in local_names)
    if others:
        report.info("assets of the version that are not in the pushed dataset, left as they are", others)
    if to_delete:
        client.delete_assets(vid, to_delete)

    # 2. data already in the datalake (an interrupted or concurrent push), else upload
    data_of: dict[str, dict[str, Any]] = {}
    for img, data in zip(need_data, _reusable_data(client, need_data)):
        if data is not None:
            data_of[img.name] = data
            result.reused_data += 1
    to_upload = [img for img in need_data if img.name not in data_of]
    if to_upload:
        with bar(len(to_upload), "uploading", quiet) as progress:
            step = max(UPLOAD_BATCH, workers * 8)
            for i in range(0, len(to_upload), step):
                for name, (data, reused) in _upload_batch(client, to_upload[i:i + step], hashed, workers,
                                                          progress, first=i == 0,
                                                          transfers=transfers or Transfers()).items():
                    data_of[name] = data
                    result.reused_data += reused
                    result.uploaded += not reused
    _wait_processed(client, data_of)

    # 3. attach to the version (what another push attached meanwhile is used, not attached again)
    if data_of:
        now = _assets_by_name(client, vid, report, list(data_of))
        for name in list(data_of):
            if name in now and data_hash(now[name]["data"]) in (None, data_hash(data_of[name])):
                asset_id_of[name] = str(now[name]["id"])
                existing[name] = now[name]
                del data_of[name]
    if data_of:
        with bar(len(data_of), "adding to the version", quiet) as progress:
            assets = client.add_assets(vid, [str(d["id"]) for d in data_of.values()])
            progress.update(len(data_of))
        name_of_data = {str(d["id"]): name for name, d in data_of.items()}
        for asset in assets:
            name = name_of_data.get(str(asset["data"]["id"]))
            if name is not None:
                asset_id_of[name] = str(asset["id"])
                existing[name] = asset
        # two pushes at once may each have attached their own data: keep the first asset of each name
        kept = _assets_by_name(client, vid, report, list(data_of), dedupe=True)
        for name in data_of:
            if name in kept:
                asset_id_of[name], existing[name] = str(kept[name]["id"]), kept[name]
    missing = [img.name for img in images if img.name not in asset_id_of]
    if missing:
        raise SyncError(f"{len(missing)} images did not become assets, e.g. {missing[:3]}")

    # 4. asset tags
    wanted: dict[str, list[str]] = defaultdict(list)
    for img in images:
        have = {t.get("name") for t in existing.get(img.name, {}).get("tags") or ()}
        for tag in dict.fromkeys([*img.asset.tags, *extra_tags]):
            if tag and tag not in have:
                wanted[tag].append(asset_id_of[img.name])
    for tag, ids in wanted.items():
        tag_obj = client.get_or_create_asset_tag(vid, tag)
        client.attach_tag(str(tag_obj["id"]), ids)
        result.tags_attached += len(ids)

    # 5. annotations
    push_annotations(client, result, images, label_ids, asset_id_of, mode, workers, chunk_size, quiet,
                     scoped=scoped)


def _assets_by_name(client: Client, vid: str, report: Report, names: Sequence[str] | None = None,
                    dedupe: bool | set[str] = False) -> dict[str, dict[str, Any]]:
    """The version's assets by file name (all, or those named), first listed first. With `dedupe` (True, or
    the names to repair), later assets of a name whose content hash equals the first one's are deleted: that
    is what two concurrent pushes leave, and every push repairs it (assets without our hash are left alone)."""
    listed = client.list_assets(vid) if names is None else client.list_assets(vid, "filenames", names)
    out: dict[str, dict[str, Any]] = {}
    extra: list[str] = []
    for asset in listed:
        name = str(asset["data"]["filename"])
        first = out.setdefault(name, asset)
        known = data_hash(asset["data"])
        if first is not asset and known is not None and known == data_hash(first["data"]) and \
                (dedupe is True or name in dedupe):
            extra.append(str(asset["id"]))
    if extra:
        client.delete_assets(vid, extra)
        report.info("duplicate assets removed", len(extra), "another push attached the same image at the same time")
    return out


def _reusable_data(client: Client, images: Sequence[LocalImage]) -> list[dict[str, Any] | None]:
    """For each image, a data of the datalake with its name and content (not in ERROR), DONE first."""
    if not images:
        return []
    by_name: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for data in client.list_datas("filenames", [img.name for img in images]):
        by_name[data["filename"]].append(data)
    out: list[dict[str, Any] | None] = []
    for img in images:
        usable = [d for d in by_name.get(img.name, ()) if data_hash(d) == img.sha256
                  and d.get("upload_status") != "ERROR"]
        usable.sort(key=lambda d: d.get("upload_status") != "DONE")
        out.append(usable[0] if usable else None)
    return out


def _upload_batch(client: Client, batch: list[LocalImage], hashed: bool, workers: int, progress: Any,
                  first: bool, transfers: Transfers) -> dict[str, tuple[dict[str, Any], bool]]:
    """Upload and register a batch of images, unless a concurrent push did it meanwhile: the batch's names
    are listed again before the uploads (except for the first batch, just listed) and before the
    registrations. Returns name -> (data, reused)."""
    out: dict[str, tuple[dict[str, Any], bool]] = {}

    def reuse(images: list[LocalImage]) -> list[LocalImage]:
        if not hashed:
            return images
        rest = []
        for img, found in zip(images, _reusable_data(client, images)):
            if found is None:
                rest.append(img)
            else:
                out[img.name] = (found, True)
                progress.update(1)
        return rest

    todo = batch if first else reuse(batch)
    names = dict(zip([img.name for img in todo],
                     pool_map(lambda img: client.generate_object_name(img.name), todo, workers)))
    send_images(client, transfers, todo, names, workers)
    todo = reuse(todo)

    def register(img: LocalImage) -> dict[str, Any]:
        payload: dict[str, Any] = {"type": "IMAGE", "filename": img.name, "object_name": names[img.name],
                                   "content_type": img.content_type, "tags": [], "data_source_id": None,
                                   "meta": {"width": img.width, "height": img.height}}
        if hashed:
            payload["custom_metadata"] = {HASH_KEY: img.sha256}
        return client.register_data(payload)

    for img, data in zip(todo, pool_map(register, todo, workers, progress)):
        out[img.name] = (data, False)
    return out


def send_images(client: Client, transfers: Transfers, images: Sequence[LocalImage], object_names: dict[str, str],
                workers: int) -> None:
    """Send the bytes of `images` to their objects: the presigned URLs asked here (with the token), the bytes
    sent by `transfers` (no token), multipart uploads completed here; an expired URL is asked again. Raises
    SyncError naming every file a transfer could not send (e.g. a worker that does not see it)."""
    pending = list(images)
    for _ in range(client.retry.attempts):
        plans = pool_map(lambda img: client.plan_upload(object_names[img.name], img.content_type, img.size),
                         pending, workers)
        jobs = [UploadJob(img.name, os.path.abspath(img.path), img.sha256, img.size, plan)
                for img, plan in zip(pending, plans)]
        outcomes = transfers.run(upload_shard, client, jobs)
        raise_failures(outcomes, "uploaded")
        parts = [(job.plan, o.etags) for job, o in zip(jobs, outcomes) if o.status == "done" and job.plan.part_urls]
        pool_map(lambda done: client.finish_upload(*done), parts, workers)
        pending = [img for img, o in zip(pending, outcomes) if o.status == "expired"]
        if not pending:
            return
    raise SyncError(f"the storage refused {client.retry.attempts} presigned URLs in a row for {len(pending)} images, "
                    f"e.g. {[img.name for img in pending[:3]]}")


def _wait_processed(client: Client, data_of: dict[str, dict[str, Any]]) -> None:
    pending = {str(d["id"]): name for name, d in data_of.items() if d.get("upload_status") != "DONE"}
    failed: list[str] = []

    def check() -> bool:
        for data in client.list_datas("ids", list(pending)):
            status = data.get("upload_status")
            if status in ("DONE", "ERROR"):
                name = pending.pop(str(data["id"]), None)
                if name is not None:
                    data_of[name] = data
                    if status == "ERROR":
                        failed.append(name)
        return not pending

    if pending:
        client.poll(f"{len(pending)} uploaded images to be processed", check)
    if failed:
        raise SyncError(f"the platform could not process {len(failed)} images, e.g. {sorted(failed)[:3]}")


