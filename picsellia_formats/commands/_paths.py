"""Checks of the paths a command is given, made before anything is read or written.

A user mistake (an output that is a folder where a file is wanted, an output over or inside the
source, ``--images`` naming a file) is refused with one line naming the path, instead of an
``OSError`` half-way through or, worse, an output written over the input.

Example:
    >>> from pathlib import Path
    >>> check_file_output(Path("out/report.html"), sources=[Path("fixtures/picsellia_coco_det/annotations.json")])
    >>> check_file_output(Path("fixtures"))
    Traceback (most recent call last):
    ...
    picsellia_formats.errors.PicselliaFormatsError: fixtures: is a folder; give a file name
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterable
from pathlib import Path

from ..errors import PicselliaFormatsError
from ..outputs import check_dir, check_file, prepare


def _resolved(path: Path) -> Path:
    return path.expanduser().resolve()


def _under_a_file(path: Path) -> Path | None:
    """The nearest existing ancestor of `path` when it is a file (so `path` cannot be created)."""
    for parent in _resolved(path).parents:
        if parent.exists():
            return parent if not parent.is_dir() else None
    return None


def _sources(sources: Iterable[Path | None]) -> list[tuple[Path, Path]]:
    return [(s, _resolved(s)) for s in sources if s is not None and s.exists()]


def check_images(images: Path | None, flag: str = "--images") -> None:
    """`images`, when given, must be an existing folder."""
    if images is None:
        return
    if not images.exists():
        raise PicselliaFormatsError(f"{flag} {images}: no such folder")
    if not images.is_dir():
        raise PicselliaFormatsError(f"{flag} {images}: is a file, not a folder")


def _check_against_sources(out: Path, name: str, sources: Iterable[Path | None], into_sources: bool) -> None:
    """`out` is not under a file, not one of the sources, nor (`into_sources`) inside a source folder."""
    blocker = _under_a_file(out)
    if blocker is not None:
        raise PicselliaFormatsError(f"{name}: {blocker} is a file, not a folder")
    target = _resolved(out)
    for source, where in _sources(sources):
        if target == where:
            raise PicselliaFormatsError(f"{name}: would write over the source {source}; choose another output")
        if into_sources and source.is_dir() and where in target.parents:
            raise PicselliaFormatsError(f"{name}: would write into the source folder {source}; "
                                        "choose an output outside it")


def add_overwrite_argument(parser: argparse.ArgumentParser, what: str = "the output") -> None:
    """The ``--overwrite`` flag of every command that writes an output (the output policy)."""
    parser.add_argument("--overwrite", action="store_true",
                        help=f"replace {what} whole even if it is an existing file, or a non-empty folder "
                        "that is not a previous output of this command (refused otherwise)")


def check_file_output(out: Path, sources: Iterable[Path | None] = (), *, into_sources: bool = False,
                      flag: str = "", overwrite: bool | None = None) -> None:
    """A file to be written: not an existing folder, not under a file, not one of the sources (nor,
    with `into_sources`, inside a source folder); with `overwrite` given (the output policy), an
    existing non-empty file is refused unless it is True."""
    name = f"{flag} {out}" if flag else str(out)
    if out.is_dir():
        raise PicselliaFormatsError(f"{name}: is a folder; give a file name")
    _check_against_sources(out, name, sources, into_sources)
    if overwrite is not None:
        prepare(out)
        check_file(out, overwrite=overwrite)


def check_folder_output(out: Path, sources: Iterable[Path | None] = (), *, images: Path | None = None,
                        into_sources: bool = True, replaces: bool = False, flag: str = "",
                        kind: str | None = None, overwrite: bool = False) -> None:
    """A folder to be written: not an existing file, not under a file, not a source; with
    `into_sources`, not inside a source folder; with `replaces` (the folder is replaced whole), not
    holding a source or the images; never the images folder itself nor inside it. With `kind` (the
    output policy; implies `replaces`): a non-empty folder that is not a previous `kind` output of
    ours is refused unless `overwrite`."""
    if kind is not None:
        replaces = True
    name = f"{flag} {out}" if flag else str(out)
    if out.exists() and not out.is_dir():
        raise PicselliaFormatsError(f"{name}: exists and is not a folder")
    sources = list(sources)  # walked twice
    _check_against_sources(out, name, sources, into_sources)
    target = _resolved(out)
    for source, where in _sources(sources):
        if replaces and target in where.parents:
            raise PicselliaFormatsError(f"{name}: would be replaced, and it holds the source {source}; "
                                        "choose a new or empty folder")
    if images is not None and images.is_dir():
        where = _resolved(images)
        if target == where or where in target.parents:
            raise PicselliaFormatsError(f"{name}: would write into the images folder {images}; "
                                        "choose an output outside it")
        if replaces and target in where.parents:
            raise PicselliaFormatsError(f"{name}: would be replaced, and it holds the images {images}; "
                                        "choose a new or empty folder")
    if kind is not None:
        prepare(out)
        check_dir(out, kind, overwrite=overwrite)


def check_writable(out: Path, flag: str = "") -> None:
    """Refuse early (before a long download, say) when nothing can be created where `out` goes:
    a temporary file is made and removed in the nearest existing folder."""
    import tempfile

    folder = next((p for p in (_resolved(out), *_resolved(out).parents) if p.is_dir()), None)
    if folder is None:
        return
    try:
        fd, name = tempfile.mkstemp(prefix=".pf-probe.", dir=folder)
    except OSError as exc:
        name_ = f"{flag} {out}" if flag else str(out)
        raise PicselliaFormatsError(f"{name_}: cannot write in {folder} ({exc.strerror or exc})") from None
    os.close(fd)
    os.unlink(name)
