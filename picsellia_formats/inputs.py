"""Opening input files: one gate for every reader, so nothing but a regular file is ever read.

A FIFO blocks a reader forever, ``/dev/zero`` (or a link to it) never ends, a socket cannot be
read, a dangling link is a file the user thinks is there: each is refused by name, before any
byte is read, with a `FormatError`. The check is race-free: the file is opened without blocking
(``O_NONBLOCK``, so opening a FIFO returns at once), then `os.fstat` on the open descriptor decides;
a checked-then-swapped path cannot slip through.

Example:
    >>> import os, tempfile
    >>> fifo = os.path.join(tempfile.mkdtemp(), "a.json"); os.mkfifo(fifo)
    >>> read_input(fifo)
    Traceback (most recent call last):
    ...
    picsellia_formats.errors.FormatError: .../a.json: is a FIFO (named pipe), not a regular file; give a file
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from .errors import FormatError, ProblemCollector
from .model import Dataset

_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a folder"),
)
_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)


def kind_of(mode: int) -> str | None:
    """What a non-regular file is (None for a regular file)."""
    for test, what in _KINDS:
        if test(mode):
            return what
    return None if stat.S_ISREG(mode) else "not a regular file"


def not_regular(path: str | os.PathLike[str]) -> str | None:
    """Why `path` is not a readable regular file (following links), or None when it is one.

    Example:
        >>> not_regular("/dev/null")
        'is a character device, not a regular file'
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            return f"is a dangling symbolic link (to {os.readlink(path)!r})"
        return "no such file"
    except OSError as exc:
        return exc.strerror or str(exc)
    what = kind_of(st.st_mode)
    return None if what is None else f"is {what}, not a regular file"


def check_input(path: str | os.PathLike[str], *, folder_ok: bool = True) -> None:
    """Refuse, by name, a top-level input that is neither a regular file nor (if `folder_ok`) a folder."""
    if folder_ok and os.path.isdir(path):
        return
    why = not_regular(path)
    if why is not None and why != "no such file":
        raise FormatError(_why_text(why), file=path)


def _why_text(why: str) -> str:
    return why + ("; give a file" if "regular file" in why else "")


@contextlib.contextmanager
def open_input(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """Open an input file for binary reading; FormatError naming it unless it is a regular file.

    OSErrors other than "not a regular file" (missing file, no permission) are raised as they are,
    with the path in them (the CLI prints them as one line naming the file)."""
    with open_input_file(path) as f:
        yield f


def open_input_file(path: str | os.PathLike[str]) -> BinaryIO:
    """`open_input` as a plain call: the caller closes the file."""
    try:
        fd = os.open(path, _FLAGS)
    except FileNotFoundError:
        if os.path.islink(path):
            raise FormatError(_why_text(f"is a dangling symbolic link (to {os.readlink(path)!r})"),
                              file=path) from None
        raise
    try:
        what = kind_of(os.fstat(fd).st_mode)
        if what is not None:
            raise FormatError(f"is {what}, not a regular file; give a file", file=path)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return open(fd, "rb", closefd=True)  # type: ignore[return-value]
    except BaseException:
        os.close(fd)
        raise


def read_input(path: str | os.PathLike[str], limit: int | None = None) -> bytes:
    """The bytes of an input file (at most `limit`, if given), refusing anything but a regular file."""
    with open_input(path) as f:
        return f.read() if limit is None else f.read(limit)


def read_input_text(path: str | os.PathLike[str], encoding: str = "utf-8", errors: str = "strict") -> str:
    """The text of an input file (see `read_input`); UnicodeDecodeError as ``str.decode`` raises it."""
    return read_input(path).decode(encoding, errors)


def unreadable_entries(folder: str | os.PathLike[str], suffixes: tuple[str, ...]) -> list[tuple[Path, str]]:
    """Entries of `folder` named like an input (`suffixes`, lower case) that are not regular files:
    FIFOs, devices, dangling links. A reader listing a folder reports them instead of skipping them.

    Example:
        >>> unreadable_entries("fixtures/raccoon_voc/annotations", (".xml",))
        []
    """
    out = []
    with os.scandir(folder) as it:
        for e in it:
            if e.name.lower().endswith(suffixes) and not e.is_dir():
                why = not_regular(e.path)
                if why is not None:
                    out.append((Path(e.path), _why_text(why)))
    return sorted(out)


def text_problem(text: str) -> str | None:
    """Why a name read from a file cannot be used as a file name or written to any format (NUL: no file
    system or XML takes it; a lone surrogate: not Unicode), or None.

    Example:
        >>> text_problem("a\\x00b.jpg")
        'holds a NUL character (no file system or XML file can hold it)'
    """
    if "\x00" in text:
        return "holds a NUL character (no file system or XML file can hold it)"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "holds a lone surrogate (not valid Unicode: no file system or format can hold it)"
    return None


def check_names(dataset: Dataset, path: str | os.PathLike[str]) -> None:
    """FormatError naming `path` and each image file name or label name that `text_problem` refuses.

    Every reader's result passes here (`picsellia_formats.read`), so no writer meets such a name."""
    problems = ProblemCollector(path)
    for i, asset in enumerate(dataset.assets):
        why = text_problem(asset.file_name) if isinstance(asset.file_name, str) else None
        if why:
            problems.add(f"image {i} ({asset.file_name!r:.80})", f"file name {why}")
    for label in dataset.labels:
        why = text_problem(label.name) if isinstance(label.name, str) else None
        if why:
            problems.add(f"label {label.name!r:.80}", f"name {why}")
    used = {ann.label for asset in dataset.assets for ann in asset.annotations}  # each name checked once
    for name in sorted(n for n in used if isinstance(n, str) and text_problem(n)):
        where = next(a.file_name for a in dataset.assets if any(x.label == name for x in a.annotations))
        problems.add(f"image {where!r:.80}", f"label {name!r:.80} {text_problem(name)}")
    problems.raise_if_any()
