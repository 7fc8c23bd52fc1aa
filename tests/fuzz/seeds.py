"""The inputs the fuzz suite mutates: one or more bundled fixtures per registered reader.

A seed copies its fixture (or a small tree of it) into a fresh folder and says which file of the
copy the mutator changes, how (``json``, ``xml``, ``text`` or ``binary``), and which path the CLI
is given. Images are left out of copied trees unless a reader needs them: the readers are under
test, not the image decoders.

Example:
    >>> sorted({s.format for s in SEEDS}) == sorted(__import__("picsellia_formats").formats.names())
    True
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "fixtures"


@dataclass(frozen=True)
class Seed:
    name: str
    format: str
    kind: str  # json | xml | text | binary | record
    source: Path  # file or folder copied
    mutated: str  # path of the mutated file inside the copy ("" when source is the file itself)
    given: str = ""  # path given to the CLI inside the copy ("" = the copy itself)

    def materialise(self, folder: Path) -> tuple[Path, Path]:
        """Copy the seed under `folder`; return (path given to the CLI, file to mutate)."""
        copy = folder / self.source.name
        if self.source.is_dir():
            shutil.copytree(self.source, copy, ignore=shutil.ignore_patterns("*.jpg", "*.png", "*.cache"))
        else:
            shutil.copyfile(self.source, copy)
        target = copy / self.mutated if self.mutated else copy
        given = copy / self.given if self.given else copy
        return given, target


def first_record(path: Path) -> bytes:
    """The first framed record of a TFRecord file (length, CRCs and payload), a small seed."""
    with open(path, "rb") as f:
        head = f.read(12)
        n = int.from_bytes(head[:8], "little")
        return head + f.read(n + 4)


SEEDS: tuple[Seed, ...] = (
    Seed("coco_det", "coco", "json", FIX / "picsellia_coco_det/annotations.json", ""),
    Seed("coco_terrain", "coco", "json", FIX / "sahi_coco/coco_utils/terrain1_coco.json", ""),
    Seed("picsellia_full", "picsellia", "json", ROOT / "tests/data/picsellia/full.json", ""),
    Seed("voc_raccoon", "voc", "xml", FIX / "raccoon_voc/annotations/raccoon-2.xml", ""),
    Seed("voc_cvat_devkit", "voc", "xml", FIX / "real_exports/cvat_voc", "Annotations/frame_000000.xml"),
    Seed("yolo_segment_rows", "yolo", "text", FIX / "real_exports/ultralytics_segment", "labels/train/1.txt"),
    Seed("yolo_segment_yaml", "yolo", "text", FIX / "real_exports/ultralytics_segment", "data.yaml"),
    Seed("yolo_cvat_names", "yolo", "text", FIX / "real_exports/cvat_yolo11", "obj.names"),
    Seed("tfrecord_raccoon", "tfrecord", "record", FIX / "raccoon_voc/data/test.record", ""),
    Seed("cvat_docs", "cvat", "xml", FIX / "cvat/docs_example/annotations.xml", ""),
    Seed("cvat_project", "cvat", "xml", FIX / "cvat/exporter_project/annotations.xml", ""),
    Seed("labelstudio_polygons", "labelstudio", "json", FIX / "labelstudio/export_polygons/data_polygons.json", ""),
    Seed("labelstudio_obb", "labelstudio", "json", FIX / "labelstudio/export_obb/data_obb.json", ""),
    Seed("labelme_primitives", "labelme", "json", FIX / "labelme/primitives/primitives.json", ""),
    Seed("createml_roboflow", "createml", "json", FIX / "createml_roboflow/_annotations.createml.json", ""),
)
