"""S3-style multipart uploads for the emulator: an upload id, parts PUT to presigned URLs (each answered
with its ETag), then a completion naming every part with its ETag, in order.

Example:
    >>> import tempfile
    >>> m = Multipart(tempfile.mkdtemp())
    >>> uid = m.start("o/a.bin", "application/octet-stream")
    >>> etag = m.put(f"{uid}/1", b"abc")
    >>> m.finish(uid, "o/a.bin", [{"ETag": etag, "PartNumber": 1}])
    (b'abc', 'application/octet-stream')
"""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
import uuid
from pathlib import Path
from typing import Any

from .store import ErrorResponse


class Multipart:
    """Uploads in progress, parts kept as files under ``<data_dir>/multipart/<upload id>/``."""

    def __init__(self, data_dir: str | os.PathLike[str]) -> None:
        self.root = Path(data_dir) / "multipart"
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._uploads: dict[str, tuple[str, str]] = {}

    def start(self, object_name: str, content_type: str) -> str:
        upload_id = str(uuid.uuid4())
        with self._lock:
            self._uploads[upload_id] = (object_name, content_type)
        (self.root / upload_id).mkdir()
        return upload_id

    def check(self, upload_id: str, object_name: str) -> None:
        with self._lock:
            known = self._uploads.get(upload_id)
        if known is None or known[0] != object_name:
            raise ErrorResponse(404, "Multipart upload not found", upload_id)

    def put(self, key: str, content: bytes) -> str:
        """Store part ``<upload id>/<n>``; its ETag (quoted MD5, as S3 answers)."""
        upload_id, _, number = key.partition("/")
        with self._lock:
            if upload_id not in self._uploads or not number.isdigit():
                raise ErrorResponse(404, "Multipart upload not found", upload_id)
        (self.root / upload_id / number).write_bytes(content)
        return f'"{hashlib.md5(content).hexdigest()}"'

    def finish(self, upload_id: str, object_name: str, parts: list[dict[str, Any]]) -> tuple[bytes, str]:
        self.check(upload_id, object_name)
        numbers = [p["PartNumber"] for p in parts]
        if numbers != list(range(1, len(parts) + 1)):
            raise ErrorResponse(400, "parts must be numbered 1..n in order", numbers)
        chunks = []
        for part in parts:
            path = self.root / upload_id / str(part["PartNumber"])
            if not path.exists():
                raise ErrorResponse(400, "part not uploaded", part["PartNumber"])
            data = path.read_bytes()
            if part["ETag"] != f'"{hashlib.md5(data).hexdigest()}"':
                raise ErrorResponse(400, "ETag does not match the part", part)
            chunks.append(data)
        with self._lock:
            _, content_type = self._uploads.pop(upload_id)
        shutil.rmtree(self.root / upload_id, ignore_errors=True)
        return b"".join(chunks), content_type
