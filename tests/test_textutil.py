"""Counted phrases read right for one and for many; tables align."""

from __future__ import annotations

import pytest

from picsellia_formats.report import Report
from picsellia_formats.textutil import count, plural, singular_phrase, table


@pytest.mark.parametrize(("noun", "many"), [
    ("label", "labels"), ("box", "boxes"), ("category", "categories"), ("match", "matches"), ("bus", "buses"),
    ("child", "children"), ("bad row", "bad rows"), ("key", "keys"), ("index", "indices"),
])
def test_plural(noun: str, many: str) -> None:
    assert plural(noun, 2) == many
    assert plural(noun, 1) == noun
    assert plural(noun, 0) == many


@pytest.mark.parametrize(("n", "noun", "many", "text"), [
    (1, "label", None, "1 label"), (0, "label", None, "0 labels"), (1200, "box", None, "1,200 boxes"),
    (2, "image not found", "images not found", "2 images not found"), (1.5, "pixel", None, "1.5 pixels"),
])
def test_count(n: float, noun: str, many: str | None, text: str) -> None:
    assert count(n, noun, many) == text


#: (phrase for many, the same for one): what a report line says of 2 and of 1
SINGULAR = [
    # the counted noun
    ("bad rows skipped", "bad row skipped"),
    ("asset statuses", "asset status"),
    ("boxes written as 4-point polygons", "box written as 4-point polygons"),
    ("assets' Label Studio-only fields", "asset's Label Studio-only fields"),
    ("image ids renumbered", "image id renumbered"),
    ("category ids that differ between split files (the first file's id kept)",
     "category id that differs between split files (the first file's id kept)"),
    ("data.yaml: val points to a missing folder", "data.yaml: val points to a missing folder"),
    # the verb after a relative pronoun agrees with the counted noun
    ("images that do not decode", "image that does not decode"),
    ("labels which have no objects", "label which has no objects"),
    ("text files that hold no YOLO rows, ignored", "text file that holds no YOLO rows, ignored"),
    ("object labels that disagree with the class PNG (the XML name kept)",
     "object label that disagrees with the class PNG (the XML name kept)"),
    ("assets of the version that are not in the pushed dataset, left as they are",
     "asset of the version that is not in the pushed dataset, left as it is"),
    ("annotators who were not found", "annotator who was not found"),
    ("images that aren't in the folder", "image that isn't in the folder"),
    ("boxes that cross the border", "box that crosses the border"),
    # a clause with its own subject stays as written
    ("images whose file is missing", "image whose file is missing"),
    ("tasks whose annotations are all cancelled, read with no objects",
     "task whose annotations are all cancelled, read with no objects"),
    ("images of the images folder that no label file names, not added",
     "image of the images folder that no label file names, not added"),
    # a relative clause or pronoun after another plural noun speaks of that one
    ("objects on images that do not decode", "object on images that do not decode"),
    ("objects of assets which have no size", "object of assets which have no size"),
    ("keypoint objects written as the box of their visible points",
     "keypoint object written as the box of its visible points"),
    # pronouns for the counted noun
    ("boxes outside their image", "box outside its image"),
    ("classes named by their index", "class named by its index"),
    ("images whose image/key/sha256 does not match their bytes",
     "image whose image/key/sha256 does not match its bytes"),
    ("EXIF-rotated images annotated on their stored pixels (sizes match), written as they are",
     "EXIF-rotated image annotated on its stored pixels (sizes match), written as it is"),
    # after a colon another clause speaks of other things
    ("results read without a ground truth: images and categories made from their ids",
     "result read without a ground truth: images and categories made from their ids"),
]


@pytest.mark.parametrize(("many", "one"), SINGULAR)
def test_singular_phrase(many: str, one: str) -> None:
    assert singular_phrase(many) == one


@pytest.mark.parametrize(("many", "one"), SINGULAR)
def test_report_line_for_one_and_many(many: str, one: str) -> None:
    r = Report()
    r.info(many, 1)
    r.info(many + " again", 2)
    lines = str(r).splitlines()
    assert f"1 {one}" in lines
    assert f"2 {many} again" in lines


def test_table_aligns_numbers_right() -> None:
    assert table([["cat", "12"], ["dog", "3"]], ["label", "objects"]).splitlines() == [
        "label  objects", "-----  -------", "cat         12", "dog          3"]
