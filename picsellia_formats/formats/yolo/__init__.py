"""YOLO text labels (detection and segmentation rows), read and written through the model.

A YOLO dataset is a folder: one ``.txt`` per image, one object per row, class names in
``data.yaml`` (Ultralytics), ``classes.txt`` (Label Studio, labelImg) or ``obj.names`` (Darknet).

* Rows: ``class cx cy w h`` (detection), ``class cx cy w h conf`` (a prediction, Ultralytics
  ``save_conf``: the confidence becomes `Annotation.score`), or ``class x1 y1 x2 y2 x3 y3 ...``
  (segmentation: an odd count >= 7). Every value is normalised to [0, 1] by the image size.
* Layouts: ``images/<split>/`` + ``labels/<split>/`` (the split becomes an asset tag),
  ``<split>/images/`` + ``<split>/labels/`` (Roboflow), ``images/`` + ``labels/``, or images and
  ``.txt`` side by side; or whatever ``data.yaml`` names in ``train``/``val``/``test`` (folders,
  lists of folders, ``.txt`` files listing images). An image pairs with its label file by stem,
  whatever its extension; an image without a label file (or with an empty one) has no objects.
* Image sizes come from the image headers (after EXIF orientation, no decode): the reader needs
  the images, and says which one is missing.
* Coordinates: pixel values are ``value * size``; the writer prints ``value / size`` with 14
  significant digits, and a row whose source text those digits would not reproduce keeps its
  text in ``extra["yolo"]["text"]``, so YOLO -> model -> YOLO gives back the same rows.

Example:
    >>> ds = read("fixtures/labelstudio_yolo/test_import_yolo_data")
    >>> len(ds), ds.num_annotations, ds.label_names
    (7, 25, ['closed_door', 'opened_door', 'bus', 'number'])
    >>> a = ds.assets[5]
    >>> a.file_name, a.width, a.height, a.annotations[0].box
    ('img_6.jpeg', 1280, 720, (92.0, 178.0, 268.0, 415.0))
"""

from __future__ import annotations

from .. import FormatSpec, Option
from .detect import detect
from .layout import NAME_FILES, SIZES_FILE, YAML_FILES
from .read import read
from .write import write

__all__ = ["FORMAT", "NAME_FILES", "SIZES_FILE", "YAML_FILES", "detect", "read", "write"]

FORMAT = FormatSpec(
    name="yolo",
    description="YOLO txt labels (detection and segmentation rows) with data.yaml / classes.txt",
    detect=detect,
    read=read,
    write=write,
    hint_keys=frozenset(("text", "names_from", "newline")),
    output="folder",
    default_file_name="",
    read_options=(
        Option("skip_bad_rows", "--yolo-skip-bad-rows", "skip bad YOLO rows (each one reported) instead "
               "of failing"),
        Option("include_unlabelled", "--include-unlabelled", "with --images: also add the images that no "
               "label file names, as empty images (reported with their count)"),
        Option("task", "--yolo-read-task", "the Ultralytics task the rows must follow; default: pose with "
               "kpt_shape, else each row by its value count", type=str,
               choices=("detect", "segment", "obb", "pose", "classify")),
    ),
    write_options=(
        Option("task", "--yolo-task", "YOLO output: detect (boxes), segment (polygons), obb (4 corners), "
               "pose (box + keypoints), classify (class folders of images) or mixed; default: the source's "
               "YOLO task, else pose with keypoints, segment with polygons or masks, else detect", type=str,
               choices=("detect", "segment", "obb", "pose", "classify", "mixed")),
        Option("copy_images", "--yolo-images", "with --images: copy (default), link (hard links), symlink or "
               "none", type=str, choices=("copy", "link", "symlink", "none")),
        Option("confidence", "--yolo-confidence", "write scores as a 6th value on box rows"),
    ),
)
