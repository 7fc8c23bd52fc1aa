"""Every defect injected into the corpora built from the real fixtures is reported with its code; the clean
originals hold no error but the real ones listed (and explained) here."""

from __future__ import annotations

from pathlib import Path

import pytest

from picsellia_formats.validation import RULES, validate
from tests.conftest import FIXTURES
from tests.validation.defects import DEFECTS, NOT_INJECTED, OPTIONS, SCHEMA, build, source_of


@pytest.fixture(scope="module")
def corpora(tmp_path_factory: pytest.TempPathFactory) -> dict:
    built = build(tmp_path_factory.mktemp("corpora"))
    out = {}
    for name, (corpus, injected) in built.items():
        src, images = source_of(corpus)
        options = {"schema": SCHEMA, **OPTIONS} if name == "cats" else {}
        out[name] = (validate(src, images, **options), injected)
    return out


def test_every_rule_is_injected_or_explained() -> None:
    injected = {d.code for d in DEFECTS}
    assert injected | set(NOT_INJECTED) == set(RULES)
    assert not injected & set(NOT_INJECTED)


@pytest.mark.parametrize("name", ["cats", "terrain", "yolo", "voc"])
def test_every_injected_defect_is_reported(corpora: dict, name: str) -> None:
    report, injected = corpora[name]
    missing = [str(e) for _, expected in injected for e in expected if not any(e.matches(f) for f in report)]
    assert not missing, f"not reported: {missing}\n{report.to_text(10)}"


@pytest.mark.parametrize("name", ["cats", "terrain", "yolo", "voc"])
def test_no_error_that_was_not_injected(corpora: dict, name: str) -> None:
    report, injected = corpora[name]
    allowed = {c for d, _ in injected for c in (d.code, *d.also)}
    unexpected = [str(f) for f in report.errors if f.code not in allowed]
    assert not unexpected


def test_injected_findings_carry_file_and_record(corpora: dict) -> None:
    report, _ = corpora["cats"]
    f = next(f for f in report if f.code == "unknown-asset")
    assert f.file.endswith("annotations.json") and f.record.startswith("annotation[")
    f = next(f for f in report if f.code == "box-zero-size")
    assert f.record.startswith("annotation (id=") and f.asset == "2007_000549.jpg" and f.object_index is not None
    report, _ = corpora["voc"]
    f = next(f for f in report if f.code == "box-negative-size")
    assert f.file.endswith("2007_000549.xml") and f.record == "object[0]"
    report, _ = corpora["yolo"]
    f = next(f for f in report if f.code == "box-zero-size")
    assert Path(f.file).as_posix().endswith("labels/img_2.txt")


# ------------------------------------------------------------------------------- clean originals

SAHI = FIXTURES / "sahi_coco" / "coco_utils"
CATS = FIXTURES / "voc_toy_cats"
YOLO = FIXTURES / "labelstudio_yolo"

#: (source, images folder or None, {error code: count}): the only errors in the real fixtures, each real
CLEAN = [
    # a Picsellia platform export: annotation 89 is a 40×54 box at y=1156 on a 1920×1080 image
    (FIXTURES / "picsellia_coco_det" / "annotations.json", None, {"bbox-out-of-image": 1}),
    (SAHI / "terrain_all_coco.json", None, {}),
    # terrain3.png (4 MiB) is not bundled (fixtures/SOURCES.md): the one missing file
    (SAHI / "terrain_all_coco.json", SAHI, {"image-missing": 1}),
    (SAHI / "combined_coco.json", SAHI, {}),
    (SAHI / "terrain1_coco.json", SAHI, {}),
    (SAHI / "terrain2_coco.json", SAHI, {}),
    (SAHI / "modified_terrain1_coco.json", SAHI, {}),
    (SAHI / "modified_terrain2_coco.json", SAHI, {}),
    (SAHI / "visdrone2019-det-train-first50image.json", None, {}),
    (FIXTURES / "sahi_coco" / "coco_evaluate" / "dataset.json", None, {}),
    (FIXTURES / "sahi_coco" / "coco_evaluate" / "result.json", None, {}),
    (FIXTURES / "cocoapi_results" / "instances_val2014_fakebbox100_results.json", None, {}),
    (FIXTURES / "cocoapi_results" / "instances_val2014_fakesegm100_results.json", None, {}),
    (CATS / "gts_coco_format" / "toy_example_coco.JSON", CATS / "images", {}),
    (CATS / "dets_coco_format" / "coco_dets.json", CATS / "images", {}),
    (CATS / "gts_vocpascal_format", CATS / "images", {}),
    (FIXTURES / "raccoon_voc" / "annotations", None, {}),
    # the project bundles 40 of the 200 raccoon images (fixtures/SOURCES.md): 160 missing files
    (FIXTURES / "raccoon_voc" / "annotations", FIXTURES / "raccoon_voc" / "images", {"image-missing": 160}),
    (YOLO / "test_import_yolo_data", YOLO / "test_import_yolo_data" / "images", {}),
    (YOLO / "test_import_yolo_data_unif_dims", YOLO / "test_import_yolo_data_unif_dims" / "images", {}),
]


@pytest.mark.parametrize(("src", "images", "errors"), CLEAN,
                         ids=[f"{p.relative_to(FIXTURES)}{'+images' if i else ''}" for p, i, _ in CLEAN])
def test_clean_originals_have_only_their_real_errors(src: Path, images: Path | None, errors: dict) -> None:
    report = validate(src, images)
    found: dict[str, int] = {}
    for f in report.errors:
        found[f.code] = found.get(f.code, 0) + 1
    assert found == errors, report.to_text(5)


def test_real_warnings_are_warnings() -> None:
    """sahi's COCO files state the whole image as every polygon's area: a warning (writers recompute it)."""
    report = validate(SAHI / "terrain_all_coco.json", SAHI)
    assert len(report.of("area-mismatch")) == 22
    assert {f.severity for f in report.of("area-mismatch")} == {"warning"}
    assert [f.asset for f in report.of("image-missing")] == ["terrain3.png"]
