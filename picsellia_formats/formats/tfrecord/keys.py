"""The feature keys of the OD API's ``TfExampleDecoder`` that this package writes and reads.

Example:
    >>> XMIN in KNOWN_KEYS, "image/object/keypoint/x" in KNOWN_KEYS
    (True, False)
"""

from __future__ import annotations

ENCODED = "image/encoded"
FORMAT = "image/format"
HEIGHT = "image/height"
WIDTH = "image/width"
FILENAME = "image/filename"
SOURCE_ID = "image/source_id"
SHA256 = "image/key/sha256"
XMIN, XMAX = "image/object/bbox/xmin", "image/object/bbox/xmax"
YMIN, YMAX = "image/object/bbox/ymin", "image/object/bbox/ymax"
CLASS_TEXT = "image/object/class/text"
CLASS_LABEL = "image/object/class/label"
IS_CROWD = "image/object/is_crowd"
AREA = "image/object/area"
DIFFICULT = "image/object/difficult"
TRUNCATED = "image/object/truncated"
VIEW = "image/object/view"
MASK = "image/object/mask"
IMAGE_CLASS_TEXT = "image/class/text"
IMAGE_CLASS_LABEL = "image/class/label"

#: keys this module writes or interprets; any other key is carried through ``extra["tfod"]``
KNOWN_KEYS = frozenset((ENCODED, FORMAT, HEIGHT, WIDTH, FILENAME, SOURCE_ID, SHA256, XMIN, XMAX, YMIN, YMAX,
                        CLASS_TEXT, CLASS_LABEL, IS_CROWD, AREA, DIFFICULT, TRUNCATED, VIEW, MASK,
                        IMAGE_CLASS_TEXT, IMAGE_CLASS_LABEL))
#: types the OD API decoder is built to decode (others are passed through and reported)
DECODABLE = frozenset(("jpeg", "png"))
