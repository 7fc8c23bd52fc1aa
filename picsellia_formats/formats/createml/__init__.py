"""CreateML JSON (Apple Create ML / Turi Create object detection; Roboflow's "CreateML JSON" export).

One file: a list of ``{"image": name, "annotations": [{"label", "coordinates": {x, y, width,
height}}]}`` with ``x``/``y`` the box centre, in pixels. Keys beyond these are kept in
``extra["createml"]``; keys starting with ``_`` there record the layout (key order, the centre as
written) so that CreateML -> CreateML gives the same JSON.

Example:
    >>> FORMAT.name, FORMAT.default_file_name
    ('createml', '_annotations.createml.json')
"""

from __future__ import annotations

from .. import FormatSpec
from .detect import detect
from .read import read
from .write import write

#: CreateML objects are boxes: polygons, masks and keypoint objects become their boxes; nothing else
#: (no label list, scores, attributes, Q&A, tags, statuses, metadata) has a place in it
HOLDS = frozenset(("box",))
WRITTEN_AS = {"polygon": "boxes", "mask": "boxes", "keypoints": "boxes"}

FORMAT = FormatSpec(
    name="createml",
    description="CreateML JSON (Apple; Roboflow's CreateML export)",
    detect=detect,
    read=read,
    write=write,
    output="file",
    default_file_name="_annotations.createml.json",
    hint_keys=frozenset(("_keys", "_coord_keys", "_center")),
    holds=HOLDS,
    written_as=WRITTEN_AS,
)
