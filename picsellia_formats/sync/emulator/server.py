"""The emulator's HTTP server: the platform's paths, verbs (XGET too), bodies, status codes,
``{"message", "detail"}`` errors and pagination, over `Store`; presigned object storage on the same
port; fault injection for tests.

Example:
    >>> import tempfile, requests
    >>> with Emulator(tempfile.mkdtemp()) as emu:
    ...     r = requests.get(emu.url + "/api/home/ping", headers={"Authorization": "Bearer " + emu.token})
    ...     r.json()["default_organization"] == emu.organization_id
    True
"""

from __future__ import annotations

import hashlib
import hmac
import os
import random
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import orjson

from .store import SHAPE_KINDS, ApiError, Page, Store, check_uuid

PRESIGNED_TTL = 3600
SDK_VERSION = "6.37.0"


@dataclass
class Settings:
    """Knobs of the emulator; change them live with `Emulator.configure` or ``POST /_emulator/settings``.

    * ``fail_rate``: fraction of calls (API and storage) that fail, picked among ``fail_kinds``:
      ``500`` (internal error), ``429`` (with ``Retry-After: retry_after``), ``drop`` (the connection is
      closed without a response). A 500 or a drop happens before or after the call did its work (half
      each), so a client cannot tell whether a failed call took effect; a 429 always happens before.
    * ``upload_delay``: seconds each storage upload takes (slow uploads).
    * ``processing_delay``: seconds before an uploaded data leaves PENDING; ``job_delay`` likewise for jobs.
    * ``max_bulk_bytes``: a bulk-annotations body larger than this gets 413.
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
        known = {f.name: f for f in fields(self)}
        for key, value in values.items():
            if key not in known:
                raise ApiError(422, f"unknown setting {key!r}", sorted(known))
            if key == "fail_kinds":
                value = tuple(value)
                bad = [k for k in value if k not in ("500", "429", "drop")]
                if bad:
                    raise ApiError(422, "fail_kinds are 500, 429 and drop", bad)
            setattr(self, key, value)


class _Faults:
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


class _Drop(Exception):
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
            raise ApiError(400, "Body is not valid JSON", str(exc)) from None

    def obj(self) -> dict[str, Any]:
        body = self.json()
        if not isinstance(body, dict):
            raise ApiError(422, "Body must be a JSON object")
        return body

    def page(self) -> Page:
        def num(name: str) -> int | None:
            v = self.q(name)
            if v in (None, ""):
                return None
            try:
                return int(v)
            except ValueError:
                raise ApiError(422, f"{name} must be an integer", v) from None

        return Page(num("limit"), num("offset"), self.q("cursor"))

    def url_for(self, object_name: str) -> str:
        expires = int(time.time()) + PRESIGNED_TTL
        sig = self.emu.sign("GET", object_name, expires)
        return f"{self.base}/_storage/object?key={quote(object_name, safe='')}&expires={expires}&sig={sig}"


Handler = Callable[..., tuple[int, Any]]
_ROUTES: list[tuple[str, re.Pattern[str], Handler]] = []
_ID = r"(?P<{}>[0-9a-fA-F-]{{36}})"


def route(method: str, pattern: str) -> Callable[[Handler], Handler]:
    """Register a handler for ``method pattern`` (``{name}`` matches a uuid)."""
    regex = re.compile("^" + re.sub(r"\{(\w+)\}", lambda m: _ID.format(m.group(1)), pattern) + "$")

    def deco(fn: Handler) -> Handler:
        for m in method.split("|"):
            _ROUTES.append((m, regex, fn))
        return fn

    return deco


def _own_org(ctx: Ctx, org: str) -> str:
    if org != ctx.org_id:
        raise ApiError(404, "Organization not found", org)
    return org


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
        raise ApiError(404, "Organization not found", ctx.q("name"))
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
        raise ApiError(422, "object_name is required")
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
    raise ApiError(400, "Multipart upload is not available on this connector")


@route("POST", "/api/object-storage/{connector}/retrieve_presigned_url")
def _presign_download(ctx: Ctx, connector: str) -> tuple[int, Any]:
    ctx.store.check_connector(connector)
    object_name = ctx.obj().get("object_name")
    if not isinstance(object_name, str):
        raise ApiError(422, "object_name is required")
    ctx.store.get_object(object_name)
    return 200, {"presigned_url": ctx.url_for(object_name)}


@route("POST", "/api/datalake/{lake}/datas")
def _create_data(ctx: Ctx, lake: str) -> tuple[int, Any]:
    return 201, ctx.store.create_data(lake, ctx.obj(), ctx.url_for)


@route("GET|XGET", "/api/datalake/{lake}/datas")
def _list_datas(ctx: Ctx, lake: str) -> tuple[int, Any]:
    filters = ctx.obj() if ctx.method == "XGET" else {}
    return 200, ctx.store.list_datas(lake, filters, ctx.page(), ctx.url_for)


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
    return 200, ctx.store.list_assets(v, filters, ctx.page(), ctx.url_for)


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
    return 200, ctx.store.list_labels(v, ctx.page())


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
    ctx.store.version(v)
    return 200, {"items": [], "count": 0}


@route("GET", "/api/dataset/version/{v}/labels/skeleton")
def _skeletons(ctx: Ctx, v: str) -> tuple[int, Any]:
    ctx.store.version(v)
    return 200, {}


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
        raise ApiError(422, "Body must be a list of ids")
    return 200, ctx.store.attach_tag(tag, ids)


@route("POST", "/api/tag/{tag}/detach")
def _detach(ctx: Ctx, tag: str) -> tuple[int, Any]:
    ids = ctx.json()
    if not isinstance(ids, list):
        raise ApiError(422, "Body must be a list of ids")
    return 200, ctx.store.attach_tag(tag, ids, attach=False)


# -- annotations -------------------------------------------------------------------------------------


@route("POST", "/api/dataset/version/{v}/bulk-annotations")
def _bulk_annotations(ctx: Ctx, v: str) -> tuple[int, Any]:
    if len(ctx.body) > ctx.emu.settings.max_bulk_bytes:
        raise ApiError(413, "Request too large", f"{len(ctx.body)} bytes")
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


# -- the server ---------------------------------------------------------------------------------------


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        if self.server.emu.settings.verbose:
            super().log_message(format, *args)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_XGET(self) -> None:
        self._dispatch("XGET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _read_body(self) -> bytes | None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > self.server.emu.settings.max_body:
            return None
        return self.rfile.read(length) if length else b""

    def _send(
        self,
        status: int,
        body: bytes = b"",
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        if status != 204:
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if status != 204 and self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, b"" if status == 204 else orjson.dumps(obj), headers=headers)

    def _error(
        self, status: int, message: str, detail: Any = None, headers: dict[str, str] | None = None
    ) -> None:
        self._send_json(status, {"message": message, "detail": detail}, headers)

    def _dispatch(self, method: str) -> None:
        emu = self.server.emu
        split = urlsplit(self.path)
        path = split.path
        body = self._read_body()
        if body is None:
            self.close_connection = True
            self._error(413, "Request too large")
            return
        params = parse_qs(split.query, keep_blank_values=True)
        base = f"http://{self.headers.get('Host') or emu.address}"
        ctx = Ctx(emu, method, path, params, body, self.headers, base)
        emu.count_request()
        try:
            if path.startswith("/_emulator/"):
                self._control(ctx)
                return
            fault = None if path == "/api/home/ping" else emu.faults.draw()
            if fault and fault[1] == "before":
                self._inject(fault[0])
                return
            if path.startswith("/_storage/"):
                status, payload, ctype, headers = self._storage(ctx)
            else:
                status, payload = self._api(ctx)
                ctype, headers = "application/json", {}
                payload = b"" if status == 204 else orjson.dumps(payload)
            if fault:
                self._inject(fault[0])
                return
            self._send(status, payload, ctype, headers)
        except ApiError as err:
            self._send_json(err.status, err.body())
        except _Drop:
            self.close_connection = True
        except Exception as exc:  # a bug of the emulator: answer like the platform does
            self._error(500, "Internal server error", f"{type(exc).__name__}: {exc}")

    def _inject(self, kind: str) -> None:
        if kind == "429":
            retry_after = self.server.emu.settings.retry_after
            text = str(int(retry_after)) if float(retry_after).is_integer() else f"{retry_after:g}"
            self._error(429, "Too many requests", None, {"Retry-After": text})
        elif kind == "500":
            self._error(500, "Internal server error (injected)")
        else:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _authorize(self, ctx: Ctx) -> None:
        auth = self.headers.get("Authorization") or ""
        scheme, _, token = auth.partition(" ")
        user = self.server.emu.store.user_for_token(token) if scheme.lower() == "bearer" and token else None
        if user is None:
            raise ApiError(401, "Unauthorized", "missing or invalid API token")
        ctx.org_id = user["organization_id"]

    def _api(self, ctx: Ctx) -> tuple[int, Any]:
        self._authorize(ctx)
        allowed = []
        for method, regex, fn in _ROUTES:
            match = regex.match(ctx.path)
            if match is None:
                continue
            if method != ctx.method:
                allowed.append(method)
                continue
            return fn(ctx, **match.groupdict())
        if allowed:
            raise ApiError(
                405, "Method not allowed", f"{ctx.method} {ctx.path}; allowed: {', '.join(allowed)}"
            )
        raise ApiError(404, "Not found", ctx.path)

    def _storage(self, ctx: Ctx) -> tuple[int, bytes, str, dict[str, str]]:
        emu = self.server.emu
        if ctx.path == "/_storage/upload" and ctx.method == "POST":
            form = _parse_multipart(self.headers.get("Content-Type") or "", ctx.body)
            key = _text(form.get("key"))
            expires = _text(form.get("x-pf-expires"))
            sig = _text(form.get("x-pf-signature"))
            if not key or not expires.isdigit() or not emu.check(sig, "POST", key, int(expires)):
                raise ApiError(403, "Signature does not match or has expired")
            if "file" not in form:
                raise ApiError(400, "No file part")
            if emu.settings.upload_delay:
                time.sleep(emu.settings.upload_delay)
            content_type = _text(form.get("Content-Type")) or "application/octet-stream"
            emu.store.put_object(key, form["file"], content_type)
            return 204, b"", "", {}
        if ctx.path == "/_storage/object" and ctx.method == "GET":
            key, expires, sig = ctx.q("key") or "", ctx.q("expires") or "", ctx.q("sig") or ""
            if not key or not expires.isdigit() or not emu.check(sig, "GET", key, int(expires)):
                raise ApiError(403, "Signature does not match or has expired")
            path, info = emu.store.get_object(key)
            content = path.read_bytes()
            headers = {"ETag": f'"{info["md5"]}"', "Accept-Ranges": "bytes"}
            rng = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
            if rng and int(rng.group(1)) < len(content):
                start = int(rng.group(1))
                headers["Content-Range"] = f"bytes {start}-{len(content) - 1}/{len(content)}"
                return 206, content[start:], info["content_type"], headers
            return 200, content, info["content_type"], headers
        raise ApiError(404, "Not found", ctx.path)

    def _control(self, ctx: Ctx) -> None:
        emu = self.server.emu
        try:
            self._authorize(ctx)
            if ctx.path == "/_emulator/stats" and ctx.method == "GET":
                self._send_json(200, emu.stats())
            elif ctx.path == "/_emulator/settings" and ctx.method == "POST":
                emu.configure(**ctx.obj())
                self._send_json(200, asdict(emu.settings))
            elif ctx.path == "/_emulator/settings" and ctx.method == "GET":
                self._send_json(200, asdict(emu.settings))
            else:
                raise ApiError(404, "Not found", ctx.path)
        except ApiError as err:
            self._send_json(err.status, err.body())


def _text(value: bytes | None) -> str:
    return value.decode("utf-8", "replace") if value is not None else ""


def _parse_multipart(content_type: str, body: bytes) -> dict[str, bytes]:
    """Fields of a multipart/form-data body (name -> raw bytes)."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if not content_type.startswith("multipart/form-data") or not match:
        raise ApiError(400, "Expected a multipart/form-data body")
    delimiter = b"--" + match.group(1).encode()
    out: dict[str, bytes] = {}
    for part in body.split(delimiter)[1:]:
        if part.startswith(b"--"):
            break
        head, sep, content = part.partition(b"\r\n\r\n")
        if not sep:
            continue
        name = re.search(rb'name="([^"]*)"', head)
        if name:
            out[name.group(1).decode()] = content[:-2] if content.endswith(b"\r\n") else content
    return out


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    emu: Emulator


class Emulator:
    """A local emulator of the Picsellia API subset used by `picsellia_formats.sync`.

    ``port=0`` picks a free port; `url`, `token` and `organization_id` tell clients where and who.
    Use it as a context manager (serves in a background thread) or call `serve_forever`.
    """

    def __init__(
        self,
        data_dir: str | os.PathLike[str],
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.store = Store(data_dir, token=token)
        self.settings = settings or Settings()
        self.faults = _Faults(self.settings)
        self.token = token or self.store.seeded_token()
        self.username = "emulator"
        self._server = _Server((host, port), _RequestHandler)
        self._server.emu = self
        self._thread: threading.Thread | None = None
        self._requests = 0
        self._count_lock = threading.Lock()
        self._apply_delays()

    @property
    def address(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host}:{port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    @property
    def organization_id(self) -> str:
        return self.store.organization_id

    @property
    def organization_name(self) -> str:
        return self.store.organization()["name"]

    def sign(self, method: str, object_name: str, expires: int) -> str:
        msg = f"{method}\n{object_name}\n{expires}".encode()
        return hmac.new(self.store.secret, msg, hashlib.sha256).hexdigest()[:40]

    def check(self, sig: str, method: str, object_name: str, expires: int) -> bool:
        return expires >= time.time() and hmac.compare_digest(sig, self.sign(method, object_name, expires))

    def configure(self, **values: Any) -> None:
        """Change settings live (``fail_rate=0.2``, ``upload_delay=0.05``, ...)."""
        self.settings.update(values)
        if "seed" in values:
            self.faults.reseed()
        self._apply_delays()

    def _apply_delays(self) -> None:
        self.store.processing_delay = self.settings.processing_delay
        self.store.job_delay = self.settings.job_delay

    def count_request(self) -> None:
        with self._count_lock:
            self._requests += 1

    def stats(self) -> dict[str, Any]:
        """Uploads to storage (persisted), requests served, faults injected and entity counts."""
        return {
            "uploads": self.store.uploads(),
            "requests": self._requests,
            "faults": dict(self.faults.injected),
            "counts": self.store.counts(),
        }

    def start(self) -> Emulator:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="pf-emulator", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
