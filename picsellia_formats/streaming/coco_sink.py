"""Write a COCO instances file from a stream of assets, memory bounded, with the in-memory writer's bytes.

COCO puts every image before any annotation (and the categories, in most files, after both), but a
stream gives them together, image by image. The sink encodes each batch of assets at once into two spill
files beside the output (images, annotations; one JSON array per line) and keeps only compact id columns;
`close()` assembles the file in the key order the in-memory writer uses and renames it into place.

Ids follow the in-memory writer: image, annotation and category ids are kept when they are unique integers
over the whole dataset, which a stream only knows at the end; when they are not, the spilled batches are
re-encoded with new ids (1..n) during assembly. The fidelity report matches the in-memory writer's.

Example:
    >>> import tempfile, os
    >>> from picsellia_formats.model import Annotation, Asset, Label
    >>> out = os.path.join(tempfile.mkdtemp(), "annotations.json")
    >>> with CocoSink(out, [Label("cat", id=1)]) as sink:
    ...     sink.add(Asset("a.jpg", 10, 10, [Annotation("cat", box=(1.0, 2.0, 3.0, 4.0), id=7)], id=3))
    >>> open(out).read()[:60]
    '{"images":[{"id":3,"file_name":"a.jpg","width":10,"height":1'
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from array import array
from collections.abc import Iterable
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from ..errors import FormatError, OptionError
from ..formats.capabilities import tally_for_spec
from ..formats.coco.parse import TOP_KEYS
from ..formats.coco.write import HINT_KEYS, batch_dicts, category_dict, category_ids, image_dict
from ..io_utils import gc_paused
from ..model import Annotation, Asset, Dataset, Label
from ..report import Report

BATCH = 2000  # assets encoded at once


class CocoSink:
    """Consume assets one by one (`add`) or all at once (`write`); `close()` finishes the file.

    `labels` and `metadata` (a dataset's ``metadata``: COCO's info, licenses, key order) must be known
    before the first asset, as a streaming reader provides them. Labels first met on an annotation get new
    category ids after the declared ones, as in memory. Options as `formats.coco.write` (instances only).
    `refuse_image_labels`: an annotation without geometry (a COCO image label, which only the in-memory
    COCO -> COCO write keeps) raises FormatError naming `source` (the file streamed) and the asset.
    """

    def __init__(self, path: str | Path, labels: Iterable[Label] = (), metadata: dict[str, Any] | None = None, *,
                 report: Report | None = None, segmentation: str = "keep", category_id_start: int = 1,
                 refuse_image_labels: bool = False, source: str | Path | None = None) -> None:
        if segmentation not in ("keep", "rle", "polygon"):
            raise OptionError(f"segmentation must be keep, rle or polygon, got {segmentation!r}")
        self.path = Path(path)
        self.report = report if report is not None else Report()
        self.segmentation = segmentation
        self.start = category_id_start
        self.labels = list(labels)
        self.metadata = metadata or {}
        hints = [k for k in ("split_files", "image_labels") if (self.metadata.get("coco") or {}).get(k)]
        if hints:
            raise FormatError(f"a dataset read with COCO {' and '.join(hints)} cannot be written by the streaming "
                              "COCO writer (it rewrites their layout): convert in memory (--no-stream)")
        self._known = {label.name for label in self.labels}
        self._cat_ids = category_ids(self.labels, category_id_start, Report())
        self._ann_report = Report()  # annotation-level entries, appended after the dataset-level ones
        self._counts: dict[str, Any] = {"areas_replaced": 0}
        # what COCO cannot hold, counted asset by asset and worded once (formats.capabilities)
        from ..formats import get

        self._declared = list(self.labels)
        self._unheld = tally_for_spec(get("coco"), Dataset(labels=self._declared, metadata=self.metadata),
                                      {"segmentation": segmentation})
        self._image_ids: list[Any] = []  # source ids (ints in an array when they all are)
        self._int_image_ids: array | None = array("q")
        self._ann_ids: array | None = array("q")
        self._ann_none = 0
        self._ann_asset: array = array("i")  # position of each written annotation's asset
        self._n_images = 0
        self._pending: list[Asset] = []
        self.refuse_image_labels = refuse_image_labels
        self.source = source
        self._dir = tempfile.mkdtemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        # each spill holds the array's items, batch after batch, comma-separated: the final file copies it as
        # it stands; the batches' byte ends let a renumbering re-read it batch by batch
        self._images_f: BinaryIO = open(os.path.join(self._dir, "images.part"), "wb")
        self._anns_f: BinaryIO = open(os.path.join(self._dir, "annotations.part"), "wb")
        self._ends: dict[str, list[int]] = {"images.part": [], "annotations.part": []}
        self._closed = False

    def __enter__(self) -> CocoSink:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def write(self, assets: Iterable[Asset]) -> None:
        """Add every asset of `assets`."""
        for asset in assets:
            self.add(asset)

    def add(self, asset: Asset) -> None:
        """Add one asset (buffered and encoded by batch)."""
        self._pending.append(asset)
        if len(self._pending) >= BATCH:
            self._flush()

    # ------------------------------------------------------------------------------------- encoding

    def _flush(self) -> None:
        if not self._pending:
            return
        with gc_paused():
            self._encode(self._pending)
        self._pending = []

    @property
    def category_ids(self) -> dict[str, int]:
        """Label name -> the category id written (the in-memory writer's rule, `category_ids`)."""
        return self._cat_ids

    @property
    def annotation_report(self) -> tuple[Report, dict[str, Any]]:
        """The report and counts (``areas_replaced``) the annotation encoding feeds, for `add_records`' caller."""
        return self._ann_report, self._counts

    def add_records(self, images: list[dict[str, Any]], annotations: bytes, ann_ids: list[Any],
                    positions: Any) -> None:
        """Add images (the writer's dicts) and annotations already encoded (`formats.coco.records`), ids as read.

        `annotations`: the JSON array's items, comma-separated; `ann_ids`: their ids; `positions`: each one's
        image position in the whole stream (0-based). Assets added before are written first.
        """
        self._flush()
        note = self._image_id
        for im in images:
            note(im["id"])
        self._n_images += len(images)
        self._spill(self._images_f, "images.part", images)
        if ann_ids:
            self._ann_asset.extend(positions)
            self._spill_bytes(self._anns_f, "annotations.part", annotations)
            self._note_ann_ids(ann_ids)

    def _image_id(self, image_id: Any) -> Any:
        ids = self._int_image_ids
        if ids is not None:
            if type(image_id) is int and -(1 << 63) <= image_id < (1 << 63):
                ids.append(image_id)
            else:
                self._image_ids = list(ids)
                self._int_image_ids = None
        if self._int_image_ids is None:
            self._image_ids.append(image_id)
        return image_id

    def _encode(self, assets: list[Asset]) -> None:
        batch: list[tuple[Asset, Any, Annotation]] = []
        add = batch.append
        ann_src: list[Any] = []
        add_id = ann_src.append
        ann_asset = self._ann_asset
        known = self._known
        images = []
        for asset in assets:
            image_id = self._image_id(asset.id)
            if asset.width is not None and asset.height is not None and not asset.extra:
                images.append({"id": image_id, "file_name": asset.file_name, "width": asset.width,
                               "height": asset.height})
            else:
                images.append(image_dict(asset, image_id))
            n = self._n_images
            for ann in asset.annotations:
                if ann.label not in known:
                    self._new_label(ann.label)
                if ann.box is None and ann.polygon is None and ann.mask is None and ann.keypoints is None:
                    if self.refuse_image_labels:
                        raise FormatError("COCO annotations without geometry (image labels) cannot be written "
                                          "from a stream: convert in memory (--no-stream)",
                                          file=self.source, record=asset.file_name)
                    continue  # counted by the census (COCO instances hold no such object)
                add((asset, image_id, ann))
                add_id(ann.id)
                ann_asset.append(n)
            self._n_images = n + 1
        if self._unheld is not None:  # what COCO cannot hold, counted for the whole batch at once
            self._unheld.add_many(assets)
        self._spill(self._images_f, "images.part", images)
        if batch:
            dicts = batch_dicts(batch, self._cat_ids, iter(ann_src), False, self.segmentation, self._ann_report,
                                 self._counts)
            self._spill(self._anns_f, "annotations.part", dicts)
            self._note_ann_ids(ann_src)

    def _spill(self, f: BinaryIO, name: str, items: list[dict[str, Any]]) -> None:
        if items:
            self._spill_bytes(f, name, memoryview(orjson.dumps(items))[1:-1])

    def _spill_bytes(self, f: BinaryIO, name: str, body: bytes | memoryview) -> None:
        ends = self._ends[name]
        if ends:
            f.write(b",")
        f.write(body)
        ends.append(f.tell())

    def _note_ann_ids(self, ids: list[Any]) -> None:
        if self._ann_ids is None:
            return
        try:
            self._ann_ids.extend(ids)
        except (TypeError, OverflowError):
            self._ann_none += sum(1 for i in ids if i is not None)
            if self._ann_none or any(i is not None for i in self._ann_ids):
                self._ann_none = max(self._ann_none, 1)
            self._ann_ids = None

    def _new_label(self, name: str) -> None:
        self._known.add(name)
        self.labels.append(Label(name))
        values = self._cat_ids.values()
        self._cat_ids[name] = max(self.start, max(values, default=self.start - 1) + 1)

    # ------------------------------------------------------------------------------------- assembly

    def close(self) -> None:
        """Write the file (atomically: a temp file renamed over `path`) and the report entries."""
        if self._closed:
            return
        self._flush()
        self._images_f.close()
        self._anns_f.close()
        self._closed = True
        try:
            self._assemble()
        finally:
            self._cleanup()

    def abort(self) -> None:
        """Drop everything written so far (the output is left untouched)."""
        if not self._closed:
            self._images_f.close()
            self._anns_f.close()
            self._closed = True
        self._cleanup()

    def _cleanup(self) -> None:
        for name in ("images.part", "annotations.part", "out.json"):
            with contextlib.suppress(FileNotFoundError):
                os.remove(os.path.join(self._dir, name))
        with contextlib.suppress(OSError):
            os.rmdir(self._dir)

    def _ids_kept(self) -> tuple[bool, bool]:
        report = self.report
        if self._int_image_ids is not None:
            img_ok = _unique(self._int_image_ids)
            any_img = True
        else:
            img_ok = False
            any_img = any(i is not None for i in self._image_ids)
        n_anns = len(self._ann_asset)
        if self._ann_ids is not None:
            ann_ok = _unique(self._ann_ids)
            any_ann = True
        else:
            ann_ok, any_ann = False, bool(self._ann_none)
        final = category_ids(self.labels, self.start, report)
        if final != self._cat_ids:  # pragma: no cover - the on-the-fly ids follow category_ids' rule
            raise AssertionError("category ids assigned while streaming differ from the in-memory rule")
        if not img_ok and any_img and self._n_images:
            report.changed("image ids renumbered", self._n_images, "source ids were not unique integers")
        if not ann_ok and any_ann and n_anns:
            report.changed("annotation ids renumbered", n_anns, "source ids were not unique integers")
        return img_ok or not self._n_images, ann_ok or not n_anns

    def _dataset_report(self) -> None:
        if self._unheld is not None:
            self._unheld.report_to(self.report, self._declared, self.metadata)

    def _annotation_report(self) -> None:
        report, counts = self._ann_report, self._counts
        if counts["areas_replaced"]:
            report.changed("annotation areas recomputed", counts["areas_replaced"],
                           "the stated area disagreed with the geometry")
        self.report.merge(report)

    def _assemble(self) -> None:
        keep_images, keep_anns = self._ids_kept()
        self._dataset_report()
        self._annotation_report()
        meta = self.metadata.get("coco", {})
        order = [k for k in meta.get("key_order", []) if k in TOP_KEYS]
        order += [k for k in TOP_KEYS if k not in order]
        extra_top = {k: v for k, v in meta.items() if k not in HINT_KEYS and k not in TOP_KEYS}
        tmp = os.path.join(self._dir, "out.json")
        with open(tmp, "wb") as f:
            f.write(b"{")
            first = True
            for key in order:
                if key in ("info", "licenses") and key not in meta:
                    continue
                f.write((b"" if first else b",") + orjson.dumps(key) + b":")
                first = False
                if key == "images":
                    self._copy_array(f, "images.part", None if keep_images else self._renumber_images())
                elif key == "annotations":
                    self._copy_array(f, "annotations.part",
                                     None if keep_anns and keep_images else self._renumber_anns(keep_images,
                                                                                                keep_anns))
                elif key == "categories":
                    f.write(orjson.dumps([category_dict(label, self._cat_ids[label.name])
                                          for label in self.labels]))
                else:
                    f.write(orjson.dumps(meta[key]))
            for key, value in extra_top.items():
                f.write(b"," + orjson.dumps(key) + b":" + orjson.dumps(value))
            f.write(b"}")
        os.replace(tmp, self.path)

    def _copy_array(self, out: BinaryIO, name: str, renumber: Any) -> None:
        out.write(b"[")
        with open(os.path.join(self._dir, name), "rb") as f:
            if renumber is None:
                out.flush()
                _copy_file(f, out)
            else:
                with gc_paused():
                    start = 0
                    for end in self._ends[name]:
                        body = f.read(end - start)
                        start = end
                        if body[:1] == b",":
                            out.write(b",")
                            body = body[1:]
                        out.write(memoryview(orjson.dumps(renumber(orjson.loads(b"[" + body + b"]"))))[1:-1])
        out.write(b"]")

    def _renumber_images(self) -> Any:
        counter = iter(range(1, self._n_images + 1))

        def renumber(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
            for d in items:
                d["id"] = next(counter)
            return items

        return renumber

    def _renumber_anns(self, keep_images: bool, keep_anns: bool) -> Any:
        positions = iter(self._ann_asset)
        counter = iter(range(1, len(self._ann_asset) + 1))

        def renumber(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
            for d in items:
                pos = next(positions)
                if not keep_anns:
                    d["id"] = next(counter)
                if not keep_images:
                    d["image_id"] = pos + 1
            return items

        return renumber


def _copy_file(src: BinaryIO, dst: BinaryIO) -> None:
    """All of `src` appended to `dst` (flushed): by the kernel where it can, else in 1 MiB blocks."""
    copy_range = getattr(os, "copy_file_range", None)
    if copy_range is not None:
        here = dst.tell()
        try:
            while copy_range(src.fileno(), dst.fileno(), 1 << 30):
                pass
            dst.seek(0, os.SEEK_END)
            return
        except OSError:  # pragma: no cover - a file system without it: start again in blocks
            src.seek(0)
            dst.seek(here)
            dst.truncate()
    while True:
        block = src.read(1 << 20)
        if not block:
            return
        dst.write(block)


def _unique(ids: array) -> bool:
    """No value twice (one sorted copy: 8 bytes per id)."""
    if len(ids) < 4096:  # a small file: no numpy to load
        return len(set(ids)) == len(ids)
    import numpy as np

    values = np.array(ids, dtype=np.int64)
    values.sort()
    return not bool((values[1:] == values[:-1]).any())


def write_coco(dataset: Dataset, path: str | Path, **options: Any) -> None:
    """Write an in-memory dataset through the sink (what `formats.coco.write` gives, in bounded memory).

    Example:
        >>> from picsellia_formats.model import Asset
        >>> import tempfile, os
        >>> out = os.path.join(tempfile.mkdtemp(), "a.json")
        >>> write_coco(Dataset([], [Asset("a.jpg", 4, 4, [])]), out)
        >>> open(out).read()
        '{"images":[{"id":1,"file_name":"a.jpg","width":4,"height":4}],"annotations":[],"categories":[]}'
    """
    with CocoSink(path, dataset.labels, dataset.metadata, **options) as sink:
        sink.write(dataset.assets)
