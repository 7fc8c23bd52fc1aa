"""Plumbing of the emulator's store: constants, the SQLite schema, the error it answers, pagination,
transactions, and the organization / datalake / object-storage part of the state.

Example:
    >>> import tempfile
    >>> from picsellia_formats.sync.emulator.store import Store
    >>> store = Store(tempfile.mkdtemp())
    >>> store.find_dataset(store.organization_id, name="nope")
    Traceback (most recent call last):
    ...
    picsellia_formats.sync.emulator.store.base.ErrorResponse: 404 Dataset not found
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import sqlite3
import threading
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import orjson

INFERENCE_TYPES = (
    "NOT_CONFIGURED",
    "CLASSIFICATION",
    "OBJECT_DETECTION",
    "SEGMENTATION",
    "POINT",
    "KEYPOINT",
    "LINE",
    "MASK",
    "MULTI",
)
ANNOTATION_STATUSES = ("PENDING", "SKIPPED", "ACCEPTED", "REFUSED")
IMPORT_TYPES = ("REPLACE", "KEEP", "CONCATENATE")
#: bulk-annotations key -> (shape kind, geometry keys).
SHAPE_KINDS = {
    "rectangles": ("rectangle", ("x", "y", "w", "h")),
    "polygons": ("polygon", ("polygon",)),
    "classifications": ("classification", ()),
    "lines": ("line", ("line",)),
    "points": ("point", ("point",)),
    "keypoints": ("keypoints", ("keypoints",)),
    "masks": ("mask", ("mask",)),
}
KIND_TO_KEY = {kind: key for key, (kind, _) in SHAPE_KINDS.items()}
MAX_PAGE = 1000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kv(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS organizations(id TEXT PRIMARY KEY, name TEXT UNIQUE, connector_id TEXT);
CREATE TABLE IF NOT EXISTS users(token TEXT PRIMARY KEY, username TEXT, organization_id TEXT);
CREATE TABLE IF NOT EXISTS datalakes(id TEXT PRIMARY KEY, organization_id TEXT, name TEXT, connector_id TEXT);
CREATE TABLE IF NOT EXISTS objects(object_name TEXT PRIMARY KEY, size INTEGER, md5 TEXT, content_type TEXT,
    path TEXT);
CREATE TABLE IF NOT EXISTS datas(seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE, datalake_id TEXT,
    filename TEXT, object_name TEXT UNIQUE, type TEXT, content_type TEXT, meta TEXT, metadata TEXT,
    custom_metadata TEXT, created REAL, status TEXT);
CREATE INDEX IF NOT EXISTS datas_filename ON datas(datalake_id, filename);
CREATE TABLE IF NOT EXISTS datasets(seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE,
    organization_id TEXT, name TEXT, description TEXT, UNIQUE(organization_id, name));
CREATE TABLE IF NOT EXISTS versions(seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE, dataset_id TEXT,
    version TEXT, description TEXT, type TEXT, UNIQUE(dataset_id, version));
CREATE TABLE IF NOT EXISTS assets(seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE, version_id TEXT,
    data_id TEXT, UNIQUE(version_id, data_id));
CREATE TABLE IF NOT EXISTS labels(seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE, version_id TEXT,
    name TEXT, group_id TEXT, UNIQUE(version_id, name));
CREATE TABLE IF NOT EXISTS tags(seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE, name TEXT,
    target_type TEXT, scope_id TEXT, UNIQUE(scope_id, target_type, name));
CREATE TABLE IF NOT EXISTS tag_links(tag_id TEXT, target_id TEXT, PRIMARY KEY(tag_id, target_id));
CREATE INDEX IF NOT EXISTS tag_links_target ON tag_links(target_id);
CREATE TABLE IF NOT EXISTS annotations(seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE, asset_id TEXT,
    version_id TEXT, status TEXT, duration REAL, attributes TEXT);
CREATE INDEX IF NOT EXISTS annotations_asset ON annotations(asset_id);
CREATE INDEX IF NOT EXISTS annotations_version ON annotations(version_id);
CREATE TABLE IF NOT EXISTS shapes(seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE, annotation_id TEXT,
    kind TEXT, label_id TEXT, geometry TEXT, text TEXT, attributes TEXT);
CREATE INDEX IF NOT EXISTS shapes_annotation ON shapes(annotation_id);
CREATE TABLE IF NOT EXISTS jobs(id TEXT PRIMARY KEY, status TEXT, done_at REAL);
CREATE TABLE IF NOT EXISTS custom_keys(datalake_id TEXT, key TEXT, spec TEXT, PRIMARY KEY(datalake_id, key));
CREATE TABLE IF NOT EXISTS lake_settings(datalake_id TEXT PRIMARY KEY, allow_extra INTEGER);
CREATE TABLE IF NOT EXISTS skeletons(label_id TEXT PRIMARY KEY, vertices TEXT, edges TEXT);
CREATE TABLE IF NOT EXISTS label_groups(seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE, version_id TEXT,
    name TEXT, parent_id TEXT, UNIQUE(version_id, name));
CREATE TABLE IF NOT EXISTS locked_assets(asset_id TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS multipart(upload_id TEXT PRIMARY KEY, object_name TEXT, content_type TEXT);
"""


class ErrorResponse(Exception):
    """An error the emulator answers: HTTP `status` with the platform's ``{"message", "detail"}`` body
    (distinct from the client's `picsellia_formats.sync.PlatformError`, which is what a client raises on one)."""

    def __init__(self, status: int, message: str, detail: Any = None) -> None:
        super().__init__(f"{status} {message}")
        self.status = status
        self.message = message
        self.detail = detail

    def body(self) -> dict[str, Any]:
        return {"message": self.message, "detail": self.detail}


def uid() -> str:
    return str(uuid.uuid4())


def loads(text: str | None) -> Any:
    return orjson.loads(text) if text else None


def dumps(value: Any) -> str | None:
    return orjson.dumps(value).decode() if value is not None else None


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"seq:{seq}".encode()).decode()


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        if not text.startswith("seq:"):
            raise ValueError(cursor)
        return int(text[4:])
    except (ValueError, UnicodeDecodeError):
        raise ErrorResponse(400, "Invalid cursor", cursor) from None


def check_uuid(value: Any, what: str) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise ErrorResponse(422, f"{what} is not a valid uuid", str(value)) from None


class StoreBase:
    """The persistent state of one emulator, in ``<data_dir>/emulator.sqlite3`` and ``<data_dir>/objects/``.

    A first start seeds one user (token), one organization with its connector and default datalake;
    later starts reuse them, so the state and the token survive a restart.
    """

    def __init__(self, data_dir: str | os.PathLike[str], token: str | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.objects_dir = self.data_dir / "objects"
        self.objects_dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(
            self.data_dir / "emulator.sqlite3", check_same_thread=False, isolation_level=None
        )
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self.processing_delay = 0.0
        self.job_delay = 0.0
        with self._tx():
            self._seed(token)

    # -- plumbing -----------------------------------------------------------------------------------

    def _tx(self) -> _Transaction:
        return _Transaction(self)

    def _one(self, sql: str, args: Sequence[Any] = ()) -> sqlite3.Row | None:
        return self._db.execute(sql, args).fetchone()

    def _all(self, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
        return self._db.execute(sql, args).fetchall()

    def _kv(self, key: str) -> str | None:
        row = self._one("SELECT value FROM kv WHERE key=?", (key,))
        return row["value"] if row else None

    def _set_kv(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO kv(key, value) VALUES (?, ?)", (key, value))

    def _seed(self, token: str | None) -> None:
        if self._kv("organization_id") is None:
            org_id, connector_id, lake_id = uid(), uid(), uid()
            self._db.execute(
                "INSERT INTO organizations VALUES (?, ?, ?)", (org_id, "emulated-org", connector_id)
            )
            self._db.execute(
                "INSERT INTO datalakes VALUES (?, ?, ?, ?)", (lake_id, org_id, "default", connector_id)
            )
            self._set_kv("organization_id", org_id)
            self._set_kv("secret", secrets.token_hex(32))
            self._set_kv("uploads", "0")
        org_id = self._kv("organization_id")
        if token is not None and self._one("SELECT 1 FROM users WHERE token=?", (token,)) is None:
            self._db.execute("INSERT INTO users VALUES (?, ?, ?)", (token, "emulator", org_id))
        if self._one("SELECT 1 FROM users") is None:
            self._db.execute(
                "INSERT INTO users VALUES (?, ?, ?)", (secrets.token_hex(20), "emulator", org_id)
            )

    @property
    def organization_id(self) -> str:
        return self._kv("organization_id") or ""

    @property
    def secret(self) -> bytes:
        return (self._kv("secret") or "").encode()

    def organization(self, org_id: str | None = None) -> dict[str, Any]:
        with self._lock:
            row = self._one("SELECT * FROM organizations WHERE id=?", (org_id or self.organization_id,))
        if row is None:
            raise ErrorResponse(404, "Organization not found", org_id)
        return {"id": row["id"], "name": row["name"], "default_connector_id": row["connector_id"]}

    def find_organization(self, name: str) -> dict[str, Any]:
        with self._lock:
            row = self._one("SELECT id FROM organizations WHERE name=?", (name,))
        if row is None:
            raise ErrorResponse(404, "Organization not found", name)
        return self.organization(row["id"])

    def seeded_token(self) -> str:
        with self._lock:
            row = self._one("SELECT token FROM users ORDER BY rowid LIMIT 1")
        return row["token"]

    def user_for_token(self, token: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._one("SELECT * FROM users WHERE token=?", (token,))
        if row is None:
            return None
        return {"username": row["username"], "organization_id": row["organization_id"]}

    def uploads(self) -> int:
        with self._lock:
            return int(self._kv("uploads") or 0)

    def counts(self) -> dict[str, int]:
        """Row counts of every entity (for tests: duplicates show up here)."""
        with self._lock:
            return {
                table: self._one(f"SELECT COUNT(*) AS n FROM {table}")["n"]
                for table in (
                    "datas",
                    "datasets",
                    "versions",
                    "assets",
                    "labels",
                    "tags",
                    "annotations",
                    "shapes",
                    "objects",
                )
            }

    # -- organization, datalake ---------------------------------------------------------------------

    def datalake(self, org_id: str, lake_id: str | None = None, name: str | None = None) -> dict[str, Any]:
        with self._lock:
            if lake_id:
                row = self._one("SELECT * FROM datalakes WHERE id=?", (lake_id,))
            elif name:
                row = self._one("SELECT * FROM datalakes WHERE organization_id=? AND name=?", (org_id, name))
            else:
                row = self._one("SELECT * FROM datalakes WHERE organization_id=? ORDER BY rowid", (org_id,))
        if row is None:
            raise ErrorResponse(404, "Datalake not found", lake_id or name)
        return {"id": row["id"], "name": row["name"], "connector_id": row["connector_id"]}

    def datalakes(self, org_id: str) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._all("SELECT id FROM datalakes WHERE organization_id=? ORDER BY rowid", (org_id,))
        return [self.datalake(org_id, r["id"]) for r in rows]

    def check_connector(self, connector_id: str) -> None:
        with self._lock:
            if self._one("SELECT 1 FROM organizations WHERE connector_id=?", (connector_id,)) is None:
                raise ErrorResponse(404, "Connector not found", connector_id)

    # -- object storage -----------------------------------------------------------------------------

    def generate_object_name(self, filename: str, upload_dir: str | None = None) -> str:
        if not filename:
            raise ErrorResponse(400, "filename is required")
        base = filename.replace("\\", "/").rsplit("/", 1)[-1]
        prefix = f"{upload_dir.strip('/')}/" if upload_dir else ""
        return f"{prefix}{uid()}/{base}"

    def _object_path(self, object_name: str) -> Path:
        digest = hashlib.sha256(object_name.encode()).hexdigest()
        return self.objects_dir / digest[:2] / digest

    def put_object(self, object_name: str, content: bytes, content_type: str) -> None:
        path = self._object_path(object_name)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{threading.get_ident()}.tmp")
        tmp.write_bytes(content)
        os.replace(tmp, path)
        with self._lock, self._tx():
            self._db.execute(
                "INSERT OR REPLACE INTO objects VALUES (?, ?, ?, ?, ?)",
                (
                    object_name,
                    len(content),
                    hashlib.md5(content).hexdigest(),
                    content_type,
                    str(path.relative_to(self.data_dir)),
                ),
            )
            self._set_kv("uploads", str(int(self._kv("uploads") or 0) + 1))

    def get_object(self, object_name: str) -> tuple[Path, dict[str, Any]]:
        with self._lock:
            row = self._one("SELECT * FROM objects WHERE object_name=?", (object_name,))
        if row is None:
            raise ErrorResponse(404, "Object not found", object_name)
        return self.data_dir / row["path"], dict(row)

class _Transaction:
    """``with store._tx():`` -- one SQLite transaction (nested uses join the outer one)."""

    def __init__(self, store: StoreBase) -> None:
        self.store = store
        self.outer = False

    def __enter__(self) -> None:
        self.store._lock.acquire()
        if not self.store._db.in_transaction:
            self.store._db.execute("BEGIN IMMEDIATE")
            self.outer = True

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            if self.outer:
                self.store._db.execute("ROLLBACK" if exc_type else "COMMIT")
        finally:
            self.store._lock.release()


class Page:
    """Offset or cursor pagination (``limit`` <= 1000; ``offset`` first, then ``cursor``)."""

    def __init__(
        self, limit: int | None = None, offset: int | None = None, cursor: str | None = None
    ) -> None:
        if limit is not None and not 0 < limit <= MAX_PAGE:
            raise ErrorResponse(422, f"limit must be between 1 and {MAX_PAGE}", limit)
        if offset is not None and offset < 0:
            raise ErrorResponse(422, "offset must be >= 0", offset)
        self.limit = limit or MAX_PAGE
        self.offset = offset or 0
        self.after = decode_cursor(cursor) if cursor else None

    def run(
        self,
        store: StoreBase,
        table: str,
        where: list[str],
        args: list[Any],
        render: Callable[[sqlite3.Row], dict[str, Any]],
        seq: str = "seq",
        select: str = "*",
    ) -> dict[str, Any]:
        clause = " AND ".join(where) or "1"
        count = store._one(f"SELECT COUNT(*) AS n FROM {table} WHERE {clause}", args)["n"]
        page_where, page_args = clause, list(args)
        if self.after is not None:
            page_where += f" AND {seq}>?"
            page_args.append(self.after)
            offset = 0
        else:
            offset = self.offset
        rows = store._all(
            f"SELECT {select}, {seq} AS _seq FROM {table} WHERE {page_where} ORDER BY {seq} LIMIT ? OFFSET ?",
            [*page_args, self.limit + 1, offset],
        )
        more = len(rows) > self.limit
        rows = rows[: self.limit]
        next_cursor = encode_cursor(rows[-1]["_seq"]) if more and rows else None
        return {"items": [render(r) for r in rows], "count": count, "next_cursor": next_cursor}


def in_filter(where: list[str], args: list[Any], column: str, values: Any) -> None:
    if values is None:
        return
    if not isinstance(values, list):
        raise ErrorResponse(422, f"{column} filter must be a list")
    if len(values) > 1000:
        raise ErrorResponse(400, "At most 1000 items per filter", len(values))
    if not values:
        where.append("0")
        return
    where.append(f"{column} IN ({','.join('?' * len(values))})")
    args.extend(str(v) for v in values)



#: Upload statuses and data types a listing may ask for (``compatibility.add_data_mandatory_query_parameters``).
UPLOAD_STATUSES = ("PENDING", "COMPUTING", "DONE", "ERROR")
DATA_TYPES = ("IMAGE", "VIDEO")


def status_filter(where: list[str], args: list[Any], status_col: str, type_col: str,
                  statuses: list[str] | None, types: list[str] | None) -> None:
    """Listings hold DONE data only unless ``upload_statuses`` (and ``types``) ask for more."""
    for values, allowed, column in ((statuses, UPLOAD_STATUSES, status_col), (types, DATA_TYPES, type_col)):
        bad = [v for v in values or () if v not in allowed]
        if bad:
            raise ErrorResponse(422, f"unknown value(s) for {column}", bad)
    chosen = statuses or ["DONE"]
    where.append(f"{status_col} IN ({','.join('?' * len(chosen))})")
    args.extend(chosen)
    if types:
        where.append(f"{type_col} IN ({','.join('?' * len(types))})")
        args.extend(types)


def image_size(path: Path) -> dict[str, int] | None:
    """``{width, height}`` of an image file after EXIF orientation, None when it is not an image."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            width, height = im.size
            try:
                orientation = im.getexif().get(0x0112)
            except Exception:  # a broken EXIF block: the pixels still have a size
                orientation = None
    except Exception:  # not an image the emulator can read: the platform marks it ERROR
        return None
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    return {"width": width, "height": height}
