"""Issue 19 items 2 and 13: a decompression-bomb image in ``push --dry-run`` and ``rasterise`` is an
error naming the file (exit 2), found before anything is allocated.

On the old code ``push --dry-run`` exited 3 (Pillow's DecompressionBombError) and ``rasterise`` of an
annotation file that states a 65535 x 65535 size allocated an 8 GiB array (the subprocess timeout
below fails it)."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import pytest

from picsellia_formats.image_header import max_image_pixels
from tests.conftest import run_cli


def png_header(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims `width` x `height` (its data is one byte)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00")) + chunk(b"IEND", b"")


def coco(sized: bool, w: int, h: int) -> dict:
    image = {"id": 1, "file_name": "bomb.png", **({"width": w, "height": h} if sized else {})}
    return {"images": [image], "categories": [{"id": 1, "name": "x"}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 5, 5],
                             "segmentation": [[1, 1, 5, 1, 5, 5]]}]}


SIZES = [(65535, 65535), (2147483647, 2147483647), (20000, 9000)]  # the last: between 1x and 2x the limit


@pytest.mark.parametrize(("w", "h"), SIZES)
@pytest.mark.parametrize("sized", [False, True], ids=["size-from-header", "size-in-annotations"])
def test_push_dry_run_names_the_bomb(tmp_path: Path, w: int, h: int, sized: bool) -> None:
    assert w * h > (max_image_pixels() or 0)
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "bomb.png").write_bytes(png_header(w, h))
    (tmp_path / "a.json").write_text(json.dumps(coco(sized, w, h)))
    r = run_cli("push", tmp_path / "a.json", "--images", tmp_path / "images", "--dataset", "d", "--version", "v",
                "--dry-run", "--host", "https://unreachable.invalid", timeout=60)
    assert r.code == 2, r.err
    assert "bomb.png" in r.err and "more than the limit" in r.err and "internal error" not in r.err


@pytest.mark.parametrize(("w", "h"), SIZES)
@pytest.mark.parametrize("sized", [False, True], ids=["size-from-header", "size-in-annotations"])
def test_rasterise_names_the_bomb_before_allocating(tmp_path: Path, w: int, h: int, sized: bool) -> None:
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "bomb.png").write_bytes(png_header(w, h))
    (tmp_path / "a.json").write_text(json.dumps(coco(sized, w, h)))
    r = run_cli("rasterise", tmp_path / "a.json", tmp_path / "out", "--images", tmp_path / "images", timeout=60)
    assert r.code == 2, r.err
    lines = [line for line in r.err.splitlines() if line.startswith("error:")]
    assert lines and all("bomb.png" in line and "more than the limit" in line for line in lines), r.err
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".*-pf"))
