"""Annotations and shapes of the emulator's store."""

from __future__ import annotations

import sqlite3
from typing import Any

from .base import (
    ANNOTATION_STATUSES,
    IMPORT_TYPES,
    KIND_TO_KEY,
    SHAPE_KINDS,
    ErrorResponse,
    Page,
    StoreBase,
    check_uuid,
    dumps,
    in_filter,
    loads,
    uid,
)
from .strict import SHAPE_COMMON, check_bulk_item, check_keys, check_shape_type
from .validate import shoelace, validate_shape


class AnnotationMixin(StoreBase):
    # -- annotations --------------------------------------------------------------------------------

    def _annotation_json(self, row: sqlite3.Row) -> dict[str, Any]:
        return {
            "id": row["id"],
            "asset_id": row["asset_id"],
            "duration": row["duration"],
            "status": row["status"],
            "attributes": loads(row["attributes"]) or {},
        }

    def _delete_annotations_of(self, asset_id: str) -> None:
        for ann in self._all("SELECT id FROM annotations WHERE asset_id=?", (asset_id,)):
            self._db.execute("DELETE FROM shapes WHERE annotation_id=?", (ann["id"],))
        self._db.execute("DELETE FROM annotations WHERE asset_id=?", (asset_id,))

    def _new_annotation(self, asset_id: str, v_id: str, status: str, duration: float, attributes: Any) -> str:
        ann_id = uid()
        self._db.execute(
            "INSERT INTO annotations(id, asset_id, version_id, status, duration, attributes) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (ann_id, asset_id, v_id, status, duration, dumps(attributes)),
        )
        return ann_id

    def _insert_shapes(self, ann_id: str, v_id: str, item: dict[str, Any], where: str) -> int:
        n = 0
        for key, (kind, fields) in SHAPE_KINDS.items():
            shapes = item.get(key)
            if shapes is None:
                continue
            if not isinstance(shapes, list):
                raise ErrorResponse(422, f"{where}: {key} must be a list")
            for j, shape in enumerate(shapes):
                geometry = validate_shape(kind, fields, shape, f"{where}.{key}[{j}]")
                check_keys(shape, {*fields, *SHAPE_COMMON}, f"{where}.{key}[{j}]")
                label_id = check_uuid(shape.get("label_id"), f"{where}.{key}[{j}].label_id")
                if self._one("SELECT 1 FROM labels WHERE id=? AND version_id=?", (label_id, v_id)) is None:
                    raise ErrorResponse(
                        404, f"{where}.{key}[{j}]: label not found in this dataset version", label_id
                    )
                if kind == "keypoints":
                    skel = self._one("SELECT vertices FROM skeletons WHERE label_id=?", (label_id,))
                    if skel is None:
                        raise ErrorResponse(400, f"{where}.{key}[{j}]: the label has no skeleton "
                                            "(POST /api/label/{id}/skeleton first)", label_id)
                    if len(geometry["keypoints"]) != len(loads(skel["vertices"])):
                        raise ErrorResponse(422, f"{where}.{key}[{j}]: keypoints do not match the skeleton's "
                                            "vertices", len(geometry["keypoints"]))
                self._db.execute(
                    "INSERT INTO shapes(id, annotation_id, kind, label_id, geometry, text, attributes)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        uid(),
                        ann_id,
                        kind,
                        label_id,
                        dumps(geometry),
                        shape.get("text"),
                        dumps(shape.get("attributes")),
                    ),
                )
                n += 1
        return n

    def bulk_annotations(self, v_id: str, body: dict[str, Any]) -> dict[str, int]:
        import_type = body.get("import_type", "REPLACE")
        if import_type not in IMPORT_TYPES:
            raise ErrorResponse(422, "import_type must be one of REPLACE, KEEP, CONCATENATE", import_type)
        status = body.get("status") or None
        if status is not None and status not in ANNOTATION_STATUSES:
            raise ErrorResponse(422, "unknown status", status)
        items = body.get("annotations")
        if not isinstance(items, list):
            raise ErrorResponse(422, "annotations must be a list")
        result: dict[str, int] = {}
        with self._lock, self._tx():
            vtype = self.version(v_id)["type"]
            for i, item in enumerate(items):
                if not isinstance(item, dict):
                    raise ErrorResponse(422, f"annotations[{i}] must be an object")
                check_bulk_item(item, vtype, f"annotations[{i}]")
                asset_id = check_uuid(item.get("asset_id"), f"annotations[{i}].asset_id")
                if self._one("SELECT 1 FROM locked_assets WHERE asset_id=?", (asset_id,)):
                    continue  # "Annotations of assets that are already in a campaign won't be imported"
                if self._one("SELECT 1 FROM assets WHERE id=? AND version_id=?", (asset_id, v_id)) is None:
                    raise ErrorResponse(
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
                raise ErrorResponse(404, "Asset not found", asset_id)
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
            raise ErrorResponse(404, "Annotation not found", ann_id)
        return self._annotation_json(row)

    def asset_annotations(self, asset_id: str, latest: bool) -> Any:
        with self._lock:
            rows = self._all("SELECT * FROM annotations WHERE asset_id=? ORDER BY seq DESC", (asset_id,))
        if latest:
            if not rows:
                raise ErrorResponse(404, "Annotation not found", asset_id)
            return self._annotation_json(rows[0])
        return {"items": [self._annotation_json(r) for r in rows], "count": len(rows)}

    def update_annotation(self, ann_id: str, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock, self._tx():
            self.annotation(ann_id)
            if "status" in body:
                if body["status"] not in ANNOTATION_STATUSES:
                    raise ErrorResponse(422, "unknown status", body["status"])
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
                raise ErrorResponse(404, "Annotation not found", ann_id)
            check_keys(body, (key,), f"bulk-{key}")
            check_shape_type(key, self.version(row["version_id"])["type"], f"bulk-{key}")
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
        geometry = loads(row["geometry"]) or {}
        label = self._one("SELECT * FROM labels WHERE id=?", (row["label_id"],))
        out: dict[str, Any] = {"id": row["id"], **geometry}
        if label_names is not None:
            out["label"] = label_names.get(row["label_id"])
        else:
            out["label"] = self._label_json(label) if label else None
        out["text"] = row["text"]
        out["attributes"] = loads(row["attributes"])
        kind = row["kind"]
        if kind == "rectangle":
            out["area"] = geometry["w"] * geometry["h"]
        elif kind == "polygon":
            out["area"] = shoelace(geometry["polygon"])
        elif kind == "mask":
            out["area"], out["bbox"] = self._mask_area_bbox(row["annotation_id"], geometry["mask"])
        return out

    def _mask_area_bbox(self, ann_id: str, counts: str) -> tuple[float, list[int]]:
        row = self._one(
            "SELECT d.meta AS meta FROM annotations n JOIN assets a ON a.id=n.asset_id "
            "JOIN datas d ON d.id=a.data_id WHERE n.id=?",
            (ann_id,),
        )
        meta = loads(row["meta"]) if row else None
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
        in_filter(where, args, "asset_id", asset_ids or None)
        with self._lock:
            self.version(v_id)
            rows = self._all(
                f"SELECT id FROM annotations WHERE {' AND '.join(where)} ORDER BY seq DESC", args
            )
        return [r["id"] for r in rows]

    def load_annotations(self, v_id: str, ids: Any) -> list[dict[str, Any]]:
        if not isinstance(ids, list):
            raise ErrorResponse(422, "body must be a list of annotation ids")
        if len(ids) > 1000:
            raise ErrorResponse(400, "At most 1000 annotations per call", len(ids))
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
                    raise ErrorResponse(404, "Annotation not found", str(ann_id))
                item: dict[str, Any] = {
                    "id": row["id"],
                    "asset_id": row["asset_id"],
                    # no status: the SDK reads it from the annotation listing, not from loaded annotations
                    "duration": row["duration"],
                    "attributes": loads(row["attributes"]) or {},
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


