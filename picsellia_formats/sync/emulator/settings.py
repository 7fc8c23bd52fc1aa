"""The emulator's settings (live-changeable knobs) and its fault injection."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, fields
from typing import Any

from .store import ErrorResponse


@dataclass
class Settings:
    """Knobs of the emulator; change them live with `Emulator.configure` or ``POST /_emulator/settings``.

    * ``fail_rate``: fraction of calls (API and storage) that fail, picked among ``fail_kinds``:
      ``500`` (internal error), ``429`` (with ``Retry-After: retry_after``), ``drop`` (the connection is
      closed without a response). A 500 or a drop happens before or after the call did its work (half
      each), so a client cannot tell whether a failed call took effect; a 429 always happens before.
    * ``upload_delay``: seconds each storage upload takes (slow uploads).
    * ``processing_delay``: seconds before an uploaded data leaves PENDING; ``job_delay`` likewise for jobs.
    * ``max_bulk_bytes``: a bulk-annotations body larger than this gets 413; ``max_body``: any request body
      larger than this gets 413 before it is read (and a missing or invalid ``Content-Length`` 411/400).
    * Every value is type- and range-checked: a wrong one is refused with 422 and changes nothing.
    """

    fail_rate: float = 0.0
    fail_kinds: tuple[str, ...] = ("500", "429", "drop")
    retry_after: float = 1.0
    upload_delay: float = 0.0
    processing_delay: float = 0.0
    job_delay: float = 0.0
    max_bulk_bytes: int = 8 * 1024 * 1024
    max_body: int = 64 * 1024 * 1024
    seed: int | None = None
    verbose: bool = False

    def update(self, values: dict[str, Any]) -> None:
        """Check every value's type and range first, then apply all (a bad value changes nothing)."""
        known = {f.name for f in fields(self)}
        checked: dict[str, Any] = {}
        for key, value in values.items():
            if key not in known:
                raise ErrorResponse(422, f"unknown setting {key!r}", sorted(known))
            checked[key] = _check_setting(key, value)
        for key, value in checked.items():
            setattr(self, key, value)


_NUMBERS = {"fail_rate": (0.0, 1.0), "retry_after": (0.0, 3600.0), "upload_delay": (0.0, 60.0),
            "processing_delay": (0.0, 3600.0), "job_delay": (0.0, 3600.0)}
_SIZES = ("max_bulk_bytes", "max_body")


def _check_setting(key: str, value: Any) -> Any:
    if key == "fail_kinds":
        if not isinstance(value, (list, tuple)) or not all(isinstance(k, str) for k in value):
            raise ErrorResponse(422, "fail_kinds must be a list of 500, 429 and drop", value)
        bad = [k for k in value if k not in ("500", "429", "drop")]
        if bad:
            raise ErrorResponse(422, "fail_kinds are 500, 429 and drop", bad)
        return tuple(value)
    if key in _NUMBERS:
        low, high = _NUMBERS[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            raise ErrorResponse(422, f"{key} must be a number in [{low:g}, {high:g}]", value)
        return float(value)
    if key in _SIZES:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= 1 << 34:
            raise ErrorResponse(422, f"{key} must be a positive integer (bytes)", value)
        return value
    if key == "seed":
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise ErrorResponse(422, "seed must be an integer or null", value)
        return value
    if not isinstance(value, bool):
        raise ErrorResponse(422, f"{key} must be a boolean", value)
    return value


class Faults:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.lock = threading.Lock()
        self.rng = random.Random(settings.seed)
        self.injected = {"500": 0, "429": 0, "drop": 0}

    def reseed(self) -> None:
        with self.lock:
            self.rng = random.Random(self.settings.seed)

    def draw(self) -> tuple[str, str] | None:
        s = self.settings
        if s.fail_rate <= 0 or not s.fail_kinds:
            return None
        with self.lock:
            if self.rng.random() >= s.fail_rate:
                return None
            kind = self.rng.choice(s.fail_kinds)
            phase = "before" if kind == "429" or self.rng.random() < 0.5 else "after"
            self.injected[kind] += 1
        return kind, phase


