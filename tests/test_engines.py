"""The Dask engine runs the same shard function as the local pool and gives the same findings.

Needs the ``dask`` extra: skipped with the reason outside CI, an error under CI=true (CI installs it).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

import picsellia_formats as pf
from picsellia_formats import engines
from picsellia_formats.errors import OptionError
from tests.conftest import require

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "fixtures" / "sahi_coco" / "coco_utils" / "terrain2_coco.json"


def _need_dask() -> None:
    require("distributed", "dask", "the Dask engine")


def _key(report) -> list[tuple]:
    return sorted((f.code, f.severity, f.asset_index, f.object_index, f.message, f.asset, f.file, f.record)
                  for f in report)


def test_importing_the_package_does_not_import_dask() -> None:
    code = "import picsellia_formats, picsellia_formats.engines, sys; print('distributed' in sys.modules)"
    import subprocess

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.stdout.strip() == "False"


def test_unknown_engine_is_an_option_error() -> None:
    with pytest.raises(OptionError, match="engine must be one of"):
        with engines.executor("spark"):
            pass


def test_dask_cluster_gives_the_pool_findings(tmp_path: Path) -> None:
    _need_dask()
    images = tmp_path / "images"
    shutil.copytree(FIXTURE.parent, images)
    # defects for the image checks to find: a truncated file and a missing one
    jpgs = sorted(images.glob("*.jpg")) + sorted(images.glob("*.png"))
    assert jpgs, "the fixture has images"
    data = jpgs[0].read_bytes()
    jpgs[0].write_bytes(data[: len(data) // 2])
    if len(jpgs) > 1:
        jpgs[1].unlink()
    pool = pf.validate(FIXTURE, images=images, workers=2, engine="local")
    dask = pf.validate(FIXTURE, images=images, workers=2, engine="dask")
    assert {f.code for f in pool} & {"image-truncated", "image-unreadable", "image-missing"}
    assert _key(dask) == _key(pool)
    assert dask.options == pool.options


def test_cli_engine_flag(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    _need_dask()
    from picsellia_formats.cli import main

    args = ["validate", str(FIXTURE), "--images", str(FIXTURE.parent), "--workers", "2", "-q"]
    main([*args, "--json", str(tmp_path / "pool.json")])
    main([*args, "--engine", "dask", "--json", str(tmp_path / "dask.json")])
    import orjson

    pool, dask = (orjson.loads((tmp_path / n).read_bytes()) for n in ("pool.json", "dask.json"))
    assert pool["findings"] == dask["findings"]


def _square_plus(shard: list[int], context: int) -> list[int]:
    if context < 0 and 13 in shard:
        raise ValueError("shard with 13")
    return [x * x + context for x in shard]


@pytest.mark.parametrize("workers", [0, 2])
def test_map_shards_keeps_order_and_sends_the_context(workers: int) -> None:
    shards = [[i, i + 1] for i in range(0, 40, 2)]
    assert list(engines.map_shards(_square_plus, shards, 1, workers=workers)) == [[x * x + 1 for x in s]
                                                                                    for s in shards]


@pytest.mark.parametrize("workers", [0, 2])
def test_map_shards_raises_the_shard_error_at_its_turn(workers: int) -> None:
    got = []
    with pytest.raises(ValueError, match="shard with 13"):
        for result in engines.map_shards(_square_plus, ([i] for i in range(20)), -1, workers=workers):
            got.append(result)
    assert got == [[i * i - 1] for i in range(13)]


def test_map_shards_pulls_the_shards_lazily() -> None:
    pulled = []

    def shards():
        for i in range(100):
            pulled.append(i)
            yield [i]

    results = engines.map_shards(_square_plus, shards(), 0, workers=2, window=3)
    assert next(results) == [0]
    assert len(pulled) <= 4  # the window, plus the one that filled it
    results.close()


def test_map_shards_unknown_engine() -> None:
    with pytest.raises(OptionError, match="engine must be one of"):
        list(engines.map_shards(_square_plus, [[1]], 0, engine="ray"))


def test_map_shards_on_dask_gives_the_pool_results() -> None:
    _need_dask()
    shards = [[i, i + 1] for i in range(0, 30, 2)]
    pool = list(engines.map_shards(_square_plus, shards, 5, workers=2))
    dask = list(engines.map_shards(_square_plus, shards, 5, engine="dask", workers=2, window=4))
    assert dask == pool
