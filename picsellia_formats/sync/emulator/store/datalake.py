"""Datalake data and tags of the emulator's store."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable
from typing import Any

from .base import (
    ErrorResponse,
    Page,
    StoreBase,
    check_uuid,
    dumps,
    image_size,
    in_filter,
    loads,
    status_filter,
    uid,
)
from .strict import DATA_KEYS, check_custom_key, check_custom_metadata, check_keys, check_metadata


class DataMixin(StoreBase):
    # -- data ---------------------------------------------------------------------------------------

    def _data_json(self, row: sqlite3.Row, url: Callable[[str], str]) -> dict[str, Any]:
        status = row["status"]
        meta = loads(row["meta"])
        if status in ("PENDING", "COMPUTING") and time.time() >= row["created"] + self.processing_delay:
            status, meta = self._process(row)
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
            "meta": meta,
            "metadata": loads(row["metadata"]),
            "custom_metadata": loads(row["custom_metadata"]),
            "tags": tags,
        }

    def create_data(self, lake_id: str, body: dict[str, Any], url: Callable[[str], str]) -> dict[str, Any]:
        check_keys(body, DATA_KEYS, "data")
        for key in ("filename", "object_name"):
            if not isinstance(body.get(key), str) or not body[key]:
                raise ErrorResponse(422, f"{key} is required")
        if "/" in body["filename"] or "\\" in body["filename"]:
            raise ErrorResponse(422, "filename must be a base name (the SDK sends os.path.basename)",
                                body["filename"])
        check_metadata(body.get("metadata"))
        data_type = body.get("type", "IMAGE")
        if data_type not in ("IMAGE", "VIDEO"):
            raise ErrorResponse(422, "type must be IMAGE or VIDEO", data_type)
        meta = body.get("meta")
        if meta is not None and not (
            isinstance(meta, dict)
            and isinstance(meta.get("width"), int)
            and isinstance(meta.get("height"), int)
        ):
            raise ErrorResponse(422, "meta must be {width: int, height: int}", meta)
        with self._lock, self._tx():
            self.datalake(self.organization_id, lake_id)
            schema = self.custom_metadata_schema(lake_id)
            check_custom_metadata(body.get("custom_metadata"), schema["custom_metadata_schema"] or {},
                                  schema["allow_extra_custom_metadata"])
            if self._one("SELECT 1 FROM datas WHERE object_name=?", (body["object_name"],)):
                raise ErrorResponse(409, "A data with this object name already exists", body["object_name"])
            data_id = uid()
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
                    dumps(meta),
                    dumps(body.get("metadata")),
                    dumps(body.get("custom_metadata")),
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
                raise ErrorResponse(404, "Data not found", data_id)
            return self._data_json(row, url)

    def find_data(self, lake_id: str, params: dict[str, str], url: Callable[[str], str]) -> dict[str, Any]:
        for key in ("id", "object_name", "filename"):
            if params.get(key):
                with self._lock, self._tx():
                    rows = self._all(
                        f"SELECT * FROM datas WHERE datalake_id=? AND {key}=?", (lake_id, params[key])
                    )
                    if not rows:
                        raise ErrorResponse(404, "Data not found", params[key])
                    if len(rows) > 1:
                        raise ErrorResponse(400, "Several data match this query", params[key])
                    return self._data_json(rows[0], url)
        raise ErrorResponse(400, "Give one of id, object_name, filename")

    def _process(self, row: sqlite3.Row) -> tuple[str, Any]:
        """What the platform's processing does: DONE with the image size read from the stored object
        (EXIF orientation applied) when the object exists, else ERROR."""
        stored = self._one("SELECT path FROM objects WHERE object_name=?", (row["object_name"],))
        meta = loads(row["meta"])
        status = "DONE" if stored else "ERROR"
        if stored and meta is None and row["type"] == "IMAGE":
            meta = image_size(self.data_dir / stored["path"])
            if meta is None:
                status = "ERROR"
        self._db.execute("UPDATE datas SET status=?, meta=? WHERE id=?", (status, dumps(meta), row["id"]))
        return status, meta

    def advance_processing(self) -> None:
        """Finish the processing of every data whose delay has passed (so listings can filter on it)."""
        with self._lock, self._tx():
            for row in self._all("SELECT * FROM datas WHERE status IN ('PENDING', 'COMPUTING') AND created<=?",
                                 (time.time() - self.processing_delay,)):
                self._process(row)

    def list_datas(
        self, lake_id: str, filters: dict[str, Any], page: Page, url: Callable[[str], str],
        statuses: list[str] | None = None, types: list[str] | None = None,
    ) -> dict[str, Any]:
        where, args = ["datalake_id=?"], [lake_id]
        for key, column in (("ids", "id"), ("filenames", "filename"), ("object_names", "object_name")):
            in_filter(where, args, column, filters.get(key))
        status_filter(where, args, "status", "type", statuses, types)
        self.advance_processing()
        with self._lock, self._tx():
            return page.run(self, "datas", where, args, lambda r: self._data_json(r, url))

    # -- custom metadata schema -----------------------------------------------------------------------

    def custom_metadata_schema(self, lake_id: str) -> dict[str, Any]:
        with self._lock:
            rows = self._all("SELECT key, spec FROM custom_keys WHERE datalake_id=? ORDER BY key", (lake_id,))
            row = self._one("SELECT allow_extra FROM lake_settings WHERE datalake_id=?", (lake_id,))
        schema = {r["key"]: loads(r["spec"]) for r in rows}
        return {"custom_metadata_schema": schema or None, "allow_extra_custom_metadata": bool(row and row[0]),
                "keys": {k: {"indexed": False} for k in schema}}

    def upsert_custom_key(self, lake_id: str, key: str, body: Any) -> dict[str, Any]:
        if not key or len(key) > 256:
            raise ErrorResponse(422, "key must be 1-256 characters", key)
        spec = check_custom_key(body)
        with self._lock, self._tx():
            self.datalake(self.organization_id, lake_id)
            self._db.execute("INSERT OR REPLACE INTO custom_keys VALUES (?, ?, ?)", (lake_id, key, dumps(spec)))
        return spec

    def set_allow_extra(self, lake_id: str, body: Any) -> None:
        value = body.get("allow_extra_custom_metadata") if isinstance(body, dict) else None
        if not isinstance(value, bool):
            raise ErrorResponse(422, "allow_extra_custom_metadata must be a boolean", value)
        with self._lock, self._tx():
            self._db.execute("INSERT OR REPLACE INTO lake_settings VALUES (?, ?)", (lake_id, int(value)))

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
            raise ErrorResponse(422, "name is required")
        with self._lock, self._tx():
            if self._one(
                "SELECT 1 FROM tags WHERE scope_id=? AND target_type=? AND name=?",
                (scope_id, target_type, name),
            ):
                raise ErrorResponse(409, "A tag with this name already exists", name)
            tag_id = uid()
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
            raise ErrorResponse(404, "Tag not found", name)
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
            raise ErrorResponse(404, "Tag not found", tag_id)
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

