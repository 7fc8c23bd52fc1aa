"""Issue 19 items 13 and 17 (pull): platform data of the wrong shape or type never crashes a pull or
reaches the output files.

- ``"width": "64px"`` was written into the pulled COCO file as it stood;
- one file name over 255 bytes aborted the whole pull (ENAMETOOLONG on the first write);
- an asset listing of the wrong shape (a list for ``data``, no ``filename``...) was exit 3.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import picsellia_formats as pf
from picsellia_formats.sync import Client, SyncError, pull, push

from .conftest import RACCOON_IMAGES


def _tamper(client: Client, monkeypatch: pytest.MonkeyPatch, change: Callable[[int, dict[str, Any]], Any]) -> None:
    """Make the asset listing answer `change(i, asset)` for its i-th asset, as a hostile platform could."""
    real = client.paginate

    def paginate(path: str, *args: Any, **kwargs: Any) -> Iterator[Any]:
        for i, item in enumerate(real(path, *args, **kwargs)):
            yield change(i, item) if path.endswith("/assets") else item

    monkeypatch.setattr(client, "paginate", paginate)


@pytest.fixture
def pushed(client: Client, raccoon: pf.Dataset) -> pf.Dataset:
    raccoon.assets = raccoon.assets[:4]
    push(raccoon, RACCOON_IMAGES, "raccoon", "v1", client=client, quiet=True)
    return raccoon


def test_sizes_that_are_not_integers_are_dropped_and_reported(client: Client, pushed: pf.Dataset, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    def change(i: int, asset: dict[str, Any]) -> dict[str, Any]:
        if i == 0:
            asset["data"]["meta"] = {**(asset["data"].get("meta") or {}), "width": "64px", "height": True}
        return asset

    _tamper(client, monkeypatch, change)
    result = pull("raccoon", "v1", tmp_path / "out", "coco", images=False, client=client, quiet=True)
    images = json.loads((tmp_path / "out" / "annotations.json").read_text())["images"]
    assert all(isinstance(im.get("width", 0), int) and not isinstance(im.get("height", 0), bool) for im in images)
    assert "64px" not in (tmp_path / "out" / "annotations.json").read_text()
    assert result.report.count("dropped", "image sizes from the platform that are not positive integers") == 1


def test_one_name_over_255_bytes_is_dropped_not_the_whole_pull(client: Client, pushed: pf.Dataset, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    long_name = "é" * 130 + ".jpg"  # 264 bytes in UTF-8, 134 characters

    def change(i: int, asset: dict[str, Any]) -> dict[str, Any]:
        if i == 1:
            asset["data"]["filename"] = long_name
        return asset

    _tamper(client, monkeypatch, change)
    result = pull("raccoon", "v1", tmp_path / "out", "voc", client=client, quiet=True)
    assert result.assets == len(pushed.assets) - 1
    assert result.report.count("dropped", "assets whose file name is longer than 255 bytes") == 1
    assert len(list((tmp_path / "out" / "images").iterdir())) == len(pushed.assets) - 1


@pytest.mark.parametrize("answer", [
    lambda a: {**a, "data": []},
    lambda a: {k: v for k, v in a.items() if k != "data"},
    lambda a: [a],
    lambda a: {**a, "data": {**a["data"], "meta": ["w", 1]}},
    lambda a: {**a, "tags": [1, 2]},
], ids=["data-list", "no-data", "asset-list", "meta-list", "tags-not-objects"])
def test_an_answer_of_the_wrong_shape_is_a_sync_error_and_exit_2(client: Client, pushed: pf.Dataset,
                                                                 tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 answer: Callable[[Any], Any]) -> None:
    _tamper(client, monkeypatch, lambda i, a: answer(a) if i == 0 else a)
    with pytest.raises(SyncError, match=r"dataset 'raccoon' version 'v1': the platform's answer has an unexpected"):
        pull("raccoon", "v1", tmp_path / "out", "coco", images=False, client=client, quiet=True)
    assert not (tmp_path / "out").exists()
    assert isinstance(SyncError("x"), pf.PicselliaFormatsError)  # what the CLI turns into exit 2


@pytest.mark.parametrize("answer", [[], {"items": "x"}, "text"], ids=["list", "items-str", "str"])
def test_a_push_meeting_a_wrongly_shaped_answer_is_a_sync_error(client: Client, raccoon: pf.Dataset,
                                                                monkeypatch: pytest.MonkeyPatch, answer: Any) -> None:
    raccoon.assets = raccoon.assets[:2]
    monkeypatch.setattr(client, "get_or_create_dataset", lambda name: answer)
    with pytest.raises(SyncError, match=r"dataset 'raccoon' version 'v1': the platform's answer has an unexpected"):
        push(raccoon, RACCOON_IMAGES, "raccoon", "v1", client=client, quiet=True)


def test_shapes_no_file_can_hold_are_dropped_and_counted(client: Client, pushed: pf.Dataset, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    # issue 19 item 10 on the pull side: a mask whose RLE does not cover the image was written to COCO as is
    import importlib

    from picsellia_formats.model import Annotation, Mask

    pull_module = importlib.import_module("picsellia_formats.sync.pull")

    real = pull_module.shapes.from_platform

    def from_platform(item: Any, width: Any, height: Any) -> list[Annotation]:
        out = real(item, width, height)
        return [*out, Annotation("raccoon", mask=Mask(height, width, "14")), Annotation("raccoon", box=("1", 2, 3, 4)),
                Annotation("raccoon", polygon=[[0, 0, float("nan"), 1, 2, 2]])]

    monkeypatch.setattr(pull_module.shapes, "from_platform", from_platform)
    result = pull("raccoon", "v1", tmp_path / "out", "coco", images=False, client=client, quiet=True)
    n = len(pushed.assets)
    assert result.report.count("dropped", "masks whose RLE does not fit the image (from the platform)") == n
    bad_numbers = "shapes whose coordinates are not finite numbers (from the platform)"
    assert result.report.count("dropped", bad_numbers) == 2 * n
    back = pf.read(tmp_path / "out" / "annotations.json", "coco")  # our own reader takes what pull wrote
    assert back.num_annotations == pushed.num_annotations
