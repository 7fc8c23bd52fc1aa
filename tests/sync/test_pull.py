"""pull: round trips through the emulator (COCO and VOC), resume, checksums, status filter, unsafe names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import picsellia_formats as pf
from picsellia_formats.sync import Client, SyncError, fetch_dataset, pull, push
from picsellia_formats.sync.emulator import Emulator

from .conftest import RACCOON_IMAGES, boxes_by_file


def _same_images(dest: Path, names: list[str]) -> None:
    for name in names:
        assert (dest / "images" / name).read_bytes() == (RACCOON_IMAGES / name).read_bytes(), name


@pytest.mark.parametrize("fmt", ["coco", "voc"])
def test_push_then_pull_is_exact(client: Client, raccoon: pf.Dataset, tmp_path: Path, fmt: str) -> None:
    push(raccoon, RACCOON_IMAGES, "raccoon", "v1", client=client, quiet=True)
    dest = tmp_path / f"pulled-{fmt}"
    result = pull("raccoon", "v1", dest, fmt, client=client, quiet=True)
    assert (result.assets, result.objects, result.downloaded) == (40, raccoon.num_annotations, 40)
    back = pf.read(dest / "annotations.json" if fmt == "coco" else dest, fmt)
    assert boxes_by_file(back) == boxes_by_file(raccoon)
    assert back.label_names == ["raccoon"]
    assert {(a.file_name, a.width, a.height) for a in back} == {(a.file_name, a.width, a.height) for a in raccoon}
    _same_images(dest, [a.file_name for a in raccoon])
    assert not list(dest.rglob("*.pf-part")) and not (dest / ".pf-pull").exists()


def test_voc_attributes_survive_the_platform(client: Client, raccoon: pf.Dataset, tmp_path: Path) -> None:
    push(raccoon, RACCOON_IMAGES, "raccoon", "v1", client=client, quiet=True)
    back, _ = fetch_dataset(client, "raccoon", "v1")
    theirs = {a.file_name: sorted(repr(sorted(x.attributes.items())) for x in a.annotations) for a in back}
    mine = {a.file_name: sorted(repr(sorted(x.attributes.items())) for x in a.annotations) for a in raccoon}
    assert theirs == mine


def test_pull_resumes_and_checks_what_is_there(client: Client, raccoon: pf.Dataset, tmp_path: Path) -> None:
    push(raccoon, RACCOON_IMAGES, "raccoon", "v1", client=client, quiet=True)
    dest = tmp_path / "out"
    pull("raccoon", "v1", dest, "coco", client=client, quiet=True)
    names = sorted(a.file_name for a in raccoon)
    (dest / "images" / names[0]).unlink()                                  # missing
    (dest / "images" / names[1]).write_bytes(b"corrupt")                    # wrong bytes
    full = (RACCOON_IMAGES / names[2]).read_bytes()
    (dest / "images" / names[2]).unlink()
    data_id = fetch_dataset(client, "raccoon", "v1")[1][names[2]]["id"]
    (dest / ".pf-pull").mkdir()
    (dest / ".pf-pull" / f"{data_id}.part").write_bytes(full[:1000])        # a cut download
    again = pull("raccoon", "v1", dest, "coco", client=client, quiet=True)
    assert (again.downloaded, again.already_there) == (3, 37)
    _same_images(dest, names)
    assert not list(dest.rglob("*.pf-part")) and not (dest / ".pf-pull").exists()


def test_no_images_writes_annotations_only(client: Client, raccoon: pf.Dataset, tmp_path: Path) -> None:
    push(raccoon, RACCOON_IMAGES, "raccoon", "v1", client=client, quiet=True)
    result = pull("raccoon", "v1", tmp_path / "o", "coco", images=False, client=client, quiet=True)
    assert result.downloaded == 0 and not (tmp_path / "o" / "images").exists()
    assert boxes_by_file(pf.read(tmp_path / "o" / "annotations.json")) == boxes_by_file(raccoon)


def test_status_filter_keeps_only_that_status(client: Client, raccoon: pf.Dataset, tmp_path: Path) -> None:
    accepted = {a.file_name for a in raccoon.assets[:7]}
    for a in raccoon.assets:
        a.status = "ACCEPTED" if a.file_name in accepted else None
    push(raccoon, RACCOON_IMAGES, "raccoon", "v1", client=client, quiet=True)
    result = pull("raccoon", "v1", tmp_path / "o", "coco", status="accepted", client=client, quiet=True)
    back = pf.read(tmp_path / "o" / "annotations.json")
    assert {a.file_name for a in back} == accepted and result.downloaded == 7


def test_missing_dataset_or_version_is_a_clear_error(client: Client, raccoon: pf.Dataset, tmp_path: Path) -> None:
    with pytest.raises(SyncError, match="dataset 'nope' not found"):
        pull("nope", "v1", tmp_path / "o", "coco", client=client, quiet=True)
    push(pf.Dataset(), tmp_path, "there", "v1", client=client, quiet=True)
    with pytest.raises(SyncError, match="has no version 'v9'"):
        pull("there", "v9", tmp_path / "o", "coco", client=client, quiet=True)


_STORES: dict[str, Any] = {}


@pytest.fixture(autouse=True)
def _stores(emulator: Emulator) -> None:
    _STORES[emulator.url] = emulator.store


def _plant(client: Client, version_id: str, filename: str, content: bytes) -> None:
    """Put data with an arbitrary (possibly hostile) file name into a version, as another client could."""
    object_name = client.generate_object_name("x.jpg")
    client.upload_object(object_name, content, "image/jpeg")
    data = client.register_data({"type": "IMAGE", "filename": "x.jpg", "object_name": object_name,
                                 "content_type": "image/jpeg", "meta": {"width": 650, "height": 417}})
    # the platform refuses such names from the SDK; data from older tools or imports may still hold them
    _STORES[client.host]._db.execute("UPDATE datas SET filename=? WHERE id=?", (filename, data["id"]))
    client.poll("processing", lambda: client.call("GET", f"/api/data/{data['id']}")["upload_status"] == "DONE")
    client.add_assets(version_id, [data["id"]])


HOSTILE = ["../x.jpg", "/etc/y.jpg", "a/../../z.jpg", "..\\w.jpg", "C:\\v.jpg", "\\\\server\\share\\u.jpg"]


def test_platform_file_names_never_escape_dest(client: Client, tmp_path: Path) -> None:
    push(pf.Dataset(), tmp_path, "hostile", "v1", client=client, quiet=True)
    vid = client.find_version(client.find_dataset("hostile")["id"], "v1")["id"]
    content = (sorted(RACCOON_IMAGES.iterdir())[0]).read_bytes()
    for name in [*HOSTILE, "fine/ok.jpg"]:
        _plant(client, vid, name, content)
    work = tmp_path / "work"
    dest = work / "deep" / "dest"
    work.mkdir()
    before = {p for p in tmp_path.rglob("*")}
    etc_before = Path("/etc/y.jpg").exists()
    result = pull("hostile", "v1", dest, "coco", client=client, quiet=True)
    created = {p for p in tmp_path.rglob("*")} - before
    assert created and all(p == dest or dest in p.parents or p in dest.parents for p in created), created
    assert (dest / "images" / "fine" / "ok.jpg").read_bytes() == content
    assert result.assets == 1
    assert result.report.count("dropped", "assets with unsafe file names") == len(HOSTILE)
    assert Path("/etc/y.jpg").exists() == etc_before


def test_pull_dest_symlink_escape_refused(client: Client, tmp_path: Path) -> None:
    push(pf.Dataset(), tmp_path, "links", "v1", client=client, quiet=True)
    vid = client.find_version(client.find_dataset("links")["id"], "v1")["id"]
    _plant(client, vid, "sub/a.jpg", b"\xff\xd8data")
    outside = tmp_path / "outside"
    outside.mkdir()
    dest = tmp_path / "dest"
    (dest / "images").mkdir(parents=True)
    (dest / "images" / "sub").symlink_to(outside, target_is_directory=True)
    with pytest.raises(SyncError, match="outside"):
        pull("links", "v1", dest, "coco", client=client, quiet=True)
    assert not any(outside.iterdir())


def test_pull_under_faults_is_complete(emulator: Emulator, client: Client, raccoon: pf.Dataset,
                                       tmp_path: Path) -> None:
    push(raccoon, RACCOON_IMAGES, "raccoon", "v1", client=client, quiet=True)
    emulator.configure(fail_rate=0.2, fail_kinds=("500", "429", "drop"))
    result = pull("raccoon", "v1", tmp_path / "o", "voc", client=client, quiet=True, workers=8)
    emulator.configure(fail_rate=0.0)
    assert sum(emulator.stats()["faults"].values()) > 10
    assert result.downloaded == 40
    assert boxes_by_file(pf.read(tmp_path / "o", "voc")) == boxes_by_file(raccoon)
    _same_images(tmp_path / "o", [a.file_name for a in raccoon])


def test_duplicate_platform_names_keep_the_first(client: Client, tmp_path: Path) -> None:
    push(pf.Dataset(), tmp_path, "dups", "v1", client=client, quiet=True)
    vid = client.find_version(client.find_dataset("dups")["id"], "v1")["id"]
    _plant(client, vid, "same.jpg", b"first")
    _plant(client, vid, "same.jpg", b"second")
    result = pull("dups", "v1", tmp_path / "o", "coco", client=client, quiet=True)
    assert result.assets == 1
    assert result.report.count("dropped", "assets whose file name another asset already has") == 1


def test_expired_presigned_url_is_renewed(client: Client, raccoon: pf.Dataset, tmp_path: Path) -> None:
    from picsellia_formats.sync.pull import download_image

    push(raccoon, RACCOON_IMAGES, "raccoon", "v1", client=client, quiet=True)
    _, data_of = fetch_dataset(client, "raccoon", "v1")
    name, data = next(iter(data_of.items()))
    stale = {**data, "presigned_url": data["presigned_url"].replace("sig=", "sig=00")}
    assert download_image(client, tmp_path / name, stale) is True
    assert (tmp_path / name).read_bytes() == (RACCOON_IMAGES / name).read_bytes()
