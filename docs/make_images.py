"""Regenerate the README's pictures: a preview of a bundled image and a screenshot of the HTML report.

    python docs/make_images.py          # needs Debian's chromium for the screenshot

Writes docs/images/preview.jpg and docs/images/report.png (small files, committed).
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
from picsellia_formats.preview import find_image, render  # noqa: E402

OUT = ROOT / "docs" / "images"
FIX = ROOT / "fixtures"


def preview() -> Path:
    ds = pf.read(FIX / "sahi_coco/coco_utils/terrain2_coco.json")
    asset = ds.assets[0]
    image = render(asset, find_image(asset, FIX / "sahi_coco/coco_utils"))
    image.thumbnail((900, 900))
    path = OUT / "preview.jpg"
    image.save(path, quality=85, optimize=True)
    return path


def report_screenshot() -> Path | None:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        print("chromium not found: report screenshot not regenerated", file=sys.stderr)
        return None
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "report.html"
        write_report(pf.read(FIX / "sahi_coco/coco_utils/terrain_all_coco.json"), page,
                     images=FIX / "sahi_coco/coco_utils", title="terrain_all_coco.json (sahi fixtures)")
        shot = Path(tmp) / "shot.png"
        subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                        "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp}/p",
                        "--window-size=1100,1500", "--virtual-time-budget=5000", f"--screenshot={shot}",
                        page.as_uri()], check=True, capture_output=True, timeout=120)
        path = OUT / "report.png"
        with Image.open(shot) as im:
            im.convert("RGB").resize((im.width * 2 // 3, im.height * 2 // 3)).save(path, optimize=True)
    return path


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    for made in (preview(), report_screenshot()):
        if made:
            print(f"{made.relative_to(ROOT)}: {made.stat().st_size // 1024} KiB")
