"""Issue 19 (sync items): a hostile server cannot exhaust the client (answer and download caps, a deadline
per call, a pagination limit that is an error, no token after a redirect), a token with control characters
is refused unseen, two concurrent pushes do not duplicate, a resumed CONCATENATE push does not duplicate
shapes, and pull's resume files can neither collide with an image nor write through a planted link."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson
import pytest

import picsellia_formats as pf
from picsellia_formats.model import Annotation, Asset, Dataset
from picsellia_formats.sync import Client, SyncError, fetch_dataset, pull, push
from picsellia_formats.sync.client import Limits
from picsellia_formats.sync.emulator import Emulator
from picsellia_formats.sync.pull import download_image

from .conftest import FAST, RACCOON_IMAGES, ROOT
from .shapes_fixture import _image

TOKEN = "hostile-test-token-123"


class Hostile:
    """An HTTP server whose handler is a function of (handler, method, path); logs Authorization headers."""

    def __init__(self, behave: Any) -> None:
        self.auth: list[str | None] = []
        self.calls = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def handle_one(self) -> None:
                outer.calls += 1
                outer.auth.append(self.headers.get("Authorization"))
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                behave(self, self.command, self.path.split("?")[0])

            do_GET = do_POST = do_XGET = handle_one

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _json(h: BaseHTTPRequestHandler, body: Any, status: int = 200, headers: dict[str, str] | None = None) -> None:
    data = orjson.dumps(body)
    h.send_response(status)
    for k, v in (headers or {}).items():
        h.send_header(k, v)
    h.send_header("Content-Length", str(len(data)))
    h.end_headers()
    h.wfile.write(data)


@pytest.fixture
def hostile() -> Iterator[list[Hostile]]:
    servers: list[Hostile] = []
    yield servers
    for s in servers:
        s.close()


def _client(url: str, **limits: Any) -> Client:
    return Client(url, TOKEN, retry=FAST, env_file=None, limits=Limits(**limits))


def test_an_oversized_answer_is_refused(hostile: list[Hostile]) -> None:
    def behave(h: BaseHTTPRequestHandler, method: str, path: str) -> None:
        h.send_response(200)
        h.send_header("Connection", "close")
        h.end_headers()  # no length: the body runs until the connection closes
        h.wfile.write(b'{"items": ["' + b"x" * 50_000 + b'"]}')
        h.close_connection = True

    hostile.append(Hostile(behave))
    with pytest.raises(SyncError, match="over the 10,000-byte limit"):
        _client(hostile[0].url, response_bytes=10_000).call("GET", "/api/home/ping")


def test_a_stated_oversized_answer_is_refused_before_reading(hostile: list[Hostile]) -> None:
    def behave(h: BaseHTTPRequestHandler, method: str, path: str) -> None:
        h.send_response(200)
        h.send_header("Content-Length", str(3 << 30))
        h.end_headers()
        h.wfile.write(b"{")

    hostile.append(Hostile(behave))
    with pytest.raises(SyncError, match="3,221,225,472 bytes"):
        _client(hostile[0].url).call("GET", "/api/home/ping")


def test_a_trickling_server_meets_the_deadline(hostile: list[Hostile]) -> None:
    def behave(h: BaseHTTPRequestHandler, method: str, path: str) -> None:
        h.send_response(200)
        h.send_header("Content-Length", "100000")
        h.end_headers()
        for _ in range(200):
            try:
                h.wfile.write(b" " * 500)
                h.wfile.flush()
            except OSError:
                return
            time.sleep(0.05)

    hostile.append(Hostile(behave))
    t0 = time.monotonic()
    with pytest.raises(SyncError, match="deadline"):
        _client(hostile[0].url, deadline=0.5).call("GET", "/api/home/ping")
    assert time.monotonic() - t0 < 3


def test_an_endless_cursor_is_an_error_not_complete(hostile: list[Hostile]) -> None:
    hostile.append(Hostile(lambda h, m, p: _json(h, {"items": [{"id": 1}], "count": 10**9, "next_cursor": "again"})))
    client = _client(hostile[0].url, pages=25)
    with pytest.raises(SyncError, match="did not end after 25 pages"):
        list(client.paginate("/api/anything"))
    assert hostile[0].calls == 25


def test_a_redirect_to_another_host_never_carries_the_token(hostile: list[Hostile]) -> None:
    hostile.append(Hostile(lambda h, m, p: _json(h, {"username": "x"})))
    other = hostile[0]
    hostile.append(Hostile(lambda h, m, p: _json(h, {}, 302, {"Location": other.url + "/api/home/ping"})))
    with pytest.raises(SyncError):
        _client(hostile[1].url).call("GET", "/api/home/ping")
    assert hostile[1].auth == [f"Bearer {TOKEN}"]
    assert all(TOKEN not in (a or "") for a in other.auth)


def test_a_download_over_its_cap_leaves_nothing(hostile: list[Hostile], tmp_path: Path) -> None:
    def behave(h: BaseHTTPRequestHandler, method: str, path: str) -> None:
        h.send_response(200)
        h.send_header("Connection", "close")
        h.end_headers()
        for _ in range(100):
            try:
                h.wfile.write(b"\0" * 10_000)
            except OSError:
                return
        h.close_connection = True

    hostile.append(Hostile(behave))
    client = _client(hostile[0].url, download_bytes=50_000)
    target = tmp_path / "out" / "a.jpg"
    with pytest.raises(SyncError, match="more than the limit"):
        download_image(client, target, {"id": str(uuid.uuid4()), "presigned_url": hostile[0].url + "/obj"})
    assert not target.exists() and not list((tmp_path / "out").rglob("*.part"))


@pytest.mark.parametrize("token", ["abc\ndef", "abc\rdef", "ab\x00c", "tab\there", "del\x7f"])
def test_a_token_with_control_characters_is_refused_unseen(token: str) -> None:
    with pytest.raises(SyncError) as err:
        Client("https://example.invalid", token, env_file=None)
    assert token not in str(err.value) and "abc" not in str(err.value) and "control character" in str(err.value)


def test_the_cli_refuses_such_a_token_with_exit_2(tmp_path: Path) -> None:
    env = dict(os.environ, PICSELLIA_TOKEN="secret-part\nsecond-line", PICSELLIA_API_TOKEN="secret-part\nsecond-line",
               PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", "picsellia_formats", "pull", str(tmp_path / "o"), "--dataset", "d",
                           "--version", "v1", "--to", "coco", "--host", "http://127.0.0.1:9"], env=env,
                          capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert proc.returncode == 2 and "control character" in proc.stderr, proc.stderr
    assert "secret-part" not in proc.stderr + proc.stdout and "Traceback" not in proc.stderr


# -- concurrent and resumed pushes ----------------------------------------------------------------------


def _small(folder: Path, n: int = 30) -> Dataset:
    folder.mkdir(parents=True, exist_ok=True)
    assets = []
    for i in range(n):
        _image(folder / f"i{i:03d}.png", "PNG", seed=i)
        assets.append(Asset(f"i{i:03d}.png", 64, 48, [Annotation("a", box=(i % 9, 1, 5, 5)),
                                                      Annotation("b", box=(2, 2, 3, 3))]))
    return Dataset(assets=assets)


def test_two_concurrent_pushes_do_not_duplicate(emulator: Emulator, tmp_path: Path) -> None:
    ds = _small(tmp_path / "img")
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with Client(emulator.url, emulator.token, retry=FAST, env_file=None) as c:
                push(ds, tmp_path / "img", "race", "v1", client=c, quiet=True, workers=4)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    counts = emulator.store.counts()
    assert (counts["datasets"], counts["versions"], counts["labels"]) == (1, 1, 2)
    assert (counts["assets"], counts["annotations"], counts["shapes"]) == (30, 30, 60)
    assert counts["datas"] <= 60  # data uploaded twice in the race are orphans in the datalake, never assets


def test_a_later_push_repairs_duplicate_assets(emulator: Emulator, client: Client, tmp_path: Path) -> None:
    ds = _small(tmp_path / "img", 3)
    push(ds, tmp_path / "img", "dup", "v1", client=client, quiet=True)
    vid = client.find_version(client.find_dataset("dup")["id"], "v1")["id"]
    # a second data with the same name and content, attached too: what two racing pushes left before the fix
    first = client.list_datas("filenames", ["i000.png"])[0]
    name = client.generate_object_name("i000.png")
    client.upload_object(name, (tmp_path / "img" / "i000.png").read_bytes(), "image/png")
    data = client.register_data({"type": "IMAGE", "filename": "i000.png", "object_name": name,
                                 "content_type": "image/png", "tags": [], "data_source_id": None,
                                 "custom_metadata": first["custom_metadata"]})
    client.poll("processing", lambda: client.call("GET", f"/api/data/{data['id']}")["upload_status"] == "DONE")
    client.add_assets(vid, [data["id"]])
    assert emulator.store.counts()["assets"] == 4
    ds.assets[0].annotations = ds.assets[0].annotations[:1]
    result = push(ds, tmp_path / "img", "dup", "v1", client=client, quiet=True)
    assert emulator.store.counts()["assets"] == 3
    assert "duplicate assets removed" in str(result.report) or len(client.list_assets(vid)) == 3


def test_a_resumed_concatenate_push_adds_each_shape_once(emulator: Emulator, client: Client, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    ds = _small(tmp_path / "img")
    push(Dataset(assets=[Asset(a.file_name, 64, 48) for a in ds]), tmp_path / "img", "cat", "v1",
         type="OBJECT_DETECTION", client=client, quiet=True)
    real = client.bulk_annotations
    sent = []

    def cut(*args: Any, **kw: Any) -> Any:
        if sent:
            raise KeyboardInterrupt  # the process dies after the first chunk
        sent.append(1)
        return real(*args, **kw)

    monkeypatch.setattr(client, "bulk_annotations", cut)
    with pytest.raises(KeyboardInterrupt):
        push(ds, tmp_path / "img", "cat", "v1", client=client, quiet=True, mode="CONCATENATE", chunk_size=10,
             workers=1)
    monkeypatch.undo()
    assert 0 < emulator.store.counts()["shapes"] < 60
    push(ds, tmp_path / "img", "cat", "v1", client=client, quiet=True, mode="CONCATENATE", chunk_size=10)
    assert emulator.store.counts()["shapes"] == 60
    again = push(ds, tmp_path / "img", "cat", "v1", client=client, quiet=True, mode="CONCATENATE")
    assert emulator.store.counts()["shapes"] == 60 and again.annotations_unchanged == 30


# -- pull's resume files ----------------------------------------------------------------------------------


def test_an_image_named_like_a_resume_file_is_not_lost(client: Client, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    _image(src / "x.jpg", "JPEG", seed=1)
    _image(src / "x.jpg.pf-part", "JPEG", seed=2)
    _image(src / "x.jpg.part", "JPEG", seed=3)
    ds = Dataset(assets=[Asset(n, 64, 48) for n in ("x.jpg", "x.jpg.pf-part", "x.jpg.part")])
    push(ds, src, "names", "v1", client=client, quiet=True)
    dest = tmp_path / "out"
    for _ in range(2):
        pull("names", "v1", dest, "coco", client=client, quiet=True)
        for name in ("x.jpg", "x.jpg.pf-part", "x.jpg.part"):
            assert (dest / "images" / name).read_bytes() == (src / name).read_bytes()
        (dest / "images" / "x.jpg").unlink()
    assert not (dest / ".pf-pull").exists()


def test_a_planted_link_is_never_written_through(client: Client, raccoon: pf.Dataset, tmp_path: Path) -> None:
    push(raccoon, RACCOON_IMAGES, "r", "v1", client=client, quiet=True)
    _, data_of = fetch_dataset(client, "r", "v1")
    outside = tmp_path / "outside.txt"
    outside.write_text("keep me")
    dest = tmp_path / "out"
    (dest / ".pf-pull").mkdir(parents=True)
    (dest / "images").mkdir()
    for name, data in data_of.items():
        os.symlink(outside, dest / ".pf-pull" / f"{data['id']}.part")
        os.symlink(outside, dest / "images" / f"{name}.pf-part")  # where 0.1 kept its resume files
    pull("r", "v1", dest, "coco", client=client, quiet=True)
    assert outside.read_text() == "keep me"
    pulled = [p for p in (dest / "images").iterdir() if not p.is_symlink()]
    assert len(pulled) == 40 and all(p.read_bytes() == (RACCOON_IMAGES / p.name).read_bytes() for p in pulled)


def test_a_resume_folder_that_is_a_link_is_refused(client: Client, raccoon: pf.Dataset, tmp_path: Path) -> None:
    push(raccoon, RACCOON_IMAGES, "r", "v1", client=client, quiet=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    dest = tmp_path / "out"
    dest.mkdir()
    os.symlink(elsewhere, dest / ".pf-pull")
    with pytest.raises(SyncError, match="not a folder of ours"):
        pull("r", "v1", dest, "coco", client=client, quiet=True)
    assert not list(elsewhere.iterdir())


# -- the emulator's own defences -----------------------------------------------------------------------------


def _raw(emu: Emulator, head: bytes, timeout: float = 3.0) -> bytes:
    host, port = emu.address.split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as s:
        s.sendall(head)
        chunks = []
        try:
            while chunk := s.recv(65536):
                chunks.append(chunk)
        except TimeoutError:
            pass
        return b"".join(chunks)


@pytest.mark.parametrize("length, status", [(b"-1", b"400"), (b"abc", b"400"), (b"99999999999", b"413")])
def test_a_bad_content_length_is_answered_at_once(emulator: Emulator, length: bytes, status: bytes) -> None:
    t0 = time.monotonic()
    answer = _raw(emulator, b"POST /api/home/ping HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                  emulator.token.encode() + b"\r\nContent-Length: " + length + b"\r\n\r\n")
    assert answer.split(b" ")[1] == status and time.monotonic() - t0 < 2.5


@pytest.mark.parametrize("values", [{"fail_rate": "lots"}, {"fail_rate": 2}, {"max_body": -1},
                                    {"fail_kinds": "500"}, {"verbose": "yes"}, {"retry_after": None}])
def test_settings_of_the_wrong_type_are_refused_and_change_nothing(emulator: Emulator, client: Client,
                                                                   values: dict[str, Any]) -> None:
    import requests

    r = requests.post(emulator.url + "/_emulator/settings", json=values,
                      headers={"Authorization": f"Bearer {emulator.token}"})
    assert r.status_code == 422
    assert client.get_or_create_dataset("still-fine")["name"] == "still-fine"
