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
from .read import read
from .split_files import detect, split_tags_written
from .write import output_for, write

#: what a COCO instances file holds; lines, points, classifications, Q&A, statuses, tags and image
#: metadata have no place in it
HOLDS = frozenset(("box", "polygon", "multipart", "mask", "keypoints", "keypoints_on_shapes", "scores",
                   "attributes", "crowd", "label_only", "label_groups"))


def holds_for(dataset: Any, options: Mapping[str, Any]) -> tuple[frozenset[str], Mapping[str, str]]:
    """A results list has no categories: labels without objects and label groups are lost. A dataset
    read from COCO image labels writes its classifications back as such; split tags written as split
    file names leave the other tags to the writer (`split_files.split_tags_written`).

    Example:
        >>> from picsellia_formats.model import Dataset
        >>> holds, _ = holds_for(Dataset(metadata={"coco": {"image_labels": True}}), {})
        >>> "classification" in holds, "tags" in holds
        (True, False)
    """
    meta = (dataset.metadata.get("coco") or {}) if dataset is not None else {}
    results = options.get("results")
    if results is None:
        results = bool(meta.get("results"))
    holds = HOLDS - {"label_only", "label_groups"} if results else HOLDS
    if meta.get("image_labels") and not results:
        holds |= {"classification"}
    if split_tags_written(dataset, options.get("split_files")):
        holds |= {"tags"}
    return holds, {}


FORMAT = FormatSpec(
    name="coco",
    description="COCO instances/keypoints JSON and COCO results lists",
    detect=detect,
    read=read,
    write=write,
    hint_keys=frozenset(("key_order", "results", "split_files", "image_labels")),
    holds=HOLDS,
    metadata_keys=frozenset(("license", "coco_url", "flickr_url", "date_captured")),
    holds_for=holds_for,
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
