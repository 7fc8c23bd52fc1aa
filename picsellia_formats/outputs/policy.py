"""The one output policy of every command and of the library.

- A folder output: a missing or empty folder is written; a folder that is a previous output of the
  same kind (its marker matches its files) is replaced whole (no stale file survives); any other
  non-empty folder is refused with `OutputExistsError` unless ``overwrite`` (then replaced whole).
- A file output: a missing or empty file is written; an existing non-empty file is refused unless
  ``overwrite``, even one we wrote (a file cannot carry our marker, and a sidecar would litter);
  a file already holding exactly the bytes to be written is accepted (``same_bytes``).
- A set of files (TFRecord shards): refused when any file of the set exists, unless ``overwrite``;
  then the whole previous set (any shard count) is replaced.
- Every replacement is atomic (`swap`), temporary paths are removed on SIGTERM/SIGINT and, when a
  run was killed, by the next run of the same output (`temps`).

Example:
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "out"
    >>> with output_dir(out, "demo") as tmp:
    ...     _ = (tmp / "a.txt").write_text("1")
    >>> with output_dir(out, "demo") as tmp:  # our own previous output: replaced whole
    ...     _ = (tmp / "b.txt").write_text("2")
    >>> sorted(p.name for p in out.iterdir())
    ['.picsellia-formats.json', 'b.txt']
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from ..errors import OutputExistsError, PicselliaFormatsError
from . import swap, temps
from .manifest import is_intact, read_marker, write_marker

HINT = "use --overwrite (overwrite=True) to replace it, or choose a new or empty folder"


def _umask() -> int:
    return temps.process_umask()


def prepare(target: str | os.PathLike[str], matches: Callable[[str], bool] | None = None) -> None:
    """Before writing `target`: finish a swap a killed run left, remove its stale temporary paths."""
    target = Path(target)
    swap.recover(target)
    temps.clean_stale(target, matches)


def check_dir(path: str | os.PathLike[str], kind: str, *, overwrite: bool = False) -> None:
    """Refuse to replace `path` unless it is missing, empty, our previous `kind` output, or `overwrite`."""
    path = Path(path)
    if os.path.lexists(path) and not path.is_dir():
        raise PicselliaFormatsError(f"{path}: exists and is not a folder")
    if not path.exists():
        return
    _refuse_precious(path)
    if overwrite or not any(path.iterdir()):
        return
    marker = read_marker(path)
    if marker is None:
        raise OutputExistsError(f"{path}: is not empty and is not an output of picsellia-formats; it would be "
                                f"replaced whole: {HINT}")
    if marker["kind"] != kind:
        raise OutputExistsError(f"{path}: is a previous {marker['kind']} output, not a {kind} one; {HINT}")
    if not is_intact(path, marker):
        raise OutputExistsError(f"{path}: files were added, removed or resized since picsellia-formats wrote it; "
                                f"it would be replaced whole: {HINT}")


def _refuse_precious(path: Path) -> None:
    """Never replace the working folder, one of its parents, the home folder or a root, even with
    overwrite (``convert x.json . --to yolo --overwrite`` would swap the working folder away)."""
    where = path.resolve()
    cwd = Path.cwd().resolve()
    if where == cwd or where in cwd.parents or where == Path.home().resolve() or where.parent == where:
        raise PicselliaFormatsError(f"{path}: is the working folder, one of its parents, the home folder or a root; "
                                    "an output folder is replaced whole: choose a new folder")


def check_file(path: str | os.PathLike[str], *, overwrite: bool = False, same_bytes: bytes | None = None) -> None:
    """Refuse to replace the file `path` unless it is missing, empty, or `overwrite` (or it already
    holds exactly `same_bytes`)."""
    path = Path(path)
    if path.is_dir():
        raise PicselliaFormatsError(f"{path}: is a folder; give a file name")
    if overwrite or not os.path.lexists(path):
        return
    try:
        size = path.stat().st_size
    except OSError:
        size = 1  # a dangling link: something is there
    if size == 0:
        return
    if same_bytes is not None and size == len(same_bytes):
        with contextlib.suppress(OSError):
            if path.read_bytes() == same_bytes:
                return
    raise OutputExistsError(f"{path}: exists; use --overwrite (overwrite=True) to replace it, or choose another name")


@contextlib.contextmanager
def output_dir(path: str | os.PathLike[str], kind: str, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary folder beside `path`; on success it becomes `path`, replacing it whole.

    Refused up front (and again just before the swap) by `check_dir`. On any exception, or SIGTERM,
    the temporary folder is removed and `path` is untouched.
    """
    path = Path(path)
    prepare(path)
    check_dir(path, kind, overwrite=overwrite)
    stage = temps.make_temp_dir(path, 0o777 & ~_umask())
    try:
        yield stage
        write_marker(stage, kind)
        check_dir(path, kind, overwrite=overwrite)  # nothing foreign arrived while we worked
        swap.replace_dir(stage, path)
    finally:
        temps.release(stage)


@contextlib.contextmanager
def output_file(path: str | os.PathLike[str], *, overwrite: bool = False, check: bool = True) -> Iterator[Path]:
    """Yield a temporary file path beside `path`; on success it is renamed onto `path`.

    With `check`, an existing non-empty `path` is refused unless `overwrite` (`check_file`).
    """
    path = Path(path)
    if path.is_dir():
        raise PicselliaFormatsError(f"{path}: is a folder; give a file name")
    path.parent.mkdir(parents=True, exist_ok=True)
    prepare(path)
    if check:
        check_file(path, overwrite=overwrite)
    tmp = temps.new_temp_path(path)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o666)
        os.close(fd)
        yield tmp
        with temps.signals_deferred():
            os.replace(tmp, path)
    finally:
        temps.release(tmp)


_SHARD = r"(?:-\d{5}-of-\d{5})?"


def file_set_matcher(prefix: str | os.PathLike[str], any_split: bool = False) -> Callable[[str], bool]:
    """Names of the files of the set at `prefix`: the prefix and its shards (``-00000-of-00004``);
    with `any_split`, also the per-split sets (``data-train.record``...)."""
    name = Path(prefix).name
    patterns = [re.escape(name) + _SHARD]
    if any_split:
        for suffix in (".tfrecord", ".record", ".tfrecords", ".records", ""):
            if name.endswith(suffix) and len(name) > len(suffix):
                stem = name[:len(name) - len(suffix)]
                patterns.append(re.escape(stem) + r"-[^/]+" + re.escape(suffix) + _SHARD)
                break
    pattern = re.compile("^(?:" + "|".join(patterns) + ")$")
    return lambda candidate: bool(pattern.match(candidate))


def existing_set(prefix: str | os.PathLike[str], any_split: bool = False) -> list[Path]:
    """The existing files of the set at `prefix` (see `file_set_matcher`), sorted."""
    prefix = Path(prefix)
    matches = file_set_matcher(prefix, any_split)
    try:
        return sorted(Path(e.path) for e in os.scandir(prefix.parent) if matches(e.name)
                      and not e.is_dir(follow_symlinks=False))
    except OSError:
        return []


def check_file_set(prefix: str | os.PathLike[str], *, overwrite: bool = False, any_split: bool = False) -> None:
    """Refuse when a file of the set at `prefix` exists, unless `overwrite` (after `prepare`)."""
    prefix = Path(prefix)
    prepare(prefix, file_set_matcher(prefix, any_split))
    if overwrite:
        return
    existing = [p for p in existing_set(prefix, any_split) if p.stat().st_size > 0]
    if existing:
        more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
        raise OutputExistsError(f"{existing[0]}{more}: exists; use --overwrite (overwrite=True) to replace the "
                                "record set whole, or choose another prefix")


def commit_file_set(moves: Sequence[tuple[Path, Path]], prefixes: Sequence[Path], *, any_split: bool = False) -> None:
    """Put the complete temporary files of a set in place and delete the previous set's other files
    (every file `existing_set` finds for `prefixes` that is not a target), journaled."""
    targets = {p.absolute() for _, p in moves}
    stale = sorted({p for prefix in prefixes for p in existing_set(prefix, any_split)
                    if p.absolute() not in targets})
    anchor = Path(prefixes[0]) if prefixes else moves[0][1]
    swap.commit_files(moves, stale, anchor)
