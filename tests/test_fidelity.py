"""`fidelity.ForeignFields`: every record holding another format's fields is counted once per scope,
whatever the order and repetition of the records (the tallies are worked out once per field set)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from picsellia_formats.fidelity import ForeignFields
from picsellia_formats.report import Report


def _lines(records: list[tuple[str, dict]], target: str = "voc") -> list[str]:
    tally = ForeignFields(target)
    for what, extra in records:
        tally.add(what, extra)
    report = Report()
    tally.report_to(report)
    return [str(e) for e in report.entries]


@pytest.mark.parametrize(("records", "expected"), [
    ([("assets", {"coco": {"license": 1}})] * 3,
     ["3 assets' COCO-only fields dropped (VOC has no place for license)"]),
    # a null or empty value carries nothing; the same keys with a value count
    ([("assets", {"coco": {"license": None}}), ("assets", {"coco": {"license": 2}})],
     ["1 asset's COCO-only fields dropped (VOC has no place for license)"]),
    # metadata keys and annotation keys of one record: once in each scope
    ([("assets", {"coco": {"license": 1, "mine": 2}}), ("assets", {"coco": {"mine": 3}})],
     ["2 assets' COCO-only fields dropped (VOC has no place for mine)",
      "1 asset's COCO-only fields dropped (VOC has no place for license)"]),
    # the target's own fields are not foreign
    ([("objects", {"voc": {"pose": "Left"}})], []),
])
def test_table(records: list[tuple[str, dict]], expected: list[str]) -> None:
    assert sorted(_lines(records)) == sorted(expected)


_keys = st.sampled_from(["license", "coco_url", "mine", "other"])
_extra = st.dictionaries(_keys, st.one_of(st.none(), st.integers(0, 3), st.just({})), max_size=4)


@given(st.lists(st.tuples(st.sampled_from(["assets", "objects", "dataset"]), _extra), max_size=30))
def test_counts_are_those_of_a_record_by_record_count(records: list[tuple[str, dict]]) -> None:
    """The cached tallies equal counting each record afresh: per (record kind, scope), the records
    with at least one carried field of that scope, and the union of those fields."""
    metadata = {"license", "coco_url"}  # COCO's FormatSpec.metadata_keys among the sampled keys
    expected: dict[tuple[str, str], list] = {}
    for what, fields in records:
        keys = [k for k, v in fields.items() if v is not None and v != {}]
        for scope in ("metadata", "annotation"):
            mine = [k for k in keys if what == "dataset" or (k in metadata) == (scope == "metadata")]
            if mine and (what != "dataset" or scope == "metadata"):
                entry = expected.setdefault((what, scope), [0, set()])
                entry[0] += 1
                entry[1].update(mine)
    tally = ForeignFields("voc")
    for what, fields in records:
        tally.add(what, {"coco": fields})
    got = {(what, scope): [n, keys] for (what, fmt, scope), (n, keys) in tally._counts.items()}
    assert got == expected
