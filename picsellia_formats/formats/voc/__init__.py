"""Pascal VOC: one XML per image, flat or in the devkit layout, read and written without loss.

Layouts read: a single ``.xml`` file; a folder of XML files (searched recursively; when the
folder holds none, its ``annotations``/``Annotations`` child); the devkit layout
(``Annotations/``, ``JPEGImages/``, ``ImageSets/Main/<split>.txt``, whose one-column lists become
asset tags). Every element the devkit, labelImg and CVAT write is kept:

* image: ``filename`` -> ``Asset.file_name``; ``size/width``, ``size/height`` -> the asset size;
  ``folder``, ``path``, ``source``, ``size/depth``, ``segmented`` and the root's XML attributes
  (labelImg's ``verified="yes"``) -> ``Asset.extra["voc"]``; unknown elements -> ``Asset.metadata``.
* object: ``name`` -> the label; ``bndbox`` -> the box; ``pose``, ``truncated``, ``difficult``,
  ``occluded``, CVAT's ``<attributes>`` entries, ``part``, ``actions`` and unknown elements ->
  ``Annotation.attributes`` (numbers as numbers, nested elements as dicts, repeated ones as lists).

Coordinates are the corners as they stand (``x = xmin``, ``w = xmax - xmin``); ``one_based=True``
applies the devkit's 1-based convention, shifting every corner by one on read and back on write.
What the model has no field for (element order, indentation, number spelling, XML declaration) is
kept in ``extra["voc"]`` so that an unchanged file is written back byte for byte; data coming from
other formats is written as a clean labelImg-style file (tab indented, integers rounded to nearest).

Example:
    >>> ds = read("fixtures/voc_toy_cats/gts_vocpascal_format", images="fixtures/voc_toy_cats/images")
    >>> len(ds), ds.num_annotations, ds.label_names
    (10, 12, ['cat'])
    >>> ds.assets[0].annotations[0].box, dict(ds.assets[0].annotations[0].attributes)
    ((1.0, 49.0, 340.0, 450.0), {'pose': 'Unspecified', 'truncated': 1, 'difficult': 0})
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import FormatSpec, Option
from .detect import detect
from .read import read
from .write import write, writes_segmentation

#: what a VOC XML holds: boxes with free attribute elements, asset metadata elements, tags (as
#: ImageSets lists in the devkit layout, as folders for split folders: the writer reports the tags
#: the flat layout cannot carry); polygons, masks and keypoint objects become their boxes
HOLDS = frozenset(("box", "attributes", "asset_metadata", "tags"))
WRITTEN_AS = {"polygon": "boxes", "mask": "boxes", "keypoints": "boxes"}


def holds_for(dataset: Any, options: Mapping[str, Any]) -> tuple[frozenset[str], Mapping[str, str]]:
    """With ``segmentation`` (by default for VOC read with the PNGs), polygons and masks are also
    painted in the devkit's PNGs.

    Example:
        >>> holds, written_as = holds_for(None, {"segmentation": True})
        >>> "mask" in holds, dict(written_as)
        (True, {'keypoints': 'boxes'})
    """
    if writes_segmentation(dataset, options.get("segmentation")):
        return HOLDS | {"polygon", "multipart", "mask"}, {"keypoints": "boxes"}
    return HOLDS, WRITTEN_AS


FORMAT = FormatSpec(
    name="voc",
    description="Pascal VOC XML (one file per image; flat folder or devkit layout)",
    detect=detect,
    read=read,
    write=write,
    hint_keys=frozenset(("order", "style", "layout", "bndbox_order", "size_order", "xml", "filename_made", "raw",
                         "render", "bndbox", "cvat", "segmentation_index", "segmentation")),
    holds=HOLDS,
    metadata_keys=frozenset(("folder", "path", "source", "depth", "segmented", "owner", "root")),
    written_as=WRITTEN_AS,
    holds_for=holds_for,
    output="folder",
    default_file_name="Annotations",
    read_options=(
        Option("one_based", "--voc-one-based", "VOC corners use the devkit's 1-based pixel convention "
               "(shift by one on read and write)"),
        Option("include_unlabelled", "--include-unlabelled", "VOC: also read the images no XML names, as "
               "assets with no objects (off: a dataset is what its XML files declare)"),
        Option("masks", "--voc-masks", "VOC devkit segmentation PNGs read as rle (default), polygon or none",
               type=str, choices=("rle", "polygon", "none")),
    ),
    write_options=(
        Option("one_based", "--voc-one-based", "VOC corners use the devkit's 1-based pixel convention "
               "(shift by one on read and write)"),
        Option("layout", "--voc-layout", "VOC output layout: flat (default) or devkit (Annotations/ + "
               "ImageSets/Main/<tag>.txt)", type=str, choices=("flat", "devkit")),
        Option("folder", "--voc-folder", "VOC <folder> text for images that have none", type=str),
        Option("segmentation", "--voc-segmentation", "VOC: also write masks and polygons as "
               "SegmentationClass/ and SegmentationObject/ palette PNGs (the default for VOC read with them)"),
    ),
)
