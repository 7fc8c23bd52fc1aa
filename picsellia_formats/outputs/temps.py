"""Temporary paths of a run: named so that a later run can recognise them, removed on SIGTERM/SIGINT.

Every temporary file or folder is written beside its target as ``.<target name>.pf<pid>-<random>.tmp-pf``
(``.old-pf`` for a replaced output waiting for deletion). While one is alive, a SIGTERM or SIGINT
handler (installed only when the signal still has Python's default handling, only in the main
thread, and restored once the last temporary path is gone) removes them and ends the run with the
usual code: SIGTERM raises ``SystemExit(143)``, SIGINT ``KeyboardInterrupt`` (the CLI exits 130).
A run killed with SIGKILL cannot clean up: `clean_stale` (called by every output of the same
target) removes what it left, once its process is gone.

Example:
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "out.json"
    >>> tmp = new_temp_path(target)
    >>> parse_temp_name(tmp.name)["name"], tmp.name.endswith(".tmp-pf")
    ('out.json', True)
    >>> release(tmp)
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

#: ``.<name>.pf<pid>-<tag>.<kind>-pf``; the name may hold dots (``train.record-00000-of-00002``)
TEMP_NAME = re.compile(r"^\.(?P<name>.+)\.pf(?P<pid>\d+)-(?P<tag>[a-z0-9]+)\.(?P<kind>tmp|old)-pf$")
_PROCESS_START = time.time()  # temporary paths of this process are all made after this

_lock = threading.RLock()
_live: dict[Path, None] = {}  # ordered: removed newest first
_previous: dict[int, Any] = {}
_owner_pid = os.getpid()
_deferring = 0
_pending: list[int] = []


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _read_umask()  # read once, at import: os.umask is process-wide and not thread-safe


def process_umask() -> int:
    """The process umask, read once at import (``os.umask`` is process-wide and not thread-safe)."""
    return _UMASK



def temp_name(target: str | os.PathLike[str], kind: str = "tmp") -> str:
    """A fresh temporary name for `target` (``kind``: ``tmp`` or ``old``)."""
    return f".{Path(target).name}.pf{os.getpid()}-{secrets.token_hex(4)}.{kind}-pf"


def parse_temp_name(name: str) -> dict[str, str] | None:
    """The parts of a temporary name (``name``, ``pid``, ``tag``, ``kind``), or None."""
    m = TEMP_NAME.match(name)
    return m.groupdict() if m else None


def new_temp_path(target: str | os.PathLike[str], kind: str = "tmp") -> Path:
    """A tracked temporary path beside `target` (nothing is created); `release` it when done."""
    target = Path(target)
    path = target.with_name(temp_name(target, kind))
    track(path)
    return path


def make_temp_dir(target: str | os.PathLike[str], mode: int = 0o777) -> Path:
    """Create and track a temporary folder beside `target` (its parent is created if needed)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    path = new_temp_path(target)
    os.mkdir(path, mode)
    return path


def remove(path: Path) -> None:
    """Remove a file, link or folder tree; missing is fine."""
    with contextlib.suppress(OSError):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink()


def release(path: Path, *, delete: bool = True) -> None:
    """Stop tracking `path` (and remove it unless `delete` is False)."""
    if delete:
        remove(path)
    with _lock:
        _live.pop(Path(path), None)
        if not _live and not _deferring and not _held:
            _restore_handlers()


def track(path: Path) -> None:
    """Remove `path` if the run is ended by SIGTERM or SIGINT before it is released."""
    with _lock:
        _live[Path(path)] = None
        _install_handlers()


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGTERM/SIGINT (handled once the block ends): for the few renames that swap an output."""
    global _deferring
    with _lock:
        _deferring += 1
        _install_handlers()
    try:
        yield
    finally:
        with _lock:
            _deferring -= 1
            pending = list(_pending) if not _deferring else []
            if not _deferring:
                _pending.clear()
        for signum in pending[:1]:
            _on_signal(signum, None)
        with _lock:
            if not _live and not _deferring and not _held:
                _restore_handlers()


_held = 0


@contextlib.contextmanager
def handlers_held() -> Iterator[None]:
    """Keep the SIGTERM/SIGINT handler installed for the whole block (the CLI: one exit code, 143 or
    130, wherever the signal lands), not only while a temporary path exists."""
    global _held
    with _lock:
        _held += 1
        _install_handlers()
    try:
        yield
    finally:
        with _lock:
            _held -= 1
            if not _live and not _deferring and not _held:
                _restore_handlers()


def _install_handlers() -> None:
    if threading.current_thread() is not threading.main_thread():
        return
    for signum, default in ((signal.SIGTERM, signal.SIG_DFL), (signal.SIGINT, signal.default_int_handler)):
        if signum in _previous:
            continue
        try:
            current = signal.getsignal(signum)
            if current is default:
                signal.signal(signum, _on_signal)
                _previous[signum] = current
        except (ValueError, OSError):  # not the main interpreter
            pass


def _restore_handlers() -> None:
    if threading.current_thread() is not threading.main_thread():
        return
    for signum, handler in list(_previous.items()):
        with contextlib.suppress(ValueError, OSError):
            if signal.getsignal(signum) is _on_signal:
                signal.signal(signum, handler)
        del _previous[signum]


def _on_signal(signum: int, frame: Any) -> None:
    if os.getpid() != _owner_pid:  # a forked worker: behave as if no handler were set
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    if _deferring:
        _pending.append(signum)
        return
    with _lock:
        paths = list(reversed(_live))
        _live.clear()
    for path in paths:
        remove(path)
    if not _held:
        _restore_handlers()
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise SystemExit(128 + signum)


def _pid_start(pid: int) -> float | None:
    """When process `pid` started (Linux /proc), or None when unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        ticks = int(stat.rsplit(")", 1)[1].split()[19])
        boot = next(int(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                    if line.startswith("btime "))
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def _owner_gone(pid: int, mtime: float) -> bool:
    """The process that made a path at `mtime` has ended (a reused pid counts as ended)."""
    if pid == os.getpid():
        return mtime < _PROCESS_START
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OSError):
        pass
    started = _pid_start(pid)
    return started is not None and started > mtime + 1  # a newer process got the pid


def clean_stale(target: str | os.PathLike[str], matches: Callable[[str], bool] | None = None) -> list[Path]:
    """Remove the temporary paths that killed runs left beside `target`; return them.

    A path is stale when its name is a temporary name of `target` (or, with `matches`, of a name
    it accepts), it is older than this run, and the process named in it is gone.
    """
    target = Path(target)
    matches = matches or (lambda name: name == target.name)
    removed: list[Path] = []
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return removed
    for entry in entries:
        parts = parse_temp_name(entry.name)
        if parts is None or not matches(parts["name"]):
            continue
        try:
            mtime = entry.stat(follow_symlinks=False).st_mtime
        except OSError:
            continue
        if _owner_gone(int(parts["pid"]), mtime):
            path = Path(entry.path)
            remove(path)
            removed.append(path)
    return removed
