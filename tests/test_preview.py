"""Previews: pixels where the shapes are, stable colours, EXIF orientation, any image mode."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import picsellia_formats as pf
from picsellia_formats.model import Annotation, Asset, Mask
from picsellia_formats.preview import Style, label_color, load_rgb, render, write_previews
from tests.conftest import FIXTURES, require, run_cli

NO_TEXT = Style(text=False, line_width=1, fill_alpha=0, mask_alpha=255)


def _close(a, b, tol=40) -> bool:
    return all(abs(int(x) - int(y)) <= tol for x, y in zip(a, b))


def test_a_box_edge_is_drawn_where_the_box_is(tmp_path: Path) -> None:
    Image.new("RGB", (100, 80), (0, 0, 0)).save(tmp_path / "a.png")
    asset = Asset("a.png", 100, 80, [Annotation("cat", box=(10.0, 20.0, 30.0, 40.0))])
    im = render(asset, tmp_path / "a.png", style=NO_TEXT)
    color = label_color("cat")
    for x, y in [(10, 20), (39, 20), (10, 59), (39, 59), (25, 20), (10, 40)]:  # corners and edges (x+w exclusive)
        assert im.getpixel((x, y)) == color, (x, y)
    for x, y in [(25, 40), (40, 20), (9, 20), (10, 60), (70, 70)]:  # inside and outside
        assert im.getpixel((x, y)) == (0, 0, 0), (x, y)


def test_a_label_has_the_same_colour_in_every_image_and_run() -> None:
    assert label_color("car") == label_color("car") != label_color("cat")
    a = render(Asset("x", 50, 50, [Annotation("car", box=(5, 5, 20, 20))]), None, style=NO_TEXT)
    b = render(Asset("y", 90, 60, [Annotation("car", box=(30, 10, 20, 20)),
                                   Annotation("bus", box=(1, 1, 5, 5))]), None, style=NO_TEXT)
    assert a.getpixel((5, 5)) == b.getpixel((30, 10)) == label_color("car")
    assert b.getpixel((1, 1)) == label_color("bus")


def test_exif_rotated_image_is_drawn_upright_with_its_box_on_the_object(tmp_path: Path) -> None:
    # stored 60 wide x 40 high; EXIF 6 = rotate 90 degrees clockwise to display (40 wide x 60 high)
    stored = np.zeros((40, 60, 3), np.uint8)
    stored[5:15, 10:20] = (255, 255, 255)  # a white object in the stored frame
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(stored).save(tmp_path / "rot.jpg", exif=exif, quality=100)
    upright = np.asarray(load_rgb(tmp_path / "rot.jpg"))
    assert upright.shape[:2] == (60, 40)
    ys, xs = np.nonzero(upright[:, :, 0] > 128)
    box = (float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1), float(ys.max() - ys.min() + 1))
    assert pf.read  # the reader convention: sizes after EXIF orientation
    asset = Asset("rot.jpg", 40, 60, [Annotation("obj", box=box)])
    im = render(asset, tmp_path / "rot.jpg", style=NO_TEXT)
    assert im.size == (40, 60)
    x, y, w, h = (int(v) for v in box)
    assert im.getpixel((x, y)) == label_color("obj")
    assert _close(im.getpixel((x + w // 2, y + h // 2)), (255, 255, 255))  # the object is inside the box


def test_masks_polygons_points_and_lines_are_drawn(tmp_path: Path) -> None:
    mask = np.zeros((100, 50), np.uint8)  # tall: the "image not found" note sits at the bottom
    mask[30:35, 40:45] = 1
    from picsellia_formats.masks import mask_to_rle

    asset = Asset("s", 50, 100, [
        Annotation("m", mask=mask_to_rle(mask)),
        Annotation("p", polygon=[[2, 2, 12, 2, 12, 12, 2, 12], [20, 2, 28, 2, 24, 8]]),
        Annotation("pt", point=(30.0, 20.0)),
        Annotation("ln", line=[0.0, 38.0, 20.0, 38.0]),
    ])
    im = render(asset, None, style=Style(text=False, line_width=1, fill_alpha=255, mask_alpha=255))
    assert im.getpixel((42, 32)) == label_color("m")
    assert im.getpixel((7, 7)) == label_color("p") and im.getpixel((24, 4)) == label_color("p")
    assert im.getpixel((30, 20)) == label_color("pt")
    assert im.getpixel((10, 38)) == label_color("ln")
    assert isinstance(asset.annotations[0].mask, Mask)


@pytest.mark.parametrize("mode", ["P", "L", "RGBA", "I;16", "LA", "CMYK", "1"])
def test_any_image_mode_renders(mode: str, tmp_path: Path) -> None:
    base = Image.new("RGB", (30, 20), (10, 200, 30))
    if mode == "I;16":
        im = Image.fromarray((np.arange(600, dtype=np.uint16).reshape(20, 30) * 100).astype(np.uint16))
    else:
        im = base.convert(mode)
    path = tmp_path / ("x.tif" if mode in ("I;16", "CMYK") else "x.png")
    im.save(path)
    out = render(Asset(path.name, 30, 20, [Annotation("a", box=(1, 1, 5, 5))]), path, style=NO_TEXT)
    assert out.mode == "RGB" and out.size == (30, 20)
    assert out.getpixel((1, 1)) == label_color("a")


def test_previews_of_a_bundled_dataset_and_a_contact_sheet(tmp_path: Path) -> None:
    ds = pf.read(FIXTURES / "labelstudio_yolo/test_import_yolo_data")
    written = write_previews(ds, tmp_path, images=FIXTURES / "labelstudio_yolo/test_import_yolo_data/images",
                             image_format="png")
    assert len(written) == 7 and (tmp_path / "contact_sheet.png").exists()
    for path, asset in zip(written, ds.assets):
        with Image.open(path) as im:
            assert im.size == (asset.width, asset.height)  # small enough to be drawn at full size
    # the label colour of the first box appears on its left edge
    asset, path = ds.assets[0], written[0]
    x, y, _, h = asset.annotations[0].box
    with Image.open(path) as im:
        column = [im.getpixel((round(x), round(y + h * t))) for t in (0.3, 0.5, 0.7)]
    assert all(_close(c, label_color(asset.annotations[0].label), 10) for c in column)


def test_preview_cli_with_labels_filter_and_missing_images(tmp_path: Path) -> None:
    src = FIXTURES / "raccoon_voc/annotations"
    result = run_cli("preview", src, tmp_path / "out", "--images", FIXTURES / "raccoon_voc/images", "--limit", "3")
    assert result.code == 0, result.err
    assert len(list((tmp_path / "out").glob("raccoon-*.jpg"))) == 3
    result = run_cli("preview", FIXTURES / "sahi_coco/coco_utils/combined_coco.json", tmp_path / "o2", "--labels",
                     "nope")
    assert result.code == 2 and "'nope' not among the labels" in result.err  # a typo, not an empty preview
    terrain = FIXTURES / "sahi_coco/coco_utils"
    result = run_cli("preview", terrain / "terrain_all_coco.json", tmp_path / "o3", "--images", terrain)
    assert result.code == 0 and len(list((tmp_path / "o3").glob("terrain*.jpg"))) == 3
    assert "warning: 1 of 3 images not found" in result.err and "terrain3.png" in result.err


def test_a_preview_run_that_fails_half_way_adds_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import picsellia_formats.preview as preview

    ds = pf.read(FIXTURES / "picsellia_coco_det/annotations.json")
    calls = []
    real_render = preview.render

    def failing_render(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("disk full")
        return real_render(*args, **kwargs)

    monkeypatch.setattr(preview, "render", failing_render)
    out = tmp_path / "previews"
    with pytest.raises(RuntimeError, match="disk full"):
        write_previews(ds, out, images=FIXTURES / "picsellia_coco_det", limit=5, workers=1)
    assert not out.exists() and list(tmp_path.iterdir()) == []


def _need_dask() -> None:
    require("distributed", "dask", "preview on Dask")


def test_previews_are_the_same_on_threads_the_pool_and_dask(tmp_path: Path) -> None:
    """`render_shard` runs on threads (default), a process pool and a 2-worker local Dask cluster: same files."""
    import hashlib

    _need_dask()
    root = Path(__file__).resolve().parents[1] / "fixtures" / "raccoon_voc"
    ds = pf.read(root / "annotations", "voc")
    outs = {}
    for name, options in (("threads", {}), ("pool", {"engine": "local"}), ("dask", {"engine": "dask"})):
        written = write_previews(ds, tmp_path / name, images=root / "images", limit=12, workers=2,
                                 highlights={0: [0]}, **options)
        outs[name] = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((tmp_path / name).iterdir())
                      if p.name != ".picsellia-formats.json"}
        assert len(written) == 12
    assert outs["dask"] == outs["pool"] == outs["threads"] and len(outs["threads"]) == 13
