"""Crash-safe output: write to a temporary path beside the target, rename at the end.

Example:
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "out.json"
    >>> with atomic_file(target) as f:
    ...     _ = f.write(b"{}")
    >>> target.read_bytes()
    b'{}'
"""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Iterator
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import BinaryIO

from .errors import PicselliaFormatsError
from .outputs.temps import process_umask


def _umask() -> int:
    return process_umask()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary file path beside `path`; on success rename it onto `path`.

    On any exception (or SIGTERM) the temporary file is removed and `path` is left as it was. No
    refusal here: outputs a user names go through `picsellia_formats.outputs.output_file`.
    """
    from .outputs import output_file

    path = Path(path)
    if path.is_dir():
        raise PicselliaFormatsError(f"{path}: is a folder; give a file name")
    with output_file(path, check=False) as tmp:
        os.chmod(tmp, 0o666 & ~_umask())
        yield tmp


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """Open a temporary file beside `path` for binary writing; on success rename it onto `path`."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        yield f


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike[str], kind: str = "output", *, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary folder beside `path`; on success it replaces `path` whole (crash-safe swap,
    see `picsellia_formats.outputs`). With ``overwrite=False`` the output policy applies."""
    from .outputs import output_dir

    path = Path(path)
    if path.exists() and not path.is_dir():
        raise PicselliaFormatsError(f"{path}: exists and is not a folder")
    with output_dir(path, kind, overwrite=overwrite) as tmp:
        yield tmp


@contextlib.contextmanager
def staged_files(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary folder beside the folder `path`; on success its files are moved into
    `path` (created if needed; other files there are kept, same names replaced).

    On any exception nothing reaches `path`: a run that fails half-way adds no file at all.
    Outputs a user names are replaced whole instead (`picsellia_formats.outputs.output_dir`).
    """
    from .outputs import temps

    path = Path(path)
    if path.exists() and not path.is_dir():
        raise PicselliaFormatsError(f"{path}: exists and is not a folder")
    temps.clean_stale(path)
    tmp = temps.make_temp_dir(path, 0o777 & ~_umask())
    try:
        yield tmp
        if not path.exists():
            os.replace(tmp, path)
            return
        for staged in sorted(tmp.rglob("*")):
            if staged.is_file() or staged.is_symlink():
                target = path / staged.relative_to(tmp)
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(staged, target)
    finally:
        temps.release(tmp)


def safe_relative_path(name: str) -> Path:
    """A relative path from a name found in an annotation file or sent by the platform.

    Refuses absolute paths, drive letters, ``..`` components and empty names, so that joining
    the result to an output folder can never escape it.

    Example:
        >>> safe_relative_path("images/a.jpg").as_posix()
        'images/a.jpg'
        >>> safe_relative_path("../x.jpg")
        Traceback (most recent call last):
        ...
        ValueError: unsafe file name '../x.jpg': '..' is not allowed
    """
    if not name or name.strip() == "":
        raise ValueError("empty file name")
    if "\x00" in name:
        raise ValueError(f"unsafe file name {name!r}: NUL byte")
    win = PureWindowsPath(name)
    if win.drive or name.startswith(("/", "\\")):
        raise ValueError(f"unsafe file name {name!r}: absolute paths are not allowed")
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if ".." in parts:
        raise ValueError(f"unsafe file name {name!r}: '..' is not allowed")
    parts = tuple(p for p in parts if p not in ("", "."))
    if not parts:
        raise ValueError(f"unsafe file name {name!r}")
    return Path(*parts)


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many small objects (restored after).

    Bulk parsing creates millions of container objects that the collector would traverse again
    and again for nothing; pausing it is the largest single saving on big files.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            if gc.get_freeze_count() == 0:
                # Move what was built to the oldest generation without traversing it: otherwise the
                # first young collection after enable() walks every new object (a third of a reader's
                # time). unfreeze() does not count them as pending, and they stay collectable.
                gc.freeze()
                gc.unfreeze()
            gc.enable()
