"""Stream a COCO instances file image by image, memory bounded: categories first, then (image, annotations).

Two passes over the file, each parsing chunks of a few MiB with orjson (`json_scan`):

1. scan: keeps the categories and the small top-level values (``info``, ``licenses``, others), maps image
   ids to positions, checks every annotation's ``image_id`` and whether the annotations already come in the
   images' order (what most exporters write).
2. yield: in that case, the images and annotations arrays are read again in lockstep (nothing on disk);
   otherwise the annotations are first spilled to temporary files by shard of images (one shard of
   annotations in memory at a time) and each shard is grouped when its images come.

Memory: one chunk, one shard of annotations and the id -> position map (~70 bytes per image).

Example:
    >>> src = CocoSource("fixtures/voc_toy_cats/gts_coco_format/toy_example_coco.JSON")
    >>> with src:
    ...     groups = list(src)
    >>> [c["name"] for c in src.categories], len(groups), sum(len(anns) for _, anns in groups)
    (['cat'], 10, 12)
"""

from __future__ import annotations

import json
import operator
import os
import re
import shutil
import tempfile
from array import array
from bisect import bisect_left
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import msgspec
import orjson

from ..errors import FormatError
from ..formats._json_files import holds_wide_integer
from ..io_utils import gc_paused
from .json_scan import CHUNK_SIZE, Decode, JsonFile

SHARD_IMAGES = 4096
_SPILL_FLUSH = 20000  # annotations buffered across shards before they are appended to their files


class _ImageId(msgspec.Struct):
    image_id: int | str


class _ImageIds(Decode):
    """Pass 1's decoder: only each annotation's image_id (msgspec skips the rest, ~5x orjson's speed).

    Returns ("ids", ids), or ("records", dicts) when a record does not fit (not an object, no or odd
    image_id) so that the scan can name it.
    """

    _decoder = msgspec.json.Decoder(list[_ImageId])
    _trailing = re.compile(r"trailing characters \(byte (\d+)\)")

    def loads(self, doc: bytes) -> tuple[str, list[Any]]:
        try:
            return "ids", [a.image_id for a in self._decoder.decode(doc)]
        except msgspec.ValidationError:
            return "records", orjson.loads(doc)

    def records(self, items: list[Any]) -> tuple[str, list[Any]]:
        return "records", items

    def trailing(self, exc: ValueError, doc: bytes) -> int | None:
        m = self._trailing.search(str(exc))
        if m is None:
            return super().trailing(exc, doc)
        return int(m.group(1)) - 1  # msgspec counts the first trailing byte from 1


_IMAGE_IDS = _ImageIds()

_NO_SHAPE = frozenset((b"[]", b"null", b""))
_WS_BYTES = b" \t\r\n"


class _ShapedId(msgspec.Struct):
    image_id: int | str
    segmentation: msgspec.Raw = msgspec.Raw(b"")


class _ShapeSeekingIds(_ImageIds):
    """Pass 1's decoder until an annotation with a non-empty segmentation is met (`found`), then `_ImageIds`'.

    One per scan: a streamed writer that picks its output from the shapes (YOLO detect or segment) learns it
    before the first asset, at the cost of keeping each segmentation's span until the first one is met.
    """

    _shaped = msgspec.json.Decoder(list[_ShapedId])

    def __init__(self) -> None:
        self.found = False

    def loads(self, doc: bytes) -> tuple[str, list[Any]]:
        if self.found:
            return super().loads(doc)
        try:
            items = self._shaped.decode(doc)
        except msgspec.ValidationError:
            return "records", orjson.loads(doc)
        for a in items:
            if bytes(a.segmentation).translate(None, _WS_BYTES) not in _NO_SHAPE:
                self.found = True
                break
        return "ids", [a.image_id for a in items]


class _RawRecords(_ImageIds):
    """The spill's decoder: each annotation's own bytes (msgspec finds their ends without building them)."""

    _decoder = msgspec.json.Decoder(list[msgspec.Raw])

    def loads(self, doc: bytes) -> list[bytes]:
        return [bytes(raw) for raw in self._decoder.decode(doc)]

    def records(self, items: list[Any]) -> list[bytes]:
        return [json.dumps(a, ensure_ascii=False).encode() for a in items]


_RAW = _RawRecords()


class WideIntegerError(Exception):
    """A chunk of annotations holds an integer wider than 64 bits (not a ValueError: the chunker would take it
    for a cut inside a record)."""


class _TypedRecords(_ImageIds):
    """Annotation chunks as `formats.coco.records.AnnotationRecord`s (typed in C); a chunk the types do not fit
    (an unknown key, a null where a value is expected...) as orjson dicts, for the general reader."""

    def loads(self, doc: bytes) -> list[Any]:  # type: ignore[override]
        from ..formats.coco.records import RECORDS, free_form

        try:
            records = RECORDS.decode(doc)
        except msgspec.ValidationError:
            if holds_wide_integer(doc):  # orjson would read an integer over 64 bits as a float, unsaid
                raise WideIntegerError("an annotation holds an integer outside 64 bits") from None
            return orjson.loads(doc)
        if free_form(records) and holds_wide_integer(doc):  # an attribute's value is typed as any JSON
            raise WideIntegerError("an annotation holds an integer outside 64 bits")
        return records

    def records(self, items: list[Any]) -> list[Any]:  # type: ignore[override]
        return items


#: `batches(size, TYPED_RECORDS)`: typed annotation records, dicts where the types do not fit
TYPED_RECORDS = _TypedRecords()


class ImageGroup(NamedTuple):
    """One image record of the file and its annotation records, in file order."""

    image: dict[str, Any]
    annotations: list[dict[str, Any]]


def _ann_record(i: int, a: Any) -> str:
    if type(a) is dict and "id" in a:
        return f"annotation[{i}] (id={a['id']!r})"
    return f"annotation[{i}]"


class CocoSource:
    """A COCO instances file read image by image. Iterate it for `ImageGroup`s (in the images' order).

    After `scan()` (called by iteration), `categories`, `meta` (top-level values other than images,
    annotations and categories, plus ``key_order``), `n_images`, `n_annotations` and `sorted` (the
    annotations came in the images' order) are known.
    """

    def __init__(self, path: str | Path, *, shard_images: int = SHARD_IMAGES, chunk_size: int = CHUNK_SIZE,
                 tmp_dir: str | Path | None = None) -> None:
        self.path = Path(path)
        self.shard_images = shard_images
        self.chunk_size = chunk_size
        self.tmp_dir = tmp_dir
        self.categories: list[Any] = []
        self.meta: dict[str, Any] = {}
        self.n_images = 0
        self.n_annotations = 0
        self.sorted = True
        self.has_shapes = False  # some annotation has a non-empty segmentation (known after scan())
        self._positions: dict[Any, int] = {}
        self._offsets: dict[str, int] = {}
        self.spans: dict[str, tuple[int, int]] = {}  # each top-level value's bytes (start, end), after scan()
        self._spill: str | None = None
        self._scanned = False

    def __enter__(self) -> CocoSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Remove the spill files (if any)."""
        if self._spill is not None:
            shutil.rmtree(self._spill, ignore_errors=True)
            self._spill = None

    # ------------------------------------------------------------------------------------------ pass 1

    def scan(self) -> None:
        """First pass: categories, top-level values, image positions, annotation checks."""
        if self._scanned:
            return
        with gc_paused(), JsonFile(self.path, self.chunk_size) as jf:
            key_order = []
            pending: list[Any] | None = None  # image ids of annotations met before the images
            for key, off in jf.members():
                key_order.append(key)
                if key in self._offsets:
                    raise FormatError(f"duplicate top-level key {key!r}", file=self.path)
                self._offsets[key] = off
                first = jf.read(off, 1)
                if key == "images" and first == b"[":
                    self._scan_images(jf, off)
                elif key == "annotations" and first == b"[":
                    pending = self._scan_annotations(jf, off, "images" in self._offsets)
                elif key == "categories":
                    self.categories = jf.value(off)
                    if type(self.categories) is not list:
                        raise FormatError(f"categories must be a list, got {type(self.categories).__name__}",
                                          file=self.path, record="categories")
                elif key in ("images", "annotations"):
                    value = jf.value(off)
                    raise FormatError(f"must be a list, got {type(value).__name__}", file=self.path, record=key)
                else:
                    self.meta[key] = jf.value(off)
                self.spans[key] = (off, jf.end)
        if "images" not in self._offsets:
            raise FormatError("not a COCO file: no 'images' list", file=self.path)
        if pending is not None:
            self._resolve(pending)
        self.meta["key_order"] = [k for k in key_order if k in ("info", "licenses", "images", "annotations",
                                                                "categories")]
        self._scanned = True

    def _scan_images(self, jf: JsonFile, off: int) -> None:
        positions = self._positions
        n = 0
        for chunk, _, _ in jf.array_chunks(off):
            for im in chunk:
                if type(im) is not dict:
                    raise FormatError(f"expected an object, got {type(im).__name__}", file=self.path,
                                      record=f"image[{n}]")
                image_id = im.get("id")
                if type(image_id) not in (int, str):
                    raise FormatError(f"id must be an integer or a string, got {image_id!r}", file=self.path,
                                      record=f"image[{n}]")
                if image_id in positions:
                    raise FormatError(f"duplicate image id {image_id!r}", file=self.path,
                                      record=f"image[{n}] (id={image_id!r})")
                positions[image_id] = n
                n += 1
        self.n_images = n

    def _scan_annotations(self, jf: JsonFile, off: int, images_known: bool) -> list[Any] | None:
        pending: list[Any] | None = None if images_known else []
        positions = self._positions
        ann_pos = array("i")  # each annotation's image position, in file order (for the spill)
        last = -1
        ordered = True
        i = 0
        decode = _ShapeSeekingIds()
        for (kind, items), start, end in jf.array_chunks(off, decode):
            if kind == "ids" and pending is None:
                try:
                    chunk_pos = [positions[image_id] for image_id in items]
                except (KeyError, TypeError):
                    kind, items = "records", orjson.loads(b"[" + jf.read(start, end - start) + b"]")
                else:
                    if chunk_pos:
                        if ordered and (chunk_pos[0] < last or any(map(operator.gt, chunk_pos, chunk_pos[1:]))):
                            ordered = False
                        last = chunk_pos[-1]
                    ann_pos.extend(chunk_pos)
                    i += len(items)
                    continue
            if kind == "ids":
                pending.extend(items)  # type: ignore[union-attr]
                i += len(items)
                continue
            for a in items:  # records (the typed decode refused the chunk): check each, name the bad one
                if type(a) is not dict:
                    raise FormatError(f"expected an object, got {type(a).__name__}", file=self.path,
                                      record=f"annotation[{i}]")
                try:
                    image_id = a["image_id"]
                except KeyError:
                    raise FormatError("lacks image_id", file=self.path, record=_ann_record(i, a)) from None
                if not decode.found and a.get("segmentation") not in (None, []):
                    decode.found = True
                if pending is not None:
                    pending.append(image_id)
                else:
                    pos = self._position(image_id, i, a)
                    if pos < last:
                        ordered = False
                    last = pos
                    ann_pos.append(pos)
                i += 1
        self.n_annotations = i
        self.has_shapes = self.has_shapes or decode.found
        self.sorted = ordered
        self._ann_pos = ann_pos
        return pending

    def _position(self, image_id: Any, i: int, a: Any) -> int:
        try:
            return self._positions[image_id]
        except (KeyError, TypeError):
            raise FormatError(f"image_id {image_id!r} is not among the images", file=self.path,
                              record=_ann_record(i, a)) from None

    def _resolve(self, image_ids: list[Any]) -> None:
        last = -1
        self._ann_pos = array("i")
        for i, image_id in enumerate(image_ids):
            pos = self._position(image_id, i, {})
            if pos < last:
                self.sorted = False
            last = pos
            self._ann_pos.append(pos)
        if image_ids:  # the annotations come first: the lockstep pass would need them before the images
            self.sorted = False

    # ------------------------------------------------------------------------------------------ pass 2

    def __iter__(self) -> Iterator[ImageGroup]:
        self.scan()
        with gc_paused():
            if "annotations" not in self._offsets or self.n_annotations == 0:
                for im in self._images():
                    yield ImageGroup(im, [])
            elif self.sorted:
                yield from self._lockstep()
            else:
                yield from self._sharded()

    @property
    def annotation_positions(self) -> array:
        """Each annotation's image position (0-based, in the images' order), in file order; after `scan()`."""
        return self._ann_pos

    def batches(self, size: int, decode: Decode | None = None
                ) -> Iterator[tuple[list[dict[str, Any]], list[Any]]]:
        """(images, their annotations) for each run of `size` images, in the images' order.

        The annotations of a batch come flat, grouped by image in the images' order (file order within an
        image): what iterating gives, concatenated. When the file has them in the images' order, a batch's
        annotations are one slice of the array (pass 1 knows where it ends): no work per annotation.
        `decode` parses the annotations' chunks (default: orjson dicts; e.g. typed records) when they are in
        the images' order; otherwise they are dicts from the spill.
        """
        self.scan()
        with gc_paused():
            if "annotations" not in self._offsets or self.n_annotations == 0:
                for images in _runs(self._image_chunks(), size):
                    yield images, []
            elif self.sorted:
                yield from self._sorted_batches(size, decode)
            else:
                batch: list[ImageGroup] = []
                for group in self._sharded():
                    batch.append(group)
                    if len(batch) >= size:
                        yield [g.image for g in batch], [a for g in batch for a in g.annotations]
                        batch = []
                if batch:
                    yield [g.image for g in batch], [a for g in batch for a in g.annotations]

    def image_runs(self, size: int) -> Iterator[list[dict[str, Any]]]:
        """The image records in lists of `size`, in file order (after `scan()`)."""
        yield from _runs(self._image_chunks(), size)

    def annotation_chunks(self, decode: Decode | None = None) -> Iterator[list[Any]]:
        """The annotation records in file order, a chunk at a time, parsed by `decode` (default: orjson dicts)."""
        if "annotations" not in self._offsets or self.n_annotations == 0:
            return
        with JsonFile(self.path, self.chunk_size) as jf:
            for chunk, _, _ in jf.array_chunks(self._offsets["annotations"], decode):
                yield chunk

    def _image_chunks(self) -> Iterator[list[dict[str, Any]]]:
        with JsonFile(self.path, self.chunk_size) as jf:
            for chunk, _, _ in jf.array_chunks(self._offsets["images"]):
                yield chunk

    def _sorted_batches(self, size: int, decode: Decode | None = None
                        ) -> Iterator[tuple[list[dict[str, Any]], list[Any]]]:
        ann_pos = self._ann_pos  # non-decreasing: each batch's end by bisection (no numpy for a small file)
        ends = [bisect_left(ann_pos, end) for end in range(size, self.n_images + size, size)]
        with JsonFile(self.path, self.chunk_size) as jf:
            chunks = (chunk for chunk, _, _ in jf.array_chunks(self._offsets["annotations"], decode))
            pending: list[Any] = []  # annotations read and not yet handed out
            taken = 0  # annotations handed out before `pending`
            for n, images in enumerate(_runs(self._image_chunks(), size)):
                end = ends[n]
                while taken + len(pending) < end:
                    pending = pending + next(chunks) if pending else next(chunks)
                cut = end - taken
                yield images, pending[:cut]
                pending = pending[cut:]
                taken = end

    def _images(self) -> Iterator[dict[str, Any]]:
        with JsonFile(self.path, self.chunk_size) as jf:
            for chunk, _, _ in jf.array_chunks(self._offsets["images"]):
                yield from chunk

    def _annotations(self) -> Iterator[dict[str, Any]]:
        with JsonFile(self.path, self.chunk_size) as jf:
            for chunk, _, _ in jf.array_chunks(self._offsets["annotations"]):
                yield from chunk

    def _lockstep(self) -> Iterator[ImageGroup]:
        anns = self._annotations()
        pending = next(anns, None)
        for im in self._images():
            image_id = im["id"]
            group = []
            while pending is not None and pending["image_id"] == image_id:
                group.append(pending)
                pending = next(anns, None)
            yield ImageGroup(im, group)

    def _sharded(self) -> Iterator[ImageGroup]:
        """Spill each annotation's bytes (msgspec cuts them, nothing is re-encoded) to its shard's file."""
        import numpy as np

        self._spill = tempfile.mkdtemp(prefix="pf-coco-spill-", dir=self.tmp_dir)
        size = self.shard_images
        ann_pos = np.frombuffer(self._ann_pos, dtype=np.int32)
        shard_of = ann_pos // size
        order = np.argsort(shard_of, kind="stable")  # annotations of each shard, in file order
        bounds = np.searchsorted(shard_of[order], np.arange(-(-max(self.n_images, 1) // size) + 1))
        buffers: dict[int, list[bytes]] = {}
        buffered = 0
        i = 0
        with JsonFile(self.path, self.chunk_size) as jf:
            for raws, _, _ in jf.array_chunks(self._offsets["annotations"], _RAW):
                for raw, shard in zip(raws, shard_of[i:i + len(raws)].tolist()):
                    buffers.setdefault(shard, []).append(raw)
                i += len(raws)
                buffered += len(raws)
                if buffered >= _SPILL_FLUSH:
                    self._flush(buffers)
                    buffered = 0
        self._flush(buffers)
        by_pos: dict[int, list[Any]] = {}
        shard = -1
        for n, im in enumerate(self._images()):
            if n // size != shard:
                shard = n // size
                by_pos = self._load_shard(shard, ann_pos[order[bounds[shard]:bounds[shard + 1]]].tolist())
            yield ImageGroup(im, by_pos.pop(n, []))
        self.close()

    def _flush(self, buffers: dict[int, list[bytes]]) -> None:
        for shard, items in buffers.items():
            with open(os.path.join(self._spill, f"{shard}.json"), "ab") as f:  # type: ignore[arg-type]
                f.write(b",".join(items) + b",")
        buffers.clear()

    def _load_shard(self, shard: int, positions: list[int]) -> dict[int, list[Any]]:
        by_pos: dict[int, list[Any]] = {}
        if not positions:
            return by_pos
        with open(os.path.join(self._spill, f"{shard}.json"), "rb") as f:  # type: ignore[arg-type]
            doc = b"[" + f.read()[:-1] + b"]"
        try:
            items = orjson.loads(doc)
        except orjson.JSONDecodeError:  # NaN/Infinity literals: the reader then names the records
            items = json.loads(doc)
        for a, pos in zip(items, positions):
            by_pos.setdefault(pos, []).append(a)
        return by_pos


def _runs(chunks: Iterator[list[Any]], size: int) -> Iterator[list[Any]]:
    """The items of `chunks` in lists of `size` (the last one shorter), by slicing."""
    rest: list[Any] = []
    for chunk in chunks:
        rest = rest + chunk if rest else chunk
        while len(rest) >= size:
            yield rest[:size]
            rest = rest[size:]
    if rest:
        yield rest


def iter_coco(path: str | Path, **options: Any) -> Iterator[Any]:
    """Yield the categories list first, then one `ImageGroup` per image in the file's image order.

    Example:
        >>> it = iter_coco("fixtures/voc_toy_cats/gts_coco_format/toy_example_coco.JSON")
        >>> next(it)[0]["name"], next(it).image["file_name"]
        ('cat', '2007_000549.jpg')
    """
    with CocoSource(path, **options) as src:
        src.scan()
        yield src.categories
        yield from src
