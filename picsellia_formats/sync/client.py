"""A small, careful client of the Picsellia REST API (reference §5): the calls push and pull need.

* Every call is one the official SDK makes for the same operation (docs/sync.md holds the table).
* Responses are capped in size (`Limits`), every call has an overall deadline besides the per-read
  timeout, a pagination that does not end is an error, and a redirect to another host is never
  followed with the token.
* TLS certificates are verified (plain http is refused except on loopback addresses, e.g. the emulator).
* Every call has a timeout; every idempotent call is retried on connection errors, 429 (honouring
  ``Retry-After``) and 5xx with exponential backoff and jitter. Calls that create something are never
  blindly retried: after an ambiguous failure the client looks the object up first (`Client.create`).

Example:
    >>> import tempfile
    >>> from picsellia_formats.sync.emulator import Emulator
    >>> with Emulator(tempfile.mkdtemp()) as emu:
    ...     client = Client(emu.url, emu.token)
    ...     client.get_or_create_dataset("cats")["name"]
    'cats'
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from typing import Any

from .transfers import UploadPlan, send_object
from .transport import (
    DATA_LISTING,
    DEFAULT_HOST,
    LARGE_FILE,
    PAGE,
    TOKEN_ENV,
    Ambiguous,
    Limits,
    PlatformError,
    RetryPolicy,
    SyncError,
    Timeouts,
    Transport,
    check_token,
    is_loopback,
    read_dotenv,
    resolve_token,
)

log = logging.getLogger("picsellia_formats.sync")

__all__ = [
    "DATA_LISTING",
    "DEFAULT_HOST",
    "LARGE_FILE",
    "PAGE",
    "TOKEN_ENV",
    "Ambiguous",
    "Client",
    "Limits",
    "PlatformError",
    "RetryPolicy",
    "SyncError",
    "Timeouts",
    "check_token",
    "is_loopback",
    "read_dotenv",
    "resolve_token",
]


class Client(Transport):
    """A connection to one organization of a Picsellia platform: the platform calls push and pull make.

    ``host`` defaults to ``PICSELLIA_HOST`` or https://app.picsellia.com; ``organization`` (a name or an
    id) to ``PICSELLIA_ORGANIZATION`` or the user's default organization. ``workers`` sizes the
    connection pool for parallel transfers. Connecting (ping, organization, datalake) happens on
    first use.
    """

    # -- connect ---------------------------------------------------------------------------------------------

    def connect(self) -> dict[str, Any]:
        """Ping, resolve the organization and its default datalake (once); returns the organization."""
        with self._connect_lock:
            if self._org is not None:
                return self._org
            ping = self.call("GET", "/api/home/ping")
            self.username = ping.get("username")
            wanted = self._wanted_org
            if wanted is None:
                org_id = ping.get("default_organization")
                if not org_id:
                    raise SyncError("this user has no default organization; name one (PICSELLIA_ORGANIZATION)")
                org = self.call("GET", f"/api/organization/{org_id}")
            elif _is_uuid(wanted):
                org = self.call("GET", f"/api/organization/{wanted}")
            else:
                org = self.call("GET", "/api/organizations/find", params={"name": wanted})
            self._org = org
            self._lake = self.call("GET", f"/api/organization/{org['id']}/datalake")
            log.debug("connected to organization %s", org.get("name"))
            return org

    @property
    def organization(self) -> dict[str, Any]:
        return self.connect()

    @property
    def datalake(self) -> dict[str, Any]:
        self.connect()
        assert self._lake is not None
        return self._lake

    @property
    def connector_id(self) -> str:
        connector = self.datalake.get("connector_id") or self.organization.get("default_connector_id")
        if not connector:
            raise SyncError("this organization has no storage connector: images cannot be uploaded")
        return str(connector)

    # -- datasets, versions, labels, tags ----------------------------------------------------------------

    def find_dataset(self, name: str) -> dict[str, Any] | None:
        return self.find(f"/api/organization/{self.organization['id']}/datasets/find", {"name": name})

    def get_or_create_dataset(self, name: str, description: str = "") -> dict[str, Any]:
        found = self.find_dataset(name)
        if found is not None:
            return found
        return self.create(f"/api/organization/{self.organization['id']}/datasets",
                           {"name": name, "description": description}, lambda: self.find_dataset(name))

    def find_version(self, dataset_id: str, version: str) -> dict[str, Any] | None:
        return self.find(f"/api/dataset/{dataset_id}/versions/find", {"version": version})

    def get_or_create_version(self, dataset_id: str, version: str, type: str = "NOT_CONFIGURED",  # noqa: A002
                              description: str = "") -> dict[str, Any]:
        found = self.find_version(dataset_id, version)
        if found is not None:
            return found
        return self.create(f"/api/dataset/{dataset_id}/versions",
                           {"version": version, "description": description, "type": type},
                           lambda: self.find_version(dataset_id, version))

    def set_version_type(self, version_id: str, type: str) -> dict[str, Any]:  # noqa: A002
        return self.call("PATCH", f"/api/dataset/version/{version_id}", json={"type": type})

    def list_labels(self, version_id: str) -> list[dict[str, Any]]:
        # DatasetVersion.list_labels: one GET, no paging
        page = self.call("GET", f"/api/dataset/version/{version_id}/labels")
        return list(page.get("items", []) if isinstance(page, dict) else page)

    def bulk_labels(self, version_id: str, names: Sequence[str]) -> dict[str, str]:
        """Get or create labels by name in one call per 1000 (``XGET bulk-labels``); name -> id."""
        out: dict[str, str] = {}
        for i in range(0, len(names), PAGE):
            for item in self.call("XGET", f"/api/dataset/version/{version_id}/bulk-labels",
                                  json={"names": list(names[i:i + PAGE])}):
                out[item["name"]] = str(item["id"])
        return out

    def skeletons(self, version_id: str) -> dict[str, dict[str, Any]]:
        """label id -> ``{vertices, edges}`` (``DatasetVersion.get_skeletons``)."""
        return dict(self.call("GET", f"/api/dataset/version/{version_id}/labels/skeleton")["items"])

    def set_skeleton(self, label_id: str, vertices: list[str], edges: list[list[int]]) -> None:
        """``Label.set_skeleton``: vertex names and 1-based edges."""
        self.call("POST", f"/api/label/{label_id}/skeleton", json={"vertices": vertices, "edges": edges})

    def label_groups(self, version_id: str) -> list[dict[str, Any]]:
        return list(self.call("GET", f"/api/dataset/version/{version_id}/labelgroups")["items"])

    def create_label_group(self, version_id: str, name: str) -> dict[str, Any]:
        """``DatasetVersion.create_label_group`` (no parent)."""
        return self.create(f"/api/dataset/version/{version_id}/labelgroups", {"name": name},
                           lambda: next((g for g in self.label_groups(version_id) if g.get("name") == name), None))

    def set_label_group(self, label_id: str, group_id: str) -> None:
        """``Label.set_group`` (``PATCH label {group_id}``)."""
        self.call("PATCH", f"/api/label/{label_id}", json={"group_id": group_id})

    def find_asset_tag(self, version_id: str, name: str) -> dict[str, Any] | None:
        return self.find(f"/api/dataset/version/{version_id}/tags/find", {"name": name})

    def get_or_create_asset_tag(self, version_id: str, name: str) -> dict[str, Any]:
        found = self.find_asset_tag(version_id, name)
        if found is not None:
            return found
        return self.create(f"/api/dataset/version/{version_id}/tags", {"name": name},
                           lambda: self.find_asset_tag(version_id, name))

    def attach_tag(self, tag_id: str, target_ids: Sequence[str]) -> None:
        """Attach a tag to objects (idempotent: attaching twice is attaching once)."""
        for i in range(0, len(target_ids), PAGE):
            self.call("POST", f"/api/tag/{tag_id}/attach", json=list(target_ids[i:i + PAGE]))

    # -- data and storage ----------------------------------------------------------------------------------

    def generate_object_name(self, filename: str) -> str:
        org = self.organization["id"]
        path = f"/api/organization/{org}/connector/{self.connector_id}/generate_object_name"
        # a fresh name per call: repeating the call after a lost answer only wastes a name
        return str(self.call("POST", path, json={"filename": filename, "type": "DATA"})["object_name"])

    def upload_object(self, object_name: str, content: bytes, content_type: str) -> None:
        """Upload one object as the SDK does (``services/upload/file.py``): a presigned form POST (S3,
        MinIO, GCS) or PUT (Azure) up to 25 MiB, a multipart upload above (falling back to one upload
        when the connector answers 400 to ``init_multipart_upload``). Idempotent. The API calls are
        `plan_upload` and `finish_upload`; the bytes go by `transfers.send_object` (no token)."""
        for _ in range(self.retry.attempts):
            plan = self.plan_upload(object_name, content_type, len(content))
            etags = send_object(self, plan, content)
            if etags is not None:
                self.finish_upload(plan, etags)
                return
            log.debug("presigned URL of %s refused (expired?): a new one", object_name)
        raise SyncError(f"{object_name}: the storage refused {self.retry.attempts} presigned URLs in a row")

    def plan_upload(self, object_name: str, content_type: str, size: int) -> UploadPlan:
        """Where the bytes of `object_name` go (presigned URLs: sending them needs no token). Above 25 MiB
        a multipart upload is started, with one presigned URL per 25 MiB part (S3, MinIO) or the resumable
        URL (GCS); the driver completes it with `finish_upload`."""
        base = f"/api/object-storage/{self.connector_id}"
        if size > LARGE_FILE:
            try:
                init = self.call("POST", f"{base}/init_multipart_upload",
                                 json={"object_name": object_name, "content_type": content_type})
            except PlatformError as err:
                if err.status != 400:
                    raise
                log.debug("multipart refused for %s: one upload", object_name)
            else:
                client_type = str(init.get("client_type", "")).lower()
                if client_type == "google":
                    return UploadPlan(object_name, content_type, client_type, str(init["url"]), upload_id="")
                if client_type not in ("aws", "minio"):
                    raise SyncError(f"multipart upload to storage type {client_type!r} is not supported")
                upload_id = str(init["upload_id"])
                urls = tuple(str(self.call("POST", f"{base}/generate_part_presigned_url",
                                           json={"object_name": object_name, "upload_id": upload_id,
                                                 "part_no": number})["url"])
                             for number in range(1, -(-size // LARGE_FILE) + 1))
                return UploadPlan(object_name, content_type, client_type, "", upload_id=upload_id, part_urls=urls)
        presigned = self.call("POST", f"{base}/generate_presigned_url",
                              json={"object_name": object_name, "content_type": content_type})
        data = presigned["presigned_url_data"]
        return UploadPlan(object_name, content_type, str(presigned.get("client_type", "")).lower(), str(data["url"]),
                          {str(k): str(v) for k, v in (data.get("fields") or {}).items()})

    def finish_upload(self, plan: UploadPlan, etags: Sequence[str]) -> None:
        """Complete an S3 multipart upload from the parts' ETags (nothing to do otherwise)."""
        if plan.upload_id and plan.part_urls:
            parts = [{"ETag": etag, "PartNumber": number} for number, etag in enumerate(etags, start=1)]
            self.call("POST", f"/api/object-storage/{self.connector_id}/complete_part_upload",
                      json={"object_name": plan.object_name, "upload_id": plan.upload_id, "parts": parts})

    def custom_metadata_schema(self) -> dict[str, Any]:
        """``GET datalake/{id}/custom-metadata`` (``Datalake.get_custom_metadata_schema``)."""
        return dict(self.call("GET", f"/api/datalake/{self.datalake['id']}/custom-metadata") or {})

    def ensure_custom_metadata_key(self, key: str) -> bool:
        """Declare `key` as an optional STRING custom metadata key of the datalake unless declared
        (``Datalake.upsert_custom_metadata_schema_key``); False when this user may not."""
        try:
            schema = self.custom_metadata_schema()
            if key in (schema.get("custom_metadata_schema") or {}):
                return True
            self.call("POST", f"/api/datalake/{self.datalake['id']}/custom-metadata/keys/{key}",
                      json={"required": False, "archived": False, "input_type": "STRING"})
            return True
        except PlatformError as err:
            if err.status in (403, 404, 405):
                return False
            raise

    def find_data(self, **params: str) -> dict[str, Any] | None:
        return self.find(f"/api/datalake/{self.datalake['id']}/datas/find", params)

    def register_data(self, payload: dict[str, Any]) -> dict[str, Any]:
        """``POST datas`` for an uploaded object; looked up by its (unique) object name on retry."""
        return self.create(f"/api/datalake/{self.datalake['id']}/datas", payload,
                           lambda: self.find_data(object_name=payload["object_name"]))

    def list_datas(self, key: str, values: Sequence[str]) -> list[dict[str, Any]]:
        """Data of the datalake whose ``key`` (filenames, ids, object_names) is among `values`."""
        out: list[dict[str, Any]] = []
        path = f"/api/datalake/{self.datalake['id']}/datas"
        for i in range(0, len(values), PAGE):
            out.extend(self._xget_listing(path, key, values[i:i + PAGE]))
        return out

    def _xget_listing(self, path: str, key: str, values: Sequence[str]) -> list[dict[str, Any]]:
        """One filtered listing as the SDK's listers send it (``_call_xget``): ``XGET`` with the filter and
        the upload statuses and types in the body, no paging (≤ 1000 values per call)."""
        page = self.call("XGET", path, json={key: list(values), **DATA_LISTING})
        return list(page.get("items", []) if isinstance(page, dict) else page)

    def data_url(self, data_id: str) -> str:
        return str(self.call("GET", f"/api/data/{data_id}/presigned-url")["presigned_url"])

    # -- assets and jobs ---------------------------------------------------------------------------------------

    def list_assets(self, version_id: str, key: str | None = None,
                    values: Sequence[str] = ()) -> list[dict[str, Any]]:
        """Assets of a version: all (cursor pages) or those whose ``key`` is among `values` (XGET)."""
        path = f"/api/dataset/version/{version_id}/assets"
        if key is None:
            return list(self.paginate(path, dict(DATA_LISTING)))
        out: list[dict[str, Any]] = []
        for i in range(0, len(values), PAGE):
            out.extend(self._xget_listing(path, key, values[i:i + PAGE]))
        return out

    def count_assets(self, version_id: str) -> int:
        """How many assets the version holds (cursor pages counted, none kept)."""
        return sum(1 for _ in self.paginate(f"/api/dataset/version/{version_id}/assets", dict(DATA_LISTING)))

    def add_assets(self, version_id: str, data_ids: Sequence[str]) -> list[dict[str, Any]]:
        """Attach data to a version, wait for the jobs and return the assets of those data. Safe to
        retry: what is attached already (listed by data id) is not sent again."""
        wanted = list(dict.fromkeys(data_ids))
        pending = wanted
        for n in range(self.retry.attempts):
            try:
                for i in range(0, len(pending), 10000):
                    job = self.call("POST", f"/api/dataset/version/{version_id}/assets",
                                    json={"data_ids": pending[i:i + 10000], "asset_tag_ids": []},
                                    idempotent=False)["job"]
                    self.wait_job(job["id"])
            except Ambiguous as amb:
                log.debug("attaching assets: %s; checking what is attached", amb.cause)
            assets = self.list_assets(version_id, "data_ids", wanted)
            attached = {asset_data_id(a) for a in assets}
            pending = [d for d in wanted if d not in attached]
            if not pending:
                return assets
            self._sleep(self._backoff(n))
        raise SyncError(f"could not attach {len(pending)} data to the dataset version")

    def wait_job(self, job_id: str) -> None:
        state: dict[str, str] = {}

        def done() -> bool:
            state["status"] = str(self.call("GET", f"/api/job/{job_id}")["status"])
            return state["status"] in ("SUCCESS", "FAILED", "TERMINATED", "SUCCEEDED", "KILLED")

        self.poll(f"job {job_id}", done)
        if state["status"] not in ("SUCCESS", "SUCCEEDED"):
            raise SyncError(f"job {job_id} ended {state['status']}")

    def delete_assets(self, version_id: str, asset_ids: Sequence[str]) -> None:
        for i in range(0, len(asset_ids), PAGE):
            self.call("DELETE", f"/api/dataset/version/{version_id}/assets",
                      json={"ids": list(asset_ids[i:i + PAGE])})

    # -- annotations ----------------------------------------------------------------------------------------

    def bulk_annotations(self, version_id: str, items: list[dict[str, Any]], import_type: str,
                         status: str | None = None) -> dict[str, int]:
        body: dict[str, Any] = {"import_type": import_type, "annotations": items}
        if status:
            body["status"] = status
        return self.call("POST", f"/api/dataset/version/{version_id}/bulk-annotations", json=body,
                         idempotent=import_type != "CONCATENATE")

    def annotation_ids(self, version_id: str, status: str | None = None,
                       asset_ids: Sequence[str] | None = None) -> list[str]:
        params: dict[str, Any] = {}
        if status:
            params["status"] = status
        if asset_ids is not None:
            params["asset_ids"] = list(asset_ids)
        return [str(i) for i in self.call("GET", f"/api/dataset/version/{version_id}/annotations/ids",
                                          params=params)]

    def list_annotations(self, version_id: str, status: str | None = None) -> list[dict[str, Any]]:
        """Annotation records ``{id, asset_id, duration, status, ...}`` (``DatasetVersion.list_annotations``:
        offset pages of ``GET annotations``), where review statuses are read."""
        params: dict[str, Any] = {"status": status} if status else {}
        return list(self.paginate(f"/api/dataset/version/{version_id}/annotations", params, offsets=True))

    def asset_annotation(self, asset_id: str) -> dict[str, Any] | None:
        """The latest annotation of an asset (``Asset.get_annotation``), None when it has none."""
        return self.find(f"/api/asset/{asset_id}/annotations/find", {})

    def create_annotation(self, asset_id: str, duration: float = 0.0) -> dict[str, Any]:
        """``Asset.create_annotation``; after an ambiguous failure the latest annotation is looked up."""
        return self.create(f"/api/asset/{asset_id}/annotations", {"duration": float(duration)},
                           lambda: self.asset_annotation(asset_id))

    def add_shapes(self, annotation_id: str, key: str, shapes: list[dict[str, Any]]) -> None:
        """``Annotation.create_multiple_lines|points`` (``POST annotation/{id}/bulk-lines|points``)."""
        self.call("POST", f"/api/annotation/{annotation_id}/bulk-{key}", json={key: shapes}, idempotent=False)

    def update_annotation_status(self, annotation_id: str, status: str) -> None:
        """``Annotation.update(status=...)``."""
        self.call("PATCH", f"/api/annotation/{annotation_id}", json={"status": status})

    def load_annotations(self, version_id: str, ids: Sequence[str]) -> list[dict[str, Any]]:
        """Full annotations (shapes with label names) of ≤ 1000 annotation ids (``XGET annotations``)."""
        return list(self.call("XGET", f"/api/dataset/version/{version_id}/annotations", json=list(ids)))


def asset_data_id(asset: dict[str, Any]) -> str:
    """The data id of an asset as listed (``data_id`` or ``data.id``)."""
    return str(asset.get("data_id") or asset["data"]["id"])


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
        return True
    except ValueError:
        return False

