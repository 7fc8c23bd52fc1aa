"""One image <-> one OD API ``tf.train.Example`` feature map (the TfExampleDecoder's keys).

Writing goes through plain, picklable job tuples (`AssetJob`, `ObjectJob`) built from the model in
the main process; `encode_job` is a pure function of one job and read-only `EncodeOptions`, so a
local pool (or Ray/Dask) can run it. Reading is `decode`, the inverse.

Frames: the model's coordinates are in the *displayed* frame (after EXIF orientation); TensorFlow
decodes the *stored* pixels and ignores EXIF orientation, so boxes and masks are turned into the
stored frame on write (and back on read). When an image's annotated size is its stored size although
its EXIF orientation swaps the sides, the annotations were made on the stored pixels and are
written as they are.

Example:
    >>> job = AssetJob(0, "a.png", 4, 2, "1", [ObjectJob("cat", 1, (1.0, 0.0, 2.0, 2.0))], [], None)
    >>> features = job_features(job, b"", HeaderInfo("png", 4, 2, 1), EncodeOptions(()), {})
    >>> features["image/object/bbox/xmin"], features["image/object/bbox/xmax"]
    (('float', [0.25]), ('float', [0.75]))
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from typing import Any, NamedTuple

from ...errors import FormatError
from ...image_header import SWAPPING, HeaderInfo, ImageTooLargeError, array_to_stored, check_pixels, to_stored
from ...image_header import read_header as sniff
from .example import Feature, add_entry, encode_example, entry_prefix, finish
from .keys import (
    AREA,
    CLASS_LABEL,
    CLASS_TEXT,
    DECODABLE,
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
from .sources import BROKEN, MISSING, TOO_LARGE, EmbeddedImages, FolderImages, decode_problem

_PREFIX = {key: entry_prefix(key) for key in KNOWN_KEYS}
#: the most pixels a mask may have whatever the pixel limit (pycocotools counts them in 32 bits)
MASK_PIXEL_CAP = 1 << 31



class ObjectJob(NamedTuple):
    """One object, absolute coordinates in the annotated frame. ``segm`` is None,
    ``("polygon", parts)`` or ``("rle", height, width, counts)``; ``extra`` per-object features."""

    text: str
    label: int
    box: tuple[float, float, float, float]
    iscrowd: int = 0
    area: float = 0.0
    difficult: int = 0
    truncated: int = 0
    view: str = ""
    segm: tuple[Any, ...] | None = None
    extra: dict[str, Feature] | None = None


class AssetJob(NamedTuple):
    """Everything needed to encode one image; ``classes`` are image-level ``(text, label)``."""

    index: int
    file_name: str
    width: int | None
    height: int | None
    source_id: str
    objects: list[ObjectJob]
    classes: list[tuple[str, int]]
    extra: dict[str, Feature] | None
    split: str | None = None  # the asset's split tag: a hint for the image index


class EncodeOptions(NamedTuple):
    """Read-only context of `encode_job` (picklable). `images`: where the bytes come from (an
    empty tuple: nowhere); `max_pixels`: the header pixel limit (-1: Pillow's, None: none)."""

    images: FolderImages | EmbeddedImages | tuple[()]
    masks: bool = False
    pascal_fields: bool = False  # write truncated and view (when the data set has them)
    image_classes: bool = False  # write image/class/* on every record (classification data sets)
    check_decode: str = "fast"  # `decode_problem` on every image before it is packed: fast, full or none
    max_pixels: int | None = -1


class Encoded(NamedTuple):
    """The serialised Example of one job, or the problem that stopped it (`where`: the image file
    it concerns, when one was found); counters for the report."""

    index: int
    data: bytes | None
    problem: str | None
    counts: dict[str, int]
    where: str | None = None


def encode_job(job: AssetJob, options: EncodeOptions) -> Encoded:
    """Read one image, check it, and build its serialised Example (a pure function of its arguments).

    The problem of an image that cannot be packed starts with `MISSING`, `BROKEN` or `TOO_LARGE`
    (what `write_tfrecords` may skip), or is another reason (unsafe name, unreadable file).
    """
    counts: dict[str, int] = {}
    source = options.images
    if not source:
        return Encoded(job.index, None, MISSING, counts)
    try:
        found = source.fetch(job.file_name, job.source_id, job.split)
    except FormatError as exc:
        return Encoded(job.index, None, exc.message, counts)
    except OSError as exc:
        return Encoded(job.index, None, f"cannot read the image: {exc.strerror or exc}", counts)
    if found is None:
        return Encoded(job.index, None, MISSING, counts)
    where, data = found
    try:
        info = sniff(data, max_pixels=options.max_pixels)
    except ImageTooLargeError as exc:
        return Encoded(job.index, None, f"{TOO_LARGE}: {exc.message}", counts, where)
    if info is None:
        return Encoded(job.index, None, f"{BROKEN}: not a readable image", counts, where)
    if options.check_decode != "none":
        problem = decode_problem(data, info, options.check_decode)
        if problem is not None:
            return Encoded(job.index, None, f"{BROKEN}: {problem}", counts, where)
    try:
        return Encoded(job.index, encode_record(job, data, info, options, counts), None, counts)
    except ImageTooLargeError as exc:
        return Encoded(job.index, None, f"{TOO_LARGE}: {exc.message}", counts, where)
    except ValueError as exc:
        return Encoded(job.index, None, exc.message if isinstance(exc, FormatError) else str(exc), counts, where)


def _bump(counts: dict[str, int], key: str, n: int = 1) -> None:
    counts[key] = counts.get(key, 0) + n


def _frame(job: AssetJob, info: HeaderInfo, counts: dict[str, int]) -> tuple[int, int, int]:
    """``(orientation to undo, frame width, frame height)``: the frame the annotations live in."""
    disp_w, disp_h = info.displayed_size
    orientation = info.orientation
    if job.width is None or job.height is None:
        frame_w, frame_h = disp_w, disp_h
    else:
        frame_w, frame_h = job.width, job.height
        if orientation in SWAPPING and (frame_w, frame_h) == (info.width, info.height) != (disp_w, disp_h):
            orientation = 1  # annotated on the stored pixels
            _bump(counts, "exif_ignored")
        elif (frame_w, frame_h) != (disp_w, disp_h):
            _bump(counts, "size_mismatch")
    if orientation != 1:
        _bump(counts, "exif_rotated")
    if info.format not in DECODABLE:
        _bump(counts, f"format:{info.format}")
    if frame_w <= 0 or frame_h <= 0:
        if job.objects:
            raise FormatError(f"image size {frame_w}x{frame_h} cannot normalise boxes")
        frame_w = frame_h = 1
    return orientation, frame_w, frame_h


def _normalised(objects: list[ObjectJob], frame_w: int, frame_h: int, orientation: int,
                counts: dict[str, int]) -> tuple[list[float], list[float], list[float], list[float]]:
    """Normalised, clamped box corners in the stored frame: (xmin, xmax, ymin, ymax)."""
    xmin: list[float] = []
    xmax: list[float] = []
    ymin: list[float] = []
    ymax: list[float] = []
    clamped = degenerate = 0
    for obj in objects:
        x, y, w, h = obj.box
        x0, y0, x1, y1 = x / frame_w, y / frame_h, (x + w) / frame_w, (y + h) / frame_h
        if not (0.0 <= x0 <= 1.0 and 0.0 <= x1 <= 1.0 and 0.0 <= y0 <= 1.0 and 0.0 <= y1 <= 1.0):
            if not (x0 == x0 and x1 == x1 and y0 == y0 and y1 == y1):  # NaN
                raise FormatError(f"object {obj.text!r} has a non-finite box {obj.box}")
            x0, x1 = min(max(x0, 0.0), 1.0), min(max(x1, 0.0), 1.0)
            y0, y1 = min(max(y0, 0.0), 1.0), min(max(y1, 0.0), 1.0)
            clamped += 1
        if x1 <= x0 or y1 <= y0:
            degenerate += 1
        if orientation != 1:
            x0, y0, x1, y1 = to_stored((x0, y0, x1, y1), orientation)
        xmin.append(x0)
        xmax.append(x1)
        ymin.append(y0)
        ymax.append(y1)
    if clamped:
        _bump(counts, "clamped", clamped)
    if degenerate:
        _bump(counts, "degenerate", degenerate)
    return xmin, xmax, ymin, ymax


_ENTRY_CACHE: dict[tuple[str, tuple[Any, ...]], bytes] = {}


def _cached_entry(key: str, kind: str, values: tuple[Any, ...]) -> bytes:
    """The serialised map entry of a value that repeats across records (format, size, flags)."""
    entry = _ENTRY_CACHE.get((key, values))
    if entry is None:
        pieces: list[bytes] = []
        add_entry(pieces, _PREFIX[key], kind, values)
        entry = b"".join(pieces)
        if len(_ENTRY_CACHE) < 16384:
            _ENTRY_CACHE[(key, values)] = entry
    return entry


def encode_record(job: AssetJob, data: bytes, info: HeaderInfo, options: EncodeOptions,
                  counts: dict[str, int]) -> bytes:
    """The serialised Example of one image: `encode_example(job_features(...))`, written directly
    in the keys' fixed order when no extra feature is carried (the hot path)."""
    if job.extra or any(o.extra for o in job.objects):
        return encode_example(job_features(job, data, info, options, counts))
    orientation, frame_w, frame_h = _frame(job, info, counts)
    objects = job.objects
    xmin, xmax, ymin, ymax = _normalised(objects, frame_w, frame_h, orientation, counts)
    pieces: list[bytes] = []
    n = 0
    P = _PREFIX
    if options.image_classes or job.classes:
        n += add_entry(pieces, P[IMAGE_CLASS_LABEL], "int64", [i for _, i in job.classes])
        n += add_entry(pieces, P[IMAGE_CLASS_TEXT], "bytes", [t.encode("utf-8") for t, _ in job.classes])
    n += add_entry(pieces, P[ENCODED], "bytes", (data,))
    n += add_entry(pieces, P[FILENAME], "bytes", (job.file_name.encode("utf-8"),))
    for entry in (_cached_entry(FORMAT, "bytes", (info.format.encode("ascii"),)),
                  _cached_entry(HEIGHT, "int64", (info.height,))):
        pieces.append(entry)
        n += len(entry)
    n += add_entry(pieces, P[SHA256], "bytes", (hashlib.sha256(data).hexdigest().encode("ascii"),))
    n += add_entry(pieces, P[AREA], "float", [o.area for o in objects])
    n += add_entry(pieces, P[XMAX], "float", xmax)
    n += add_entry(pieces, P[XMIN], "float", xmin)
    n += add_entry(pieces, P[YMAX], "float", ymax)
    n += add_entry(pieces, P[YMIN], "float", ymin)
    n += add_entry(pieces, P[CLASS_LABEL], "int64", [o.label for o in objects])
    n += add_entry(pieces, P[CLASS_TEXT], "bytes", [o.text.encode("utf-8") for o in objects])
    for entry in (_cached_entry(DIFFICULT, "int64", tuple([o.difficult for o in objects])),
                  _cached_entry(IS_CROWD, "int64", tuple([o.iscrowd for o in objects]))):
        pieces.append(entry)
        n += len(entry)
    if options.masks:
        n += add_entry(pieces, P[MASK], "bytes", _mask_pngs(objects, frame_w, frame_h, info, orientation, counts,
                                               options.max_pixels))
    if options.pascal_fields:
        entry = _cached_entry(TRUNCATED, "int64", tuple([o.truncated for o in objects]))
        pieces.append(entry)
        n += len(entry)
        n += add_entry(pieces, P[VIEW], "bytes", [o.view.encode("utf-8") for o in objects])
    n += add_entry(pieces, P[SOURCE_ID], "bytes", (job.source_id.encode("utf-8"),))
    entry = _cached_entry(WIDTH, "int64", (info.width,))
    pieces.append(entry)
    n += len(entry)
    return finish(pieces, n)


def job_features(job: AssetJob, data: bytes, info: HeaderInfo, options: EncodeOptions,
                 counts: dict[str, int]) -> dict[str, Feature]:
    """The feature map of one image, given its bytes and header; updates `counts`."""
    orientation, frame_w, frame_h = _frame(job, info, counts)
    xmin, xmax, ymin, ymax = _normalised(job.objects, frame_w, frame_h, orientation, counts)

    objects = job.objects
    features: dict[str, Feature] = {
        ENCODED: ("bytes", [data]),
        FORMAT: ("bytes", [info.format.encode("ascii")]),
        HEIGHT: ("int64", [info.height]),
        WIDTH: ("int64", [info.width]),
        FILENAME: ("bytes", [job.file_name.encode("utf-8")]),
        SOURCE_ID: ("bytes", [job.source_id.encode("utf-8")]),
        SHA256: ("bytes", [hashlib.sha256(data).hexdigest().encode("ascii")]),
        XMIN: ("float", xmin),
        XMAX: ("float", xmax),
        YMIN: ("float", ymin),
        YMAX: ("float", ymax),
        CLASS_TEXT: ("bytes", [o.text.encode("utf-8") for o in objects]),
        CLASS_LABEL: ("int64", [o.label for o in objects]),
        IS_CROWD: ("int64", [o.iscrowd for o in objects]),
        AREA: ("float", [o.area for o in objects]),
        DIFFICULT: ("int64", [o.difficult for o in objects]),
    }
    if options.pascal_fields:
        features[TRUNCATED] = ("int64", [o.truncated for o in objects])
        features[VIEW] = ("bytes", [o.view.encode("utf-8") for o in objects])
    if options.masks:
        features[MASK] = ("bytes", _mask_pngs(objects, frame_w, frame_h, info, orientation, counts,
                                               options.max_pixels))
    if options.image_classes or job.classes:
        features[IMAGE_CLASS_TEXT] = ("bytes", [t.encode("utf-8") for t, _ in job.classes])
        features[IMAGE_CLASS_LABEL] = ("int64", [i for _, i in job.classes])
    if job.extra:
        for key, value in job.extra.items():
            features.setdefault(key, value)
    per_object: dict[str, list[Any]] = {}
    for i, obj in enumerate(objects):
        if obj.extra:
            for key, (kind, values) in obj.extra.items():
                if key in features:
                    continue
                slot = per_object.setdefault(key, [kind, [], 0])
                if slot[2] == i and slot[0] == kind:
                    slot[1].extend(values)
                    slot[2] += 1
    for key, (kind, values, n) in per_object.items():
        if n == len(objects):
            features[key] = (kind, values)
        else:
            _bump(counts, f"partial:{key}")
    return features


# ------------------------------------------------------------------------------------------- masks


def png_mask(array: Any) -> bytes:
    """A single-channel 1-bit PNG of a 2-D array (non-zero = foreground): what the OD API's
    PNG_MASKS decode (``decode_image(channels=1) > 0``; libpng expands the bits to 0/255).

    Example:
        >>> import numpy as np, io
        >>> from PIL import Image
        >>> data = png_mask(np.array([[0, 1, 1], [1, 0, 0]], dtype=np.uint8))
        >>> Image.open(io.BytesIO(data)).mode, np.asarray(Image.open(io.BytesIO(data))).astype(int).tolist()
        ('1', [[0, 1, 1], [1, 0, 0]])
    """
    import numpy as np

    h, w = array.shape
    # 8 zero bits ahead of each row's bits: once packed, the row's filter byte (0, "None")
    rows = np.zeros((h, 8 + ((w + 7) // 8) * 8), dtype=np.uint8)
    rows[:, 8:8 + w] = array != 0
    idat = zlib.compress(np.packbits(rows).tobytes(), 6)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


def _mask_pngs(objects: list[ObjectJob], frame_w: int, frame_h: int, info: HeaderInfo, orientation: int,
               counts: dict[str, int], max_pixels: int | None = -1) -> list[bytes]:
    import numpy as np

    from ...masks import box_to_rle, polygon_to_mask, rle_to_mask
    from ...model import Mask

    # the displayed frame's size of the real image (stored when annotations ignore EXIF)
    if orientation in SWAPPING:
        real_w, real_h = info.height, info.width
    else:
        real_w, real_h = info.width, info.height
    if real_w * real_h >= MASK_PIXEL_CAP:  # pycocotools' sizes are 32-bit: never let it overflow
        raise ImageTooLargeError(f"the image is {real_w}×{real_h}: too large to rasterise a mask "
                                 f"({MASK_PIXEL_CAP:,} pixels at most)")
    sx, sy = real_w / frame_w, real_h / frame_h
    out = []
    for obj in objects:
        segm = obj.segm
        if segm is None:
            x, y, w, h = obj.box
            array = rle_to_mask(box_to_rle((x * sx, y * sy, w * sx, h * sy), real_h, real_w))
            _bump(counts, "box_masks")
        elif segm[0] == "polygon":
            parts = segm[1]
            if sx != 1.0 or sy != 1.0:
                parts = [[v * (sx if k % 2 == 0 else sy) for k, v in enumerate(p)] for p in parts]
            array = polygon_to_mask(parts, real_h, real_w)
        else:
            _, mh, mw, mcounts = segm
            check_pixels(mw, mh, max_pixels=max_pixels)  # an RLE's size, before it is allocated
            if mw * mh >= MASK_PIXEL_CAP:
                raise ImageTooLargeError(f"a mask is {mw}×{mh}: too large to rasterise")
            array = rle_to_mask(Mask(mh, mw, mcounts))
            if (mh, mw) != (real_h, real_w):
                from PIL import Image

                array = np.asarray(Image.fromarray(array).resize((real_w, real_h), Image.NEAREST))
                _bump(counts, "mask_resized")
        if orientation != 1:
            array = array_to_stored(array, orientation)
        out.append(png_mask(array))
    return out
