"""Findings and the validation report: grouped text for people, a full JSON list for machines.

Example:
    >>> report = ValidationReport()
    >>> report.add(Finding("bbox-out-of-image", "error", "box (700, 10, 5, 5) lies wholly outside the "
    ...                    "640×480 image", asset="a.jpg", asset_index=0, object_index=2))
    >>> report.counts()
    {'bbox-out-of-image': 1}
    >>> report.failed("error"), report.failed("warning")
    (True, True)
    >>> print(report.to_text(header=False))
    1 error
    <BLANKLINE>
    error    bbox-out-of-image  1  a box lies wholly outside its image; fix: drop the object
      a.jpg object 2: box (700, 10, 5, 5) lies wholly outside the 640×480 image
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Protocol

from ..errors import OptionError
from ..textutil import count
from .rules import RULES, SEVERITIES, SEVERITY_RANK


class Finding:
    """One defect: its code and severity, where it is (asset, object, source file and record) and what.

    ``asset_index``/``object_index`` locate it in the validated `Dataset` (None when the record
    could not be placed in it, e.g. an object pointing at an unknown image); ``data`` holds the
    measured values a fix or a script may need (sizes, the image's EXIF orientation…).
    """

    __slots__ = ("asset", "asset_index", "code", "data", "file", "label", "message", "object_id", "object_index",
                 "record", "severity")

    def __init__(
        self,
        code: str,
        severity: str,
        message: str,
        *,
        asset: str | None = None,
        asset_index: int | None = None,
        object_index: int | None = None,
        object_id: Any = None,
        file: str | None = None,
        record: str | None = None,
        data: dict[str, Any] | None = None,
        label: Any = None,
    ) -> None:
        self.code = code
        self.severity = severity
        self.message = message
        self.asset = asset
        self.asset_index = asset_index
        self.object_index = object_index
        self.object_id = object_id
        self.file = file
        self.record = record
        self.data = data
        self.label = label

    def where(self) -> str:
        """``a.jpg object 2 (id=17) [ann.json: annotation (id=17)]``: the place, for people."""
        parts = []
        if self.asset is not None:
            parts.append(self.asset)
        if self.object_index is not None:
            parts.append(f"object {self.object_index}")
        if self.object_id is not None:
            parts.append(f"(id={self.object_id!r})")
        source = ": ".join(p for p in (self.file, self.record) if p)
        if source:
            parts.append(f"[{source}]")
        return " ".join(parts) or "dataset"

    def __str__(self) -> str:
        return f"{self.severity}: {self.code}: {self.where()}: {self.message}"

    def __repr__(self) -> str:
        return f"Finding({str(self)!r})"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "severity": self.severity, "message": self.message}
        for key in ("asset", "asset_index", "object_index", "object_id", "label", "file", "record"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.data:
            out["data"] = self.data
        return out


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


#: Findings a bounded report (`ValidationReport(keep=KEEP)`, what `validate --stream` and the CLI use)
#: holds per rule code; the counts are always exact, and a findings file gets every one.
KEEP = 1000


class FindingSink(Protocol):
    """Where every finding goes as it is found (`picsellia_formats.validation.sink.FindingsFile`)."""

    def write(self, finding: Finding) -> None: ...


class ValidationReport:
    """The findings of a validation run, counted per code and label, plus what was checked (``stats``).

    Every finding goes through `add`, which counts it per (code, label) and per severity, hands it to
    ``sink`` (e.g. a JSON-lines file) when one is given, and holds it in ``findings`` unless ``keep`` of its
    code are held already (``keep=None``: every finding is held, what `fix` needs). The counts, the summary,
    `failed` and the texts come from the counts, never from the held list, so a bounded report (a million
    area mismatches in a few MiB) gives the same totals and exit code as a full one; ``len(report)`` is the
    total, iterating gives the held findings, ``report.omitted()`` what was counted but not held.

    ``image_facts`` maps an asset index to what its image file told (size after EXIF, stored size,
    orientation, type), for `fix`; ``dataset`` is the dataset checked (for `fix`).

    Example:
        >>> r = ValidationReport(keep=1)
        >>> for i in range(3):
        ...     r.add(Finding("area-mismatch", "info", f"area {i}", asset="a.jpg", object_index=i, label="cat"))
        >>> len(r), len(r.findings), r.omitted(), r.counts_by_label()
        (3, 1, {'area-mismatch': 2}, {'area-mismatch': {'cat': 3}})
    """

    def __init__(self, findings: Iterable[Finding] = (), *, keep: int | None = None,
                 sink: FindingSink | None = None) -> None:
        if keep is not None and keep < 0:
            raise OptionError(f"keep must be >= 0 or None, got {keep!r}")
        self.keep = keep
        self.sink = sink
        self.findings: list[Finding] = []
        self._counts: dict[str, int] = {}
        self._by_label: dict[tuple[str, Any], int] = {}
        self._severity: dict[str, int] = dict.fromkeys(SEVERITIES, 0)
        self._code_severity: set[tuple[str, str]] = set()
        self.stats: dict[str, Any] = {}
        self.image_facts: dict[int, Any] = {}
        self.options: dict[str, Any] = {}
        #: the dataset that was checked (what `fix` corrects), and findings for records left out of it
        self.dataset: Any = None
        self.salvaged: list[Finding] = []
        self.extend(findings)

    def add(self, finding: Finding) -> None:
        """Count `finding`, write it to the sink, and hold it unless `keep` of its code are held."""
        code = finding.code
        n = self._counts.get(code, 0)
        self._counts[code] = n + 1
        key = (code, finding.label)
        by_label = self._by_label
        by_label[key] = by_label.get(key, 0) + 1
        self._severity[finding.severity] += 1
        self._code_severity.add((code, finding.severity))
        if self.sink is not None:
            self.sink.write(finding)
        if self.keep is None or n < self.keep:
            self.findings.append(finding)

    def extend(self, findings: Iterable[Finding]) -> None:
        for f in findings:
            self.add(f)

    def __iter__(self) -> Iterator[Finding]:
        return iter(self.findings)

    def __len__(self) -> int:
        return sum(self._counts.values())

    def __bool__(self) -> bool:
        return bool(self._counts)

    @property
    def complete(self) -> bool:
        """True when every finding counted is held in ``findings``."""
        return len(self.findings) == len(self)

    def counts(self) -> dict[str, int]:
        """Findings per code, worst severity first, then most frequent."""
        return dict(sorted(self._counts.items(),
                           key=lambda kv: (SEVERITY_RANK[RULES[kv[0]].severity], -kv[1], kv[0])))

    def counts_by_label(self) -> dict[str, dict[Any, int]]:
        """``{code: {label: n}}`` in the order of `counts`, most frequent label first; findings that are
        not about one label (an image file, a duplicate file name) count under None."""
        out: dict[str, dict[Any, int]] = {code: {} for code in self.counts()}
        for (code, label), n in sorted(self._by_label.items(), key=lambda kv: (-kv[1], str(kv[0][1]))):
            out[code][label] = n
        return out

    def omitted(self) -> dict[str, int]:
        """Per code, the findings counted but not held (a bounded report); empty when all are held."""
        held: dict[str, int] = {}
        for f in self.findings:
            held[f.code] = held.get(f.code, 0) + 1
        return {code: n - held.get(code, 0) for code, n in self.counts().items() if n > held.get(code, 0)}

    def by_severity(self) -> dict[str, int]:
        return dict(self._severity)

    def codes(self, severity: str | None = None) -> set[str]:
        """Codes found (at `severity` exactly, when given)."""
        return {c for c, s in self._code_severity if severity is None or s == severity}

    def of(self, code: str) -> list[Finding]:
        """The held findings of `code` (every one unless the report is bounded)."""
        return [f for f in self.findings if f.code == code]

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    def failed(self, fail_on: str = "error") -> bool:
        """True when a finding is at or above `fail_on` (error or warning)."""
        if fail_on not in ("error", "warning", "info"):
            raise OptionError(f"fail_on must be error, warning or info, got {fail_on!r}")
        limit = SEVERITY_RANK[fail_on]
        return any(n and SEVERITY_RANK[sev] <= limit for sev, n in self._severity.items())

    def summary(self) -> str:
        """``2 errors, 5 warnings, 1 info`` (or ``no findings``)."""
        sev = self._severity
        parts = [_plural(sev["error"], "error") if sev["error"] else "",
                 _plural(sev["warning"], "warning") if sev["warning"] else "",
                 f"{sev['info']:,} info" if sev["info"] else ""]
        return ", ".join(p for p in parts if p) or "no findings"

    def to_text(self, examples: int = 3, header: bool = True, labels: int = 5) -> str:
        """Findings grouped by code (worst first) with their counts and the first `examples` of each; when a
        code has more findings than examples, its counts for the `labels` most frequent labels."""
        lines = []
        if header and self.stats:
            s = self.stats
            head = f"validated {count(s.get('assets', 0), 'asset')}, {count(s.get('objects', 0), 'object')}"
            if s.get("images_checked") is not None:
                head += f", {count(s['images_checked'], 'image file')}"
            if s.get("seconds") is not None:
                head += f" in {s['seconds']:.2f} s"
            lines.append(head)
        lines.append(self.summary())
        groups: dict[str, list[Finding]] = {}
        for f in self.findings:
            group = groups.setdefault(f.code, [])
            if len(group) < examples:
                group.append(f)
        by_label = self.counts_by_label()
        width = max((len(c) for c in self._counts), default=0)
        for code, n in self.counts().items():
            rule = RULES[code]
            lines.append("")
            fix = f"; fix: {rule.fix}" if rule.fix else ""
            lines.append(f"{rule.severity:<8} {code:<{width}}  {n:,}  {rule.summary}{fix}")
            shown = groups.get(code, [])
            for f in shown:
                lines.append(f"  {f.where()}: {f.message}")
            if n > len(shown):
                lines.append(f"  ... and {n - len(shown):,} more")
                named = {k: v for k, v in by_label[code].items() if k is not None}
                if named and labels:
                    top = ", ".join(f"{k!r} {v:,}" for k, v in list(named.items())[:labels])
                    rest = f" and {len(named) - labels:,} more labels" if len(named) > labels else ""
                    lines.append(f"  by label: {top}{rest}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        return f"ValidationReport({self.summary()})"

    def to_dict(self, limit: int | None = None) -> dict[str, Any]:
        """JSON-ready: ``{"summary", "by_severity", "counts", "counts_by_label", "stats", "findings",
        "findings_total", "omitted"}``. ``findings`` lists the held findings, at most `limit` per code;
        ``omitted`` gives, per code, how many of its findings are not listed (every one is in a findings
        file, see `picsellia_formats.validation.sink`)."""
        listed: list[dict[str, Any]] = []
        per_code: dict[str, int] = {}
        for f in self.findings:
            n = per_code.get(f.code, 0)
            if limit is None or n < limit:
                per_code[f.code] = n + 1
                listed.append(f.to_dict())
        total = self.counts()
        return {
            "summary": self.summary(),
            "by_severity": self.by_severity(),
            "counts": total,
            "counts_by_label": [{"code": code, "label": label, "count": n}
                                for code, labels in self.counts_by_label().items() for label, n in labels.items()],
            "stats": self.stats,
            "findings": listed,
            "findings_total": len(self),
            "omitted": {code: n - per_code.get(code, 0) for code, n in total.items() if n > per_code.get(code, 0)},
        }
