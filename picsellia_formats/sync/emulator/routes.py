"""The platform's API paths as the emulator serves them: one small handler per route over `Store`.

A handler takes the request (`Ctx`) and the path's ids and returns ``(status, json)`` or raises
`ErrorResponse`; `route` registers it. The HTTP plumbing is in ``server``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

import orjson

from .store import SHAPE_KINDS, ErrorResponse, Page, check_uuid
from .store.strict import check_keys

if TYPE_CHECKING:
    from .server import Emulator

PRESIGNED_TTL = 3600
SDK_VERSION = "6.37.0"


class Drop(Exception):
    """Close the connection without answering."""


class Ctx:
    """One request as the route handlers see it."""

    def __init__(
        self,
        emu: Emulator,
        method: str,
        path: str,
        params: dict[str, list[str]],
        body: bytes,
        headers: Any,
        base: str,
    ) -> None:
        self.emu, self.store = emu, emu.store
        self.method, self.path, self.params, self.body, self.headers, self.base = (
            method,
            path,
            params,
            body,
            headers,
            base,
        )
        self.org_id = ""

    def q(self, name: str, default: str | None = None) -> str | None:
        values = self.params.get(name)
        return values[-1] if values else default

    def qlist(self, name: str) -> list[str]:
        return self.params.get(name, [])

    def json(self) -> Any:
        if not self.body:
            return {}
        try:
            return orjson.loads(self.body)
        except orjson.JSONDecodeError as exc:
            raise ErrorResponse(400, "Body is not valid JSON", str(exc)) from None

    def obj(self) -> dict[str, Any]:
        body = self.json()
        if not isinstance(body, dict):
            raise ErrorResponse(422, "Body must be a JSON object")
        return body

    def page(self) -> Page:
        def num(name: str) -> int | None:
            v = self.q(name)
            if v in (None, ""):
                return None
            try:
                return int(v)
            except ValueError:
                raise ErrorResponse(422, f"{name} must be an integer", v) from None

        return Page(num("limit"), num("offset"), self.q("cursor"))

    def url_for(self, object_name: str) -> str:
        expires = int(time.time()) + PRESIGNED_TTL
        sig = self.emu.sign("GET", object_name, expires)
        return f"{self.base}/_storage/object?key={quote(object_name, safe='')}&expires={expires}&sig={sig}"


Handler = Callable[..., tuple[int, Any]]
ROUTES: list[tuple[str, re.Pattern[str], Handler, str]] = []
_ID = r"(?P<{}>[0-9a-fA-F-]{{36}})"


def route(method: str, pattern: str) -> Callable[[Handler], Handler]:
    """Register a handler for ``method pattern`` (``{name}`` matches a uuid)."""
    regex = re.compile("^" + re.sub(r"\{(\w+)(:name)?\}", lambda m: (
        f"(?P<{m.group(1)}>[^/]+)" if m.group(2) else _ID.format(m.group(1))), pattern) + "$")

    def deco(fn: Handler) -> Handler:
        for m in method.split("|"):
            ROUTES.append((m, regex, fn, pattern.replace(":name}", "}")))
        return fn

    return deco


def _own_org(ctx: Ctx, org: str) -> str:
    if org != ctx.org_id:
        raise ErrorResponse(404, "Organization not found", org)
    return org


def _listing_filters(ctx: Ctx, filters: dict[str, Any]) -> tuple[list[str], list[str]]:
    """``upload_statuses`` / ``types`` of a data or asset listing: in the query of a GET, in the body of
    an XGET (``services/lister/default.py``); the other filters an XGET may carry are checked too."""
    if ctx.method == "XGET":
        check_keys(filters, _XGET_FILTERS, "listing")
        statuses, types = filters.get("upload_statuses") or [], filters.get("types") or []
        if not isinstance(statuses, list) or not isinstance(types, list):
            raise ErrorResponse(422, "upload_statuses and types must be lists")
        return statuses, types
    return ctx.qlist("upload_statuses"), ctx.qlist("types")


_XGET_FILTERS = ("ids", "filenames", "object_names", "data_ids", "filename_startswith", "q", "upload_statuses",
                 "types")


# -- connect ---------------------------------------------------------------------------------------


@route("GET", "/api/home/ping")
def _ping(ctx: Ctx) -> tuple[int, Any]:
    return 200, {"username": ctx.emu.username, "sdk_version": SDK_VERSION, "default_organization": ctx.org_id}


@route("GET", "/api/organization/{org}")
def _organization(ctx: Ctx, org: str) -> tuple[int, Any]:
    return 200, ctx.store.organization(_own_org(ctx, org))


@route("GET", "/api/organizations/find")
def _find_org(ctx: Ctx) -> tuple[int, Any]:
    found = ctx.store.find_organization(ctx.q("name") or "")
    if found["id"] != ctx.org_id:
        raise ErrorResponse(404, "Organization not found", ctx.q("name"))
    return 200, found


@route("GET", "/api/organization/{org}/datalake")
def _datalake_of(ctx: Ctx, org: str) -> tuple[int, Any]:
    return 200, ctx.store.datalake(_own_org(ctx, org), ctx.q("id"), ctx.q("name"))


@route("GET", "/api/organization/{org}/datalakes")
def _datalakes(ctx: Ctx, org: str) -> tuple[int, Any]:
    items = ctx.store.datalakes(_own_org(ctx, org))
    return 200, {"items": items, "count": len(items)}


@route("GET", "/api/datalake/{lake}")
def _datalake(ctx: Ctx, lake: str) -> tuple[int, Any]:
    return 200, ctx.store.datalake(ctx.org_id, lake)


# -- upload ----------------------------------------------------------------------------------------


@route("POST", "/api/organization/{org}/connector/{connector}/generate_object_name")
def _object_name(ctx: Ctx, org: str, connector: str) -> tuple[int, Any]:
    _own_org(ctx, org)
    ctx.store.check_connector(connector)
    body = ctx.obj()
    return 200, {
        "object_name": ctx.store.generate_object_name(body.get("filename") or "", body.get("upload_dir"))
    }


@route("POST", "/api/object-storage/{connector}/generate_presigned_url")
def _presign_upload(ctx: Ctx, connector: str) -> tuple[int, Any]:
    ctx.store.check_connector(connector)
    body = ctx.obj()
    object_name = body.get("object_name")
    if not isinstance(object_name, str) or not object_name:
        raise ErrorResponse(422, "object_name is required")
    expires = int(time.time()) + PRESIGNED_TTL
    fields_ = {
        "key": object_name,
        "x-pf-expires": str(expires),
        "x-pf-signature": ctx.emu.sign("POST", object_name, expires),
    }
    return 200, {
        "client_type": "minio",
        "presigned_url_data": {"url": f"{ctx.base}/_storage/upload", "fields": fields_},
    }


@route("POST", "/api/object-storage/{connector}/init_multipart_upload")
def _multipart(ctx: Ctx, connector: str) -> tuple[int, Any]:
    """``PlatformAdapter.init_multipart_upload``: an S3-style upload id (client type minio)."""
    ctx.store.check_connector(connector)
    body = ctx.obj()
    check_keys(body, ("object_name", "content_type"), "init_multipart_upload")
    if not isinstance(body.get("object_name"), str) or not body["object_name"]:
        raise ErrorResponse(422, "object_name is required")
    return 200, {"client_type": "minio", "upload_id": ctx.emu.multipart.start(body["object_name"],
                                                                              str(body.get("content_type")))}


@route("POST", "/api/object-storage/{connector}/generate_part_presigned_url")
def _part_url(ctx: Ctx, connector: str) -> tuple[int, Any]:
    ctx.store.check_connector(connector)
    body = ctx.obj()
    check_keys(body, ("object_name", "upload_id", "part_no"), "generate_part_presigned_url")
    part = body.get("part_no")
    if not isinstance(part, int) or isinstance(part, bool) or not 1 <= part <= 10000:
        raise ErrorResponse(422, "part_no must be an integer 1-10000", part)
    ctx.emu.multipart.check(str(body.get("upload_id")), str(body.get("object_name")))
    expires = int(time.time()) + PRESIGNED_TTL
    key = f"{body['upload_id']}/{part}"
    sig = ctx.emu.sign("PUT", key, expires)
    return 200, {"url": f"{ctx.base}/_storage/part?key={quote(key, safe='')}&expires={expires}&sig={sig}"}


@route("POST", "/api/object-storage/{connector}/complete_part_upload")
def _complete(ctx: Ctx, connector: str) -> tuple[int, Any]:
    ctx.store.check_connector(connector)
    body = ctx.obj()
    check_keys(body, ("object_name", "upload_id", "parts"), "complete_part_upload")
    parts = body.get("parts")
    if not isinstance(parts, list) or not all(isinstance(p, dict) and set(p) == {"ETag", "PartNumber"}
                                              for p in parts):
        raise ErrorResponse(422, "parts must be a list of {ETag, PartNumber}", parts)
    content, content_type = ctx.emu.multipart.finish(str(body.get("upload_id")), str(body.get("object_name")),
                                                     parts)
    ctx.store.put_object(str(body["object_name"]), content, content_type)
    return 200, {"object_name": body["object_name"]}


@route("GET", "/api/datalake/{lake}/custom-metadata")
def _custom_schema(ctx: Ctx, lake: str) -> tuple[int, Any]:
    return 200, ctx.store.custom_metadata_schema(ctx.store.datalake(ctx.org_id, lake)["id"])


@route("PATCH", "/api/datalake/{lake}/custom-metadata")
def _allow_extra(ctx: Ctx, lake: str) -> tuple[int, Any]:
    ctx.store.set_allow_extra(ctx.store.datalake(ctx.org_id, lake)["id"], ctx.obj())
    return 200, ctx.store.custom_metadata_schema(lake)


@route("POST", "/api/datalake/{lake}/custom-metadata/keys/{key:name}")
def _custom_key(ctx: Ctx, lake: str, key: str) -> tuple[int, Any]:
    return 200, ctx.store.upsert_custom_key(ctx.store.datalake(ctx.org_id, lake)["id"], unquote(key), ctx.obj())


@route("POST", "/api/object-storage/{connector}/retrieve_presigned_url")
def _presign_download(ctx: Ctx, connector: str) -> tuple[int, Any]:
    ctx.store.check_connector(connector)
    object_name = ctx.obj().get("object_name")
    if not isinstance(object_name, str):
        raise ErrorResponse(422, "object_name is required")
    ctx.store.get_object(object_name)
    return 200, {"presigned_url": ctx.url_for(object_name)}


@route("POST", "/api/datalake/{lake}/datas")
def _create_data(ctx: Ctx, lake: str) -> tuple[int, Any]:
    return 201, ctx.store.create_data(lake, ctx.obj(), ctx.url_for)


@route("GET|XGET", "/api/datalake/{lake}/datas")
def _list_datas(ctx: Ctx, lake: str) -> tuple[int, Any]:
    filters = ctx.obj() if ctx.method == "XGET" else {}
    statuses, types = _listing_filters(ctx, filters)
    return 200, ctx.store.list_datas(lake, filters, ctx.page(), ctx.url_for, statuses, types)


@route("GET", "/api/datalake/{lake}/datas/find")
def _find_data(ctx: Ctx, lake: str) -> tuple[int, Any]:
    params = {k: ctx.q(k) or "" for k in ("id", "object_name", "filename")}
    return 200, ctx.store.find_data(lake, params, ctx.url_for)


@route("GET", "/api/data/{data}")
def _data(ctx: Ctx, data: str) -> tuple[int, Any]:
    return 200, ctx.store.data(data, ctx.url_for)


@route("GET", "/api/data/{data}/presigned-url")
def _data_url(ctx: Ctx, data: str) -> tuple[int, Any]:
    item = ctx.store.data(data, ctx.url_for)
    return 200, {"presigned_url": ctx.url_for(item["object_name"])}


@route("POST", "/api/datalake/{lake}/tags")
def _create_data_tag(ctx: Ctx, lake: str) -> tuple[int, Any]:
    return 201, ctx.store.create_tag(lake, "DATA", ctx.obj().get("name"))


@route("GET", "/api/datalake/{lake}/tags")
def _data_tags(ctx: Ctx, lake: str) -> tuple[int, Any]:
    items = ctx.store.list_tags(lake, "DATA")
    return 200, {"items": items, "count": len(items)}


@route("GET", "/api/datalake/{lake}/tags/find")
def _find_data_tag(ctx: Ctx, lake: str) -> tuple[int, Any]:
    return 200, ctx.store.find_tag(lake, "DATA", ctx.q("name") or "")


# -- datasets and versions ---------------------------------------------------------------------------


@route("POST", "/api/organization/{org}/datasets")
def _create_dataset(ctx: Ctx, org: str) -> tuple[int, Any]:
    return 201, ctx.store.create_dataset(_own_org(ctx, org), ctx.obj())


@route("GET", "/api/organization/{org}/datasets")
def _datasets(ctx: Ctx, org: str) -> tuple[int, Any]:
    return 200, ctx.store.list_datasets(_own_org(ctx, org), ctx.page())


@route("GET", "/api/organization/{org}/datasets/find")
def _find_dataset(ctx: Ctx, org: str) -> tuple[int, Any]:
    ds_id = ctx.q("id")
    return 200, ctx.store.find_dataset(
        _own_org(ctx, org), ctx.q("name"), check_uuid(ds_id, "id") if ds_id else None
    )


@route("GET", "/api/organization/{org}/datasetversions/find")
def _find_version_in_org(ctx: Ctx, org: str) -> tuple[int, Any]:
    return 200, ctx.store.find_version_in_org(_own_org(ctx, org), check_uuid(ctx.q("id"), "id"))


@route("GET", "/api/dataset/{ds}")
def _dataset(ctx: Ctx, ds: str) -> tuple[int, Any]:
    return 200, ctx.store.dataset(ds)


@route("POST", "/api/dataset/{ds}/versions")
def _create_version(ctx: Ctx, ds: str) -> tuple[int, Any]:
    return 201, ctx.store.create_version(ds, ctx.obj())


@route("GET", "/api/dataset/{ds}/versions")
def _versions(ctx: Ctx, ds: str) -> tuple[int, Any]:
    return 200, ctx.store.list_versions(ds, ctx.page())


@route("GET", "/api/dataset/{ds}/versions/find")
def _find_version(ctx: Ctx, ds: str) -> tuple[int, Any]:
    v_id = ctx.q("id")
    return 200, ctx.store.find_version(ds, ctx.q("version"), check_uuid(v_id, "id") if v_id else None)


@route("GET", "/api/dataset/version/{v}")
def _version(ctx: Ctx, v: str) -> tuple[int, Any]:
    return 200, ctx.store.version(v)


@route("PATCH", "/api/dataset/version/{v}")
def _update_version(ctx: Ctx, v: str) -> tuple[int, Any]:
    return 200, ctx.store.update_version(v, ctx.obj())


@route("GET", "/api/dataset/version/{v}/stats")
def _version_stats(ctx: Ctx, v: str) -> tuple[int, Any]:
    return 200, ctx.store.stats(v)


# -- assets, jobs ----------------------------------------------------------------------------------------


@route("POST", "/api/dataset/version/{v}/assets")
def _add_assets(ctx: Ctx, v: str) -> tuple[int, Any]:
    return 200, ctx.store.add_assets(v, ctx.obj())


@route("GET|XGET", "/api/dataset/version/{v}/assets")
def _assets(ctx: Ctx, v: str) -> tuple[int, Any]:
    filters = ctx.obj() if ctx.method == "XGET" else {}
    statuses, types = _listing_filters(ctx, filters)
    return 200, ctx.store.list_assets(v, filters, ctx.page(), ctx.url_for, statuses, types)


@route("DELETE", "/api/dataset/version/{v}/assets")
def _delete_assets(ctx: Ctx, v: str) -> tuple[int, Any]:
    ctx.store.delete_assets(v, ctx.obj().get("ids") or [])
    return 204, None


@route("GET", "/api/dataset/version/{v}/assets/find")
def _find_asset(ctx: Ctx, v: str) -> tuple[int, Any]:
    params = {k: ctx.q(k) or "" for k in ("id", "data_id", "filename", "object_name")}
    return 200, ctx.store.find_asset(v, params, ctx.url_for)


@route("GET", "/api/asset/{asset}")
def _asset(ctx: Ctx, asset: str) -> tuple[int, Any]:
    return 200, ctx.store.asset(asset, ctx.url_for)


@route("DELETE", "/api/asset/{asset}")
def _delete_asset(ctx: Ctx, asset: str) -> tuple[int, Any]:
    item = ctx.store.asset(asset, ctx.url_for)
    with ctx.store._lock:
        row = ctx.store._one("SELECT version_id FROM assets WHERE id=?", (item["id"],))
    ctx.store.delete_assets(row["version_id"], [asset])
    return 204, None


@route("GET", "/api/job/{job}")
def _job(ctx: Ctx, job: str) -> tuple[int, Any]:
    return 200, ctx.store.job(job)


# -- labels and tags ---------------------------------------------------------------------------------------


@route("GET", "/api/dataset/version/{v}/labels")
def _labels(ctx: Ctx, v: str) -> tuple[int, Any]:
    page = ctx.page()
    if ctx.q("limit") is None:  # DatasetVersion.list_labels reads every label from one GET
        page.limit = 1 << 30
    return 200, ctx.store.list_labels(v, page)


@route("POST", "/api/dataset/version/{v}/labels")
def _create_label(ctx: Ctx, v: str) -> tuple[int, Any]:
    return 201, ctx.store.create_label(v, ctx.obj().get("name"))


@route("GET", "/api/dataset/version/{v}/labels/find")
def _find_label(ctx: Ctx, v: str) -> tuple[int, Any]:
    return 200, ctx.store.find_label(v, ctx.q("name") or "")


@route("XGET", "/api/dataset/version/{v}/bulk-labels")
def _bulk_labels(ctx: Ctx, v: str) -> tuple[int, Any]:
    return 200, ctx.store.bulk_labels(v, ctx.obj().get("names"))


@route("GET", "/api/label/{label}")
def _label(ctx: Ctx, label: str) -> tuple[int, Any]:
    return 200, ctx.store.label(label)


@route("GET", "/api/dataset/version/{v}/labelgroups")
def _label_groups(ctx: Ctx, v: str) -> tuple[int, Any]:
    return 200, ctx.store.label_groups(v)


@route("POST", "/api/dataset/version/{v}/labelgroups")
def _create_label_group(ctx: Ctx, v: str) -> tuple[int, Any]:
    return 201, ctx.store.create_label_group(v, ctx.obj())


@route("PATCH", "/api/label/{label}")
def _update_label(ctx: Ctx, label: str) -> tuple[int, Any]:
    return 200, ctx.store.update_label(label, ctx.obj())


@route("GET", "/api/dataset/version/{v}/labels/skeleton")
def _skeletons(ctx: Ctx, v: str) -> tuple[int, Any]:
    """``DatasetVersion.get_skeletons`` reads ``["items"]``: label id -> {vertices, edges}."""
    return 200, ctx.store.skeletons(v)


@route("GET", "/api/label/{label}/skeleton")
def _skeleton(ctx: Ctx, label: str) -> tuple[int, Any]:
    return 200, ctx.store.skeleton(label)


@route("POST", "/api/label/{label}/skeleton")
def _set_skeleton(ctx: Ctx, label: str) -> tuple[int, Any]:
    ctx.store.set_skeleton(label, ctx.obj())
    return 200, ctx.store.skeleton(label)


@route("POST", "/api/dataset/version/{v}/tags")
def _create_asset_tag(ctx: Ctx, v: str) -> tuple[int, Any]:
    ctx.store.version(v)
    return 201, ctx.store.create_tag(v, "ASSET", ctx.obj().get("name"))


@route("GET", "/api/dataset/version/{v}/tags")
def _asset_tags(ctx: Ctx, v: str) -> tuple[int, Any]:
    items = ctx.store.list_tags(v, "ASSET")
    return 200, {"items": items, "count": len(items)}


@route("GET", "/api/dataset/version/{v}/tags/find")
def _find_asset_tag(ctx: Ctx, v: str) -> tuple[int, Any]:
    return 200, ctx.store.find_tag(v, "ASSET", ctx.q("name") or "")


@route("GET", "/api/tag/{tag}")
def _tag(ctx: Ctx, tag: str) -> tuple[int, Any]:
    return 200, ctx.store.tag(tag)


@route("POST", "/api/tag/{tag}/attach")
def _attach(ctx: Ctx, tag: str) -> tuple[int, Any]:
    ids = ctx.json()
    if not isinstance(ids, list):
        raise ErrorResponse(422, "Body must be a list of ids")
    return 200, ctx.store.attach_tag(tag, ids)


@route("POST", "/api/tag/{tag}/detach")
def _detach(ctx: Ctx, tag: str) -> tuple[int, Any]:
    ids = ctx.json()
    if not isinstance(ids, list):
        raise ErrorResponse(422, "Body must be a list of ids")
    return 200, ctx.store.attach_tag(tag, ids, attach=False)


# -- annotations -------------------------------------------------------------------------------------


@route("POST", "/api/dataset/version/{v}/bulk-annotations")
def _bulk_annotations(ctx: Ctx, v: str) -> tuple[int, Any]:
    if len(ctx.body) > ctx.emu.settings.max_bulk_bytes:
        raise ErrorResponse(413, "Request too large", f"{len(ctx.body)} bytes")
    return 200, ctx.store.bulk_annotations(v, ctx.obj())


@route("GET", "/api/dataset/version/{v}/annotations")
def _annotations(ctx: Ctx, v: str) -> tuple[int, Any]:
    return 200, ctx.store.list_annotations(v, ctx.q("status"), ctx.page())


@route("XGET", "/api/dataset/version/{v}/annotations")
def _load_annotations(ctx: Ctx, v: str) -> tuple[int, Any]:
    return 200, ctx.store.load_annotations(v, ctx.json())


@route("DELETE", "/api/dataset/version/{v}/annotations")
def _delete_annotations(ctx: Ctx, v: str) -> tuple[int, Any]:
    ctx.store.delete_annotations(v, ctx.obj())
    return 204, None


@route("GET", "/api/dataset/version/{v}/annotations/ids")
def _annotation_ids(ctx: Ctx, v: str) -> tuple[int, Any]:
    return 200, ctx.store.annotation_ids(v, ctx.q("status"), ctx.qlist("asset_ids"))


@route("GET", "/api/asset/{asset}/annotations")
def _asset_annotations(ctx: Ctx, asset: str) -> tuple[int, Any]:
    return 200, ctx.store.asset_annotations(asset, latest=False)


@route("GET", "/api/asset/{asset}/annotations/find")
def _asset_annotation(ctx: Ctx, asset: str) -> tuple[int, Any]:
    return 200, ctx.store.asset_annotations(asset, latest=True)


@route("POST", "/api/asset/{asset}/annotations")
def _create_annotation(ctx: Ctx, asset: str) -> tuple[int, Any]:
    return 201, ctx.store.create_annotation(asset, ctx.obj())


@route("GET", "/api/annotation/{ann}")
def _annotation(ctx: Ctx, ann: str) -> tuple[int, Any]:
    return 200, ctx.store.annotation(ann)


@route("PATCH", "/api/annotation/{ann}")
def _update_annotation(ctx: Ctx, ann: str) -> tuple[int, Any]:
    return 200, ctx.store.update_annotation(ann, ctx.obj())


for _key in SHAPE_KINDS:
    route("GET", f"/api/annotation/{{ann}}/{_key}")(
        lambda ctx, ann, _k=_key: (200, ctx.store.list_shapes(ann, _k))
    )
    route("POST", f"/api/annotation/{{ann}}/bulk-{_key}")(
        lambda ctx, ann, _k=_key: (201, ctx.store.add_shapes(ann, _k, ctx.obj()))
    )


