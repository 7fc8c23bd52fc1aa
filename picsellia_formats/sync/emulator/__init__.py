"""A local emulator of the Picsellia platform API subset the sync client uses (and the SDK needs).

``python -m picsellia_formats emulator --port 8080 --data DIR`` serves it; tests start `Emulator`
on 127.0.0.1 with port 0 in a background thread. State lives in ``DIR/emulator.sqlite3`` and image
bytes in ``DIR/objects/``, so a restart keeps everything (and the seeded token).
"""

from .server import Emulator, Settings
from .store import ErrorResponse, Store

__all__ = ["Emulator", "ErrorResponse", "Settings", "Store"]
