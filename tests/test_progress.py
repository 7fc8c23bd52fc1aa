"""Progress bars: on stderr when it is a terminal, never otherwise, never with -q; -q leaves only errors."""

from __future__ import annotations

import fcntl
import importlib
import io
import os
import pty
import struct
import subprocess
import sys
import termios
from pathlib import Path

import orjson
import pytest

import picsellia_formats as pf
from picsellia_formats import progress
from picsellia_formats.formats import coco
from picsellia_formats.report import Report
from tests.conftest import FIXTURES, ROOT, run_cli

COCO_READ = importlib.import_module("picsellia_formats.formats.coco.read")  # the module, not coco.read
COCO_PARSE = importlib.import_module("picsellia_formats.formats.coco.parse")


def _small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bar update every 4 annotations, reading and writing."""
    monkeypatch.setattr(COCO_READ, "PROGRESS_CHUNK", 4)
    monkeypatch.setattr(COCO_PARSE, "PROGRESS_CHUNK", 4)
TERRAIN = FIXTURES / "sahi_coco/coco_utils/combined_coco.json"
TERRAIN_IMAGES = FIXTURES / "sahi_coco/coco_utils"
TOY = FIXTURES / "voc_toy_cats/gts_coco_format/toy_example_coco.JSON"


def run_on_a_terminal(*args: str | Path) -> tuple[int, str, str]:
    """Run the CLI with stderr on a pseudo-terminal (stdout a pipe): (exit code, stdout, stderr)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "picsellia_formats", *map(str, args)], cwd=ROOT,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 1 << 16)
        except OSError:  # EIO: the child closed its end
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    out = proc.stdout.read().decode() if proc.stdout else ""
    code = proc.wait(timeout=120)
    return code, out, b"".join(chunks).decode(errors="replace")


def big_coco(path: Path, images: int = 1600, per_image: int = 60) -> Path:
    """A box-only COCO file bigger than the reader's bar threshold, with more than one chunk of annotations."""
    anns = [{"id": i * per_image + j + 1, "image_id": i + 1, "category_id": 1 + j % 3,
             "bbox": [j, j, 10, 10], "area": 100, "iscrowd": 0, "segmentation": []}
            for i in range(images) for j in range(per_image)]
    doc = {"images": [{"id": i + 1, "file_name": f"{i}.jpg", "width": 640, "height": 480} for i in range(images)],
           "annotations": anns, "categories": [{"id": k, "name": f"c{k}"} for k in (1, 2, 3)]}
    path.write_bytes(orjson.dumps(doc))
    return path


# ------------------------------------------------------------------------------------- library level

def test_enabled_only_on_a_terminal_and_not_quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    class Tty:
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stderr", Tty())
    assert progress.enabled() and not progress.enabled(quiet=True)
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert not progress.enabled()


def test_coco_reader_bar_reads_the_same_dataset_and_names_the_same_records(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    monkeypatch.setattr(progress, "enabled", lambda quiet=False: not quiet)
    _small_chunks(monkeypatch)
    monkeypatch.setattr(COCO_READ, "_PROGRESS_BYTES", 0)
    with_bar = coco.read(TERRAIN, report=Report(), progress=True)
    assert "reading combined_coco.json" in capsys.readouterr().err
    without = coco.read(TERRAIN, report=Report())
    assert capsys.readouterr().err == ""
    assert [a.annotations for a in with_bar.assets] == [a.annotations for a in without.assets]
    doc = orjson.loads(TERRAIN.read_bytes())
    doc["annotations"][9]["bbox"] = [1, 2, "x", 3]  # in the third chunk of 4
    bad = tmp_path / "bad.json"
    bad.write_bytes(orjson.dumps(doc))
    with pytest.raises(pf.FormatError, match=r"annotation\[9\]"):
        coco.read(bad, report=Report(), progress=True)


def test_coco_writer_bar_writes_the_same_bytes(monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    monkeypatch.setattr(progress, "enabled", lambda quiet=False: not quiet)
    _small_chunks(monkeypatch)
    ds = coco.read(TERRAIN, report=Report())
    pf.write(ds, tmp_path / "bar.json", "coco", progress=True)
    assert "writing COCO" in capsys.readouterr().err
    pf.write(ds, tmp_path / "plain.json", "coco")
    assert capsys.readouterr().err == ""
    assert (tmp_path / "bar.json").read_bytes() == (tmp_path / "plain.json").read_bytes()


def test_picsellia_reader_bar(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(progress, "enabled", lambda quiet=False: not quiet)
    src = ROOT / "tests/data/picsellia/full.json"
    with_bar = pf.read(src, "picsellia", progress=True)
    assert "reading full.json" in capsys.readouterr().err
    assert with_bar.assets == pf.read(src, "picsellia").assets
    assert capsys.readouterr().err == ""


def test_api_read_passes_progress_only_to_readers_that_take_it(monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(progress, "enabled", lambda quiet=False: not quiet)
    _small_chunks(monkeypatch)
    monkeypatch.setattr(COCO_READ, "_PROGRESS_BYTES", 0)
    pf.read(TERRAIN, progress=True)
    assert "reading" in capsys.readouterr().err
    assert len(pf.read(FIXTURES / "raccoon_voc/data/test.record", progress=True)) > 0  # a reader without a bar


# ------------------------------------------------------------------------------------------ the CLI

@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return big_coco(tmp_path_factory.mktemp("big") / "big.json")


def test_convert_shows_a_reading_bar_on_a_terminal_only(big: Path, tmp_path: Path) -> None:
    code, out, err = run_on_a_terminal("convert", big, tmp_path / "a.json", "--to", "coco")
    assert code == 0, err
    assert "big.json -> COCO" in err and "object" in err  # the record path: one bar, reading and writing
    code, out, err = run_on_a_terminal("convert", big, tmp_path / "p.json", "--to", "coco", "--segmentation",
                                       "polygon")  # an option only the model's path honours
    assert code == 0, err
    assert "reading big.json" in err and "object" in err and "writing COCO" in err
    piped = run_cli("convert", big, tmp_path / "b.json", "--to", "coco")
    assert piped.code == 0 and piped.err == ""
    code, out, err = run_on_a_terminal("convert", big, tmp_path / "c.json", "--to", "coco", "-q")
    assert (code, out, err) == (0, "", "")


@pytest.mark.parametrize("argv, desc", [
    (("convert", FIXTURES / "raccoon_voc/annotations", "{out}/voc.json", "--to", "coco"), "reading annotations"),
    (("convert", FIXTURES / "labelstudio_yolo/test_import_yolo_data", "{out}/yolo.json", "--to", "coco"),
     "reading test_import_yolo_data"),
    (("convert", TERRAIN, "{out}/voc", "--to", "voc"), "writing VOC files"),
    (("convert", TERRAIN, "{out}/yolo", "--to", "yolo"), "writing YOLO files"),
    (("rasterise", TERRAIN, "{out}/masks"), "rasterising"),
    (("split", TERRAIN, "{out}/split", "--ratios", "0.5,0.5"), "splitting 2 images"),
    (("preview", TERRAIN, "{out}/previews", "--images", TERRAIN_IMAGES), "previews"),
    (("tfrecord", TERRAIN, "{out}/t.record", "--images", TERRAIN_IMAGES), "t.record"),
])
def test_commands_show_their_bar_on_a_terminal_and_not_with_q(argv: tuple[str, ...], desc: str,
                                                              tmp_path: Path) -> None:
    args = [str(a).replace("{out}", str(tmp_path / "tty")) for a in argv]
    code, _, err = run_on_a_terminal(*args)
    assert code == 0, err
    assert desc in err
    code, _, err = run_on_a_terminal(*args, "-q", "--overwrite")  # the first run's output file exists
    assert code == 0 and err == ""
    piped = run_cli(*[a.replace(str(tmp_path / "tty"), str(tmp_path / "pipe")) for a in args])
    assert piped.code == 0, piped.err
    assert desc not in piped.err and "\r" not in piped.err


QUIET_RUNS = [
    ("convert", TERRAIN, "{out}/c.json", "--to", "coco"),
    ("convert", TERRAIN, "{out}/y", "--to", "yolo"),
    ("detect", TERRAIN),
    ("stats", TERRAIN, "--json", "{out}/s.json"),
    ("split", TERRAIN, "{out}/split", "--ratios", "0.5,0.5"),
    ("labelmap", TERRAIN, "{out}/l.pbtxt"),
    ("tfrecord", TERRAIN, "{out}/t.record", "--images", TERRAIN_IMAGES),
    ("rasterise", TERRAIN, "{out}/m"),
    ("preview", TERRAIN, "{out}/p", "--images", TERRAIN_IMAGES),
    ("report", TERRAIN, "{out}/r.html", "--images", TERRAIN_IMAGES),
    ("validate", TERRAIN, "--json", "{out}/v.json"),
    ("push", TERRAIN, "--dataset", "d", "--version", "v", "--dry-run", "--images", TERRAIN_IMAGES),
]


@pytest.mark.parametrize("argv", QUIET_RUNS, ids=[f"{a[0]}-{i}" for i, a in enumerate(QUIET_RUNS)])
def test_quiet_prints_nothing_but_the_result(argv: tuple[str, ...], tmp_path: Path) -> None:
    args = [str(a).replace("{out}", str(tmp_path)) for a in argv]
    r = run_cli(*args, "-q")
    assert r.err == "", r.err
    assert r.code in (0, 1)
    expected = {"detect": "coco\n", "validate": r.out}  # the answer itself, one line
    assert r.out == expected.get(argv[0], ""), r.out
    if argv[0] == "validate":
        assert len(r.out.splitlines()) == 1


def test_every_command_takes_quiet() -> None:
    from picsellia_formats.cli import build_parser

    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for name, sub in commands.items():
        flags = {s for a in sub._actions for s in a.option_strings}
        assert {"-q", "--quiet"} <= flags, name


def test_quiet_keeps_the_errors(tmp_path: Path) -> None:
    r = run_cli("convert", tmp_path / "missing.json", tmp_path / "o.json", "--to", "coco", "-q")
    assert r.code == 2 and r.err.startswith("error: ") and "missing.json" in r.err
