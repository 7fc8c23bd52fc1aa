"""Push a dataset that does not fit in memory: the assets are met twice, in bounded batches.

`push_stream` takes a way to open the assets (called once per pass) and does what `push` does:

1. **check pass**: every batch's images are checked and hashed (missing, unreadable, unsafe or duplicate
   names: listed together, and nothing is sent, as `push` does), and the kinds of objects (the version
   type) and the label names in use are gathered. Held: the base names seen (duplicates span batches),
   the labels and the problems, never the assets.
2. **labels first**: the dataset, the version, its type and every label are created once.
3. **send pass**: batch by batch, the images are described again (each file is read twice: once so that a
   broken one stops the push before anything is sent, once when its batch goes), then uploaded, attached,
   tagged and annotated as `push` does, with the version's assets and annotations listed for the batch's
   images only (``push_images(scoped=True)``).

What does not stream, and why: the version's assets that the push does not name are not counted in the
report (it would need the whole version's listing in memory; `push` lists it whole); a file changed between
the two passes is pushed as found in the second. The platform ends up with the same assets, data,
tags and annotations as after `push` of the whole dataset (a test compares the emulator's stores).

Example:
    >>> import tempfile
    >>> from picsellia_formats.sync.emulator import Emulator
    >>> with Emulator(tempfile.mkdtemp()) as emu:
    ...     client = Client(emu.url, emu.token)
    ...     push_stream(lambda: iter(()), [], tempfile.mkdtemp(), "empty", "v1", client=client, quiet=True).images
    0
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from pathlib import Path

from ..engines import check_engine
from ..errors import ProblemCollector
from ..images import ImageIndex
from ..model import Asset, Dataset, Label
from ..progress import bar
from .client import Client, SyncError
from .push import (
    PushResult,
    check_push_options,
    prepare_version,
    push_images,
    report_plan,
    scan_images,
    type_of_kinds,
)
from .transfers import Transfers

#: Assets per batch of a streamed push (what is held at once: these assets and their image facts).
BATCH = 2000


def _batches(assets: Iterable[Asset], size: int) -> Iterator[list[Asset]]:
    it = iter(assets)
    while batch := list(islice(it, size)):
        yield batch


def push_stream(
    open_assets: Callable[[], Iterable[Asset]],
    labels: list[Label],
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
    batch: int = BATCH,
    dry_run: bool = False,
    quiet: bool = False,
    engine: str | None = None,
    scheduler: str | None = None,
) -> PushResult:
    """`push` of the assets `open_assets()` yields (called once per pass, same assets each time), with the
    declared `labels`, holding `batch` assets at a time. Arguments (`engine`: where the image bytes are sent
    from) and result as `push`."""
    t0 = time.perf_counter()
    mode = check_push_options(mode, chunk_size=chunk_size, workers=workers, batch=batch)
    check_engine(engine)
    root = Path(images_dir)
    index = ImageIndex(root)
    kinds: set[str] = set()
    names = dict.fromkeys(label.name for label in labels)
    problems = ProblemCollector(root)
    seen: dict[str, str] = {}
    n_images = n_objects = position = 0
    with bar(None, "checking images", quiet, unit="image") as progress:
        for assets in _batches(open_assets(), batch):
            for asset in assets:
                for ann in asset.annotations:
                    kinds.add(ann.kind)
                    names[ann.label] = None
                n_objects += len(asset.annotations)
            found = scan_images(Dataset(labels, assets), root, workers, True, index=index, seen=seen,
                                problems=problems, first=position)
            n_images += len(found)
            position += len(assets)
            progress.update(len(assets))
    problems.raise_if_any()
    del seen
    vtype = (type or type_of_kinds(kinds)).upper()
    label_names = list(names)
    result = PushResult(dataset_name, version, vtype, dry_run=dry_run)
    result.images, result.objects, result.labels = n_images, n_objects, len(label_names)
    extra_tags = [t for t in dict.fromkeys(tags) if t]
    own_client = client is None and not dry_run
    client = None if dry_run else client or Client(host, workers=workers)
    transfers = Transfers(engine, workers, scheduler)
    try:
        label_ids: dict[str, str] = {}
        hashed = False
        if client is not None:
            label_ids, hashed = prepare_version(client, result, label_names, {label.name: label for label in labels})
        for assets in _batches(open_assets(), batch):
            images = scan_images(Dataset(labels, assets), root, workers, quiet, index=index)
            report_plan(images, label_names, vtype, result.report)
            if client is not None:
                push_images(client, result, images, label_ids, hashed, extra_tags, mode, workers, chunk_size, quiet,
                            scoped=True, transfers=transfers)
        if client is not None and result.version_id:
            # each batch looked up only its own names: the version's other assets are counted once, at the end
            # (every pushed image is one asset of the version now), as the in-memory push reports them
            others = client.count_assets(result.version_id) - n_images
            if others > 0:
                result.report.info("assets of the version that are not in the pushed dataset, left as they are",
                                   others)
    except (KeyError, TypeError, AttributeError, IndexError) as exc:  # an answer of the wrong shape
        raise SyncError(f"dataset {dataset_name!r} version {version!r}: the platform's answer has an unexpected "
                        f"shape ({exc.__class__.__name__}: {str(exc)[:200]}); what was sent before is kept, "
                        "push again to finish") from None
    finally:
        transfers.close()
        if own_client and client is not None:
            client.close()
    result.seconds = time.perf_counter() - t0
    return result
