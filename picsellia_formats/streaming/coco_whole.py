"""A COCO file parsed whole for the record path (`coco_transcode` without `--stream`): one parse, no first pass.

`CocoSource` reads a file twice in chunks to bound memory; when memory is not the constraint, `WholeCoco`
reads it once, as `pf.read` does (`formats.coco.read.load_typed`: the annotations typed at once, dicts where
the types do not fit, the rest by orjson), and the image positions come from the records themselves. It
offers what the record path uses of `CocoSource` (`scan`, `sorted`, `categories`, `meta`,
`annotation_positions`, `image_runs`, `batches`, `annotation_chunks`). A file it cannot take raises
`Ineligible` (or a ValueError the caller turns into one): the general path then names what is wrong.

Example:
    >>> with WholeCoco("fixtures/picsellia_coco_det/annotations.json") as whole:
    ...     whole.scan()
    >>> whole.n_images, whole.n_annotations, whole.sorted
    (19, 330, False)
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..formats.coco.parse import TOP_KEYS
from ..formats.coco.read import load_typed
from ..formats.coco.records import Ineligible, record_field
from ..io_utils import gc_paused
from .json_scan import Decode


class WholeCoco:
    """A COCO instances file read whole: `scan()` parses it; the rest as `CocoSource`'s."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.categories: list[Any] = []
        self.meta: dict[str, Any] = {}
        self.n_images = 0
        self.n_annotations = 0
        self.sorted = True
        self.spans: dict[str, tuple[int, int]] = {}  # nothing left to check for wide integers after scan()
        self._images: list[Any] = []
        self._records: list[Any] = []
        self._positions: list[int] = []

    def __enter__(self) -> WholeCoco:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Nothing to release: the records go with the object (a caller about to exit keeps it, unfreed)."""

    def scan(self) -> None:
        """Parse the file; Ineligible (or ValueError) for what the general path must read."""
        with gc_paused():
            values = load_typed(self.path)  # the reader's own parse: typed annotations, wide integers found
            if values.__class__ is not dict or "images" not in values:
                raise Ineligible("not a COCO instances file with an 'images' list")
            images, records = values.get("images"), values.get("annotations", [])
            categories = values.get("categories", [])
            if images.__class__ is not list or records.__class__ is not list or categories.__class__ is not list:
                raise Ineligible("images, annotations and categories must be lists")
            self.meta = {k: v for k, v in values.items() if k not in ("images", "annotations", "categories")}
            self.meta["key_order"] = [k for k in values if k in TOP_KEYS]
            self.categories = categories
            self._images, self._records = images, records
            self.n_images, self.n_annotations = len(images), len(records)
            self._positions = self._place(images, records)

    def _place(self, images: list[Any], records: list[Any]) -> list[int]:
        where: dict[Any, int] = {}
        for n, im in enumerate(images):
            image_id = im.get("id") if im.__class__ is dict else None
            if image_id.__class__ is not int and image_id.__class__ is not str:
                raise Ineligible("an image record without an integer or string id")
            if image_id in where:
                raise Ineligible("a repeated image id")
            where[image_id] = n
        try:
            try:
                positions = [where[r.image_id] for r in records]  # typed records (a dict has no attribute)
            except AttributeError:
                positions = [where[record_field(r, "image_id")] for r in records]
        except (KeyError, TypeError):
            raise Ineligible("an annotation of an image not in the file") from None
        last = -1
        for p in positions:
            if p < last:
                self.sorted = False
                break
            last = p
        return positions

    @property
    def annotation_positions(self) -> list[int]:
        """Each annotation's image position, in file order."""
        return self._positions

    def image_runs(self, size: int) -> Iterator[list[Any]]:
        for start in range(0, len(self._images), size):
            yield self._images[start:start + size]

    def annotation_chunks(self, decode: Decode | None = None) -> Iterator[list[Any]]:
        """The annotation records, in one chunk (already decoded by `scan`)."""
        if self._records:
            yield self._records

    def batches(self, size: int, decode: Decode | None = None) -> Iterator[tuple[list[Any], list[Any]]]:
        """(images, their records) by runs of `size` images; the records must be in the images' order."""
        start = seen = 0
        for images in self.image_runs(size):
            seen += len(images)
            end = bisect_left(self._positions, seen, start)
            yield images, self._records[start:end]
            start = end
