"""The output policy, command by command: a foreign output refused and untouched, our own previous
output replaced whole (no stale file), ``--overwrite``, existing files refused (issues 15 and 19)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

import picsellia_formats as pf
from picsellia_formats.cli import main
from picsellia_formats.formats.tfrecord.records import iter_records
from picsellia_formats.outputs import MARKER
from tests.conftest import FIXTURES, ROOT

RACCOON = FIXTURES / "raccoon_voc"
RECORD = RACCOON / "data" / "test.record"  # 8 images, with their bytes
VOC_CATS = FIXTURES / "voc_toy_cats"
TERRAIN = FIXTURES / "sahi_coco/coco_utils/combined_coco.json"
TERRAIN_IMAGES = FIXTURES / "sahi_coco/coco_utils"
PICS = FIXTURES / "picsellia_coco_det/annotations.json"


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _no_temporaries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.name.endswith(("-pf", ".pf-probe")))


@pytest.fixture(scope="module")
def record_images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("rec") / "img"
    pf.read(RECORD, extract_images=out)
    return out


def _foreign(tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    folder = tmp_path / "mine"
    (folder / "sub").mkdir(parents=True)
    (folder / "notes.md").write_text("my notes")
    (folder / "sub" / "a.txt").write_text("keep")
    return folder, _tree(folder)


# ------------------------------------------------------------------------------- folder commands

FOLDER_COMMANDS = {
    "convert-yolo": ("convert", str(TERRAIN), "{out}", "--to", "yolo", "--images", str(TERRAIN_IMAGES)),
    "convert-voc": ("convert", str(TERRAIN), "{out}", "--to", "voc"),
    "split": ("split", str(TERRAIN), "{out}", "--ratios", "0.5,0.5", "--method", "fast"),
    "rasterise": ("rasterise", str(TERRAIN), "{out}"),
    "preview": ("preview", str(TERRAIN), "{out}", "--images", str(TERRAIN_IMAGES)),
}


@pytest.mark.parametrize("argv", FOLDER_COMMANDS.values(), ids=FOLDER_COMMANDS.keys())
def test_a_foreign_folder_is_refused_untouched_and_replaced_with_overwrite(argv: tuple[str, ...], tmp_path: Path,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    folder, before = _foreign(tmp_path)
    args = [a.replace("{out}", str(folder)) for a in argv]
    assert main([*args, "-q"]) == 2
    err = capsys.readouterr().err
    assert str(folder) in err and "--overwrite" in err
    assert _tree(folder) == before
    assert main([*args, "-q", "--overwrite"]) == 0
    assert not (folder / "notes.md").exists() and not (folder / "sub" / "a.txt").exists()
    assert (folder / MARKER).is_file()
    assert main([*args, "-q"]) == 0  # our own previous output: replaced without asking
    assert _no_temporaries(tmp_path) == []


@pytest.mark.parametrize("argv", FOLDER_COMMANDS.values(), ids=FOLDER_COMMANDS.keys())
def test_a_file_added_to_our_output_makes_it_foreign(argv: tuple[str, ...], tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = [a.replace("{out}", str(out)) for a in argv]
    assert main([*args, "-q"]) == 0
    (out / "added-by-me.txt").write_text("x")
    assert main([*args, "-q"]) == 2
    assert (out / "added-by-me.txt").read_text() == "x"


def test_another_commands_output_is_not_replaced_without_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["rasterise", str(TERRAIN), str(out), "-q"]) == 0
    assert main(["convert", str(TERRAIN), str(out), "--to", "voc", "-q"]) == 2
    assert (out / "labels.txt").exists()


def test_yolo_rewrite_leaves_no_label_file_of_the_previous_run(tmp_path: Path) -> None:
    out = tmp_path / "yolo"
    voc = pf.read(RACCOON / "annotations", "voc")
    first = pf.Dataset(voc.labels, voc.assets[:30])
    second = pf.Dataset([pf.Label("cat"), pf.Label("raccoon")], voc.assets[30:35])
    pf.write(first, out, "yolo")
    pf.write(second, out, "yolo")  # the same kind of output of ours: replaced whole
    labels = sorted(p.name for p in out.rglob("*.txt") if p.name != "classes.txt")
    assert len(labels) == 5
    assert (out / "classes.txt").read_text().split() == ["cat", "raccoon"]
    assert len(pf.read(out, "yolo")) == 5


def test_voc_rewrite_leaves_no_stale_xml(tmp_path: Path) -> None:
    out = tmp_path / "voc"
    assert main(["convert", str(RACCOON / "annotations"), str(out), "--to", "voc", "-q"]) == 0
    assert main(["convert", str(VOC_CATS / "gts_vocpascal_format"), str(out), "--to", "voc", "-q"]) == 0
    names = {p.stem for p in out.rglob("*.xml")}
    assert names == {p.stem for p in (VOC_CATS / "gts_vocpascal_format").glob("*.xml")}


def test_resplit_into_fewer_splits_leaves_no_old_test_split(tmp_path: Path) -> None:
    out = tmp_path / "s"
    # the per-split folders layout (the one-dataset layouts: tests/stratify/test_output.py)
    assert main(["split", str(RACCOON / "annotations"), str(out), "--ratios", "0.6,0.2,0.2", "-q",
                 "--per-split-folders"]) == 0
    assert (out / "test").is_dir()
    assert main(["split", str(RACCOON / "annotations"), str(out), "--ratios", "0.8,0.2", "-q",
                 "--per-split-folders"]) == 0
    assert not (out / "test").exists()
    written = sum(len(list((out / s).glob("*.xml"))) for s in ("train", "val"))
    assert written == len(list((RACCOON / "annotations").glob("*.xml")))


def test_a_failed_rewrite_keeps_the_previous_output(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["convert", str(TERRAIN), str(out), "--to", "voc", "-q"]) == 0
    before = _tree(out)
    # the split tags of test.record have no place in flat VOC: --strict refuses at the end of the write
    assert main(["convert", str(RECORD), str(out), "--to", "voc", "--strict", "-q"]) == 1
    assert _tree(out) == before
    assert _no_temporaries(tmp_path) == []


# ---------------------------------------------------------------------------------- file outputs

FILE_COMMANDS = {
    "convert-coco": ("convert", str(TERRAIN), "{out}", "--to", "coco"),
    "convert-picsellia": ("convert", str(TERRAIN), "{out}", "--to", "picsellia"),
    "report": ("report", str(TERRAIN), "{out}", "--images", str(TERRAIN_IMAGES), "--gallery", "1"),
}


@pytest.mark.parametrize("argv", FILE_COMMANDS.values(), ids=FILE_COMMANDS.keys())
def test_an_existing_file_is_refused_unless_overwrite(argv: tuple[str, ...], tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out.file"
    out.write_bytes(b"precious")
    args = [a.replace("{out}", str(out)) for a in argv]
    assert main([*args, "-q"]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert out.read_bytes() == b"precious"
    assert main([*args, "-q", "--overwrite"]) == 0
    assert out.read_bytes() != b"precious"
    assert main([*args, "-q"]) == 2  # even our own file: files carry no marker
    assert _no_temporaries(tmp_path) == []


def test_an_empty_file_is_written(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    out.touch()  # mktemp's placeholder, say
    assert main(["convert", str(TERRAIN), str(out), "--to", "coco", "-q"]) == 0
    assert pf.read(out).num_annotations > 0


def test_library_write_and_convert_follow_the_same_rules(tmp_path: Path) -> None:
    ds = pf.read(TERRAIN)
    out = tmp_path / "a.json"
    pf.write(ds, out, "coco")
    with pytest.raises(pf.errors.OutputExistsError):
        pf.write(ds, out, "coco")
    with pytest.raises(pf.errors.OutputExistsError):
        pf.convert(TERRAIN, out, "coco")
    pf.convert(TERRAIN, out, "coco", overwrite=True)
    folder, before = _foreign(tmp_path)
    with pytest.raises(pf.errors.OutputExistsError):
        pf.write(ds, folder, "yolo")
    assert _tree(folder) == before
    pf.write(ds, folder, "yolo", overwrite=True)
    assert not (folder / "notes.md").exists()


# ------------------------------------------------------------------------------------ TFRecords


def test_tfrecord_shards_4_then_2_leaves_only_the_new_set(tmp_path: Path, record_images: Path) -> None:
    prefix = tmp_path / "out" / "t.record"
    base = ["tfrecord", str(RECORD), str(prefix), "--images", str(record_images), "-q", "--workers", "0"]
    assert main([*base, "--shards", "4"]) == 0
    assert main([*base, "--shards", "2"]) == 2  # refused: the set exists
    assert len(list(prefix.parent.glob("t.record-*-of-00004"))) == 4
    assert main([*base, "--shards", "2", "--overwrite"]) == 0
    shards = sorted(p.name for p in prefix.parent.glob("t.record*"))
    assert shards == ["t.record-00000-of-00002", "t.record-00001-of-00002"]
    assert sum(len(list(iter_records(prefix.parent / s))) for s in shards) == 8
    assert main([*base, "--overwrite"]) == 0  # one file again: no shard left
    assert sorted(p.name for p in prefix.parent.glob("t.record*")) == ["t.record"]
    assert _no_temporaries(tmp_path) == []


def test_tfrecord_label_map_with_the_same_content_is_accepted(tmp_path: Path, record_images: Path) -> None:
    base = ["tfrecord", str(RECORD), "--images", str(record_images), "-q", "--workers", "0"]
    assert main([base[0], base[1], str(tmp_path / "a.record"), *base[2:]]) == 0
    assert main([base[0], base[1], str(tmp_path / "b.record"), *base[2:]]) == 0  # same label_map.pbtxt
    (tmp_path / "label_map.pbtxt").write_text("item { id: 9 name: 'other' }\n")
    assert main([base[0], base[1], str(tmp_path / "c.record"), *base[2:]]) == 2
    assert not (tmp_path / "c.record").exists()


def test_extracted_images_are_removed_when_the_conversion_fails(tmp_path: Path) -> None:
    images = tmp_path / "img"
    # VOC cannot hold the split tags of test.record: --strict refuses after the images were extracted
    code = main(["convert", str(RECORD), str(tmp_path / "out"), "--to", "voc", "--strict",
                 "--tfrecord-extract-images", str(images), "-q"])
    assert code == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    assert main(["convert", str(RECORD), str(tmp_path / "out"), "--to", "yolo",
                 "--tfrecord-extract-images", str(images), "-q"]) == 0
    assert len(list(images.glob("*.jpg"))) == 8 and (tmp_path / "out").is_dir()


# --------------------------------------------------------------------------------------- signals


def _big_coco(path: Path, n: int) -> None:
    images = [{"id": i, "file_name": f"im{i}.jpg", "width": 640, "height": 480} for i in range(1, n + 1)]
    anns = [{"id": i, "image_id": i, "category_id": 1, "bbox": [1, 2, 30, 40], "area": 1200, "iscrowd": 0}
            for i in range(1, n + 1)]
    path.write_bytes(orjson.dumps({"images": images, "annotations": anns,
                                   "categories": [{"id": 1, "name": "a"}]}))


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_during_the_write_removes_the_temporary_output(tmp_path: Path, sig: int, code: int) -> None:
    src = tmp_path / "big.json"
    _big_coco(src, 60000)
    out = tmp_path / "work" / "yolo"
    out.parent.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "picsellia_formats", "convert", str(src), str(out), "--to",
                             "yolo", "-q"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)))
    deadline = time.monotonic() + 60
    while not any(p.name.endswith(".tmp-pf") for p in out.parent.iterdir()):  # the write has begun
        assert proc.poll() is None and time.monotonic() < deadline, "the run ended before its write"
        time.sleep(0.005)
    proc.send_signal(sig)
    assert proc.wait(timeout=60) == code
    proc.stdout.close()
    proc.stderr.close()
    assert sorted(p.name for p in out.parent.iterdir()) in ([], ["yolo"])


DEAD = 2 ** 22 + 4321  # above the default pid_max: no such process


def test_the_next_run_removes_what_a_killed_run_left(tmp_path: Path, record_images: Path) -> None:
    (tmp_path / f".yolo.pf{DEAD}-0a1b.tmp-pf" / "labels").mkdir(parents=True)
    (tmp_path / f".yolo.pf{DEAD}-0a1b.old-pf").mkdir()
    (tmp_path / f".t.record-00001-of-00004.pf{DEAD}-77.tmp-pf").write_bytes(b"half a shard")
    (tmp_path / f".someone-else.pf{DEAD}-77.tmp-pf").write_bytes(b"not this output's")
    assert main(["convert", str(TERRAIN), str(tmp_path / "yolo"), "--to", "yolo", "-q"]) == 0
    assert main(["tfrecord", str(RECORD), str(tmp_path / "t.record"), "--images", str(record_images), "-q",
                 "--workers", "0"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        f".someone-else.pf{DEAD}-77.tmp-pf", "label_map.pbtxt", "t.record", "yolo"]


def test_split_that_fails_leaves_no_extracted_image(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    images = tmp_path / "img"
    # the TFRecord writer needs the image files: it fails after the read extracted them
    code = main(["split", str(RECORD), str(tmp_path / "s"), "--to", "tfrecord", "--method", "fast",
                 "--tfrecord-extract-images", str(images), "-q"])
    assert code == 2
    assert "images" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
