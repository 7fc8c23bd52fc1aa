"""``labelmap SRC OUT.pbtxt``."""

from __future__ import annotations

from tests.conftest import FIXTURES, run_cli


def test_label_map_of_a_coco_file(tmp_path):
    out = tmp_path / "label_map.pbtxt"
    result = run_cli("labelmap", FIXTURES / "voc_toy_cats" / "gts_coco_format" / "toy_example_coco.JSON", out)
    assert result.code == 0, result.err
    assert out.read_text() == "item {\n  id: 1\n  name: 'cat'\n}\n"


def test_label_ids_kept_on_request(tmp_path):
    out = tmp_path / "m.pbtxt"
    src = FIXTURES / "voc_toy_cats" / "gts_coco_format" / "toy_example_coco.JSON"
    # the toy COCO file's category id is 0: not a usable label-map id, so ids stay sequential
    assert run_cli("labelmap", src, out, "--label-ids", "keep").code == 0
    assert "id: 1" in out.read_text()


def test_a_label_map_is_checked_and_rewritten(tmp_path):
    src = tmp_path / "in.pbtxt"
    src.write_text("item: { name: \"b\" id: 2 } # comment\nitem < id: 1 name: 'a' >\n")
    out = tmp_path / "out.pbtxt"
    assert run_cli("labelmap", src, out).code == 0
    assert out.read_text() == "item {\n  id: 2\n  name: 'b'\n}\nitem {\n  id: 1\n  name: 'a'\n}\n"


def test_a_bad_label_map_exits_2_naming_the_line(tmp_path):
    src = tmp_path / "bad.pbtxt"
    src.write_text("item {\n  id: 0\n  name: 'cat'\n}\n")
    result = run_cli("labelmap", src, tmp_path / "out.pbtxt")
    assert result.code == 2
    assert "bad.pbtxt: line 1: id 0 is reserved for 'background', got 'cat'" in result.err
    assert "Traceback" not in result.err
    assert not (tmp_path / "out.pbtxt").exists()
