"""Conformance with the official ``picsellia`` SDK (6.x, test extra ``sync-test``): the SDK reads what our
client pushed to the emulator with the same counts and shapes, and our client pulls what the SDK uploaded."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

import picsellia_formats as pf
from picsellia_formats.sync import Client, fetch_dataset, pull, push
from picsellia_formats.sync.emulator import Emulator
from tests.conftest import require

from .conftest import RACCOON_IMAGES, boxes_by_file

picsellia = require("picsellia", "test", "the official SDK against our emulator")


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


# -- every shape kind, masks, keypoints with skeletons, non-JPEG and large files (issue 16) ---------------


def _sdk_version(sdk, name: str):
    return sdk.get_dataset(name).get_version("v1")


def test_sdk_reads_every_shape_kind_we_pushed(client: Client, sdk, tmp_path: Path) -> None:
    from .shapes_fixture import multi_dataset

    ds = multi_dataset(tmp_path)
    push(ds, tmp_path, "multi", "v1", client=client, quiet=True)
    version = _sdk_version(sdk, "multi")
    assert version.type.value == "MULTI"
    assets = version.list_assets()
    assert {a.filename: (a.width, a.height) for a in assets} == {a.file_name: (64, 48) for a in ds}
    by_id = {a.id: a.filename for a in assets}
    loaded = {by_id[picsellia_uuid(k)]: v[0] for k, v in version.load_annotations().items()}
    a, b = loaded["a.jpg"], loaded["b.png"]
    assert [(r["x"], r["y"], r["w"], r["h"], r["label"]) for r in a["rectangles"]] == [(1, 2, 10, 12, "car")]
    assert sorted(p["polygon"] for p in a["polygons"]) == [[[5, 5], [20, 5], [20, 20]], [[30, 30], [40, 30], [40, 40]]]
    assert [c["label"] for c in a["classifications"]] == ["day"]
    assert [k["keypoints"] for k in b["keypoints"]] == [[[10, 10, 2], [20, 20, 1]]]
    assert [ln["line"] for ln in b["lines"]] == [[[0, 0], [10, 10], [20, 5]]]
    assert [p["point"] for p in b["points"]] == [[7, 8]]
    labels = {lb.name: lb for lb in version.list_labels()}
    assert version.get_skeletons()[str(labels["person"].id)] == {"vertices": ["head", "hand"], "edges": [[1, 2]]}
    assert [g.name for g in version.list_label_groups()] == ["animals"]
    accepted = version.list_annotations(status="ACCEPTED")
    assert [by_id[x.asset_id] for x in accepted] == ["a.jpg"]


def test_sdk_builds_coco_of_our_masks_and_keypoints(client: Client, sdk, tmp_path: Path) -> None:
    from .shapes_fixture import mask_dataset, multi_dataset

    masks = mask_dataset(tmp_path / "m")
    push(masks, tmp_path / "m", "masks", "v1", client=client, quiet=True)
    version = _sdk_version(sdk, "masks")
    assert version.type.value == "MASK"
    loaded = version.load_annotations()  # the SDK's local COCO builder has no masks: compare what it loads
    assert sorted(m["mask"] for v in loaded.values() for m in v[0]["masks"]) == sorted(
        x.mask.counts for a in masks for x in a.annotations)
    kp = multi_dataset(tmp_path / "k")
    for a in kp:
        a.annotations = [x for x in a.annotations if x.kind == "keypoints"]
    push(kp, tmp_path / "k", "kp", "v1", client=client, quiet=True)
    coco = _sdk_version(sdk, "kp").build_coco_file_locally()
    person = next(c for c in coco.categories if c.name == "person")
    assert (person.keypoints, person.skeleton) == (["head", "hand"], [[1, 2]])
    assert [a.keypoints for a in coco.annotations] == [[10, 10, 2, 20, 20, 1]]


def test_we_pull_a_large_webp_and_png_upload_of_the_sdk(client: Client, sdk, tmp_path: Path) -> None:
    from .shapes_fixture import multi_dataset

    ds = multi_dataset(tmp_path / "src", large=True)
    paths = [str(tmp_path / "src" / a.file_name) for a in ds]
    data = sdk.get_datalake().upload_data(paths)
    assert {d.filename for d in data} == {a.file_name for a in ds}
    version = sdk.create_dataset("uploads").create_version("v1", type="OBJECT_DETECTION")
    version.add_data(data)
    assert {a.filename: (a.width, a.height) for a in version.list_assets()}["c.webp"] == (64, 48)
    pull("uploads", "v1", tmp_path / "out", "coco", client=client, quiet=True)
    for p in paths:
        assert (tmp_path / "out" / "images" / Path(p).name).read_bytes() == Path(p).read_bytes()


def _polygon_dataset(folder: Path) -> pf.Dataset:
    from .shapes_fixture import multi_dataset

    ds = multi_dataset(folder)
    for a in ds:
        a.annotations = [x for x in a.annotations if x.kind == "polygon"]
        for x in a.annotations:
            x.polygon = x.polygon[:1]
    return ds


def _objects(ds: pf.Dataset) -> dict[str, list[tuple]]:
    out = {}
    for a in ds:
        objs = []
        for x in a.annotations:
            box = tuple(round(float(v)) for v in x.box) if x.box is not None else None
            poly = tuple(round(float(v)) for v in x.polygon[0]) if x.polygon else None
            objs.append((x.label, box if poly is None else None, poly))
        out[a.file_name] = sorted(objs, key=repr)
    return out


@pytest.mark.parametrize("fmt", ["coco", "voc"])
def test_sdk_export_equals_our_pull(client: Client, sdk, raccoon: pf.Dataset, tmp_path: Path, fmt: str) -> None:
    push(raccoon, RACCOON_IMAGES, "exp-boxes", "v1", client=client, quiet=True)
    polys = _polygon_dataset(tmp_path / "poly")
    push(polys, tmp_path / "poly", "exp-polys", "v1", client=client, quiet=True)
    for name in ("exp-boxes", "exp-polys"):
        version = _sdk_version(sdk, name)
        ours_dir = tmp_path / f"ours-{name}"
        pull(name, "v1", ours_dir, fmt, client=client, quiet=True, images=False)
        if fmt == "coco":
            theirs_path = tmp_path / f"sdk-{name}.json"
            theirs_path.write_text(version.build_coco_file_locally().model_dump_json())
            theirs = pf.read(theirs_path, "coco")
            ours = pf.read(ours_dir / "annotations.json", "coco")
            # the SDK's builder leaves out images without annotations; ours keeps them, empty
            sizes = {a.file_name: (a.width, a.height) for a in ours}
            assert {a.file_name: (a.width, a.height) for a in theirs}.items() <= sizes.items()
            assert all(not a.annotations for a in ours if a.file_name not in {b.file_name for b in theirs})
        else:
            theirs = pf.read(version.build_pascal_voc_locally(target_path=str(tmp_path / f"sdk-voc-{name}")), "voc")
            ours = pf.read(ours_dir / "annotations", "voc") if (ours_dir / "annotations").is_dir() else \
                pf.read(ours_dir, "voc")
        assert sorted(lb.name for lb in theirs.labels) == sorted(lb.name for lb in ours.labels)
        mine, sdk_side = _objects(ours), _objects(theirs)
        if fmt == "voc" and name == "exp-polys":  # the SDK's VOC builder writes polygons as <polygon> + a box
            sdk_side = {k: [(lb, None, p) for lb, _b, p in v] for k, v in sdk_side.items()}
            mine = {k: [(lb, None, p) for lb, _b, p in v] for k, v in mine.items()}
        assert {k: v for k, v in sdk_side.items() if v} == {k: v for k, v in mine.items() if v}


def test_sdk_import_of_polygons_pulls_back(client: Client, sdk, tmp_path: Path) -> None:
    polys = _polygon_dataset(tmp_path / "src")
    data = sdk.get_datalake().upload_data([str(tmp_path / "src" / a.file_name) for a in polys])
    version = sdk.create_dataset("imp").create_version("v1", type="SEGMENTATION")
    version.add_data(data)
    pf.write(polys, tmp_path / "coco.json", "coco")
    version.import_annotations_coco_file(str(tmp_path / "coco.json"))
    back, _ = fetch_dataset(client, "imp", "v1")
    assert _objects(back) == _objects(polys)
