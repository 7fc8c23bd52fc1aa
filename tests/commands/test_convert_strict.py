"""``convert --strict`` (annotation loss) against ``--strict=all`` (also format metadata with no place
in the target), from the command line and from the library."""

from __future__ import annotations

from pathlib import Path

import pytest

import picsellia_formats as pf
from picsellia_formats.errors import LossyConversionError, OptionError
from tests.conftest import FIXTURES, run_cli

VOC = FIXTURES / "raccoon_voc" / "annotations"
POLYGONS = FIXTURES / "sahi_coco" / "coco_utils" / "terrain_all_coco.json"


def test_voc_to_coco_loses_only_format_metadata_so_strict_accepts_it(tmp_path: Path) -> None:
    out = tmp_path / "coco.json"
    result = run_cli("convert", VOC, out, "--to", "coco", "--strict")
    assert result.code == 0, result.err
    assert out.is_file()
    # the report shows the metadata apart, with its count
    lines = result.out.splitlines()
    header = lines.index("format metadata with no place in the target:")
    assert lines[header + 1] == ("  200 assets' VOC-only fields dropped (COCO has no place for depth, folder, path, "
                                 "root, segmented, source)")
    assert pf.read(out).num_annotations == pf.read(VOC).num_annotations


def test_voc_to_coco_is_refused_by_strict_all(tmp_path: Path) -> None:
    out = tmp_path / "coco.json"
    result = run_cli("convert", VOC, out, "--to", "coco", "--strict=all")
    assert result.code == 1
    assert "--strict=all" in result.err and "VOC-only fields dropped" in result.err
    assert not out.exists()


@pytest.mark.parametrize("flag", ["--strict", "--strict=all", "--strict=annotations"])
def test_annotation_loss_is_refused_by_both(flag: str, tmp_path: Path) -> None:
    out = tmp_path / "voc"
    result = run_cli("convert", POLYGONS, out, "--to", "voc", flag)
    assert result.code == 1, result.out
    assert "polygons written as boxes" in result.err
    assert not out.exists()


def test_bad_strict_value_is_a_usage_error(tmp_path: Path) -> None:
    result = run_cli("convert", VOC, tmp_path / "c.json", "--to", "coco", "--strict=some")
    assert result.code == 2
    assert "--strict" in result.err and "all" in result.err


@pytest.mark.parametrize(("strict", "refused"), [(False, False), (True, False), ("annotations", False),
                                                 ("all", True)])
def test_library_strict_modes_on_a_voc_source(strict: object, refused: bool, tmp_path: Path) -> None:
    ds = pf.read(VOC)
    out = tmp_path / "c.json"
    if refused:
        with pytest.raises(LossyConversionError) as info:
            pf.write(ds, out, "coco", strict=strict)  # type: ignore[arg-type]
        assert info.value.strict == "all"
        assert not out.exists()
    else:
        report = pf.write(ds, out, "coco", strict=strict)  # type: ignore[arg-type]
        assert report.lossy and not report.annotation_lossy
        assert out.is_file()


def test_library_strict_refuses_annotation_loss(tmp_path: Path) -> None:
    ds = pf.read(POLYGONS)
    for strict in (True, "all"):
        with pytest.raises(LossyConversionError):
            pf.write(ds, tmp_path / "voc", "voc", strict=strict)
    assert not (tmp_path / "voc").exists()
    with pytest.raises(OptionError):
        pf.write(ds, tmp_path / "voc", "voc", strict="sometimes")
