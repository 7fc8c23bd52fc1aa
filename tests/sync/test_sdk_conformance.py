"""Conformance with the official ``picsellia`` SDK (6.x, test extra ``sync-test``): the SDK reads what our
client pushed to the emulator with the same counts and shapes, and our client pulls what the SDK uploaded."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

import picsellia_formats as pf
from picsellia_formats.sync import Client, fetch_dataset, pull, push
from picsellia_formats.sync.emulator import Emulator

from .conftest import RACCOON_IMAGES, boxes_by_file

picsellia = pytest.importorskip("picsellia", reason="install the sync-test extra: pip install picsellia>=6,<7")


@pytest.fixture
def sdk(emulator: Emulator):
    logging.getLogger("picsellia").setLevel(logging.WARNING)
    return picsellia.Client(api_token=emulator.token, host=emulator.url, organization_id=emulator.organization_id)


def test_sdk_reads_what_we_pushed(client: Client, sdk, raccoon: pf.Dataset) -> None:
    raccoon.assets[0].status = "ACCEPTED"
    push(raccoon, RACCOON_IMAGES, "raccoon", "v1", tags=["batch-1"], client=client, quiet=True)
    assert [d.name for d in sdk.list_datasets()] == ["raccoon"]
    dataset = sdk.get_dataset("raccoon")
    assert [v.version for v in dataset.list_versions()] == ["v1"]
    version = dataset.get_version("v1")
    assert version.type.value == "OBJECT_DETECTION"
    assert [label.name for label in version.list_labels()] == ["raccoon"]

    assets = version.list_assets()
    assert len(assets) == 40
    sizes = {a.filename: (a.width, a.height) for a in assets}
    assert sizes == {a.file_name: (a.width, a.height) for a in raccoon}
    assert {t.name for t in assets[0].get_tags()} == {"batch-1"}

    assert len(version.list_annotations()) == 40
    assert len(version.list_annotations(status="ACCEPTED")) == 1
    loaded = version.load_annotations()
    by_name = {a.id: a.filename for a in assets}
    sdk_boxes = {by_name[picsellia_uuid(k)]: sorted(("raccoon", (r["x"], r["y"], r["w"], r["h"]))
                                                    for r in v[0]["rectangles"]) for k, v in loaded.items()}
    ours = {k: [(label, tuple(int(c) for c in box)) for label, box in v] for k, v in boxes_by_file(raccoon).items()}
    assert sdk_boxes == ours

    coco = version.build_coco_file_locally()
    assert len(coco.images) == 40 and len(coco.annotations) == raccoon.num_annotations
    assert [c.name for c in coco.categories] == ["raccoon"]

    one = assets[0]
    rectangles = one.get_annotation().list_rectangles()
    assert len(rectangles) == len(next(a for a in raccoon if a.file_name == one.filename).annotations)
    stats = version.retrieve_stats()
    assert stats.nb_objects == raccoon.num_annotations and stats.label_repartition == {"raccoon": 44}


def picsellia_uuid(key):
    import uuid

    return uuid.UUID(str(key))


def test_we_pull_what_the_sdk_uploaded(client: Client, sdk, raccoon: pf.Dataset, tmp_path: Path) -> None:
    paths = sorted(RACCOON_IMAGES.iterdir())[:12]
    lake = sdk.get_datalake()
    data = lake.upload_data([str(p) for p in paths])
    dataset = sdk.create_dataset("from-sdk")
    version = dataset.create_version("v1", type="OBJECT_DETECTION")
    version.add_data(data)
    keep = {p.name for p in paths}
    subset = pf.Dataset(labels=raccoon.labels, assets=[a for a in raccoon if a.file_name in keep])
    pf.write(subset, tmp_path / "coco.json", "coco")
    version.import_annotations_coco_file(str(tmp_path / "coco.json"))
    version.list_assets(filenames=[paths[0].name])[0].get_annotation().update(status="ACCEPTED")

    result = pull("from-sdk", "v1", tmp_path / "pulled", "coco", client=client, quiet=True)
    back = pf.read(tmp_path / "pulled" / "annotations.json")
    assert result.assets == 12 and boxes_by_file(back) == boxes_by_file(subset)
    for p in paths:
        assert (tmp_path / "pulled" / "images" / p.name).read_bytes() == p.read_bytes()
    accepted, _ = fetch_dataset(client, "from-sdk", "v1", status="ACCEPTED")
    assert [a.file_name for a in accepted] == [paths[0].name]


def test_sdk_and_client_agree_on_the_error_shape(emulator: Emulator, sdk) -> None:
    with pytest.raises(picsellia.exceptions.ResourceNotFoundError, match="Dataset not found"):
        sdk.get_dataset("nope")
    sdk.create_dataset("twice")
    with pytest.raises(picsellia.exceptions.ResourceConflictError, match="already exists"):
        sdk.create_dataset("twice")
