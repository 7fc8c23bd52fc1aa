"""data.yaml, class-name files and the label-row sniffing shared by the YOLO reader and detector.

Example:
    >>> names_from_yaml({"names": {0: "cat", 1: "dog"}, "nc": 2}, Path("data.yaml"))
    {0: 'cat', 1: 'dog'}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...errors import FormatError
from .rows import parse_floats

#: Files that list class names, one per line, in the order they are looked for.
NAME_FILES = ("classes.txt", "obj.names")
#: data.yaml file names looked for in a dataset folder (then any *.yaml with ``names``).
YAML_FILES = ("data.yaml", "data.yml", "dataset.yaml", "dataset.yml")
#: data.yaml keys that name image sets, in the order they are read.
SPLIT_KEYS = ("train", "val", "test")
#: Written beside labels/ for images not copied: their names and sizes, so the folder reads back.
SIZES_FILE = "image_sizes.json"
YAML_KNOWN = frozenset(("path", "train", "val", "test", "nc", "names", "kpt_shape", "flip_idx"))
#: Largest gap allowed in a names mapping's indexes (memory stays bounded by the names listed).
MAX_INDEX_GAP = 10000
MAX_KEYPOINTS = 10000

# ------------------------------------------------------------------------------------ class names


def load_yaml(path: Path) -> dict[str, Any]:
    """data.yaml as a dict; scalars under ``names`` stay strings (``no``, ``on``, ``1e3`` are names)."""
    import yaml  # PyYAML loads with the first data.yaml: the CLI start and other formats do not pay for it

    try:
        text = path.read_text(encoding="utf-8-sig")
        data = yaml.safe_load(text)
        raw = yaml.load(text, Loader=yaml.BaseLoader)  # names as plain strings
    except OSError as exc:
        raise FormatError(f"cannot read: {exc.strerror or exc}", file=path) from None
    except ValueError as exc:  # an integer of over 4,300 digits: PyYAML's int() refuses it
        if isinstance(exc, UnicodeDecodeError):
            raise FormatError(f"not valid UTF-8 YAML: {exc.reason}", file=path) from None
        raise FormatError("a number too long to be a YOLO value (over 4,300 digits)", file=path) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else None
        raise FormatError(f"not valid YAML: {getattr(exc, 'problem', None) or exc}", file=path,
                          record=where) from None
    if not isinstance(data, dict) or not isinstance(raw, dict):
        raise FormatError("expected a YAML mapping (names, train, val, ...)", file=path)
    if "names" in raw:
        data["names"] = raw["names"]
    return data


def names_from_yaml(data: dict[str, Any], path: Path) -> dict[int, str]:
    names = data.get("names")
    out: dict[int, str] = {}
    if isinstance(names, list):
        for i, n in enumerate(names):
            if not isinstance(n, str):
                raise FormatError(f"names[{i}] must be a string, got {n!r}", file=path, record="names")
            out[i] = n
    elif isinstance(names, dict):
        for k, n in names.items():
            try:
                idx = int(k)
            except (TypeError, ValueError):
                raise FormatError(f"names keys must be class indexes, got {k!r}", file=path,
                                  record="names") from None
            if idx < 0 or not isinstance(n, str):
                raise FormatError(f"names[{k}] must be a string at an index >= 0, got {n!r}", file=path,
                                  record="names")
            out[idx] = n
    else:
        raise FormatError(f"names must be a list or a mapping of index -> name, got {type(names).__name__}",
                          file=path, record="names")
    if out and max(out) >= len(out) + MAX_INDEX_GAP:
        raise FormatError(f"names index {max(out)} is beyond the {len(out)} names listed (gaps of more than "
                          f"{MAX_INDEX_GAP} indexes are refused)", file=path, record="names")
    nc = data.get("nc")
    if nc is not None:
        nc_int = _integer(nc)
        if nc_int is None:
            raise FormatError(f"nc must be an integer, got {nc!r}", file=path, record="nc")
        if nc_int != len(out):
            raise FormatError(f"nc is {nc_int} but names lists {len(out)} classes", file=path, record="nc")
    return out


def _integer(value: Any) -> int | None:
    """`value` as an int when it is one (``3``, ``3.0``, ``"3"``), else None (``.inf``, ``nan``, ``1.5``)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return int(f) if f == f and f not in (float("inf"), float("-inf")) and f.is_integer() else None


def pose_keys(data: dict[str, Any], path: Path) -> tuple[tuple[int, int] | None, list[int] | None]:
    """``kpt_shape`` as ``(N, D)`` (D is 2 or 3) and ``flip_idx`` (a permutation of N), checked."""
    raw = data.get("kpt_shape")
    if raw is None:
        if data.get("flip_idx") is not None:
            raise FormatError("flip_idx without kpt_shape", file=path, record="flip_idx")
        return None, None
    shape = [_integer(v) for v in raw] if isinstance(raw, list) else []
    if len(shape) != 2 or shape[0] is None or shape[1] not in (2, 3) or not 1 <= shape[0] <= MAX_KEYPOINTS:
        raise FormatError(f"kpt_shape must be [N, 2] or [N, 3] with 1 <= N <= {MAX_KEYPOINTS}, got {raw!r}",
                          file=path, record="kpt_shape")
    n, d = shape[0], shape[1]
    flip = data.get("flip_idx")
    if flip is None:
        return (n, d), None
    ints = [_integer(v) for v in flip] if isinstance(flip, list) else []
    if len(ints) != n or sorted(i for i in ints if i is not None) != list(range(n)):
        raise FormatError(f"flip_idx must list each of the {n} keypoint indexes once, got {flip!r}", file=path,
                          record="flip_idx")
    return (n, d), ints  # type: ignore[return-value]


def names_from_file(path: Path) -> dict[int, str]:
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except OSError as exc:
        raise FormatError(f"cannot read: {exc.strerror or exc}", file=path) from None
    except UnicodeDecodeError as exc:
        raise FormatError(f"not UTF-8 text: {exc.reason} at byte {exc.start}", file=path) from None
    names = [line.strip() for line in lines]
    while names and not names[-1]:
        names.pop()
    for i, n in enumerate(names):
        if not n:
            raise FormatError("empty class name", file=path, record=f"line {i + 1}")
    return dict(enumerate(names))


def find_yaml(root: Path) -> Path | None:
    for name in YAML_FILES:
        p = root / name
        if p.is_file():
            return p
    for p in sorted(root.glob("*.y*ml")):
        if p.suffix.lower() in (".yaml", ".yml") and p.is_file():
            try:
                with open(p, encoding="utf-8", errors="replace") as f:
                    head = f.read(1 << 16)
            except OSError:
                continue
            if "\nnames:" in "\n" + head:
                return p
    return None


def find_names_file(root: Path) -> Path | None:
    for folder in (root, root / "labels", root / "data"):
        for name in NAME_FILES:
            p = folder / name
            if p.is_file():
                return p
    return None


def looks_like_labels(path: Path) -> bool:
    """Whether the first non-empty line of a .txt file is a numeric YOLO row (class index, >= 4 values)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for _ in range(50):
                line = f.readline()
                if not line:
                    return False
                parts = line.split()
                if parts:
                    return len(parts) >= 5 and parts[0].isdigit() and parse_floats(line) is not None
    except OSError:
        return False
    return False
