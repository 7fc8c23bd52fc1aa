"""Records the shape of every request the emulator serves: method, path template, sorted query keys and
the key paths of the body with their JSON types. The contract test compares what our client sends with
what the official SDK sends for the same operations.

Example:
    >>> body_shape({"annotations": [{"asset_id": "x", "rectangles": [{"x": 1, "text": None}]}]})
    ('annotations[].asset_id:str', 'annotations[].rectangles[].text:null', 'annotations[].rectangles[].x:int')
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

import orjson

from .routes import ROUTES

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


@dataclass(frozen=True, order=True)
class Request:
    """One request's shape."""

    method: str
    template: str
    query: tuple[str, ...]
    body: tuple[str, ...]


def _type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    return type(value).__name__


def body_shape(body: Any, prefix: str = "", depth: int = 0) -> tuple[str, ...]:
    """Key paths of a JSON body with leaf types; lists of dicts as ``key[]``, scalar lists as ``list[type]``;
    dicts keyed by ids (a map) as ``{id}``."""
    out: set[str] = set()
    if isinstance(body, dict) and depth < 6:
        for key, value in body.items():
            name = "{id}" if _UUID.fullmatch(str(key)) else str(key)
            path = f"{prefix}.{name}" if prefix else name
            out.update(body_shape(value, path, depth + 1) or (f"{path}:{{}}",))
    elif isinstance(body, list) and depth < 6:
        if body and all(isinstance(v, dict) for v in body):
            for value in body:
                out.update(body_shape(value, f"{prefix}[]", depth + 1))
        else:
            kinds = sorted({_type(v) if not isinstance(v, list) else "list" for v in body}) or ["empty"]
            out.add(f"{prefix}:list[{'|'.join(kinds)}]" if prefix else f"list[{'|'.join(kinds)}]")
    else:
        out.add(f"{prefix}:{_type(body)}")
    return tuple(sorted(out))


def template(method: str, path: str) -> str:
    """The route pattern serving `path` (``/api/dataset/version/{v}/assets``), or the path with ids replaced."""
    for m, regex, _fn, pattern in ROUTES:
        if m == method and regex.match(path):
            return pattern
    return _UUID.sub("{id}", path)


class Recorder:
    """Thread-safe list of request shapes; `start` / `stop` bound what is kept."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.active = False
        self.requests: list[Request] = []

    def record(self, method: str, path: str, params: dict[str, list[str]], body: bytes, content_type: str) -> None:
        if not self.active:
            return
        if path.startswith("/_storage/"):
            shape: tuple[str, ...] = ("<multipart form>",) if "multipart" in content_type else (
                ("<bytes>",) if body else ())
            query = ()
        else:
            try:
                shape = body_shape(orjson.loads(body)) if body else ()
            except orjson.JSONDecodeError:
                shape = ("<not json>",)
            query = tuple(sorted(params))
        req = Request(method, template(method, path), query, shape)
        with self._lock:
            self.requests.append(req)

    def start(self) -> None:
        with self._lock:
            self.requests, self.active = [], True

    def stop(self) -> list[Request]:
        with self._lock:
            self.active = False
            return list(self.requests)
