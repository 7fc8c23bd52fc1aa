"""The report's aggregation: exact counts per code, label and severity whatever it holds (`keep`)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from picsellia_formats.errors import OptionError
from picsellia_formats.model import Annotation, Asset, Dataset, Label
from picsellia_formats.validation import fix, validate
from picsellia_formats.validation.findings import KEEP, Finding, ValidationReport
from picsellia_formats.validation.rules import RULES

CODES = ["area-mismatch", "box-zero-size", "object-too-small", "asset-empty", "class-few-objects"]


def _finding(code: str, i: int, label: str | None) -> Finding:
    return Finding(code, RULES[code].severity, f"message {i}", asset=f"{i}.jpg", asset_index=i,
                   object_index=0 if label else None, label=label)


FINDINGS = st.lists(st.tuples(st.sampled_from(CODES), st.sampled_from(["cat", "dog", None])), max_size=60)


@settings(max_examples=60, deadline=None)
@given(FINDINGS, st.integers(0, 5))
def test_a_bounded_report_gives_the_totals_of_a_full_one(items: list, keep: int) -> None:
    full, bounded = ValidationReport(), ValidationReport(keep=keep)
    for i, (code, label) in enumerate(items):
        full.add(_finding(code, i, label))
        bounded.add(_finding(code, i, label))
    assert len(bounded) == len(full) == len(items)
    assert bounded.counts() == full.counts()
    assert bounded.counts_by_label() == full.counts_by_label()
    assert bounded.by_severity() == full.by_severity()
    assert bounded.summary() == full.summary()
    assert bounded.codes() == full.codes() and bounded.codes("error") == full.codes("error")
    for level in ("error", "warning", "info"):
        assert bounded.failed(level) == full.failed(level)
    held = [f.message for f in bounded]
    assert held == [f.message for f in full if sum(g.code == f.code for g in full.findings[:full.findings.index(f)])
                    < keep]  # the first `keep` of each code, in the order found
    assert sum(bounded.omitted().values()) == len(items) - len(held)
    assert full.omitted() == {} and full.complete
    # the texts give the exact totals: every code's count, and "and N more" for the rest
    assert bounded.to_text(examples=3).splitlines()[0] == full.to_text(examples=3).splitlines()[0]
    for code, n in full.counts().items():
        assert re.search(rf"\b{code} +{n:,}  ", bounded.to_text())
    d = bounded.to_dict()
    assert d["counts"] == full.to_dict()["counts"] and d["findings_total"] == len(items)
    assert len(d["findings"]) + sum(d["omitted"].values()) == len(items)


def test_text_says_how_many_more_and_counts_by_label() -> None:
    r = ValidationReport(keep=2)
    for i in range(5):
        r.add(_finding("area-mismatch", i, "cat" if i < 3 else "dog"))
    text = r.to_text(examples=2)
    assert re.search(r"area-mismatch +5  ", text)
    assert "  ... and 3 more" in text
    assert "  by label: 'cat' 3, 'dog' 2" in text
    assert r.to_text(examples=10).count("message") == 2  # only the held ones can be shown
    assert "... and 3 more" in r.to_text(examples=10)
    d = r.to_dict(limit=1)
    assert [f["message"] for f in d["findings"]] == ["message 0"]
    assert d["omitted"] == {"area-mismatch": 4}
    assert d["counts_by_label"] == [{"code": "area-mismatch", "label": "cat", "count": 3},
                                    {"code": "area-mismatch", "label": "dog", "count": 2}]


def test_keep_must_not_be_negative() -> None:
    with pytest.raises(OptionError, match="keep"):
        ValidationReport(keep=-1)
    assert KEEP >= 100


def _many_defects() -> Dataset:
    return Dataset([Label("cat")], [Asset(f"{i}.jpg", 10, 10, [Annotation("cat", box=(1.0, 1.0, 0.0, 2.0),
                                                                          id=i)]) for i in range(12)])


def test_validate_with_keep_holds_the_first_and_counts_all() -> None:
    full = validate(_many_defects())
    bounded = validate(_many_defects(), keep=2)
    assert full.counts() == bounded.counts() and full.counts()["box-zero-size"] == 12
    assert [f.asset_index for f in bounded.of("box-zero-size")] == [0, 1]
    assert {f.label for f in full.of("box-zero-size")} == {"cat"}
    assert bounded.failed() and full.failed()


def test_fix_needs_every_finding() -> None:
    with pytest.raises(OptionError, match="keep=None"):
        fix(validate(_many_defects(), keep=2))
    fixed, log = fix(validate(_many_defects(), keep=20))  # nothing left out: fine
    assert len(log) == 12 and not fixed.assets[0].annotations


def test_qa_repeats_are_dropped_as_they_are_found() -> None:
    from picsellia_formats.model import QA

    ds = Dataset([Label("cat")], [Asset("a.jpg", 10, 10, qa=[QA("select", "weather", "snow",
                                                                choices=["sun", "rain"])])])
    schema = {"weather": {"on": "asset", "kind": "select", "choices": ["sun", "rain"]}}
    report = validate(ds, rules=["qa"], schema=schema, keep=5)
    keys = [(f.code, f.asset_index, f.object_index, f.message) for f in report]
    assert keys and len(set(keys)) == len(keys) == len(report)
    assert set(report.counts()) == {"answer-not-in-choices"}
