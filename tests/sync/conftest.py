"""Fixtures of the sync tests: an emulator on 127.0.0.1 (port 0) in a thread, a fast client, raccoon_voc."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

import picsellia_formats as pf
from picsellia_formats.sync import Client, RetryPolicy
from picsellia_formats.sync.emulator import Emulator, Settings

ROOT = Path(__file__).resolve().parents[2]
RACCOON = ROOT / "fixtures" / "raccoon_voc"
RACCOON_IMAGES = RACCOON / "images"
#: short waits so that fault-injection tests stay fast
FAST = RetryPolicy(attempts=10, base=0.005, cap=0.05, retry_after_cap=0.5, poll_interval=0.005, poll_cap=0.05,
                   poll_timeout=60)


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[Emulator]:
    with Emulator(tmp_path / "emulator-state", settings=Settings(retry_after=0.01, seed=7)) as emu:
        yield emu


@pytest.fixture
def client(emulator: Emulator) -> Iterator[Client]:
    with Client(emulator.url, emulator.token, retry=FAST, env_file=None) as c:
        yield c


def raccoon_dataset() -> pf.Dataset:
    """raccoon_voc read by the VOC reader, kept to the 40 images that are bundled."""
    ds = pf.read(RACCOON / "annotations", "voc")
    have = {p.name for p in RACCOON_IMAGES.iterdir()}
    ds.assets = [a for a in ds.assets if a.file_name in have]
    assert len(ds.assets) == 40
    return ds


@pytest.fixture
def raccoon() -> pf.Dataset:
    return raccoon_dataset()


@pytest.fixture
def raccoon_voc_dir(tmp_path: Path) -> Path:
    """A copy of raccoon_voc holding only the 40 XML files whose images are bundled."""
    out = tmp_path / "raccoon_src"
    (out / "annotations").mkdir(parents=True)
    for img in RACCOON_IMAGES.iterdir():
        shutil.copy(RACCOON / "annotations" / f"{img.stem}.xml", out / "annotations")
    shutil.copytree(RACCOON_IMAGES, out / "images")
    return out


def boxes_by_file(ds: pf.Dataset) -> dict[str, list[tuple[str, tuple[float, ...]]]]:
    """file name -> sorted (label, box) pairs, numbers compared by value."""
    return {a.file_name: sorted((x.label, tuple(float(v) for v in x.box)) for x in a.annotations) for a in ds}
