"""Temporary paths: removed on SIGTERM/SIGINT, and by the next run when a killed run left them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from picsellia_formats.outputs import output_dir, output_file, temps
from tests.conftest import ROOT

CHILD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from picsellia_formats.outputs import output_dir, output_file
    out = Path(sys.argv[1])
    if sys.argv[2] == "dir":
        with output_dir(out, "test") as tmp:
            (tmp / "a.txt").write_text("x")
            print("ready", flush=True)
            time.sleep(60)
    else:
        with output_file(out) as tmp:
            tmp.write_bytes(b"x")
            print("ready", flush=True)
            time.sleep(60)
""")


def _start(out: Path, what: str) -> subprocess.Popen[bytes]:
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(out), what], stdout=subprocess.PIPE,
                             env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert child.stdout is not None and child.stdout.readline().strip() == b"ready"
    child.stdout.close()
    return child


@pytest.mark.parametrize("what", ["dir", "file"])
@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGINT, -signal.SIGINT)])
def test_a_signal_removes_the_temporary_paths(tmp_path: Path, what: str, sig: int, code: int) -> None:
    child = _start(tmp_path / "out", what)
    assert any(p.name.endswith(".tmp-pf") for p in tmp_path.iterdir())
    child.send_signal(sig)
    # SIGINT: KeyboardInterrupt, which an uncaught Python exits with as the signal (the CLI: 130)
    assert child.wait(timeout=30) == code
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("what", ["dir", "file"])
def test_a_killed_runs_temporaries_are_removed_by_the_next_run(tmp_path: Path, what: str) -> None:
    out = tmp_path / "out"
    child = _start(out, what)
    child.kill()
    child.wait(timeout=30)
    left = [p.name for p in tmp_path.iterdir()]
    assert len(left) == 1 and temps.parse_temp_name(left[0])["pid"] == str(child.pid)
    if what == "dir":
        with output_dir(out, "test") as tmp:
            (tmp / "b.txt").write_text("y")
    else:
        with output_file(out) as tmp:
            tmp.write_bytes(b"y")
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_a_live_runs_temporaries_are_left_alone(tmp_path: Path) -> None:
    out = tmp_path / "out"
    child = _start(out, "dir")
    try:
        assert temps.clean_stale(out) == []
        assert len(list(tmp_path.iterdir())) == 1
    finally:
        child.kill()
        child.wait(timeout=30)
    assert len(temps.clean_stale(out)) == 1


def test_only_the_same_outputs_temporaries_are_cleaned(tmp_path: Path) -> None:
    dead = 2 ** 22 + 12345  # above the default pid_max: no such process
    mine = tmp_path / f".out.pf{dead}-ab12.tmp-pf"
    other = tmp_path / f".other.pf{dead}-ab12.tmp-pf"
    user = tmp_path / ".out.something.tmp"
    for p in (mine, other, user):
        p.write_bytes(b"x")
    assert temps.clean_stale(tmp_path / "out") == [mine]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([other.name, user.name])


def test_a_reused_pid_does_not_protect_an_old_temporary(tmp_path: Path) -> None:
    stale = tmp_path / f".out.pf{os.getpid()}-ab12.tmp-pf"  # our pid, but made before this process
    stale.write_bytes(b"x")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    fresh = tmp_path / temps.temp_name(tmp_path / "out")
    fresh.write_bytes(b"x")
    assert temps.clean_stale(tmp_path / "out") == [stale]
    assert fresh.exists()


@pytest.mark.parametrize("name, parts", [
    (".out.json.pf123-ab12.tmp-pf", ("out.json", "123", "tmp")),
    (".t.record-00000-of-00002.pf9-ff.tmp-pf", ("t.record-00000-of-00002", "9", "tmp")),
    (".a.pf1.pf2-00.old-pf", ("a.pf1", "2", "old")),
    (".out.json.x1y2.tmp-pf", None),
    ("out.pf1-a.tmp-pf", None),
    (".out.pf1-A.tmp-pf", None),
])
def test_temporary_names(name: str, parts: tuple[str, str, str] | None) -> None:
    got = temps.parse_temp_name(name)
    assert (got and (got["name"], got["pid"], got["kind"])) == parts or (got is None and parts is None)


def test_the_default_signal_handling_is_restored_after_the_output(tmp_path: Path) -> None:
    before = signal.getsignal(signal.SIGTERM)
    with output_dir(tmp_path / "o", "test") as tmp:
        (tmp / "a").write_text("x")
        assert signal.getsignal(signal.SIGTERM) is not before
    assert signal.getsignal(signal.SIGTERM) is before
