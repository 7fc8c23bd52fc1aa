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
import re
import socket
import threading
import time
from dataclasses import asdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson

from .multipart import Multipart
from .recorder import Recorder
from .routes import ROUTES, Ctx, Drop
from .settings import Faults, Settings
from .store import ErrorResponse, Store

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

    def _read_body(self) -> bytes | tuple[int, str]:
        """The body, or (status, message) when its length is invalid, too large or chunked: nothing is
        read then and the connection is closed, so no thread waits on a body that never comes."""
        raw = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding"):
            return 411, "Length required (chunked bodies are not accepted)"
        if raw is None:
            return b""
        if not raw.strip().isdigit():
            return 400, "Invalid Content-Length"
        length = int(raw)
        if length > self.server.emu.settings.max_body:
            return 413, "Request too large"
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
        if isinstance(body, tuple):
            self.close_connection = True
            self._error(body[0], body[1])
            return
        params = parse_qs(split.query, keep_blank_values=True)
        base = f"http://{self.headers.get('Host') or emu.address}"
        ctx = Ctx(emu, method, path, params, body, self.headers, base)
        emu.count_request()
        emu.recorder.record(method, path, params, body, self.headers.get("Content-Type") or "")
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
        except ErrorResponse as err:
            self._send_json(err.status, err.body())
        except Drop:
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
            raise ErrorResponse(401, "Unauthorized", "missing or invalid API token")
        ctx.org_id = user["organization_id"]

    def _api(self, ctx: Ctx) -> tuple[int, Any]:
        self._authorize(ctx)
        allowed = []
        for method, regex, fn, _pattern in ROUTES:
            match = regex.match(ctx.path)
            if match is None:
                continue
            if method != ctx.method:
                allowed.append(method)
                continue
            return fn(ctx, **match.groupdict())
        if allowed:
            raise ErrorResponse(
                405, "Method not allowed", f"{ctx.method} {ctx.path}; allowed: {', '.join(allowed)}"
            )
        raise ErrorResponse(404, "Not found", ctx.path)

    def _storage(self, ctx: Ctx) -> tuple[int, bytes, str, dict[str, str]]:
        emu = self.server.emu
        if ctx.path == "/_storage/upload" and ctx.method == "POST":
            form = _parse_multipart(self.headers.get("Content-Type") or "", ctx.body)
            key = _text(form.get("key"))
            expires = _text(form.get("x-pf-expires"))
            sig = _text(form.get("x-pf-signature"))
            if not key or not expires.isdigit() or not emu.check(sig, "POST", key, int(expires)):
                raise ErrorResponse(403, "Signature does not match or has expired")
            if "file" not in form:
                raise ErrorResponse(400, "No file part")
            if emu.settings.upload_delay:
                time.sleep(emu.settings.upload_delay)
            content_type = _text(form.get("Content-Type")) or "application/octet-stream"
            emu.store.put_object(key, form["file"], content_type)
            return 204, b"", "", {}
        if ctx.path == "/_storage/part" and ctx.method == "PUT":
            key, expires, sig = ctx.q("key") or "", ctx.q("expires") or "", ctx.q("sig") or ""
            if not key or not expires.isdigit() or not emu.check(sig, "PUT", key, int(expires)):
                raise ErrorResponse(403, "Signature does not match or has expired")
            return 200, b"", "", {"ETag": emu.multipart.put(key, ctx.body)}
        if ctx.path == "/_storage/object" and ctx.method == "GET":
            key, expires, sig = ctx.q("key") or "", ctx.q("expires") or "", ctx.q("sig") or ""
            if not key or not expires.isdigit() or not emu.check(sig, "GET", key, int(expires)):
                raise ErrorResponse(403, "Signature does not match or has expired")
            path, info = emu.store.get_object(key)
            content = path.read_bytes()
            headers = {"ETag": f'"{info["md5"]}"', "Accept-Ranges": "bytes"}
            rng = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
            if rng and int(rng.group(1)) < len(content):
                start = int(rng.group(1))
                headers["Content-Range"] = f"bytes {start}-{len(content) - 1}/{len(content)}"
                return 206, content[start:], info["content_type"], headers
            return 200, content, info["content_type"], headers
        raise ErrorResponse(404, "Not found", ctx.path)

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
                raise ErrorResponse(404, "Not found", ctx.path)
        except ErrorResponse as err:
            self._send_json(err.status, err.body())


def _text(value: bytes | None) -> str:
    return value.decode("utf-8", "replace") if value is not None else ""


def _parse_multipart(content_type: str, body: bytes) -> dict[str, bytes]:
    """Fields of a multipart/form-data body (name -> raw bytes)."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if not content_type.startswith("multipart/form-data") or not match:
        raise ErrorResponse(400, "Expected a multipart/form-data body")
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
        self.multipart = Multipart(data_dir)
        self.recorder = Recorder()
        self.settings = settings or Settings()
        self.faults = Faults(self.settings)
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
