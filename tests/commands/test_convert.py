"""``convert``: --skip-missing-images (named by every "image not found" error) and --include-unlabelled."""

from __future__ import annotations

from pathlib import Path

import pytest

import picsellia_formats as pf
from picsellia_formats.cli import main
from tests.conftest import run_cli
from tests.stratify.conftest import N_IMAGES, make_dataset


@pytest.mark.parametrize("to", ["tfrecord", "coco"])
def test_missing_image_error_names_skip_missing_images(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                       to: str) -> None:
    src, images, _ = make_dataset(tmp_path / "src")
    (images / "img007.png").unlink()
    out = tmp_path / "out"
    args = ["convert", str(src), str(out), "--to", to, "--images", str(images)]
    if to == "tfrecord":  # a target that embeds the images: refused, naming the way out
        assert main(args) == 2
        err = capsys.readouterr().err
        assert "img007.png" in err and "--skip-missing-images" in err and "Traceback" not in err
        assert not out.exists()
    assert main([*args, "--skip-missing-images"]) == 0
    assert "1 image whose file is missing, left out of the output dropped" in capsys.readouterr().out
    back = pf.read(out, to)
    assert len(back) == N_IMAGES - 1 and "img007.png" not in {a.file_name for a in back.assets}


@pytest.mark.parametrize("fmt", ["yolo", "voc"])
def test_include_unlabelled_is_passed_through(tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    """A labelled folder read with a shared images folder holds its own images only, unless asked."""
    src, images, _ = make_dataset(tmp_path / "src")
    labelled = tmp_path / fmt
    assert main(["convert", str(src), str(labelled), "--to", fmt, "-q"]) == 0
    plain = tmp_path / "plain.json"
    assert main(["convert", str(labelled), str(plain), "--from", fmt, "--to", "coco", "--images", str(images),
                 "-q"]) == 0
    assert len(pf.read(plain)) == N_IMAGES
    more = tmp_path / "more.json"
    assert main(["convert", str(labelled), str(more), "--from", fmt, "--to", "coco", "--images", str(images),
                 "--include-unlabelled"]) == 0
    names = {a.file_name for a in pf.read(more).assets}
    assert len(names) == N_IMAGES + 2 and {"stray_a.png", "stray_b.png"} <= names
    added = {"yolo": "2 images without a label file added as empty images",
             "voc": "2 images without an XML read as assets with no objects"}[fmt]
    assert added in capsys.readouterr().out  # the unlabelled images are reported with their count


def test_rerun_after_a_same_length_rename_writes_the_new_label(tmp_path: Path) -> None:
    """Regression: the second run's output had the first's names and sizes, and the swap kept the old one."""
    src = tmp_path / "a.json"
    out = tmp_path / "yolo"
    for name in ("cat", "dog"):
        ds = pf.Dataset([pf.Label(name)], [pf.Asset("a.jpg", 10, 10, [pf.Annotation(name, box=(1, 1, 2, 2))])])
        pf.write(ds, src, "coco", overwrite=True)
        assert run_cli("convert", src, out, "--to", "yolo", "-q").code == 0
        assert name in (out / "data.yaml").read_text()
