"""Caps against a hostile or broken server: `Limits`, and reading an answer through a size cap and an
overall deadline (one watchdog thread shuts the socket of a call that outlives its deadline).

Example:
    >>> Limits().pages
    100000
"""

from __future__ import annotations

import heapq
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests


class CapError(Exception):
    """An answer over its size cap or past its deadline (the transport turns it into a SyncError)."""


@dataclass(frozen=True)
class Limits:
    """Caps against a hostile or broken server: bytes of one API answer, bytes of one download when the
    platform states no size, seconds for one whole call (all reads of it), pages of one listing."""

    response_bytes: int = 256 * 1024 * 1024
    download_bytes: int = 2 * 1024 * 1024 * 1024
    deadline: float = 900.0
    pages: int = 100_000


class _Watchdog:
    """One daemon thread that runs callbacks at their deadlines (cheaper than a timer thread per call)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._live: set[int] = set()
        self._next = 0
        self._thread: threading.Thread | None = None

    def arm(self, deadline: float, callback: Callable[[], None]) -> int:
        with self._cond:
            self._next += 1
            heapq.heappush(self._heap, (deadline, self._next, callback))
            self._live.add(self._next)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="pf-sync-watchdog", daemon=True)
                self._thread.start()
            self._cond.notify()
            return self._next

    def disarm(self, alarm: int) -> None:
        with self._cond:
            self._live.discard(alarm)

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._heap and self._heap[0][1] not in self._live:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._cond.wait()
                    continue
                wait = self._heap[0][0] - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                _, alarm, callback = heapq.heappop(self._heap)
                self._live.discard(alarm)
            callback()


_WATCHDOG = _Watchdog()


def _socket_of(resp: requests.Response) -> socket.socket | None:
    """The socket under a streamed response (urllib3 over http.client), to cut a read at the deadline."""
    try:
        sock = resp.raw._fp.fp.raw._sock  # type: ignore[union-attr]
    except AttributeError:
        return None
    return sock if isinstance(sock, socket.socket) else None


def read_capped(resp: requests.Response, cap: int, deadline: float, what: str) -> None:
    """Read the whole body of `resp` (kept as its content), refusing more than `cap` bytes or reading
    past `deadline`: a watchdog shuts the socket down then, so a server trickling bytes cannot hold a call."""
    stated = resp.headers.get("Content-Length", "")
    if stated.isdigit() and int(stated) > cap:
        resp.close()
        raise CapError(f"{what}: the answer is {int(stated):,} bytes, over the {cap:,}-byte limit")
    sock = _socket_of(resp)
    expired = threading.Event()

    def cut() -> None:
        expired.set()
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    alarm = _WATCHDOG.arm(deadline, cut)
    chunks, size = [], 0
    try:
        for chunk in resp.iter_content(1 << 16):
            size += len(chunk)
            if size > cap:
                resp.close()
                raise CapError(f"{what}: the answer is over the {cap:,}-byte limit")
            if expired.is_set() or time.monotonic() > deadline:
                raise CapError(f"{what}: the answer did not arrive within the deadline")
            chunks.append(chunk)
    except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError, OSError):
        if expired.is_set():
            resp.close()
            raise CapError(f"{what}: the answer did not arrive within the deadline") from None
        raise
    finally:
        _WATCHDOG.disarm(alarm)
    if expired.is_set():
        raise CapError(f"{what}: the answer did not arrive within the deadline")
    resp._content = b"".join(chunks)
    resp._content_consumed = True


