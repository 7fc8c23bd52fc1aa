"""YOLO datasets (Ultralytics detect, segment, obb, pose and classify; Darknet / CVAT "YOLO 1.1"), read and
written through the model.

A YOLO dataset is a folder: one ``.txt`` per image, one object per row, class names in
``data.yaml`` (Ultralytics), ``classes.txt`` (Label Studio, labelImg) or ``obj.names`` (Darknet).

* Rows, by task (`parse`): ``class cx cy w h`` (detect; a 6th value is a confidence, Ultralytics
  ``save_conf``: it becomes `Annotation.score`), ``class x1 y1 x2 y2 x3 y3 ...`` (segment),
  ``class x1 y1 ... x4 y4`` (obb: a 4-point polygon whose corners may pass the image edge),
  ``class cx cy w h`` + ``kpt_shape`` keypoints (pose: ``data.yaml`` says ``kpt_shape: [N, 2|3]``, and
  ``flip_idx`` is kept). Values are fractions of the image size (``%g`` / exponent notation accepted). A
  row the declared task does not allow is an error naming the task, file and line (``--yolo-skip-bad-rows``).
* Layouts (`discover`): ``images/<split>/`` + ``labels/<split>/`` (the split becomes an asset tag),
  ``<split>/images/`` + ``<split>/labels/`` (Roboflow), ``images/`` + ``labels/``, images and ``.txt``
  side by side, labels in one folder and images in another (``Annotations/`` + ``Images/``: paired by
  name); whatever ``data.yaml`` names in ``train``/``val``/``test`` (folders, lists, ``.txt`` lists of
  images); Darknet ``obj.data`` (`darknet`); ``<split>/<class>/`` image folders (classify, `classify`).
  Image paths in lists go through `ImageIndex` (a prefix that is not a folder here costs nothing). The
  same file name in two splits stays two assets, named ``<split>/<name>`` (reported).
* No leak: with an outside images folder (``--images``) only the images a label file names are read;
  ``include_unlabelled`` (``--include-unlabelled``) adds the others, counted in the report.
* Image sizes come from the image headers (after EXIF orientation, no decode): the reader needs
  the images, and says which one is missing. Without them the writer refuses (pass ``--images``).
* Coordinates: pixel values are ``value * size``; the writer prints ``value / size`` with 14
  significant digits, and a row whose source text those digits would not reproduce keeps its
  text in ``extra["yolo"]["text"]``, so YOLO -> model -> YOLO gives back the same rows.
* Writing (`write`, `rowwriter`): Ultralytics' layout, one ``data.yaml`` with ``train`` and ``val`` always;
  a multi-part object becomes one ring joined by zero-width bridges (`merge`, as Ultralytics' converter);
  objects wholly outside their image are dropped and counted apart from those clipped.

Example:
    >>> ds = read("fixtures/labelstudio_yolo/test_import_yolo_data")
    >>> len(ds), ds.num_annotations, ds.label_names
    (7, 25, ['closed_door', 'opened_door', 'bus', 'number'])
    >>> a = ds.assets[5]
    >>> a.file_name, a.width, a.height, a.annotations[0].box
    ('img_6.jpeg', 1280, 720, (92.0, 178.0, 268.0, 415.0))
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import FormatSpec, Option
from .detect import detect
from .layout import NAME_FILES, SIZES_FILE, YAML_FILES
from .read import read
from .write import default_task, write

__all__ = ["FORMAT", "NAME_FILES", "SIZES_FILE", "YAML_FILES", "detect", "read", "write"]

#: held by every task: split tags (the writer reports other tags), the class list (labels without objects)
_ALWAYS = frozenset(("tags", "label_only"))
#: per task: (held, written in another form); per-value approximations (a mask with no traceable
#: polygon, an OBB's minimum rotated rectangle, boxes as 4-point polygons) are the writer's
_TASKS: dict[str, tuple[frozenset[str], dict[str, str]]] = {
    "detect": (frozenset(("box",)), {"polygon": "boxes", "mask": "boxes"}),
    "segment": (frozenset(("box", "polygon")),
                {"multipart": "one ring joined by zero-width bridges", "mask": "polygons"}),
    "mixed": (frozenset(("box", "polygon")),
              {"multipart": "one ring joined by zero-width bridges", "mask": "polygons"}),
    "obb": (frozenset(("box", "polygon", "multipart", "mask")), {}),
    "pose": (frozenset(("box", "keypoints", "keypoints_on_shapes")), {"polygon": "boxes", "mask": "boxes"}),
    "classify": (frozenset(("classification",)), {}),
}


def holds_for(dataset: Any, options: Mapping[str, Any]) -> tuple[frozenset[str], Mapping[str, str]]:
    """What YOLO rows hold for the writer's ``task`` (by default as `write.default_task` chooses): boxes
    (detect), one ring per object (segment), four corners (obb), box and keypoints (pose), both boxes
    and rings (mixed), image classes (classify). Scores with ``confidence`` (by default when the source
    had them; the writer reports those on rows other than boxes).

    Example:
        >>> holds, written_as = holds_for(None, {"task": "pose"})
        >>> "keypoints" in holds, written_as["polygon"]
        (True, 'boxes')
    """
    meta = (dataset.metadata.get("yolo") or {}) if dataset is not None else {}
    always = _ALWAYS
    confidence = options.get("confidence")
    if confidence is None:
        confidence = bool(meta.get("confidence"))
    task = options.get("task")
    if task is None:
        task = default_task(dataset, meta) if dataset is not None else "detect"
    if confidence and task != "classify":
        always = always | {"scores"}
    held, written_as = _TASKS.get(task, _TASKS["detect"])
    return always | held, written_as


FORMAT = FormatSpec(
    name="yolo",
    description="YOLO txt labels (detection and segmentation rows) with data.yaml / classes.txt",
    detect=detect,
    read=read,
    write=write,
    hint_keys=frozenset(("text", "names_from", "newline")),
    holds=_ALWAYS | {"box"},
    holds_for=holds_for,
    loss_hints={"scores": "confidence=True (--yolo-confidence) writes them on box rows"},
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
        Option("copy_images", "--yolo-images", "with --images: copy (default), link (hard links, else copies, "
               "reported), symlink or none",
               type=str, choices=("copy", "link", "symlink", "none")),
        Option("confidence", "--yolo-confidence", "write scores as a 6th value on box rows"),
    ),
)
