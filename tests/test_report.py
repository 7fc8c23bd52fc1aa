"""The fidelity report."""

from __future__ import annotations

import pytest

from picsellia_formats.report import Report


def test_counts_accumulate_and_print_with_thousands_separators() -> None:
    r = Report()
    r.approximated("polygons written as boxes", 3000)
    r.approximated("polygons written as boxes", 204)
    r.dropped("Q&A answers", 17, "VOC has no Q&A")
    r.changed("areas recomputed", 2)
    assert str(r).splitlines() == ["17 Q&A answers dropped (VOC has no Q&A)", "3,204 polygons written as boxes",
                                   "2 areas recomputed"]
    assert r.lossy and r.count("approximated") == 3204


def test_changes_and_info_are_not_lossy() -> None:
    r = Report()
    r.changed("ids renumbered", 3)
    r.info("results read without ground truth")
    assert r and not r.lossy
    r.rounded("coordinates")
    assert r.lossy


def test_merge_and_json() -> None:
    a, b = Report(), Report()
    a.dropped("x", 1, example="first")
    b.dropped("x", 2, example="second")
    b.stats["assets"] = 3
    a.merge(b)
    d = a.to_dict()
    assert d["entries"] == [{"kind": "dropped", "what": "x", "count": 3, "why": "", "examples": ["first", "second"],
                            "scope": "annotation"}]
    assert d["stats"] == {"assets": 3} and d["lossy"]


def test_unknown_kind_and_zero_counts() -> None:
    r = Report()
    with pytest.raises(ValueError):
        r.add("lost", "x")
    r.dropped("nothing", 0)
    assert not r


def test_scopes_print_apart_and_strict_modes() -> None:
    r = Report()
    r.dropped("assets' VOC-only fields", 3, "COCO has no place for folder", scope="metadata")
    assert r.lossy and not r.annotation_lossy
    assert (r.refuses(False), r.refuses(True), r.refuses("annotations"), r.refuses("all")) == (False, False, False,
                                                                                                 True)
    r.dropped("lines", 2, "COCO has no lines")
    assert str(r).splitlines() == ["2 lines dropped (COCO has no lines)",
                                   "format metadata with no place in the target:",
                                   "  3 assets' VOC-only fields dropped (COCO has no place for folder)"]
    assert r.refuses(True) and r.refuses("all")
    assert sorted(e["scope"] for e in r.to_dict()["entries"]) == ["annotation", "metadata"]
    merged = Report()
    merged.merge(r)
    assert str(merged) == str(r)


def test_bad_scope_and_strict_values() -> None:
    import pytest

    from picsellia_formats.errors import OptionError
    from picsellia_formats.report import check_strict

    with pytest.raises(ValueError):
        Report().dropped("x", 1, scope="other")
    with pytest.raises(OptionError):
        check_strict("some")
