"""Draw annotations on their images: boxes, polygons (holes too), masks with alpha, keypoints,
lines, points and label text, one stable colour per label; EXIF orientation applied; any image mode.

Rendering is a pure function of one asset (`render`), so a pool (or a distributed engine) can run
it per asset; `write_previews` runs it over a dataset and adds a contact sheet.

Example:
    >>> from picsellia_formats.model import Annotation, Asset
    >>> asset = Asset("missing.jpg", 200, 150, [Annotation("cat", box=(20, 40, 50, 50))])
    >>> image = render(asset, None)
    >>> image.size, image.getpixel((20, 60)) == label_color("cat")
    ((200, 150), True)
"""

from __future__ import annotations

import colorsys
import hashlib
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont, ImageOps

from .images import ImageIndex, ImageMatch
from .model import Annotation, Asset, Dataset

Color = tuple[int, int, int]
MISSING_BACKGROUND = (96, 96, 96)


def label_color(name: str) -> Color:
    """A saturated colour derived from the label name only: the same in every image and every run."""
    digest = hashlib.md5(name.encode("utf-8")).digest()
    hue = int.from_bytes(digest[:2], "big") / 65535.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.85, 0.95)
    return (round(r * 255), round(g * 255), round(b * 255))


def load_rgb(path: str | Path) -> Image.Image:
    """Open any image as upright 8-bit RGB: EXIF orientation applied; palette, grayscale, alpha,
    CMYK and 16-bit/float images converted (16-bit and float are scaled by their own range)."""
    with Image.open(path) as im:
        im = ImageOps.exif_transpose(im)
        if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
            arr = np.asarray(im, dtype=np.float64)
            lo, hi = float(arr.min()), float(arr.max())
            scaled = np.zeros_like(arr) if hi <= lo else (arr - lo) * (255.0 / (hi - lo))
            return Image.fromarray(scaled.astype(np.uint8), "L").convert("RGB")
        if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
            rgba = im.convert("RGBA")
            background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            return Image.alpha_composite(background, rgba).convert("RGB")
        return im.convert("RGB")


@dataclass(frozen=True)
class Style:
    max_side: int = 1280
    fill_alpha: int = 80
    mask_alpha: int = 110
    line_width: int | None = None  # None: from the image size
    text: bool = True
    highlight_color: Color = (255, 0, 64)
    #: label text height for an image drawn `max_side` pixels wide (scaled with smaller ones); None: side / 70
    font_size: int | None = None

def _scaled(values: Sequence[float], s: float) -> list[float]:
    return [v * s for v in values]


def _pairs(flat: Sequence[float]) -> list[tuple[float, float]]:
    return [(flat[i], flat[i + 1]) for i in range(0, len(flat) - 1, 2)]


def _mask_array(ann: Annotation) -> np.ndarray | None:
    from .masks import rle_to_mask

    return rle_to_mask(ann.mask) if ann.mask is not None else None


def _draw_annotation(base: Image.Image, overlay: ImageDraw.ImageDraw, draw: ImageDraw.ImageDraw, ann: Annotation,
                     color: Color, s: float, width: int, style: Style, highlight: bool) -> None:
    outline = style.highlight_color if highlight else color
    w = width * 2 if highlight else width
    fill = (*color, style.fill_alpha)
    if ann.mask is not None:
        arr = _mask_array(ann)
        if arr is not None and arr.any():
            layer = Image.fromarray((arr > 0).astype(np.uint8) * style.mask_alpha, "L")
            if layer.size != base.size:
                layer = layer.resize(base.size, Image.NEAREST)
            base.paste(Image.new("RGB", base.size, color), (0, 0), layer)
    if ann.polygon:
        for part in ann.polygon:
            pts = _pairs(_scaled(part, s))
            if len(pts) >= 3:
                overlay.polygon(pts, fill=fill)
                draw.line([*pts, pts[0]], fill=outline, width=w)
    if ann.box is not None and ((ann.polygon is None and ann.mask is None) or highlight):
        x, y, bw, bh = (float(v) * s for v in ann.box)
        draw.rectangle([x, y, max(x, x + bw - 1), max(y, y + bh - 1)], outline=outline, width=w)
    if ann.line:
        pts = _pairs(_scaled(ann.line, s))
        if len(pts) >= 2:
            draw.line(pts, fill=outline, width=w)
    r = max(2, w + 1)
    if ann.point is not None:
        x, y = ann.point[0] * s, ann.point[1] * s
        draw.ellipse([x - r, y - r, x + r, y + r], fill=outline)
    if ann.keypoints:
        for i in range(0, len(ann.keypoints) - 2, 3):
            x, y, v = ann.keypoints[i] * s, ann.keypoints[i + 1] * s, ann.keypoints[i + 2]
            if v > 0:
                draw.ellipse([x - r, y - r, x + r, y + r], fill=outline if v == 2 else None, outline=outline)


def _anchor(ann: Annotation) -> tuple[float, float] | None:
    from .shapes import annotation_bbox

    box = annotation_bbox(ann)
    return (float(box[0]), float(box[1])) if box is not None else None


def render(
    asset: Asset,
    image_path: str | Path | None,
    colors: Callable[[str], Color] | Color = label_color,
    style: Style = Style(),
    highlight: Iterable[int] = (),
) -> Image.Image:
    """The image of `asset` with its annotations drawn. No image file (None or missing): a grey
    canvas of the asset's size. `highlight` holds indexes of annotations to outline in red."""
    color_of = colors if callable(colors) else (lambda _name: colors)
    missing = image_path is None or not Path(image_path).is_file()
    if not missing:
        try:
            image = load_rgb(image_path)  # type: ignore[arg-type]
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
            logging.getLogger(__name__).warning("%s: unreadable image (%s); drawn on a grey canvas", image_path, exc)
            missing = True
    if missing:
        image = Image.new("RGB", (int(asset.width or 256), int(asset.height or 256)), MISSING_BACKGROUND)
    width = asset.width or image.width
    s = min(1.0, style.max_side / max(image.width, image.height, 1))
    if s < 1.0:
        image = image.resize((max(1, round(image.width * s)), max(1, round(image.height * s))), Image.BILINEAR)
    # annotation coordinates are in the asset's (upright) frame; scale them onto the drawn image
    sx = image.width / width if width else s
    line_width = (max(1, round(style.line_width * max(image.size) / style.max_side)) if style.line_width
                  and style.font_size else style.line_width or max(1, round(max(image.size) / 400)))
    overlay_img = Image.new("RGBA", image.size, (0, 0, 0, 0))
    overlay = ImageDraw.Draw(overlay_img)
    draw_later: list[tuple[Annotation, Color, bool]] = []
    highlighted = set(highlight)
    for i, ann in enumerate(asset.annotations):
        draw_later.append((ann, color_of(ann.label), i in highlighted))
    lines_img = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(lines_img)
    for ann, color, hl in draw_later:
        _draw_annotation(image, overlay, draw, ann, color, sx, line_width, style, hl)
    image = Image.alpha_composite(Image.alpha_composite(image.convert("RGBA"), overlay_img), lines_img)
    text = ImageDraw.Draw(image)
    side = max(image.size)
    font = ImageFont.load_default(size=max(9, round(style.font_size * side / style.max_side)) if style.font_size
                                  else max(10, round(side / 70)))
    if style.text:
        for ann, color, hl in draw_later:
            anchor = _anchor(ann)
            if anchor is None:
                continue
            label = ann.label if ann.score is None else f"{ann.label} {ann.score:.2f}"
            x, y = anchor[0] * sx, anchor[1] * sx
            left, top, right, bottom = text.textbbox((0, 0), label, font=font)
            th = bottom - top + 2
            y0 = y - th if y - th >= 0 else y
            background = (*(style.highlight_color if hl else color), 220)
            text.rectangle([x, y0, x + right - left + 4, y0 + th], fill=background)
            text.text((x + 2, y0 + 1 - top), label, fill=(255, 255, 255, 255), font=font)
    if missing:
        text.text((4, image.height - font.size - 6), "image not found", fill=(255, 255, 255, 255), font=font)
    return image.convert("RGB")


def find_image(asset: Asset, images: ImageIndex | str | Path | None) -> Path | None:
    """The image file of `asset` by the one lookup policy (`picsellia_formats.images.ImageIndex`).

    Raises AmbiguousImageError naming the candidates when several files fit its name equally well.
    """
    if images is None:
        return None
    index = images if isinstance(images, ImageIndex) else ImageIndex(images)
    return index.find(asset.file_name)


def contact_sheet(images: Sequence[Image.Image], titles: Sequence[str], thumb: int = 256, columns: int = 6
                  ) -> Image.Image:
    """Thumbnails in justified rows (each row as tall as its images allow, filling the sheet's width: no
    gaps), each titled on a dark band across its foot in a legible font.

    The sheet is ``columns * (thumb + 8) + 8`` pixels wide; a row holds images until it would be
    narrower than `thumb` * 3/4 pixels tall; the last row keeps that height and is not stretched.

    Example:
        >>> from PIL import Image
        >>> sheet = contact_sheet([Image.new("RGB", (400, 300)), Image.new("RGB", (300, 400))], ["a", "b"])
        >>> sheet.size
        (536, 208)
    """
    gap = 8
    width = max(1, min(columns, len(images))) * (thumb + gap) + gap
    target = thumb * 3 // 4
    ratios = [max(im.width, 1) / max(im.height, 1) for im in images]
    rows: list[tuple[list[int], int]] = []  # (image indexes, row height)
    row: list[int] = []
    for i in range(len(ratios)):
        row.append(i)
        total = sum(ratios[j] for j in row)
        if total * target + gap * (len(row) + 1) >= width:
            rows.append((row, max(1, round((width - gap * (len(row) + 1)) / total))))
            row = []
    if row:
        rows.append((row, target))
    height = sum(h for _, h in rows) + gap * (len(rows) + 1) if rows else thumb
    sheet = Image.new("RGB", (width, height), (30, 30, 30))
    font = ImageFont.load_default(size=15)
    draw = ImageDraw.Draw(sheet, "RGBA")
    y = gap
    for indexes, h in rows:
        x = gap
        for n, i in enumerate(indexes):
            w = max(1, round(ratios[i] * h))
            if n == len(indexes) - 1 and h != target:  # the last image of a full row takes the rounding
                w = max(1, width - gap - x)
            sheet.paste(images[i].resize((w, h), Image.Resampling.LANCZOS), (x, y))
            title = titles[i] if len(titles[i]) <= 48 else titles[i][:22] + "…" + titles[i][-22:]
            _, top, _, bottom = draw.textbbox((0, 0), title, font=font)
            band = bottom - top + 8
            draw.rectangle([x, y + h - band, x + w - 1, y + h - 1], fill=(0, 0, 0, 170))
            draw.text((x + 5, y + h - band + 4 - top), title, fill=(245, 245, 245, 255), font=font)
            x += w + gap
        y += h + gap
    return sheet


def render_shard(items: Sequence[tuple[Asset, str | None, tuple[int, ...]]], context: tuple[Style, str]
                 ) -> list[tuple[bytes, tuple[int, int], bytes]]:
    """``(preview file bytes, thumbnail size, thumbnail RGB bytes)`` of each ``(asset, image path or None,
    annotations to highlight)``: the unit of work of the threads, the pool and the engine (pure).
    `context`: ``(style, "jpg" or "png")``."""
    import io

    style, ext = context
    out = []
    for asset, path, highlight in items:
        image = render(asset, path, label_color, style, highlight)
        buf = io.BytesIO()
        image.save(buf, format="PNG" if ext == "png" else "JPEG", quality=90)
        image.thumbnail((400, 400))
        out.append((buf.getvalue(), image.size, image.tobytes()))
    return out


@contextmanager
def _shard_results(shards: list[Any], context: tuple[Style, str], workers: int, engine: str | None,
                   scheduler: str | None) -> Iterator[Iterator[list[tuple[bytes, tuple[int, int], bytes]]]]:
    """`render_shard` of each shard, in order: threads of this process (`engine` None) or `engines.map_shards`."""
    if engine is None:
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            yield pool.map(render_shard, shards, [context] * len(shards))
        return
    from .engines import map_shards

    results = map_shards(render_shard, shards, context, engine=engine, workers=max(1, workers), scheduler=scheduler)
    try:
        yield results
    finally:
        results.close()


def write_previews(
    dataset: Dataset,
    out_dir: str | Path,
    images: str | Path | None = None,
    limit: int | None = None,
    labels: Iterable[str] | None = None,
    assets: Iterable[int] | None = None,
    highlights: dict[int, list[int]] | None = None,
    image_format: str = "jpg",
    style: Style = Style(),
    workers: int = 2,
    quiet: bool = True,
    overwrite: bool = False,
    engine: str | None = None,
    scheduler: str | None = None,
) -> list[Path]:
    """Render the chosen assets into `out_dir` (one file each plus ``contact_sheet.<fmt>``).

    Each shard of assets is drawn and encoded by `render_shard`: by `workers` threads of this process
    (`engine` None, the default), or on `engine` (``local``: a process pool of `workers`; ``dask``: a local
    cluster of `workers` processes, or the running one at `scheduler`): the same files either way.

    `labels` keeps assets having one of these labels (and draws only them); `assets` restricts to
    these asset indexes; `limit` caps the count. Returns the written preview paths, in dataset order.
    `out_dir` is replaced whole; a non-empty folder that is not a previous preview output raises
    OutputExistsError unless `overwrite`.
    """
    from .outputs import output_dir
    from .progress import track

    out_dir = Path(out_dir)
    image_dir = Path(images) if images else None
    index = ImageIndex(image_dir) if image_dir is not None else None
    wanted = set(labels) if labels else None
    chosen_idx = list(assets) if assets is not None else list(range(len(dataset.assets)))
    chosen: list[tuple[int, Asset]] = []
    for i in chosen_idx:
        asset = dataset.assets[i]
        if wanted is not None:
            kept = [a for a in asset.annotations if a.label in wanted]
            if not kept:
                continue
            asset = Asset(asset.file_name, asset.width, asset.height, kept, asset.id, asset.tags, asset.status)
        chosen.append((i, asset))
        if limit is not None and len(chosen) >= limit:
            break
    ext = "png" if image_format.lower() == "png" else "jpg"
    names: dict[str, int] = {}
    ambiguous: list[str] = []
    work: list[tuple[Asset, str | None, tuple[int, ...]]] = []
    for i, asset in chosen:
        match = index.lookup(asset.file_name) if index is not None else ImageMatch(None)
        if match.ambiguous:
            ambiguous.append(f"{asset.file_name!r} ({', '.join(str(p) for p in match.candidates[:3])})")
        work.append((asset, None if match.path is None else str(match.path), tuple((highlights or {}).get(i, ()))))
    size = 4 if engine is None else max(1, min(32, -(-len(work) // (4 * max(workers, 1)))))
    shards = [work[k:k + size] for k in range(0, len(work), size)]
    context = (style, ext)

    written: list[Path] = []
    thumbs: list[Image.Image] = []
    titles: list[str] = []
    missing: list[str] = []
    # staged: a run that fails half-way changes nothing in out_dir
    with output_dir(out_dir, "preview", overwrite=overwrite) as stage, \
            _shard_results(shards, context, workers, engine, scheduler) as results:
        rendered = (r for shard in results for r in shard)
        for (asset, path, _), (data, thumb_size, thumb) in zip(
                work, track(rendered, "previews", total=len(work), quiet=quiet)):
            file_name = asset.file_name
            if path is None:
                missing.append(file_name)
            stem = Path(file_name).stem or "asset"
            n = names.get(stem, 0)
            names[stem] = n + 1
            name = f"{stem}.{ext}" if n == 0 else f"{stem}_{n}.{ext}"
            (stage / name).write_bytes(data)
            written.append(out_dir / name)
            if len(thumbs) < 200:
                thumbs.append(Image.frombytes("RGB", thumb_size, thumb))
                titles.append(file_name)
        if thumbs:
            sheet = contact_sheet(thumbs, titles)
            sheet.save(stage / f"contact_sheet.{ext}", format="PNG" if ext == "png" else "JPEG", quality=90)
    if missing:
        where = f"under {image_dir}" if image_dir is not None else "(no images folder given or found)"
        logging.getLogger(__name__).warning("%d of %d images not found %s, e.g. %s; drawn on a grey canvas",
                                            len(missing), len(chosen), where, missing[0])
    if ambiguous:
        logging.getLogger(__name__).warning("%d images fit several files equally well and were not drawn on any, "
                                            "e.g. %s", len(ambiguous), ambiguous[0])
    return written
