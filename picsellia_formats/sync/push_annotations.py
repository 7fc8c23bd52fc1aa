"""Send the annotations of a push: ``bulk-annotations`` with the keys the SDK sends (rectangles,
classifications, polygons, keypoints, masks) in chunks split in two on 413, then lines and points per
annotation (``bulk-lines`` / ``bulk-points``, as ``Annotation.create_multiple_lines|points``).

The platform answers ``{annotation_id: shapes created}``; an asset whose annotation is not in that answer
(e.g. locked by an annotation campaign) is reported as skipped, not counted as sent. CONCATENATE adds, shape
by shape, only what the platform does not hold yet, so a retried or resumed push never duplicates shapes.

Example:
    >>> from collections import Counter
    >>> missing({"rectangles": [{"x": 1, "y": 1, "w": 2, "h": 2, "label_id": "L"}] * 2},
    ...         {"rectangles": [{"x": 1, "y": 1, "w": 2, "h": 2, "label": "cat"}]}, {"L": "cat"})["rectangles"]
    [{'x': 1, 'y': 1, 'w': 2, 'h': 2, 'label_id': 'L'}]
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..progress import bar
from ..report import Report
from . import shapes
from .client import Ambiguous, Client, PlatformError, SyncError
from .pool import pool_map

if TYPE_CHECKING:
    from .push import LocalImage, PushResult

#: ``DatasetVersion.load_annotations``: at most 10 annotations per load for these types, 100 otherwise.
SMALL_LOAD_TYPES = ("SEGMENTATION", "LINE", "MULTI")


def load_chunk(version_type: str | None) -> int:
    return 10 if version_type in SMALL_LOAD_TYPES else 100


def latest_annotations(client: Client, vid: str, version_type: str | None, workers: int,
                       asset_ids: Sequence[str] | None = None) -> dict[str, dict[str, Any]]:
    """The latest annotation of each asset of a version (or of `asset_ids`), loaded with its shapes."""
    if asset_ids is None:
        ids = client.annotation_ids(vid)
    else:
        ids = []
        for i in range(0, len(asset_ids), 50):
            ids.extend(client.annotation_ids(vid, asset_ids=asset_ids[i:i + 50]))
    size = load_chunk(version_type)
    chunks = [ids[i:i + size] for i in range(0, len(ids), size)]
    out: dict[str, dict[str, Any]] = {}
    for chunk in pool_map(lambda c: client.load_annotations(vid, c), chunks, workers):
        for item in chunk:
            out.setdefault(str(item["asset_id"]), item)
    return out


def missing(ours: Mapping[str, Any], theirs: Mapping[str, Any] | None,
            label_names: Mapping[str, str]) -> dict[str, list[dict[str, Any]]]:
    """The shapes of `ours` that `theirs` (the platform's annotation) does not hold, counted as a multiset."""
    have = Counter(shapes.signature(theirs or {}))
    out: dict[str, list[dict[str, Any]]] = {}
    for key in shapes.SHAPE_KEYS:
        keep = []
        for shape in ours.get(key) or ():
            sig = shapes.signature({key: [shape]}, label_names)[0]
            if have[sig] > 0:
                have[sig] -= 1
            else:
                keep.append(shape)
        out[key] = keep
    return out


def push_annotations(client: Client, result: PushResult, images: list[LocalImage], label_ids: dict[str, str],
                     asset_id_of: dict[str, str], mode: str, workers: int, chunk_size: int, quiet: bool,
                     *, scoped: bool = False) -> None:
    """Send the annotations of `images` (`scoped`: the platform's are loaded for these assets only)."""
    vid = result.version_id or ""
    ids = [asset_id_of[img.name] for img in images] if scoped else None
    current = latest_annotations(client, vid, result.type, workers, ids) if images else {}
    label_names = {v: k for k, v in label_ids.items()}
    groups: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
    for img in images:
        aid = asset_id_of[img.name]
        item = shapes.to_platform(img.asset.annotations, label_ids, img.width, img.height, Report())
        shapes.restrict(item, result.type, Report())
        have = current.get(aid)
        status = img.asset.status
        if have is not None:
            same_status = status is None or have.get("status") == status
            if mode == "KEEP" or (mode == "REPLACE" and same_status
                                  and shapes.signature(have) == shapes.signature(item, label_names)):
                result.annotations_unchanged += 1
                continue
            if mode == "CONCATENATE":
                item = missing(item, have, label_names)
                if not shapes.shape_count(item) and same_status:
                    result.annotations_unchanged += 1
                    continue
        elif not shapes.shape_count(item) and status is None:
            continue
        groups[status].append({"asset_id": aid, **item})
    total = sum(len(items) for items in groups.values())
    chunks = [(status, items[i:i + chunk_size]) for status, items in groups.items()
              for i in range(0, len(items), chunk_size)]
    skipped: list[str] = []
    with bar(total, "sending annotations", quiet, unit="asset") as progress:
        def send(job: tuple[str | None, list[dict[str, Any]]]) -> int:
            status, items = job
            if mode == "CONCATENATE":
                answer = _send_concatenate(client, vid, result.type, items, status, label_names)
            else:
                answer = _send_split(client, vid, items, mode, status)
            lost = _skipped(client, vid, result.type, items, answer)
            skipped.extend(lost)
            _send_per_annotation(client, vid, result.type, [it for it in items if it["asset_id"] not in lost],
                                 mode, label_names)
            progress.update(len(items))
            return len(items) - len(lost)
        result.annotations_sent += sum(pool_map(send, chunks, workers))
    if skipped:
        result.annotations_skipped += len(skipped)
        result.report.dropped("assets whose annotations the platform did not take", len(skipped),
                              "locked by an annotation campaign, or refused", example=skipped[0])


def _skipped(client: Client, vid: str, vtype: str, items: list[dict[str, Any]], answer: Mapping[str, int]) -> set[str]:
    """Assets of `items` whose latest annotation is not in the platform's answer."""
    if len(answer) >= len(items):
        return set()
    now = latest_annotations(client, vid, vtype, 1, [it["asset_id"] for it in items])
    return {it["asset_id"] for it in items if str((now.get(it["asset_id"]) or {}).get("id")) not in answer}


def _send_split(client: Client, vid: str, items: list[dict[str, Any]], mode: str,
                status: str | None) -> dict[str, int]:
    """Send one chunk; on 413 send each half (down to one asset). Returns the platform's answer."""
    try:
        answer = client.bulk_annotations(vid, [shapes.bulk_item(it["asset_id"], it) for it in items], mode, status)
        return {str(k): int(v) for k, v in (answer or {}).items()}
    except PlatformError as err:
        if err.status != 413:
            raise
        if len(items) == 1:
            raise SyncError(f"the annotations of asset {items[0]['asset_id']} are too large for one "
                            "request (413)") from None
        mid = len(items) // 2
        return {**_send_split(client, vid, items[:mid], mode, status),
                **_send_split(client, vid, items[mid:], mode, status)}


def _send_concatenate(client: Client, vid: str, vtype: str, items: list[dict[str, Any]], status: str | None,
                      label_names: Mapping[str, str]) -> dict[str, int]:
    """CONCATENATE is not idempotent: after an ambiguous failure, send each asset only the shapes the
    platform does not hold yet."""
    answer: dict[str, int] = {}
    pending = items
    for n in range(client.retry.attempts):
        try:
            answer.update(_send_split(client, vid, pending, "CONCATENATE", status))
            return answer
        except Ambiguous:
            now = latest_annotations(client, vid, vtype, 1, [it["asset_id"] for it in pending])
            rest = []
            for it in pending:
                left = missing({k: it.get(k) for k in shapes.BULK_KEYS}, now.get(it["asset_id"]), label_names)
                if shapes.shape_count(left):
                    rest.append({**it, **left})
                elif it["asset_id"] in now:
                    answer[str(now[it["asset_id"]]["id"])] = 0
            pending = rest
            if not pending:
                return answer
            client._sleep(client._backoff(n))
    raise SyncError("could not send the annotations (CONCATENATE) after several attempts")


def _send_per_annotation(client: Client, vid: str, vtype: str, items: list[dict[str, Any]], mode: str,
                         label_names: Mapping[str, str]) -> None:
    """Lines and points of each asset, on its annotation (which the bulk call created or kept)."""
    for it in items:
        if not any(it.get(key) for key in shapes.PER_ANNOTATION_KEYS):
            continue
        ann = client.asset_annotation(it["asset_id"]) or client.create_annotation(it["asset_id"])
        if mode == "CONCATENATE":
            # what the platform holds already is not sent again (resume, retry)
            have = latest_annotations(client, vid, vtype, 1, [it["asset_id"]]).get(it["asset_id"])
            it = {**it, **missing({k: it.get(k) for k in shapes.PER_ANNOTATION_KEYS}, have, label_names)}
        for key in shapes.PER_ANNOTATION_KEYS:
            if it.get(key):
                body = [{k: v for k, v in s.items() if k in (key[:-1], "label_id")} for s in it[key]]
                client.add_shapes(str(ann["id"]), key, body)
