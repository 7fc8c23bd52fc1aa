"""Where the TFRecord writer gets each image's bytes, and the check that those bytes decode.

Two sources, both picklable so the jobs of a pool can use them:

* `FolderImages`: image files found by `images.ImageIndex` (the one lookup policy), in one or more
  folders tried in turn;
* `EmbeddedImages`: the ``image/encoded`` bytes of existing TFRecords (TFRecord -> TFRecord needs
  no images folder), located by a ``(file name, source id) -> (record file, byte offset)`` table
  built once in the main process.

`decode_problem` is the check run on every image before it is packed. By default (``fast``) a JPEG
must end with its EOI marker, else it is decoded at 1/8 scale (libjpeg's DCT scaling, Pillow
``draft``: every entropy-coded byte is still read, so a truncated file fails as it fails in
TensorFlow's ``decode_jpeg``); a PNG's chunks must all be there with their CRCs; other types are
decoded. ``full`` decodes every JPEG (1/8 scale) and PNG. Measured by
``benchmarks/bench_decode_check.py`` on the bundled fixtures (93 JPEGs of 0.17 Mpx, 8 PNGs of 0.36
Mpx), per image: ``fast`` 0.3 µs per JPEG, 0.14 ms per PNG; ``full`` 1.0 ms per JPEG, 14 ms per
PNG; against 0.08 ms (JPEG) and 0.4 ms (PNG) for the record itself (SHA-256 + encoding).

Example:
    >>> from picsellia_formats.image_header import read_file_header
    >>> path = "fixtures/real_exports/truncated_jpeg/images/cut.jpg"
    >>> data = open(path, "rb").read()
    >>> decode_problem(data, read_file_header(path)) is not None
    True
"""

from __future__ import annotations

import io
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from ...errors import FormatError
from ...image_header import HeaderInfo, max_image_pixels
from ...images import ImageIndex
from .example import decode_example
from .keys import ENCODED, FILENAME, SOURCE_ID
from .records import iter_records, record_files

#: the problem of an image file that is nowhere to be found
MISSING = "image file not found"
#: the start of the problem of an image whose bytes do not decode
BROKEN = "the image does not decode"
#: the start of the problem of an image whose header claims more pixels than the limit
TOO_LARGE = "the image is over the pixel limit"


class Found(NamedTuple):
    """An image's bytes and where they came from (a file path, or ``record file @ byte offset``)."""

    where: str
    data: bytes


class FolderImages(NamedTuple):
    """Image files under one or more folders, each searched with `ImageIndex` in turn."""

    indexes: tuple[ImageIndex, ...]

    def describe(self) -> str:
        return ", ".join(str(i.folder) for i in self.indexes) or "nowhere"

    def fetch(self, file_name: str, source_id: str, split: str | None) -> Found | None:
        """The bytes of `file_name` (its `split` a hint for the index), None when no file fits.

        Raises FormatError (several files fit: `AmbiguousImageError`), OSError (unreadable file).
        """
        del source_id
        for index in self.indexes:
            path = index.find(file_name, split)
            if path is not None:
                with open(path, "rb") as f:
                    return Found(str(path), f.read())
        return None


class EmbeddedImages(NamedTuple):
    """The images held in TFRecords: ``{file name: [(source id, record file, offset), ...]}``."""

    files: tuple[str, ...]
    table: dict[str, list[tuple[str, str, int]]]

    def describe(self) -> str:
        return "the records of " + ", ".join(self.files)

    def fetch(self, file_name: str, source_id: str, split: str | None) -> Found | None:
        """The ``image/encoded`` bytes of the record of `file_name` (and `source_id` when the
        name repeats), None when no record has it. Raises FormatError on a corrupt record."""
        del split
        entries = self.table.get(file_name)
        if not entries:
            return None
        if len(entries) > 1:
            entries = [e for e in entries if e[0] == source_id] or entries
            if len(entries) > 1:
                raise FormatError(f"{len(entries)} records hold an image named {file_name!r} with source id "
                                  f"{source_id!r}", record=f"image {file_name!r}")
        _, path, offset = entries[0]
        data = _record_at(path, offset)
        feature = decode_example(data).get(ENCODED)
        if feature is None or feature[0] != "bytes" or not feature[1] or not feature[1][0]:
            return None
        return Found(f"{path} @ byte {offset}", feature[1][0])


def _record_at(path: str, offset: int) -> bytes:
    with open(path, "rb") as f:
        f.seek(offset)
        head = f.read(12)
        n = int.from_bytes(head[:8], "little")
        data = f.read(n)
    if len(head) < 12 or len(data) < n:
        raise FormatError("truncated record", file=path, record=f"record at byte {offset}")
    return data


def embedded_images(paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> EmbeddedImages:
    """Index the images held in TFRecords (files, or folders of them).

    Example:
        >>> source = embedded_images("fixtures/raccoon_voc/data/test.record")
        >>> source.fetch("raccoon-127.jpg", "raccoon-127.jpg", None).data[:3]
        b'\\xff\\xd8\\xff'
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    files = [f for p in paths for f in record_files(p)]
    table: dict[str, list[tuple[str, str, int]]] = {}
    for f in files:
        for offset, data in iter_records(f):
            features = decode_example(data)
            name = _text(features.get(FILENAME))
            sid = _text(features.get(SOURCE_ID))
            key = name or sid
            if key:
                table.setdefault(key, []).append((sid, str(f), offset))
    return EmbeddedImages(tuple(str(f) for f in files), table)


def _text(feature: tuple[str, list] | None) -> str:
    if feature is None or feature[0] != "bytes" or not feature[1]:
        return ""
    return feature[1][0].decode("utf-8", "replace")


def is_record_source(path: str | os.PathLike[str]) -> bool:
    """Whether `path` (an ``images=`` argument) is TFRecords rather than an images folder: a record
    file, or a folder holding record files and no image file at its top."""
    from ...images import is_image
    from .records import looks_like_tfrecord

    path = Path(path)
    if path.is_file():
        return looks_like_tfrecord(path)
    if not path.is_dir():
        return False
    entries = [p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")]
    if any(is_image(p) for p in entries):
        return False
    return any(looks_like_tfrecord(p) for p in entries)


#: a PNG's last chunk, always these 12 bytes (length 0, type, CRC)
_IEND = b"\x00\x00\x00\x00IEND\xaeB`\x82"
#: what `decode_problem` checks: ``fast`` (default), ``full``, ``none``
DECODE_CHECKS = ("fast", "full", "none")


def decode_problem(data: bytes, info: HeaderInfo, check: str = "fast") -> str | None:
    """Why `data` does not decode (the decoder's words), None when it does; see the module doc.

    `check` ``fast``: a JPEG that ends with its EOI marker (after any zero or whitespace padding)
    passes at once, any other JPEG is decoded at 1/8 scale; a PNG's chunks are walked with their
    CRCs up to ``IEND`` (Pillow ``verify``); other types are decoded. ``full``: every JPEG decoded
    at 1/8 scale, every PNG walked and decompressed. ``none``: no check. Images over Pillow's own
    decompression-bomb limit (possible only when the caller raised the pixel limit) are not decoded
    here: None.
    """
    if check == "none":
        return None
    if check == "fast" and info.format == "jpeg" and data.rstrip(b"\x00 \t\r\n").endswith(b"\xff\xd9"):
        return None
    if info.format == "png" and data.rfind(_IEND) == -1:
        return "no complete IEND chunk: the PNG is truncated"
    from PIL import Image

    limit = max_image_pixels()
    if limit is not None and info.width * info.height > limit:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if info.format == "png":  # every chunk and its CRC up to IEND (libpng, in TF, wants them all)
                with Image.open(io.BytesIO(data)) as im:
                    im.verify()
                if check == "fast":
                    return None
            with Image.open(io.BytesIO(data)) as im:
                if info.format == "jpeg":
                    im.draft(im.mode if im.mode in ("L", "RGB") else None,
                             (max(1, info.width // 8), max(1, info.height // 8)))
                im.load()
    except Exception as exc:  # Pillow's decoders raise OSError, SyntaxError, ValueError, struct.error...
        return str(exc) or type(exc).__name__
    return None
