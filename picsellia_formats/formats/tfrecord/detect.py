"""Is it TFRecords? A file whose first record header carries a matching length CRC, or a folder of them.

Text, JSON, XML and image files start with bytes that read as a first record length far beyond
1 TiB, so they are turned down before any CRC is computed.

Example:
    >>> from pathlib import Path
    >>> detect(Path("fixtures/raccoon_voc/data/test.record"))[0]
    0.95
"""

from __future__ import annotations

from pathlib import Path


def _plausible(path: Path) -> bool:
    """A first record length below 1 TiB."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
    except OSError:
        return False
    return len(head) == 12 and int.from_bytes(head[:8], "little") < 1 << 40


def detect(path: Path) -> tuple[float, str]:
    """``(confidence, reason)``: 0.95 for a record file, 0.85 for a folder of them, else 0."""
    if path.is_file() and not _plausible(path):
        return 0.0, "no TFRecord record header"
    if path.is_dir() and not any(".record" in p.name or ".tfrecord" in p.name or _plausible(p)
                                 for p in path.iterdir() if p.is_file() and not p.name.startswith(".")):
        return 0.0, "no TFRecord file in the folder"
    from .records import looks_like_tfrecord, record_files  # google_crc32c loads only when it may be one

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
