"""The final swap of an output, crash-safe: a journal beside the target says what is being replaced.

A folder: the new output is complete in its temporary folder (with its marker) before the journal
``.<name>.swap-pf`` is written (atomically); then the new folder takes the target's place, by one
``renameat2(RENAME_EXCHANGE)`` on Linux (the target path never disappears) or, elsewhere, by two
renames (old aside, new in place). Whatever point a run is killed at, `recover` (called by the next
output of the same target) reads the journal and finishes the swap, so the user sees the old
output, or the new one, never a mix; with two renames there is an instant where the target is
absent, and `recover` restores it.

A set of files (TFRecord shards, say): the journal lists the renames and the stale files of the
previous set to delete; the next run finishes an interrupted commit (roll forward).

Example:
    >>> import tempfile, pathlib
    >>> from picsellia_formats.outputs.manifest import write_marker
    >>> root = pathlib.Path(tempfile.mkdtemp()); new = root / ".out.pf1-a.tmp-pf"; new.mkdir()
    >>> _ = write_marker(new, "yolo")
    >>> replace_dir(new, root / "out"); sorted(p.name for p in root.iterdir())
    ['out']
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from . import temps
from .manifest import read_marker

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
_EXCHANGE_OK = True  # set False (tests, odd file systems) to use two renames


def journal_path(target: Path) -> Path:
    return target.with_name(f".{target.name}.swap-pf")


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_journal(target: Path, content: dict[str, Any]) -> Path:
    journal = journal_path(target)
    tmp = temps.new_temp_path(target)
    try:
        with open(tmp, "wb") as f:
            f.write(orjson.dumps(content))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, journal)
    finally:
        temps.release(tmp)
    _fsync_dir(target.parent)
    return journal


def _read_journal(target: Path) -> dict[str, Any] | None:
    journal = journal_path(target)
    try:
        content = orjson.loads(journal.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, orjson.JSONDecodeError):
        content = None
    if not isinstance(content, dict):  # cannot be ours (it is renamed into place whole): leave it
        return None
    return content


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux); False when the system cannot."""
    if not _EXCHANGE_OK:
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    rc = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
        return False
    raise OSError(err, os.strerror(err), str(a), None, str(b))


def replace_dir(stage: Path, target: Path) -> None:
    """Make the complete folder `stage` (marker written) the folder `target`, replacing it whole."""
    marker = read_marker(stage)
    assert marker is not None, "the marker is written before the swap"
    old = target.with_name(temps.temp_name(target, "old"))
    with temps.signals_deferred():
        st = os.stat(stage)
        _write_journal(target, {"kind": "dir", "stage": stage.name, "old": old.name, "digest": marker["digest"],
                                "inode": [st.st_dev, st.st_ino]})
        _finish_dir(target, _read_journal(target) or {})


def _is_folder(path: Path, inode: list[Any]) -> bool:
    """Whether `path` is the folder of (device, inode) `inode` (not following a link)."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and [st.st_dev, st.st_ino] == inode


def _finish_dir(target: Path, journal: dict[str, Any]) -> None:
    stage = target.with_name(str(journal.get("stage", "")))
    old = target.with_name(str(journal.get("old", "")))
    if temps.parse_temp_name(stage.name) is None or temps.parse_temp_name(old.name) is None:
        return  # not a journal of ours
    # the new output is the staged folder itself (renames keep its inode): names and sizes (the digest)
    # cannot tell a rerun from its previous output, e.g. a label renamed to one of the same length; a
    # journal of an older version has the digest only
    inode = journal.get("inode")
    if isinstance(inode, list) and len(inode) == 2:
        new_in_stage = _is_folder(stage, inode)
        new_in_place = _is_folder(target, inode)
    else:
        digest = journal.get("digest")
        new_in_stage = stage.is_dir() and (read_marker(stage) or {}).get("digest") == digest
        new_in_place = target.is_dir() and (read_marker(target) or {}).get("digest") == digest
    if new_in_stage and not new_in_place:
        if os.path.lexists(target):
            if not _exchange(stage, target):
                if not os.path.lexists(old):
                    os.rename(target, old)
                os.rename(stage, target)
        else:
            os.rename(stage, target)
    elif not os.path.lexists(target) and old.is_dir():
        os.rename(old, target)  # nothing new to put in place: the old output comes back
    _fsync_dir(target.parent)
    journal_path(target).unlink(missing_ok=True)
    _fsync_dir(target.parent)
    for leftover in (stage, old):  # the old output, whichever name it ended under
        if temps.parse_temp_name(leftover.name) is not None:
            temps.release(leftover)


def commit_files(moves: Sequence[tuple[Path, Path]], stale: Sequence[Path], anchor: Path) -> None:
    """Rename each complete temporary file onto its target and delete `stale` files, journaled
    beside `anchor` so that a killed commit is finished by the next run."""
    content = {"kind": "files", "moves": [[str(t.absolute()), str(p.absolute())] for t, p in moves],
               "remove": [str(p.absolute()) for p in stale]}
    with temps.signals_deferred():
        if not content["remove"] and len(moves) == 1:
            os.replace(*moves[0])
        else:
            _write_journal(anchor, content)
            _finish_files(anchor, content)
    for tmp, _ in moves:
        temps.release(tmp, delete=False)


def _finish_files(anchor: Path, journal: dict[str, Any]) -> None:
    for pair in journal.get("moves", []):
        tmp, path = Path(pair[0]), Path(pair[1])
        if temps.parse_temp_name(tmp.name) is not None and tmp.is_file():
            os.replace(tmp, path)
            temps.release(tmp, delete=False)
    for name in journal.get("remove", []):
        Path(name).unlink(missing_ok=True)
    _fsync_dir(anchor.parent)
    journal_path(anchor).unlink(missing_ok=True)


def recover(target: str | os.PathLike[str]) -> bool:
    """Finish the swap of `target` that a killed run left (if any); True when there was one."""
    target = Path(target)
    journal = _read_journal(target)
    if journal is None:
        return False
    with temps.signals_deferred():
        if journal.get("kind") == "files":
            _finish_files(target, journal)
        else:
            _finish_dir(target, journal)
    return True
