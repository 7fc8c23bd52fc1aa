"""The emulator's state: organizations, datalake data, datasets, versions, assets, labels, tags,
annotations and shapes in SQLite, object bytes in files under the data folder.

Every method returns plain dicts shaped like the platform's JSON (reference §5 and §1.3) or raises
`ApiError` carrying the status code and the ``{"message", "detail"}`` body. One connection guarded
by a lock: the emulator favours being obviously correct over being concurrent.

Example:
    >>> import tempfile
    >>> store = Store(tempfile.mkdtemp())
    >>> store.find_dataset(store.organization_id, name="nope")
    Traceback (most recent call last):
    ...
    picsellia_formats.sync.emulator.store.ApiError: 404 Dataset not found
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
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
"""


class ApiError(Exception):
    """An error response: HTTP `status` with the platform's ``{"message", "detail"}`` body."""

    def __init__(self, status: int, message: str, detail: Any = None) -> None:
        super().__init__(f"{status} {message}")
        self.status = status
        self.message = message
        self.detail = detail

    def body(self) -> dict[str, Any]:
        return {"message": self.message, "detail": self.detail}


def _uid() -> str:
    return str(uuid.uuid4())


def _loads(text: str | None) -> Any:
    return orjson.loads(text) if text else None


def _dumps(value: Any) -> str | None:
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
        raise ApiError(400, "Invalid cursor", cursor) from None


def check_uuid(value: Any, what: str) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise ApiError(422, f"{what} is not a valid uuid", str(value)) from None


class Store:
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
            org_id, connector_id, lake_id = _uid(), _uid(), _uid()
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
            raise ApiError(404, "Organization not found", org_id)
        return {"id": row["id"], "name": row["name"], "default_connector_id": row["connector_id"]}

    def find_organization(self, name: str) -> dict[str, Any]:
        with self._lock:
            row = self._one("SELECT id FROM organizations WHERE name=?", (name,))
        if row is None:
            raise ApiError(404, "Organization not found", name)
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
            raise ApiError(404, "Datalake not found", lake_id or name)
        return {"id": row["id"], "name": row["name"], "connector_id": row["connector_id"]}

    def datalakes(self, org_id: str) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._all("SELECT id FROM datalakes WHERE organization_id=? ORDER BY rowid", (org_id,))
        return [self.datalake(org_id, r["id"]) for r in rows]

    def check_connector(self, connector_id: str) -> None:
        with self._lock:
            if self._one("SELECT 1 FROM organizations WHERE connector_id=?", (connector_id,)) is None:
                raise ApiError(404, "Connector not found", connector_id)

    # -- object storage -----------------------------------------------------------------------------

    def generate_object_name(self, filename: str, upload_dir: str | None = None) -> str:
        if not filename:
            raise ApiError(400, "filename is required")
        base = filename.replace("\\", "/").rsplit("/", 1)[-1]
        prefix = f"{upload_dir.strip('/')}/" if upload_dir else ""
        return f"{prefix}{_uid()}/{base}"

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
            raise ApiError(404, "Object not found", object_name)
        return self.data_dir / row["path"], dict(row)

    # -- data ---------------------------------------------------------------------------------------

    def _data_json(self, row: sqlite3.Row, url: Callable[[str], str]) -> dict[str, Any]:
        status = row["status"]
        if status in ("PENDING", "COMPUTING") and time.time() >= row["created"] + self.processing_delay:
            stored = self._one("SELECT 1 FROM objects WHERE object_name=?", (row["object_name"],))
            status = "DONE" if stored else "ERROR"
            self._db.execute("UPDATE datas SET status=? WHERE id=?", (status, row["id"]))
        tags = self._tags_of(row["id"])
        return {
            "id": row["id"],
            "datalake_id": row["datalake_id"],
            "filename": row["filename"],
            "object_name": row["object_name"],
            "type": row["type"],
            "content_type": row["content_type"],
            "upload_status": status,
            "presigned_url": url(row["object_name"]) if status == "DONE" else None,
            "meta": _loads(row["meta"]),
            "metadata": _loads(row["metadata"]),
            "custom_metadata": _loads(row["custom_metadata"]),
            "tags": tags,
        }

    def create_data(self, lake_id: str, body: dict[str, Any], url: Callable[[str], str]) -> dict[str, Any]:
        for key in ("filename", "object_name"):
            if not isinstance(body.get(key), str) or not body[key]:
                raise ApiError(422, f"{key} is required")
        data_type = body.get("type", "IMAGE")
        if data_type not in ("IMAGE", "VIDEO"):
            raise ApiError(422, "type must be IMAGE or VIDEO", data_type)
        meta = body.get("meta")
        if meta is not None and not (
            isinstance(meta, dict)
            and isinstance(meta.get("width"), int)
            and isinstance(meta.get("height"), int)
        ):
            raise ApiError(422, "meta must be {width: int, height: int}", meta)
        with self._lock, self._tx():
            self.datalake(self.organization_id, lake_id)
            if self._one("SELECT 1 FROM datas WHERE object_name=?", (body["object_name"],)):
                raise ApiError(409, "A data with this object name already exists", body["object_name"])
            data_id = _uid()
            self._db.execute(
                "INSERT INTO datas(id, datalake_id, filename, object_name, type, content_type, meta,"
                " metadata, custom_metadata, created, status)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'PENDING')",
                (
                    data_id,
                    lake_id,
                    body["filename"],
                    body["object_name"],
                    data_type,
                    body.get("content_type") or "application/octet-stream",
                    _dumps(meta),
                    _dumps(body.get("metadata")),
                    _dumps(body.get("custom_metadata")),
                    time.time(),
                ),
            )
            for tag_id in body.get("tags") or ():
                self._db.execute("INSERT OR IGNORE INTO tag_links VALUES (?, ?)", (str(tag_id), data_id))
            row = self._one("SELECT * FROM datas WHERE id=?", (data_id,))
            out = self._data_json(row, url)
            # processing is asynchronous on the platform: the caller polls GET /api/data/{id}
            self._db.execute("UPDATE datas SET status='PENDING' WHERE id=?", (data_id,))
            out["upload_status"], out["presigned_url"] = "PENDING", None
            return out

    def data(self, data_id: str, url: Callable[[str], str]) -> dict[str, Any]:
        with self._lock, self._tx():
            row = self._one("SELECT * FROM datas WHERE id=?", (data_id,))
            if row is None:
                raise ApiError(404, "Data not found", data_id)
            return self._data_json(row, url)

    def find_data(self, lake_id: str, params: dict[str, str], url: Callable[[str], str]) -> dict[str, Any]:
        for key in ("id", "object_name", "filename"):
            if params.get(key):
                with self._lock, self._tx():
                    rows = self._all(
                        f"SELECT * FROM datas WHERE datalake_id=? AND {key}=?", (lake_id, params[key])
                    )
                    if not rows:
                        raise ApiError(404, "Data not found", params[key])
                    if len(rows) > 1:
                        raise ApiError(400, "Several data match this query", params[key])
                    return self._data_json(rows[0], url)
        raise ApiError(400, "Give one of id, object_name, filename")

    def list_datas(
        self, lake_id: str, filters: dict[str, Any], page: Page, url: Callable[[str], str]
    ) -> dict[str, Any]:
        where, args = ["datalake_id=?"], [lake_id]
        for key, column in (("ids", "id"), ("filenames", "filename"), ("object_names", "object_name")):
            _in_filter(where, args, column, filters.get(key))
        with self._lock, self._tx():
            return page.run(self, "datas", where, args, lambda r: self._data_json(r, url))

    # -- tags ---------------------------------------------------------------------------------------

    def _tag_json(self, row: sqlite3.Row) -> dict[str, Any]:
        return {"id": row["id"], "name": row["name"], "target_type": row["target_type"]}

    def _tags_of(self, target_id: str) -> list[dict[str, Any]]:
        rows = self._all(
            "SELECT t.* FROM tags t JOIN tag_links l ON l.tag_id=t.id WHERE l.target_id=? ORDER BY t.seq",
            (target_id,),
        )
        return [self._tag_json(r) for r in rows]

    def create_tag(self, scope_id: str, target_type: str, name: str) -> dict[str, Any]:
        if not isinstance(name, str) or not name:
            raise ApiError(422, "name is required")
        with self._lock, self._tx():
            if self._one(
                "SELECT 1 FROM tags WHERE scope_id=? AND target_type=? AND name=?",
                (scope_id, target_type, name),
            ):
                raise ApiError(409, "A tag with this name already exists", name)
            tag_id = _uid()
            self._db.execute(
                "INSERT INTO tags(id, name, target_type, scope_id) VALUES (?, ?, ?, ?)",
                (tag_id, name, target_type, scope_id),
            )
            return self._tag_json(self._one("SELECT * FROM tags WHERE id=?", (tag_id,)))

    def find_tag(self, scope_id: str, target_type: str, name: str) -> dict[str, Any]:
        with self._lock:
            row = self._one(
                "SELECT * FROM tags WHERE scope_id=? AND target_type=? AND name=?",
                (scope_id, target_type, name),
            )
        if row is None:
            raise ApiError(404, "Tag not found", name)
        return self._tag_json(row)

    def list_tags(self, scope_id: str, target_type: str) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._all(
                "SELECT * FROM tags WHERE scope_id=? AND target_type=? ORDER BY seq", (scope_id, target_type)
            )
        return [self._tag_json(r) for r in rows]

    def tag(self, tag_id: str) -> dict[str, Any]:
        with self._lock:
            row = self._one("SELECT * FROM tags WHERE id=?", (tag_id,))
        if row is None:
            raise ApiError(404, "Tag not found", tag_id)
        return self._tag_json(row)

    def attach_tag(self, tag_id: str, target_ids: Iterable[Any], attach: bool = True) -> dict[str, Any]:
        with self._lock, self._tx():
            tag = self.tag(tag_id)
            count = 0
            for target in target_ids:
                target = check_uuid(target, "target id")
                if attach:
                    count += self._db.execute(
                        "INSERT OR IGNORE INTO tag_links VALUES (?, ?)", (tag_id, target)
                    ).rowcount
                else:
                    count += self._db.execute(
                        "DELETE FROM tag_links WHERE tag_id=? AND target_id=?", (tag_id, target)
                    ).rowcount
            return {"tag": tag, "count": count}

    # -- datasets and versions ----------------------------------------------------------------------

    def _dataset_json(self, row: sqlite3.Row) -> dict[str, Any]:
        return {
            "id": row["id"],
            "name": row["name"],
            "description": row["description"],
            "tags": self._tags_of(row["id"]),
        }

    def create_dataset(self, org_id: str, body: dict[str, Any]) -> dict[str, Any]:
        name = body.get("name")
        if not isinstance(name, str) or not name:
            raise ApiError(422, "name is required")
        with self._lock, self._tx():
            if self._one("SELECT 1 FROM datasets WHERE organization_id=? AND name=?", (org_id, name)):
                raise ApiError(409, "A dataset with this name already exists", name)
            ds_id = _uid()
            self._db.execute(
                "INSERT INTO datasets(id, organization_id, name, description) VALUES (?, ?, ?, ?)",
                (ds_id, org_id, name, body.get("description") or ""),
            )
            return self._dataset_json(self._one("SELECT * FROM datasets WHERE id=?", (ds_id,)))

    def find_dataset(self, org_id: str, name: str | None = None, ds_id: str | None = None) -> dict[str, Any]:
        with self._lock:
            if ds_id:
                row = self._one("SELECT * FROM datasets WHERE organization_id=? AND id=?", (org_id, ds_id))
            else:
                row = self._one("SELECT * FROM datasets WHERE organization_id=? AND name=?", (org_id, name))
            if row is None:
                raise ApiError(404, "Dataset not found", name or ds_id)
            return self._dataset_json(row)

    def dataset(self, ds_id: str) -> dict[str, Any]:
        with self._lock:
            row = self._one("SELECT * FROM datasets WHERE id=?", (ds_id,))
            if row is None:
                raise ApiError(404, "Dataset not found", ds_id)
            return self._dataset_json(row)

    def list_datasets(self, org_id: str, page: Page) -> dict[str, Any]:
        with self._lock:
            return page.run(self, "datasets", ["organization_id=?"], [org_id], self._dataset_json)

    def _version_json(self, row: sqlite3.Row) -> dict[str, Any]:
        ds = self._one("SELECT name FROM datasets WHERE id=?", (row["dataset_id"],))
        return {
            "id": row["id"],
            "origin_name": ds["name"] if ds else None,
            "origin_id": row["dataset_id"],
            "version": row["version"],
            "description": row["description"],
            "type": row["type"],
            "annotation_campaign_id": None,
            "tags": self._tags_of(row["id"]),
        }

    def create_version(self, ds_id: str, body: dict[str, Any]) -> dict[str, Any]:
        version = body.get("version")
        if not isinstance(version, str) or not version:
            raise ApiError(422, "version is required")
        vtype = body.get("type") or "NOT_CONFIGURED"
        if vtype not in INFERENCE_TYPES:
            raise ApiError(422, "unknown type", vtype)
        with self._lock, self._tx():
            self.dataset(ds_id)
            if self._one("SELECT 1 FROM versions WHERE dataset_id=? AND version=?", (ds_id, version)):
                raise ApiError(409, "A version with this name already exists", version)
            v_id = _uid()
            self._db.execute(
                "INSERT INTO versions(id, dataset_id, version, description, type) VALUES (?, ?, ?, ?, ?)",
                (v_id, ds_id, version, body.get("description") or "", vtype),
            )
            return self._version_json(self._one("SELECT * FROM versions WHERE id=?", (v_id,)))

    def find_version(self, ds_id: str, version: str | None = None, v_id: str | None = None) -> dict[str, Any]:
        with self._lock:
            if v_id:
                row = self._one("SELECT * FROM versions WHERE dataset_id=? AND id=?", (ds_id, v_id))
            else:
                row = self._one("SELECT * FROM versions WHERE dataset_id=? AND version=?", (ds_id, version))
            if row is None:
                raise ApiError(404, "Dataset version not found", version or v_id)
            return self._version_json(row)

    def version(self, v_id: str) -> dict[str, Any]:
        with self._lock:
            row = self._one("SELECT * FROM versions WHERE id=?", (v_id,))
            if row is None:
                raise ApiError(404, "Dataset version not found", v_id)
            return self._version_json(row)

    def find_version_in_org(self, org_id: str, v_id: str) -> dict[str, Any]:
        with self._lock:
            row = self._one(
                "SELECT v.* FROM versions v JOIN datasets d ON d.id=v.dataset_id "
                "WHERE d.organization_id=? AND v.id=?",
                (org_id, v_id),
            )
            if row is None:
                raise ApiError(404, "Dataset version not found", v_id)
            return self._version_json(row)

    def list_versions(self, ds_id: str, page: Page) -> dict[str, Any]:
        with self._lock:
            self.dataset(ds_id)
            return page.run(self, "versions", ["dataset_id=?"], [ds_id], self._version_json)

    def update_version(self, v_id: str, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock, self._tx():
            self.version(v_id)
            if "type" in body:
                if body["type"] not in INFERENCE_TYPES:
                    raise ApiError(422, "unknown type", body["type"])
                self._db.execute("UPDATE versions SET type=? WHERE id=?", (body["type"], v_id))
            if "description" in body:
                self._db.execute("UPDATE versions SET description=? WHERE id=?", (body["description"], v_id))
            return self.version(v_id)

    # -- assets and jobs ----------------------------------------------------------------------------

    def _asset_json(self, row: sqlite3.Row, url: Callable[[str], str]) -> dict[str, Any]:
        data = self._one("SELECT * FROM datas WHERE id=?", (row["data_id"],))
        return {
            "id": row["id"],
            "data_id": row["data_id"],
            "data": self._data_json(data, url),
            "tags": self._tags_of(row["id"]),
        }

    def add_assets(self, v_id: str, body: dict[str, Any]) -> dict[str, Any]:
        data_ids = body.get("data_ids")
        if not isinstance(data_ids, list) or not data_ids:
            raise ApiError(422, "data_ids must be a non-empty list")
        if len(data_ids) > 10000:
            raise ApiError(400, "At most 10000 data_ids per call", len(data_ids))
        with self._lock, self._tx():
            self.version(v_id)
            missing = [
                d
                for d in data_ids
                if self._one("SELECT 1 FROM datas WHERE id=?", (check_uuid(d, "data id"),)) is None
            ]
            if missing:
                raise ApiError(404, "Some data were not found", missing[:10])
            tag_ids = [check_uuid(t, "asset tag id") for t in body.get("asset_tag_ids") or ()]
            for data_id in data_ids:
                data_id = str(data_id)
                row = self._one("SELECT id FROM assets WHERE version_id=? AND data_id=?", (v_id, data_id))
                asset_id = row["id"] if row else _uid()
                if row is None:
                    self._db.execute(
                        "INSERT INTO assets(id, version_id, data_id) VALUES (?, ?, ?)",
                        (asset_id, v_id, data_id),
                    )
                for tag_id in tag_ids:
                    self._db.execute("INSERT OR IGNORE INTO tag_links VALUES (?, ?)", (tag_id, asset_id))
            job_id = _uid()
            self._db.execute(
                "INSERT INTO jobs VALUES (?, 'RUNNING', ?)", (job_id, time.time() + self.job_delay)
            )
            return {"job": {"id": job_id, "status": "RUNNING"}}

    def job(self, job_id: str) -> dict[str, Any]:
        with self._lock:
            row = self._one("SELECT * FROM jobs WHERE id=?", (job_id,))
        if row is None:
            raise ApiError(404, "Job not found", job_id)
        status = "SUCCESS" if time.time() >= row["done_at"] else row["status"]
        return {"id": row["id"], "status": status}

    def list_assets(
        self, v_id: str, filters: dict[str, Any], page: Page, url: Callable[[str], str]
    ) -> dict[str, Any]:
        where, args = ["a.version_id=?"], [v_id]
        for key, column in (
            ("ids", "a.id"),
            ("data_ids", "a.data_id"),
            ("filenames", "d.filename"),
            ("object_names", "d.object_name"),
        ):
            _in_filter(where, args, column, filters.get(key))
        starts = filters.get("filename_startswith")
        if starts:
            where.append("(" + " OR ".join("substr(d.filename, 1, ?)=?" for _ in starts) + ")")
            for s in starts:
                args.extend([len(s), s])
        with self._lock, self._tx():
            self.version(v_id)
            return page.run(
                self,
                "assets a JOIN datas d ON d.id=a.data_id",
                where,
                args,
                lambda r: self._asset_json(r, url),
                seq="a.seq",
                select="a.*",
            )

    def find_asset(self, v_id: str, params: dict[str, str], url: Callable[[str], str]) -> dict[str, Any]:
        for key, column in (
            ("id", "a.id"),
            ("data_id", "a.data_id"),
            ("filename", "d.filename"),
            ("object_name", "d.object_name"),
        ):
            if params.get(key):
                with self._lock, self._tx():
                    rows = self._all(
                        f"SELECT a.* FROM assets a JOIN datas d ON d.id=a.data_id "
                        f"WHERE a.version_id=? AND {column}=?",
                        (v_id, params[key]),
                    )
                    if not rows:
                        raise ApiError(404, "Asset not found", params[key])
                    if len(rows) > 1:
                        raise ApiError(400, "Several assets match this query", params[key])
                    return self._asset_json(rows[0], url)
        raise ApiError(400, "Give one of id, data_id, filename, object_name")

    def asset(self, asset_id: str, url: Callable[[str], str]) -> dict[str, Any]:
        with self._lock, self._tx():
            row = self._one("SELECT * FROM assets WHERE id=?", (asset_id,))
            if row is None:
                raise ApiError(404, "Asset not found", asset_id)
            return self._asset_json(row, url)

    def delete_assets(self, v_id: str, ids: Iterable[Any]) -> None:
        with self._lock, self._tx():
            for asset_id in ids:
                asset_id = check_uuid(asset_id, "asset id")
                self._delete_annotations_of(asset_id)
                self._db.execute("DELETE FROM tag_links WHERE target_id=?", (asset_id,))
                self._db.execute("DELETE FROM assets WHERE version_id=? AND id=?", (v_id, asset_id))

    # -- labels -------------------------------------------------------------------------------------

    def _label_json(self, row: sqlite3.Row) -> dict[str, Any]:
        return {"id": row["id"], "name": row["name"], "group_id": row["group_id"]}

    def list_labels(self, v_id: str, page: Page) -> dict[str, Any]:
        with self._lock:
            self.version(v_id)
            return page.run(self, "labels", ["version_id=?"], [v_id], self._label_json)

    def create_label(self, v_id: str, name: Any) -> dict[str, Any]:
        if not isinstance(name, str) or not name:
            raise ApiError(422, "name is required")
        with self._lock, self._tx():
            self.version(v_id)
            if self._one("SELECT 1 FROM labels WHERE version_id=? AND name=?", (v_id, name)):
                raise ApiError(409, "A label with this name already exists", name)
            label_id = _uid()
            self._db.execute(
                "INSERT INTO labels(id, version_id, name) VALUES (?, ?, ?)", (label_id, v_id, name)
            )
            return self._label_json(self._one("SELECT * FROM labels WHERE id=?", (label_id,)))

    def find_label(self, v_id: str, name: str) -> dict[str, Any]:
        with self._lock:
            row = self._one("SELECT * FROM labels WHERE version_id=? AND name=?", (v_id, name))
        if row is None:
            raise ApiError(404, "Label not found", name)
        return self._label_json(row)

    def label(self, label_id: str) -> dict[str, Any]:
        with self._lock:
            row = self._one("SELECT * FROM labels WHERE id=?", (label_id,))
        if row is None:
            raise ApiError(404, "Label not found", label_id)
        return self._label_json(row)

    def bulk_labels(self, v_id: str, names: Any) -> list[dict[str, Any]]:
        if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
            raise ApiError(422, "names must be a list of non-empty strings")
        with self._lock, self._tx():
            self.version(v_id)
            out = []
            for name in names:
                row = self._one("SELECT * FROM labels WHERE version_id=? AND name=?", (v_id, name))
                if row is None:
                    self._db.execute(
                        "INSERT INTO labels(id, version_id, name) VALUES (?, ?, ?)", (_uid(), v_id, name)
                    )
                    row = self._one("SELECT * FROM labels WHERE version_id=? AND name=?", (v_id, name))
                out.append(self._label_json(row))
            return out

    # -- annotations --------------------------------------------------------------------------------

    def _annotation_json(self, row: sqlite3.Row) -> dict[str, Any]:
        return {
            "id": row["id"],
            "asset_id": row["asset_id"],
            "duration": row["duration"],
            "status": row["status"],
            "attributes": _loads(row["attributes"]) or {},
        }

    def _delete_annotations_of(self, asset_id: str) -> None:
        for ann in self._all("SELECT id FROM annotations WHERE asset_id=?", (asset_id,)):
            self._db.execute("DELETE FROM shapes WHERE annotation_id=?", (ann["id"],))
        self._db.execute("DELETE FROM annotations WHERE asset_id=?", (asset_id,))

    def _new_annotation(self, asset_id: str, v_id: str, status: str, duration: float, attributes: Any) -> str:
        ann_id = _uid()
        self._db.execute(
            "INSERT INTO annotations(id, asset_id, version_id, status, duration, attributes) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (ann_id, asset_id, v_id, status, duration, _dumps(attributes)),
        )
        return ann_id

    def _insert_shapes(self, ann_id: str, v_id: str, item: dict[str, Any], where: str) -> int:
        n = 0
        for key, (kind, fields) in SHAPE_KINDS.items():
            shapes = item.get(key)
            if shapes is None:
                continue
            if not isinstance(shapes, list):
                raise ApiError(422, f"{where}: {key} must be a list")
            for j, shape in enumerate(shapes):
                geometry = _validate_shape(kind, fields, shape, f"{where}.{key}[{j}]")
                label_id = check_uuid(shape.get("label_id"), f"{where}.{key}[{j}].label_id")
                if self._one("SELECT 1 FROM labels WHERE id=? AND version_id=?", (label_id, v_id)) is None:
                    raise ApiError(
                        404, f"{where}.{key}[{j}]: label not found in this dataset version", label_id
                    )
                self._db.execute(
                    "INSERT INTO shapes(id, annotation_id, kind, label_id, geometry, text, attributes)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        _uid(),
                        ann_id,
                        kind,
                        label_id,
                        _dumps(geometry),
                        shape.get("text"),
                        _dumps(shape.get("attributes")),
                    ),
                )
                n += 1
        return n

    def bulk_annotations(self, v_id: str, body: dict[str, Any]) -> dict[str, int]:
        import_type = body.get("import_type", "REPLACE")
        if import_type not in IMPORT_TYPES:
            raise ApiError(422, "import_type must be one of REPLACE, KEEP, CONCATENATE", import_type)
        status = body.get("status") or None
        if status is not None and status not in ANNOTATION_STATUSES:
            raise ApiError(422, "unknown status", status)
        items = body.get("annotations")
        if not isinstance(items, list):
            raise ApiError(422, "annotations must be a list")
        result: dict[str, int] = {}
        with self._lock, self._tx():
            self.version(v_id)
            for i, item in enumerate(items):
                if not isinstance(item, dict):
                    raise ApiError(422, f"annotations[{i}] must be an object")
                asset_id = check_uuid(item.get("asset_id"), f"annotations[{i}].asset_id")
                if self._one("SELECT 1 FROM assets WHERE id=? AND version_id=?", (asset_id, v_id)) is None:
                    raise ApiError(
                        404, f"annotations[{i}]: asset not found in this dataset version", asset_id
                    )
                existing = self._one(
                    "SELECT * FROM annotations WHERE asset_id=? ORDER BY seq DESC LIMIT 1", (asset_id,)
                )
                if existing is not None and import_type == "KEEP":
                    result[existing["id"]] = -1
                    continue
                if existing is not None and import_type == "CONCATENATE":
                    ann_id = existing["id"]
                    if status:
                        self._db.execute("UPDATE annotations SET status=? WHERE id=?", (status, ann_id))
                else:
                    if existing is not None:
                        self._delete_annotations_of(asset_id)
                    ann_id = self._new_annotation(
                        asset_id, v_id, status or "PENDING", 0.0, item.get("attributes")
                    )
                result[ann_id] = self._insert_shapes(ann_id, v_id, item, f"annotations[{i}]")
        return result

    def create_annotation(self, asset_id: str, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock, self._tx():
            row = self._one("SELECT * FROM assets WHERE id=?", (asset_id,))
            if row is None:
                raise ApiError(404, "Asset not found", asset_id)
            ann_id = self._new_annotation(
                asset_id,
                row["version_id"],
                "PENDING",
                float(body.get("duration") or 0),
                body.get("attributes"),
            )
            return self._annotation_json(self._one("SELECT * FROM annotations WHERE id=?", (ann_id,)))

    def annotation(self, ann_id: str) -> dict[str, Any]:
        with self._lock:
            row = self._one("SELECT * FROM annotations WHERE id=?", (ann_id,))
        if row is None:
            raise ApiError(404, "Annotation not found", ann_id)
        return self._annotation_json(row)

    def asset_annotations(self, asset_id: str, latest: bool) -> Any:
        with self._lock:
            rows = self._all("SELECT * FROM annotations WHERE asset_id=? ORDER BY seq DESC", (asset_id,))
        if latest:
            if not rows:
                raise ApiError(404, "Annotation not found", asset_id)
            return self._annotation_json(rows[0])
        return {"items": [self._annotation_json(r) for r in rows], "count": len(rows)}

    def update_annotation(self, ann_id: str, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock, self._tx():
            self.annotation(ann_id)
            if "status" in body:
                if body["status"] not in ANNOTATION_STATUSES:
                    raise ApiError(422, "unknown status", body["status"])
                self._db.execute("UPDATE annotations SET status=? WHERE id=?", (body["status"], ann_id))
            if "duration" in body:
                self._db.execute(
                    "UPDATE annotations SET duration=? WHERE id=?", (float(body["duration"]), ann_id)
                )
            return self.annotation(ann_id)

    def add_shapes(self, ann_id: str, key: str, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock, self._tx():
            row = self._one("SELECT * FROM annotations WHERE id=?", (ann_id,))
            if row is None:
                raise ApiError(404, "Annotation not found", ann_id)
            before = self._one("SELECT MAX(seq) AS m FROM shapes")["m"] or 0
            self._insert_shapes(ann_id, row["version_id"], {key: body.get(key)}, key)
            rows = self._all(
                "SELECT * FROM shapes WHERE annotation_id=? AND seq>? ORDER BY seq", (ann_id, before)
            )
            return {key: [self._shape_json(r) for r in rows]}

    def list_shapes(self, ann_id: str, key: str) -> dict[str, Any]:
        kind = SHAPE_KINDS[key][0]
        with self._lock:
            self.annotation(ann_id)
            rows = self._all(
                "SELECT * FROM shapes WHERE annotation_id=? AND kind=? ORDER BY seq", (ann_id, kind)
            )
            items = [self._shape_json(r) for r in rows]
        return {"items": items, "count": len(items)}

    def _shape_json(self, row: sqlite3.Row, label_names: dict[str, str] | None = None) -> dict[str, Any]:
        geometry = _loads(row["geometry"]) or {}
        label = self._one("SELECT * FROM labels WHERE id=?", (row["label_id"],))
        out: dict[str, Any] = {"id": row["id"], **geometry}
        if label_names is not None:
            out["label"] = label_names.get(row["label_id"])
        else:
            out["label"] = self._label_json(label) if label else None
        out["text"] = row["text"]
        out["attributes"] = _loads(row["attributes"])
        kind = row["kind"]
        if kind == "rectangle":
            out["area"] = geometry["w"] * geometry["h"]
        elif kind == "polygon":
            out["area"] = _shoelace(geometry["polygon"])
        elif kind == "mask":
            out["area"], out["bbox"] = self._mask_area_bbox(row["annotation_id"], geometry["mask"])
        return out

    def _mask_area_bbox(self, ann_id: str, counts: str) -> tuple[float, list[int]]:
        row = self._one(
            "SELECT d.meta AS meta FROM annotations n JOIN assets a ON a.id=n.asset_id "
            "JOIN datas d ON d.id=a.data_id WHERE n.id=?",
            (ann_id,),
        )
        meta = _loads(row["meta"]) if row else None
        if not meta:
            return 0.0, [0, 0, 0, 0]
        from pycocotools import mask as coco_mask

        rle = {"size": [meta["height"], meta["width"]], "counts": counts.encode()}
        try:
            return float(coco_mask.area(rle)), [int(v) for v in coco_mask.toBbox(rle).tolist()]
        except Exception:  # a malformed RLE string: stored as sent, measured as empty
            return 0.0, [0, 0, 0, 0]

    def list_annotations(self, v_id: str, status: str | None, page: Page) -> dict[str, Any]:
        where, args = ["version_id=?"], [v_id]
        if status:
            where.append("status=?")
            args.append(status)
        with self._lock:
            self.version(v_id)
            return page.run(self, "annotations", where, args, self._annotation_json)

    def annotation_ids(self, v_id: str, status: str | None, asset_ids: list[str]) -> list[str]:
        where, args = ["version_id=?"], [v_id]
        if status:
            where.append("status=?")
            args.append(status)
        _in_filter(where, args, "asset_id", asset_ids or None)
        with self._lock:
            self.version(v_id)
            rows = self._all(
                f"SELECT id FROM annotations WHERE {' AND '.join(where)} ORDER BY seq DESC", args
            )
        return [r["id"] for r in rows]

    def load_annotations(self, v_id: str, ids: Any) -> list[dict[str, Any]]:
        if not isinstance(ids, list):
            raise ApiError(422, "body must be a list of annotation ids")
        if len(ids) > 1000:
            raise ApiError(400, "At most 1000 annotations per call", len(ids))
        with self._lock:
            self.version(v_id)
            names = {
                r["id"]: r["name"]
                for r in self._all("SELECT id, name FROM labels WHERE version_id=?", (v_id,))
            }
            out = []
            for ann_id in ids:
                row = self._one(
                    "SELECT * FROM annotations WHERE id=? AND version_id=?",
                    (check_uuid(ann_id, "annotation id"), v_id),
                )
                if row is None:
                    raise ApiError(404, "Annotation not found", str(ann_id))
                item: dict[str, Any] = {
                    "id": row["id"],
                    "asset_id": row["asset_id"],
                    "status": row["status"],
                    "duration": row["duration"],
                    "attributes": _loads(row["attributes"]) or {},
                }
                for key in SHAPE_KINDS:
                    item[key] = []
                for shape in self._all(
                    "SELECT * FROM shapes WHERE annotation_id=? ORDER BY seq", (row["id"],)
                ):
                    item[KIND_TO_KEY[shape["kind"]]].append(self._shape_json(shape, names))
                out.append(item)
            return out

    def delete_annotations(self, v_id: str, body: dict[str, Any]) -> None:
        asset_ids = body.get("asset_ids") or []
        with self._lock, self._tx():
            if asset_ids == ["__all__"]:
                asset_ids = [
                    r["asset_id"]
                    for r in self._all(
                        "SELECT DISTINCT asset_id FROM annotations WHERE version_id=?", (v_id,)
                    )
                ]
            for asset_id in asset_ids:
                self._delete_annotations_of(check_uuid(asset_id, "asset id"))

    def stats(self, v_id: str) -> dict[str, Any]:
        with self._lock:
            self.version(v_id)
            rows = self._all(
                "SELECT l.name AS name, COUNT(s.id) AS n FROM labels l LEFT JOIN shapes s "
                "ON s.label_id=l.id WHERE l.version_id=? GROUP BY l.id ORDER BY l.seq",
                (v_id,),
            )
            n_ann = self._one("SELECT COUNT(*) AS n FROM annotations WHERE version_id=?", (v_id,))["n"]
        repartition = {r["name"]: r["n"] for r in rows}
        return {
            "label_repartition": repartition,
            "nb_objects": sum(repartition.values()),
            "nb_annotations": n_ann,
        }


class _Transaction:
    """``with store._tx():`` -- one SQLite transaction (nested uses join the outer one)."""

    def __init__(self, store: Store) -> None:
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
            raise ApiError(422, f"limit must be between 1 and {MAX_PAGE}", limit)
        if offset is not None and offset < 0:
            raise ApiError(422, "offset must be >= 0", offset)
        self.limit = limit or MAX_PAGE
        self.offset = offset or 0
        self.after = decode_cursor(cursor) if cursor else None

    def run(
        self,
        store: Store,
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


def _in_filter(where: list[str], args: list[Any], column: str, values: Any) -> None:
    if values is None:
        return
    if not isinstance(values, list):
        raise ApiError(422, f"{column} filter must be a list")
    if len(values) > 1000:
        raise ApiError(400, "At most 1000 items per filter", len(values))
    if not values:
        where.append("0")
        return
    where.append(f"{column} IN ({','.join('?' * len(values))})")
    args.extend(str(v) for v in values)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _validate_shape(kind: str, fields: tuple[str, ...], shape: Any, where: str) -> dict[str, Any]:
    """The geometry of one shape, or ApiError(422) naming the shape (the platform's pixel rules)."""
    if not isinstance(shape, dict):
        raise ApiError(422, f"{where} must be an object")
    if kind == "rectangle":
        if not all(_is_int(shape.get(k)) for k in fields):
            raise ApiError(422, f"{where}: x, y, w, h must be integers", {k: shape.get(k) for k in fields})
        return {k: shape[k] for k in fields}
    if kind in ("polygon", "line"):
        pts = shape.get(kind)
        if not (
            isinstance(pts, list)
            and all(isinstance(p, list) and len(p) == 2 and all(map(_is_int, p)) for p in pts)
        ):
            raise ApiError(422, f"{where}: {kind} must be a list of [x, y] integer pairs")
        if len(pts) < (3 if kind == "polygon" else 2):
            raise ApiError(422, f"{where}: {kind} has too few points", len(pts))
        return {kind: pts}
    if kind == "point":
        pt = shape.get("point")
        if not (isinstance(pt, list) and len(pt) == 2 and all(map(_is_int, pt))):
            raise ApiError(422, f"{where}: point must be [x, y] integers")
        return {"point": pt}
    if kind == "keypoints":
        kps = shape.get("keypoints")
        if not (
            isinstance(kps, list)
            and all(isinstance(k, list) and len(k) == 3 and all(map(_is_number, k)) for k in kps)
        ):
            raise ApiError(422, f"{where}: keypoints must be a list of [x, y, v]")
        return {"keypoints": kps}
    if kind == "mask":
        if not isinstance(shape.get("mask"), str) or not shape["mask"]:
            raise ApiError(422, f"{where}: mask must be a compressed RLE counts string")
        return {"mask": shape["mask"]}
    return {}


def _shoelace(points: list[list[int]]) -> float:
    n = len(points)
    s = 0
    for i in range(n):
        x0, y0 = points[i]
        x1, y1 = points[(i + 1) % n]
        s += x0 * y1 - x1 * y0
    return abs(s) / 2.0
