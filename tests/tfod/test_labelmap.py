"""label_map.pbtxt: writer, reader, the OD API's validation, and protobuf's text format as the judge."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from picsellia_formats.errors import FormatError
from picsellia_formats.model import Label
from picsellia_formats.tfod.labelmap import (
    LabelMapItem,
    format_label_map,
    label_map_items,
    labels_from_items,
    parse_label_map,
    read_label_map,
    write_label_map,
)
from tests.conftest import require

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
BUNDLED = sorted(FIXTURES.rglob("*.pbtxt"))


@pytest.fixture(scope="module")
def label_map_class():
    """StringIntLabelMap built at run time from its .proto description (object_detection/protos)."""
    require("tensorflow", "test", "the label map against protobuf's text format")  # TF brings protobuf
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    F = descriptor_pb2.FieldDescriptorProto
    fdp = descriptor_pb2.FileDescriptorProto(name="pf_string_int_label_map.proto", package="object_detection.protos",
                                             syntax="proto2")
    freq = fdp.enum_type.add(name="LVISFrequency")
    for i, name in enumerate(["UNSPECIFIED", "FREQUENT", "COMMON", "RARE"]):
        freq.value.add(name=name, number=i)
    item = fdp.message_type.add(name="StringIntLabelMapItem")
    kp = item.nested_type.add(name="KeypointMap")
    kp.field.add(name="id", number=1, type=F.TYPE_INT32, label=F.LABEL_OPTIONAL)
    kp.field.add(name="label", number=2, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    keypoint_map = ".object_detection.protos.StringIntLabelMapItem.KeypointMap"
    for name, number, kind, label, type_name in [
        ("name", 1, F.TYPE_STRING, F.LABEL_OPTIONAL, None),
        ("id", 2, F.TYPE_INT32, F.LABEL_OPTIONAL, None),
        ("display_name", 3, F.TYPE_STRING, F.LABEL_OPTIONAL, None),
        ("keypoints", 4, F.TYPE_MESSAGE, F.LABEL_REPEATED, keypoint_map),
        ("ancestor_ids", 5, F.TYPE_INT32, F.LABEL_REPEATED, None),
        ("descendant_ids", 6, F.TYPE_INT32, F.LABEL_REPEATED, None),
        ("frequency", 7, F.TYPE_ENUM, F.LABEL_OPTIONAL, ".object_detection.protos.LVISFrequency"),
        ("instance_count", 8, F.TYPE_INT32, F.LABEL_OPTIONAL, None),
    ]:
        field = item.field.add(name=name, number=number, type=kind, label=label)
        if type_name:
            field.type_name = type_name
    top = fdp.message_type.add(name="StringIntLabelMap")
    top.field.add(name="item", number=1, type=F.TYPE_MESSAGE, label=F.LABEL_REPEATED,
                  type_name=".object_detection.protos.StringIntLabelMapItem")
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("object_detection.protos.StringIntLabelMap"))


def protobuf_items(cls, text: str) -> list[tuple[int, str, str | None]]:
    """What the OD API's load_labelmap sees (text_format.Merge)."""
    from google.protobuf import text_format

    message = cls()
    text_format.Merge(text, message)
    return [(i.id, i.name, i.display_name if i.HasField("display_name") else None) for i in message.item]


def ours(text: str) -> list[tuple[int, str, str | None]]:
    return [(i.id, i.name, i.display_name) for i in parse_label_map(text)]


# ------------------------------------------------------------------------------------------ writing


def test_ids_from_one_in_label_order_and_background_zero():
    items = label_map_items([Label("dog"), Label("background"), Label("cat")])
    assert [(i.id, i.name) for i in items] == [(1, "dog"), (0, "background"), (2, "cat")]


def test_keep_ids_when_usable_else_sequential():
    coco = [Label("person", id=1), Label("car", id=3), Label("dog", id=18)]
    assert [i.id for i in label_map_items(coco, ids="keep")] == [1, 3, 18]
    assert [i.id for i in label_map_items([Label("a", id=0), Label("b", id=2)], ids="keep")] == [1, 2]
    assert [i.id for i in label_map_items([Label("a", id=2), Label("b", id=2)], ids="keep")] == [1, 2]
    with pytest.raises(ValueError, match="twice"):
        label_map_items(["a", "a"])


def test_display_names_carried_from_a_read_label_map(tmp_path):
    items = parse_label_map("item { id: 4 name: '/m/01g317' display_name: 'person' }")
    labels = labels_from_items(items)
    assert labels == [Label("/m/01g317", id=4, extra={"tfod": {"display_name": "person"}})]
    written = write_label_map(labels, tmp_path / "m.pbtxt", ids="keep")
    assert written == [LabelMapItem(4, "/m/01g317", "person")]
    assert (tmp_path / "m.pbtxt").read_text() == "item {\n  id: 4\n  name: '/m/01g317'\n  display_name: 'person'\n}\n"


NASTY = ["it's", 'say "hi"', "back\\slash", "tab\there", "new\nline", "bell\x07", "del\x7f", " spaced ", "été",
         "猫", "", "#not a comment", "a'b\"c\\d"]


@pytest.mark.parametrize("name", NASTY)
def test_escaped_names_round_trip_through_protobuf_and_us(label_map_class, name):
    text = format_label_map([LabelMapItem(1, name, name)])
    assert protobuf_items(label_map_class, text) == [(1, name, name)]
    assert ours(text) == [(1, name, name)]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=15), min_size=1, max_size=5, unique=True))
def test_any_names_round_trip(label_map_class, names):
    text = format_label_map(label_map_items(names))
    expected = [(i + 1, n, None) for i, n in enumerate(names)]
    if "background" in names:
        return  # ids shift; covered above
    assert protobuf_items(label_map_class, text) == expected
    assert ours(text) == expected


# ------------------------------------------------------------------------------------------ reading


@pytest.mark.parametrize("path", BUNDLED, ids=[p.name for p in BUNDLED])
def test_bundled_label_maps_read(label_map_class, path):
    items = read_label_map(path)
    assert items
    assert [(i.id, i.name, i.display_name) for i in items] == protobuf_items(label_map_class, path.read_text())


DIALECTS = [
    "item {\n  id: 1\n  name: 'cat'\n}\nitem {\n  id: 2\n  name: \"dog\"\n}\n",
    "item: { name: 'cat' id: 1 } item: { id: 2, name: 'dog' }",
    "item < id: 1; name: 'cat'; > item { name: 'd' \"o\" 'g' id: 0x2 }",
    "# header comment\nitem { # trailing\n  name: 'cat' # after a value\n  id: 1\n}\n\n\nitem{id:2 name:'dog'}",
    "item: [{ id: 1 name: 'cat' }, { id: 2 name: 'dog' }]",
    "item { id: 1 name: 'cat' keypoints { id: 0 label: 'nose' } keypoints: { id: 1 label: 'ear' } "
    "ancestor_ids: [5, 6] descendant_ids: 7 frequency: RARE instance_count: 3 }\nitem { id: 02 name: 'dog' }",
    "\ufeffitem {\r\n  id: 1\r\n  name: 'cat'\r\n}\r\nitem {\r\n  id: 2\r\n  name: 'dog'\r\n}\r\n",
    "item { id: 1 name: 'cat' } item { id: 2 name: 'dog' display_name: 'Dog' }",
    "item { id: 1 name: '\\143at' } item { id: 2 name: '\\x64og' }",
]


@pytest.mark.parametrize("text", DIALECTS, ids=range(len(DIALECTS)))
def test_every_dialect_reads_as_protobuf_reads_it(label_map_class, text):
    expected = protobuf_items(label_map_class, text.lstrip("\ufeff"))
    assert ours(text) == expected
    assert [(i, n) for i, n, _ in expected] == [(1, "cat"), (2, "dog")]


@pytest.mark.parametrize("text, line, message", [
    ("item {\n  id: 0\n  name: 'cat'\n}", 1, "id 0 is reserved for 'background', got 'cat'"),
    ("item { id: 1 name: 'a' }\nitem {\n id: 1\n name: 'b' }", 2, "duplicate id 1 ('b'; first used on line 1)"),
    ("item { id: 1 name: 'a' }\n\nitem { id: 2 name: 'a' }", 3, "duplicate name 'a' (first on line 1)"),
    ("item { id: -3 name: 'a' }", 1, "label map ids must be >= 0, got -3"),
    ("item {\n  name: 'a'\n}", 1, "item 'a' has no id"),
    ("item {\n  id: 4\n}", 1, "item has no name"),
    ("item {\n  id: 1\n  name: 'a'\n", 1, "missing '}': the block opened on this line is not closed"),
    ("item {\n  id: 1\n  nmae: 'a'\n}", 3, "an item has no field named 'nmae'"),
    ("item {\n  id: 1\n  name: 'a\n}", 3, "string not closed on its line"),
    ("item {\n  id: 1.5\n  name: 'a'\n}", 2, "id must be an integer, got '1.5'"),
    ("item {\n  id: 99999999999\n  name: 'a'\n}", 2, "out of the int32 range"),
    ("item {\n  id 1\n  name: 'a'\n}", 2, "expected ':' after 'id'"),
    ("item {\n  id: 1\n  name: cat\n}", 3, "name must be a quoted string"),
    ("item { id: 1 name: 'a' }\n}", 2, "expected a field name, got '}'"),
    ("label { id: 1 }", 1, "a label map has no field named 'label'"),
    ("item { id: 1 name: 'a' frequency: OFTEN }", 1, "frequency must be one of"),
    ("item { id: 1 name: 'a' } @", 1, "unexpected text '@'"),
])
def test_bad_label_maps_name_the_line(text, line, message):
    with pytest.raises(FormatError) as info:
        parse_label_map(text, "m.pbtxt")
    assert f"m.pbtxt: line {line}: " in str(info.value)
    assert message in str(info.value)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_unknown_escapes_kept_as_protobufs_python_text_format_keeps_them(label_map_class):
    text = "item { id: 1 name: 'a\\q' }"
    assert ours(text) == protobuf_items(label_map_class, text) == [(1, "a\\q", None)]


def test_background_id_zero_accepted_by_name_or_display_name():
    assert ours("item { id: 0 name: 'background' }") == [(0, "background", None)]
    assert ours("item { id: 0 name: 'bg' display_name: 'background' }") == [(0, "bg", "background")]


def test_all_problems_reported_at_once():
    with pytest.raises(FormatError) as info:
        parse_label_map("item { id: 0 name: 'a' }\nitem { id: 0 name: 'b' }\nitem { id: 1 name: 'c' }")
    assert len(info.value.problems) == 2


def test_not_utf8_and_missing_files(tmp_path):
    with pytest.raises(FormatError, match="not UTF-8"):
        parse_label_map(b"item { name: '\xff' }")
    with pytest.raises(FormatError, match="cannot read"):
        read_label_map(tmp_path / "missing.pbtxt")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=120))
def test_random_bytes_raise_format_error_only(data):
    try:
        parse_label_map(data)
    except FormatError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mutated_label_maps_raise_format_error_only(data):
    text = DIALECTS[data.draw(st.integers(0, len(DIALECTS) - 1))]
    chars = list(text)
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(chars) - 1))
        chars[i] = data.draw(st.sampled_from(list("{}<>[]:;,'\"\\#\n 0-x9aé")))
    try:
        parse_label_map("".join(chars))
    except FormatError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_we_accept_exactly_what_protobuf_accepts_and_validation_allows(label_map_class, data):
    """Differential: on mutated dialects, our reader and protobuf's text_format (plus the OD API's
    validation and our duplicate checks) agree on acceptance and on the items."""
    from google.protobuf import text_format

    text = DIALECTS[data.draw(st.integers(0, len(DIALECTS) - 2))].lstrip("\ufeff")
    chars = list(text)
    for _ in range(data.draw(st.integers(0, 2))):
        i = data.draw(st.integers(0, len(chars) - 1))
        chars[i] = data.draw(st.sampled_from(list("{}:;,' 0123x#\n")))
    text = "".join(chars)
    try:
        expected = protobuf_items(label_map_class, text)
    except text_format.ParseError:
        expected = None
    if expected is not None:
        ids = [i for i, _, _ in expected]
        names = [n for _, n, _ in expected]
        valid = all(i > 0 or (i == 0 and "background" in (n, d)) for i, n, d in expected)
        if not valid or len(set(ids)) != len(ids) or len(set(names)) != len(names) or not all(names):
            expected = None
    try:
        got = ours(text)
    except FormatError:
        got = None
    assert got == expected, text


@pytest.mark.parametrize(("labels", "ids", "error", "match"), [
    (["a", "b"], "random", "OptionError", "ids must be 'sequential' or 'keep'"),
    (["a", "b", "a"], "sequential", "FormatError", "'a' is listed twice"),
])
def test_label_map_items_errors_are_of_the_family(labels: list[str], ids: str, error: str, match: str) -> None:
    from picsellia_formats import errors
    from picsellia_formats.tfod.labelmap import label_map_items

    with pytest.raises(getattr(errors, error), match=match):
        label_map_items(labels, ids=ids)
