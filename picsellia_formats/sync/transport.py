"""The HTTP side of the platform client: the token, retries with backoff, timeouts, caps, errors.

* The token comes from the argument, ``PICSELLIA_TOKEN`` (the SDK's variable; ``PICSELLIA_API_TOKEN`` is
  still read) or a ``.env`` file; it is sent only to the API host, never printed, logged, put in an error
  message or a repr, and a token holding control characters is refused before any use.
* TLS certificates are verified (plain http is refused except on loopback addresses, e.g. the emulator).
* Every call has a timeout per read and an overall deadline; every idempotent call is retried on connection
  errors, 429 (honouring ``Retry-After``) and 5xx with exponential backoff and jitter. Calls that create
  something are never blindly retried: after an ambiguous failure the object is looked up first (`create`).
* Answers are capped in size (`Limits`), a listing that does not end is an error, and an API call is never
  redirected (the token cannot follow to another host).

Example:
    >>> check_token("ab\\rc")
    Traceback (most recent call last):
    ...
    picsellia_formats.sync.transport.SyncError: the API token holds a control character (not used)
"""


from __future__ import annotations

import email.utils
import ipaddress
import logging
import os
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
import requests
import requests.adapters

from .. import __version__
from ..errors import PicselliaFormatsError
from .limits import CapError, Limits, read_capped

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


class Ambiguous(Exception):
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


def check_token(value: str) -> str:
    """`value` stripped, or SyncError when it holds a control character (never echoing it).

    Example:
        >>> check_token(" abc ")
        'abc'
        >>> check_token("ab\\ncd")
        Traceback (most recent call last):
        ...
        picsellia_formats.sync.transport.SyncError: the API token holds a control character (not used)
    """
    value = value.strip()
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise SyncError("the API token holds a control character (not used)")
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


def is_loopback(host: str) -> bool:
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


@dataclass(frozen=True)
class StorageSettings:
    """What a token-free `Storage` needs (retries, timeouts, caps): plain values, safe to send to workers.

    Example:
        >>> StorageSettings().retry.attempts
        8
    """

    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeouts: Timeouts = field(default_factory=Timeouts)
    limits: Limits = field(default_factory=Limits)


class Storage:
    """HTTP to presigned object-storage URLs only: retries, timeouts and caps as API calls have, and no
    API host nor token (an API call is refused). What a transfer worker of an engine holds (`transfers`);
    `Transport` extends it with the host and the token.

    Example:
        >>> Storage().request("GET", "/api/home/ping")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        picsellia_formats.sync.transport.SyncError: GET /api/home/ping: this connection holds no API token (...)
    """

    host: str | None = None
    _secret: _Secret | None = None
    _auth: _Bearer | None = None
    _org: dict[str, Any] | None = None

    def __init__(self, settings: StorageSettings | None = None, *, workers: int = 8,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        settings = settings or StorageSettings(RetryPolicy.from_env())
        self.retry, self.timeouts, self.limits = settings.retry, settings.timeouts, settings.limits
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

    @property
    def settings(self) -> StorageSettings:
        """The settings a worker's own `Storage` is made with (never the token)."""
        return StorageSettings(self.retry, self.timeouts, self.limits)

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> Storage:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _redact(self, text: str) -> str:
        token = self._secret.reveal() if self._secret is not None else ""
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
        call raises `Ambiguous` when it may have taken effect; `create` handles that.
        """
        if api and self._auth is None:
            raise SyncError(f"{method} {path}: this connection holds no API token (storage URLs only)")
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
                    try:
                        read_capped(resp, self.limits.response_bytes, deadline, f"{method} {shown}")
                    except CapError as exc:
                        raise SyncError(str(exc)) from None
            except requests.exceptions.SSLError:
                raise SyncError(f"{method} {shown}: TLS handshake or certificate verification failed with "
                                f"{urlsplit(url).hostname}") from None
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
                last = ("timed out" if isinstance(exc, requests.Timeout) else "the connection broke mid-response"
                        if isinstance(exc, requests.exceptions.ChunkedEncodingError)
                        else f"could not connect to {urlsplit(url).netloc} (--host / PICSELLIA_HOST)")
                log.debug("%s %s -> %s (attempt %d)", method, shown, last, n + 1)
                if not idempotent:
                    raise Ambiguous(last) from None
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
                    raise Ambiguous(last)
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


class Transport(Storage):
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
        if parts.scheme == "http" and not (allow_insecure_http or is_loopback(parts.hostname)):
            raise SyncError(f"refusing to send the API token over plain http to {parts.hostname}; use https")
        secret = _Secret(resolve_token(token, env_file))
        super().__init__(StorageSettings(retry or RetryPolicy.from_env(), timeouts or Timeouts(), limits or Limits()),
                         workers=workers, sleep=sleep)
        self.host = host
        self._secret = secret
        self._wanted_org = organization or os.environ.get(ORGANIZATION_ENV) or None
        self._auth = _Bearer(self._secret)
        self._connect_lock = threading.Lock()
        self._org = None
        self._lake: dict[str, Any] | None = None
        self.username: str | None = None

    def __repr__(self) -> str:
        org = self._org["name"] if self._org else (self._wanted_org or "default")
        return f"Client(host={self.host!r}, organization={org!r})"

    def __reduce__(self) -> Any:
        raise TypeError("a Client holds an API token and cannot be pickled")

    def __enter__(self) -> Transport:
        return self

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
            except Ambiguous as amb:
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
                 body: Any = None, limit: int = PAGE, offsets: bool = False) -> Iterator[dict[str, Any]]:
        """Every item of a list endpoint: ``limit`` and ``offset=0`` first, then ``cursor`` until null
        (offset pages when the platform gives no cursor)."""
        query = dict(params or {})
        query["limit"] = limit  # the first page has no offset (the SDK's list_with_cursor sends None)
        if offsets:  # offset pages from 0 (the SDK's do_paginate, e.g. DatasetVersion.list_annotations)
            query["offset"] = 0
        seen = 0
        for _ in range(self.limits.pages):
            page = self.call(method, path, params=query, json=body)
            items = page.get("items", []) if isinstance(page, dict) else page
            yield from items
            seen += len(items)
            cursor = page.get("next_cursor") if isinstance(page, dict) else None
            if offsets:
                if not (items and isinstance(page, dict) and seen < int(page.get("count", 0))):
                    return
                query["offset"] = seen
            elif cursor:
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

