"""TFRecord encoding on the Dask engine: the same `encode_chunk` as the local pool, the same shard bytes.

Starts a local Dask cluster of 2 worker processes. Needs the ``dask`` extra: skipped with the reason
outside CI, an error under CI=true (``.ci/run`` installs it).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

import picsellia_formats as pf
from picsellia_formats.errors import OptionError
from picsellia_formats.formats.tfrecord.write import write_tfrecords
from picsellia_formats.report import Report
from tests.conftest import require

from .conftest import FIXTURES, RACCOON


def _need_dask() -> None:
    require("distributed", "dask", "TFRecord on Dask")


def _digests(paths: list[Path]) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


def _write(tmp_path: Path, name: str, dataset, **options) -> tuple[dict[str, str], Report]:
    report = Report()
    paths = write_tfrecords(dataset, tmp_path / name / "{split}.record", images=RACCOON / "images", shards=3,
                            split_by_tag=True, skip_missing=True, skip_broken=True, progress=False, report=report,
                            **options)
    return _digests(paths), report


def test_dask_shards_are_the_pool_shards(tmp_path: Path) -> None:
    _need_dask()
    dataset = pf.read(RACCOON / "annotations", "voc")
    for i, asset in enumerate(dataset.assets):  # two record sets, and records spread over 3 shards each
        asset.tags = ["train" if i % 3 else "val"]
    inline, r0 = _write(tmp_path, "inline", dataset, workers=0)
    pool, r1 = _write(tmp_path, "pool", dataset, workers=2, engine="local")
    dask, r2 = _write(tmp_path, "dask", dataset, workers=2, engine="dask")
    assert len(inline) == 6 and r0.stats["records"] == 40  # the 40 raccoon images that are bundled
    assert dask == pool == inline
    assert [str(e) for e in r2.entries] == [str(e) for e in r1.entries] == [str(e) for e in r0.entries]
    assert [s["records"] for s in r2.stats["record_sets"]] == [s["records"] for s in r0.stats["record_sets"]]


def test_dask_reports_broken_images_like_the_pool(tmp_path: Path) -> None:
    _need_dask()
    images = tmp_path / "images"
    images.mkdir()
    names = sorted(p.name for p in (RACCOON / "images").glob("*.jpg"))[:3]
    for n in names:
        (images / n).write_bytes((RACCOON / "images" / n).read_bytes())
    data = (images / names[1]).read_bytes()
    (images / names[1]).write_bytes(data[: len(data) // 3])
    dataset = pf.read(RACCOON / "annotations", "voc")
    dataset.assets = [a for a in dataset.assets if a.file_name in names]
    errors = []
    for engine in ("local", "dask"):
        with pytest.raises(pf.FormatError) as info:
            write_tfrecords(dataset, tmp_path / engine / "x.record", images=images, workers=2, engine=engine,
                            progress=False)
        errors.append(str(info.value))
        assert not list((tmp_path / engine).glob("*")), "nothing written"
    assert errors[0] == errors[1] and names[1] in errors[0]


def test_cli_engine_dask(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    _need_dask()
    from picsellia_formats.cli import main

    args = [str(RACCOON / "annotations"), "--from", "voc", "--images", str(RACCOON / "images"), "--shards", "2",
            "--skip-missing-images", "--workers", "2", "-q"]
    assert main(["tfrecord", *args[:1], str(tmp_path / "pool" / "train.record"), *args[1:]]) == 0
    assert main(["tfrecord", *args[:1], str(tmp_path / "dask" / "train.record"), *args[1:], "--engine", "dask"]) == 0
    assert _digests(sorted((tmp_path / "dask").iterdir())) == _digests(sorted((tmp_path / "pool").iterdir()))


def test_unknown_engine_is_refused_before_writing(tmp_path: Path) -> None:
    dataset = pf.read(RACCOON / "annotations", "voc")
    with pytest.raises(OptionError, match="engine must be one of"):
        write_tfrecords(dataset, tmp_path / "x.record", images=RACCOON / "images", engine="spark",
                        skip_missing=True, progress=False)
    assert not list(tmp_path.iterdir())


def test_dask_on_a_stream_gives_the_in_memory_shards(tmp_path: Path) -> None:
    _need_dask()
    from picsellia_formats.streaming.tfrecord import write_tfrecords_stream

    src = FIXTURES / "sahi_coco" / "coco_utils" / "terrain_all_coco.json"
    images = src.parent
    ds = pf.read(src)
    memory = write_tfrecords(ds, tmp_path / "memory" / "x.record", images=images, shards=2, masks=True,
                             skip_missing=True, workers=0, progress=False)
    dask = write_tfrecords_stream(src, tmp_path / "dask" / "x.record", images=images, shards=2, masks=True,
                                  skip_missing=True, workers=2, engine="dask", progress=False).paths
    assert _digests(dask) == _digests(memory) and len(memory) == 2


def test_registry_writer_takes_the_engine(tmp_path: Path) -> None:
    _need_dask()
    ds = pf.read(RACCOON / "annotations", "voc")
    ds.assets = [a for a in ds.assets if (RACCOON / "images" / a.file_name).is_file()][:10]
    for name, engine in (("pool", "local"), ("dask", "dask")):
        pf.write(ds, tmp_path / name, "tfrecord", images=RACCOON / "images", workers=2, engine=engine, shards=2)
    assert _digests(sorted((tmp_path / "dask").iterdir())) == _digests(sorted((tmp_path / "pool").iterdir()))
    assert len(list((tmp_path / "pool").glob("data.record-*"))) == 2
