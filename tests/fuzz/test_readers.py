"""Every registered reader, through the CLI in-process, on mutated copies of the bundled fixtures.

Asserts, for each input: exit 0 or 2 (3 is an internal error, a signal would end the run), every
``error:`` line names the input, nothing hangs, and no temporary file is left behind. The run is
seeded and bounded: ``PF_FUZZ_SCALE`` (default 1: 2,250 inputs, about 65 s on a quiet 2-core machine) multiplies
the number of inputs for long local runs, ``PF_FUZZ_SEED`` changes the seed.

A failure prints each bad case's seed, so ``replay(seed_name, case)`` rebuilds its input.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import io
import os
import random
import signal
from pathlib import Path

import pytest

from picsellia_formats import cli
from picsellia_formats.formats import names
from picsellia_formats.formats.tfrecord.records import frame

from .mutate import mutate
from .seeds import SEEDS, Seed, first_record

SCALE = float(os.environ.get("PF_FUZZ_SCALE", "1"))
BASE_SEED = int(os.environ.get("PF_FUZZ_SEED", "19"))
PER_SEED = max(1, int(150 * SCALE))
#: one input may take this long before it counts as a hang (a FIFO read blocks forever)
HANG_SECONDS = 30
TEMP_MARKS = (".tmp-pf", ".old-pf", ".pf-part", ".swap-pf")


class Hang(BaseException):
    """Raised by the alarm: not an Exception, so the CLI cannot turn it into an exit code."""


def _alarm(signum: int, frame_: object) -> None:
    raise Hang


def build_input(seed: Seed, case: int, folder: Path) -> Path:
    """Materialise case `case` of `seed` under `folder`; return the path given to the CLI."""
    rng = random.Random(f"{BASE_SEED}:{seed.name}:{case}")
    if seed.kind == "record":  # the first record only (the file is 2.4 MB): not copied whole
        given = target = folder / seed.source.name
        record = _first_record(seed.source)
        payload = record[12:-4]
        if rng.random() < 0.8:  # mutate the Example itself, with valid framing, to reach the decoder
            data = frame(mutate(payload, "binary", rng) or b"\x00")
        else:
            data = mutate(record, "binary", rng)
        target.write_bytes(data)
    else:
        given, target = seed.materialise(folder)
        target.write_bytes(mutate(target.read_bytes(), seed.kind, rng))
    return given


@functools.cache
def _first_record(path: Path) -> bytes:
    return first_record(path)


def run_cli(argv: list[str]) -> tuple[int | str, str]:
    err, out = io.StringIO(), io.StringIO()
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(HANG_SECONDS)
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            code: int | str = cli.main(argv)
    except Hang:
        code = "hang"
    except BaseException as exc:  # anything escaping main() is a finding
        code = f"escaped {type(exc).__name__}"
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    return code, err.getvalue()


def leftovers(folder: Path) -> list[str]:
    return sorted(str(p) for p in folder.rglob("*") if any(m in p.name for m in TEMP_MARKS))


def classify(code: int | str, stderr: str, given: Path, folder: Path) -> str:
    """The outcome of one run: ``ok``, ``bad-input``, or the name of the defect."""
    if leftovers(folder):
        return "temp-left"
    if code == 0:
        return "ok"
    if code == 2:
        lines = [line for line in stderr.splitlines() if line.startswith("error:")]
        if not lines or any(str(given) not in line for line in lines):
            return "unnamed"
        return "bad-input"
    if code == 3:
        return "internal"
    return str(code)


def fuzz(seed: Seed, cases: range, tmp: Path) -> tuple[collections.Counter[str], list[str]]:
    counts: collections.Counter[str] = collections.Counter()
    bad: list[str] = []
    for case in cases:
        folder = tmp / f"{seed.name}-{case}"
        folder.mkdir()
        given = build_input(seed, case, folder)
        out = folder / "out.json"
        code, stderr = run_cli(["convert", str(given), str(out), "--from", seed.format, "--to", "coco", "--quiet"])
        outcome = classify(code, stderr, given, folder)
        counts[outcome] += 1
        if outcome not in ("ok", "bad-input"):
            bad.append(f"{seed.name} case {case}: {outcome}: {stderr.strip()[:300]!r}")
    return counts, bad


def test_every_registered_reader_has_a_seed() -> None:
    assert {s.format for s in SEEDS} == set(names())


@pytest.mark.parametrize("seed", SEEDS, ids=[s.name for s in SEEDS])
def test_mutated_inputs_exit_0_or_2_naming_the_file(seed: Seed, tmp_path: Path,
                                                    fuzz_totals: collections.Counter[str]) -> None:
    counts, bad = fuzz(seed, range(PER_SEED), tmp_path)
    fuzz_totals.update(counts)
    if os.environ.get("PF_FUZZ_LOG"):  # every bad case, one line each, for triage of long runs
        with open(os.environ["PF_FUZZ_LOG"], "a", encoding="utf-8") as log:
            log.writelines(f"{line}\n" for line in bad)
    assert not bad, f"{len(bad)} bad outcomes ({dict(counts)}):\n" + "\n".join(bad[:15])
