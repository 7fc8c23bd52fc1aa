"""Moved: the one header reader and EXIF-orientation table is `picsellia_formats.image_header`.

Kept as a re-export so the TFRecord modules import unchanged until they move to ``formats/tfrecord``.
"""

from __future__ import annotations

from ..image_header import (
    SWAPPING,
    HeaderInfo,
    NormBox,
    array_to_displayed,
    array_to_stored,
    to_displayed,
    to_stored,
)
from ..image_header import read_header as sniff

__all__ = ["SWAPPING", "HeaderInfo", "NormBox", "array_to_displayed", "array_to_stored", "sniff", "to_displayed",
           "to_stored"]
