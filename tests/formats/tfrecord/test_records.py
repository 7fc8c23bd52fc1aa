"""TFRecord framing and shard names: TensorFlow's own writer is the reference."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from picsellia_formats.formats.tfrecord.records import frame, iter_records, masked_crc, shard_paths, split_prefix

F32 = np.float32


def _f32(x: float) -> float:
    return struct.unpack("<f", struct.pack("<f", x))[0]



def test_crc32c_check_value_and_mask():
    import google_crc32c

    assert google_crc32c.value(b"123456789") == 0xE3069283
    # the masked CRC of the 8 zero bytes of an empty record's length, as TensorFlow writes it
    assert frame(b"")[8:12] == struct.pack("<I", masked_crc(b"\x00" * 8))


@pytest.mark.parametrize("payload", [b"", b"x", b"\x00" * 127, b"\xff" * 128, bytes(range(256)) * 1200])
def test_framing_equals_tf_record_writer(tf, tmp_path, payload):
    ours = tmp_path / "ours.record"
    ours.write_bytes(frame(payload) + frame(payload[::-1]))
    theirs = tmp_path / "tf.record"
    with tf.io.TFRecordWriter(str(theirs)) as w:
        w.write(payload)
        w.write(payload[::-1])
    assert ours.read_bytes() == theirs.read_bytes()
    assert [d for _, d in iter_records(theirs)] == [payload, payload[::-1]]


def test_split_prefix_and_shard_paths():
    assert split_prefix("o/x.tfrecord", "val").name == "x-val.tfrecord"
    assert split_prefix("o/x", "val").name == "x-val"
    assert [p.name for p in shard_paths("o/x", 1)] == ["x"]
    with pytest.raises(ValueError):
        shard_paths("o/x", 0)
