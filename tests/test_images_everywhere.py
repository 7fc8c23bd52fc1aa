"""One `--images` folder, every command: each finds the same image files by the one `ImageIndex` policy.

Every layout `images.ImageIndex` supports (flat, split sub-folders, a path written with a prefix that
is not a folder here, another extension or case, nested folders as written) is built in tmp_path with
tiny generated images and a COCO, VOC or YOLO source naming them; `convert` (to tfrecord and to yolo
with copied images), `validate`, `preview`, `report`, `tfrecord` and `push --dry-run` must each find
every image. With two files fitting one name, each must name both candidates, never pick one silently.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import re
from pathlib import Path

import pytest
from PIL import Image

import picsellia_formats as pf
from picsellia_formats.cli import main

#: layout id -> [(file on disk under images/, name as the annotation writes it)]
LAYOUTS: dict[str, list[tuple[str, str]]] = {
    "flat": [("a.jpg", "a.jpg"), ("b.png", "b.png")],
    "split-subfolders": [("train/a.jpg", "a.jpg"), ("val/b.jpg", "b.jpg")],
    "foreign-prefix": [("obj_train_data/a.jpg", "data/obj_train_data/a.jpg"),
                       ("obj_train_data/b.jpg", "data/obj_train_data/b.jpg")],
    "other-extension-and-case": [("a.JPG", "a.jpg"), ("b.jpeg", "b.jpg"), ("c.png", "c.jpg")],
    "nested-as-written": [("x/y/a.jpg", "x/y/a.jpg"), ("x/b.jpg", "x/b.jpg")],
}
#: two files fit ``a.jpg`` equally well
AMBIGUOUS = [("train/a.jpg", "a.jpg"), ("val/a.jpg", "a.jpg"), ("b.jpg", "b.jpg")]
SOURCES = ["coco", "voc", "yolo"]
COMMANDS = ["convert-tfrecord", "convert-yolo", "validate", "preview", "report", "tfrecord", "push"]


def _image(path: Path, color: tuple[int, int, int]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}[path.suffix.lower()]
    Image.new("RGB", (32, 24), color).save(path, format=fmt)


def _dataset(root: Path, layout: list[tuple[str, str]], source: str) -> tuple[Path, Path]:
    """Images under root/images, annotations in `source` format; returns (src, images folder)."""
    images = root / "images"
    for i, (rel, _) in enumerate(layout):
        _image(images / rel, (40 * i, 100, 200))
    names = list(dict.fromkeys(name for _, name in layout))
    if source == "coco":
        src = root / "annotations.json"
        src.write_text(json.dumps({
            "images": [{"id": i + 1, "file_name": n, "width": 32, "height": 24} for i, n in enumerate(names)],
            "annotations": [{"id": i + 1, "image_id": i + 1, "category_id": 1, "bbox": [2, 3, 10, 8], "area": 80,
                             "iscrowd": 0} for i in range(len(names))],
            "categories": [{"id": 1, "name": "thing"}]}))
    elif source == "voc":
        src = root / "xml"
        src.mkdir()
        for i, n in enumerate(names):
            (src / f"{i}.xml").write_text(
                f"<annotation><filename>{n}</filename><size><width>32</width><height>24</height><depth>3</depth>"
                "</size><object><name>thing</name><bndbox><xmin>2</xmin><ymin>3</ymin><xmax>12</xmax>"
                "<ymax>11</ymax></bndbox></object></annotation>")
    else:  # YOLO names an image by its label file's stem
        src = root / "labels"
        src.mkdir()
        for n in names:
            (src / f"{Path(n).stem}.txt").write_text("0 0.25 0.3 0.3 0.3\n")
        (root / "classes.txt").write_text("thing\n")
        (src / "classes.txt").write_text("thing\n")
    return src, images


def _run(command: str, src: Path, source: str, images: Path, out: Path) -> int:
    """Run `command` in process (as a user types it, with `--images`); returns its exit code."""
    common = [str(src), "--from", source, "--images", str(images)]
    if command == "convert-tfrecord":
        argv = ["convert", *common, str(out / "t.record"), "--to", "tfrecord", "--report", str(out / "r.json")]
    elif command == "convert-yolo":
        argv = ["convert", *common, str(out / "y"), "--to", "yolo", "--yolo-images", "copy",
                "--report", str(out / "r.json")]
    elif command == "validate":
        argv = ["validate", *common, "--json", str(out / "v.json"), "--no-hash"]
    elif command == "preview":
        argv = ["preview", *common, str(out / "p"), "--limit", "0", "--format", "png"]
    elif command == "report":
        argv = ["report", *common, str(out / "r.html")]
    elif command == "tfrecord":
        argv = ["tfrecord", *common, str(out / "t.record"), "--workers", "0", "--report", str(out / "r.json")]
    else:
        argv = ["push", *common, "--dataset", "d", "--version", "v", "--host", "https://unreachable.invalid",
                "--dry-run"]
    return main(argv)


def _found(command: str, out: Path, text: str) -> int:
    """How many images `command` found, from what it wrote."""
    if command in ("convert-tfrecord", "tfrecord"):
        return len(pf.read(out / "t.record", "tfrecord"))
    if command == "convert-yolo":
        return sum(1 for p in (out / "y").rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png")
                   and "labels" not in p.parts)
    if command == "validate":
        data = json.loads((out / "v.json").read_text())
        assert "image-missing" not in data["counts"], data["counts"]
        return data["stats"]["images_checked"]
    if command == "preview":
        return sum(1 for p in (out / "p").glob("*.png") if not p.name.startswith("contact_sheet"))
    if command == "report":
        html = (out / "r.html").read_text()
        assert "image-missing" not in html
        return len(_drawn_thumbnails(html))
    return int(re.search(r"plan: push (\d+) images", text).group(1))  # type: ignore[union-attr]


def _drawn_thumbnails(html: str) -> set[str]:
    """Names of the report's thumbnails drawn on their image (ours are blue; a missing one is a grey canvas)."""
    drawn = set()
    for alt, data in re.findall(r"<img alt='([^']*)' src='data:image/jpeg;base64,([^']*)'", html):
        r, _, b = Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB").getpixel((1, 1))
        if b - r > 60:
            drawn.add(alt)
    return drawn


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_every_command_finds_every_image(tmp_path: Path, layout: str, source: str, command: str,
                                         capsys: pytest.CaptureFixture[str],
                                         caplog: pytest.LogCaptureFixture) -> None:
    files = LAYOUTS[layout]
    src, images = _dataset(tmp_path / "ds", files, source)
    out = tmp_path / "out"
    out.mkdir()
    with caplog.at_level(logging.WARNING):
        code = _run(command, src, source, images, out)
    captured = capsys.readouterr()
    text = captured.out + captured.err + caplog.text
    assert code == 0, text
    assert "not found" not in text.lower() and "image-missing" not in text, text
    assert _found(command, out, text) == len(files)


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("source", SOURCES)
def test_every_command_names_both_candidates_of_an_ambiguous_name(
        tmp_path: Path, source: str, command: str, capsys: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture) -> None:
    src, images = _dataset(tmp_path / "ds", AMBIGUOUS, source)
    out = tmp_path / "out"
    out.mkdir()
    with caplog.at_level(logging.WARNING):
        code = _run(command, src, source, images, out)
    captured = capsys.readouterr()
    text = captured.out + captured.err + caplog.text
    for written in (out / "v.json", out / "r.html"):
        if written.exists():  # the finding is in the JSON / the page, not only on the terminal
            text += written.read_text()
    assert code != 0 or command in ("validate", "preview", "report"), text
    assert re.search(r"train[/\\]a\.jpg", text) and re.search(r"val[/\\]a\.jpg", text), text
