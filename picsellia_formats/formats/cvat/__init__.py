"""CVAT for images XML 1.1: boxes (rotated too), polygons, polylines, points, skeletons, masks
(CVAT's RLE), tags, attributes and the ``<meta>`` label list; video tracks read as per-frame images.

Example:
    >>> FORMAT.name, FORMAT.output, FORMAT.default_file_name
    ('cvat', 'file', 'annotations.xml')
"""

from __future__ import annotations

from .. import FormatSpec, Option
from .detect import detect
from .read import read
from .write import write

FORMAT = FormatSpec(
    name="cvat",
    description="CVAT for images XML 1.1 (annotations.xml); video tracks read as per-frame images",
    detect=detect,
    read=read,
    write=write,
    output="file",
    default_file_name="annotations.xml",
    # one shape per object: keypoints or a line beside a polygon have no place; no scores, Q&A,
    # statuses, image metadata, crowd flags or label groups; tags: the first is the subset (the
    # writer reports the others)
    holds=frozenset(("box", "polygon", "mask", "keypoints", "line", "point", "classification", "attributes",
                     "tags", "label_only")),
    written_as={"multipart": "one polygon per part"},
    read_options=(
        Option("tracks", "--cvat-tracks", "CVAT for video <track>s: read as per-frame images or refuse them",
               str, ("frames", "refuse")),
    ),
    # how the source wrote a shape, not data: the same pixels/geometry either way
    hint_keys=frozenset(("mask_box", "shape", "rotation", "box", "keyframe")),
)

__all__ = ["FORMAT", "detect", "read", "write"]
