"""TFRecords of the TensorFlow Object Detection API, written and read without TensorFlow.

Modules, one job each: `records` (framing, CRC-32C, shard names, record files), `example`
(``tf.train.Example`` wire encoder/decoder, byte-identical to TensorFlow's deterministic output),
`keys` (the OD API decoder's feature keys), `jobs` (dataset -> per-image jobs), `encode` (one image
-> its Example), `sources` (image bytes: `images.ImageIndex` or embedded records; the decode
check), `write` (sharded sets, the pool), `decode` (an Example -> plain values), `read` (records
-> the model), `detect`. The label map and the pipeline config are `picsellia_formats.tfod`.

As a registry format (a folder on write): ``data.record`` (or ``data.record-{i:05d}-of-{n:05d}``
shards) and ``label_map.pbtxt``; with ``split_by_tag``, one set per split tag (``train.record``,
``val.record``, ...). Reading takes a record file, or a folder of them (with its label map when the
folder holds exactly one ``.pbtxt``). The image bytes go into the records, so writing needs the
image files (``images=``, ``--images``) or TFRecords holding them.

Example:
    >>> from pathlib import Path
    >>> FORMAT.detect(Path("fixtures/raccoon_voc/data/test.record"))[0]
    0.95
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ...errors import OptionError
from ...model import Dataset
from .. import FormatSpec, Option
from .detect import detect


def _read(path: Path, **options: Any) -> Dataset:
    from .read import read  # Pillow and numpy load only when records are read

    return read(path, **options)


def _write(dataset: Dataset, path: Path, **options: Any) -> None:
    from .write import write

    write(dataset, path, **options)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise OptionError("must be >= 1")
    return value


#: what an OD API record holds: boxes, image classes, crowd flags, Pascal attributes (the writer
#: reports others), split tags (one set per split with split_by_tag) and a label map listing every
#: label; with masks, PNG masks of polygons and masks
HOLDS = frozenset(("box", "classification", "crowd", "attributes", "tags", "label_only"))


def holds_for(dataset: Any, options: Mapping[str, Any]) -> tuple[frozenset[str], Mapping[str, str]]:
    """Polygons and masks are PNG masks with ``masks``, else their boxes; keypoint objects become boxes;
    split tags make one record set each with ``split_by_tag``, else they are lost.

    Example:
        >>> holds_for(None, {"masks": True})[1]
        {'keypoints': 'boxes'}
    """
    holds = HOLDS if options.get("split_by_tag") else HOLDS - {"tags"}
    if options.get("masks"):
        return holds | {"polygon", "multipart", "mask"}, {"keypoints": "boxes"}
    return holds, {"polygon": "boxes", "mask": "boxes", "keypoints": "boxes"}


FORMAT = FormatSpec(
    name="tfrecord",
    description="TensorFlow Object Detection API TFRecords (+ label_map.pbtxt)",
    detect=detect,
    read=_read,
    write=_write,
    output="folder",
    default_file_name="data.record",
    holds=HOLDS,
    holds_for=holds_for,
    loss_hints={"tags": "split_by_tag (--tfrecord-split-by-tag) writes one record set per split",
                "polygon": "masks=True (--tfrecord-masks) keeps them as PNG masks",
                "mask": "masks=True (--tfrecord-masks) keeps them as PNG masks"},
    read_options=(
        Option("label_map", "--tfrecord-label-map", "label_map.pbtxt naming the class ids of the records",
               type=str),
        Option("extract_images", "--tfrecord-extract-images", "write the images held in the records "
               "to this folder", type=str),
    ),
    write_options=(
        Option("shards", "--tfrecord-shards", "number of shards (default 1: one file)", type=_positive),
        Option("masks", "--tfrecord-masks", "write one PNG instance mask per object (image/object/mask)"),
        Option("split_by_tag", "--tfrecord-split-by-tag", "one record set per split tag (train, val, test)"),
        Option("label_ids", "--tfrecord-label-ids", "label-map ids: sequential (1..n, default) or keep "
               "the source's ids", type=str, choices=("sequential", "keep")),
        Option("workers", "--tfrecord-workers", "processes encoding images (default: automatic)", type=int),
        Option("skip_broken", "--skip-broken-images", "leave out (and report) images that do not decode or "
               "are over the pixel limit, instead of failing"),
    ),
)
