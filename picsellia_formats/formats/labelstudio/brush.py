"""Label Studio's brush RLE (thi-ng ``rle-pack``, as label-studio-converter's ``brush.py`` decodes it).

The stream is a bit string: 32 bits value count, 5 bits word size - 1, four 4-bit run-size classes
- 1, then chunks: a flag bit (1 = one value repeated, 0 = literal values), a 2-bit size class, the
count - 1 in that many bits, then the value(s) in word-size bits. The values are an RGBA image,
row-major; the mask is the alpha channel (non-zero = foreground).

Example:
    >>> import numpy as np
    >>> a = np.array([[0, 1, 1], [0, 0, 1]], dtype=np.uint8)
    >>> bool((decode_mask(encode_mask(a), 3, 2) == a).all())
    True
"""

from __future__ import annotations

from typing import Any

_SIZES = (3, 4, 8, 16)


class _Bits:
    def __init__(self, data: bytes) -> None:
        self.value = int.from_bytes(data, "big")
        self.left = len(data) * 8

    def read(self, n: int) -> int:
        if n > self.left:
            raise ValueError("brush rle ends early")
        self.left -= n
        return (self.value >> self.left) & ((1 << n) - 1)


def decode_values(rle: list[int]) -> Any:
    """The flat value array of a brush rle; ValueError on a malformed stream."""
    import numpy as np  # imported on use: the CLI start loads no numpy

    try:
        data = bytes(rle)
    except (TypeError, ValueError):
        raise ValueError("brush rle must be a list of bytes (0..255)") from None
    bits = _Bits(data)
    num = bits.read(32)
    word = bits.read(5) + 1
    sizes = [bits.read(4) + 1 for _ in range(4)]
    if word > 8:
        raise ValueError(f"brush rle word size {word} is not supported (8-bit RGBA expected)")
    if num > (1 << 31):
        raise ValueError(f"brush rle declares {num} values")
    out = np.zeros(num, dtype=np.uint8)
    i = 0
    while i < num:
        repeat = bits.read(1)
        j = i + 1 + bits.read(sizes[bits.read(2)])
        if j > num:
            raise ValueError("brush rle run goes past the declared length")
        if repeat:
            out[i:j] = bits.read(word)
            i = j
        else:
            while i < j:
                out[i] = bits.read(word)
                i += 1
    return out


def decode_mask(rle: list[int], width: int, height: int) -> Any:
    """The ``(height, width)`` 0/1 mask of a brush rle (its alpha channel)."""
    values = decode_values(rle)
    if values.size != width * height * 4:
        raise ValueError(f"brush rle holds {values.size} values, expected width*height*4 = {width * height * 4}")
    return (values.reshape(height, width, 4)[:, :, 3] != 0).astype(values.dtype)


def encode_mask(mask: Any) -> list[int]:
    """The brush rle of a 0/1 mask: RGBA with every channel 255 on the foreground, 0 elsewhere."""
    import numpy as np

    flat = np.repeat((np.asarray(mask).reshape(-1) != 0).astype(np.uint8) * 255, 4)
    n = flat.size
    chunks = [f"{n:032b}", f"{8 - 1:05b}", "".join(f"{s - 1:04b}" for s in _SIZES)]
    if n:
        change = np.flatnonzero(np.diff(flat)) + 1
        starts = np.concatenate(([0], change))
        lengths = np.diff(np.concatenate((starts, [n])))
        for start, length in zip(starts.tolist(), lengths.tolist()):
            value = f"{int(flat[start]):08b}"
            while length:
                take = min(length, 1 << 16)
                cls = next(k for k, s in enumerate(_SIZES) if take <= 1 << s)
                chunks.append(f"1{cls:02b}{take - 1:0{_SIZES[cls]}b}{value}")
                length -= take
    bits = "".join(chunks)
    bits += "0" * (-len(bits) % 8)
    return list(int(bits, 2).to_bytes(len(bits) // 8, "big")) if bits else []
