"""push: idempotence, resume after a kill, fault injection without duplicates, 413 splits, modes."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import picsellia_formats as pf
from picsellia_formats.errors import FormatError
from picsellia_formats.sync import Client, fetch_dataset, infer_type, push
from picsellia_formats.sync.emulator import Emulator

from .conftest import RACCOON_IMAGES, ROOT, boxes_by_file

EXPECTED_COUNTS = {"datas": 40, "datasets": 1, "versions": 1, "assets": 40, "labels": 1, "tags": 1,
                   "annotations": 40, "shapes": 44}


def _counts(emu: Emulator) -> dict[str, int]:
    counts = emu.stats()["counts"]
    counts.pop("objects")
    return counts


def _annotation_ids(client: Client, dataset: str = "raccoon", version: str = "v1") -> set[str]:
    vid = client.find_version(client.find_dataset(dataset)["id"], version)["id"]
    return set(client.annotation_ids(vid))


def test_push_creates_everything_once(emulator: Emulator, client: Client, raccoon: pf.Dataset) -> None:
    result = push(raccoon, RACCOON_IMAGES, "raccoon", "v1", tags=["batch-1"], client=client, quiet=True)
    assert (result.images, result.uploaded, result.annotations_sent, result.type) == (40, 40, 40, "OBJECT_DETECTION")
    assert _counts(emulator) == EXPECTED_COUNTS
    assert emulator.stats()["uploads"] == 40
    back, _ = fetch_dataset(client, "raccoon", "v1")
    assert boxes_by_file(back) == boxes_by_file(raccoon)
    assert all(a.tags == ["batch-1"] for a in back)


def test_second_push_changes_nothing(emulator: Emulator, client: Client, raccoon: pf.Dataset) -> None:
    push(raccoon, RACCOON_IMAGES, "raccoon", "v1", tags=["batch-1"], client=client, quiet=True)
    ids = _annotation_ids(client)
    again = push(raccoon, RACCOON_IMAGES, "raccoon", "v1", tags=["batch-1"], client=client, quiet=True)
    assert (again.uploaded, again.reused_data, again.already_in_version) == (0, 0, 40)
    assert (again.annotations_sent, again.annotations_unchanged, again.tags_attached) == (0, 40, 0)
    assert _annotation_ids(client) == ids
    assert _counts(emulator) == EXPECTED_COUNTS and emulator.stats()["uploads"] == 40


def test_changed_annotations_are_sent_again(client: Client, raccoon: pf.Dataset) -> None:
    push(raccoon, RACCOON_IMAGES, "raccoon", "v1", client=client, quiet=True)
    raccoon.assets[3].annotations[0].box = (1.0, 2.0, 30.0, 40.0)
    again = push(raccoon, RACCOON_IMAGES, "raccoon", "v1", client=client, quiet=True)
    assert (again.annotations_sent, again.annotations_unchanged) == (1, 39)
    back, _ = fetch_dataset(client, "raccoon", "v1")
    assert boxes_by_file(back) == boxes_by_file(raccoon)


def test_changed_image_replaces_the_asset(emulator: Emulator, client: Client, raccoon: pf.Dataset,
                                          tmp_path: Path) -> None:
    images = tmp_path / "images"
    shutil.copytree(RACCOON_IMAGES, images)
    push(raccoon, images, "raccoon", "v1", client=client, quiet=True)
    first = sorted(images.iterdir())
    shutil.copy(first[1], first[0])  # same name, other bytes
    again = push(raccoon, images, "raccoon", "v1", client=client, quiet=True)
    assert (again.uploaded, again.replaced, again.already_in_version) == (1, 1, 39)
    assert _counts(emulator)["assets"] == 40
    dest = tmp_path / "pulled"
    pf.sync.pull("raccoon", "v1", dest, "coco", client=client, quiet=True)
    assert (dest / "images" / first[0].name).read_bytes() == first[1].read_bytes()


@pytest.mark.parametrize("seed", [1, 2])
def test_push_under_faults_has_no_duplicates_and_misses_nothing(emulator: Emulator, client: Client,
                                                                 raccoon: pf.Dataset, seed: int) -> None:
    emulator.configure(fail_rate=0.2, fail_kinds=("500", "429", "drop"), seed=seed)
    push(raccoon, RACCOON_IMAGES, "raccoon", "v1", tags=["batch-1"], client=client, quiet=True, chunk_size=8)
    again = push(raccoon, RACCOON_IMAGES, "raccoon", "v1", tags=["batch-1"], client=client, quiet=True)
    emulator.configure(fail_rate=0.0)
    faults = emulator.stats()["faults"]
    assert all(faults[k] > 0 for k in ("500", "429", "drop")), faults
    assert _counts(emulator) == EXPECTED_COUNTS
    assert again.uploaded == 0 and again.annotations_sent == 0
    back, _ = fetch_dataset(client, "raccoon", "v1")
    assert boxes_by_file(back) == boxes_by_file(raccoon)


def test_413_splits_chunks(emulator: Emulator, client: Client, raccoon: pf.Dataset) -> None:
    emulator.configure(max_bulk_bytes=1500)
    result = push(raccoon, RACCOON_IMAGES, "raccoon", "v1", client=client, quiet=True, chunk_size=40)
    assert result.annotations_sent == 40
    assert _counts(emulator)["shapes"] == 44


def test_413_on_a_single_asset_is_an_error(emulator: Emulator, client: Client, raccoon: pf.Dataset) -> None:
    emulator.configure(max_bulk_bytes=50)
    with pytest.raises(pf.sync.SyncError, match="too large"):
        push(raccoon, RACCOON_IMAGES, "raccoon", "v1", client=client, quiet=True)


def test_keep_mode_leaves_existing_annotations(client: Client, raccoon: pf.Dataset) -> None:
    push(raccoon, RACCOON_IMAGES, "raccoon", "v1", client=client, quiet=True)
    for a in raccoon:
        a.annotations = []
    result = push(raccoon, RACCOON_IMAGES, "raccoon", "v1", client=client, quiet=True, mode="keep")
    assert result.annotations_sent == 0
    back, _ = fetch_dataset(client, "raccoon", "v1")
    assert back.num_annotations == 44


def test_concatenate_under_faults_adds_each_shape_once(emulator: Emulator, client: Client,
                                                       raccoon: pf.Dataset) -> None:
    push(raccoon, RACCOON_IMAGES, "raccoon", "v1", client=client, quiet=True)
    extra = pf.Dataset(labels=raccoon.labels, assets=[
        pf.Asset(a.file_name, a.width, a.height, [pf.Annotation("raccoon", box=(0, 0, 5, 5))]) for a in raccoon])
    emulator.configure(fail_rate=0.25, fail_kinds=("500", "drop"), seed=3)
    push(extra, RACCOON_IMAGES, "raccoon", "v1", client=client, quiet=True, mode="CONCATENATE", chunk_size=5)
    emulator.configure(fail_rate=0.0)
    back, _ = fetch_dataset(client, "raccoon", "v1")
    assert back.num_annotations == 44 + 40
    assert all(sum(x.box == (0, 0, 5, 5) for x in a.annotations) == 1 for a in back)


def test_statuses_are_pushed(client: Client, raccoon: pf.Dataset) -> None:
    raccoon.assets[0].status = "ACCEPTED"
    raccoon.assets[1].status = "REFUSED"
    push(raccoon, RACCOON_IMAGES, "raccoon", "v1", client=client, quiet=True)
    back, _ = fetch_dataset(client, "raccoon", "v1")
    statuses = {a.file_name: a.status for a in back}
    assert statuses[raccoon.assets[0].file_name] == "ACCEPTED"
    assert statuses[raccoon.assets[1].file_name] == "REFUSED"
    assert sum(s == "PENDING" for s in statuses.values()) == 38


def test_dry_run_contacts_nobody(raccoon: pf.Dataset) -> None:
    result = push(raccoon, RACCOON_IMAGES, "raccoon", "v1", dry_run=True, quiet=True)
    assert result.dry_run and result.images == 40 and result.objects == 44
    assert "nothing sent" in result.summary()


def test_missing_and_unsafe_images_are_reported_together(raccoon: pf.Dataset, tmp_path: Path) -> None:
    raccoon.assets[0].file_name = "../outside.jpg"
    raccoon.assets[1].file_name = "nowhere.jpg"
    with pytest.raises(FormatError) as err:
        push(raccoon, RACCOON_IMAGES, "raccoon", "v1", dry_run=True, quiet=True)
    text = str(err.value)
    assert "'..' is not allowed" in text and "nowhere.jpg: image file not found" in text


@pytest.mark.parametrize(("kinds", "expected"), [
    ({"box"}, "OBJECT_DETECTION"), ({"polygon"}, "SEGMENTATION"), ({"classification"}, "CLASSIFICATION"),
    ({"box", "polygon"}, "MULTI"), (set(), "NOT_CONFIGURED"),
])
def test_infer_type(kinds: set[str], expected: str) -> None:
    make = {"box": lambda: pf.Annotation("a", box=(0, 0, 1, 1)),
            "polygon": lambda: pf.Annotation("a", polygon=[[0, 0, 1, 0, 1, 1]]),
            "classification": lambda: pf.Annotation("a")}
    ds = pf.Dataset(assets=[pf.Asset("x.jpg", annotations=[make[k]() for k in sorted(kinds)])])
    assert infer_type(ds) == expected


def _settled_uploads(emulator: Emulator, quiet_for: float = 0.5) -> int:
    """The emulator's upload counter once it has not moved for `quiet_for` seconds (10x the upload delay)."""
    last, since = emulator.stats()["uploads"], time.monotonic()
    deadline = since + 30
    while time.monotonic() - since < quiet_for and time.monotonic() < deadline:
        time.sleep(0.05)
        now = emulator.stats()["uploads"]
        if now != last:
            last, since = now, time.monotonic()
    return last


def test_killed_push_resumes_without_reuploading(emulator: Emulator, raccoon_voc_dir: Path) -> None:
    emulator.configure(upload_delay=0.05)
    env = dict(os.environ, PICSELLIA_TOKEN=emulator.token, PF_SYNC_BACKOFF="0.01", PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-m", "picsellia_formats", "push", str(raccoon_voc_dir / "annotations"), "--from", "voc",
           "--images", str(raccoon_voc_dir / "images"), "--dataset", "raccoon", "--version", "v1",
           "--host", emulator.url, "--workers", "2", "--quiet"]
    proc = subprocess.Popen(cmd, env=env, cwd=raccoon_voc_dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while emulator.stats()["uploads"] < 15 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    uploads_before = _settled_uploads(emulator)  # uploads in flight at the kill still land on the server
    registered = emulator.stats()["counts"]["datas"]
    assert 15 <= uploads_before < 40 and registered < 40
    emulator.configure(upload_delay=0.0)
    done = subprocess.run(cmd, env=env, cwd=raccoon_voc_dir, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert emulator.stats()["uploads"] - uploads_before == 40 - registered
    counts = emulator.stats()["counts"]
    assert (counts["datas"], counts["assets"], counts["annotations"], counts["shapes"]) == (40, 40, 40, 44)


@pytest.mark.parametrize("kwargs", [{"mode": "MERGE"}, {"chunk_size": 0}, {"workers": 0}])
def test_bad_push_options_are_option_errors(kwargs: dict) -> None:
    from picsellia_formats.errors import OptionError
    from picsellia_formats.model import Dataset
    from picsellia_formats.sync.push import push

    with pytest.raises(OptionError):
        push(Dataset(), ".", "ds", "v1", dry_run=True, **kwargs)
