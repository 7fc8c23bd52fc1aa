"""Regression tests of issue 16: each request push/pull made that no SDK code makes (1-10), and each place
the emulator was laxer than the platform. Every test here fails on the code before the fix."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import requests

import picsellia_formats as pf
from picsellia_formats.errors import FormatError
from picsellia_formats.model import Annotation, Asset, Dataset, Label
from picsellia_formats.sync import Client, fetch_dataset, pull, push
from picsellia_formats.sync.client import LARGE_FILE, resolve_token
from picsellia_formats.sync.emulator import Emulator

from .conftest import RACCOON_IMAGES
from .shapes_fixture import _image, mask_dataset, multi_dataset


def _api(emu: Emulator, method: str, path: str, **kw):
    return requests.request(method, emu.url + path, headers={"Authorization": f"Bearer {emu.token}"}, **kw)


def _version(client: Client, name: str, vtype: str) -> str:
    ds = client.get_or_create_dataset(name)
    return client.get_or_create_version(ds["id"], "v1", vtype)["id"]


# 1. the content hash lives in declared custom metadata, never in the fixed metadata


def test_hash_is_custom_metadata_declared_in_the_schema(client: Client, emulator: Emulator, tmp_path: Path) -> None:
    ds = multi_dataset(tmp_path)
    push(ds, tmp_path, "h", "v1", client=client, quiet=True)
    datas = client.list_datas("filenames", ["a.jpg"])
    assert datas[0]["metadata"] in (None, {}) and len(datas[0]["custom_metadata"]["pf_sha256"]) == 64
    assert "pf_sha256" in client.custom_metadata_schema()["custom_metadata_schema"]


@pytest.mark.parametrize("body, message", [
    ({"metadata": {"pf_sha256": "x"}}, "unknown key"),
    ({"custom_metadata": {"undeclared": 1}}, "not in the datalake's schema"),
    ({"pf": 1}, "unknown field"),
    ({"filename": "sub/a.jpg"}, "base name"),
])
def test_emulator_refuses_what_the_platform_refuses_on_data(client: Client, emulator: Emulator, body, message) -> None:
    lake = client.datalake["id"]
    payload = {"type": "IMAGE", "filename": "a.jpg", "object_name": "o/a.jpg", "content_type": "image/jpeg",
               "tags": [], "data_source_id": None, **body}
    r = _api(emulator, "POST", f"/api/datalake/{lake}/datas", json=payload)
    assert r.status_code == 422 and message in r.json()["message"]


# 2. masks only in MASK versions


def test_masks_go_to_a_mask_version(client: Client, tmp_path: Path) -> None:
    ds = mask_dataset(tmp_path)
    result = push(ds, tmp_path, "m", "v1", client=client, quiet=True)
    assert result.type == "MASK" and result.annotations_sent == 2
    back, _ = fetch_dataset(client, "m", "v1")
    assert [x.mask.counts for a in back for x in a.annotations] == [x.mask.counts for a in ds for x in a.annotations]


def test_masks_in_a_segmentation_version_are_refused_and_reported(client: Client, emulator: Emulator,
                                                                  tmp_path: Path) -> None:
    ds = mask_dataset(tmp_path)
    vid = _version(client, "seg", "SEGMENTATION")
    label = client.bulk_labels(vid, ["blob"])["blob"]
    asset = push(Dataset(assets=[Asset(a.file_name, 64, 48) for a in ds]), tmp_path, "seg", "v1", client=client,
                 quiet=True)
    assert asset.images == 2
    aid = client.list_assets(vid)[0]["id"]
    r = _api(emulator, "POST", f"/api/dataset/version/{vid}/bulk-annotations", json={
        "import_type": "REPLACE", "annotations": [{"asset_id": aid, "masks": [{"mask": "PP0", "label_id": label}]}]})
    assert r.status_code == 400 and "masks cannot be imported in a SEGMENTATION" in r.json()["message"]
    result = push(ds, tmp_path, "seg", "v1", type="SEGMENTATION", client=client, quiet=True)
    assert "2 masks in a SEGMENTATION dataset version dropped" in str(result.report)


# 3. lines and points are created per annotation, never in bulk


def test_bulk_items_with_lines_are_refused(client: Client, emulator: Emulator, tmp_path: Path) -> None:
    push(multi_dataset(tmp_path), tmp_path, "l", "v1", client=client, quiet=True)
    vid = client.find_version(client.find_dataset("l")["id"], "v1")["id"]
    aid = client.list_assets(vid)[0]["id"]
    r = _api(emulator, "POST", f"/api/dataset/version/{vid}/bulk-annotations",
             json={"import_type": "REPLACE", "annotations": [{"asset_id": aid, "lines": []}]})
    assert r.status_code == 422 and "lines" in r.json()["message"]


def test_lines_and_points_survive_the_platform(client: Client, tmp_path: Path) -> None:
    ds = multi_dataset(tmp_path)
    push(ds, tmp_path, "lp", "v1", client=client, quiet=True)
    back, _ = fetch_dataset(client, "lp", "v1")
    b = next(a for a in back if a.file_name == "b.png")
    assert sorted((x.kind, x.label) for x in b.annotations) == [("keypoints", "person"), ("line", "road"),
                                                                 ("point", "spot")]
    assert next(x for x in b.annotations if x.kind == "line").line == [0, 0, 10, 10, 20, 5]


# 4. keypoint labels get their skeleton first


def test_keypoints_need_the_skeleton_which_push_sets(client: Client, emulator: Emulator, tmp_path: Path) -> None:
    ds = multi_dataset(tmp_path)
    push(ds, tmp_path, "k", "v1", client=client, quiet=True)
    vid = client.find_version(client.find_dataset("k")["id"], "v1")["id"]
    ids = client.bulk_labels(vid, ["person", "car"])
    assert client.skeletons(vid) == {ids["person"]: {"vertices": ["head", "hand"], "edges": [[1, 2]]}}
    aid = client.list_assets(vid)[0]["id"]
    r = _api(emulator, "POST", f"/api/dataset/version/{vid}/bulk-annotations", json={"import_type": "REPLACE",
             "annotations": [{"asset_id": aid, "keypoints": [{"keypoints": [[1, 1, 2]], "label_id": ids["car"]}]}]})
    assert r.status_code == 400 and "skeleton" in r.json()["message"]
    back, _ = fetch_dataset(client, "k", "v1")
    person = next(lb for lb in back.labels if lb.name == "person")
    assert (person.keypoints, person.skeleton) == (["head", "hand"], [[1, 2]])
    assert next(lb for lb in back.labels if lb.name == "cat").group == "animals"


# 5. annotations are loaded 10 per call for SEGMENTATION, LINE and MULTI versions


@pytest.mark.parametrize("vtype, most", [("SEGMENTATION", 10), ("OBJECT_DETECTION", 100)])
def test_load_chunks_follow_the_version_type(client: Client, tmp_path: Path, monkeypatch, vtype, most) -> None:
    names = [f"i{i}.png" for i in range(25)]
    for n in names:
        _image(tmp_path / n, "PNG")
    kind = {"SEGMENTATION": {"polygon": [[1, 1, 9, 1, 9, 9]]}, "OBJECT_DETECTION": {"box": (1, 1, 5, 5)}}[vtype]
    ds = Dataset(assets=[Asset(n, 64, 48, [Annotation("x", **kind)]) for n in names])
    push(ds, tmp_path, "chunks", "v1", client=client, quiet=True)
    sizes: list[int] = []
    real = client.load_annotations
    monkeypatch.setattr(client, "load_annotations", lambda vid, ids: sizes.append(len(ids)) or real(vid, ids))
    fetch_dataset(client, "chunks", "v1")
    assert max(sizes) == min(most, 25) and sum(sizes) == 25


# 6. base names only; two images with the same base name are an error


def test_folders_are_sent_as_base_names(client: Client, tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    _image(tmp_path / "sub" / "a.jpg", "JPEG")
    ds = Dataset(assets=[Asset("sub/a.jpg", 64, 48, [Annotation("x", box=(1, 1, 2, 2))])])
    result = push(ds, tmp_path, "names", "v1", client=client, quiet=True)
    assert [d["filename"] for d in client.list_datas("filenames", ["a.jpg"])] == ["a.jpg"]
    assert "1 file name sent as base names" in str(result.report)


def test_same_base_name_in_two_folders_is_an_error(client: Client, tmp_path: Path) -> None:
    for folder in ("x", "y"):
        (tmp_path / folder).mkdir()
        _image(tmp_path / folder / "a.jpg", "JPEG")
    ds = Dataset(assets=[Asset("x/a.jpg", 64, 48), Asset("y/a.jpg", 64, 48)])
    with pytest.raises(FormatError, match=r"same base name as 'x/a\.jpg'"):
        push(ds, tmp_path, "names", "v1", client=client, quiet=True)


# 7. listings name every upload status and type; without them the platform lists DONE data only


def test_listings_hide_unprocessed_data_unless_asked(client: Client, emulator: Emulator, tmp_path: Path) -> None:
    emulator.configure(processing_delay=3600)
    _image(tmp_path / "a.jpg", "JPEG")
    object_name = client.generate_object_name("a.jpg")
    client.upload_object(object_name, (tmp_path / "a.jpg").read_bytes(), "image/jpeg")
    client.register_data({"type": "IMAGE", "filename": "a.jpg", "object_name": object_name,
                          "content_type": "image/jpeg", "tags": [], "data_source_id": None})
    lake = client.datalake["id"]
    assert _api(emulator, "GET", f"/api/datalake/{lake}/datas").json()["items"] == []
    assert len(client.list_datas("filenames", ["a.jpg"])) == 1


def test_an_interrupted_push_reuses_data_still_processing(client: Client, emulator: Emulator,
                                                          tmp_path: Path, monkeypatch) -> None:
    ds = multi_dataset(tmp_path)
    emulator.configure(processing_delay=3600)
    push_module = sys.modules["picsellia_formats.sync.push"]
    monkeypatch.setattr(push_module, "_wait_processed", lambda *a: (_ for _ in ()).throw(KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):
        push(ds, tmp_path, "resume", "v1", client=client, quiet=True)
    monkeypatch.undo()
    emulator.configure(processing_delay=0)
    again = push(ds, tmp_path, "resume", "v1", client=client, quiet=True)
    assert (again.uploaded, again.reused_data) == (0, 3)
    assert emulator.store.counts()["datas"] == 3


# 8. the bulk answer is read: assets the platform skips are not counted as sent


def test_campaign_locked_assets_are_reported_not_sent(client: Client, emulator: Emulator, tmp_path: Path) -> None:
    ds = multi_dataset(tmp_path)
    push(ds, tmp_path, "lock", "v1", client=client, quiet=True)
    vid = client.find_version(client.find_dataset("lock")["id"], "v1")["id"]
    locked = next(a for a in client.list_assets(vid) if a["data"]["filename"] == "c.webp")
    emulator.store.lock_assets([locked["id"]])
    ds.assets[2].annotations = [Annotation("car", box=(9, 9, 3, 3))]
    ds.assets[0].annotations = ds.assets[0].annotations[:1]
    result = push(ds, tmp_path, "lock", "v1", client=client, quiet=True)
    assert (result.annotations_sent, result.annotations_skipped) == (1, 1)
    assert "1 asset whose annotations the platform did not take dropped" in str(result.report)


# 9. review statuses come from the annotation listing (loaded annotations carry none)


def test_statuses_come_from_the_listing(client: Client, emulator: Emulator, tmp_path: Path) -> None:
    ds = multi_dataset(tmp_path)
    push(ds, tmp_path, "st", "v1", client=client, quiet=True)
    vid = client.find_version(client.find_dataset("st")["id"], "v1")["id"]
    ids = client.annotation_ids(vid)
    assert all("status" not in item for item in client.load_annotations(vid, ids))
    back, _ = fetch_dataset(client, "st", "v1")
    assert {a.file_name: a.status for a in back} == {"a.jpg": "ACCEPTED", "b.png": "PENDING", "c.webp": "PENDING"}


# 10. multipart above 25 MiB, PICSELLIA_TOKEN


def test_a_file_over_25_mib_goes_by_multipart(client: Client, emulator: Emulator, tmp_path: Path) -> None:
    ds = multi_dataset(tmp_path, large=True)
    assert (tmp_path / "big.bmp").stat().st_size > LARGE_FILE
    emulator.recorder.start()
    push(ds, tmp_path, "big", "v1", client=client, quiet=True)
    seen = {(r.method, r.template) for r in emulator.recorder.stop()}
    assert ("POST", "/api/object-storage/{connector}/init_multipart_upload") in seen
    assert ("POST", "/api/object-storage/{connector}/complete_part_upload") in seen
    pull("big", "v1", tmp_path / "out", "coco", client=client, quiet=True)
    assert (tmp_path / "out" / "images" / "big.bmp").read_bytes() == (tmp_path / "big.bmp").read_bytes()


def test_the_sdk_token_variable_is_read(monkeypatch) -> None:
    monkeypatch.setenv("PICSELLIA_TOKEN", "sdk-token")
    monkeypatch.setenv("PICSELLIA_API_TOKEN", "old-name")
    assert resolve_token(env_file=None) == "sdk-token"
    monkeypatch.delenv("PICSELLIA_TOKEN")
    assert resolve_token(env_file=None) == "old-name"


def test_webp_gets_its_size_on_upload(client: Client, emulator: Emulator, tmp_path: Path) -> None:
    _image(tmp_path / "x.webp", "WEBP", size=(33, 21))
    name = client.generate_object_name("x.webp")
    client.upload_object(name, (tmp_path / "x.webp").read_bytes(), "image/webp")
    data = client.register_data({"type": "IMAGE", "filename": "x.webp", "object_name": name,
                                 "content_type": "image/webp", "tags": [], "data_source_id": None})
    assert client.call("GET", f"/api/data/{data['id']}")["meta"] == {"width": 33, "height": 21}


def test_raccoon_still_round_trips(client: Client, raccoon: pf.Dataset, tmp_path: Path) -> None:
    push(raccoon, RACCOON_IMAGES, "r", "v1", client=client, quiet=True)
    assert len(fetch_dataset(client, "r", "v1")[0]) == 40


__all__ = ["Label"]
