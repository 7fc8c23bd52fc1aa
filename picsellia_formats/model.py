"""The canonical annotation model every reader builds and every writer consumes.

Conventions (see the README, "Conventions"):

* Coordinates are absolute pixels, floats, top-left origin, on a continuous plane. A box is
  ``(x, y, w, h)`` with ``x + w`` the exclusive right edge (COCO's convention). Values are kept
  exactly as read; nothing is rounded inside the model.
* A polygon is a list of parts, each part a flat list ``[x0, y0, x1, y1, ...]``; several parts
  are still one object (COCO multi-part segmentation).
* A mask is COCO RLE (`Mask`), compressed (``counts`` is a str) or not (a list of ints), kept as read.
* Labels are names. `Label.id` is the id a format gave it (COCO category id, label-map id), kept
  so that COCO -> COCO keeps its ids; other formats ignore it.

The classes are small value classes with ``__slots__``, equality and a readable ``repr``. Free
dictionaries default to a shared read-only empty mapping (no allocation per object on the hot path);
assign a new dict to fill them.

Example:
    >>> ds = Dataset(labels=[Label("car")])
    >>> asset = ds.add_asset(Asset("a.jpg", 640, 480))
    >>> asset.annotations.append(Annotation("car", box=(10.0, 20.0, 30.0, 40.0)))
    >>> ds.label_counts()
    {'car': 1}
    >>> asset.annotations[0].kind
    'box'
"""

from __future__ import annotations

import copyreg
from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Any, ClassVar

from .errors import FormatError

#: Shared immutable default for free dictionaries (attributes, extra): assign a dict to fill.
EMPTY: Mapping[str, Any] = MappingProxyType({})


def _restore_proxy(items: dict[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(items) if items else EMPTY


# Read-only mappings (EMPTY, and the shared values readers intern) must pickle, so that datasets
# travel to worker processes (a process pool today, Ray or Dask tomorrow).
copyreg.pickle(MappingProxyType, lambda proxy: (_restore_proxy, (dict(proxy),)))

QA_KINDS = ("text", "mc", "select", "range")
#: Annotation statuses of the platform (an asset's review status).
STATUSES = ("PENDING", "SKIPPED", "ACCEPTED", "REFUSED")
#: Annotation kinds, in the order `Annotation.kind` picks the primary one.
KINDS = ("mask", "polygon", "keypoints", "line", "point", "box", "classification")


class _Value:
    """Equality and repr from ``__slots__``; subclasses list defaults in ``_defaults``."""

    __slots__ = ()
    _defaults: ClassVar[dict[str, Any]] = {}

    def _fields(self) -> tuple[Any, ...]:
        return tuple(getattr(self, s) for s in self.__slots__)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._fields() == other._fields()  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]  # mutable values

    def __repr__(self) -> str:
        shown = []
        for i, name in enumerate(self.__slots__):
            value = getattr(self, name)
            if i and name in self._defaults and _is_default(value, self._defaults[name]):
                continue
            if isinstance(value, MappingProxyType):
                value = dict(value)
            shown.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(shown)})"


def _is_default(value: Any, default: Any) -> bool:
    if default is EMPTY:
        return not value
    return value is default or (value == default and type(value) is type(default))


class QA(_Value):
    """A question and its answer, on an object or on a whole image (the platform's four kinds).

    * ``text``: ``answer`` is a str.
    * ``mc`` (multiple choice): ``answer`` is a list of str, each among ``choices``.
    * ``select``: ``answer`` is one str among ``choices``.
    * ``range``: ``answer`` is a number within ``min`` .. ``max``.

    Example:
        >>> QA("select", "Is it raining?", "yes", choices=["yes", "no"]).to_dict()
        {'type': 'select', 'question': 'Is it raining?', 'answer': 'yes', 'choices': ['yes', 'no']}
    """

    __slots__ = ("kind", "question", "answer", "choices", "min", "max", "extra")  # noqa: RUF023 - repr order
    _defaults: ClassVar[dict[str, Any]] = {"choices": None, "min": None, "max": None, "extra": EMPTY}

    def __init__(
        self,
        kind: str,
        question: str,
        answer: Any,
        choices: list[str] | None = None,
        min: float | None = None,  # noqa: A002 - the platform's field names
        max: float | None = None,  # noqa: A002
        extra: Mapping[str, Any] = EMPTY,
    ) -> None:
        if kind not in QA_KINDS:
            raise FormatError(f"Q&A type {kind!r} is not one of {', '.join(QA_KINDS)}")
        self.kind = kind
        self.question = question
        self.answer = answer
        self.choices = choices
        self.min = min
        self.max = max
        self.extra = extra

    _KEYS = frozenset(("type", "question", "answer", "choices", "min", "max"))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> QA:
        """Build from the platform's dict (``type``, ``question``, ``answer``, ``choices``, ``min``, ``max``).

        Unknown keys are kept in ``extra``. Raises ValueError (or KeyError) on a malformed entry.
        """
        if not isinstance(data, Mapping):
            raise FormatError(f"a Q&A entry must be an object, got {type(data).__name__}")
        for key in ("type", "question", "answer"):
            if key not in data:
                raise FormatError(f"Q&A entry lacks {key!r}")
        extra = {k: v for k, v in data.items() if k not in cls._KEYS}
        return cls(
            data["type"],
            data["question"],
            data["answer"],
            data.get("choices"),
            data.get("min"),
            data.get("max"),
            extra or EMPTY,
        )

    def to_dict(self) -> dict[str, Any]:
        """The platform's dict; keys that are None are left out."""
        out: dict[str, Any] = {"type": self.kind, "question": self.question, "answer": self.answer}
        if self.choices is not None:
            out["choices"] = self.choices
        if self.min is not None:
            out["min"] = self.min
        if self.max is not None:
            out["max"] = self.max
        out.update(self.extra)
        return out


class Label(_Value):
    """A class of objects. ``name`` is the identity; ``id`` is the id a format gave it, if any.

    ``group`` is COCO's supercategory or the platform's label group; ``keypoints`` and
    ``skeleton`` are COCO's keypoint names and 1-based edges for keypoint categories.
    """

    __slots__ = ("name", "group", "id", "keypoints", "skeleton", "extra")  # noqa: RUF023 - repr order
    _defaults: ClassVar[dict[str, Any]] = {
        "group": None, "id": None, "keypoints": None, "skeleton": None, "extra": EMPTY,
    }

    def __init__(
        self,
        name: str,
        group: str | None = None,
        id: int | None = None,  # noqa: A002
        keypoints: list[str] | None = None,
        skeleton: list[list[int]] | None = None,
        extra: Mapping[str, Any] = EMPTY,
    ) -> None:
        self.name = name
        self.group = group
        self.id = id
        self.keypoints = keypoints
        self.skeleton = skeleton
        self.extra = extra


class Mask(_Value):
    """A binary mask as COCO run-length encoding, kept exactly as read.

    ``counts`` is the compressed string (COCO's ``frPyObjects``/``encode`` output) or the
    uncompressed list of run lengths; ``height``/``width`` is COCO's ``size`` ([h, w]).

    Example:
        >>> Mask(2, 3, [1, 4, 1]).to_coco()
        {'size': [2, 3], 'counts': [1, 4, 1]}
    """

    __slots__ = ("height", "width", "counts")  # noqa: RUF023 - repr order

    def __init__(self, height: int, width: int, counts: str | list[int]) -> None:
        self.height = height
        self.width = width
        self.counts = counts

    @property
    def compressed(self) -> bool:
        return isinstance(self.counts, str)

    def to_coco(self) -> dict[str, Any]:
        return {"size": [self.height, self.width], "counts": self.counts}


Box = tuple[float, float, float, float]


class Annotation(_Value):
    """One object (or one image-level classification) on an asset.

    Geometry lives in the slot of its kind; COCO may carry several at once (a stated ``box``
    beside a ``polygon``, ``keypoints`` beside both), so each is kept:

    * ``box``: ``(x, y, w, h)``; for a rectangle the geometry, otherwise the box the source stated.
    * ``polygon``: list of parts, each a flat ``[x0, y0, x1, y1, ...]``.
    * ``mask``: a `Mask` (COCO RLE).
    * ``keypoints``: flat ``[x, y, v, ...]`` (COCO visibility 0, 1, 2).
    * ``line``: a polyline, flat ``[x0, y0, x1, y1, ...]``.
    * ``point``: ``(x, y)``.
    * none of them: an image-level classification.

    ``score`` is a detection confidence, ``iscrowd`` COCO's flag (data, never inferred),
    ``area`` the area the source stated (writers recompute it and keep this one only where it
    is consistent with the geometry), ``id`` the source's object id, ``attributes`` free
    per-object attributes, ``qa`` Q&A answers, ``extra`` format-specific fields keyed by format
    name (e.g. ``{"coco": {"ignore": 0}}``) that no other format understands.
    """

    __slots__ = (  # noqa: RUF023 - repr order
        "label", "box", "polygon", "mask", "keypoints", "line", "point", "score", "iscrowd", "area", "id",
        "attributes", "qa", "extra",
    )
    _defaults: ClassVar[dict[str, Any]] = {
        "box": None,
        "polygon": None,
        "mask": None,
        "keypoints": None,
        "line": None,
        "point": None,
        "score": None,
        "iscrowd": 0,
        "area": None,
        "id": None,
        "attributes": EMPTY,
        "qa": (),
        "extra": EMPTY,
    }

    def __init__(
        self,
        label: str,
        box: Box | None = None,
        polygon: list[list[float]] | None = None,
        mask: Mask | None = None,
        keypoints: list[float] | None = None,
        line: list[float] | None = None,
        point: tuple[float, float] | None = None,
        score: float | None = None,
        iscrowd: int = 0,
        area: float | None = None,
        id: Any = None,  # noqa: A002
        attributes: Mapping[str, Any] = EMPTY,
        qa: list[QA] | tuple[QA, ...] = (),
        extra: Mapping[str, Any] = EMPTY,
    ) -> None:
        self.label = label
        self.box = box
        self.polygon = polygon
        self.mask = mask
        self.keypoints = keypoints
        self.line = line
        self.point = point
        self.score = score
        self.iscrowd = iscrowd
        self.area = area
        self.id = id
        self.attributes = attributes
        self.qa = qa
        self.extra = extra

    @property
    def kind(self) -> str:
        """The primary kind: mask, polygon, keypoints, line, point, box or classification."""
        if self.mask is not None:
            return "mask"
        if self.polygon is not None:
            return "polygon"
        if self.keypoints is not None:
            return "keypoints"
        if self.line is not None:
            return "line"
        if self.point is not None:
            return "point"
        if self.box is not None:
            return "box"
        return "classification"

    def set_attribute(self, name: str, value: Any) -> None:
        """Set one attribute (copies the shared empty default on first use)."""
        attributes = dict(self.attributes)
        attributes[name] = value
        self.attributes = attributes


class Asset(_Value):
    """One image and its annotations.

    ``width``/``height`` are None until known (from the annotation file, else from the image
    header after EXIF orientation). ``id`` is the source's image id; ``tags`` the platform's
    asset tags (also the split a file came from); ``status`` the review status (`STATUSES`);
    ``metadata`` free data about the image; ``qa`` image-level Q&A; ``extra`` format-specific
    fields keyed by format name.
    """

    __slots__ = (  # noqa: RUF023 - repr order
        "file_name", "width", "height", "annotations", "id", "tags", "status", "metadata", "qa", "extra",
    )
    _defaults: ClassVar[dict[str, Any]] = {
        "annotations": None,
        "id": None,
        "tags": None,
        "status": None,
        "metadata": EMPTY,
        "qa": (),
        "extra": EMPTY,
    }

    def __init__(
        self,
        file_name: str,
        width: int | None = None,
        height: int | None = None,
        annotations: list[Annotation] | None = None,
        id: Any = None,  # noqa: A002
        tags: list[str] | None = None,
        status: str | None = None,
        metadata: Mapping[str, Any] = EMPTY,
        qa: list[QA] | tuple[QA, ...] = (),
        extra: Mapping[str, Any] = EMPTY,
    ) -> None:
        self.file_name = file_name
        self.width = width
        self.height = height
        self.annotations = annotations if annotations is not None else []
        self.id = id
        self.tags = tags if tags is not None else []
        self.status = status
        self.metadata = metadata
        self.qa = qa
        self.extra = extra

    def __repr__(self) -> str:
        n = len(self.annotations)
        extra = f", tags={self.tags!r}" if self.tags else ""
        extra += f", status={self.status!r}" if self.status else ""
        return (
            f"Asset(file_name={self.file_name!r}, width={self.width!r}, height={self.height!r}, "
            f"id={self.id!r}, annotations=<{n}>{extra})"
        )

    def __iter__(self) -> Iterator[Annotation]:
        return iter(self.annotations)


class Dataset:
    """Labels, assets and dataset-level metadata.

    ``metadata`` holds what a format keeps about the whole dataset, keyed by format name
    (e.g. ``{"coco": {"info": {...}, "licenses": [...]}}``).

    Example:
        >>> ds = Dataset()
        >>> _ = ds.add_asset(Asset("a.jpg", 10, 10, [Annotation("cat", box=(0.0, 0.0, 5.0, 5.0))]))
        >>> ds.ensure_labels()
        >>> [label.name for label in ds.labels], len(ds), ds.num_annotations
        (['cat'], 1, 1)
    """

    __slots__ = ("assets", "labels", "metadata")

    def __init__(
        self,
        labels: Iterable[Label] = (),
        assets: Iterable[Asset] = (),
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self.labels: list[Label] = list(labels)
        self.assets: list[Asset] = list(assets)
        self.metadata: dict[str, Any] = metadata if metadata is not None else {}

    def __len__(self) -> int:
        return len(self.assets)

    def __iter__(self) -> Iterator[Asset]:
        return iter(self.assets)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Dataset):
            return NotImplemented
        return (self.labels, self.assets, self.metadata) == (other.labels, other.assets, other.metadata)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (f"Dataset(assets={len(self.assets)}, annotations={self.num_annotations}, "
                f"labels={self.label_names})")

    @property
    def num_annotations(self) -> int:
        return sum(len(a.annotations) for a in self.assets)

    @property
    def label_names(self) -> list[str]:
        return [label.name for label in self.labels]

    def label(self, name: str) -> Label | None:
        """The label called `name`, or None."""
        for label in self.labels:
            if label.name == name:
                return label
        return None

    def add_label(self, name: str, **fields: Any) -> Label:
        """Get the label called `name`, creating it at the end of the label list if needed."""
        found = self.label(name)
        if found is None:
            found = Label(name, **fields)
            self.labels.append(found)
        return found

    def add_asset(self, asset: Asset) -> Asset:
        self.assets.append(asset)
        return asset

    def annotations(self) -> Iterator[tuple[Asset, Annotation]]:
        """Every (asset, annotation) pair, in order."""
        for asset in self.assets:
            for ann in asset.annotations:
                yield asset, ann

    def label_counts(self) -> dict[str, int]:
        """Objects per label name, in label order (labels without objects count 0)."""
        counts = dict.fromkeys(self.label_names, 0)
        for asset in self.assets:
            for ann in asset.annotations:
                counts[ann.label] = counts.get(ann.label, 0) + 1
        return counts

    def ensure_labels(self) -> None:
        """Declare every label name used by an annotation but missing from `labels` (in first-use order)."""
        known = set(self.label_names)
        for asset in self.assets:
            for ann in asset.annotations:
                if ann.label not in known:
                    known.add(ann.label)
                    self.labels.append(Label(ann.label))
