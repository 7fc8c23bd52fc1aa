"""picsellia_formats: move computer-vision annotations between formats and the Picsellia platform.

Example:
    >>> import picsellia_formats as pf
    >>> ds = pf.read("fixtures/picsellia_coco_det/annotations.json")
    >>> ds
    Dataset(assets=19, annotations=330, labels=['car'])
"""

from __future__ import annotations

__version__ = "0.1.0"

from .api import convert, read, write
from .errors import (
    DetectionError,
    FormatError,
    LossyConversionError,
    PicselliaFormatsError,
    UnknownFormatError,
)
from .formats import detect
from .model import QA, Annotation, Asset, Dataset, Label, Mask
from .report import Report
from .stratify import split

#: Public names whose modules pull in numpy/scipy/shapely: imported on first use, so that
#: ``import picsellia_formats`` (and every CLI start) stays light.
_LAZY = {
    "SplitResult": ("stratify.result", "SplitResult"),
    "validate": ("validation", "validate"),
    "fix": ("validation", "fix"),
    "remap_labels": ("labels", "remap_labels"),
    "stream": ("streaming.api", "stream"),
    "write_stream": ("streaming.api", "write_stream"),
    "AssetStream": ("streaming.api", "AssetStream"),
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        module_name, attr = _LAZY[name]
        value = getattr(importlib.import_module(f".{module_name}", __name__), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))

__all__ = [
    "QA",
    "Annotation",
    "Asset",
    "AssetStream",
    "Dataset",
    "DetectionError",
    "FormatError",
    "Label",
    "LossyConversionError",
    "Mask",
    "PicselliaFormatsError",
    "Report",
    "SplitResult",
    "UnknownFormatError",
    "__version__",
    "convert",
    "detect",
    "fix",
    "read",
    "remap_labels",
    "split",
    "stream",
    "validate",
    "write",
    "write_stream",
]
