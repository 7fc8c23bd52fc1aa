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

from collections.abc import Mapping
from typing import Any

from .. import FormatSpec, Option
from .detect import detect
from .read import read
from .write import write

#: what a COCO instances file holds; lines, points, classifications, Q&A, statuses, tags and image
#: metadata have no place in it
HOLDS = frozenset(("box", "polygon", "multipart", "mask", "keypoints", "keypoints_on_shapes", "scores",
                   "attributes", "crowd", "label_only", "label_groups"))


def holds_for(dataset: Any, options: Mapping[str, Any]) -> tuple[frozenset[str], Mapping[str, str]]:
    """A results list has no categories: labels without objects and label groups are lost."""
    results = options.get("results")
    if results is None and dataset is not None:
        results = bool(dataset.metadata.get("coco", {}).get("results"))
    return (HOLDS - {"label_only", "label_groups"} if results else HOLDS), {}


FORMAT = FormatSpec(
    name="coco",
    description="COCO instances/keypoints JSON and COCO results lists",
    detect=detect,
    read=read,
    write=write,
    hint_keys=frozenset(("key_order", "results")),
    holds=HOLDS,
    metadata_keys=frozenset(("license", "coco_url", "flickr_url", "date_captured")),
    holds_for=holds_for,
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
    ),
)
