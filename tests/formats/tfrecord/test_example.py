"""The hand Example encoder against TensorFlow's deterministic serialisation, and its decoder."""

from __future__ import annotations

import math
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from picsellia_formats.formats.tfrecord.example import decode_example, encode_example, encode_feature, pack_floats

INT64 = st.integers(min_value=-(1 << 63), max_value=(1 << 63) - 1)
KEYS = st.one_of(
    st.sampled_from(["image/object/mask", "image/object/mask/weight", "a", "", "ab", "image/encoded"]),
    st.text(max_size=12),
)
FEATURES = st.one_of(
    st.tuples(st.just("bytes"), st.lists(st.binary(max_size=300), max_size=4)),
    st.tuples(st.just("float"), st.lists(st.floats(allow_nan=False, width=64), max_size=6)),
    st.tuples(st.just("int64"), st.lists(INT64, max_size=6)),
)


def tf_example(tf, features):
    feature = {}
    for key, (kind, values) in features.items():
        if kind == "bytes":
            feature[key] = tf.train.Feature(bytes_list=tf.train.BytesList(value=values))
        elif kind == "float":
            feature[key] = tf.train.Feature(float_list=tf.train.FloatList(value=values))
        else:
            feature[key] = tf.train.Feature(int64_list=tf.train.Int64List(value=values))
    return tf.train.Example(features=tf.train.Features(feature=feature))


def _f32(v: float) -> float:
    return struct.unpack("<f", pack_floats([v]))[0]


EDGE_CASES = [
    {},
    {"a": ("float", [])},
    {"a": ("int64", []), "b": ("bytes", [])},
    {"": ("bytes", [b""]), "a": ("bytes", [b"x"])},
    {"image/object/mask": ("bytes", [b"png"]), "image/object/mask/weight": ("float", [1.0])},
    {"n": ("int64", [-1, 0, 1, 127, 128, 300, (1 << 63) - 1, -(1 << 63)])},
    {"f": ("float", [0.1, 1 / 3, 1e-45, 3.4e38, -0.0, math.inf, -math.inf, 1e39, -1e39])},
    {"u": ("bytes", ["été 猫".encode(), b"\x00\xff"])},
    {"big": ("bytes", [b"z" * 300_000])},
    {"été/猫": ("int64", [1])},
]


@pytest.mark.parametrize("features", EDGE_CASES, ids=range(len(EDGE_CASES)))
def test_edge_cases_byte_identical_to_tensorflow(tf, features):
    assert encode_example(features) == tf_example(tf, features).SerializeToString(deterministic=True)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(KEYS, FEATURES, max_size=8))
def test_random_examples_byte_identical_and_parsed_back(tf, features):
    ours = encode_example(features)
    reference = tf_example(tf, features)
    assert ours == reference.SerializeToString(deterministic=True)
    assert tf.train.Example.FromString(ours) == reference
    decoded = decode_example(ours)
    assert set(decoded) == set(features)
    for key, (kind, values) in features.items():
        got_kind, got = decoded[key]
        assert got_kind == kind
        if kind == "float":
            assert got == [_f32(v) for v in values]
        else:
            assert got == list(values)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(KEYS, FEATURES, max_size=5))
def test_decoder_reads_tensorflows_default_serialisation(tf, features):
    """Any map order (TF's default output is not deterministic) decodes the same."""
    data = tf_example(tf, features).SerializeToString()
    assert decode_example(data) == decode_example(encode_example(features))


def test_decoder_reads_unpacked_lists():
    # Int64List{value: 5, value: 300} and FloatList{value: 1.5} written unpacked (field by field)
    int_list = b"\x08\x05\x08\xac\x02"
    float_list = b"\x0d" + struct.pack("<f", 1.5)
    feature_i = b"\x1a" + bytes([len(int_list)]) + int_list
    feature_f = b"\x12" + bytes([len(float_list)]) + float_list

    def entry(key: bytes, feature: bytes) -> bytes:
        body = b"\x0a" + bytes([len(key)]) + key + b"\x12" + bytes([len(feature)]) + feature
        return b"\x0a" + bytes([len(body)]) + body

    body = entry(b"i", feature_i) + entry(b"f", feature_f)
    assert decode_example(b"\x0a" + bytes([len(body)]) + body) == {"i": ("int64", [5, 300]), "f": ("float", [1.5])}


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=200))
def test_decoder_raises_value_error_only(data):
    try:
        decode_example(data)
    except ValueError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(KEYS, FEATURES, min_size=1, max_size=4), st.data())
def test_mutated_examples_decode_or_raise_value_error(features, data):
    raw = bytearray(encode_example(features))
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(raw)))
    try:
        decode_example(bytes(raw[:cut]))
    except ValueError:
        pass


def test_encoder_refuses_bad_values():
    with pytest.raises(ValueError, match="out of range"):
        encode_feature("int64", [1 << 63])
    with pytest.raises(ValueError, match="kind"):
        encode_feature("string", [b""])
