"""Atomic output and safe paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from picsellia_formats.io_utils import atomic_dir, atomic_file, safe_relative_path, staged_files


def test_atomic_file_leaves_nothing_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_file(target) as f:
        f.write(b"half")
        raise RuntimeError("boom")
    assert target.read_bytes() == b"old" and list(tmp_path.iterdir()) == [target]
    with atomic_file(target) as f:
        f.write(b"new")
    assert target.read_bytes() == b"new" and list(tmp_path.iterdir()) == [target]


def test_atomic_dir_replaces_or_keeps_the_old_folder(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with pytest.raises(RuntimeError), atomic_dir(target) as tmp:
        (tmp / "new.txt").write_text("half")
        raise RuntimeError
    assert [p.name for p in target.iterdir()] == ["old.txt"]
    with atomic_dir(target) as tmp:
        (tmp / "new.txt").write_text("new")
    assert sorted(p.name for p in target.iterdir()) == [".picsellia-formats.json", "new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize("name", ["../x.jpg", "/etc/y.jpg", "a/../../b.jpg", "C:\\\\win.jpg", "c:x.jpg",
                                  "\\\\server\\\\share\\\\z.jpg", "", "  ", "a\x00b", ".", "./"])
def test_unsafe_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError):
        safe_relative_path(name)


@pytest.mark.parametrize("name, expected", [
    ("a.jpg", "a.jpg"), ("sub/b.png", "sub/b.png"), ("./c.jpg", "c.jpg"), ("d\\\\e.jpg", "d/e.jpg"),
    ("été/ä.jpg", "été/ä.jpg"),
])
def test_safe_names_stay_inside(name: str, expected: str, tmp_path: Path) -> None:
    rel = safe_relative_path(name)
    assert rel.as_posix() == expected
    assert (tmp_path / rel).resolve().is_relative_to(tmp_path.resolve())


def test_gc_paused_restores_the_collector_and_keeps_new_objects_collectable() -> None:
    import gc
    import weakref

    from picsellia_formats.io_utils import gc_paused

    class Node:
        pass

    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        a, b = Node(), Node()
        a.other, b.other = b, a  # a cycle only the collector can free
        ref = weakref.ref(a)
    assert gc.isenabled() and gc.get_freeze_count() == 0
    del a, b
    gc.collect()
    assert ref() is None


def test_staged_files_adds_all_or_nothing_and_keeps_other_files(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.mkdir()
    (target / "mine.txt").write_text("keep")
    (target / "a.jpg").write_text("old a")
    with pytest.raises(RuntimeError), staged_files(target) as stage:
        (stage / "a.jpg").write_text("new a")
        (stage / "b.jpg").write_text("b")
        raise RuntimeError("boom")
    assert sorted(p.name for p in target.iterdir()) == ["a.jpg", "mine.txt"]
    assert (target / "a.jpg").read_text() == "old a"
    with staged_files(target) as stage:
        (stage / "a.jpg").write_text("new a")
        (stage / "sub").mkdir()
        (stage / "sub" / "c.jpg").write_text("c")
    assert sorted(p.relative_to(target).as_posix() for p in target.rglob("*")) == \
        ["a.jpg", "mine.txt", "sub", "sub/c.jpg"]
    assert (target / "a.jpg").read_text() == "new a"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no staging folder left
