"""Each rule on small in-memory datasets: it fires on its defect, and only there."""

from __future__ import annotations

import math

import pytest

from picsellia_formats.errors import OptionError
from picsellia_formats.model import QA, Annotation, Asset, Dataset, Label, Mask
from picsellia_formats.validation import RULES, SEVERITIES, Options, select, validate

NAN = math.nan


def _ds(*anns: Annotation, w: float | None = 100, h: float | None = 80, labels: tuple[str, ...] = ("cat",),
        **asset: object) -> Dataset:
    return Dataset([Label(n) for n in labels], [Asset("a.jpg", w, h, list(anns), **asset)])  # type: ignore[arg-type]


def _codes(ds: Dataset, **kw: object) -> set[str]:
    kw.setdefault("skip", ["dataset"])
    return validate(ds, **kw).codes()  # type: ignore[arg-type]


BOX = Annotation("cat", box=(10.0, 10.0, 20.0, 20.0))
SQUARE = [[10.0, 10.0, 30.0, 10.0, 30.0, 30.0, 10.0, 30.0]]


@pytest.mark.parametrize(("ds", "code"), [
    (_ds(Annotation("cat", box=(NAN, 1.0, 2.0, 2.0))), "non-finite-coordinate"),
    (_ds(Annotation("cat", box=(1.0, 1.0, math.inf, 2.0))), "non-finite-coordinate"),
    (_ds(Annotation("cat", polygon=[[1.0, 1.0, NAN, 5.0, 5.0, 5.0]])), "non-finite-coordinate"),
    (_ds(Annotation("cat", polygon=[[1.0, 1.0, 5.0, 5.0, 5.0]])), "non-finite-coordinate"),
    (_ds(Annotation("cat", keypoints=[1.0, NAN, 2])), "non-finite-coordinate"),
    (_ds(Annotation("cat", box=(5.0, 5.0, -3.0, 4.0))), "box-negative-size"),
    (_ds(Annotation("cat", box=(5.0, 5.0, 3.0, 0.0))), "box-zero-size"),
    (_ds(Annotation("cat", box=(100.0, 5.0, 3.0, 3.0))), "bbox-out-of-image"),
    (_ds(Annotation("cat", box=(-3.0, -3.0, 3.0, 3.0))), "bbox-out-of-image"),
    (_ds(Annotation("cat", box=(98.0, 5.0, 3.0, 3.0))), "bbox-partly-out-of-image"),
    (_ds(Annotation("cat", polygon=[[200.0, 10.0, 220.0, 10.0, 220.0, 30.0]])), "polygon-out-of-image"),
    # the box of this L crosses the image corner, the L itself does not
    (_ds(Annotation("cat", polygon=[[90.0, -20.0, 130.0, -20.0, 130.0, 120.0, 120.0, 120.0, 120.0, -10.0,
                                     90.0, -10.0]])), "polygon-out-of-image"),
    (_ds(Annotation("cat", polygon=[[90.0, 10.0, 120.0, 10.0, 120.0, 30.0]])), "polygon-partly-out-of-image"),
    (_ds(Annotation("cat", polygon=[[1.0, 1.0, 5.0, 5.0]])), "polygon-too-few-points"),
    (_ds(Annotation("cat", polygon=[[1.0, 1.0, 5.0, 5.0, 1.0, 1.0, 5.0, 5.0]])), "polygon-too-few-points"),
    (_ds(Annotation("cat", polygon=[[1.0, 1.0, 5.0, 5.0, 9.0, 9.0]])), "polygon-zero-area"),
    (_ds(Annotation("cat", polygon=[[10.0, 10.0, 50.0, 50.0, 50.0, 10.0, 10.0, 50.0]])), "polygon-self-intersecting"),
    (_ds(Annotation("cat", polygon=[[10.0, 10.0, 50.0, 50.0, 50.0, 10.0, 10.0, 60.0]])), "polygon-self-intersecting"),
    (_ds(Annotation("cat", mask=Mask(81, 100, [8100]))), "rle-size-mismatch"),
    (_ds(Annotation("cat", keypoints=[10.0, 10.0, 2, 150.0, 10.0, 1])), "points-out-of-image"),
    (_ds(Annotation("cat", line=[10.0, 10.0, 10.0, 90.0])), "points-out-of-image"),
    (_ds(Annotation("cat", point=(-1.0, 3.0))), "points-out-of-image"),
    (_ds(Annotation("cat", box=(5.0, 5.0, 0.5, 30.0))), "object-too-small"),
    (_ds(Annotation("cat", polygon=[[5.0, 5.0, 6.0, 5.0, 6.0, 6.0]])), "object-too-small"),
    (_ds(Annotation("cat", box=(5.0, 5.0, 10.0, 10.0), area=900.0)), "area-mismatch"),
    (_ds(Annotation("cat", polygon=SQUARE, area=4000.0)), "area-mismatch"),
    (_ds(Annotation("cat", polygon=SQUARE, box=(10.0, 10.0, 40.0, 20.0))), "bbox-geometry-mismatch"),
    (_ds(BOX, Annotation("cat", box=(10.0, 10.0, 20.0, 20.0))), "duplicate-object"),
    (_ds(Annotation("cat", polygon=SQUARE), Annotation("cat", polygon=[list(SQUARE[0])])), "duplicate-object"),
    (_ds(Annotation("cat", id=1), Annotation("cat", id=1, box=(1.0, 1.0, 4.0, 4.0))), "duplicate-object-id"),
    (_ds(BOX, w=0, h=80), "image-size-invalid"),
    (_ds(BOX, w=NAN, h=80), "image-size-invalid"),
    (_ds(BOX, w=None, h=None), "image-size-unknown"),
    (_ds(Annotation("dog", box=(1.0, 1.0, 4.0, 4.0))), "undeclared-label"),
])
def test_rule_fires(ds: Dataset, code: str) -> None:
    codes = _codes(ds)
    assert code in codes
    assert codes <= {code, "object-too-small", "area-mismatch", "points-out-of-image", "bbox-partly-out-of-image",
                     "duplicate-object", "label-unused"}, codes


@pytest.mark.parametrize("ds", [
    _ds(BOX),
    _ds(Annotation("cat", box=(0.0, 0.0, 100.0, 80.0))),  # the whole image: x + w is the exclusive edge
    _ds(Annotation("cat", polygon=SQUARE, box=(10.0, 10.0, 20.0, 20.0), area=400.0)),
    _ds(Annotation("cat", polygon=[[0.0, 0.0, 100.0, 0.0, 100.0, 80.0, 0.0, 80.0]])),
    # a keyhole ring (a hole joined by a zero-width cut, as traced masks are written) is not a crossing
    _ds(Annotation("cat", polygon=[[0.0, 0.0, 0.0, 40.0, 40.0, 40.0, 40.0, 0.0, 10.0, 0.0, 10.0, 10.0, 20.0, 10.0,
                                    20.0, 20.0, 10.0, 20.0, 10.0, 10.0, 10.0, 0.0]])),
    _ds(Annotation("cat", polygon=[[1.0, 1.0, 9.0, 1.0, 9.0, 9.0], [20.0, 20.0, 30.0, 20.0, 30.0, 30.0]])),
    _ds(Annotation("cat", mask=Mask(80, 100, [2000, 4000, 2000]))),
    _ds(Annotation("cat", keypoints=[10.0, 10.0, 2, 500.0, 500.0, 0])),  # invisible keypoints may be anywhere
    _ds(Annotation("cat")),  # a classification
    _ds(Annotation("cat", id=1), Annotation("dog", id=2), labels=("cat", "dog")),
])
def test_clean_objects_have_no_findings(ds: Dataset) -> None:
    assert _codes(ds) == set()


def test_empty_mask_is_too_small() -> None:
    assert _codes(_ds(Annotation("cat", mask=Mask(80, 100, [8000])))) == {"object-too-small"}


def test_symmetric_bow_tie_is_a_crossing_not_zero_area() -> None:
    """Its signed area is 0, but it is two triangles: self-intersecting, not degenerate."""
    ds = _ds(Annotation("cat", polygon=[[10.0, 10.0, 50.0, 50.0, 50.0, 10.0, 10.0, 50.0]]))
    assert _codes(ds) == {"polygon-self-intersecting"}


def test_multi_part_polygon_reports_the_bad_part() -> None:
    ds = _ds(Annotation("cat", polygon=[SQUARE[0], [1.0, 1.0, 2.0, 2.0, 3.0, 3.0]]))
    report = validate(ds, rules=["geometry"])
    assert [(f.code, f.data) for f in report] == [("polygon-zero-area", {"part": 1})]


# -------------------------------------------------------------------------------------- structure


def test_duplicate_file_names_and_asset_ids() -> None:
    ds = Dataset([Label("cat")], [Asset("a.jpg", 10, 10, id=1), Asset("a.jpg", 10, 10, id=2),
                                  Asset("b.jpg", 10, 10, id=1)])
    report = validate(ds, rules=["structure"])
    assert [(f.code, f.asset_index) for f in report if f.code.startswith("duplicate")] == [
        ("duplicate-file-name", 1), ("duplicate-asset-id", 2)]


@pytest.mark.parametrize("name", ["", "   ", "/etc/passwd", "C:/x.jpg", "..\\x.jpg", "a/../../x.jpg", "a\x00.jpg"])
def test_unsafe_file_names(name: str) -> None:
    ds = Dataset([], [Asset(name, 10, 10)])
    assert "file-name-unsafe" in validate(ds, rules=["file-name-unsafe"]).codes()


@pytest.mark.parametrize("name", ["a.jpg", "sub/dir/a.jpg", "été/東京 café ☕.jpg", "a..b.jpg", "./x.jpg"])
def test_safe_file_names(name: str) -> None:
    assert not validate(Dataset([], [Asset(name, 10, 10)]), rules=["file-name-unsafe"])


@pytest.mark.parametrize(("labels", "used", "codes"), [
    (["car", "Car"], ["car", "Car"], {"label-near-duplicate"}),
    (["car", "car "], ["car", "car "], {"label-near-duplicate", "label-whitespace"}),
    (["car", " bus"], ["car", " bus"], {"label-whitespace"}),
    (["car", "bus"], ["car"], {"label-unused"}),
    (["car", ""], ["car", ""], {"label-empty"}),
    (["car", "bus"], ["car", "bus"], set()),
])
def test_label_rules(labels: list[str], used: list[str], codes: set[str]) -> None:
    ds = Dataset([Label(n) for n in labels],
                 [Asset("a.jpg", 100, 100, [Annotation(n, box=(1.0 + i, 1.0, 5.0, 5.0)) for i, n in enumerate(used)])])
    assert validate(ds, rules=["structure"]).codes() == codes


def test_no_declared_labels_means_no_undeclared_findings() -> None:
    ds = Dataset([], [Asset("a.jpg", 10, 10, [Annotation("cat")])])
    assert "undeclared-label" not in validate(ds).codes()


# ---------------------------------------------------------------------------------------- Q&A


@pytest.mark.parametrize(("qa", "code"), [
    (QA("text", "note", 3), "answer-wrong-type"),
    (QA("select", "weather", ["sun", "rain"], choices=["sun", "rain"]), "answer-wrong-type"),
    (QA("select", "weather", "snow", choices=["sun", "rain"]), "answer-not-in-choices"),
    (QA("mc", "tags", ["a", "z"], choices=["a", "b"]), "answer-not-in-choices"),
    (QA("mc", "tags", "a", choices=["a", "b"]), "answer-wrong-type"),
    (QA("range", "score", 11, min=0, max=10), "answer-out-of-range"),
    (QA("range", "score", -0.5, min=0, max=10), "answer-out-of-range"),
    (QA("range", "score", "7", min=0, max=10), "answer-wrong-type"),
    (QA("range", "score", True, min=0, max=10), "answer-wrong-type"),
    (QA("select", "weather", None, choices=["sun"], extra={"required": True}), "answer-missing"),
    (QA("text", "note", "", extra={"required": True}), "answer-missing"),
])
def test_qa_rules(qa: QA, code: str) -> None:
    on_asset = validate(_ds(BOX, qa=[qa]), rules=["qa"])
    on_object = validate(_ds(Annotation("cat", box=(1.0, 1.0, 5.0, 5.0), qa=[qa])), rules=["qa"])
    assert on_asset.codes() == on_object.codes() == {code}
    assert on_object.findings[0].object_index == 0 and on_asset.findings[0].object_index is None


@pytest.mark.parametrize("qa", [
    QA("text", "note", "fine"),
    QA("select", "weather", "sun", choices=["sun", "rain"]),
    QA("mc", "tags", ["a", "b"], choices=["a", "b"]),
    QA("range", "score", 10, min=0, max=10),
    QA("select", "weather", None, choices=["sun"]),  # unanswered but not required
])
def test_valid_answers(qa: QA) -> None:
    assert not validate(_ds(BOX, qa=[qa]), rules=["qa"])


def test_schema_on_assets_and_objects() -> None:
    schema = {"weather": {"on": "asset", "kind": "select", "choices": ["sun", "rain"], "required": True},
              "occluded": {"input_type": "BOOLEAN"},
              "count": {"kind": "integer", "min": 0, "max": 5, "labels": ["cat"]}}
    ds = Dataset([Label("cat"), Label("dog")], [
        Asset("a.jpg", 10, 10, [Annotation("cat", attributes={"occluded": "no", "count": 9}),
                                Annotation("dog", attributes={"count": "many"})]),
        Asset("b.jpg", 10, 10, qa=[QA("select", "weather", "sun", choices=["sun", "rain"])]),
    ])
    report = validate(ds, rules=["qa"], schema=schema)
    assert sorted((f.code, f.asset, f.object_index) for f in report) == [
        ("answer-missing", "a.jpg", None), ("answer-out-of-range", "a.jpg", 0), ("answer-wrong-type", "a.jpg", 0)]


@pytest.mark.parametrize("schema", [{"x": {"kind": "colour"}}, {"x": {"on": "image"}}, [{"kind": "text"}], 3])
def test_bad_schema_is_refused(schema: object) -> None:
    with pytest.raises(ValueError):
        validate(_ds(BOX), schema=schema)


# ------------------------------------------------------------------------------------- dataset


def test_dataset_rules() -> None:
    assets = [Asset(f"{i}.jpg", 100, 100, [Annotation("cat", box=(1.0, 1.0, 5.0, 5.0))]) for i in range(60)]
    assets.append(Asset("dog.jpg", 100, 100, [Annotation("dog", box=(1.0, 1.0, 5.0, 5.0))]))
    assets.append(Asset("empty.jpg", 100, 100))
    ds = Dataset([Label("cat"), Label("dog")], assets)
    report = validate(ds, rules=["dataset"])
    assert sorted((f.code, f.asset) for f in report) == [
        ("asset-empty", "empty.jpg"), ("class-few-objects", None), ("class-imbalance", None)]
    assert "'dog'" in report.of("class-few-objects")[0].message
    assert validate(ds, rules=["dataset"], min_objects=1, max_imbalance=100).codes() == {"asset-empty"}
    assert validate(Dataset()).codes() == {"dataset-empty"}


# ------------------------------------------------------------------------------------ selection


def test_rule_selection() -> None:
    ds = _ds(Annotation("cat", box=(5.0, 5.0, 0.0, 4.0)), Annotation("cat", box=(98.0, 5.0, 3.0, 3.0)))
    assert validate(ds, rules=["box-zero-size"]).codes() == {"box-zero-size"}
    assert "box-zero-size" not in validate(ds, skip="box-zero-size,dataset").codes()
    assert select("geometry") == {c for c, r in RULES.items() if r.category == "geometry"}
    with pytest.raises(ValueError, match="unknown rule"):
        validate(ds, rules=["no-such-rule"])
    with pytest.raises(OptionError, match="no option"):
        validate(ds, threshold=3)


def test_every_rule_is_documented_in_the_catalogue() -> None:
    for code, rule in RULES.items():
        assert rule.severity in SEVERITIES and rule.summary and code == code.lower()
    assert Options().min_objects == 10 and Options().max_imbalance == 50.0


def test_docs_list_every_rule_with_its_severity_and_fix() -> None:
    from tests.conftest import ROOT

    text = (ROOT / "docs" / "validation.md").read_text()
    for code, rule in RULES.items():
        assert f"| `{code}` | {rule.severity} | {rule.summary} | {rule.fix or '—'} |" in text, code
