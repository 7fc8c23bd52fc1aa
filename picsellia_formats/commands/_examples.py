"""The ``Examples:`` shown at the end of each command's ``--help``: real lines on the bundled fixtures.

Every line runs as written from the project's root (``tests/docs/test_docs.py`` runs them all in a copy of
the repository, the ``push``/``pull`` ones against the local emulator). ``picsellia-formats`` is the console
script; ``python -m picsellia_formats`` is the same program.

Example:
    >>> EXAMPLES["detect"][0]
    'picsellia-formats detect fixtures/raccoon/annotations'
"""

from __future__ import annotations

_R = "fixtures/raccoon"

#: command name -> example command lines (2 to 4), run in this order by the docs test
EXAMPLES: dict[str, tuple[str, ...]] = {
    "convert": (
        f"picsellia-formats convert {_R}/annotations raccoon.json --to coco",
        f"picsellia-formats convert raccoon.json raccoon_yolo --to yolov8 --images {_R}/images",
        "picsellia-formats convert fixtures/sahi_coco/coco_utils/terrain2_coco.json terrain2.json --to coco --strict",
    ),
    "detect": (
        f"picsellia-formats detect {_R}/annotations",
        "picsellia-formats detect fixtures/labelstudio_yolo/test_import_yolo_data",
    ),
    "stats": (
        f"picsellia-formats stats {_R}/annotations",
        f"picsellia-formats stats {_R}/annotations --json stats.json --quiet",
    ),
    "preview": (
        f"picsellia-formats preview {_R}/annotations previews --images {_R}/images --limit 12",
        "picsellia-formats preview fixtures/labelstudio_yolo/test_import_yolo_data previews_yolo",
    ),
    "report": (
        f"picsellia-formats report {_R}/annotations raccoon.html --images {_R}/images",
        "picsellia-formats report fixtures/voc_toy_cats/gts_vocpascal_format cats.html "
        "--images fixtures/voc_toy_cats/images",
    ),
    "split": (
        f"picsellia-formats split {_R}/annotations raccoon_split --ratios 0.8,0.2 --seed 0",
        f"picsellia-formats split {_R}/annotations raccoon_split_yolo --ratios 0.7,0.2,0.1 --to yolo "
        f"--images {_R}/images",
    ),
    "labelmap": (
        f"picsellia-formats labelmap {_R}/annotations label_map.pbtxt",
    ),
    "tfrecord": (
        f"picsellia-formats tfrecord {_R}/annotations records/raccoon --images {_R}/images",
        f"picsellia-formats tfrecord {_R}/annotations records/raccoon4 --images {_R}/images --shards 4",
    ),
    "push": (
        f"picsellia-formats push {_R}/annotations --images {_R}/images --dataset raccoon --version v1 --dry-run",
        f"picsellia-formats push {_R}/annotations --images {_R}/images --dataset raccoon --version v1 "
        "--host http://127.0.0.1:8080",
    ),
    "pull": (
        "picsellia-formats pull raccoon_pulled --dataset raccoon --version v1 --to coco --host http://127.0.0.1:8080",
        "picsellia-formats pull raccoon_yolo_pulled --dataset raccoon --version v1 --to yolo --no-images "
        "--host http://127.0.0.1:8080",
    ),
    "emulator": (
        "picsellia-formats emulator --port 8080 --data emulator-data",
        "picsellia-formats emulator --port 8080 --data emulator-data --fail-rate 0.2",
    ),
    "rasterise": (
        "picsellia-formats rasterise fixtures/sahi_coco/coco_utils/terrain1_coco.json masks",
        "picsellia-formats rasterise fixtures/sahi_coco/coco_utils/terrain1_coco.json masks_instance "
        "--kind instance",
    ),
    "validate": (
        f"picsellia-formats validate {_R}/annotations --images {_R}/images",
        "picsellia-formats validate fixtures/raccoon_voc/annotations --images fixtures/raccoon_voc/images "
        "--fix raccoon_fixed --drop-broken",
        "picsellia-formats validate fixtures/sahi_coco/coco_utils/terrain1_coco.json --json findings.json",
    ),
}


def epilog(command: str) -> str | None:
    """The ``Examples:`` block of `command`'s help, or None when it has none."""
    lines = EXAMPLES.get(command)
    if not lines:
        return None
    return "Examples:\n" + "\n".join(f"  {line}" for line in lines)
