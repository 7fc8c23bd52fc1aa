"""Convert a Pascal VOC dataset (folder of XML files or devkit layout) to a YOLO detection folder.

    python converters/voc_to_yolo.py SRC DST [--images DIR] [--classes voc.names] [--skip-difficult]
                                             [--one-based] [--no-copy] [--skip-missing-images]

`--classes` fixes the class order (one name per line, e.g. the devkit's 20 classes); without it
the classes are numbered in order of first appearance. `--skip-difficult` leaves out objects
marked ``<difficult>1</difficult>`` (as most VOC training recipes do). Devkit splits
(``ImageSets/Main/train.txt``...) become YOLO's ``images/<split>`` + ``labels/<split>``.

A YOLO dataset is its images beside their label files: when some images are not in the images folder the
script refuses (exit 1, nothing written) and names them; `--skip-missing-images` leaves those images out
(counted), `--no-copy` writes the label files only.

    python converters/voc_to_yolo.py fixtures/raccoon/annotations raccoon_yolo --images fixtures/raccoon/images
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import picsellia_formats as pf
from picsellia_formats.images import ImageIndex
from picsellia_formats.textutil import count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("src", help="VOC XML file, folder of XML files or devkit folder")
    parser.add_argument("dst", help="YOLO output folder")
    parser.add_argument("--images", default=None, help="image folder (default: the devkit's JPEGImages/)")
    parser.add_argument("--classes", default=None, help="file with one class name per line (the class order)")
    parser.add_argument("--skip-difficult", action="store_true", help="leave out objects marked difficult")
    parser.add_argument("--one-based", action="store_true", help="VOC corners follow the devkit's 1-based rule")
    parser.add_argument("--no-copy", action="store_true", help="write labels only, do not copy the images")
    parser.add_argument("--include-unlabelled", action="store_true",
                        help="also convert the images no XML names (as images with no objects)")
    parser.add_argument("--skip-missing-images", action="store_true",
                        help="leave out (and count) the images that are not in the images folder")
    args = parser.parse_args(argv)
    try:
        report = pf.Report()
        dataset = pf.read(args.src, "voc", images=args.images, report=report, one_based=args.one_based,
                          include_unlabelled=args.include_unlabelled)
        skipped = 0
        if args.skip_difficult:
            for asset in dataset.assets:
                kept = [a for a in asset.annotations if not a.attributes.get("difficult")]
                skipped += len(asset.annotations) - len(kept)
                asset.annotations = kept
        if args.classes:
            names = [line.strip() for line in Path(args.classes).read_text(encoding="utf-8").splitlines()
                     if line.strip()]
            unknown = sorted(set(dataset.label_names) - set(names))
            if unknown:
                print(f"error: {args.classes}: lacks the classes {', '.join(unknown)}", file=sys.stderr)
                return 2
            dataset.labels = [pf.Label(name) for name in names]
        images = args.images or _devkit_images(Path(args.src))
        left_out = 0
        missing: list[pf.Asset] = []
        if not args.no_copy:
            missing = _missing_images(dataset, images)
            if missing and not args.skip_missing_images:
                where = images if images is not None else "(no --images folder given or found)"
                print(f"error: {len(missing):,} of {len(dataset):,} images are not in {where} (e.g. "
                      f"{', '.join(a.file_name for a in missing[:3])}): their label files would have no image; "
                      "--skip-missing-images leaves them out, --no-copy writes the label files only",
                      file=sys.stderr)
                return 1
            if missing:
                gone = {id(a) for a in missing}
                left_out = sum(len(a.annotations) for a in missing)
                dataset.assets = [a for a in dataset.assets if id(a) not in gone]
        pf.write(dataset, args.dst, "yolo", images=None if args.no_copy else images, report=report,
                 task="detect", copy_images="none" if args.no_copy or images is None else "copy")
    except (pf.PicselliaFormatsError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{count(len(dataset), 'image')}, {count(dataset.num_annotations, 'box')}, "
          f"{count(len(dataset.labels), 'class')}"
          + (f", {count(skipped, 'difficult object')} left out" if skipped else "") + f" -> {args.dst}")
    if missing:
        print(f"images not found and left out: {count(len(missing), 'image')} with {count(left_out, 'box')}")
    if report:
        print(report)
    return 0


def _missing_images(dataset: pf.Dataset, images: Path | str | None) -> list[pf.Asset]:
    """The assets whose image file is not in `images` (all of them without a folder)."""
    if images is None:
        return list(dataset.assets)
    index = ImageIndex(images)
    return [a for a in dataset.assets if index.lookup(a.file_name).path is None]


def _devkit_images(src: Path) -> Path | None:
    jpeg = src / "JPEGImages"
    return jpeg if jpeg.is_dir() else None


if __name__ == "__main__":
    sys.exit(main())
