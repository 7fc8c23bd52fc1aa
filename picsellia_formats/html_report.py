"""One self-contained HTML page about a dataset: statistics with charts, validation findings grouped
by rule with thumbnails (the offending shape outlined), and a gallery of previews.

Everything is inline (SVG charts, images as data URIs, no script or style from the network), so the
page opens anywhere, offline. Large datasets are sampled, and the page says so.

Example:
    >>> import picsellia_formats as pf
    >>> ds = pf.read("fixtures/voc_toy_cats/gts_vocpascal_format")
    >>> html = build_report(ds, images="fixtures/voc_toy_cats/images", title="toy cats", gallery=2)
    >>> html.startswith("<!DOCTYPE html>") and "toy cats" in html and "http" not in html.split("<body")[1]
    True
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .images import ImageIndex
from .model import Asset, Dataset
from .preview import Style, label_color, render
from .stats import Stats, compute
from .textutil import count

THUMB_SIDE = 520  # drawn at this size, shown at about half of it: the click enlarges it
#: box labels drawn so that they read at thumbnail size (about 12 px on the page)
THUMB_STYLE = Style(max_side=THUMB_SIDE, font_size=26, line_width=3)
PALETTE_TEXT = "#e8e8e8"


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def _thumbnail(asset: Asset, index: ImageIndex | None, highlight: Sequence[int] = ()) -> str:
    path = index.lookup(asset.file_name).path if index is not None else None  # ambiguous: drawn as missing
    image = render(asset, path, style=THUMB_STYLE, highlight=highlight)
    image.thumbnail((THUMB_SIDE, THUMB_SIDE))
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=72)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def bar_chart(values: dict[str, float], title: str, colors: dict[str, str] | None = None, width: int = 480,
              unit: str = "") -> str:
    """A horizontal bar chart as inline SVG (one bar per key, largest first kept in given order)."""
    if not values:
        return f"<p class='muted'>{_e(title)}: nothing to show</p>"
    items = list(values.items())
    label_w, bar_h, gap = 130, 18, 6
    top = max(values.values()) or 1
    height = len(items) * (bar_h + gap) + 30
    parts = [f"<svg class='chart' role='img' aria-label='{_e(title)}' viewBox='0 0 {width} {height}' "
             f"style='max-width:{width}px'><text x='0' y='14' class='t'>{_e(title)}</text>"]
    for i, (name, value) in enumerate(items):
        y = 24 + i * (bar_h + gap)
        w = 0 if not value else max(1.0, (width - label_w - 80) * value / top)
        color = (colors or {}).get(name, "#5b8def")
        parts.append(f"<text x='{label_w - 6}' y='{y + 13}' text-anchor='end' class='l'>{_e(name[:24])}</text>"
                     f"<rect x='{label_w}' y='{y}' width='{w:.1f}' height='{bar_h}' fill='{color}'/>"
                     f"<text x='{label_w + w + 4:.1f}' y='{y + 13}' class='v'>{value:,.0f}{_e(unit)}</text>")
    parts.append("</svg>")
    return "".join(parts)


def size_histogram(stats: Stats, bins: int = 12) -> str:
    """Objects per size bin (log scale of sqrt(box area), pixels)."""
    sizes = [s for ls in stats.labels.values() for s in ls.sizes if s > 0]
    if not sizes:
        return "<p class='muted'>object sizes: no boxes</p>"
    lo, hi = math.log2(max(min(sizes), 1.0)), math.log2(max(sizes)) + 1e-9
    step = max((hi - lo) / bins, 1e-9)
    counts = [0] * bins
    for s in sizes:
        counts[min(bins - 1, int((math.log2(max(s, 1.0)) - lo) / step))] += 1
    values = {f"{2 ** (lo + i * step):,.0f}-{2 ** (lo + (i + 1) * step):,.0f} px": c for i, c in enumerate(counts)}
    return bar_chart(values, "objects by size (sqrt of box area)")


def _split_table(stats: Stats) -> str:
    if not stats.splits:
        return "<p class='muted'>no split tags</p>"
    names = list(stats.labels)
    head = "".join(f"<th>{_e(n)}</th>" for n in names)
    rows = []
    for tag, s in sorted(stats.splits.items()):
        cells = "".join(f"<td>{s.labels.get(n, 0):,}</td>" for n in names)
        rows.append(f"<tr><td>{_e(tag)}</td><td>{s.assets:,}</td><td>{s.objects:,}</td>{cells}</tr>")
    return (f"<table><tr><th>split</th><th>assets</th><th>objects</th>{head}</tr>{''.join(rows)}</table>"
            + bar_chart({t: s.assets for t, s in sorted(stats.splits.items())}, "assets per split"))


def _label_table(stats: Stats) -> str:
    rows = []
    for name, s in stats.labels.items():
        swatch = f"<span class='sw' style='background:{_hex(label_color(name))}'></span>"
        size = "-" if s.mean_size is None else f"{s.mean_size:,.1f} ({s.min_size:,.0f}-{s.max_size:,.0f})"
        rows.append(f"<tr><td>{swatch}{_e(name)}</td><td>{s.objects:,}</td><td>{s.images:,}</td>"
                    f"<td>{100 * s.share:.1f}%</td><td>{size}</td></tr>")
    return ("<table><tr><th>label</th><th>objects</th><th>images</th><th>share</th><th>mean size (min-max)</th>"
            f"</tr>{''.join(rows)}</table>")


CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:0;background:#16181d;color:#e8e8e8}
header,section{padding:14px 28px}@media (max-width:600px){header,section{padding:10px 12px}}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,420px),1fr));gap:8px 28px;
align-items:start}svg.chart{width:100%;height:auto;display:block}.scroll{overflow-x:auto}
#lightbox{position:fixed;inset:0;background:rgba(0,0,0,.88);display:none;align-items:center;
justify-content:center;cursor:zoom-out;z-index:9}#lightbox.on{display:flex}
#lightbox img{max-width:96vw;max-height:92vh}figure img{cursor:zoom-in}
header{background:#23262e}h1{margin:0 0 4px}h2{border-bottom:1px solid #333}
.muted{color:#9aa}.cards{display:flex;gap:12px;flex-wrap:wrap}.card{background:#23262e;padding:10px 16px;
border-radius:6px}.card b{display:block;font-size:22px}table{border-collapse:collapse;margin:8px 0}
td,th{padding:3px 10px;border-bottom:1px solid #333;text-align:right}td:first-child,th:first-child{text-align:left}
.sw{display:inline-block;width:11px;height:11px;margin-right:6px;border-radius:2px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,230px),1fr));gap:10px;
align-items:start}figure{margin:0;background:#23262e;padding:6px;border-radius:6px}
figure img{display:block;width:100%;height:auto}figcaption{font-size:12px;color:#bbb;word-break:break-all}
.finding{margin:14px 0;padding:8px 12px;background:#1d2026;border-left:4px solid #888}
.error{border-color:#e5484d}.warning{border-color:#f5a524}.info{border-color:#5b8def}
.sev{font-weight:600;text-transform:uppercase;font-size:11px;padding:1px 6px;border-radius:3px;background:#333}
svg.chart text.t{fill:#e8e8e8;font-weight:600;font-size:15px}svg.chart text.l,svg.chart text.v{fill:#ccc;font-size:14px}
"""

#: counts images that failed to load into data-broken-images on <body> (read by tests and by curious users)
CHECK_SCRIPT = """
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images).filter(function (i) { return !i.closest('#lightbox'); });
  var broken = imgs.filter(function (i) { return !i.complete || i.naturalWidth === 0; }).length;
  document.body.setAttribute('data-images', String(imgs.length));
  document.body.setAttribute('data-broken-images', String(broken));
});
document.addEventListener('click', function (e) {
  var box = document.getElementById('lightbox');
  if (e.target.closest && e.target.closest('#lightbox')) { box.className = ''; return; }
  if (e.target.tagName === 'IMG' && e.target.closest('figure')) {
    box.firstChild.src = e.target.src; box.firstChild.alt = e.target.alt; box.className = 'on';
  }
});
document.addEventListener('keydown', function (e) {
  if (e.key === 'Escape') { document.getElementById('lightbox').className = ''; }
});
"""

#: findings about the image file itself: a grey card would show nothing, so they are listed without thumbnails
_NO_THUMBNAIL = frozenset({"image-missing", "image-unreadable", "image-truncated", "image-type-unsupported",
                           "image-not-in-dataset"})


def build_report(
    dataset: Dataset,
    images: str | Path | None = None,
    title: str = "dataset report",
    validation: Any = None,
    gallery: int = 24,
    per_finding: int = 4,
    max_findings_images: int = 60,
    progress: bool = False,
) -> str:
    """The report page as a string. `validation` is a `ValidationReport` (run here when None).

    `gallery` caps the preview gallery; `per_finding` the thumbnails shown per rule (the rest are
    listed); `max_findings_images` the thumbnails for all findings together. `progress`: bars on
    stderr when it is a terminal (the image checks of the validation).
    """
    image_dir = Path(images) if images else None
    index = ImageIndex(image_dir) if image_dir is not None else None
    stats = compute(dataset)
    if validation is None:
        from .validation import validate

        validation = validate(dataset, images=image_dir, progress=progress)
    label_colors = {n: _hex(label_color(n)) for n in stats.labels}
    cards = "".join(f"<div class='card'><b>{v}</b>{_e(k)}</div>" for k, v in (
        ("assets", f"{stats.assets:,}"), ("objects", f"{stats.objects:,}"), ("labels", f"{len(stats.labels):,}"),
        ("empty images", f"{stats.empty_assets:,}"), ("findings", f"{len(validation):,}")))
    kinds = ", ".join(f"{k} {v:,}" for k, v in sorted(stats.kinds.items(), key=lambda kv: -kv[1])) or "none"

    from .validation.rules import RULES

    findings_html = []
    thumbs_used = 0
    by_code: dict[str, list[Any]] = {}
    for f in validation:  # the held findings (a bounded report holds the first of each code)
        by_code.setdefault(f.code, []).append(f)
    totals = validation.counts()  # exact, held or not
    severity_of = {code: items[0].severity for code, items in by_code.items()}
    rank = {"error": 0, "warning": 1, "info": 2}
    for code in sorted(totals, key=lambda c: (rank.get(severity_of.get(c, RULES[c].severity), 3), c)):
        items = by_code.get(code, [])
        total = totals[code]
        sev = severity_of.get(code, RULES[code].severity)
        shown: dict[int, list[int]] = {}
        for f in items:
            if f.asset_index is not None and (f.asset_index in shown or len(shown) < per_finding):
                shown.setdefault(f.asset_index, [])
                if f.object_index is not None:
                    shown[f.asset_index].append(f.object_index)
        figures = []
        for asset_index, objects in ({} if code in _NO_THUMBNAIL else shown).items():
            if thumbs_used >= max_findings_images:
                break
            asset = dataset.assets[asset_index]
            figures.append(f"<figure><img alt='{_e(asset.file_name)}' src='{_thumbnail(asset, index, objects)}'>"
                           f"<figcaption>{_e(asset.file_name)}</figcaption></figure>")
            thumbs_used += 1
        listed = "".join(f"<li>{_e(f.where())}: {_e(f.message)}</li>" for f in items[:10])
        n_listed = min(len(items), 10)
        more = f"<li class='muted'>… and {total - n_listed:,} more</li>" if total > n_listed else ""
        findings_html.append(
            f"<div class='finding {sev}' id='rule-{_e(code)}' data-code='{_e(code)}'>"
            f"<span class='sev'>{_e(sev)}</span> "
            f"<b>{_e(code)}</b> <span class='muted'>× {total:,}</span><ul>{listed}{more}</ul>"
            f"<div class='grid'>{''.join(figures)}</div></div>")
    if not findings_html:
        findings_html.append("<p>No findings: nothing to regret uploading.</p>")

    n = len(dataset.assets)
    missing = [i for i, a in enumerate(dataset.assets) if index is not None and index.lookup(a.file_name).path is None]
    shown_assets = [i for i in range(n) if i not in set(missing)] if index is not None else list(range(n))
    step = max(1, len(shown_assets) // gallery) if gallery else 1
    sample = shown_assets[::step][:gallery] if gallery else []
    notes = []
    if len(sample) < len(shown_assets):
        notes.append(f"A sample of {len(sample):,} of the {len(shown_assets):,} images, evenly spaced.")
    if missing:
        first = ", ".join(dataset.assets[i].file_name for i in missing[:3])
        notes.append(f"{count(len(missing), 'image')} of {n:,} not in the images folder, left out of the gallery "
                     f"(e.g. {first}; see image-missing above).")
    if index is None:
        notes.append("No images folder given or found: shapes are drawn on blank canvases (--images DIR).")
    sampled_note = "".join(f"<p class='muted'>{_e(t)}</p>" for t in notes)
    gallery_html = "".join(
        f"<figure><img alt='{_e(dataset.assets[i].file_name)}' src='{_thumbnail(dataset.assets[i], index)}'>"
        f"<figcaption>{_e(dataset.assets[i].file_name)} · {count(len(dataset.assets[i].annotations), 'object')}"
        f"</figcaption></figure>" for i in sample)

    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{CSS}</style></head>
<body>
<header><h1>{_e(title)}</h1><div class="muted">{_e(validation.summary() if len(validation) else "no findings")}</div>
</header>
<section id="stats"><h2>Statistics</h2><div class="cards">{cards}</div><p>kinds: {_e(kinds)}</p>
<div class="charts"><div><div class="scroll">{_label_table(stats)}</div>
{bar_chart({k: s.objects for k, s in stats.labels.items()}, "objects per label", label_colors)}</div>
<div>{size_histogram(stats)}</div></div>
<h3>Splits</h3><div class="scroll">{_split_table(stats)}</div></section>
<section id="findings"><h2>Validation findings</h2>{''.join(findings_html)}</section>
<section id="gallery"><h2>Gallery</h2>{sampled_note}<div class="grid">{gallery_html}</div></section>
<div id="lightbox" role="dialog" aria-label="enlarged image"><img alt=""></div>
<script>{CHECK_SCRIPT}</script>
</body></html>
"""


def write_report(dataset: Dataset, out: str | Path, images: str | Path | None = None, *, overwrite: bool = False,
                 **options: Any) -> Path:
    """Write `build_report` to `out` atomically; returns the path. An existing non-empty `out` raises
    OutputExistsError unless `overwrite` (the output policy of `picsellia_formats.outputs`)."""
    from .outputs import check_file, output_file

    out = Path(out)
    check_file(out, overwrite=overwrite)  # before the work
    page = build_report(dataset, images=images, **options)
    with output_file(out, overwrite=overwrite) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return out
