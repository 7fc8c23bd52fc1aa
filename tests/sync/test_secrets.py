"""The API token never shows: not in logs (DEBUG included), errors, reports, reprs or CLI output."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

import picsellia_formats as pf
from picsellia_formats.sync import Client, PlatformError, SyncError, pull, push
from picsellia_formats.sync.emulator import Emulator

from .conftest import FAST, RACCOON_IMAGES, ROOT
from .test_client import Scripted

SECRET = "s3cr3t-token-that-must-never-show-0123456789"


@pytest.fixture
def secret_emulator(tmp_path: Path):
    with Emulator(tmp_path / "state", token=SECRET) as emu:
        yield emu


def test_token_absent_from_everything_in_process(secret_emulator: Emulator, raccoon: pf.Dataset, tmp_path: Path,
                                                 caplog: pytest.LogCaptureFixture,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    caplog.set_level(logging.DEBUG)  # root: our logger, urllib3, everything
    texts: list[str] = []
    secret_emulator.configure(fail_rate=0.2, retry_after=0.01, seed=5)
    client = Client(secret_emulator.url, SECRET, retry=FAST, env_file=None)
    texts += [repr(client), str(client), repr(client._secret), repr(vars(client)), repr(client.session.auth),
              repr(client._auth)]
    r1 = push(raccoon, RACCOON_IMAGES, "raccoon", "v1", tags=["t"], client=client)
    r2 = pull("raccoon", "v1", tmp_path / "out", "coco", client=client)
    secret_emulator.configure(fail_rate=0.0)
    texts += [repr(r1), r1.summary(), str(r1.report), repr(r1.report.to_dict()), repr(r2), r2.summary()]
    for call in (lambda: pull("missing", "v1", tmp_path / "x", "coco", client=client),
                 lambda: client.call("GET", "/api/organization/00000000-0000-0000-0000-000000000000"),
                 lambda: Client(secret_emulator.url, SECRET + "-wrong", retry=FAST, env_file=None).connect()):
        with pytest.raises(SyncError) as err:
            call()
        texts += [str(err.value), repr(err.value), repr(err.value.args)]
    assert any(r.levelno == logging.DEBUG for r in caplog.records)
    assert sum(secret_emulator.stats()["faults"].values()) > 0
    captured = capsys.readouterr()
    texts += [captured.out, captured.err, caplog.text] + [r.getMessage() for r in caplog.records]
    leaks = [t for t in texts if SECRET in t]
    assert not leaks, leaks[:1]


def test_an_echoed_token_is_redacted() -> None:
    server = Scripted()
    try:
        server.on("GET", "/api/x", (400, {}, {"message": f"bad token {SECRET}", "detail": [SECRET]}))
        with pytest.raises(PlatformError) as err:
            Client(server.url, SECRET, retry=FAST, env_file=None).call("GET", "/api/x")
        assert SECRET not in str(err.value) and "<token hidden>" in str(err.value)
    finally:
        server.close()


def test_token_absent_from_cli_output(secret_emulator: Emulator, raccoon_voc_dir: Path, tmp_path: Path) -> None:
    secret_emulator.configure(fail_rate=0.2, retry_after=0.01, seed=9)
    env = dict(os.environ, PICSELLIA_TOKEN=SECRET, PF_SYNC_BACKOFF="0.005", PYTHONPATH=str(ROOT))
    base = [sys.executable, "-m", "picsellia_formats"]
    runs = [
        [*base, "push", str(raccoon_voc_dir / "annotations"), "--from", "voc", "--dataset", "r", "--version", "v1",
         "--host", secret_emulator.url, "--verbose"],
        [*base, "pull", str(tmp_path / "out"), "--dataset", "r", "--version", "v1", "--to", "voc",
         "--host", secret_emulator.url, "--verbose"],
        [*base, "pull", str(tmp_path / "out2"), "--dataset", "missing", "--version", "v1", "--to", "coco",
         "--host", secret_emulator.url, "--verbose"],
    ]
    codes = []
    for cmd in runs:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
        codes.append(proc.returncode)
        assert SECRET not in proc.stdout and SECRET not in proc.stderr
        assert "picsellia_formats.sync" in proc.stderr  # the debug log was on
    assert codes == [0, 0, 2]
