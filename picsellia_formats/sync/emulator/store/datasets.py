"""Datasets, versions, assets, jobs and labels of the emulator's store."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable
from typing import Any

from .base import (
    INFERENCE_TYPES,
    ErrorResponse,
    Page,
    StoreBase,
    check_uuid,
    dumps,
    in_filter,
    loads,
    status_filter,
    uid,
)
from .strict import check_keys


class DatasetMixin(StoreBase):
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
            raise ErrorResponse(422, "name is required")
        with self._lock, self._tx():
            if self._one("SELECT 1 FROM datasets WHERE organization_id=? AND name=?", (org_id, name)):
                raise ErrorResponse(409, "A dataset with this name already exists", name)
            ds_id = uid()
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
                raise ErrorResponse(404, "Dataset not found", name or ds_id)
            return self._dataset_json(row)

    def dataset(self, ds_id: str) -> dict[str, Any]:
        with self._lock:
            row = self._one("SELECT * FROM datasets WHERE id=?", (ds_id,))
            if row is None:
                raise ErrorResponse(404, "Dataset not found", ds_id)
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
            raise ErrorResponse(422, "version is required")
        vtype = body.get("type") or "NOT_CONFIGURED"
        if vtype not in INFERENCE_TYPES:
            raise ErrorResponse(422, "unknown type", vtype)
        with self._lock, self._tx():
            self.dataset(ds_id)
            if self._one("SELECT 1 FROM versions WHERE dataset_id=? AND version=?", (ds_id, version)):
                raise ErrorResponse(409, "A version with this name already exists", version)
            v_id = uid()
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
                raise ErrorResponse(404, "Dataset version not found", version or v_id)
            return self._version_json(row)

    def version(self, v_id: str) -> dict[str, Any]:
        with self._lock:
            row = self._one("SELECT * FROM versions WHERE id=?", (v_id,))
            if row is None:
                raise ErrorResponse(404, "Dataset version not found", v_id)
            return self._version_json(row)

    def find_version_in_org(self, org_id: str, v_id: str) -> dict[str, Any]:
        with self._lock:
            row = self._one(
                "SELECT v.* FROM versions v JOIN datasets d ON d.id=v.dataset_id "
                "WHERE d.organization_id=? AND v.id=?",
                (org_id, v_id),
            )
            if row is None:
                raise ErrorResponse(404, "Dataset version not found", v_id)
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
                    raise ErrorResponse(422, "unknown type", body["type"])
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
            raise ErrorResponse(422, "data_ids must be a non-empty list")
        if len(data_ids) > 10000:
            raise ErrorResponse(400, "At most 10000 data_ids per call", len(data_ids))
        with self._lock, self._tx():
            self.version(v_id)
            missing = [
                d
                for d in data_ids
                if self._one("SELECT 1 FROM datas WHERE id=?", (check_uuid(d, "data id"),)) is None
            ]
            if missing:
                raise ErrorResponse(404, "Some data were not found", missing[:10])
            tag_ids = [check_uuid(t, "asset tag id") for t in body.get("asset_tag_ids") or ()]
            for data_id in data_ids:
                data_id = str(data_id)
                row = self._one("SELECT id FROM assets WHERE version_id=? AND data_id=?", (v_id, data_id))
                asset_id = row["id"] if row else uid()
                if row is None:
                    self._db.execute(
                        "INSERT INTO assets(id, version_id, data_id) VALUES (?, ?, ?)",
                        (asset_id, v_id, data_id),
                    )
                for tag_id in tag_ids:
                    self._db.execute("INSERT OR IGNORE INTO tag_links VALUES (?, ?)", (tag_id, asset_id))
            job_id = uid()
            self._db.execute(
                "INSERT INTO jobs VALUES (?, 'RUNNING', ?)", (job_id, time.time() + self.job_delay)
            )
            return {"job": {"id": job_id, "status": "RUNNING"}}

    def job(self, job_id: str) -> dict[str, Any]:
        with self._lock:
            row = self._one("SELECT * FROM jobs WHERE id=?", (job_id,))
        if row is None:
            raise ErrorResponse(404, "Job not found", job_id)
        status = "SUCCESS" if time.time() >= row["done_at"] else row["status"]
        return {"id": row["id"], "status": status}

    def list_assets(
        self, v_id: str, filters: dict[str, Any], page: Page, url: Callable[[str], str],
        statuses: list[str] | None = None, types: list[str] | None = None,
    ) -> dict[str, Any]:
        where, args = ["a.version_id=?"], [v_id]
        for key, column in (
            ("ids", "a.id"),
            ("data_ids", "a.data_id"),
            ("filenames", "d.filename"),
            ("object_names", "d.object_name"),
        ):
            in_filter(where, args, column, filters.get(key))
        status_filter(where, args, "d.status", "d.type", statuses, types)
        self.advance_processing()
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
                        raise ErrorResponse(404, "Asset not found", params[key])
                    if len(rows) > 1:
                        raise ErrorResponse(400, "Several assets match this query", params[key])
                    return self._asset_json(rows[0], url)
        raise ErrorResponse(400, "Give one of id, data_id, filename, object_name")

    def asset(self, asset_id: str, url: Callable[[str], str]) -> dict[str, Any]:
        with self._lock, self._tx():
            row = self._one("SELECT * FROM assets WHERE id=?", (asset_id,))
            if row is None:
                raise ErrorResponse(404, "Asset not found", asset_id)
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
            raise ErrorResponse(422, "name is required")
        with self._lock, self._tx():
            self.version(v_id)
            if self._one("SELECT 1 FROM labels WHERE version_id=? AND name=?", (v_id, name)):
                raise ErrorResponse(409, "A label with this name already exists", name)
            label_id = uid()
            self._db.execute(
                "INSERT INTO labels(id, version_id, name) VALUES (?, ?, ?)", (label_id, v_id, name)
            )
            return self._label_json(self._one("SELECT * FROM labels WHERE id=?", (label_id,)))

    def find_label(self, v_id: str, name: str) -> dict[str, Any]:
        with self._lock:
            row = self._one("SELECT * FROM labels WHERE version_id=? AND name=?", (v_id, name))
        if row is None:
            raise ErrorResponse(404, "Label not found", name)
        return self._label_json(row)

    def label(self, label_id: str) -> dict[str, Any]:
        with self._lock:
            row = self._one("SELECT * FROM labels WHERE id=?", (label_id,))
        if row is None:
            raise ErrorResponse(404, "Label not found", label_id)
        return self._label_json(row)

    def bulk_labels(self, v_id: str, names: Any) -> list[dict[str, Any]]:
        if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
            raise ErrorResponse(422, "names must be a list of non-empty strings")
        with self._lock, self._tx():
            self.version(v_id)
            out = []
            for name in names:
                row = self._one("SELECT * FROM labels WHERE version_id=? AND name=?", (v_id, name))
                if row is None:
                    self._db.execute(
                        "INSERT INTO labels(id, version_id, name) VALUES (?, ?, ?)", (uid(), v_id, name)
                    )
                    row = self._one("SELECT * FROM labels WHERE version_id=? AND name=?", (v_id, name))
                out.append(self._label_json(row))
            return out


    # -- skeletons, label groups, campaign locks -------------------------------------------------------

    def skeletons(self, v_id: str) -> dict[str, Any]:
        with self._lock:
            self.version(v_id)
            rows = self._all("SELECT s.* FROM skeletons s JOIN labels l ON l.id=s.label_id WHERE l.version_id=?",
                             (v_id,))
        return {"items": {r["label_id"]: {"vertices": loads(r["vertices"]), "edges": loads(r["edges"])}
                          for r in rows}}

    def skeleton(self, label_id: str) -> dict[str, Any]:
        self.label(label_id)
        with self._lock:
            row = self._one("SELECT * FROM skeletons WHERE label_id=?", (label_id,))
        if row is None:
            return {"vertices": [], "edges": []}
        return {"vertices": loads(row["vertices"]), "edges": loads(row["edges"])}

    def set_skeleton(self, label_id: str, body: Any) -> None:
        """``Label.set_skeleton``: ``vertices`` names, ``edges`` 1-based pairs of vertex indexes."""
        check_keys(body, ("vertices", "edges"), "skeleton")
        vertices, edges = body.get("vertices"), body.get("edges")
        if not (isinstance(vertices, list) and vertices and all(isinstance(v, str) for v in vertices)):
            raise ErrorResponse(422, "vertices must be a non-empty list of names")
        if not (isinstance(edges, list) and all(
                isinstance(e, list) and len(e) == 2 and all(isinstance(i, int) and 1 <= i <= len(vertices)
                                                            for i in e) for e in edges)):
            raise ErrorResponse(422, "edges must be pairs of 1-based vertex indexes", edges)
        self.label(label_id)
        with self._lock, self._tx():
            self._db.execute("INSERT OR REPLACE INTO skeletons VALUES (?, ?, ?)",
                             (label_id, dumps(vertices), dumps(edges)))

    def label_groups(self, v_id: str) -> dict[str, Any]:
        with self._lock:
            self.version(v_id)
            rows = self._all("SELECT * FROM label_groups WHERE version_id=? ORDER BY seq", (v_id,))
        items = [{"id": r["id"], "name": r["name"], "parent_id": r["parent_id"]} for r in rows]
        return {"items": items, "count": len(items)}

    def create_label_group(self, v_id: str, body: Any) -> dict[str, Any]:
        check_keys(body, ("name", "parent_id"), "label group")
        name = body.get("name")
        if not isinstance(name, str) or not name:
            raise ErrorResponse(422, "name is required")
        with self._lock, self._tx():
            self.version(v_id)
            if self._one("SELECT 1 FROM label_groups WHERE version_id=? AND name=?", (v_id, name)):
                raise ErrorResponse(409, "A label group with this name already exists", name)
            group_id = uid()
            self._db.execute("INSERT INTO label_groups(id, version_id, name, parent_id) VALUES (?, ?, ?, ?)",
                             (group_id, v_id, name, body.get("parent_id")))
        return {"id": group_id, "name": name, "parent_id": body.get("parent_id")}

    def update_label(self, label_id: str, body: Any) -> dict[str, Any]:
        check_keys(body, ("name", "group_id"), "label")
        self.label(label_id)
        with self._lock, self._tx():
            if "group_id" in body:
                group = body["group_id"]
                if group is not None and self._one("SELECT 1 FROM label_groups WHERE id=?", (str(group),)) is None:
                    raise ErrorResponse(404, "Label group not found", group)
                self._db.execute("UPDATE labels SET group_id=? WHERE id=?", (group, label_id))
            if isinstance(body.get("name"), str) and body["name"]:
                self._db.execute("UPDATE labels SET name=? WHERE id=?", (body["name"], label_id))
        return self.label(label_id)

    def lock_assets(self, asset_ids: Iterable[str]) -> None:
        """Put assets in an annotation campaign: bulk-annotations then leaves their annotations alone."""
        with self._lock, self._tx():
            for asset_id in asset_ids:
                self._db.execute("INSERT OR IGNORE INTO locked_assets VALUES (?)", (check_uuid(asset_id, "asset id"),))
