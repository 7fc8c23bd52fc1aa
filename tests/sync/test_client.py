"""Client: token sources, TLS/http policy, retries (429 + Retry-After, 5xx, dropped connections), lookups
before retrying a creation, pagination."""

from __future__ import annotations

import pickle
import random
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson
import pytest

from picsellia_formats.sync import Client, PlatformError, RetryPolicy, SyncError
from picsellia_formats.sync.client import read_dotenv, resolve_token
from picsellia_formats.sync.emulator import Emulator

from .conftest import FAST

TOKEN = "tok-0123456789abcdef"


class Scripted:
    """A tiny HTTP server answering from a script: path -> list of (status, headers, body); logs calls."""

    def __init__(self) -> None:
        self.script: dict[tuple[str, str], list[tuple[int, dict[str, str], Any]]] = {}
        self.calls: list[tuple[str, str]] = []
        scripted = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def handle_one(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                path = self.path.split("?")[0]
                scripted.calls.append((self.command, path))
                queue = scripted.script.get((self.command, path)) or [(404, {}, {"message": "no script"})]
                status, headers, body = queue.pop(0) if len(queue) > 1 else queue[0]
                if status == 0:  # drop the connection
                    self.close_connection = True
                    return
                data = orjson.dumps(body)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_XGET = do_PATCH = do_DELETE = handle_one

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def on(self, method: str, path: str, *answers: tuple[int, dict[str, str], Any]) -> None:
        self.script[(method, path)] = list(answers)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def scripted() -> Iterator[Scripted]:
    s = Scripted()
    yield s
    s.close()


def _client(url: str, sleeps: list[float] | None = None, policy: RetryPolicy = FAST) -> Client:
    record = sleeps.append if sleeps is not None else (lambda s: None)
    return Client(url, TOKEN, retry=policy, env_file=None, sleep=record)


# -- token and host ---------------------------------------------------------------------------------

def test_token_from_env_then_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("OTHER=1\nPICSELLIA_TOKEN='from-file'\n")
    monkeypatch.delenv("PICSELLIA_API_TOKEN", raising=False)
    monkeypatch.delenv("PICSELLIA_TOKEN", raising=False)
    assert resolve_token(None, env) == "from-file"
    monkeypatch.setenv("PICSELLIA_TOKEN", "from-env")
    assert resolve_token(None, env) == "from-env"
    assert resolve_token("given", env) == "given"
    monkeypatch.delenv("PICSELLIA_TOKEN")
    with pytest.raises(SyncError, match="no API token"):
        resolve_token(None, tmp_path / "missing.env")


@pytest.mark.parametrize(("line", "value"), [
    ("PICSELLIA_API_TOKEN=abc", "abc"), ("export PICSELLIA_API_TOKEN = abc ", "abc"),
    ('PICSELLIA_API_TOKEN="a b#c"', "a b#c"), ("PICSELLIA_API_TOKEN=abc # a comment", "abc"),
    ("# PICSELLIA_API_TOKEN=abc", None), ("PICSELLIA_API_TOKEN=", None), ("PICSELLIA_API_TOKENX=abc", None),
])
def test_dotenv_lines(tmp_path: Path, line: str, value: str | None) -> None:
    (tmp_path / ".env").write_text(line + "\n")
    assert read_dotenv(tmp_path / ".env", "PICSELLIA_API_TOKEN") == value


@pytest.mark.parametrize("host", ["http://example.com", "http://10.0.0.1:8080", "ftp://example.com", "example.com"])
def test_token_is_never_sent_in_clear_to_remote_hosts(host: str) -> None:
    with pytest.raises(SyncError):
        Client(host, TOKEN, env_file=None)


@pytest.mark.parametrize("host", ["http://127.0.0.1:1", "http://localhost:1", "http://[::1]:1", "https://x.org"])
def test_accepted_hosts(host: str) -> None:
    c = Client(host, TOKEN, env_file=None)
    assert c.session.verify is True
    assert TOKEN not in repr(c) and TOKEN not in str(vars(c))
    with pytest.raises(TypeError):
        pickle.dumps(c)


# -- retries ---------------------------------------------------------------------------------------

def test_429_honours_retry_after(scripted: Scripted) -> None:
    scripted.on("GET", "/api/x", (429, {"Retry-After": "3"}, {"message": "slow down"}),
                (429, {"Retry-After": "0.25"}, {"message": "slow down"}), (200, {}, {"ok": 1}))
    sleeps: list[float] = []
    policy = RetryPolicy(attempts=5, base=0.001, cap=0.002, retry_after_cap=10)
    assert _client(scripted.url, sleeps, policy).call("GET", "/api/x") == {"ok": 1}
    assert sleeps == [3.0, 0.25]


def test_retry_after_is_capped_and_dates_are_read(scripted: Scripted) -> None:
    scripted.on("GET", "/api/x", (429, {"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"}, {}), (200, {}, {}))
    sleeps: list[float] = []
    _client(scripted.url, sleeps, RetryPolicy(attempts=3, retry_after_cap=7)).call("GET", "/api/x")
    assert sleeps == [7]


def test_5xx_and_drops_are_retried_with_growing_backoff(scripted: Scripted) -> None:
    scripted.on("GET", "/api/x", (500, {}, {"message": "boom"}), (0, {}, None), (502, {}, {}), (503, {}, {}),
                (200, {}, [1]))
    sleeps: list[float] = []
    policy = RetryPolicy(attempts=6, base=1.0, cap=100.0)
    assert _client(scripted.url, sleeps, policy).call("GET", "/api/x") == [1]
    assert len(sleeps) == 4
    for n, s in enumerate(sleeps):
        assert 2**n / 2 <= s <= 2**n


def test_backoff_jitter_stays_in_bounds() -> None:
    policy = RetryPolicy(base=0.5, cap=4.0)
    rng = random.Random(0)
    for n in range(10):
        d = min(4.0, 0.5 * 2**n)
        values = [policy.delay(n, rng) for _ in range(50)]
        assert all(d / 2 <= v <= d for v in values) and len(set(values)) > 1


def test_gives_up_after_the_attempts(scripted: Scripted) -> None:
    scripted.on("GET", "/api/x", (503, {}, {"message": "down"}))
    with pytest.raises(SyncError, match="gave up after 3 attempts"):
        _client(scripted.url, [], RetryPolicy(attempts=3)).call("GET", "/api/x")
    assert scripted.calls.count(("GET", "/api/x")) == 3


@pytest.mark.parametrize(("status", "kind"), [(400, "BadRequest"), (404, "NotFound"), (409, "Conflict"),
                                              (422, "Unprocessable"), (403, "Forbidden")])
def test_client_errors_are_not_retried(scripted: Scripted, status: int, kind: str) -> None:
    scripted.on("GET", "/api/x", (status, {}, {"message": kind, "detail": ["a", "b"]}))
    with pytest.raises(PlatformError) as err:
        _client(scripted.url, []).call("GET", "/api/x")
    assert err.value.status == status and kind in str(err.value) and "['a', 'b']" in str(err.value)
    assert scripted.calls == [("GET", "/api/x")]


def test_208_is_an_error(scripted: Scripted) -> None:
    scripted.on("POST", "/api/x", (208, {}, {}))
    with pytest.raises(PlatformError, match="already has this name"):
        _client(scripted.url, []).call("POST", "/api/x", json={})


@pytest.mark.parametrize("failure", [(500, {}, {"message": "boom"}), (0, {}, None)])
def test_create_looks_up_before_retrying(scripted: Scripted, failure: tuple[int, dict[str, str], Any]) -> None:
    scripted.on("POST", "/api/things", failure, (201, {}, {"id": "new"}))
    scripted.on("GET", "/api/things/find", (200, {}, {"id": "made-by-the-lost-call"}))
    c = _client(scripted.url, [])
    found = c.create("/api/things", {"name": "a"}, lambda: c.find("/api/things/find", {"name": "a"}))
    assert found == {"id": "made-by-the-lost-call"}
    assert scripted.calls.count(("POST", "/api/things")) == 1


def test_create_retries_when_the_lookup_finds_nothing(scripted: Scripted) -> None:
    scripted.on("POST", "/api/things", (500, {}, {}), (201, {}, {"id": "new"}))
    scripted.on("GET", "/api/things/find", (404, {}, {"message": "not found"}))
    c = _client(scripted.url, [])
    assert c.create("/api/things", {}, lambda: c.find("/api/things/find", {})) == {"id": "new"}
    assert scripted.calls.count(("POST", "/api/things")) == 2


def test_create_on_409_returns_the_existing_object(scripted: Scripted) -> None:
    scripted.on("POST", "/api/things", (409, {}, {"message": "exists"}))
    scripted.on("GET", "/api/things/find", (200, {}, {"id": "old"}))
    c = _client(scripted.url, [])
    assert c.create("/api/things", {}, lambda: c.find("/api/things/find", {})) == {"id": "old"}


def test_429_on_a_creation_is_retried_without_lookup(scripted: Scripted) -> None:
    scripted.on("POST", "/api/things", (429, {"Retry-After": "0"}, {}), (201, {}, {"id": "new"}))
    c = _client(scripted.url, [])
    assert c.create("/api/things", {}, lambda: pytest.fail("no lookup after a 429")) == {"id": "new"}


def test_token_goes_to_the_api_only(scripted: Scripted) -> None:
    seen: dict[str, str | None] = {}

    class Probe(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            seen["auth"] = self.headers.get("Authorization")
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    storage = ThreadingHTTPServer(("127.0.0.1", 0), Probe)
    threading.Thread(target=storage.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        c = _client(scripted.url, [])
        c._org = {"id": "org", "name": "o", "default_connector_id": "conn"}
        c._lake = {"id": "lake", "connector_id": "conn"}
        url = f"http://127.0.0.1:{storage.server_address[1]}/upload"
        scripted.on("POST", "/api/object-storage/conn/generate_presigned_url",
                    (200, {}, {"client_type": "aws", "presigned_url_data": {"url": url, "fields": {"key": "k"}}}))
        c.upload_object("k", b"bytes", "image/jpeg")
        assert seen == {"auth": None}
    finally:
        storage.shutdown()
        storage.server_close()


# -- against the emulator ---------------------------------------------------------------------------

def test_connect_and_organization_by_name(emulator: Emulator) -> None:
    c = Client(emulator.url, emulator.token, organization=emulator.organization_name, retry=FAST, env_file=None)
    assert c.organization["id"] == emulator.organization_id
    assert c.datalake["name"] == "default"
    with pytest.raises(PlatformError) as err:
        Client(emulator.url, "wrong-token", retry=FAST, env_file=None).connect()
    assert err.value.status == 401


def test_paginate_follows_cursors(client: Client) -> None:
    for i in range(7):
        client.get_or_create_dataset(f"d{i}")
    org = client.organization["id"]
    names = [d["name"] for d in client.paginate(f"/api/organization/{org}/datasets", limit=3)]
    assert names == [f"d{i}" for i in range(7)]


def test_get_or_create_is_idempotent(client: Client, emulator: Emulator) -> None:
    a = client.get_or_create_dataset("same")
    b = client.get_or_create_dataset("same")
    v1 = client.get_or_create_version(a["id"], "v1", "OBJECT_DETECTION")
    v2 = client.get_or_create_version(a["id"], "v1")
    assert a["id"] == b["id"] and v1["id"] == v2["id"]
    assert client.bulk_labels(v1["id"], ["a", "b"]) == client.bulk_labels(v1["id"], ["b", "a"])
    counts = emulator.stats()["counts"]
    assert (counts["datasets"], counts["versions"], counts["labels"]) == (1, 1, 2)


def test_creations_under_faults_make_one_object(emulator: Emulator, client: Client) -> None:
    client.connect()
    emulator.configure(fail_rate=0.5, fail_kinds=("500", "drop"), seed=11)
    for i in range(10):
        ds = client.get_or_create_dataset(f"ds{i}")
        client.get_or_create_version(ds["id"], "v1")
    emulator.configure(fail_rate=0.0)
    counts = emulator.stats()["counts"]
    assert (counts["datasets"], counts["versions"]) == (10, 10)
    assert emulator.stats()["faults"]["drop"] > 0


def test_tls_failures_fail_fast(emulator: Emulator) -> None:
    sleeps: list[float] = []
    c = Client(emulator.url.replace("http://", "https://"), emulator.token, retry=FAST, env_file=None,
               sleep=sleeps.append)
    with pytest.raises(SyncError, match="TLS"):
        c.connect()
    assert sleeps == []


def test_labels_are_listed_across_pages(client: Client) -> None:
    ds = client.get_or_create_dataset("many")
    v = client.get_or_create_version(ds["id"], "v1")
    names = [f"label-{i:04d}" for i in range(1205)]
    client.bulk_labels(v["id"], names)
    assert [label["name"] for label in client.list_labels(v["id"])] == names
