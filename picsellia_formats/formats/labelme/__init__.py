"""LabelMe JSON (wkentaro/labelme): one JSON file per image, or a folder of them (recursive).

See `read` and `write` for what maps to what; ``extra["labelme"]`` keeps what only LabelMe holds
(embedded ``imageData``, colours, false image flags, circles) and, under keys starting with ``_``,
how the file was laid out (key order, corner order, imagePath as written), so that LabelMe ->
LabelMe gives the same JSON.

Example:
    >>> FORMAT.name, FORMAT.output
    ('labelme', 'folder')
"""

from __future__ import annotations

from .. import FormatSpec, Option
from .detect import detect
from .read import CIRCLE_POINTS, read
from .write import write

#: ``extra["labelme"]`` keys that only record how a file was written (not data)
HINT_KEYS = frozenset((
    "version", "_keys", "_image_path", "_json_path", "_image_data", "_flags_null", "_flag_order", "_index",
    "_flip", "_far", "_shape_type", "_description", "_attribute_keys",
))


def _at_least_3(text: str) -> int:
    value = int(text)
    if value < 3:
        raise ValueError("must be >= 3")
    return value


#: what LabelMe shapes hold: rectangles, polygons (several parts: shapes sharing a group_id), lines,
#: points, keypoints ("points" shapes), image flags (classifications), scores, attributes (flags and
#: the attributes object); masks are traced to polygons. No tags, statuses, Q&A, metadata, crowd
#: flags, label list or label groups; one shape per object (keypoints on a polygon are lost)
HOLDS = frozenset(("box", "polygon", "multipart", "line", "point", "keypoints", "classification", "scores",
                   "attributes"))
WRITTEN_AS = {"mask": "polygons"}


FORMAT = FormatSpec(
    name="labelme",
    description="LabelMe JSON (one file per image, or a folder of them)",
    detect=detect,
    read=read,
    write=write,
    output="folder",
    default_file_name="",
    read_options=(
        Option("extract_images", "--labelme-extract-images", "write the images embedded in imageData to "
               "this folder", type=str),
        Option("circle_points", "--labelme-circle-points", f"vertices of the polygon a circle is read as "
               f"(default {CIRCLE_POINTS})", type=_at_least_3),
    ),
    write_options=(
        Option("image_data", "--labelme-image-data", "imageData: keep what the source embedded (default), "
               "embed the image files of --images, or none", type=str, choices=("keep", "embed", "none")),
    ),
    hint_keys=HINT_KEYS,
    holds=HOLDS,
    written_as=WRITTEN_AS,
)
