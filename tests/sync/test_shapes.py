"""shapes: canonical annotations to the platform's shapes and back, rounding reported, signatures."""

from __future__ import annotations

import pytest

from picsellia_formats.masks import polygon_to_rle
from picsellia_formats.model import Annotation, Mask
from picsellia_formats.report import Report
from picsellia_formats.sync import shapes

IDS = {"cat": "id-cat", "dog": "id-dog"}


def _loaded(item: dict, names: dict[str, str]) -> dict:
    """What XGET annotations gives back for what we sent: label names instead of ids."""
    out = {}
    for key, value in item.items():
        out[key] = [{**{k: v for k, v in s.items() if k != "label_id"}, "label": names[s["label_id"]]}
                    for s in value]
    return out


ROUND_TRIPS = [
    Annotation("cat", box=(10, 20, 30, 40)),
    Annotation("cat", polygon=[[0, 0, 10, 0, 10, 10, 0, 10]]),
    Annotation("dog", keypoints=[1, 2, 2, 3, 4, 1, 0, 0, 0]),
    Annotation("dog", line=[0, 0, 5, 5, 9, 1]),
    Annotation("dog", point=(3, 4)),
    Annotation("cat"),
    Annotation("cat", box=(1, 1, 2, 2), attributes={"difficult": 1, "pose": "Left"}),
    Annotation("cat", mask=polygon_to_rle([[1, 1, 8, 1, 8, 8]], 10, 10)),
]


@pytest.mark.parametrize("ann", ROUND_TRIPS, ids=lambda a: a.kind)
def test_exact_shapes_round_trip(ann: Annotation) -> None:
    report = Report()
    item = shapes.to_platform([ann], IDS, 10, 10, report)
    assert not report, str(report)
    back = shapes.from_platform(_loaded(item, {v: k for k, v in IDS.items()}), 10, 10)
    assert back == [ann]


def test_boxes_round_corner_by_corner_and_say_so() -> None:
    report = Report()
    item = shapes.to_platform([Annotation("cat", box=(0.4, 0.5, 10.2, 9.9)), Annotation("cat", box=(1, 2, 3, 4))],
                              IDS, None, None, report)
    assert [(r["x"], r["y"], r["w"], r["h"]) for r in item["rectangles"]] == [(0, 1, 11, 9), (1, 2, 3, 4)]
    assert report.count("rounded", "box coordinates to whole pixels") == 1


def test_multipart_polygon_and_other_losses_are_reported() -> None:
    report = Report()
    ann = Annotation("cat", polygon=[[0, 0, 4, 0, 4, 4], [5, 5, 9, 5, 9, 9], [1, 1]], score=0.9, iscrowd=1)
    item = shapes.to_platform([ann], IDS, 10, 10, report)
    assert len(item["polygons"]) == 2
    assert report.count("approximated") == 1
    assert report.count("dropped", "polygon parts with fewer than 3 points") == 1
    assert report.count("dropped", "detection scores") == 1 and report.count("dropped", "iscrowd flags") == 1


def test_uncompressed_mask_is_sent_compressed() -> None:
    compressed = polygon_to_rle([[1, 1, 8, 1, 8, 8]], 10, 10)
    from pycocotools import mask as coco_mask

    raw = coco_mask.decode({"size": [10, 10], "counts": compressed.counts.encode()})
    counts, run, value = [], 0, 0
    for bit in raw.flatten(order="F"):
        if bit == value:
            run += 1
        else:
            counts.append(run)
            run, value = 1, bit
    counts.append(run)
    item = shapes.to_platform([Annotation("cat", mask=Mask(10, 10, counts))], IDS, 10, 10, Report())
    assert item["masks"][0]["mask"] == compressed.counts


def test_signature_is_order_free_and_compares_sent_with_loaded() -> None:
    anns = [Annotation("cat", box=(1, 2, 3, 4)), Annotation("dog", point=(1, 1))]
    sent = shapes.to_platform(anns, IDS, 9, 9, Report())
    loaded = _loaded(sent, {v: k for k, v in IDS.items()})
    loaded["rectangles"][0]["area"] = 12
    names = {v: k for k, v in IDS.items()}
    assert shapes.signature(loaded) == shapes.signature(sent, names)
    other = shapes.to_platform(anns[::-1], IDS, 9, 9, Report())
    assert shapes.signature(other, names) == shapes.signature(sent, names)
    moved = shapes.to_platform([Annotation("cat", box=(1, 2, 3, 5)), anns[1]], IDS, 9, 9, Report())
    assert shapes.signature(moved, names) != shapes.signature(sent, names)
