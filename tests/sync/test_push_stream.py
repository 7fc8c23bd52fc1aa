"""push of a stream: bounded batches, the same platform state as the in-memory push, checks before sending."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest

import picsellia_formats as pf
from picsellia_formats.errors import FormatError
from picsellia_formats.streaming.push import push_coco_stream
from picsellia_formats.sync import Client, fetch_dataset, push
from picsellia_formats.sync.emulator import Emulator, Settings

from .conftest import FAST, RACCOON_IMAGES, boxes_by_file


@pytest.fixture
def coco(tmp_path: Path, raccoon: pf.Dataset) -> Path:
    """raccoon_voc (its 40 bundled images) as a COCO file, some assets tagged and given a status."""
    for i, asset in enumerate(raccoon.assets):
        asset.tags = ["train" if i % 3 else "val"]
    raccoon.assets[5].status = "ACCEPTED"
    out = tmp_path / "raccoon.json"
    pf.write(raccoon, out, "coco")
    return out


def _state(emu: Emulator, client: Client) -> tuple:
    back, _ = fetch_dataset(client, "raccoon", "v1")
    counts = emu.stats()["counts"]
    return (counts, emu.stats()["uploads"], boxes_by_file(back), {a.file_name: sorted(a.tags) for a in back},
            {a.file_name: a.status for a in back}, [label.name for label in back.labels])


def _writes(emu: Emulator) -> Counter:
    return Counter(r for r in emu.recorder.stop() if r.method not in ("GET", "XGET"))  # XGET: a listing


@pytest.mark.parametrize("batch", [1, 7, 1000])
def test_same_platform_state_as_the_in_memory_push(tmp_path: Path, coco: Path, batch: int) -> None:
    states, results, writes = [], [], []
    for name in ("memory", "stream"):
        with Emulator(tmp_path / name, settings=Settings(retry_after=0.01, seed=7)) as emu, \
                Client(emu.url, emu.token, retry=FAST, env_file=None) as client:
            emu.recorder.start()
            options = {"tags": ["batch-1"], "client": client, "quiet": True}
            if name == "memory":
                r = push(pf.read(coco, "coco"), RACCOON_IMAGES, "raccoon", "v1", **options)
            else:
                r = push_coco_stream(coco, RACCOON_IMAGES, "raccoon", "v1", batch=batch, **options)
            writes.append(_writes(emu))
            states.append(_state(emu, client))
            results.append(r)
    assert states[0] == states[1]
    memory, streamed = results
    for key in ("images", "objects", "labels", "uploaded", "type", "annotations_sent", "tags_attached"):
        assert getattr(streamed, key) == getattr(memory, key), key
    assert streamed.report.to_dict() == memory.report.to_dict()
    if batch >= 40:  # one batch: the same writes, request for request (the listings are per batch)
        assert writes[0] == writes[1]


def test_second_streamed_push_changes_nothing(emulator: Emulator, client: Client, coco: Path) -> None:
    push_coco_stream(coco, RACCOON_IMAGES, "raccoon", "v1", client=client, batch=9, quiet=True)
    before = _state(emulator, client)
    again = push_coco_stream(coco, RACCOON_IMAGES, "raccoon", "v1", client=client, batch=9, quiet=True)
    assert (again.uploaded, again.already_in_version, again.annotations_sent) == (0, 40, 0)
    assert again.annotations_unchanged == 40
    assert _state(emulator, client) == before


def test_a_broken_image_in_a_late_batch_stops_before_anything_is_sent(emulator: Emulator, client: Client,
                                                                     coco: Path, tmp_path: Path) -> None:
    images = tmp_path / "images"
    shutil.copytree(RACCOON_IMAGES, images)
    last = sorted(images.iterdir())[-1]
    last.write_bytes(b"not an image")
    (images / sorted(p.name for p in images.iterdir())[0]).unlink()
    with pytest.raises(FormatError) as err:
        push_coco_stream(coco, images, "raccoon", "v1", client=client, batch=4, quiet=True)
    assert "not found" in str(err.value) and "not a readable image" in str(err.value)
    assert emulator.stats()["uploads"] == 0 and emulator.stats()["counts"]["datasets"] == 0


def test_dry_run_plan_equals_the_in_memory_plan(coco: Path) -> None:
    memory = push(pf.read(coco, "coco"), RACCOON_IMAGES, "raccoon", "v1", dry_run=True, quiet=True)
    streamed = push_coco_stream(coco, RACCOON_IMAGES, "raccoon", "v1", dry_run=True, batch=6, quiet=True)
    assert streamed.summary() == memory.summary()
    assert streamed.report.to_dict() == memory.report.to_dict()


def test_cli_stream_push(emulator: Emulator, coco: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conftest import run_cli

    monkeypatch.setenv("PICSELLIA_TOKEN", emulator.token)
    result = run_cli("push", coco, "--dataset", "raccoon", "--version", "v1", "--images", RACCOON_IMAGES,
                     "--host", emulator.url, "--stream", "--batch", "11", "-q")
    assert result.code == 0, result.err
    assert emulator.stats()["counts"]["assets"] == 40
    refused = run_cli("push", RACCOON_IMAGES.parent / "annotations", "--dataset", "r", "--version", "v1",
                      "--stream", "--dry-run")
    assert refused.code == 2 and "--stream" in refused.err


def test_the_versions_other_assets_are_reported_as_in_memory(tmp_path: Path, coco: Path) -> None:
    """A version already holding assets the pushed dataset does not name: both pushes say how many."""
    reports = []
    for name in ("memory", "stream"):
        with Emulator(tmp_path / name, settings=Settings(retry_after=0.01, seed=7)) as emu, \
                Client(emu.url, emu.token, retry=FAST, env_file=None) as client:
            whole = pf.read(coco, "coco")
            push(whole, RACCOON_IMAGES, "raccoon", "v1", client=client, quiet=True)  # 40 assets
            part = tmp_path / f"{name}.json"
            pf.write(pf.Dataset(whole.labels, whole.assets[:25]), part, "coco")
            options = {"client": client, "quiet": True}
            if name == "memory":
                r = push(pf.read(part, "coco"), RACCOON_IMAGES, "raccoon", "v1", **options)
            else:
                r = push_coco_stream(part, RACCOON_IMAGES, "raccoon", "v1", batch=7, **options)
            reports.append(r.report)
    line = "assets of the version that are not in the pushed dataset, left as they are"
    assert [r.count("info", line) for r in reports] == [15, 15]
