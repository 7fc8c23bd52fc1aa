"""TFRecords of the TensorFlow Object Detection API as a registry format (a folder on write).

Writing a folder gives ``data.record`` (or ``data.record-{i:05d}-of-{n:05d}`` shards) and
``label_map.pbtxt``; with ``split_by_tag``, one set per split tag (``train.record``,
``val.record``, ...). Reading takes a record file, or a folder of them (with its label map when the
folder holds exactly one ``.pbtxt``). The image files are needed on write (``images=``, ``--images``)
since their bytes go into the records. See `picsellia_formats.tfod` for the details.

Example:
    >>> detect(Path("fixtures/raccoon_voc/data/test.record"))[0]
    0.95
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import FormatError, OptionError
from ..fidelity import report_foreign_fields
from ..inputs import read_input
from ..model import Dataset
from ..report import Report
from . import FormatSpec, Option

LABEL_MAP_NAME = "label_map.pbtxt"


def _plausible(path: Path) -> bool:
    """A first record length below 1 TiB (text, JSON, XML and image files start with bytes that make
    it far larger): checked before loading the TFRecord code, so detecting them does not import it."""
    try:
        head = read_input(path, 12)
    except (OSError, FormatError):
        return False
    return len(head) == 12 and int.from_bytes(head[:8], "little") < 1 << 40


def detect(path: Path) -> tuple[float, str]:
    """A file whose first record header carries a matching CRC, or a folder of record files."""
    if path.is_file() and not _plausible(path):
        return 0.0, "no TFRecord record header"
    if path.is_dir() and not any(".record" in p.name or ".tfrecord" in p.name or _plausible(p)
                                 for p in path.iterdir() if p.is_file() and not p.name.startswith(".")):
        return 0.0, "no TFRecord file in the folder"
    from ..tfod.tfrecord import looks_like_tfrecord, record_files

    if path.is_file():
        if looks_like_tfrecord(path):
            return 0.95, "starts with a TFRecord record header (its length CRC-32C matches)"
        return 0.0, "no TFRecord record header"
    if path.is_dir():
        files = [p for p in record_files(path) if looks_like_tfrecord(p)]
        if files:
            return 0.85, f"folder holds {len(files)} TFRecord file(s) ({files[0].name})"
        return 0.0, "no TFRecord file in the folder"
    return 0.0, "no such file or folder"


def _find_label_map(path: Path, report: Report) -> Path | None:
    folder = path if path.is_dir() else path.parent
    found = sorted(folder.glob("*.pbtxt"))
    if len(found) == 1:
        report.info(f"label map {found[0].name} found beside the records and used")
        return found[0]
    return None


def read(
    path: Path,
    *,
    images: Path | None = None,
    report: Report,
    label_map: str | Path | None = None,
    extract_images: str | Path | None = None,
    progress: bool = False,
) -> Dataset:
    """Read TFRecords (a file or a folder); `label_map` names the classes of records without
    ``class/text``; `extract_images` writes the embedded images to that folder."""
    from ..tfod.labelmap import read_label_map
    from ..tfod.tfrecord import read_tfrecords, record_files

    del images  # the images are inside the records
    if path.is_dir() and not record_files(path):
        raise FormatError("no TFRecord file in this folder", file=path)
    map_path = Path(label_map) if label_map is not None else _find_label_map(path, report)
    items = read_label_map(map_path) if map_path is not None else None
    return read_tfrecords(path, label_map=items, extract_images=extract_images, report=report)


def write(
    dataset: Dataset,
    path: Path,
    *,
    images: Path | None = None,
    report: Report,
    shards: int = 1,
    masks: bool = False,
    split_by_tag: bool = False,
    label_ids: str = "sequential",
    workers: int | None = None,
    progress: bool = False,
) -> None:
    """Write ``data.record`` (or one set per split) and ``label_map.pbtxt`` into the folder `path`.

    `progress`: a bar over the encoded images on stderr when it is a terminal.
    """
    report_foreign_fields(dataset, "tfrecord", report)  # other formats' fields it cannot hold
    from ..tfod.labelmap import label_map_items, write_label_map
    from ..tfod.tfrecord import labels_in_use, write_tfrecords

    if images is None:
        raise FormatError("the TFRecord writer needs the image files: pass the images folder (--images)")
    path.mkdir(parents=True, exist_ok=True)
    items = label_map_items(labels_in_use(dataset), ids=label_ids)
    prefix = path / ("{split}.record" if split_by_tag else "data.record")
    write_tfrecords(dataset, prefix, images=images, shards=shards, masks=masks, label_map=items,
                    split_by_tag=split_by_tag, workers=workers, report=report,
                    progress=progress)
    write_label_map(items, path / LABEL_MAP_NAME)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise OptionError("must be >= 1")
    return value


def _options() -> dict[str, Any]:
    return {
        "read_options": (
            Option("label_map", "--tfrecord-label-map", "label_map.pbtxt naming the class ids of the records",
                   type=str),
            Option("extract_images", "--tfrecord-extract-images", "write the images held in the records "
                   "to this folder", type=str),
        ),
        "write_options": (
            Option("shards", "--tfrecord-shards", "number of shards (default 1: one file)", type=_positive),
            Option("masks", "--tfrecord-masks", "write one PNG instance mask per object (PNG_MASKS)"),
            Option("split_by_tag", "--tfrecord-split-by-tag", "one record set per split tag (train, val, test)"),
            Option("label_ids", "--tfrecord-label-ids", "label-map ids: sequential (1..n, default) or keep "
                   "the source's ids", type=str, choices=("sequential", "keep")),
            Option("workers", "--tfrecord-workers", "processes encoding images (default: automatic)", type=int),
        ),
    }


FORMAT = FormatSpec(
    name="tfrecord",
    description="TensorFlow Object Detection API TFRecords (+ label_map.pbtxt)",
    detect=detect,
    read=read,
    write=write,
    output="folder",
    default_file_name="data.record",
    **_options(),
)
