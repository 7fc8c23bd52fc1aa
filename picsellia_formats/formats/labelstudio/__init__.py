"""Label Studio JSON export (the task list): rectangles (rotated too), polygons, keypoints, brush
masks (Label Studio's RLE), choices, textarea/number/rating; one annotator's results per task.

Example:
    >>> FORMAT.name, FORMAT.default_file_name
    ('labelstudio', 'tasks.json')
"""

from __future__ import annotations

from .. import FormatSpec, Option
from .detect import detect
from .read import read
from .write import write

FORMAT = FormatSpec(
    name="labelstudio",
    description="Label Studio JSON export (task list with annotations or predictions)",
    detect=detect,
    read=read,
    write=write,
    output="file",
    default_file_name="tasks.json",
    # no polylines, free attributes, crowd flags, statuses, image metadata, tags, label list (it lives in
    # the labelling config) or label groups; keypoints are single-point regions
    holds=frozenset(("box", "polygon", "mask", "point", "classification", "scores", "object_qa", "image_qa")),
    written_as={"keypoints": "separate keypoint regions", "multipart": "one region per part"},
    read_options=(
        Option("annotator", "--ls-annotator",
               "which annotation of a task to read: latest (default), first, or a completed_by id/email", str),
        Option("source", "--ls-source", "read the tasks' annotations (default) or predictions", str,
               ("annotations", "predictions")),
    ),
    # how the source wrote a region (its percentages, result ids and order, raw per-region results):
    # the model holds the same geometry and Q&A in pixels
    hint_keys=frozenset(("value", "order", "side", "image_key", "qa_ids", "image_rotation", "origin", "to_name",
                         "from_name", "id", "controls", "source", "at")),
)

__all__ = ["FORMAT", "detect", "read", "write"]
