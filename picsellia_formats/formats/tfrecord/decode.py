"""One OD API ``tf.train.Example`` feature map back into plain values: the inverse of `features`.

Boxes come back in absolute pixels of the displayed frame (EXIF orientation applied, as the model
wants), masks as boolean arrays; anything unknown is kept for the caller.

Example:
    >>> image = decode_features({"image/width": ("int64", [650]), "image/height": ("int64", [417]),
    ...     "image/object/bbox/xmin": ("float", [0.12461538612842560]),
    ...     "image/object/bbox/xmax": ("float", [0.8030769228935242]),
    ...     "image/object/bbox/ymin": ("float", [0.21103116869926453]),
    ...     "image/object/bbox/ymax": ("float", [0.9784172773361206]),
    ...     "image/object/class/text": ("bytes", [b"raccoon"])})
    >>> image.objects[0].text, image.objects[0].box
    ('raccoon', (81.0, 88.0, 441.0, 320.0))
"""

from __future__ import annotations

import hashlib
import math
import struct
from typing import Any, NamedTuple

from ...errors import FormatError
from ...image_header import SWAPPING, array_to_displayed, to_displayed
from ...image_header import read_header as sniff
from .example import Feature
from .keys import (
    AREA,
    CLASS_LABEL,
    CLASS_TEXT,
    DIFFICULT,
    ENCODED,
    FILENAME,
    FORMAT,
    HEIGHT,
    IMAGE_CLASS_LABEL,
    IMAGE_CLASS_TEXT,
    IS_CROWD,
    KNOWN_KEYS,
    MASK,
    SHA256,
    SOURCE_ID,
    TRUNCATED,
    VIEW,
    WIDTH,
    XMAX,
    XMIN,
    YMAX,
    YMIN,
)


def decode_mask(data: bytes, height: int, width: int) -> Any:
    """A PNG (or any image) mask as a 2-D boolean array (values > 0), as ``decode_image(channels=1)``."""
    import io

    import numpy as np
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        if im.mode not in ("1", "L", "I", "I;16", "I;16B", "F"):
            im = im.convert("L")
        array = np.asarray(im)
    if array.ndim != 2:
        array = array[..., 0]
    if array.shape != (height, width):
        raise FormatError(f"a mask is {array.shape[1]}x{array.shape[0]}, the image {width}x{height}")
    return array > 0


class DecodedObject(NamedTuple):
    text: str | None
    label: int | None
    box: tuple[float, float, float, float]  # absolute (x, y, w, h) in the displayed frame
    iscrowd: int
    area: float | None
    difficult: int | None
    truncated: int | None
    view: str | None
    mask: Any  # 2-D bool array in the displayed frame, or None
    extra: dict[str, Feature] | None


class DecodedImage(NamedTuple):
    file_name: str | None
    source_id: str | None
    width: int | None
    height: int | None
    image: bytes | None
    image_format: str | None
    sha256_ok: bool | None
    orientation: int
    objects: list[DecodedObject]
    classes: list[tuple[str | None, int | None]]
    extra: dict[str, Feature]


def _text(feature: Feature | None, key: str) -> str | None:
    if feature is None or not feature[1]:
        return None
    if feature[0] != "bytes":
        raise FormatError(f"{key} must be a bytes list, got {feature[0]}")
    try:
        return feature[1][0].decode("utf-8")
    except UnicodeDecodeError:
        raise FormatError(f"{key} is not UTF-8") from None


def _int(feature: Feature | None, key: str) -> int | None:
    if feature is None or not feature[1]:
        return None
    if feature[0] != "int64":
        raise FormatError(f"{key} must be an int64 list, got {feature[0]}")
    return feature[1][0]


def _list(features: dict[str, Feature], key: str, kind: str, n: int) -> list[Any] | None:
    feature = features.get(key)
    if feature is None or not feature[1]:
        return None
    if feature[0] != kind:
        raise FormatError(f"{key} must be a {kind} list, got {feature[0]}")
    if len(feature[1]) != n:
        raise FormatError(f"{key} has {len(feature[1])} values for {n} boxes")
    return feature[1]


def snap(value: float, size: int) -> float:
    """The absolute coordinate behind a float32 normalised one: the integer pixel when it is the
    one that was written (``float32(x / size) == value``), else ``value * size``."""
    x = value * size
    r = float(round(x))
    if r != x and struct.pack("<f", r / size) == struct.pack("<f", value):
        return r
    return x


def decode_features(features: dict[str, Feature], masks: bool = True) -> DecodedImage:
    """Interpret one Example's feature map; ValueError names the key that is wrong."""
    image = features.get(ENCODED)
    data = None
    if image is not None and image[1]:
        if image[0] != "bytes":
            raise FormatError(f"{ENCODED} must be a bytes list")
        data = image[1][0] or None
    info = sniff(data) if data else None
    height = _int(features.get(HEIGHT), HEIGHT)
    width = _int(features.get(WIDTH), WIDTH)
    if (height is not None and height < 0) or (width is not None and width < 0):
        raise FormatError(f"negative image size {width}x{height}")
    if (not height or not width) and info is not None:
        width, height = info.width, info.height
    orientation = info.orientation if info is not None and (info.width, info.height) == (width, height) else 1
    sha = _text(features.get(SHA256), SHA256)
    sha_ok = None
    if sha and data:
        sha_ok = hashlib.sha256(data).hexdigest() == sha

    boxes = features.get(XMIN)
    n = len(boxes[1]) if boxes is not None else 0
    for key in (XMIN, XMAX, YMIN, YMAX):
        feature = features.get(key)
        got = len(feature[1]) if feature is not None else 0
        if got != n:
            raise FormatError(f"{key} has {got} values, {XMIN} has {n}")
        if feature is not None and feature[1] and feature[0] != "float":
            raise FormatError(f"{key} must be a float list, got {feature[0]}")
    if n and (not width or not height):
        raise FormatError("the image size is unknown (no image/width, image/height nor image bytes): "
                         "normalised boxes cannot be turned into pixels")
    texts = _list(features, CLASS_TEXT, "bytes", n)
    labels = _list(features, CLASS_LABEL, "int64", n)
    crowd = _list(features, IS_CROWD, "int64", n)
    area = _list(features, AREA, "float", n)
    difficult = _list(features, DIFFICULT, "int64", n)
    truncated = _list(features, TRUNCATED, "int64", n)
    view = _list(features, VIEW, "bytes", n)
    mask_list = None
    mask_feature = features.get(MASK)
    if masks and mask_feature is not None and mask_feature[1] and n:
        if mask_feature[0] == "bytes":
            mask_list = _list(features, MASK, "bytes", n)
        elif mask_feature[0] == "float":
            if len(mask_feature[1]) != n * width * height:  # type: ignore[operator]
                raise FormatError(f"{MASK} has {len(mask_feature[1])} floats, "
                                 f"expected {n} x {height} x {width}")
            mask_list = mask_feature[1]
    extra_per_object: list[dict[str, Feature]] = [{} for _ in range(n)]
    extra: dict[str, Feature] = {}
    for key, feature in features.items():
        if key in KNOWN_KEYS or (key == MASK):
            continue
        values = feature[1]
        if n and key.startswith("image/object/") and values and len(values) % n == 0:
            k = len(values) // n
            for i in range(n):
                extra_per_object[i][key] = (feature[0], list(values[i * k:(i + 1) * k]))
        else:
            extra[key] = feature

    swapped = orientation in SWAPPING
    disp_w, disp_h = (height, width) if swapped else (width, height)
    objects = []
    xmin, xmax, ymin, ymax = (features[k][1] if n else [] for k in (XMIN, XMAX, YMIN, YMAX))
    for key, values in ((XMIN, xmin), (XMAX, xmax), (YMIN, ymin), (YMAX, ymax)):
        for i, v in enumerate(values):
            if not math.isfinite(v):
                raise FormatError(f"{key}[{i}] is {v}: a box coordinate must be a finite number")
    for i in range(n):
        x0, y0, x1, y1 = xmin[i], ymin[i], xmax[i], ymax[i]
        if orientation != 1:
            x0, y0, x1, y1 = to_displayed((x0, y0, x1, y1), orientation)
        ax0, ax1 = snap(x0, disp_w), snap(x1, disp_w)  # type: ignore[arg-type]
        ay0, ay1 = snap(y0, disp_h), snap(y1, disp_h)  # type: ignore[arg-type]
        mask = None
        if mask_list is not None:
            if mask_feature[0] == "bytes":  # type: ignore[index]
                try:
                    mask = decode_mask(mask_list[i], height, width)  # type: ignore[arg-type]
                except ValueError as exc:
                    raise FormatError(f"mask {i}: {exc}") from None
                except Exception as exc:  # Pillow's many errors on a corrupt PNG
                    raise FormatError(f"mask {i} is not a readable image ({exc})") from None
            else:
                import numpy as np

                size = width * height  # type: ignore[operator]
                flat = np.asarray(mask_list[i * size:(i + 1) * size], dtype=np.float32)
                mask = flat.reshape(height, width) > 0
            if orientation != 1:
                mask = array_to_displayed(mask, orientation)
        label_text = None
        if texts is not None:
            try:
                label_text = texts[i].decode("utf-8")
            except UnicodeDecodeError:
                raise FormatError(f"{CLASS_TEXT}[{i}] is not UTF-8") from None
        view_text = None
        if view is not None:
            try:
                view_text = view[i].decode("utf-8")
            except UnicodeDecodeError:
                raise FormatError(f"{VIEW}[{i}] is not UTF-8") from None
        objects.append(DecodedObject(
            label_text,
            labels[i] if labels is not None else None,
            (ax0, ay0, ax1 - ax0, ay1 - ay0),
            crowd[i] if crowd is not None else 0,
            area[i] if area is not None else None,
            difficult[i] if difficult is not None else None,
            truncated[i] if truncated is not None else None,
            view_text,
            mask,
            extra_per_object[i] or None,
        ))
    class_texts = features.get(IMAGE_CLASS_TEXT)
    class_labels = features.get(IMAGE_CLASS_LABEL)
    ct = class_texts[1] if class_texts is not None and class_texts[0] == "bytes" else []
    cl = class_labels[1] if class_labels is not None and class_labels[0] == "int64" else []
    if ct and cl and len(ct) != len(cl):
        raise FormatError(f"{IMAGE_CLASS_TEXT} has {len(ct)} values, {IMAGE_CLASS_LABEL} {len(cl)}")
    classes: list[tuple[str | None, int | None]] = []
    for i in range(max(len(ct), len(cl))):
        try:
            text = ct[i].decode("utf-8") if ct else None
        except UnicodeDecodeError:
            raise FormatError(f"{IMAGE_CLASS_TEXT}[{i}] is not UTF-8") from None
        classes.append((text, cl[i] if cl else None))
    return DecodedImage(
        _text(features.get(FILENAME), FILENAME),
        _text(features.get(SOURCE_ID), SOURCE_ID),
        disp_w if width else None,
        disp_h if height else None,
        data,
        _text(features.get(FORMAT), FORMAT),
        sha_ok,
        orientation,
        objects,
        classes,
        extra,
    )
