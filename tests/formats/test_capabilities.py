"""What a format can hold (`FormatSpec.holds`) against what its writer does, for every registered writer.

For every writer and every capability: a dataset holding that capability twice, written to the format,
gives exactly one lossy report line naming it with its count when the format cannot hold it, and none
when it can; and what the format says it holds is there when the output is read back (the reader is
the oracle that the declaration is true: a wrong declaration is a silent loss).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

import picsellia_formats as pf
from picsellia_formats import formats
from picsellia_formats.formats.capabilities import BY_NAME, CAPABILITIES, census, report_unheld
from picsellia_formats.model import QA, Annotation, Asset, Dataset, Label, Mask
from picsellia_formats.report import Report

WRITERS = tuple(spec.name for spec in formats.specs() if spec.write is not None)
W, H = 64, 48
SQUARE = [10.0, 10.0, 20.0, 10.0, 20.0, 20.0, 10.0, 20.0]
TRIANGLE = [30.0, 30.0, 40.0, 30.0, 35.0, 40.0]
MASK = Mask(H, W, [100, 5, 43, 5, W * H - 153])


def _ann(**fields: object) -> Annotation:
    return Annotation("car", **fields)  # type: ignore[arg-type]


def _box(i: int, **fields: object) -> Annotation:
    return _ann(box=(1.0 + i, 2.0, 10.0, 12.0), **fields)


#: capability -> the objects (two of them), asset fields and labels that hold it, and nothing else
#: beyond a plain box
BUILDERS: dict[str, Callable[[], tuple[list[Annotation], dict, list[Label]]]] = {
    "box": lambda: ([], {}, []),  # the two plain boxes every dataset here has
    "polygon": lambda: ([_ann(polygon=[SQUARE]), _ann(polygon=[TRIANGLE])], {}, []),
    "multipart": lambda: ([_ann(polygon=[SQUARE, TRIANGLE]), _ann(polygon=[TRIANGLE, SQUARE])], {}, []),
    "mask": lambda: ([_ann(mask=MASK), _ann(mask=MASK)], {}, []),
    "keypoints": lambda: ([_ann(keypoints=[5.0, 5.0, 2, 9.0, 9.0, 2]), _ann(keypoints=[15.0, 5.0, 2, 19.0, 9.0, 2])],
                          {}, []),
    "keypoints_on_shapes": lambda: ([_ann(polygon=[SQUARE], keypoints=[12.0, 12.0, 2]),
                                     _ann(polygon=[TRIANGLE], keypoints=[33.0, 33.0, 2])], {}, []),
    "line": lambda: ([_ann(line=[1.0, 1.0, 10.0, 10.0, 20.0, 5.0]), _ann(line=[2.0, 2.0, 30.0, 20.0])], {}, []),
    "point": lambda: ([_ann(point=(3.5, 4.5)), _ann(point=(13.5, 14.5))], {}, []),
    "classification": lambda: ([Annotation("day"), Annotation("sunny")], {}, []),
    "shapes_beside": lambda: ([_ann(polygon=[SQUARE], line=[1.0, 1.0, 5.0, 5.0]),
                               _ann(polygon=[TRIANGLE], point=(3.0, 3.0))], {}, []),
    "scores": lambda: ([_box(0, score=0.9), _box(1, score=0.5)], {}, []),
    "attributes": lambda: ([_box(0, attributes={"color": "red"}), _box(1, attributes={"color": "blue"})], {}, []),
    "crowd": lambda: ([_box(0, iscrowd=1), _box(1, iscrowd=1)], {}, []),
    "object_qa": lambda: ([_box(0, qa=[QA("text", "why?", "a"), QA("text", "how?", "b")])], {}, []),
    "image_qa": lambda: ([], {"qa": [QA("text", "rain?", "no"), QA("text", "wind?", "yes")]}, []),
    "statuses": lambda: ([], {"status": "ACCEPTED"}, []),
    "tags": lambda: ([], {"tags": ["train"]}, []),
    "asset_metadata": lambda: ([], {"metadata": {"camera": "front"}}, []),
    "label_only": lambda: ([], {}, [Label("unused"), Label("spare")]),
    "label_groups": lambda: ([], {}, [Label("car", group="vehicle"), Label("bus", group="vehicle")]),
}

#: (writer, capability) the format holds only for some values; the writer reports the others itself
PARTIAL = {("tfrecord", "attributes"): "the OD API keeps difficult, truncated and pose only",
           ("voc", "tags"): "the flat layout drops the tags its folders do not carry (the devkit lists them)"}


def _dataset(capability: str) -> Dataset:
    """Two images (the second one plain); the capability held twice in all."""
    objects, asset_fields, labels = BUILDERS[capability]()
    if capability in ("statuses", "tags", "asset_metadata"):
        first = Asset("a.jpg", W, H, [_box(0)], **asset_fields)
        second = Asset("b.jpg", W, H, [_box(1)], **asset_fields)
    else:
        first = Asset("a.jpg", W, H, [_box(0), *objects], **asset_fields)
        second = Asset("b.jpg", W, H, [_box(1)])
    ds = Dataset(labels or [Label("car")], [first, second])
    ds.ensure_labels()
    if capability == "label_only":
        ds.labels = [Label("car"), *labels]
    if capability == "label_groups":
        for asset in ds.assets:
            asset.annotations.append(Annotation("bus", box=(30.0, 30.0, 5.0, 5.0)))
    return ds


def _images(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("a.jpg", "b.jpg"):
        Image.new("RGB", (W, H), (200, 10, 10)).save(folder / name)
    return folder


def _write(ds: Dataset, target: str, tmp_path: Path) -> tuple[Report, Path, Path]:
    images = _images(tmp_path / "images")
    spec = formats.get(target)
    out = tmp_path / ("out" if spec.output == "folder" else "out" + Path(spec.default_file_name).suffix)
    return pf.write(ds, out, target, images=images), out, images


def _held(back: Dataset, capability: str) -> bool:
    """Whether the dataset read back holds the capability (twice where it counts objects)."""
    anns = [ann for _, ann in back.annotations()]
    kinds = [ann.kind for ann in anns]
    checks: dict[str, Callable[[], bool]] = {
        "box": lambda: kinds.count("box") >= 2,
        "polygon": lambda: kinds.count("polygon") >= 2,
        "multipart": lambda: sum(1 for a in anns if a.polygon is not None and len(a.polygon) > 1) == 2,
        "mask": lambda: kinds.count("mask") == 2,
        "keypoints": lambda: kinds.count("keypoints") >= 2,  # YOLO pose: every row has keypoints (reported)
        "keypoints_on_shapes": lambda: sum(1 for a in anns if a.keypoints is not None and a.kind == "polygon") == 2,
        "line": lambda: kinds.count("line") == 2,
        "point": lambda: kinds.count("point") == 2,
        "classification": lambda: kinds.count("classification") == 2,
        "shapes_beside": lambda: sum(1 for a in anns if a.kind == "polygon" and (a.line or a.point)) == 2,
        "scores": lambda: sum(1 for a in anns if a.score is not None) == 2,
        "attributes": lambda: sum(1 for a in anns if a.attributes) >= 2,
        "crowd": lambda: sum(1 for a in anns if a.iscrowd) == 2,
        "object_qa": lambda: sum(len(a.qa) for a in anns) == 2,
        "image_qa": lambda: sum(len(a.qa) for a in back.assets) == 2,
        "statuses": lambda: sum(1 for a in back.assets if a.status) == 2,
        "tags": lambda: sum(1 for a in back.assets if "train" in a.tags) == 2,
        "asset_metadata": lambda: sum(1 for a in back.assets if a.metadata.get("camera") == "front") == 2,
        "label_only": lambda: {"unused", "spare"} <= set(back.label_names),
        "label_groups": lambda: sum(1 for label in back.labels if label.group == "vehicle") == 2,
    }
    return checks[capability]()


def _read_back(target: str, out: Path, images: Path) -> Dataset:
    if target == "yolo":
        return pf.read(out, "yolo")
    return pf.read(out, target, images=images if target in ("voc",) else None)


def test_every_writer_declares_what_it_holds() -> None:
    for spec in formats.specs():
        if spec.write is not None:
            declared = spec.capabilities(None, {})
            assert declared is not None, f"{spec.name} declares nothing: FormatSpec.holds"
            holds, written_as = declared
            assert holds <= set(BY_NAME) and set(written_as) <= set(BY_NAME), spec.name
            assert not holds & set(written_as), spec.name


@pytest.mark.parametrize("capability", [c.name for c in CAPABILITIES])
@pytest.mark.parametrize("target", WRITERS)
def test_what_a_format_cannot_hold_is_reported_once_and_what_it_holds_survives(
        target: str, capability: str, tmp_path: Path) -> None:
    ds = _dataset(capability)
    n = census(ds, frozenset({capability}))[capability]
    assert n == 2
    spec = formats.get(target)
    holds, written_as = spec.capabilities(ds, {})  # type: ignore[misc]
    report, out, images = _write(ds, target, tmp_path)
    noun = BY_NAME[capability].noun
    lines = [e for e in report.entries if e.kind in ("dropped", "approximated", "rounded")
             and (e.what == noun or e.what.startswith(noun + " "))]
    if capability in holds and (target, capability) not in PARTIAL:
        assert lines == [], (target, capability, str(report))
        assert _held(_read_back(target, out, images), capability), (target, capability, str(report))
    elif capability == "multipart" and "polygon" not in holds:
        # the polygons themselves are written as something else: said once, on the polygons' line
        assert lines == [], str(report)
        assert [e.count for e in report.entries if e.what.startswith("polygons ")] == [2], str(report)
    else:
        assert [(e.what, e.count) for e in lines] == [
            (f"{noun} written as {written_as[capability]}" if capability in written_as else noun, 2)
        ], (target, capability, str(report))
        assert lines[0].kind == ("approximated" if capability in written_as else "dropped")
        if (target, capability) not in PARTIAL:
            assert f"{lines[0].why}".startswith(f"{pf.formats.capabilities.title(target)} has no ")


def test_report_names_the_target_and_counts() -> None:
    ds = _dataset("object_qa")
    report = Report()
    report_unheld(ds, "voc", frozenset({"box"}), {}, report)
    assert str(report) == "2 object Q&A answers dropped (VOC has no object Q&A)"


def test_coco_to_voc_keypoints_of_polygons_and_masks_are_reported(tmp_path: Path) -> None:
    """The silent loss this fixes: VOC, YOLO and TFRecord wrote the polygon's box and said nothing of
    the keypoints riding on it."""
    ds = Dataset([Label("person")], [Asset("a.jpg", W, H, [
        Annotation("person", polygon=[SQUARE], keypoints=[12.0, 12.0, 2, 15.0, 15.0, 1]),
        Annotation("person", mask=MASK, keypoints=[3.0, 3.0, 2]),
    ])])
    coco = tmp_path / "c.json"
    pf.write(ds, coco, "coco")
    for target in ("voc", "yolo", "tfrecord"):
        report = pf.convert(coco, tmp_path / target, target, images=_images(tmp_path / "images"))
        assert report.count("dropped", "keypoints of polygon and mask objects") == 2, (target, str(report))


# ---------------------------------------------------------------------------- the census by columns


_OBJECT_FIELDS = {
    "box": (1.0, 2.0, 3.0, 4.0), "polygon": [SQUARE], "mask": MASK, "keypoints": [1.0, 2.0, 2],
    "line": [0.0, 0.0, 5.0, 5.0], "point": (1.0, 1.0), "score": 0.5, "attributes": {"a": 1}, "iscrowd": 1,
    "qa": [QA("text", "q?", "a")], "extra": {"voc": {"pose": "Left"}, "coco": {"ignore": 0}},
}
_ASSET_FIELDS = {"qa": [QA("text", "q?", "a")], "status": "ACCEPTED", "tags": ["train"], "metadata": {"k": 1},
                 "extra": {"coco": {"license": 1}}}


def _random_dataset(seed: int, with_lines: bool) -> Dataset:
    import random

    rng = random.Random(seed)
    fields = [f for f in _OBJECT_FIELDS if with_lines or f not in ("line", "point")]
    assets = []
    for i in range(rng.randint(0, 12)):
        objects = [Annotation(rng.choice(["car", "bus"]), **{f: _OBJECT_FIELDS[f] for f in fields  # type: ignore[arg-type]
                                                            if rng.random() < 0.3})
                   for _ in range(rng.randint(0, 6))]
        for ann in objects:
            if ann.polygon is not None and rng.random() < 0.5:
                ann.polygon = [SQUARE, SQUARE]  # multi-part
        asset_fields = {f: _ASSET_FIELDS[f] for f in _ASSET_FIELDS if rng.random() < 0.3}
        if rng.random() < 0.2:
            asset_fields["extra"] = {"voc": {"folder": "x"}, "coco": {"license": 2}}
        assets.append(Asset(f"{i}.jpg", W, H, objects, **asset_fields))  # type: ignore[arg-type]
    return Dataset([Label("car", group="v" if seed % 2 else None), Label("bus")], assets)


@pytest.mark.parametrize("seed", range(60))
@pytest.mark.parametrize("target", ["coco", "voc", "yolo", "tfrecord", "createml", "all"])
def test_the_census_by_columns_counts_what_the_loop_counts(seed: int, target: str) -> None:
    from picsellia_formats.fidelity import ForeignFields
    from picsellia_formats.formats import capabilities

    ds = _random_dataset(seed, with_lines=seed % 3 == 0)
    if target == "all":  # every capability wanted, every kind kept
        wanted, kept, tally = capabilities.ALL, frozenset(capabilities._KINDS), "picsellia"
    else:
        holds, written_as = formats.get(target).capabilities(None, {})  # type: ignore[misc]
        wanted = frozenset(capabilities.ALL - holds)
        kept = frozenset(k for k in capabilities._KINDS if k in holds or k in written_as)
        tally = target
    if seed % 4 == 1:  # only what the columns count (a COCO target asks for no more)
        wanted &= capabilities._BY_COLUMNS
    loop = capabilities.Census(wanted, kept, foreign=ForeignFields(tally))
    for asset in ds.assets:
        loop.add(asset)
    many = capabilities.Census(wanted, kept, foreign=ForeignFields(tally))
    many.add_many(ds.assets[:5])  # in two batches, as a stream gives them
    many.add_many(ds.assets[5:])
    assert many.counts(ds.labels) == loop.counts(ds.labels)
    assert many.used == loop.used
    assert many.foreign._counts == loop.foreign._counts  # type: ignore[union-attr]
    by_columns = wanted <= capabilities._BY_COLUMNS and not any(
        a.line is not None or a.point is not None for asset in ds.assets for a in asset.annotations)
    probe = capabilities.Census(wanted)
    assert (wanted <= capabilities._BY_COLUMNS and probe._by_columns(ds.assets)) is by_columns
