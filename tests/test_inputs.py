"""Issue 19 item 15 (and 17's VOC part): FIFOs, devices and dangling links are refused by name before
any byte is read, by every reader, through the one gate `picsellia_formats.inputs`.

Each case runs the CLI in-process under an alarm: on the old code a FIFO blocked for ever (the
alarm fails the test) and a link to /dev/zero read until memory ran out (a 1-byte read limit is
not enough to tell, so the test checks that nothing was read: the error names the device)."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

import picsellia_formats as pf
from picsellia_formats import cli
from picsellia_formats.inputs import check_input, not_regular, open_input, read_input, unreadable_entries

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "fixtures"
ALARM = 20


class Blocked(BaseException):
    pass


@contextlib.contextmanager
def deadline(seconds: int = ALARM) -> Iterator[None]:
    def fire(signum: int, frame: object) -> None:
        raise Blocked

    old = signal.signal(signal.SIGALRM, fire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def run(argv: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with deadline(), contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = cli.main(argv)
    return code, err.getvalue()


def make(kind: str, path: Path) -> Path:
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "dev-zero":
        path.symlink_to("/dev/zero")
    elif kind == "dangling":
        path.symlink_to(path.parent / "gone.bin")
    elif kind == "socket":
        s = socket.socket(socket.AF_UNIX)
        s.bind(str(path))
        s.close()
    return path


KINDS = ["fifo", "dev-zero", "dangling", "socket"]
WHAT = {"fifo": "FIFO", "dev-zero": "character device", "dangling": "dangling symbolic link", "socket": "socket"}
FILE_FORMATS = [("coco", "a.json"), ("picsellia", "a.json"), ("voc", "a.xml"), ("tfrecord", "a.record"),
                ("cvat", "annotations.xml"), ("labelstudio", "a.json"), ("labelme", "a.json"),
                ("createml", "a.json"), ("yolo", "data.yaml")]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("fmt", "name"), FILE_FORMATS)
def test_every_reader_refuses_a_non_regular_input_by_name(fmt: str, name: str, kind: str, tmp_path: Path) -> None:
    src = make(kind, tmp_path / name)
    code, err = run(["convert", str(src), str(tmp_path / "out.json"), "--from", fmt, "--to", "coco"])
    assert code == 2, err
    assert f"error: {src}: " in err and WHAT[kind] in err, err


@pytest.mark.parametrize("kind", KINDS)
def test_detection_refuses_it_too_without_opening_it(kind: str, tmp_path: Path) -> None:
    src = make(kind, tmp_path / "a.json")
    code, err = run(["detect", str(src)])
    assert code == 2 and f"{src}: " in err and WHAT[kind] in err, err


@pytest.mark.parametrize("kind", ["fifo", "dangling", "dev-zero"])
def test_voc_folder_names_a_fifo_or_dangling_xml_instead_of_skipping_it(kind: str, tmp_path: Path) -> None:
    folder = tmp_path / "voc"
    folder.mkdir()
    shutil.copy(FIX / "raccoon_voc/annotations/raccoon-2.xml", folder)
    bad = make(kind, folder / "raccoon-3.xml")
    code, err = run(["convert", str(folder), str(tmp_path / "out.json"), "--from", "voc", "--to", "coco"])
    assert code == 2 and f"error: {bad}: " in err and WHAT[kind] in err, err


@pytest.mark.parametrize("kind", ["fifo", "dangling"])
def test_yolo_label_file_that_is_a_fifo_is_named(kind: str, tmp_path: Path) -> None:
    root = tmp_path / "yolo"
    shutil.copytree(FIX / "real_exports/ultralytics_segment", root)
    label = root / "labels/train/1.txt"
    label.unlink()
    make(kind, label)
    code, err = run(["convert", str(root), str(tmp_path / "out.json"), "--from", "yolo", "--to", "coco"])
    assert code == 2 and str(label) in err and WHAT[kind] in err, err


def test_an_image_header_behind_a_fifo_is_refused(tmp_path: Path) -> None:
    from picsellia_formats.image_header import read_file_header

    fifo = make("fifo", tmp_path / "x.png")
    with deadline(), pytest.raises(pf.FormatError, match="FIFO"):
        read_file_header(fifo)


def test_the_gate_reads_regular_files_and_links_to_them(tmp_path: Path) -> None:
    real = tmp_path / "a.json"
    real.write_bytes(b"{}")
    link = tmp_path / "b.json"
    link.symlink_to(real)
    assert read_input(link) == b"{}" and read_input(real, 1) == b"{"
    assert not_regular(link) is None
    check_input(tmp_path)  # folders are inputs too
    with pytest.raises(pf.FormatError, match="a folder"):
        check_input(tmp_path, folder_ok=False)
    with pytest.raises(FileNotFoundError):
        read_input(tmp_path / "missing.json")


def test_a_fifo_swapped_in_after_a_check_is_still_refused(tmp_path: Path) -> None:
    # the decision is made on the open descriptor (fstat), so a path swapped after a check is caught
    path = tmp_path / "a.json"
    os.mkfifo(path)
    with deadline(), pytest.raises(pf.FormatError, match="FIFO"), open_input(path):
        pass


def test_unreadable_entries_lists_them(tmp_path: Path) -> None:
    (tmp_path / "ok.xml").write_text("<a/>")
    make("fifo", tmp_path / "f.xml")
    make("dangling", tmp_path / "d.xml")
    make("fifo", tmp_path / "other.txt")
    assert [p.name for p, _ in unreadable_entries(tmp_path, (".xml",))] == ["d.xml", "f.xml"]
