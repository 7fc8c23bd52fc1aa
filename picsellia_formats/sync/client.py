"""A small, careful client of the Picsellia REST API (reference §5): the calls push and pull need.

* The token comes from the argument, ``PICSELLIA_TOKEN`` (the SDK's variable; ``PICSELLIA_API_TOKEN`` is
  still read) or a ``.env`` file; it is sent only to the API host, never printed, logged, put in an error
  message or a repr, and a token holding control characters is refused before any use.
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

import email.utils
import ipaddress
import logging
import os
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
import requests
import requests.adapters

from .. import __version__
from ..errors import PicselliaFormatsError

log = logging.getLogger("picsellia_formats.sync")

DEFAULT_HOST = "https://app.picsellia.com"
TOKEN_ENV = "PICSELLIA_TOKEN"
#: Read when ``PICSELLIA_TOKEN`` is unset (this tool's name before 0.2).
LEGACY_TOKEN_ENV = "PICSELLIA_API_TOKEN"
HOST_ENV = "PICSELLIA_HOST"
ORGANIZATION_ENV = "PICSELLIA_ORGANIZATION"
#: Largest list a filter or a bulk call takes (the platform's page limit).
PAGE = 1000
#: Files above this size are sent by multipart upload (the SDK's ``LARGE_FILE_SIZE``), in parts of this size.
LARGE_FILE = 25 * 1024 * 1024
#: Data and asset listings ask for every upload status and type, as every SDK listing since 6.20 does
#: (``compatibility.add_data_mandatory_query_parameters``); without them the platform lists DONE data only.
DATA_LISTING = {"upload_statuses": ["PENDING", "COMPUTING", "DONE", "ERROR"], "types": ["IMAGE", "VIDEO"]}


class SyncError(PicselliaFormatsError):
    """A push or pull that could not be done (network, platform refusal, missing dataset...)."""


class PlatformError(SyncError):
    """The platform answered with an error: status, method, path, its message and detail."""

    def __init__(self, status: int, method: str, path: str, message: str, detail: Any = None) -> None:
        self.status = status
        self.method = method
        self.path = path
        self.message = message
        self.detail = detail
        text = f"{method} {path}: {status} {message}"
        if detail not in (None, "", []):
            text += f" ({detail})"
        super().__init__(text)


class _Ambiguous(Exception):
    """A call that may or may not have taken effect (connection lost, 5xx)."""

    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. Backoff before retry ``n`` (0-based) is uniform in ``[d/2, d]`` with
    ``d = min(cap, base * 2**n)``; a ``Retry-After`` header wins (up to ``retry_after_cap``).
    Polls (data processing, jobs) wait ``poll_interval`` doubling up to ``poll_cap``, at most
    ``poll_timeout`` seconds in all.

    ``PF_SYNC_BACKOFF`` / ``PF_SYNC_ATTEMPTS`` override ``base`` / ``attempts`` (tests use a short backoff).
    """

    attempts: int = 8
    base: float = 0.5
    cap: float = 30.0
    retry_after_cap: float = 120.0
    poll_interval: float = 0.25
    poll_cap: float = 5.0
    poll_timeout: float = 900.0

    def delay(self, n: int, rng: random.Random) -> float:
        d = min(self.cap, self.base * (2**n))
        return d / 2 + rng.uniform(0, d / 2)

    @classmethod
    def from_env(cls) -> RetryPolicy:
        policy = cls()
        if os.environ.get("PF_SYNC_BACKOFF"):
            base = float(os.environ["PF_SYNC_BACKOFF"])
            policy = replace(policy, base=base, cap=max(base * 8, base), poll_interval=min(0.25, base),
                             poll_cap=max(base * 4, min(0.25, base)))
        if os.environ.get("PF_SYNC_ATTEMPTS"):
            policy = replace(policy, attempts=int(os.environ["PF_SYNC_ATTEMPTS"]))
        return policy


@dataclass(frozen=True)
class Timeouts:
    """Seconds: to connect, to wait for an API answer, to move one file."""

    connect: float = 10.0
    api: float = 300.0
    transfer: float = 300.0


@dataclass(frozen=True)
class Limits:
    """Caps against a hostile or broken server: bytes of one API answer, bytes of one download when the
    platform states no size, seconds for one whole call (all reads of it), pages of one listing."""

    response_bytes: int = 256 * 1024 * 1024
    download_bytes: int = 2 * 1024 * 1024 * 1024
    deadline: float = 900.0
    pages: int = 100_000


def check_token(value: str) -> str:
    """`value` stripped, or SyncError when it holds a control character (never echoing it).

    Example:
        >>> check_token(" abc ")
        'abc'
        >>> check_token("ab\\ncd")
        Traceback (most recent call last):
        ...
        picsellia_formats.sync.client.SyncError: the API token holds a control character (a pasted newline?): not used
    """
    value = value.strip()
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise SyncError("the API token holds a control character (a pasted newline?): not used")
    return value


class _Secret:
    """Holds the token; every way of showing it shows a placeholder."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "<token hidden>"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("the API token cannot be pickled")


class _Bearer(requests.auth.AuthBase):
    """Adds ``Authorization: Bearer`` to API requests only (never to presigned storage URLs)."""

    def __init__(self, secret: _Secret) -> None:
        self._secret = secret

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = f"Bearer {self._secret.reveal()}"
        return r

    def __repr__(self) -> str:
        return "<bearer auth>"


def read_dotenv(path: str | os.PathLike[str], key: str) -> str | None:
    """The value of ``key`` in a ``.env`` file (``KEY=value``, optional ``export`` and quotes), or None.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / ".env"
        >>> _ = p.write_text('# comment\\nexport PICSELLIA_API_TOKEN="abc"\\n')
        >>> read_dotenv(p, "PICSELLIA_API_TOKEN")
        'abc'
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        return None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[7:].lstrip()
        name, sep, value = line.partition("=")
        if not sep or name.strip() != key:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        return value or None
    return None


def resolve_token(token: str | None = None, env_file: str | os.PathLike[str] | None = ".env") -> str:
    """The API token: `token`, else ``PICSELLIA_TOKEN`` (then ``PICSELLIA_API_TOKEN``), else the same keys
    in `env_file`; refused when it holds a control character."""
    value = token or os.environ.get(TOKEN_ENV) or os.environ.get(LEGACY_TOKEN_ENV)
    if not value and env_file:
        value = read_dotenv(env_file, TOKEN_ENV) or read_dotenv(env_file, LEGACY_TOKEN_ENV)
    if not value:
        raise SyncError(f"no API token: set {TOKEN_ENV} in the environment or in a .env file")
    return check_token(value)


def _read_capped(resp: requests.Response, cap: int, deadline: float, what: str) -> None:
    """Read the whole body of `resp` (kept as its content), refusing more than `cap` bytes or reading
    past `deadline` (a server trickling bytes cannot hold a call forever)."""
    stated = resp.headers.get("Content-Length", "")
    if stated.isdigit() and int(stated) > cap:
        resp.close()
        raise SyncError(f"{what}: the answer is {int(stated):,} bytes, over the {cap:,}-byte limit")
    chunks, size = [], 0
    for chunk in resp.iter_content(1 << 16):
        size += len(chunk)
        if size > cap:
            resp.close()
            raise SyncError(f"{what}: the answer is over the {cap:,}-byte limit")
        if time.monotonic() > deadline:
            resp.close()
            raise SyncError(f"{what}: the answer did not arrive within the deadline")
        chunks.append(chunk)
    resp._content = b"".join(chunks)
    resp._content_consumed = True


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _retry_after(resp: requests.Response) -> float | None:
    value = resp.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class Client:
    """A connection to one organization of a Picsellia platform.

    ``host`` defaults to ``PICSELLIA_HOST`` or https://app.picsellia.com; ``organization`` (a name or an
    id) to ``PICSELLIA_ORGANIZATION`` or the user's default organization. ``workers`` sizes the
    connection pool for parallel transfers. Connecting (ping, organization, datalake) happens on
    first use.
    """

    def __init__(
        self,
        host: str | None = None,
        token: str | None = None,
        organization: str | None = None,
        *,
        retry: RetryPolicy | None = None,
        timeouts: Timeouts | None = None,
        limits: Limits | None = None,
        workers: int = 8,
        env_file: str | os.PathLike[str] | None = ".env",
        allow_insecure_http: bool = False,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        host = (host or os.environ.get(HOST_ENV) or DEFAULT_HOST).rstrip("/")
        parts = urlsplit(host)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise SyncError(f"host must be an https:// URL, got {host!r}")
        if parts.scheme == "http" and not (allow_insecure_http or _is_loopback(parts.hostname)):
            raise SyncError(f"refusing to send the API token over plain http to {parts.hostname}; use https")
        self.host = host
        self._secret = _Secret(resolve_token(token, env_file))
        self._wanted_org = organization or os.environ.get(ORGANIZATION_ENV) or None
        self.retry = retry or RetryPolicy.from_env()
        self.timeouts = timeouts or Timeouts()
        self.limits = limits or Limits()
        self._sleep = sleep
        self._rng = random.Random()
        self._rng_lock = threading.Lock()
        self.session = requests.Session()
        self.session.verify = True
        self.session.trust_env = True
        adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=max(4, workers * 2 + 4),
                                                max_retries=0)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self.session.headers["User-Agent"] = f"picsellia-formats/{__version__}"
        self._auth = _Bearer(self._secret)
        self._connect_lock = threading.Lock()
        self._org: dict[str, Any] | None = None
        self._lake: dict[str, Any] | None = None
        self.username: str | None = None

    def __repr__(self) -> str:
        org = self._org["name"] if self._org else (self._wanted_org or "default")
        return f"Client(host={self.host!r}, organization={org!r})"

    def __reduce__(self) -> Any:
        raise TypeError("a Client holds an API token and cannot be pickled")

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _redact(self, text: str) -> str:
        token = self._secret.reveal()
        return text.replace(token, "<token hidden>") if token and token in text else text

    # -- the request loop ------------------------------------------------------------------------------

    def _backoff(self, n: int) -> float:
        with self._rng_lock:
            return self.retry.delay(n, self._rng)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        data: Any = None,
        files: Any = None,
        headers: dict[str, str] | None = None,
        idempotent: bool = True,
        stream: bool = False,
        api: bool = True,
        ok: Sequence[int] = (),
    ) -> requests.Response:
        """Send one call, retrying what is safe to retry; returns the response or raises PlatformError/SyncError.

        ``api=False`` sends to an absolute URL (presigned storage) without the token. A non-idempotent
        call raises `_Ambiguous` when it may have taken effect; `create` handles that.
        """
        url = f"{self.host}{path}" if api else path
        shown = path if api else urlsplit(path).path
        body = orjson.dumps(json, option=orjson.OPT_NON_STR_KEYS) if json is not None else data
        hdrs = dict(headers or {})
        if api:
            hdrs.setdefault("Accept", "application/json")
            if json is not None:
                hdrs["Content-Type"] = "application/json"
            if self._org is not None:
                hdrs["X-Picsellia-Organization"] = self._org["id"]
        timeout = (self.timeouts.connect, self.timeouts.api if api else self.timeouts.transfer)
        deadline = time.monotonic() + self.limits.deadline
        last = ""
        for n in range(self.retry.attempts):
            if time.monotonic() > deadline:
                raise SyncError(f"{method} {shown}: no answer within the {self.limits.deadline:.0f} s deadline "
                                f"(last: {last or 'none'})")
            t0 = time.perf_counter()
            try:
                # API answers are read through a size cap; a redirect of an API call is never followed
                # (the token must not reach another host); storage calls carry no token at all
                resp = self.session.request(method, url, params=params, data=body, files=files, headers=hdrs,
                                            timeout=timeout, stream=True, auth=self._auth if api else None,
                                            allow_redirects=not api)
                if not stream:
                    _read_capped(resp, self.limits.response_bytes, deadline, f"{method} {shown}")
            except requests.exceptions.SSLError:
                raise SyncError(f"{method} {shown}: TLS handshake or certificate verification failed with "
                                f"{urlsplit(url).hostname}") from None
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
                last = f"{type(exc).__name__}"
                log.debug("%s %s -> %s (attempt %d)", method, shown, last, n + 1)
                if not idempotent:
                    raise _Ambiguous(last) from None
                self._sleep(self._backoff(n))
                continue
            status = resp.status_code
            log.debug("%s %s -> %d (%.3f s)", method, shown, status, time.perf_counter() - t0)
            if status in ok or (200 <= status < 300 and status != 208):
                return resp
            if status == 429:
                wait = _retry_after(resp)
                wait = min(wait, self.retry.retry_after_cap) if wait is not None else self._backoff(n)
                last = "429 Too Many Requests"
                resp.close()
                self._sleep(wait)
                continue
            if status >= 500:
                last = f"{status} {self._error_text(resp)[0]}"
                resp.close()
                if not idempotent:
                    raise _Ambiguous(last)
                self._sleep(self._backoff(n))
                continue
            message, detail = self._error_text(resp)
            raise PlatformError(status, method, shown, message, detail)
        raise SyncError(f"{method} {urlsplit(url).netloc}{shown}: gave up after {self.retry.attempts} attempts "
                        f"(last: {last})")

    def _error_text(self, resp: requests.Response) -> tuple[str, Any]:
        try:
            body = resp.json()
            message, detail = str(body.get("message") or resp.reason), body.get("detail")
        except (ValueError, AttributeError):
            message, detail = (resp.reason or f"HTTP {resp.status_code}"), None
        if resp.status_code == 208:
            message = "an object already has this name in storage"
        detail = self._redact(str(detail)) if detail not in (None, "", []) else None
        return self._redact(message), detail

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """`request` and decode the JSON answer (None for 204)."""
        resp = self.request(method, path, **kwargs)
        if resp.status_code == 204 or not resp.content:
            return None
        try:
            return orjson.loads(resp.content)
        except orjson.JSONDecodeError:
            raise SyncError(f"{method} {path}: the platform answered with invalid JSON") from None

    def create(self, path: str, body: Any, lookup: Callable[[], Any], method: str = "POST") -> Any:
        """A call that creates something, made safe to retry: after a lost answer, a 5xx or a 409,
        `lookup()` (idempotent) tells whether the object exists; it is returned if so, else the call
        is sent again."""
        for n in range(self.retry.attempts):
            try:
                return self.call(method, path, json=body, idempotent=False)
            except _Ambiguous as amb:
                log.debug("%s %s ambiguous (%s): looking it up", method, path, amb.cause)
            except PlatformError as err:
                if err.status != 409:
                    raise
                found = lookup()
                if found is None:
                    raise
                return found
            found = lookup()
            if found is not None:
                return found
            self._sleep(self._backoff(n))
        raise SyncError(f"{method} {path}: gave up after {self.retry.attempts} attempts")

    def find(self, path: str, params: dict[str, Any]) -> Any:
        """GET a ``.../find`` path; None when the platform answers 404."""
        try:
            return self.call("GET", path, params=params)
        except PlatformError as err:
            if err.status == 404:
                return None
            raise

    def paginate(self, path: str, params: dict[str, Any] | None = None, method: str = "GET",
                 body: Any = None, limit: int = PAGE) -> Iterator[dict[str, Any]]:
        """Every item of a list endpoint: ``limit`` and ``offset=0`` first, then ``cursor`` until null
        (offset pages when the platform gives no cursor)."""
        query = dict(params or {})
        query["limit"] = limit
        query["offset"] = 0
        seen = 0
        for _ in range(self.limits.pages):
            page = self.call(method, path, params=query, json=body)
            items = page.get("items", []) if isinstance(page, dict) else page
            yield from items
            seen += len(items)
            cursor = page.get("next_cursor") if isinstance(page, dict) else None
            if cursor:
                query.pop("offset", None)
                query["cursor"] = cursor
            elif isinstance(page, dict) and "next_cursor" not in page and len(items) == limit and \
                    seen < int(page.get("count", 0)):
                query["offset"] = seen
            else:
                return
        raise SyncError(f"{method} {path}: the listing did not end after {self.limits.pages:,} pages "
                        "(a cursor that never ends?); nothing was treated as complete")

    def poll(self, what: str, check: Callable[[], bool]) -> None:
        """Call `check` until it returns True, waiting longer each time; bounded by ``poll_timeout``."""
        deadline = time.monotonic() + self.retry.poll_timeout
        wait = self.retry.poll_interval
        while not check():
            if time.monotonic() > deadline:
                raise SyncError(f"timed out after {self.retry.poll_timeout:.0f} s waiting for {what}")
            self._sleep(wait)
            wait = min(self.retry.poll_cap, wait * 2)

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
        return list(self.paginate(f"/api/dataset/version/{version_id}/labels"))

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
        when the connector answers 400 to ``init_multipart_upload``). Idempotent."""
        if len(content) > LARGE_FILE:
            try:
                init = self.call("POST", f"/api/object-storage/{self.connector_id}/init_multipart_upload",
                                 json={"object_name": object_name, "content_type": content_type})
            except PlatformError as err:
                if err.status != 400:
                    raise
                log.debug("multipart refused for %s: one upload", object_name)
            else:
                self._upload_parts(object_name, content, init)
                return
        presigned = self.call("POST", f"/api/object-storage/{self.connector_id}/generate_presigned_url",
                              json={"object_name": object_name, "content_type": content_type})
        client_type = str(presigned.get("client_type", "")).lower()
        url = presigned["presigned_url_data"]["url"]
        fields = dict(presigned["presigned_url_data"].get("fields") or {})
        if client_type == "azure":
            headers = {**fields, "Content-Type": content_type, "x-ms-blob-type": "BlockBlob"}
            self.request("PUT", url, data=content, headers=headers, api=False)
        elif client_type in ("aws", "minio", "google"):
            form = {**fields, "Content-Type": content_type}
            self.request("POST", url, data=form, files={"file": (object_name, content)}, api=False)
        else:
            raise SyncError(f"storage type {client_type!r} is not supported")

    def _upload_parts(self, object_name: str, content: bytes, init: dict[str, Any]) -> None:
        client_type = str(init.get("client_type", "")).lower()
        size = len(content)
        if client_type == "google":
            for start in range(0, size, LARGE_FILE):
                end = min(size, start + LARGE_FILE) - 1
                self.request("PUT", str(init["url"]), data=content[start:end + 1], api=False, ok=(308,),
                             headers={"Content-Length": str(end + 1 - start),
                                      "Content-Range": f"bytes {start}-{end}/{size}"})
            return
        if client_type not in ("aws", "minio"):
            raise SyncError(f"multipart upload to storage type {client_type!r} is not supported")
        base = f"/api/object-storage/{self.connector_id}"
        parts = []
        for number, start in enumerate(range(0, size, LARGE_FILE), start=1):
            url = self.call("POST", f"{base}/generate_part_presigned_url",
                            json={"object_name": object_name, "upload_id": init["upload_id"], "part_no": number})
            resp = self.request("PUT", str(url["url"]), data=content[start:start + LARGE_FILE], api=False)
            parts.append({"ETag": resp.headers.get("ETag", ""), "PartNumber": number})
        self.call("POST", f"{base}/complete_part_upload",
                  json={"object_name": object_name, "upload_id": init["upload_id"], "parts": parts})

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
            out.extend(self.paginate(path, dict(DATA_LISTING), method="XGET", body={key: list(values[i:i + PAGE])}))
        return out

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
            out.extend(self.paginate(path, dict(DATA_LISTING), method="XGET",
                                     body={key: list(values[i:i + PAGE])}))
        return out

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
            except _Ambiguous as amb:
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
        return list(self.paginate(f"/api/dataset/version/{version_id}/annotations", params))

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
