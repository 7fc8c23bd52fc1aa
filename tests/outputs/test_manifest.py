"""The folder marker: deterministic, and it notices any change of the files."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from picsellia_formats.outputs import MARKER, fingerprint, read_marker, write_marker
from picsellia_formats.outputs.manifest import is_intact

NAMES = st.lists(st.from_regex(r"[a-z]{1,6}(/[a-z]{1,6}){0,2}\.txt", fullmatch=True), min_size=0, max_size=8,
                 unique=True)


def _make(root: Path, names: list[str]) -> None:
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        if not (root / name).parent.is_dir():
            continue
        (root / name).write_text(name)


def test_same_files_same_marker_bytes(tmp_path: Path) -> None:
    for d in ("a", "b"):
        _make(tmp_path / d, ["x.txt", "sub/y.txt"])
        write_marker(tmp_path / d, "yolo")
    assert (tmp_path / "a" / MARKER).read_bytes() == (tmp_path / "b" / MARKER).read_bytes()
    assert b"time" not in (tmp_path / "a" / MARKER).read_bytes()


@settings(max_examples=60, deadline=None)
@given(names=NAMES, extra=st.from_regex(r"[a-z]{1,6}\.md", fullmatch=True))
def test_an_added_file_is_noticed(tmp_path_factory, names: list[str], extra: str) -> None:
    root = tmp_path_factory.mktemp("m")
    try:
        _make(root, names)
    except (NotADirectoryError, FileExistsError):
        return  # a name that is also a folder of another: not a tree
    write_marker(root, "t")
    marker = read_marker(root)
    assert marker is not None and is_intact(root, marker)
    (root / extra).write_text("user")
    assert not is_intact(root, marker)


def test_the_marker_is_not_counted(tmp_path: Path) -> None:
    _make(tmp_path, ["a.txt"])
    before = fingerprint(tmp_path)
    write_marker(tmp_path, "t")
    assert fingerprint(tmp_path) == before == (1, before[1])


def test_a_marker_of_someone_else_is_not_ours(tmp_path: Path) -> None:
    (tmp_path / MARKER).write_text('{"tool": "other", "kind": "x"}')
    assert read_marker(tmp_path) is None
    (tmp_path / MARKER).write_bytes(b"\xff" * 10)
    assert read_marker(tmp_path) is None
