"""Shared pieces of the TF OD API tests: TensorFlow (the reference), the OD API decoder's parse spec,
and a small synthetic data set whose objects are painted into their images."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from picsellia_formats.formats.tfrecord.write import write_tfrecords
from picsellia_formats.model import Annotation, Asset, Dataset, Label, Mask
from picsellia_formats.report import Report
from tests.conftest import require

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "fixtures"
RACCOON = FIXTURES / "raccoon_voc"

#: PIL's exif_transpose operation per EXIF orientation (displayed = stored.transpose(op))
EXIF_OPS = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
#: the inverse operation (stored = displayed.transpose(inverse))
EXIF_INVERSE = {**EXIF_OPS, 6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}


@pytest.fixture(scope="session")
def tf():
    """TensorFlow, the reference implementation (the ``tf`` extra; CI installs it)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return require("tensorflow", "test", "TensorFlow's parsing of our records")


def decoder_spec(tf, masks: bool = False) -> dict:
    """The ``keys_to_features`` of the OD API's ``TfExampleDecoder`` (data_decoders/tf_example_decoder.py)."""
    spec = {
        "image/encoded": tf.io.FixedLenFeature((), tf.string, default_value=""),
        "image/format": tf.io.FixedLenFeature((), tf.string, default_value="jpeg"),
        "image/filename": tf.io.FixedLenFeature((), tf.string, default_value=""),
        "image/key/sha256": tf.io.FixedLenFeature((), tf.string, default_value=""),
        "image/source_id": tf.io.FixedLenFeature((), tf.string, default_value=""),
        "image/height": tf.io.FixedLenFeature((), tf.int64, default_value=1),
        "image/width": tf.io.FixedLenFeature((), tf.int64, default_value=1),
        "image/class/text": tf.io.VarLenFeature(tf.string),
        "image/class/label": tf.io.VarLenFeature(tf.int64),
        "image/class/confidence": tf.io.VarLenFeature(tf.float32),
        "image/object/bbox/xmin": tf.io.VarLenFeature(tf.float32),
        "image/object/bbox/xmax": tf.io.VarLenFeature(tf.float32),
        "image/object/bbox/ymin": tf.io.VarLenFeature(tf.float32),
        "image/object/bbox/ymax": tf.io.VarLenFeature(tf.float32),
        "image/object/class/label": tf.io.VarLenFeature(tf.int64),
        "image/object/class/text": tf.io.VarLenFeature(tf.string),
        "image/object/area": tf.io.VarLenFeature(tf.float32),
        "image/object/is_crowd": tf.io.VarLenFeature(tf.int64),
        "image/object/difficult": tf.io.VarLenFeature(tf.int64),
        "image/object/group_of": tf.io.VarLenFeature(tf.int64),
        "image/object/weight": tf.io.VarLenFeature(tf.float32),
    }
    if masks:
        spec["image/object/mask"] = tf.io.VarLenFeature(tf.string)  # mask_type: PNG_MASKS
    return spec


def parse_records(tf, paths, masks: bool = False) -> list[dict]:
    """Every record of `paths` parsed by TensorFlow with the decoder's spec, as numpy values."""
    out = []
    spec = decoder_spec(tf, masks)
    for raw in tf.data.TFRecordDataset([str(p) for p in paths]):
        parsed = tf.io.parse_single_example(raw, spec)
        row = {}
        for key, value in parsed.items():
            if isinstance(value, tf.SparseTensor):
                row[key] = tf.sparse.to_dense(value, default_value=b"" if value.dtype == tf.string else 0).numpy()
            else:
                row[key] = value.numpy()
        out.append(row)
    return out


# ------------------------------------------------------------------------------- synthetic data set

COLOURS = [(255, 0, 0), (0, 0, 255), (0, 255, 0), (255, 255, 0)]


def _save(displayed: Image.Image, path: Path, orientation: int = 1) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    stored = displayed.transpose(EXIF_INVERSE[orientation]) if orientation != 1 else displayed
    if path.suffix.lower() == ".png":
        stored.save(path, "PNG")
        return
    exif = Image.Exif()
    if orientation != 1:
        exif[0x0112] = orientation
    stored.save(path, "JPEG", quality=95, exif=exif.tobytes())


#: file name -> the boxes painted into its displayed image, in object order (colour k for box k)
PAINTED: dict[str, list[tuple[int, int, int, int]]] = {}


def _paint(size: tuple[int, int], boxes: list[tuple[int, int, int, int]], name: str = "") -> Image.Image:
    PAINTED[name] = boxes
    im = np.full((size[1], size[0], 3), 128, dtype=np.uint8)
    for k, (x, y, w, h) in enumerate(boxes):
        x0, y0 = max(x, 0), max(y, 0)
        im[y0:y + h, x0:x + w] = COLOURS[k % len(COLOURS)]
    return Image.fromarray(im)


def make_synthetic(folder: Path) -> Dataset:
    """Six images covering the cases: JPEG and PNG, a sub-folder, a unicode name, an empty image,
    a box outside the image (clamped), a multi-part polygon, an RLE crowd object, Pascal fields,
    an EXIF-rotated JPEG (orientation 6) and an image-level classification.

    Each object's box is painted (one colour per object) into the displayed image."""
    labels = [Label("cat"), Label("dog"), Label("bird")]
    assets = []

    boxes = [(4, 6, 20, 10), (40, 30, 40, 30)]  # the second runs past the right and bottom edges
    _save(_paint((64, 48), boxes, "a.jpg"), folder / "a.jpg")
    assets.append(Asset("a.jpg", 64, 48, [
        Annotation("cat", box=(4.0, 6.0, 20.0, 10.0)),
        Annotation("dog", box=(40.0, 30.0, 40.0, 30.0)),
        Annotation("bird", polygon=[[30.0, 2.0, 50.0, 2.0, 40.0, 20.0]]),
    ], id=1))

    _save(_paint((50, 40), [(2, 3, 10, 12), (20, 20, 8, 6)], "sub/b.png"), folder / "sub" / "b.png")
    rle = Mask(40, 50, _rect_rle(40, 50, 20, 20, 8, 6))
    assets.append(Asset("sub/b.png", 50, 40, [
        Annotation("dog", polygon=[[2.0, 3.0, 12.0, 3.0, 12.0, 15.0, 2.0, 15.0], [30.0, 30.0, 40.0, 30.0, 35.0, 38.0]]),
        Annotation("cat", mask=rle, iscrowd=1, area=48.0),
    ], id=2))

    _save(_paint((32, 32), []), folder / "empty.jpg")
    assets.append(Asset("empty.jpg", 32, 32, [], id=3))

    _save(_paint((40, 30), [(5, 5, 20, 15)], "été 猫.jpg"), folder / "été 猫.jpg")
    assets.append(Asset("été 猫.jpg", 40, 30, [
        Annotation("cat", box=(5.0, 5.0, 20.0, 15.0),
                   attributes={"pose": "Left", "truncated": 1, "difficult": 1}),
    ], id=4))

    # displayed 40 x 60 (stored 60 x 40, EXIF orientation 6)
    _save(_paint((40, 60), [(4, 10, 12, 30), (20, 40, 15, 12)], "rot6.jpg"), folder / "rot6.jpg", orientation=6)
    assets.append(Asset("rot6.jpg", 40, 60, [
        Annotation("bird", box=(4.0, 10.0, 12.0, 30.0)),
        Annotation("dog", polygon=[[20.0, 40.0, 35.0, 40.0, 35.0, 52.0, 20.0, 52.0]]),
    ], id=5))

    _save(_paint((30, 20), []), folder / "cls.jpg")
    assets.append(Asset("cls.jpg", 30, 20, [Annotation("cat")], id=6))
    return Dataset(labels, assets)


def _rect_rle(h: int, w: int, x: int, y: int, rw: int, rh: int) -> str:
    from picsellia_formats.masks import mask_to_rle

    array = np.zeros((h, w), dtype=np.uint8)
    array[y:y + rh, x:x + rw] = 1
    return mask_to_rle(array).counts  # type: ignore[return-value]


@pytest.fixture(scope="session")
def synthetic(tmp_path_factory) -> tuple[Dataset, Path]:
    folder = tmp_path_factory.mktemp("synthetic_images")
    return make_synthetic(folder), folder


@pytest.fixture(scope="session")
def written(synthetic, tmp_path_factory):
    """The synthetic set written with masks into 3 shards, and its report."""
    dataset, images = synthetic
    out = tmp_path_factory.mktemp("records") / "train.record"
    report = Report()
    paths = write_tfrecords(dataset, out, images=images, shards=3, masks=True, progress=False, report=report,
                            workers=0)
    return dataset, images, paths, report
