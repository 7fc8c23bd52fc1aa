"""TFRecord framing (``tf.io.TFRecordWriter``'s, byte for byte), shard names and record files.

Each record::

    uint64 length | uint32 masked_crc32c(length) | data | uint32 masked_crc32c(data)

Shards are named ``{prefix}-{i:05d}-of-{n:05d}`` with record ``i`` in shard ``i % n`` (the OD API
tools' round robin); one shard is the file ``prefix`` itself. `interleaved` reads a complete
sharded set back in the order it was written.

Example:
    >>> frame(b"").hex()
    '000000000000000029039807d8ea82a2'
    >>> [p.name for p in shard_paths("out/train.record", 2)]
    ['train.record-00000-of-00002', 'train.record-00001-of-00002']
"""

from __future__ import annotations

import os
import re
import struct
from collections.abc import Iterator
from pathlib import Path

import google_crc32c

from ...errors import FormatError, OptionError
from .example import Feature, decode_example

_U64 = struct.Struct("<Q")
_U32 = struct.Struct("<I")
_crc = google_crc32c.value
SHARD_PATTERN = re.compile(r"^(?P<base>.+)-(?P<i>\d{5})-of-(?P<n>\d{5})$")
#: file-name endings of record files (a shard suffix follows them)
RECORD_SUFFIXES = (".tfrecords", ".tfrecord", ".records", ".record")


def masked_crc(data: bytes) -> int:
    """TFRecord's masked CRC-32C: ``((crc >> 15) | (crc << 17)) + 0xa282ead8`` mod 2**32."""
    crc = _crc(data)
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def frame(data: bytes) -> bytes:
    """One framed record, as ``tf.io.TFRecordWriter.write`` writes it.

    Example:
        >>> frame(b"").hex()
        '000000000000000029039807d8ea82a2'
    """
    length = _U64.pack(len(data))
    return b"".join((length, _U32.pack(masked_crc(length)), data, _U32.pack(masked_crc(data))))


def iter_records(path: str | os.PathLike[str], check_crc: bool = True) -> Iterator[tuple[int, bytes]]:
    """``(byte offset, data)`` of every record of a TFRecord file (uncompressed).

    Raises FormatError naming the file, the record index and its offset on a truncated or corrupt record.
    """
    path = Path(path)
    try:
        f = open(path, "rb")
    except OSError as exc:
        raise FormatError(f"cannot read: {exc.strerror or exc}", file=path) from None
    with f:
        size = os.fstat(f.fileno()).st_size
        offset = 0
        index = 0
        while offset < size:
            where = f"record {index} (byte {offset})"
            head = f.read(12)
            if len(head) < 12:
                raise FormatError(f"truncated record header ({len(head)} of 12 bytes)", file=path,
                                  record=where)
            length = head[:8]
            if check_crc and _U32.unpack_from(head, 8)[0] != masked_crc(length):
                raise FormatError("length CRC mismatch: not a TFRecord file, or a corrupt one "
                                  "(compressed TFRecords are not supported)", file=path, record=where)
            n = _U64.unpack(length)[0]
            if n > size - offset - 16:
                raise FormatError(f"record of {n:,} bytes runs past the end of the file", file=path,
                                  record=where)
            data = f.read(n)
            tail = f.read(4)
            if len(data) < n or len(tail) < 4:
                raise FormatError("truncated record", file=path, record=where)
            if check_crc and _U32.unpack(tail)[0] != masked_crc(data):
                raise FormatError("data CRC mismatch (corrupt record)", file=path, record=where)
            yield offset, data
            offset += 16 + n
            index += 1


def looks_like_tfrecord(path: str | os.PathLike[str]) -> bool:
    """Whether a file starts with a TFRecord header whose length CRC matches (an empty file does not)."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
    except OSError:
        return False
    return len(head) == 12 and _U32.unpack_from(head, 8)[0] == masked_crc(head[:8])


def shard_paths(prefix: str | os.PathLike[str], shards: int, *, suffixed: bool = False) -> list[Path]:
    """The files of a set: ``prefix`` itself for one shard (unless `suffixed`), else
    ``{prefix}-{i:05d}-of-{n:05d}``.

    Example:
        >>> [p.name for p in shard_paths("out/train.record", 2)]
        ['train.record-00000-of-00002', 'train.record-00001-of-00002']
        >>> [p.name for p in shard_paths("out/val.record", 1, suffixed=True)]
        ['val.record-00000-of-00001']
    """
    prefix = Path(prefix)
    if shards < 1:
        raise OptionError(f"shards must be >= 1, got {shards}")
    if shards == 1 and not suffixed:
        return [prefix]
    return [prefix.with_name(f"{prefix.name}-{i:05d}-of-{shards:05d}") for i in range(shards)]


def input_path_pattern(prefix: str | os.PathLike[str], shards: int, *, suffixed: bool = False) -> str:
    """What a pipeline config's ``input_path`` should say for a set (a glob for shards)."""
    prefix = Path(prefix)
    if shards == 1 and not suffixed:
        return str(prefix)
    return str(prefix.with_name(f"{prefix.name}-?????-of-{shards:05d}"))


def split_prefix(prefix: str | os.PathLike[str], split: str) -> Path:
    """The prefix of one split's set: ``{split}`` in `prefix` is replaced by it; otherwise
    ``out/data.record`` -> ``out/data-train.record`` and ``out/data`` -> ``out/data-train``.

    Example:
        >>> split_prefix("out/data.record", "train").as_posix(), split_prefix("out/{split}.record", "val").name
        ('out/data-train.record', 'val.record')
    """
    if "{split}" in str(prefix):
        return Path(str(prefix).replace("{split}", split))
    prefix = Path(prefix)
    for suffix in (".tfrecord", ".record", ".tfrecords", ".records"):
        if prefix.name.endswith(suffix) and len(prefix.name) > len(suffix):
            return prefix.with_name(f"{prefix.name[:-len(suffix)]}-{split}{suffix}")
    return prefix.with_name(f"{prefix.name}-{split}")


def record_files(path: str | os.PathLike[str]) -> list[Path]:
    """The TFRecord files of a path: the file itself, or the record files of a folder (by name:
    ``*.record*``, ``*.tfrecord*``, ``*-?????-of-?????``; else every file with a TFRecord header)."""
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FormatError("no such file or folder", file=path)
    files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
    named = [p for p in files if ".record" in p.name or ".tfrecord" in p.name or SHARD_PATTERN.match(p.name)]
    if named:
        return named
    return [p for p in files if looks_like_tfrecord(p)]


def interleaved(files: list[Path], check_crc: bool) -> Iterator[tuple[Path, int, int, bytes]]:
    """Records of `files` as ``(file, index in file, offset, data)``; a complete sharded set is read
    round robin (record i from shard i % n), which restores the order it was written in."""
    sets: dict[tuple[Path, str, int], dict[int, Path]] = {}
    for p in files:
        m = SHARD_PATTERN.match(p.name)
        if m:
            sets.setdefault((p.parent, m["base"], int(m["n"])), {})[int(m["i"])] = p
    done: set[Path] = set()
    for p in files:
        if p in done:
            continue
        m = SHARD_PATTERN.match(p.name)
        group = sets.get((p.parent, m["base"], int(m["n"]))) if m else None
        if group is not None and len(group) == int(m["n"]) and int(m["n"]) > 1:  # type: ignore[index]
            members = [group[i] for i in range(len(group))]
            done.update(members)
            iters = [(q, iter_records(q, check_crc)) for q in members]
            counters = [0] * len(iters)
            live = list(range(len(iters)))
            while live:
                still = []
                for k in live:
                    q, it = iters[k]
                    item = next(it, None)
                    if item is None:
                        continue
                    yield q, counters[k], item[0], item[1]
                    counters[k] += 1
                    still.append(k)
                live = still
        else:
            done.add(p)
            for i, (offset, data) in enumerate(iter_records(p, check_crc)):
                yield p, i, offset, data


def features_of_records(path: str | os.PathLike[str]) -> Iterator[dict[str, Feature]]:
    """The raw feature map of every record of a file (for inspection and tests)."""
    for _, data in iter_records(path):
        yield decode_example(data)


