"""The platform contract: every request our client makes in push and pull (method, path template, sorted
query keys, body key paths with their JSON types) is one the official SDK makes for the same operations
against the same emulator, or is in `ALLOWED` with the SDK function that shows the platform accepts it.

``python tests/sync/test_contract.py`` prints the table written into docs/sync.md.
"""

from __future__ import annotations

import logging
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from picsellia_formats.sync import Client, pull, push  # noqa: E402
from picsellia_formats.sync.emulator import Emulator  # noqa: E402
from picsellia_formats.sync.emulator.recorder import Request  # noqa: E402
from tests.conftest import require  # noqa: E402
from tests.sync.conftest import FAST  # noqa: E402
from tests.sync.shapes_fixture import mask_dataset, multi_dataset  # noqa: E402

#: Requests of ours no SDK code path makes in the operations below, each with the SDK function that shows
#: the platform takes it. Keys: (method, path template).
ALLOWED: dict[tuple[str, str], str] = {
    # empty today: every request is made by the SDK; an entry reads
    # ("XGET", "/api/datalake/{lake}/datas"): "Datalake.list_data(ids=...)",
}


def _client_requests(emu: Emulator, folder: Path) -> list[Request]:
    client = Client(emu.url, emu.token, retry=FAST, env_file=None)
    emu.recorder.start()
    ds = multi_dataset(folder / "multi", large=True)
    push(ds, folder / "multi", "shapes", "multi", tags=["batch"], client=client, quiet=True)
    ds.assets[2].annotations = ds.assets[2].annotations * 2
    push(ds, folder / "multi", "shapes", "multi", client=client, quiet=True, mode="CONCATENATE")
    (folder / "multi" / "c.webp").write_bytes((folder / "multi" / "a.jpg").read_bytes())
    push(ds, folder / "multi", "shapes", "multi", client=client, quiet=True)  # a changed image: replaced
    masks = mask_dataset(folder / "masks")
    push(masks, folder / "masks", "shapes", "masks", client=client, quiet=True)
    pull("shapes", "multi", folder / "out-multi", "coco", client=client, quiet=True)
    pull("shapes", "masks", folder / "out-masks", "coco", client=client, quiet=True)
    client.close()
    return emu.recorder.stop()


def _sdk_requests(emu: Emulator, folder: Path) -> list[Request]:
    import picsellia
    from picsellia.types.enums import AnnotationStatus, InferenceType

    logging.getLogger("picsellia").setLevel(logging.ERROR)
    emu.recorder.start()
    sdk = picsellia.Client(api_token=emu.token, host=emu.url, organization_id=emu.organization_id)
    lake = sdk.get_datalake()
    lake.get_custom_metadata_schema()
    lake.upsert_custom_metadata_schema_key("pf_sha256", {"required": False, "input_type": "STRING"})
    ds = multi_dataset(folder / "multi", large=True)
    paths = [str(folder / "multi" / a.file_name) for a in ds]
    data = lake.upload_data(paths, custom_metadata=[{"pf_sha256": str(i)} for i in range(len(paths))])
    lake.list_data(filenames=[Path(p).name for p in paths])
    lake.list_data(ids=[d.id for d in data])
    dataset = sdk.create_dataset("sdk-shapes")
    sdk.get_dataset("sdk-shapes")
    version = dataset.create_version("v1", type=InferenceType.MULTI)
    dataset.get_version("v1")
    version.add_data(data)
    assets = version.list_assets()
    version.list_assets(filenames=[a.filename for a in assets])
    version.list_assets(data_ids=[d.id for d in data]) if "data_ids" in version.list_assets.__doc__ else None
    tag = version.create_asset_tag("t1")
    version.get_asset_tag("t1")
    assets.add_tags([tag])
    person = version.create_label("person")
    version.list_labels()
    version.get_skeletons()
    person.set_skeleton(["head", "hand"], [[1, 2]])
    group = version.create_label_group("animals")
    version.list_label_groups()
    person.set_group(group)
    asset = assets[0]
    annotation = asset.create_annotation(duration=0.0)
    asset.get_annotation()
    annotation.create_multiple_lines([([[0, 0], [10, 10]], person)])
    annotation.create_multiple_points([([1, 2], person)])
    annotation.update(status="ACCEPTED")
    # the importers: one version per type, every kind the bulk call carries
    from picsellia_formats import write
    for vtype, kind in (("OBJECT_DETECTION", "box"), ("SEGMENTATION", "polygon"),
                        ("CLASSIFICATION", "classification"), ("KEYPOINT", "keypoints")):
        v = dataset.create_version(f"import-{vtype}", type=vtype)
        v.add_data(data)
        coco = folder / f"{vtype}.json"
        sub = multi_dataset(folder / "subset")
        for a in sub:
            a.annotations = [x for x in a.annotations if x.kind == kind]
        if kind == "keypoints":  # every category of a KEYPOINT import needs its keypoints
            sub.labels = [lb for lb in sub.labels if lb.keypoints]
        write(sub, coco, "coco")
        if kind == "classification":  # COCO instances have no classification: the SDK reads bbox []
            doc = orjson.loads(coco.read_bytes())
            doc["annotations"] = [{"id": 1, "image_id": 1, "category_id": 3, "bbox": [], "segmentation": []}]
            coco.write_bytes(orjson.dumps(doc))
        v.import_annotations_coco_file(str(coco), status=AnnotationStatus.ACCEPTED)
        v.import_annotations_coco_file(str(coco), mode="CONCATENATE")
        v.list_annotations()
        v.load_annotations()
    mds = mask_dataset(folder / "masks")
    mdata = lake.upload_data([str(folder / "masks" / a.file_name) for a in mds])
    mv = dataset.create_version("masks", type="NOT_CONFIGURED")
    mv.set_type(InferenceType.MASK)
    mv.add_data(mdata)
    write(mds, folder / "masks.json", "coco")
    mv.import_annotations_coco_file(str(folder / "masks.json"))
    mv.load_annotations()
    mv.list_annotations(status="ACCEPTED") if False else None
    version.list_annotations()
    version.load_annotations()
    version.download(str(folder / "sdk-download"))
    assets[1:2].delete()
    return emu.recorder.stop()


def _split(path: str) -> tuple[str, str]:
    """``a.b:int`` -> (``a.b``, ``int``); a top-level list or a raw body is its own key."""
    key, sep, kind = path.rpartition(":")
    return (key, kind) if sep and key else (path, "")


def _covered(ours: Request, sdk: dict[tuple[str, str], list[Request]]) -> bool:
    """`ours` is covered when the SDK made the same method on the same template with the same query keys,
    and every body key path of ours (with its type; ``null`` and ``list[empty]`` match any) appears in the
    SDK's bodies for that route."""
    theirs = sdk.get((ours.method, ours.template), [])
    if not theirs:
        return False
    queries = {r.query for r in theirs}
    if ours.query not in queries:
        return False
    seen: dict[str, set[str]] = defaultdict(set)
    for r in theirs:
        for path in r.body:
            key, kind = _split(path)
            seen[key].add(kind)
    for path in ours.body:
        key, kind = _split(path)
        kinds = seen.get(key)
        if kinds is None:
            return False
        if kind not in kinds and kind not in ("null", "list[empty]") and not (kind == "int" and "float" in kinds):
            return False
    return True


def contract(folder: Path) -> tuple[list[Request], dict[tuple[str, str], list[Request]]]:
    with Emulator(folder / "state-client") as emu:
        ours = sorted(set(_client_requests(emu, folder / "client")))
    with Emulator(folder / "state-sdk") as emu:
        sdk: dict[tuple[str, str], list[Request]] = defaultdict(list)
        for r in set(_sdk_requests(emu, folder / "sdk")):
            sdk[(r.method, r.template)].append(r)
    return ours, sdk


def table(ours: list[Request], sdk: dict[tuple[str, str], list[Request]]) -> str:
    rows = ["| method | path | query | body keys | SDK |", "|---|---|---|---|---|"]
    for r in ours:
        allowed = ALLOWED.get((r.method, r.template))
        status = "same" if _covered(r, sdk) else (f"allowed: {allowed}" if allowed else "**NOT IN SDK**")
        body = ", ".join(p.rsplit(":", 1)[0] for p in r.body if ":" in p) or ", ".join(r.body)
        rows.append(f"| {r.method} | `{r.template}` | {', '.join(r.query)} | {body} | {status} |")
    return "\n".join(rows)


def test_every_client_request_is_an_sdk_request(tmp_path: Path) -> None:
    require("picsellia", "test", "the contract against the official SDK")
    ours, sdk = contract(tmp_path)
    missing = [r for r in ours if not _covered(r, sdk) and (r.method, r.template) not in ALLOWED]
    assert not missing, "requests the SDK never makes:\n" + "\n".join(map(str, missing)) + "\n\n" + table(ours, sdk)


if __name__ == "__main__":
    o, s = contract(Path(tempfile.mkdtemp()))
    print(table(o, s))
