"""The rules of `picsellia_formats.outputs.policy`."""

from __future__ import annotations

from pathlib import Path

import pytest

from picsellia_formats.errors import OutputExistsError, PicselliaFormatsError
from picsellia_formats.outputs import (
    MARKER,
    check_dir,
    check_file,
    check_file_set,
    existing_set,
    file_set_matcher,
    output_dir,
    output_file,
)


def _files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def _write(out: Path, kind: str, names: list[str], **kw: bool) -> None:
    with output_dir(out, kind, **kw) as tmp:
        for name in names:
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp / name).write_text(name)


def test_our_previous_output_is_replaced_whole(tmp_path: Path) -> None:
    out = tmp_path / "o"
    _write(out, "yolo", ["labels/a.txt", "labels/b.txt", "test/x.txt"])
    _write(out, "yolo", ["labels/c.txt"])
    assert _files(out) == [MARKER, "labels/c.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o"]


def test_a_rerun_with_the_same_names_and_sizes_replaces_the_content(tmp_path: Path) -> None:
    """A label renamed to one of the same length gives files of the same names and sizes: the new
    output must still replace the old one (its swap is told apart by the marker's run id)."""
    out = tmp_path / "o"
    for text in ("cat", "dog"):
        with output_dir(out, "yolo") as tmp:
            (tmp / "classes.txt").write_text(text)
        assert (out / "classes.txt").read_text() == text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o"]


@pytest.mark.parametrize("content", [["notes.md"], ["sub/deep.txt"], [".hidden"]])
def test_a_foreign_folder_is_refused_and_untouched(tmp_path: Path, content: list[str]) -> None:
    out = tmp_path / "o"
    for name in content:
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text("mine")
    with pytest.raises(OutputExistsError, match="not an output of picsellia-formats"):
        _write(out, "yolo", ["a.txt"])
    assert _files(out) == sorted(content)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o"]
    _write(out, "yolo", ["a.txt"], overwrite=True)
    assert _files(out) == [MARKER, "a.txt"]


def test_an_empty_folder_is_written(tmp_path: Path) -> None:
    (tmp_path / "o").mkdir()
    _write(tmp_path / "o", "voc", ["a.xml"])
    assert _files(tmp_path / "o") == [MARKER, "a.xml"]


@pytest.mark.parametrize("change", ["add", "remove", "resize", "other-kind", "bad-marker"])
def test_a_changed_or_other_output_is_refused(tmp_path: Path, change: str) -> None:
    out = tmp_path / "o"
    _write(out, "yolo", ["a.txt", "b.txt"])
    kind = "yolo"
    if change == "add":
        (out / "c.txt").write_text("user")
    elif change == "remove":
        (out / "b.txt").unlink()
    elif change == "resize":
        (out / "a.txt").write_text("edited by hand")
    elif change == "other-kind":
        kind = "voc"
    else:
        (out / MARKER).write_text("{not json")
    with pytest.raises(OutputExistsError):
        check_dir(out, kind)
    check_dir(out, kind, overwrite=True)


def test_a_file_where_a_folder_goes(tmp_path: Path) -> None:
    (tmp_path / "o").write_text("x")
    with pytest.raises(PicselliaFormatsError, match="not a folder"):
        check_dir(tmp_path / "o", "yolo", overwrite=True)


def test_a_failed_write_leaves_the_previous_output(tmp_path: Path) -> None:
    out = tmp_path / "o"
    _write(out, "yolo", ["a.txt"])
    with pytest.raises(RuntimeError), output_dir(out, "yolo") as tmp:
        (tmp / "b.txt").write_text("half")
        raise RuntimeError
    assert _files(out) == [MARKER, "a.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o"]


def test_something_foreign_arriving_during_the_run_is_not_replaced(tmp_path: Path) -> None:
    out = tmp_path / "o"
    with pytest.raises(OutputExistsError), output_dir(out, "yolo") as tmp:
        (tmp / "a.txt").write_text("new")
        out.mkdir()
        (out / "theirs.txt").write_text("theirs")
    assert _files(out) == ["theirs.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o"]


@pytest.mark.parametrize("existing, overwrite, same, refused", [
    (None, False, None, False),
    (b"", False, None, False),
    (b"old", False, None, True),
    (b"old", True, None, False),
    (b"same", False, b"same", False),
    (b"same", False, b"different", True),
])
def test_file_rules(tmp_path: Path, existing: bytes | None, overwrite: bool, same: bytes | None,
                    refused: bool) -> None:
    out = tmp_path / "f.json"
    if existing is not None:
        out.write_bytes(existing)
    if refused:
        with pytest.raises(OutputExistsError, match="--overwrite"):
            check_file(out, overwrite=overwrite, same_bytes=same)
    else:
        check_file(out, overwrite=overwrite, same_bytes=same)


def test_output_file_refuses_then_replaces(tmp_path: Path) -> None:
    out = tmp_path / "f.json"
    out.write_bytes(b"old")
    with pytest.raises(OutputExistsError), output_file(out) as tmp:
        tmp.write_bytes(b"new")
    assert out.read_bytes() == b"old"
    with output_file(out, overwrite=True) as tmp:
        tmp.write_bytes(b"new")
    assert out.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.json"]


@pytest.mark.parametrize("name, any_split, accepted", [
    ("t.record", False, True),
    ("t.record-00000-of-00004", False, True),
    ("t.record-00003-of-00004", False, True),
    ("t.record-0-of-4", False, False),
    ("t.record.bak", False, False),
    ("t-train.record", False, False),
    ("t-train.record", True, True),
    ("t-val.record-00001-of-00002", True, True),
    ("other.record", True, False),
    ("label_map.pbtxt", True, False),
])
def test_file_set_names(name: str, any_split: bool, accepted: bool) -> None:
    assert file_set_matcher(Path("out/t.record"), any_split)(name) is accepted


def test_file_set_refused_unless_overwrite(tmp_path: Path) -> None:
    prefix = tmp_path / "t.record"
    check_file_set(prefix)
    (tmp_path / "t.record-00001-of-00004").write_bytes(b"x")
    (tmp_path / "unrelated.txt").write_bytes(b"x")
    with pytest.raises(OutputExistsError, match=r"t\.record-00001-of-00004"):
        check_file_set(prefix)
    check_file_set(prefix, overwrite=True)
    assert [p.name for p in existing_set(prefix)] == ["t.record-00001-of-00004"]


def test_the_working_folder_and_its_parents_are_never_replaced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "mine.txt").write_text("x")
    monkeypatch.chdir(work)
    for target in (Path("."), work, tmp_path):
        with pytest.raises(PicselliaFormatsError, match="working folder"):
            check_dir(target, "yolo", overwrite=True)
    assert (work / "mine.txt").exists()
