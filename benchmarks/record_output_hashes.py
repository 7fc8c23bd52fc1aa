"""Record the sha256 of every output of every bundled fixture through every target format.

Used to prove that a refactor changes no output byte: run it before, commit the JSON, and
`tests/test_golden_outputs.py` re-runs it and compares. Every source under ``fixtures/`` that the
registry detects is read (with and without its images folder), then written to every writable
format with its default options and a few option variants; each output file's sha256, the report
text and any error (class and message) are recorded.

Usage:
    python benchmarks/record_output_hashes.py            # print a summary of differences
    python benchmarks/record_output_hashes.py --write    # (re)write tests/data/golden_output_hashes.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
GOLDEN = ROOT / "tests" / "data" / "golden_output_hashes.json"

#: (target format, variant name, write options); the default options come first
TARGETS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("coco", "default", {}),
    ("coco", "results", {"results": True}),
    ("coco", "polygon", {"segmentation": "polygon"}),
    ("voc", "default", {}),
    ("voc", "devkit", {"layout": "devkit"}),
    ("voc", "segmentation", {"segmentation": True}),
    ("yolo", "default", {}),
    ("yolo", "segment", {"task": "segment"}),
    ("yolo", "confidence", {"confidence": True}),
    ("picsellia", "default", {}),
    ("picsellia", "platform_only", {"platform_only": True}),
    ("tfrecord", "default", {"workers": 1}),
    ("tfrecord", "masks", {"workers": 1, "masks": True}),
    ("tfrecord", "split_by_tag", {"workers": 1, "split_by_tag": True}),
)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def _error(exc: BaseException) -> str:
    text = str(exc).replace(str(FIXTURES), "<fixtures>")
    text = re.sub(r"\S*\.tmp-pf|" + re.escape(tempfile.gettempdir()) + r"/tmp\w+", "<tmp>", text)
    return f"error {type(exc).__name__}: {_sha(text.encode())}"


def sources() -> list[tuple[Path, Path | None]]:
    """Every detected source under fixtures/, with the images folder to try (or None)."""
    from picsellia_formats import formats

    candidates = sorted(
        p for p in FIXTURES.rglob("*")
        if (p.is_dir() and p.name not in {"images"}) or p.suffix.lower() in {".json", ".record", ".xml"}
    )
    found = []
    for path in candidates:
        if path.suffix.lower() == ".xml" and path != min(path.parent.glob("*.xml")):
            continue  # one VOC file stands for its folder, which is a source too
        try:
            formats.detect(path)
        except Exception:  # undetected paths are not sources
            continue
        images = None
        for folder in (path if path.is_dir() else path.parent, (path if path.is_dir() else path.parent).parent):
            if (folder / "images").is_dir():
                images = folder / "images"
                break
        found.append((path, images))
    return found


def _hash_tree(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): _sha(p.read_bytes()) for p in sorted(folder.rglob("*")) if p.is_file()}


def run() -> dict[str, Any]:
    import picsellia_formats as pf
    from picsellia_formats import formats
    from picsellia_formats.report import Report

    out: dict[str, Any] = {}
    for src, images in sources():
        rel = str(src.relative_to(FIXTURES))
        for img in ([None, images] if images else [None]):
            key = f"{rel} images={'yes' if img else 'no'}"
            entry: dict[str, Any] = {}
            out[key] = entry
            read_report = Report()
            try:
                dataset = pf.read(src, images=img, report=read_report)
            except Exception as exc:  # the error is the recorded behaviour
                entry["read"] = _error(exc)
                continue
            entry["read"] = _sha(str(read_report).encode())
            for target, variant, options in TARGETS:
                spec = formats.get(target)
                with tempfile.TemporaryDirectory() as tmp:
                    dst = Path(tmp) / "out"
                    if spec.output == "file":
                        dst.mkdir()
                    report = Report()
                    try:
                        pf.write(dataset, dst, target, images=img, report=report, **options)
                    except Exception as exc:  # the error is the recorded behaviour
                        entry[f"{target}/{variant}"] = _error(exc)
                        continue
                    files = _hash_tree(dst)
                    manifest = "".join(f"{name}\t{digest}\n" for name, digest in files.items())
                    result: dict[str, Any] = {"files": len(files), "tree": _sha(manifest.encode()),
                                              "report": _sha(str(report).encode())}
                    if len(files) <= 4:  # small outputs keep per-file hashes, to name what differs
                        result.update(files)
                    entry[f"{target}/{variant}"] = result
    return out


def diff(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """One line per source/target whose outputs differ."""
    lines = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        if a is None or b is None:
            lines.append(f"{key}: {'added' if a is None else 'removed'}")
            continue
        for sub in sorted(set(a) | set(b)):
            if a.get(sub) != b.get(sub):
                x, y = a.get(sub), b.get(sub)
                if isinstance(x, dict) and isinstance(y, dict):
                    files = sorted(f for f in set(x) | set(y) if x.get(f) != y.get(f))
                    lines.append(f"{key} -> {sub}: {', '.join(files)}")
                else:
                    lines.append(f"{key} -> {sub}: {x} != {y}")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite the golden JSON")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    new = run()
    if args.write:
        GOLDEN.write_text(json.dumps(new, indent=1, sort_keys=True) + "\n")
        print(f"wrote {GOLDEN} ({len(new)} sources)")
        return 0
    old = json.loads(GOLDEN.read_text())
    lines = diff(old, new)
    print("\n".join(lines) if lines else "no difference")
    return 1 if lines else 0


if __name__ == "__main__":
    raise SystemExit(main())
