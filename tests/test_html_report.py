"""The HTML report, opened in headless Chromium: the findings section lists the injected defects and
every image loads."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import orjson
from PIL import Image

import picsellia_formats as pf
from picsellia_formats.html_report import build_report
from tests.browser import dump_dom, needs_chromium, screenshot
from tests.conftest import FIXTURES, run_cli

INJECTED = {"bbox-partly-out-of-image", "image-missing", "box-zero-size", "label-whitespace"}


def _defective(tmp_path: Path) -> tuple[Path, Path]:
    """voc_toy_cats as COCO with its images, and four defects injected."""
    images = tmp_path / "images"
    shutil.copytree(FIXTURES / "voc_toy_cats/images", images)
    doc = orjson.loads((FIXTURES / "voc_toy_cats/gts_coco_format/toy_example_coco.JSON").read_bytes())
    first = doc["annotations"][0]
    w = next(im["width"] for im in doc["images"] if im["id"] == first["image_id"])
    doc["annotations"].append({**first, "id": 900, "bbox": [w - 10, 5, 80, 40], "area": 3200})  # out of image
    doc["annotations"].append({**first, "id": 901, "bbox": [10, 10, 0, 25], "area": 0})  # zero width
    doc["categories"].append({"id": 7, "name": " cat ", "supercategory": "none"})  # whitespace
    doc["annotations"].append({**first, "id": 902, "category_id": 7})
    (images / doc["images"][1]["file_name"]).unlink()  # a missing image
    src = tmp_path / "defects.json"
    src.write_bytes(orjson.dumps(doc))
    return src, images


def test_report_lists_the_injected_defects(tmp_path: Path) -> None:
    src, images = _defective(tmp_path)
    ds = pf.read(src)
    page = build_report(ds, images=images, title="defects")
    codes = set(re.findall(r"data-code='([a-z-]+)'", page))
    assert INJECTED <= codes, codes
    assert page.count("<img ") >= 10
    assert "https://" not in page and "http://" not in page  # self-contained


def test_large_datasets_are_sampled_and_say_so(tmp_path: Path) -> None:
    ds = pf.read(FIXTURES / "raccoon_voc/annotations")
    page = build_report(ds, images=FIXTURES / "raccoon_voc/images", gallery=5)
    # the gallery samples the images that are there; the 160 missing ones are named once, not drawn grey
    assert "A sample of 5 of the 40 images, evenly spaced." in page
    assert page.count("160 images of 200 not in the images folder, left out of the gallery") == 1
    gallery = page.split("<section id=\"gallery\">", 1)[1]
    assert gallery.count("<figure>") == 5
    findings = page.split("<section id=\"findings\">", 1)[1].split("<section id=\"gallery\">")[0]
    assert "data-code='image-missing'" in findings and "<figure>" not in findings  # listed, no grey cards


def test_the_page_is_titled_after_the_dataset_and_counts_agree(tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    result = run_cli("report", FIXTURES / "raccoon/annotations", out, "--gallery", "2")
    assert result.code == 0, result.err
    assert result.out.strip() == f"report of 40 assets, 44 objects, 0 findings -> {out}"
    page = out.read_text()
    assert "<title>raccoon</title>" in page and "· 1 object<" in page and "1 objects" not in page


@needs_chromium
def test_report_opens_in_chromium_with_findings_and_no_broken_image(tmp_path: Path) -> None:
    src, images = _defective(tmp_path)
    out = tmp_path / "report.html"
    result = run_cli("report", src, out, "--images", images, "--title", "injected defects")
    assert result.code == 0, result.err
    dom = dump_dom(out)
    body = re.search(r"<body[^>]*>", dom).group(0)
    loaded = int(re.search(r'data-images="(\d+)"', body).group(1))
    broken = int(re.search(r'data-broken-images="(\d+)"', body).group(1))
    assert loaded >= 10 and broken == 0
    findings = dom.split('id="findings"', 1)[1].split('id="gallery"', 1)[0]
    for code in INJECTED:
        assert f'data-code="{code}"' in findings, code
    shot = screenshot(out, tmp_path / "report.png")
    with Image.open(shot) as im:
        assert im.size == (1280, 2400)
        grey = np.asarray(im.convert("L").resize((64, 120)))
        assert len(np.unique(grey)) > 20  # a rendered page, not a blank one


def test_a_bounded_validation_gives_exact_totals() -> None:
    from picsellia_formats.model import Annotation, Asset, Dataset, Label

    ds = Dataset([Label("cat")], [Asset(f"{i}.jpg", 10, 10, [Annotation("cat", box=(1.0, 1.0, 0.0, 2.0))])
                                  for i in range(25)])
    full = build_report(ds, validation=pf.validate(ds), gallery=0)
    bounded = build_report(ds, validation=pf.validate(ds, keep=2), gallery=0)
    for page in (full, bounded):
        assert "<b>box-zero-size</b> <span class='muted'>× 25</span>" in page
    assert "… and 15 more" in full and "… and 23 more" in bounded
    assert "<div class='card'><b>25</b>findings</div>" in bounded
