"""Q&A and attribute rules: answer types, choices, ranges and required questions.

Each `QA` is checked against its own declaration (kind, choices, min/max; ``extra["required"]``).
A schema (``Options.schema``) adds questions and attributes that must hold on every asset or object:
a mapping ``name -> spec`` where a spec has ``on`` (``asset`` or ``object``, default ``object``),
``kind`` (``text``, ``select``, ``mc``, ``range``, or the platform's attribute ``input_type``:
``STRING``, ``INTEGER``, ``FLOAT``, ``BOOLEAN``), ``choices``, ``min``, ``max``, ``required``
and ``labels`` (only objects of these labels). The value is the answer of the Q&A whose
question is ``name``, else the object's attribute (the asset's metadata entry) ``name``.

Example:
    >>> from picsellia_formats.model import QA, Asset, Dataset
    >>> from picsellia_formats.validation.context import Context, Options
    >>> from picsellia_formats.validation.rules import select
    >>> ds = Dataset(assets=[Asset("a.jpg", 10, 10, qa=[QA("select", "weather", "snow", choices=["sun", "rain"])])])
    >>> ctx = Context(ds, Options(), select())
    >>> check_qa(ctx, 0, None, ds.assets[0].qa)
    >>> print(ctx.report.findings[0].message)
    weather: answer 'snow' is not among the choices ['sun', 'rain']
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import OptionError
from ..model import QA
from .context import Context

_KIND_ALIASES = {"string": "text", "str": "text", "text": "text", "select": "select", "mc": "mc",
                 "multiple": "mc", "range": "range", "integer": "integer", "int": "integer", "float": "float",
                 "number": "float", "boolean": "boolean", "bool": "boolean"}
_MISSING = object()


def _unanswered(value: Any) -> bool:
    return value is None or value is _MISSING or value == "" or value == []


def _is_number(v: Any) -> bool:
    return type(v) in (int, float) and math.isfinite(v)


def check_value(ctx: Context, ai: int, oi: int | None, name: str, kind: str, value: Any,
                choices: Any = None, vmin: Any = None, vmax: Any = None, required: bool = False,
                what: str = "") -> None:
    """Check one answer or attribute value against its declared kind, choices, range and requirement."""
    emit = ctx.emit
    where = f"{what}{name}"
    if _unanswered(value):
        if required:
            emit("answer-missing", f"{where}: required, but unanswered", ai, oi, {"question": name})
        return
    if kind in ("text",):
        if type(value) is not str:
            emit("answer-wrong-type", f"{where}: a text answer must be a string, got {value!r}", ai, oi)
        return
    if kind == "select" and choices is not None and isinstance(value, list) and len(value) == 1:
        value = value[0]
    if kind == "select":
        if type(value) is not str:
            emit("answer-wrong-type", f"{where}: a select answer must be one string, got {value!r}", ai, oi)
        elif not choices or value not in choices:
            emit("answer-not-in-choices", f"{where}: answer {value!r} is not among the choices {choices!r}",
                 ai, oi, {"question": name, "answer": value})
        return
    if kind == "mc":
        if type(value) is not list or any(type(v) is not str for v in value):
            emit("answer-wrong-type", f"{where}: a multiple-choice answer must be a list of strings, "
                                      f"got {value!r}", ai, oi)
            return
        wrong = [v for v in value if not choices or v not in choices]
        if wrong:
            emit("answer-not-in-choices", f"{where}: {', '.join(map(repr, wrong))} not among the choices "
                                          f"{choices!r}", ai, oi, {"question": name, "answer": wrong})
        return
    if kind in ("range", "integer", "float"):
        if not _is_number(value) or (kind == "integer" and type(value) is not int):
            want = "an integer" if kind == "integer" else "a number"
            emit("answer-wrong-type", f"{where}: the answer must be {want}, got {value!r}", ai, oi)
            return
        if (vmin is not None and _is_number(vmin) and value < vmin) or (
                vmax is not None and _is_number(vmax) and value > vmax):
            emit("answer-out-of-range", f"{where}: {value!r} is outside {vmin!r}..{vmax!r}", ai, oi,
                 {"question": name, "answer": value, "min": vmin, "max": vmax})
        elif choices and value not in choices:
            emit("answer-not-in-choices", f"{where}: answer {value!r} is not among the choices {choices!r}",
                 ai, oi, {"question": name, "answer": value})
        return
    if kind == "boolean":
        if type(value) is not bool:
            emit("answer-wrong-type", f"{where}: the answer must be true or false, got {value!r}", ai, oi)


def check_qa(ctx: Context, ai: int, oi: int | None, qa: Iterable[QA]) -> None:
    """Check Q&A answers against their own declaration."""
    if not ctx.on("answer-wrong-type", "answer-not-in-choices", "answer-out-of-range", "answer-missing"):
        return
    for q in qa:
        required = bool(q.extra.get("required")) if q.extra else False
        check_value(ctx, ai, oi, str(q.question), q.kind, q.answer, q.choices, q.min, q.max, required)


def _spec_kind(spec: Mapping[str, Any]) -> str:
    raw = str(spec.get("kind") or spec.get("type") or spec.get("input_type") or "text").lower()
    kind = _KIND_ALIASES.get(raw)
    if kind is None:
        raise OptionError(f"unknown question kind {raw!r}; use text, select, mc, range, integer, float or boolean")
    if spec.get("choices") and kind == "text":
        kind = "mc" if spec.get("allow_multiple") else "select"
    return kind


def normalise_schema(schema: Any) -> dict[str, dict[str, Any]]:
    """``{name: spec}`` from a mapping, or a list of specs each with a ``name``; ValueError if malformed."""
    if schema is None:
        return {}
    if isinstance(schema, Mapping) and "questions" in schema and isinstance(schema["questions"], list):
        schema = schema["questions"]
    if isinstance(schema, list):
        out = {}
        for i, spec in enumerate(schema):
            if not isinstance(spec, Mapping) or not isinstance(spec.get("name"), str):
                raise OptionError(f"schema entry {i} must be an object with a name")
            out[spec["name"]] = dict(spec)
        schema = out
    if not isinstance(schema, Mapping):
        raise OptionError("a schema is a mapping of name -> spec, or a list of specs with names")
    result = {}
    for name, spec in schema.items():
        if not isinstance(spec, Mapping):
            raise OptionError(f"schema entry {name!r} must be an object")
        on = spec.get("on", "object")
        if on not in ("asset", "object"):
            raise OptionError(f"schema entry {name!r}: 'on' must be asset or object, got {on!r}")
        result[str(name)] = dict(spec, kind=_spec_kind(spec), on=on)
    return result


def check_schema(ctx: Context) -> None:
    """Check every asset or object against the questions and attributes of ``ctx.options.schema``."""
    if not ctx.on("answer-wrong-type", "answer-not-in-choices", "answer-out-of-range", "answer-missing"):
        return
    schema = normalise_schema(ctx.options.schema)
    if not schema:
        return
    asset_specs = [(n, s) for n, s in schema.items() if s["on"] == "asset"]
    object_specs = [(n, s) for n, s in schema.items() if s["on"] == "object"]
    for ai, asset in enumerate(ctx.dataset.assets):
        if asset_specs:
            answers = {q.question: q.answer for q in asset.qa}
            for name, spec in asset_specs:
                value = answers.get(name, asset.metadata.get(name, _MISSING) if asset.metadata else _MISSING)
                _check_spec(ctx, ai, None, name, spec, value, "image ")
        if not object_specs:
            continue
        for oi, ann in enumerate(asset.annotations):
            answers = {q.question: q.answer for q in ann.qa} if ann.qa else {}
            for name, spec in object_specs:
                labels = spec.get("labels")
                if labels and ann.label not in labels:
                    continue
                value = answers.get(name, ann.attributes.get(name, _MISSING) if ann.attributes else _MISSING)
                _check_spec(ctx, ai, oi, name, spec, value, "")


def _check_spec(ctx: Context, ai: int, oi: int | None, name: str, spec: Mapping[str, Any], value: Any,
                what: str) -> None:
    check_value(ctx, ai, oi, name, spec["kind"], value, spec.get("choices"), spec.get("min"), spec.get("max"),
                bool(spec.get("required")), what)
