"""What the platform accepts, as the SDK implies it: body keys of data creation and bulk annotations, the
fixed metadata keys, custom metadata against the datalake's schema, shapes per version type.

Each rule names the SDK code it comes from; a request that breaks one gets the platform's error body.

Example:
    >>> check_keys({"filename": "a.jpg", "pf": 1}, DATA_KEYS, "data")
    Traceback (most recent call last):
    ...
    picsellia_formats.sync.emulator.store.base.ErrorResponse: 422 data: unknown field(s) pf
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .base import ErrorResponse

#: ``services/data_uploader.py::_prepare_payload`` (and ``Datalake.create_data`` from object storage).
DATA_KEYS = frozenset({"type", "filename", "object_name", "content_type", "tags", "data_source_id", "meta",
                       "metadata", "custom_metadata"})
#: The platform's fixed metadata (``exif.py::_get_image_metadata_from_exif_flags`` and the documented
#: location / reference keys); anything else belongs in custom metadata.
METADATA_KEYS = frozenset({"acquired_at", "acquired_by", "resolution_x", "resolution_y", "resolution_unit",
                           "compression", "manufacturer", "software", "color_space", "latitude", "longitude",
                           "altitude", "height", "width", "custom_id", "reference"})
#: ``services/coco_importer.py::read_annotations`` (the keys of one bulk-annotations item).
BULK_ITEM_KEYS = frozenset({"asset_id", "rectangles", "classifications", "polygons", "keypoints", "masks",
                            "attributes"})
#: Per-shape keys the SDK sends, besides the geometry: ``label_id``, ``text``, ``attributes``.
SHAPE_COMMON = frozenset({"label_id", "text", "attributes"})
#: Shape lists each version type holds (the SDK's importers write one kind per type; masks "only in MASK
#: datasets"); MULTI holds every kind but masks.
ALLOWED = {
    "OBJECT_DETECTION": ("rectangles",),
    "SEGMENTATION": ("polygons",),
    "MASK": ("masks",),
    "CLASSIFICATION": ("classifications",),
    "KEYPOINT": ("keypoints",),
    "LINE": ("lines",),
    "POINT": ("points",),
    "MULTI": ("rectangles", "polygons", "classifications", "keypoints", "lines", "points"),
    "NOT_CONFIGURED": (),
}
CUSTOM_TYPES = {"STRING": str, "INTEGER": int, "FLOAT": (int, float), "BOOLEAN": bool, "DATETIME": str}
#: ``types/schemas.py::BaseCustomMetadataKey`` and its subclasses (``extra="forbid"``).
CUSTOM_KEY_FIELDS = frozenset({"required", "display_name", "archived", "input_type", "choices", "allow_multiple",
                               "min", "max"})


def check_keys(body: Mapping[str, Any], allowed: Iterable[str], where: str) -> None:
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise ErrorResponse(422, f"{where}: unknown field(s) {', '.join(unknown)}", unknown)


def check_metadata(metadata: Any) -> None:
    if metadata is None:
        return
    if not isinstance(metadata, dict):
        raise ErrorResponse(422, "metadata must be an object")
    unknown = sorted(set(metadata) - METADATA_KEYS)
    if unknown:
        raise ErrorResponse(422, f"metadata: unknown key(s) {', '.join(unknown)} (use custom_metadata)", unknown)


def check_custom_metadata(values: Any, schema: Mapping[str, Any], allow_extra: bool) -> None:
    if values is None:
        return
    if not isinstance(values, dict):
        raise ErrorResponse(422, "custom_metadata must be an object")
    for key, value in values.items():
        spec = schema.get(key)
        if spec is None:
            if not allow_extra:
                raise ErrorResponse(422, f"custom_metadata: key {key!r} is not in the datalake's schema", key)
            continue
        kind = CUSTOM_TYPES[spec["input_type"]]
        if value is not None and (not isinstance(value, kind) or (kind is int and isinstance(value, bool))):
            raise ErrorResponse(422, f"custom_metadata: {key!r} must be {spec['input_type']}", value)
    missing = [k for k, s in schema.items() if s.get("required") and not s.get("archived") and k not in values]
    if missing:
        raise ErrorResponse(422, f"custom_metadata: required key(s) missing: {', '.join(missing)}", missing)


def check_custom_key(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ErrorResponse(422, "Body must be a JSON object")
    check_keys(body, CUSTOM_KEY_FIELDS, "custom metadata key")
    if body.get("input_type") not in CUSTOM_TYPES:
        raise ErrorResponse(422, "input_type must be one of " + ", ".join(CUSTOM_TYPES), body.get("input_type"))
    if not isinstance(body.get("required"), bool):
        raise ErrorResponse(422, "required must be a boolean", body.get("required"))
    return {k: v for k, v in body.items() if v is not None}


def check_bulk_item(item: Mapping[str, Any], version_type: str, where: str) -> None:
    check_keys(item, BULK_ITEM_KEYS, where)
    for key in ("rectangles", "classifications", "polygons", "keypoints", "masks"):
        if item.get(key) and key not in ALLOWED.get(version_type, ()):
            raise ErrorResponse(400, f"{where}: {key} cannot be imported in a {version_type} dataset version",
                                key)


def check_shape_type(key: str, version_type: str, where: str) -> None:
    if key not in ALLOWED.get(version_type, ()):
        raise ErrorResponse(400, f"{where}: {key} cannot be created in a {version_type} dataset version", key)
