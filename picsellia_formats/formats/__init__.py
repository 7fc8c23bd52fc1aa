"""The format registry: a format name maps to how to detect, read and write it.

A format module defines ``FORMAT = FormatSpec(...)``; adding its module name to `FORMAT_MODULES`
is the only change needed to make it readable, writable, detectable and usable from the CLI.

Example:
    >>> spec = get("coco")
    >>> spec.name, spec.output
    ('coco', 'file')
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import DetectionError, UnknownFormatError
from ..inputs import check_input

#: Format modules in `picsellia_formats.formats`, in the order they are tried and listed.
FORMAT_MODULES: tuple[str, ...] = (
    "coco", "picsellia", "voc", "yolo", "tfrecord", "cvat", "labelstudio", "labelme", "createml",
)

#: Other names people use for a format (lower case, "-" read as "_"): accepted wherever a format is named.
ALIASES: dict[str, str] = {
    "mscoco": "coco", "coco_json": "coco",
    "picsellia_json": "picsellia",
    "pascal_voc": "voc", "pascalvoc": "voc", "voc_xml": "voc",
    "yolov5": "yolo", "yolov8": "yolo", "yolo11": "yolo", "ultralytics": "yolo", "darknet": "yolo",
    "tfrecords": "tfrecord", "tf_record": "tfrecord", "tfod": "tfrecord",
    "cvat_xml": "cvat", "cvat_images": "cvat",
    "label_studio": "labelstudio",
    "create_ml": "createml",
}


@dataclass(frozen=True)
class Option:
    """A format-specific keyword argument, also exposed as a CLI flag.

    ``type=None`` makes a boolean switch; otherwise the flag takes a value converted by ``type``.
    """

    name: str
    flag: str
    help: str
    type: Callable[[str], Any] | None = None
    choices: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Detection:
    """How sure a format is that it can read a path (0 = no), and why."""

    format: str
    confidence: float
    reason: str


@dataclass(frozen=True)
class FormatSpec:
    """What the registry knows of one format.

    ``read(path, *, images, report, **options) -> Dataset`` and
    ``write(dataset, path, *, images, report, **options) -> None`` where ``path`` is a file for
    ``output == "file"`` formats and a folder otherwise. Writers may write straight to ``path``:
    `picsellia_formats.write` hands them a temporary path and renames it at the end.
    ``detect(path) -> (confidence, reason)``.
    """

    name: str
    description: str
    detect: Callable[[Path], tuple[float, str]]
    read: Callable[..., Any]
    write: Callable[..., None] | None
    output: str = "file"
    default_file_name: str = "annotations.json"
    read_options: tuple[Option, ...] = field(default_factory=tuple)
    write_options: tuple[Option, ...] = field(default_factory=tuple)
    #: keys of ``extra[name]`` that only record how the source was written (order, indentation,
    #: number text...): other formats' writers do not report them as dropped data
    hint_keys: frozenset[str] = frozenset()
    #: keys of ``extra[name]`` on assets, labels and objects that are format metadata, not annotation
    #: data (VOC's folder, path, depth...; COCO's license, coco_url...): other formats' writers report
    #: them apart, and ``strict=True`` does not refuse their loss (``strict="all"`` does). Every
    #: dataset-level field (COCO info/licenses, a data.yaml's extra keys) is format metadata.
    metadata_keys: frozenset[str] = frozenset()
    #: what the format can hold (names from `capabilities.CAPABILITIES`): annotation kinds, multi-part
    #: polygons, keypoints on polygons/masks, scores, attributes, crowd flags, object and image Q&A,
    #: statuses, tags, asset metadata, labels without objects, label groups. `api.write` reports the
    #: rest once, in one wording (`capabilities.report_unheld`). None: not declared (nothing reported).
    holds: frozenset[str] | None = None
    #: capabilities written in another form (approximated): name -> that form, e.g. {"polygon": "boxes"}
    written_as: Mapping[str, str] = field(default_factory=dict)
    #: what a user can do about a loss, per capability: appended to the report's reason
    loss_hints: Mapping[str, str] = field(default_factory=dict)
    #: when what the format holds depends on the write options (or on the dataset): a function
    #: ``(dataset, options) -> (holds, written_as)`` used instead of `holds` and `written_as`
    holds_for: Callable[[Any, Mapping[str, Any]], tuple[frozenset[str], Mapping[str, str]]] | None = None
    #: ``output_for(dataset, path, options) -> "file" | "folder"`` when the output kind depends on the
    #: data (COCO: one file, or a folder of one file per split); None: always `output`
    output_for: Callable[[Any, Path, dict[str, Any]], str] | None = None

    def capabilities(self, dataset: Any, options: Mapping[str, Any]
                     ) -> tuple[frozenset[str], Mapping[str, str]] | None:
        """(holds, written_as) for writing `dataset` with `options`, or None when the format declares nothing.

        Example:
            >>> holds, written_as = get("voc").capabilities(None, {})
            >>> "box" in holds, written_as["polygon"]
            (True, 'boxes')
        """
        if self.holds_for is not None:
            return self.holds_for(dataset, options)
        if self.holds is None:
            return None
        return self.holds, self.written_as


_REGISTRY: dict[str, FormatSpec] = {}


def _load() -> dict[str, FormatSpec]:
    if not _REGISTRY:
        for module_name in FORMAT_MODULES:
            module = importlib.import_module(f"{__name__}.{module_name}")
            spec: FormatSpec = module.FORMAT
            _REGISTRY[spec.name] = spec
    return _REGISTRY


def names() -> list[str]:
    """Registered format names."""
    return list(_load())


def specs() -> list[FormatSpec]:
    return list(_load().values())


def listing() -> str:
    """Every format name with its aliases, for help texts and errors.

    Example:
        >>> listing().split("; ")[0]
        'coco (mscoco, coco_json)'
    """
    out = []
    for name in _load():
        aliases = [a for a, target in ALIASES.items() if target == name]
        out.append(f"{name} ({', '.join(aliases)})" if aliases else name)
    return "; ".join(out)


def get(name: str) -> FormatSpec:
    """The spec of format `name` (case-insensitive, aliases such as ``yolov8`` or ``pascal-voc`` too);
    UnknownFormatError lists the known ones.

    Example:
        >>> get("Pascal-VOC").name
        'voc'
    """
    registry = _load()
    key = name.strip().lower().replace("-", "_") if name else ""
    spec = registry.get(ALIASES.get(key, key)) if key else None
    if spec is None:
        raise UnknownFormatError(f"unknown format '{name}'; known formats: {listing()}")
    return spec


def detect_all(path: str | Path) -> list[Detection]:
    """Every format's verdict on `path`, most confident first."""
    path = Path(path)
    check_input(path)
    out = []
    for spec in _load().values():
        try:
            confidence, reason = spec.detect(path)
        except (OSError, ValueError) as exc:
            confidence, reason = 0.0, f"could not inspect: {exc}"
        out.append(Detection(spec.name, confidence, reason))
    out.sort(key=lambda d: -d.confidence)
    return out


def detect(path: str | Path) -> str:
    """The name of the format of `path`, or DetectionError explaining what was tried.

    Example:
        >>> detect("fixtures/picsellia_coco_det/annotations.json")
        'coco'
    """
    path = Path(path)
    check_input(path)  # a FIFO, device or dangling link: refused by name, never opened
    if not path.exists():
        raise DetectionError(f"{path}: no such file or folder")
    verdicts = detect_all(path)
    tried = "; ".join(f"{d.format}: {d.reason}" for d in verdicts)
    best = verdicts[0] if verdicts else None
    from .unsupported import refused  # formats recognised but not read: named, never mis-read

    refusal = refused(path)
    if refusal is not None and (best is None or refusal.confidence >= best.confidence):
        raise DetectionError(refusal.message(path))
    if best is None or best.confidence <= 0:
        raise DetectionError(f"{path}: no known format recognised it (tried {tried}); name it with --from")
    tied = [d.format for d in verdicts if d.confidence == best.confidence]
    if len(tied) > 1:
        raise DetectionError(
            f"{path}: ambiguous, could be {' or '.join(tied)} (tried {tried}); name it with --from"
        )
    return best.format
