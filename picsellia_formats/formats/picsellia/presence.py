"""What the Picsellia reader remembers beside the model: which optional keys every record of a kind
carried (so the writer gives them back), and picture sizes filled from image headers.

Example:
    >>> p = Presence(); p.seen("record"); p.has("record", "nb_labels")
    >>> p.always()
    {'record': ['nb_labels']}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...io_utils import safe_relative_path
from ...model import Asset
from ...report import Report


class Presence:
    """Which optional keys every record of a kind carried (written back even when empty)."""

    def __init__(self) -> None:
        self.total: dict[str, int] = {}
        self.present: dict[tuple[str, str], int] = {}
        # (kind, key) -> holders whose empty value must be kept verbatim unless the key is "always"
        self.pending: dict[tuple[str, str], list[Any]] = {}

    def seen(self, kind: str) -> None:
        self.total[kind] = self.total.get(kind, 0) + 1

    def has(self, kind: str, key: str) -> None:
        self.present[(kind, key)] = self.present.get((kind, key), 0) + 1

    def empty(self, kind: str, key: str, holder: Any) -> None:
        self.present[(kind, key)] = self.present.get((kind, key), 0) + 1
        self.pending.setdefault((kind, key), []).append(holder)

    def always(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for (kind, key), n in self.present.items():
            if n == self.total.get(kind):
                out.setdefault(kind, []).append(key)
        return {k: sorted(v) for k, v in out.items()}


def sizes_from_images(assets: list[Asset], folder: Path, report: Report) -> None:
    """Fill the sizes the file does not give from the image headers under `folder`; count the rest."""
    from ...images import image_size

    missing = 0
    for asset in assets:
        if asset.width is not None and asset.height is not None:
            continue
        try:
            rel = safe_relative_path(asset.file_name)
        except ValueError:
            missing += 1
            continue
        for candidate in (folder / rel, folder / rel.name):
            if candidate.is_file():
                asset.width, asset.height = image_size(candidate)
                break
        else:
            missing += 1
    if missing:
        report.info("pictures without a size", missing, f"no image file for them in {folder}")


