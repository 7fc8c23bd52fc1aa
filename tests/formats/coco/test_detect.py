"""COCO's sniffer: what it says of files that are not COCO, or cannot be read."""

from __future__ import annotations

from pathlib import Path

import pytest

from picsellia_formats.formats import _json_files as json_files
from picsellia_formats.formats.coco.detect import sniff


def test_an_unreadable_json_file_is_said_not_raised(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "annotations.json"
    path.write_text("{}")

    def denied(*args: object, **kwargs: object) -> bytes:
        raise PermissionError(13, "Permission denied")  # root reads any file: the error is simulated

    monkeypatch.setattr(json_files, "read_head", denied)
    assert sniff(path) == (0.0, "cannot read: Permission denied")


def test_a_coco_head_is_recognised_and_a_non_json_name_is_not(tmp_path: Path) -> None:
    coco = tmp_path / "a.json"
    coco.write_text('{"images": [{"id": 1, "file_name": "a.jpg"}], "annotations": [{"image_id": 1, '
                    '"category_id": 1, "bbox": [0, 0, 1, 1]}], "categories": []}')
    assert sniff(coco)[0] == 0.9
    other = tmp_path / "a.txt"
    other.write_text(coco.read_text())
    assert sniff(other) == (0.0, "a.txt is not a .json file")
