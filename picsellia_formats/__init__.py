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
from .split import SplitResult, split

__all__ = [
    "QA",
    "Annotation",
    "Asset",
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
    "read",
    "split",
    "write",
]
