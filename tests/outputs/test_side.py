"""Side outputs are put in place only when the whole operation succeeds."""

from __future__ import annotations

from pathlib import Path

import pytest

from picsellia_formats.errors import OutputExistsError
from picsellia_formats.outputs import MARKER, output_dir, side_output_dir, transaction


def test_committed_with_the_transaction(tmp_path: Path) -> None:
    with transaction():
        with side_output_dir(tmp_path / "img", "extracted images") as tmp:
            (tmp / "a.jpg").write_bytes(b"x")
        assert not (tmp_path / "img").exists()  # not before the end
        with output_dir(tmp_path / "out", "yolo") as tmp:
            (tmp / "a.txt").write_text("0")
    assert (tmp_path / "img" / "a.jpg").exists() and (tmp_path / "out" / "a.txt").exists()


def test_discarded_when_the_transaction_fails(tmp_path: Path) -> None:
    with pytest.raises(KeyError), transaction():
        with side_output_dir(tmp_path / "img", "extracted images") as tmp:
            (tmp / "a.jpg").write_bytes(b"x")
        raise KeyError
    assert list(tmp_path.iterdir()) == []


def test_outside_a_transaction_it_is_committed_at_once(tmp_path: Path) -> None:
    with side_output_dir(tmp_path / "img", "extracted images") as tmp:
        (tmp / "a.jpg").write_bytes(b"x")
    assert sorted(p.name for p in (tmp_path / "img").iterdir()) == [MARKER, "a.jpg"]


def test_a_foreign_folder_is_refused_unless_the_transaction_overwrites(tmp_path: Path) -> None:
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "holiday.jpg").write_bytes(b"mine")
    with pytest.raises(OutputExistsError), transaction(), side_output_dir(tmp_path / "img", "extracted images"):
        pass
    assert [p.name for p in (tmp_path / "img").iterdir()] == ["holiday.jpg"]
    with transaction(overwrite=True), side_output_dir(tmp_path / "img", "extracted images") as tmp:
        (tmp / "a.jpg").write_bytes(b"x")
    assert sorted(p.name for p in (tmp_path / "img").iterdir()) == [MARKER, "a.jpg"]


def test_nested_transactions_join_the_outer(tmp_path: Path) -> None:
    with pytest.raises(ValueError), transaction():
        with transaction(), side_output_dir(tmp_path / "img", "extracted images") as tmp:
            (tmp / "a.jpg").write_bytes(b"x")
        raise ValueError
    assert list(tmp_path.iterdir()) == []
