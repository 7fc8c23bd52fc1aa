"""COCO instances (and keypoints) files, and COCO results lists, read and written without loss.

What is kept on COCO -> COCO: every image (with its id and extra fields), annotation (id,
bbox, polygon parts, RLE in its encoding, ``iscrowd``, keypoints, score, extra fields),
category (id, supercategory, keypoint names, skeleton, extra fields), ``info``, ``licenses`` and
other top-level keys. ``area`` is recomputed from the geometry on write; the source value is kept
where it is consistent with it (within 15 % or 16 px²). Captions are dropped, and said so.

Example:
    >>> ds = read("fixtures/voc_toy_cats/gts_coco_format/toy_example_coco.JSON")
    >>> len(ds), ds.num_annotations, ds.labels[0]
    (10, 12, Label(name='cat', group='none', id=0))
"""

from __future__ import annotations

from .. import FormatSpec, Option
from .read import read
from .split_files import detect
from .write import output_for, write

FORMAT = FormatSpec(
    name="coco",
    description="COCO instances/keypoints JSON and COCO results lists",
    detect=detect,
    read=read,
    write=write,
    hint_keys=frozenset(("key_order", "results", "split_files", "image_labels")),
    output_for=output_for,
    output="file",
    default_file_name="annotations.json",
    read_options=(
        Option("ground_truth", "--coco-ground-truth", "COCO instances file giving images and categories "
               "to a results list", type=str),
    ),
    write_options=(
        Option("segmentation", "--segmentation", "COCO segmentation: keep (default), rle or polygon",
               type=str, choices=("keep", "rle", "polygon")),
        Option("results", "--coco-results", "write a COCO results list (detections) instead of instances"),
        Option("category_id_start", "--category-id-start", "first category id for labels without one "
               "(default 1)", type=int),
        Option("split_files", "--coco-split-files", "write one COCO file per split tag: "
               "<output>/annotations/instances_<split>.json (the default for data read from such files)"),
    ),
)
