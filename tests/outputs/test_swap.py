"""The final swap: kill -9 or SIGTERM at any point of a replace leaves the old output or the new one."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from picsellia_formats.outputs import MARKER, commit_file_set, output_dir, prepare, read_marker, swap, temps
from tests.conftest import ROOT

FILES = 120

# The child replaces `out` again and again, each generation writing FILES files that all hold the
# generation number; every step of the swap is slowed so that kills land inside it, not only in
# the writing. The patches are the test's, the code they slow is the library's.
CHILD = textwrap.dedent("""
    import os, sys, time, shutil
    from pathlib import Path
    from picsellia_formats.outputs import output_dir, swap, temps
    swap._EXCHANGE_OK = sys.argv[2] == "exchange"
    def slow(f):
        def g(*a, **k):
            time.sleep(0.01)
            r = f(*a, **k)
            time.sleep(0.01)
            return r
        return g
    swap.os.rename = slow(os.rename)
    swap.os.replace = slow(os.replace)
    swap._write_journal = slow(swap._write_journal)
    swap._exchange = slow(swap._exchange)
    temps.remove = slow(temps.remove)
    swap._fsync_dir = slow(swap._fsync_dir)
    swap.read_marker = slow(swap.read_marker)
    out = Path(sys.argv[1])
    gen = int(sys.argv[3])
    FILES = int(sys.argv[4])
    print("ready", flush=True)
    while True:
        gen += 1
        with output_dir(out, "test") as tmp:
            for i in range(FILES):
                (tmp / f"f{i:04d}.txt").write_text(str(gen))
            (tmp / "gen.txt").write_text(str(gen))
""")


def _generation(out: Path) -> int:
    """The one generation every file of `out` holds (fails on a mix or a partial folder)."""
    files = sorted(p for p in out.iterdir() if p.name != MARKER)
    assert len(files) == FILES + 1, f"{len(files)} files"
    gens = {p.read_text() for p in files}
    assert len(gens) == 1, f"a mix of generations {sorted(gens)}"
    marker = read_marker(out)
    assert marker is not None and marker["files"] == FILES + 1
    return int(gens.pop())


def _first(out: Path) -> None:
    with output_dir(out, "test") as tmp:
        for i in range(FILES):
            (tmp / f"f{i:04d}.txt").write_text("0")
        (tmp / "gen.txt").write_text("0")


@pytest.mark.parametrize("mode", ["exchange", "renames"])
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_a_killed_replace_leaves_old_or_new_never_a_mix(tmp_path: Path, mode: str, sig: int) -> None:
    out = tmp_path / "out"
    _first(out)
    rng = random.Random(f"{mode}{sig}")
    seen = set()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for trial in range(12):
        before = _generation(out)
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(out), mode, str(before * 1000), str(FILES)],
                                 stdout=subprocess.PIPE, env=env)
        assert child.stdout is not None and child.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.0, 0.6))
        child.send_signal(sig)
        code = child.wait(timeout=30)
        child.stdout.close()
        if sig == signal.SIGTERM:
            # 143: the handler removed this run's temporary paths; -15: no temporary path existed
            # at that instant (between two outputs the library restores the default handling)
            assert code in (143, -signal.SIGTERM), code
            leftovers = sorted(p.name for p in tmp_path.iterdir() if p.name != "out")
            assert leftovers == [], f"trial {trial}: SIGTERM left {leftovers}"
        if mode == "exchange" or out.exists():
            seen.add(_generation(out) == before)  # what a user sees right after the kill
        prepare(out)  # what the next run does first
        after = _generation(out)
        assert after == before or after // 1000 == before
        leftovers = sorted(p.name for p in tmp_path.iterdir() if p.name != "out")
        assert leftovers == [], f"trial {trial}: {leftovers}"
    assert len(seen) >= 1


def _stage(target: Path, files: dict[str, str]) -> Path:
    stage = temps.make_temp_dir(target)
    for name, text in files.items():
        (stage / name).write_text(text)
    from picsellia_formats.outputs import write_marker

    write_marker(stage, "test")
    return stage


def _half_done_swap(tmp_path: Path, step: str, old_files: dict[str, str], new_files: dict[str, str],
                    by_inode: bool) -> Path:
    """A target holding `old_files`, a staged `new_files`, the journal written and the swap stopped at `step`;
    the journal names the new folder by its inode (today's) or by its digest only (an older version's)."""
    target = tmp_path / "out"
    _stage_old = _stage(target, old_files)
    os.rename(_stage_old, target)
    temps.release(_stage_old, delete=False)
    stage = _stage(target, new_files)
    if by_inode:  # the case the inode is for: old and new alike but for their bytes
        assert read_marker(stage)["digest"] == read_marker(target)["digest"]
    old = target.with_name(temps.temp_name(target, "old"))
    journal = {"kind": "dir", "stage": stage.name, "old": old.name, "digest": read_marker(stage)["digest"]}
    if by_inode:
        st = os.stat(stage)
        journal["inode"] = [st.st_dev, st.st_ino]
    swap._write_journal(target, journal)
    if step == "aside":
        os.rename(target, old)
    elif step == "placed":
        os.rename(target, old)
        os.rename(stage, target)
    elif step == "exchanged":
        assert swap._exchange(stage, target)
    temps.release(stage, delete=False)
    return target


@pytest.mark.parametrize("step", ["journal", "aside", "placed", "exchanged"])
def test_recovery_from_each_state_of_a_two_rename_swap(tmp_path: Path, step: str) -> None:
    target = _half_done_swap(tmp_path, step, {"old.txt": "old"}, {"new.txt": "new"}, by_inode=False)
    assert swap.recover(target)
    assert sorted(p.name for p in target.iterdir()) == [MARKER, "new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize("step", ["journal", "aside", "placed", "exchanged"])
def test_recovery_tells_outputs_of_the_same_names_and_sizes_apart(tmp_path: Path, step: str) -> None:
    """Old and new outputs alike but for their bytes: the journal names the new one by its inode."""
    target = _half_done_swap(tmp_path, step, {"a.txt": "old"}, {"a.txt": "new"}, by_inode=True)
    assert swap.recover(target)
    assert (target / "a.txt").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_journal_whose_new_folder_is_gone_restores_the_old(tmp_path: Path) -> None:
    target = tmp_path / "out"
    old = target.with_name(".out.pf99999999-ab.old-pf")
    old.mkdir()
    (old / "old.txt").write_text("old")
    swap._write_journal(target, {"kind": "dir", "stage": ".out.pf99999999-cd.tmp-pf", "old": old.name,
                                 "digest": "x"})
    assert swap.recover(target)
    assert [p.name for p in target.iterdir()] == ["old.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_file_set_commit_is_finished_by_the_next_run(tmp_path: Path) -> None:
    prefix = tmp_path / "t.record"
    stale = [tmp_path / f"t.record-{i:05d}-of-00004" for i in range(4)]
    for p in stale:
        p.write_bytes(b"old")
    new = [tmp_path / f"t.record-{i:05d}-of-00002" for i in range(2)]
    tmps = [temps.new_temp_path(p) for p in new]
    for t in tmps:
        t.write_bytes(b"new")
    # killed after the journal: nothing renamed yet
    swap._write_journal(prefix, {"kind": "files", "moves": [[str(t), str(p)] for t, p in zip(tmps, new)],
                                 "remove": [str(p) for p in stale]})
    os.replace(tmps[0], new[0])  # ... and after the first rename
    temps.release(tmps[0], delete=False)
    assert swap.recover(prefix)
    assert sorted(p.name for p in tmp_path.iterdir()) == [p.name for p in new]
    assert all(p.read_bytes() == b"new" for p in new)


def test_commit_file_set_removes_the_previous_shards(tmp_path: Path) -> None:
    prefix = tmp_path / "t.record"
    for i in range(4):
        (tmp_path / f"t.record-{i:05d}-of-00004").write_bytes(b"old")
    (tmp_path / "other.record").write_bytes(b"not ours to touch")
    moves = []
    for i in range(2):
        path = tmp_path / f"t.record-{i:05d}-of-00002"
        tmp = temps.new_temp_path(path)
        tmp.write_bytes(b"new")
        moves.append((tmp, path))
    commit_file_set(moves, [prefix])
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "other.record", "t.record-00000-of-00002", "t.record-00001-of-00002"]
