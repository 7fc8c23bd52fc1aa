"""Push a `Dataset` and its images to a dataset version on the platform, resumably and without duplicates.

The steps follow the platform's own flows (reference §5): get or create the dataset and the version,
get or create the labels in bulk, upload each new image (object name -> presigned upload -> register
the data -> wait until processed), attach the data to the version (a job, polled), attach asset tags,
then send the annotations with ``bulk-annotations`` in chunks (split in two on 413).

Every image is identified by its file name and the SHA-256 of its bytes, stored in the data's
``metadata["pf_sha256"]``. An image already in the version, or already uploaded to the datalake by an
interrupted push, is not uploaded again; assets whose annotations on the platform already equal the
ones pushed are not sent again. A second push of the same data therefore changes nothing.

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
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from PIL import Image, UnidentifiedImageError

from ..errors import ProblemCollector
from ..images import SWAPPING_ORIENTATIONS, exif_orientation
from ..io_utils import safe_relative_path
from ..model import Asset, Dataset
from ..progress import bar
from ..report import Report
from . import shapes
from .client import Client, PlatformError, SyncError, _Ambiguous

log = logging.getLogger("picsellia_formats.sync")

IMPORT_TYPES = ("REPLACE", "KEEP", "CONCATENATE")
#: Key of the data metadata holding the SHA-256 of the image bytes.
HASH_KEY = "pf_sha256"
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
    tags_attached: int = 0
    dataset_id: str | None = None
    version_id: str | None = None
    dry_run: bool = False
    seconds: float = 0.0
    report: Report = field(default_factory=Report)

    def summary(self) -> str:
        target = f"dataset {self.dataset_name!r} version {self.version!r} ({self.type})"
        if self.dry_run:
            return (f"plan: push {self.images:,} images, {self.objects:,} objects and {self.labels:,} labels "
                    f"to {target}; nothing sent (--dry-run)")
        return (f"pushed {self.images:,} images to {target}: {self.uploaded:,} uploaded, "
                f"{self.reused_data:,} reused from the datalake, {self.already_in_version:,} already in the "
                f"version, {self.replaced:,} replaced; annotations of {self.annotations_sent:,} assets sent, "
                f"{self.annotations_unchanged:,} unchanged; {self.labels:,} labels in {self.seconds:.2f} s")


def infer_type(dataset: Dataset) -> str:
    """The platform dataset type for the kinds of objects in `dataset` (MULTI when mixed).

    Example:
        >>> from picsellia_formats.model import Annotation, Asset
        >>> infer_type(Dataset(assets=[Asset("a.jpg", annotations=[Annotation("c", box=(0, 0, 1, 1))])]))
        'OBJECT_DETECTION'
    """
    names = {"box": "OBJECT_DETECTION", "polygon": "SEGMENTATION", "mask": "SEGMENTATION",
             "classification": "CLASSIFICATION", "keypoints": "KEYPOINT", "line": "LINE", "point": "POINT"}
    kinds = {names[ann.kind] for _, ann in dataset.annotations()}
    if not kinds:
        return "NOT_CONFIGURED"
    return kinds.pop() if len(kinds) == 1 else "MULTI"


def _pool_map(fn: Callable[[_T], _R], items: Sequence[_T], workers: int, progress: Any = None) -> list[_R]:
    """`fn` over `items` on a bounded pool, results in order; the first error cancels the rest."""
    if workers <= 1 or len(items) <= 1:
        out = []
        for item in items:
            out.append(fn(item))
            if progress is not None:
                progress.update(1)
        return out
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pf-sync") as pool:
        futures = [pool.submit(fn, item) for item in items]
        try:
            results = []
            for fut in futures:
                results.append(fut.result())
                if progress is not None:
                    progress.update(1)
            return results
        except BaseException:
            for fut in futures:
                fut.cancel()
            raise


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
        sha, size = _hash_file(path)
        with Image.open(path) as im:
            width, height = im.size
            if exif_orientation(im) in SWAPPING_ORIENTATIONS:
                width, height = height, width
            content_type = Image.MIME.get(im.format or "", "application/octet-stream")
    except FileNotFoundError:
        return "image file not found"
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        return f"not a readable image: {exc}"
    return LocalImage(asset, name, path, size, sha, content_type, width, height)


def scan_images(dataset: Dataset, images_dir: str | os.PathLike[str], workers: int = 8,
                quiet: bool = True) -> list[LocalImage]:
    """Check every asset's image (safe name, present, readable, unique) and hash it.

    Raises FormatError listing every problem (unsafe or duplicate names, missing or unreadable files).
    """
    root = Path(images_dir)
    problems = ProblemCollector(root)
    todo: list[tuple[Asset, str, Path]] = []
    seen: set[str] = set()
    for i, asset in enumerate(dataset.assets):
        try:
            rel = safe_relative_path(asset.file_name)
        except ValueError as exc:
            problems.add(f"asset[{i}] {asset.file_name!r}", str(exc))
            continue
        name = rel.as_posix()
        if name in seen:
            problems.add(f"asset[{i}] {name!r}", "file name used by another asset")
            continue
        seen.add(name)
        todo.append((asset, name, root / rel))
    with bar(len(todo), "checking images", quiet) as progress:
        described = _pool_map(_describe, todo, workers, progress)
    images = []
    for (_, name, _), result in zip(todo, described):
        if isinstance(result, str):
            problems.add(name, result)
        else:
            images.append(result)
    problems.raise_if_any()
    return images


def _data_hash(data: dict[str, Any]) -> str | None:
    metadata = data.get("metadata") or {}
    value = metadata.get(HASH_KEY) if isinstance(metadata, dict) else None
    return str(value) if value else None


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
) -> PushResult:
    """Push `dataset` (images under `images_dir`) to `dataset_name`/`version`; return what was done.

    ``type`` is the platform dataset type (inferred from the objects when None); ``tags`` are asset
    tags given to every pushed asset (besides each asset's own ``tags``); ``mode`` is the
    bulk-annotations import type: REPLACE (default: the platform ends up with exactly these
    annotations), KEEP (assets already annotated are left alone) or CONCATENATE (shapes are added).
    ``dry_run`` checks everything locally and returns the plan without contacting the platform.
    """
    t0 = time.perf_counter()
    mode = mode.upper()
    if mode not in IMPORT_TYPES:
        raise ValueError(f"mode must be one of {', '.join(IMPORT_TYPES)}, got {mode!r}")
    if chunk_size < 1 or workers < 1:
        raise ValueError("chunk_size and workers must be >= 1")
    vtype = (type or infer_type(dataset)).upper()
    extra_tags = [t for t in dict.fromkeys(tags) if t]
    result = PushResult(dataset_name, version, vtype, dry_run=dry_run)
    report = result.report
    label_names = list(dict.fromkeys([*dataset.label_names, *(a.label for _, a in dataset.annotations())]))
    images = scan_images(dataset, images_dir, workers, quiet)
    result.images, result.objects, result.labels = len(images), dataset.num_annotations, len(label_names)
    item_of: dict[str, dict[str, Any]] = {}
    for img in images:
        item_of[img.name] = shapes.to_platform(img.asset.annotations, dict.fromkeys(label_names, ""),
                                               img.width, img.height, report)
        if img.asset.qa:
            report.dropped("image Q&A answers", len(img.asset.qa), "the platform client sends no image Q&A")
    if dry_run:
        result.seconds = time.perf_counter() - t0
        return result

    own_client = client is None
    client = client or Client(host, workers=workers)
    try:
        _push(client, result, images, label_names, extra_tags, mode, workers, chunk_size, quiet)
    finally:
        if own_client:
            client.close()
    result.seconds = time.perf_counter() - t0
    return result


def _push(client: Client, result: PushResult, images: list[LocalImage], label_names: list[str],
          extra_tags: list[str], mode: str, workers: int, chunk_size: int, quiet: bool) -> None:
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

    # 1. what the version already holds
    existing = {}
    for asset in client.list_assets(vid):
        existing.setdefault(asset["data"]["filename"], asset)
    asset_id_of: dict[str, str] = {}
    need_data: list[LocalImage] = []
    to_delete: list[str] = []
    local_names = {img.name for img in images}
    for img in images:
        asset = existing.get(img.name)
        if asset is not None:
            known = _data_hash(asset["data"])
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

    # 2. data already in the datalake (an interrupted push), else upload
    data_of: dict[str, dict[str, Any]] = {}
    if need_data:
        by_name: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for data in client.list_datas("filenames", [img.name for img in need_data]):
            by_name[data["filename"]].append(data)
        for img in need_data:
            usable = [d for d in by_name.get(img.name, ()) if _data_hash(d) == img.sha256
                      and d.get("upload_status") != "ERROR"]
            usable.sort(key=lambda d: d.get("upload_status") != "DONE")
            if usable:
                data_of[img.name] = usable[0]
                result.reused_data += 1
    to_upload = [img for img in need_data if img.name not in data_of]
    if to_upload:
        with bar(len(to_upload), "uploading", quiet) as progress:
            uploaded = _pool_map(lambda img: _upload(client, img), to_upload, workers, progress)
        for img, data in zip(to_upload, uploaded):
            data_of[img.name] = data
        result.uploaded = len(to_upload)
    _wait_processed(client, data_of)

    # 3. attach to the version
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
    _push_annotations(client, result, images, label_ids, asset_id_of, mode, workers, chunk_size, quiet)


def _upload(client: Client, img: LocalImage) -> dict[str, Any]:
    object_name = client.generate_object_name(img.name.rsplit("/", 1)[-1])
    client.upload_object(object_name, img.path.read_bytes(), img.content_type)
    payload = {"type": "IMAGE", "filename": img.name, "object_name": object_name,
               "content_type": img.content_type, "tags": [], "data_source_id": None,
               "meta": {"width": img.width, "height": img.height}, "metadata": {HASH_KEY: img.sha256}}
    return client.register_data(payload)


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


def _latest_annotations(client: Client, vid: str, workers: int,
                        asset_ids: Sequence[str] | None = None) -> dict[str, dict[str, Any]]:
    """The latest annotation of each asset of a version (or of `asset_ids`), loaded with its shapes."""
    if asset_ids is None:
        ids = client.annotation_ids(vid)
    else:
        ids = []
        for i in range(0, len(asset_ids), 50):
            ids.extend(client.annotation_ids(vid, asset_ids=asset_ids[i:i + 50]))
    chunks = [ids[i:i + 100] for i in range(0, len(ids), 100)]
    out: dict[str, dict[str, Any]] = {}
    for chunk in _pool_map(lambda c: client.load_annotations(vid, c), chunks, workers):
        for item in chunk:
            out.setdefault(str(item["asset_id"]), item)
    return out


def _push_annotations(client: Client, result: PushResult, images: list[LocalImage], label_ids: dict[str, str],
                      asset_id_of: dict[str, str], mode: str, workers: int, chunk_size: int, quiet: bool) -> None:
    current = _latest_annotations(client, result.version_id or "", workers) if images else {}
    label_names = {v: k for k, v in label_ids.items()}
    groups: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
    before: dict[str, int] = {}
    for img in images:
        aid = asset_id_of[img.name]
        item = {"asset_id": aid, **shapes.to_platform(img.asset.annotations, label_ids, img.width, img.height,
                                                      Report())}
        have = current.get(aid)
        status = img.asset.status
        if have is not None:
            same_status = status is None or have.get("status") == status
            if mode == "KEEP" or (mode == "REPLACE" and same_status
                                  and shapes.signature(have) == shapes.signature(item, label_names)):
                result.annotations_unchanged += 1
                continue
        elif not img.asset.annotations and status is None:
            continue
        before[aid] = shapes.shape_count(have) if have else 0
        groups[status].append(item)
    total = sum(len(items) for items in groups.values())
    chunks = [(status, items[i:i + chunk_size]) for status, items in groups.items()
              for i in range(0, len(items), chunk_size)]
    vid = result.version_id or ""
    with bar(total, "sending annotations", quiet, unit="asset") as progress:
        def send(job: tuple[str | None, list[dict[str, Any]]]) -> int:
            status, items = job
            if mode == "CONCATENATE":
                n = _send_concatenate(client, vid, items, status, before, workers)
            else:
                n = _send_split(client, vid, items, mode, status)
            progress.update(len(items))
            return n
        result.annotations_sent = sum(_pool_map(send, chunks, workers))


def _send_split(client: Client, vid: str, items: list[dict[str, Any]], mode: str, status: str | None) -> int:
    """Send one chunk; on 413 send each half (down to one asset)."""
    try:
        client.bulk_annotations(vid, items, mode, status)
        return len(items)
    except PlatformError as err:
        if err.status != 413:
            raise
        if len(items) == 1:
            raise SyncError(f"the annotations of asset {items[0]['asset_id']} are too large for one "
                            "request (413)") from None
        mid = len(items) // 2
        return _send_split(client, vid, items[:mid], mode, status) + _send_split(client, vid, items[mid:],
                                                                                  mode, status)


def _send_concatenate(client: Client, vid: str, items: list[dict[str, Any]], status: str | None,
                      before: dict[str, int], workers: int) -> int:
    """CONCATENATE is not idempotent: after an ambiguous failure, count the shapes each asset has now
    and resend only to the assets that did not get theirs."""
    sent = len(items)
    for n in range(client.retry.attempts):
        try:
            _send_split(client, vid, items, "CONCATENATE", status)
            return sent
        except _Ambiguous:
            now = _latest_annotations(client, vid, 1, [it["asset_id"] for it in items])
            items = [it for it in items if shapes.shape_count(now.get(it["asset_id"], {}))
                     < before.get(it["asset_id"], 0) + shapes.shape_count(it)]
            if not items:
                return sent
            client._sleep(client._backoff(n))
    raise SyncError("could not send the annotations (CONCATENATE) after several attempts")

