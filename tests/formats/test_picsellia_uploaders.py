"""Picsellia JSON as the older SDK uploaders read it (4.7.39, 5.0.22, 5.1.21; read from their wheels).

- 4.7/5.0 ``add_annotation_legacy``: ``annotations["external_picture_url"]``, ``["nb_labels"]`` and
  ``["time_spent"]`` (a KeyError without it), sent as ``duration``.
- 5.1 ``Dataset._add_annotation_for_picture``: ``float(duration)`` if present, else
  ``float(time_spent)`` (neither: UnboundLocalError; null: TypeError), ``int(nb_labels)``.
The checks below replay those reads on what we write.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import picsellia_formats as pf
from picsellia_formats import cli
from picsellia_formats.model import Annotation, Asset, Dataset, Mask

ROOT = Path(__file__).resolve().parents[2]


def legacy_47_50(record: dict[str, Any]) -> dict[str, Any]:
    """The body 4.7.39/5.0.22 ``add_annotation_legacy`` builds (same key reads)."""
    return {"picture_id": record["external_picture_url"], "nb_instances": record["nb_labels"],
            "duration": record["time_spent"], "data": record["annotations"]}


def legacy_51(record: dict[str, Any]) -> tuple[float, int]:
    """What 5.1.21 ``_add_annotation_for_picture`` reads."""
    if "duration" in record:
        duration = float(record["duration"])
    elif "time_spent" in record:
        duration = float(record["time_spent"])
    else:
        raise UnboundLocalError("duration")
    return duration, int(record["nb_labels"])


def records(path: Path) -> list[dict[str, Any]]:
    return json.loads(path.read_text())["annotations"]


@pytest.mark.parametrize(("source", "unknown_times"), [
    ("fixtures/picsellia_coco_det/annotations.json", "all"),
    ("fixtures/voc_toy_cats/gts_vocpascal_format", "all"),
    ("tests/data/picsellia/full.json", 2),  # one record without time_spent, one with null
])
def test_every_record_we_write_is_read_by_every_legacy_uploader(source: str, unknown_times: Any,
                                                                tmp_path: Path) -> None:
    out = tmp_path / "p.json"
    report = pf.convert(ROOT / source, out, "picsellia")
    recs = records(out)
    assert recs
    for rec in recs:
        body = legacy_47_50(rec)
        assert isinstance(body["duration"], (int, float))
        legacy_51(rec)
    unknown = report.count("changed", "time_spent written as 0 (not known)")
    assert unknown == (len(recs) if unknown_times == "all" else unknown_times)


def test_time_spent_kept_and_null_or_absent_written_as_0_with_a_report_line(tmp_path: Path) -> None:
    data = {"images": [{"external_picture_url": n} for n in ("a.jpg", "b.jpg", "c.jpg")],
            "annotations": [{"external_picture_url": "a.jpg", "time_spent": 12.5, "annotations": []},
                            {"external_picture_url": "b.jpg", "time_spent": None, "annotations": []},
                            {"external_picture_url": "c.jpg", "annotations": []}]}
    src = tmp_path / "in.json"
    src.write_text(json.dumps(data))
    report = pf.write(pf.read(src, "picsellia"), tmp_path / "out.json", "picsellia")
    assert [r["time_spent"] for r in records(tmp_path / "out.json")] == [12.5, 0, 0]
    assert report.count("changed", "time_spent written as 0 (not known)") == 2


def test_the_51_duration_variant_is_read_and_time_spent_added(tmp_path: Path) -> None:
    data = {"images": [{"external_picture_url": "a.jpg"}],
            "annotations": [{"external_picture_url": "a.jpg", "duration": 7, "nb_labels": 0, "annotations": []}]}
    src = tmp_path / "in.json"
    src.write_text(json.dumps(data))
    ds = pf.read(src, "picsellia")
    assert ds.assets[0].extra["picsellia"]["time_spent"] == 7
    report = pf.write(ds, tmp_path / "out.json", "picsellia")
    (rec,) = records(tmp_path / "out.json")
    assert rec["duration"] == 7 and rec["time_spent"] == 7 and legacy_47_50(rec)["duration"] == 7
    assert not report  # nothing guessed


def test_bad_duration_is_an_error_naming_the_record(tmp_path: Path) -> None:
    src = tmp_path / "in.json"
    src.write_text(json.dumps({"annotations": [{"external_picture_url": "a.jpg", "duration": "5s",
                                                "annotations": []}]}))
    with pytest.raises(pf.FormatError, match=r"in\.json: .*duration"):
        pf.read(src, "picsellia")


def test_external_picture_url_always_written(tmp_path: Path) -> None:
    data = {"images": [{"internal_picture_id": "u1", "external_picture_url": "a.jpg"}],
            "annotations": [{"internal_picture_id": "u1", "time_spent": 1, "annotations": []}]}
    src = tmp_path / "in.json"
    src.write_text(json.dumps(data))
    pf.write(pf.read(src, "picsellia"), tmp_path / "out.json", "picsellia")
    (rec,) = records(tmp_path / "out.json")
    assert legacy_47_50(rec)["picture_id"] == "a.jpg"


def test_platform_only_truncates_like_the_sdk_and_counts_each_moved_coordinate(tmp_path: Path) -> None:
    ds = Dataset(assets=[Asset("a.jpg", 100, 100, [
        Annotation("car", box=(1.9, 2.0, 10.5, -0.0)),
        Annotation("road", polygon=[[0.5, 0.0, 10.0, 0.0, 10.0, 9.99], [20, 20, 30, 20, 30, 30.7]]),
    ])])
    report = pf.write(ds, tmp_path / "p.json", "picsellia", platform_only=True)
    shapes = records(tmp_path / "p.json")[0]["annotations"]
    assert shapes[0]["rectangle"] == {"top": 2, "left": 1, "width": 10, "height": 0}
    assert [[(g["x"], g["y"]) for g in s["polygon"]["geometry"]] for s in shapes[1:]] == [
        [(0, 0), (10, 0), (10, 9)], [(20, 20), (30, 20), (30, 30)]]
    assert report.count("rounded", "box coordinates") == 2  # 1.9 and 10.5 moved; 2.0 and -0.0 did not
    assert report.count("rounded", "polygon coordinates") == 3
    assert "truncated to integer pixels with int(), as the SDK does" in str(report)
    # the default keeps every coordinate exactly
    exact = pf.write(ds, tmp_path / "e.json", "picsellia")
    assert not exact.count("rounded", "box coordinates")
    assert records(tmp_path / "e.json")[0]["annotations"][0]["rectangle"]["left"] == 1.9


@pytest.mark.parametrize("counts", ["14", "0", "PPYo", [5, 10], [1, 2]])
def test_rle_counts_not_matching_the_size_are_refused(counts: Any, tmp_path: Path) -> None:
    # issue 19 item 10: compressed counts were not checked; convert --to coco exited 0 and wrote a
    # file our own COCO reader refuses
    data = {"images": [{"external_picture_url": "a.jpg", "width": 2, "height": 2}],
            "annotations": [{"external_picture_url": "a.jpg", "annotations": [
                {"type": "mask", "label": "x", "mask": {"size": [2, 2], "counts": counts}}]}]}
    src = tmp_path / "in.json"
    src.write_text(json.dumps(data))
    with pytest.raises(pf.FormatError, match=r"in\.json: annotations\[0\].*RLE counts"):
        pf.read(src, "picsellia")


def test_convert_of_a_bad_rle_to_coco_exits_2_naming_the_file(tmp_path: Path, capsys: Any) -> None:
    data = {"images": [{"external_picture_url": "a.jpg", "width": 2, "height": 2}],
            "annotations": [{"external_picture_url": "a.jpg", "annotations": [
                {"type": "mask", "label": "x", "mask": {"size": [2, 2], "counts": "14"}}]}]}
    src = tmp_path / "in.json"
    src.write_text(json.dumps(data))
    assert cli.main(["convert", str(src), str(tmp_path / "c.json"), "--from", "picsellia", "--to", "coco"]) == 2
    err = capsys.readouterr().err
    assert f"{src}: annotations[0]" in err and "RLE counts cover 5 pixels, expected 2 x 2 = 4" in err
    assert not (tmp_path / "c.json").exists()


def test_a_valid_compressed_mask_still_converts_to_a_file_our_coco_reader_reads(tmp_path: Path) -> None:
    ds = Dataset(assets=[Asset("a.jpg", 2, 2, [Annotation("x", mask=Mask(2, 2, "112"))])])
    pf.write(ds, tmp_path / "p.json", "picsellia")
    pf.convert(tmp_path / "p.json", tmp_path / "c.json", "coco")
    assert pf.read(tmp_path / "c.json", "coco").assets[0].annotations[0].mask.counts == "112"
