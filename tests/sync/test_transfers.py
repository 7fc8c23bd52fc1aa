"""Push and pull transfers on a Dask cluster give what the local threads give, and no worker gets the token.

The cluster tests need the ``dask`` extra: skipped with the reason outside CI, an error under CI=true.
The emulator's store after each push is read back with the official SDK (its own listing and download).
"""

from __future__ import annotations

import hashlib
import logging
import pickle
import shutil
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

import picsellia_formats as pf
from picsellia_formats.cli import main
from picsellia_formats.errors import OptionError
from picsellia_formats.sync import Client, SyncError, fetch_dataset, pull, push
from picsellia_formats.sync import transfers as transfers_module
from picsellia_formats.sync.emulator import Emulator, Settings
from picsellia_formats.sync.transfers import (
    DownloadJob,
    TransferContext,
    Transfers,
    UploadJob,
    UploadPlan,
    download_shard,
    upload_shard,
)
from picsellia_formats.sync.transport import Storage, StorageSettings
from tests.conftest import require

from .conftest import FAST, RACCOON_IMAGES, boxes_by_file

picsellia = require("picsellia", "test", "the official SDK reading the emulator's store")


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """A running local Dask cluster of 2 worker processes (what ``--scheduler`` names)."""
    require("distributed", "dask", "push and pull transfers on Dask")
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as c:
        yield c.scheduler_address


def _sdk_store(emu: Emulator, out: Path) -> dict[str, Any]:
    """The version as the official SDK sees it: assets (size, content type, custom metadata, bytes)."""
    logging.getLogger("picsellia").setLevel(logging.WARNING)
    sdk = picsellia.Client(api_token=emu.token, host=emu.url, organization_id=emu.organization_id)
    assets = sdk.get_dataset("raccoon").get_version("v1").list_assets()
    assets.download(out)
    return {a.filename: (a.width, a.height, a.content_type, a.custom_metadata,
                         hashlib.sha256((out / a.filename).read_bytes()).hexdigest()) for a in assets}


def _push_state(tmp_path: Path, name: str, dataset: pf.Dataset, **engine: Any) -> tuple[Any, ...]:
    with Emulator(tmp_path / name, settings=Settings(retry_after=0.01, seed=7)) as emu, \
            Client(emu.url, emu.token, retry=FAST, env_file=None) as client:
        result = push(dataset, RACCOON_IMAGES, "raccoon", "v1", tags=["t"], client=client, quiet=True, workers=4,
                      **engine)
        back, _ = fetch_dataset(client, "raccoon", "v1")
        stats = emu.stats()
        state = (stats["counts"], stats["uploads"], boxes_by_file(back), {a.file_name: sorted(a.tags) for a in back},
                 _sdk_store(emu, tmp_path / f"{name}-sdk"))
    summary = {k: getattr(result, k) for k in ("images", "objects", "uploaded", "reused_data", "annotations_sent",
                                               "tags_attached", "type")}
    return state, summary, str(result.report)


def test_push_on_dask_leaves_the_store_the_threads_leave(tmp_path: Path, raccoon: pf.Dataset, cluster: str) -> None:
    threads = _push_state(tmp_path, "threads", raccoon)
    dask = _push_state(tmp_path, "dask", raccoon, engine="dask", scheduler=cluster)
    assert dask == threads
    assert _workers_used(cluster) == 2  # the bytes left from both workers (each made its own Storage)
    store = threads[0][-1]
    assert len(store) == 40 and threads[1]["uploaded"] == 40
    for path in RACCOON_IMAGES.iterdir():  # the bytes the SDK reads back are the files pushed
        assert store[path.name][-1] == hashlib.sha256(path.read_bytes()).hexdigest()


def _storages() -> int:
    return len(transfers_module._STORAGE)


def _workers_used(address: str) -> int:
    from distributed import Client as DaskClient

    with DaskClient(address) as dask:
        return sum(1 for n in dask.run(_storages).values() if n)


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_pull_on_dask_writes_the_files_the_threads_write(tmp_path: Path, raccoon: pf.Dataset, client: Client,
                                                          cluster: str) -> None:
    push(raccoon, RACCOON_IMAGES, "raccoon", "v1", client=client, quiet=True)
    results = {}
    for name, engine in (("threads", {}), ("dask", {"engine": "dask", "scheduler": cluster})):
        results[name] = pull("raccoon", "v1", tmp_path / name, "coco", client=client, quiet=True, workers=4, **engine)
    assert _tree(tmp_path / "dask") == _tree(tmp_path / "threads")
    assert len(_tree(tmp_path / "dask" / "images")) == 40
    assert str(results["dask"].report) == str(results["threads"].report)
    assert results["dask"].downloaded == results["threads"].downloaded == 40
    again = pull("raccoon", "v1", tmp_path / "dask", "coco", client=client, quiet=True, engine="dask",
                 scheduler=cluster)
    assert (again.downloaded, again.already_there) == (0, 40)


def test_push_and_pull_commands_take_engine_dask(tmp_path: Path, raccoon_voc_dir: Path, emulator: Emulator,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    require("distributed", "dask", "push and pull transfers on Dask")
    monkeypatch.setenv("PICSELLIA_TOKEN", emulator.token)
    monkeypatch.setenv("PF_SYNC_BACKOFF", "0.005")
    # no --scheduler: a local cluster is started (min(--workers, CPUs) processes) and closed
    assert main(["push", str(raccoon_voc_dir / "annotations"), "--dataset", "raccoon", "--version", "v1",
                 "--host", emulator.url, "--engine", "dask", "--workers", "2", "--quiet"]) == 0
    assert main(["pull", str(tmp_path / "out"), "--dataset", "raccoon", "--version", "v1", "--to", "voc",
                 "--host", emulator.url, "--engine", "dask", "--workers", "2", "--quiet"]) == 0
    for path in RACCOON_IMAGES.iterdir():
        assert (tmp_path / "out" / "images" / path.name).read_bytes() == path.read_bytes()


class _Recording:
    """An executor that pickles what it is given (what Dask would send to a worker), then runs it here."""

    def __init__(self, before: Any = None, after: Any = None) -> None:
        self.sent: list[bytes] = []
        self.before, self.after = before, after

    def submit(self, fn: Any, *args: Any, **_: Any) -> Future:
        payload = pickle.dumps((fn, *args))
        self.sent.append(payload)
        if self.before is not None:
            self.before(args)
        fut: Future = Future()
        fut.set_result(pickle.loads(payload)[0](*pickle.loads(payload)[1:]))
        if self.after is not None:
            self.after(args)
        return fut


@pytest.fixture
def recording(monkeypatch: pytest.MonkeyPatch) -> _Recording:
    rec = _Recording()
    monkeypatch.setattr(Transfers, "_engine_executor", lambda self: rec)
    return rec


def test_no_task_holds_the_token(tmp_path: Path, raccoon: pf.Dataset, client: Client, emulator: Emulator,
                                 recording: _Recording) -> None:
    push(raccoon, RACCOON_IMAGES, "raccoon", "v1", client=client, quiet=True, engine="dask", workers=4)
    pull("raccoon", "v1", tmp_path / "out", "coco", client=client, quiet=True, engine="dask", workers=4)
    token = emulator.token.encode()
    assert len(recording.sent) >= 2 * (40 // transfers_module.SHARD)
    kinds = {pickle.loads(p)[0].__name__ for p in recording.sent}
    assert kinds == {"upload_shard", "download_shard"}
    for payload in recording.sent:
        assert token not in payload
        assert emulator.token not in repr(pickle.loads(payload))
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(client)


def test_a_file_a_worker_cannot_see_fails_by_name(tmp_path: Path, raccoon: pf.Dataset, client: Client,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    images = tmp_path / "images"
    shutil.copytree(RACCOON_IMAGES, images)
    gone = sorted(images.iterdir())[:2]
    # the worker's view: two files the driver checked are not on its disk
    rec = _Recording(before=lambda args: [p.unlink(missing_ok=True) for p in gone])
    monkeypatch.setattr(Transfers, "_engine_executor", lambda self: rec)
    with pytest.raises(SyncError) as err:
        push(raccoon, images, "raccoon", "v1", client=client, quiet=True, engine="dask", workers=4)
    text = str(err.value)
    assert text.startswith("2 images could not be uploaded:")
    for path in gone:
        assert f"{path}: no such file on host" in text and "same path" in text


def test_a_file_changed_on_a_worker_fails_by_name(tmp_path: Path) -> None:
    image = tmp_path / "a.jpg"
    image.write_bytes(b"other bytes")
    plan = UploadPlan("o/a.jpg", "image/jpeg", "minio", "http://127.0.0.1:9/")
    [outcome] = upload_shard([UploadJob("a.jpg", str(image), "0" * 64, 11, plan)],
                             TransferContext(StorageSettings(), 1))
    assert outcome.status == "error" and str(image) in outcome.detail and "SHA-256 differs" in outcome.detail


def test_a_pull_destination_a_worker_cannot_see_fails_by_name(tmp_path: Path) -> None:
    job = DownloadJob("a.jpg", str(tmp_path / "nowhere" / "images" / "a.jpg"), str(tmp_path / "nowhere" / ".pf-pull"),
                      "d1", None, "http://127.0.0.1:9/x")
    [outcome] = download_shard([job], TransferContext(StorageSettings(), 1))
    assert outcome.status == "error" and "a.jpg" in outcome.detail and "not visible on host" in outcome.detail
    assert not (tmp_path / "nowhere").exists()  # nothing created on the worker's own disk


def test_a_pull_file_the_driver_cannot_see_fails_by_name(tmp_path: Path, raccoon: pf.Dataset, client: Client,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    push(raccoon, RACCOON_IMAGES, "raccoon", "v1", client=client, quiet=True)
    # a worker writing to a disk the driver does not share: the file it wrote is not here
    rec = _Recording(after=lambda args: Path(args[0][0].target).unlink())
    monkeypatch.setattr(Transfers, "_engine_executor", lambda self: rec)
    with pytest.raises(SyncError, match="written by a worker but not visible here"):
        pull("raccoon", "v1", tmp_path / "out", "coco", client=client, quiet=True, engine="dask")


def test_an_expired_url_is_asked_again(tmp_path: Path, raccoon: pf.Dataset, client: Client,
                                      recording: _Recording, monkeypatch: pytest.MonkeyPatch) -> None:
    push(raccoon, RACCOON_IMAGES, "raccoon", "v1", client=client, quiet=True)
    real = transfers_module.fetch_file
    calls: list[str] = []

    def first_expired(storage: Storage, target: Path, data_id: str, *args: Any) -> str:
        calls.append(data_id)
        return "expired" if calls.count(data_id) == 1 else real(storage, target, data_id, *args)

    monkeypatch.setattr(transfers_module, "fetch_file", first_expired)
    result = pull("raccoon", "v1", tmp_path / "out", "coco", client=client, quiet=True, engine="dask")
    assert result.downloaded == 40 and len(calls) == 80


def test_storage_holds_no_token_and_refuses_the_api() -> None:
    storage = Storage(StorageSettings())
    with pytest.raises(SyncError, match="no API token"):
        storage.request("GET", "/api/home/ping")
    assert storage.host is None and storage._secret is None


def test_an_unknown_engine_is_refused_before_anything_is_sent(client: Client, raccoon: pf.Dataset,
                                                              tmp_path: Path) -> None:
    with pytest.raises(OptionError, match="engine must be one of"):
        push(raccoon, RACCOON_IMAGES, "raccoon", "v1", client=client, quiet=True, engine="spark")
    with pytest.raises(OptionError, match="engine must be one of"):
        pull("raccoon", "v1", tmp_path / "o", "coco", client=client, quiet=True, engine="spark")


def test_a_streamed_push_sends_its_batches_on_the_engine(tmp_path: Path, raccoon: pf.Dataset, client: Client,
                                                         recording: _Recording) -> None:
    from picsellia_formats.streaming.push import push_coco_stream

    pf.write(raccoon, tmp_path / "raccoon.json", "coco")
    result = push_coco_stream(tmp_path / "raccoon.json", RACCOON_IMAGES, "raccoon", "v1", batch=7, client=client,
                              quiet=True, engine="dask")
    assert result.uploaded == 40
    shards = [pickle.loads(p)[1] for p in recording.sent]
    assert sorted(job.name for shard in shards for job in shard) == sorted(a.file_name for a in raccoon)


def test_an_expired_upload_url_is_asked_again(raccoon: pf.Dataset, client: Client, emulator: Emulator,
                                             recording: _Recording, monkeypatch: pytest.MonkeyPatch) -> None:
    real = transfers_module.send_object
    refused: set[str] = set()

    def first_refused(storage: Storage, plan: UploadPlan, content: bytes) -> Any:
        if plan.object_name not in refused:
            refused.add(plan.object_name)
            return None
        return real(storage, plan, content)

    monkeypatch.setattr(transfers_module, "send_object", first_refused)
    result = push(raccoon, RACCOON_IMAGES, "raccoon", "v1", client=client, quiet=True, engine="dask")
    assert result.uploaded == 40 and len(refused) == 40
    assert emulator.stats()["uploads"] == 40


def test_a_multipart_upload_runs_on_the_engine(tmp_path: Path, client: Client, emulator: Emulator,
                                               recording: _Recording) -> None:
    from .shapes_fixture import multi_dataset

    ds = multi_dataset(tmp_path, large=True)
    emulator.recorder.start()
    push(ds, tmp_path, "big", "v1", client=client, quiet=True, engine="dask")
    seen = {(r.method, r.template) for r in emulator.recorder.stop()}
    assert ("POST", "/api/object-storage/{connector}/complete_part_upload") in seen
    jobs = [job for p in recording.sent for job in pickle.loads(p)[1]]
    big = next(job for job in jobs if job.name == "big.bmp")
    assert big.plan.upload_id and len(big.plan.part_urls) == 2  # the parts were sent by the task
    pull("big", "v1", tmp_path / "out", "coco", client=client, quiet=True, engine="dask")
    assert (tmp_path / "out" / "images" / "big.bmp").read_bytes() == (tmp_path / "big.bmp").read_bytes()


def test_the_push_command_names_a_file_a_worker_cannot_see(tmp_path: Path, raccoon_voc_dir: Path,
                                                           emulator: Emulator, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PICSELLIA_TOKEN", emulator.token)
    monkeypatch.setenv("PF_SYNC_BACKOFF", "0.005")
    gone = sorted((raccoon_voc_dir / "images").iterdir())[3]
    rec = _Recording(before=lambda args: gone.unlink(missing_ok=True))
    monkeypatch.setattr(Transfers, "_engine_executor", lambda self: rec)
    code = main(["push", str(raccoon_voc_dir / "annotations"), "--dataset", "raccoon", "--version", "v1",
                 "--host", emulator.url, "--engine", "dask", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and f"{gone}: no such file on host" in err and "Traceback" not in err
