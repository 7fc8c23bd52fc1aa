"""Regenerate the README's pictures: a preview of a bundled image, the HTML report at a desktop and at a phone
width, and a contact sheet.

    python docs/make_images.py          # needs Debian's chromium for the two screenshots

Writes docs/images/preview.jpg, report.png (1400 px wide window), report-phone.png (390 px) and
contact-sheet.jpg: small files, committed. Every picture is of the bundled `fixtures/raccoon` dataset
(whole: every image its annotations name) or of the sahi terrain fixture.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import picsellia_formats as pf  # noqa: E402
from picsellia_formats.html_report import write_report  # noqa: E402
from picsellia_formats.preview import find_image, render, write_previews  # noqa: E402

OUT = ROOT / "docs" / "images"
FIX = ROOT / "fixtures"
RACCOON = FIX / "raccoon"


def preview() -> Path:
    ds = pf.read(FIX / "sahi_coco/coco_utils/terrain2_coco.json")
    asset = ds.assets[0]
    image = render(asset, find_image(asset, FIX / "sahi_coco/coco_utils"))
    image.thumbnail((900, 900))
    path = OUT / "preview.jpg"
    image.save(path, quality=85, optimize=True)
    return path


def contact_sheet() -> Path:
    with tempfile.TemporaryDirectory() as tmp:
        write_previews(pf.read(RACCOON / "annotations"), Path(tmp) / "p", images=RACCOON / "images", limit=14)
        with Image.open(Path(tmp) / "p" / "contact_sheet.jpg") as im:
            sheet = im.convert("RGB")
    sheet.thumbnail((1100, 1100))
    path = OUT / "contact-sheet.jpg"
    sheet.save(path, quality=80, optimize=True)
    return path


def _screenshot(exe: str, page: Path, width: int, height: int, out: Path, scale: float, tmp: str) -> Path:
    shot = Path(tmp) / f"shot-{width}.png"
    subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
                    f"--user-data-dir={tmp}/p", f"--window-size={width},{height}", "--virtual-time-budget=5000",
                    f"--screenshot={shot}", page.as_uri()], check=True, capture_output=True, timeout=120)
    with Image.open(shot) as im:
        small = im.convert("RGB").resize((round(im.width * scale), round(im.height * scale)), Image.LANCZOS)
    # a palette keeps the PNG small (the page is flat colours around photos)
    small.quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(out, optimize=True)
    return out


def report_screenshots() -> list[Path]:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        print("chromium not found: report screenshots not regenerated (apt-get install chromium)", file=sys.stderr)
        return []
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "report.html"
        write_report(pf.read(RACCOON / "annotations"), page, images=RACCOON / "images", title="raccoon",
                     gallery=12)
        return [_screenshot(exe, page, 1400, 1500, OUT / "report.png", 0.6, tmp),
                _screenshot(exe, page, 390, 1500, OUT / "report-phone.png", 0.6, tmp)]


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    for made in (preview(), contact_sheet(), *report_screenshots()):
        print(f"{made.relative_to(ROOT)}: {made.stat().st_size // 1024} KiB")
