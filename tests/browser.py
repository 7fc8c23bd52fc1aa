"""Headless Chromium for tests: a screenshot and the DOM after the page's scripts ran."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage"]


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


#: Chromium is a Debian package (not on PyPI): CI installs it (.ci/run) and must run these tests;
#: elsewhere they run when it is installed.
needs_chromium = pytest.mark.skipif(
    chromium() is None and not os.environ.get("CI"),
    reason="Debian's chromium package is not installed (CI installs it: see .ci/run)",
)


def _run(args: list[str]) -> subprocess.CompletedProcess:
    exe = chromium()
    assert exe, "chromium not found: install Debian's chromium package (apt-get install chromium)"
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run([exe, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, text=True,
                              timeout=120)


def dump_dom(page: Path) -> str:
    """The DOM once the page loaded and ran its scripts."""
    result = _run(["--virtual-time-budget=5000", "--dump-dom", page.resolve().as_uri()])
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def screenshot(page: Path, out: Path, size: tuple[int, int] = (1280, 2400)) -> Path:
    result = _run([f"--window-size={size[0]},{size[1]}", "--virtual-time-budget=5000", f"--screenshot={out}",
                   page.resolve().as_uri()])
    assert result.returncode == 0 and out.exists(), result.stderr[-2000:]
    return out
