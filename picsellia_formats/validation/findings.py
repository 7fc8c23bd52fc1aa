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
from typing import Any

from ..errors import OptionError
from ..textutil import count
from .rules import RULES, SEVERITIES, SEVERITY_RANK


class Finding:
    """One defect: its code and severity, where it is (asset, object, source file and record) and what.

    ``asset_index``/``object_index`` locate it in the validated `Dataset` (None when the record
    could not be placed in it, e.g. an object pointing at an unknown image); ``data`` holds the
    measured values a fix or a script may need (sizes, the image's EXIF orientation…).
    """

    __slots__ = ("asset", "asset_index", "code", "data", "file", "message", "object_id", "object_index",
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
        for key in ("asset", "asset_index", "object_index", "object_id", "file", "record"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.data:
            out["data"] = self.data
        return out


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


class ValidationReport:
    """Every finding of a validation run, plus what was checked (``stats``).

    ``image_facts`` maps an asset index to what its image file told (size after EXIF, stored size,
    orientation, type), for `fix`; ``dataset`` is the dataset checked (for `fix`).
    """

    def __init__(self, findings: Iterable[Finding] = ()) -> None:
        self.findings: list[Finding] = list(findings)
        self.stats: dict[str, Any] = {}
        self.image_facts: dict[int, Any] = {}
        self.options: dict[str, Any] = {}
        #: the dataset that was checked (what `fix` corrects), and findings for records left out of it
        self.dataset: Any = None
        self.salvaged: list[Finding] = []

    def add(self, finding: Finding) -> None:
        self.findings.append(finding)

    def extend(self, findings: Iterable[Finding]) -> None:
        self.findings.extend(findings)

    def __iter__(self) -> Iterator[Finding]:
        return iter(self.findings)

    def __len__(self) -> int:
        return len(self.findings)

    def __bool__(self) -> bool:
        return bool(self.findings)

    def counts(self) -> dict[str, int]:
        """Findings per code, worst severity first, then most frequent."""
        out: dict[str, int] = {}
        for f in self.findings:
            out[f.code] = out.get(f.code, 0) + 1
        return dict(sorted(out.items(), key=lambda kv: (SEVERITY_RANK[RULES[kv[0]].severity], -kv[1], kv[0])))

    def by_severity(self) -> dict[str, int]:
        out = dict.fromkeys(SEVERITIES, 0)
        for f in self.findings:
            out[f.severity] += 1
        return out

    def codes(self, severity: str | None = None) -> set[str]:
        """Codes found (at `severity` exactly, when given)."""
        return {f.code for f in self.findings if severity is None or f.severity == severity}

    def of(self, code: str) -> list[Finding]:
        return [f for f in self.findings if f.code == code]

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    def failed(self, fail_on: str = "error") -> bool:
        """True when a finding is at or above `fail_on` (error or warning)."""
        if fail_on not in ("error", "warning", "info"):
            raise OptionError(f"fail_on must be error, warning or info, got {fail_on!r}")
        limit = SEVERITY_RANK[fail_on]
        return any(SEVERITY_RANK[f.severity] <= limit for f in self.findings)

    def summary(self) -> str:
        """``2 errors, 5 warnings, 1 info`` (or ``no findings``)."""
        sev = self.by_severity()
        parts = [_plural(sev["error"], "error") if sev["error"] else "",
                 _plural(sev["warning"], "warning") if sev["warning"] else "",
                 f"{sev['info']:,} info" if sev["info"] else ""]
        return ", ".join(p for p in parts if p) or "no findings"

    def to_text(self, examples: int = 3, header: bool = True) -> str:
        """Findings grouped by code (worst first) with their counts and the first `examples` of each."""
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
            groups.setdefault(f.code, []).append(f)
        width = max((len(c) for c in groups), default=0)
        for code, n in self.counts().items():
            rule = RULES[code]
            lines.append("")
            fix = f"; fix: {rule.fix}" if rule.fix else ""
            lines.append(f"{rule.severity:<8} {code:<{width}}  {n:,}  {rule.summary}{fix}")
            for f in groups[code][:examples]:
                lines.append(f"  {f.where()}: {f.message}")
            if n > examples:
                lines.append(f"  ... and {n - examples:,} more")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        return f"ValidationReport({self.summary()})"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{"summary", "by_severity", "counts", "stats", "findings": [every finding]}``."""
        return {
            "summary": self.summary(),
            "by_severity": self.by_severity(),
            "counts": self.counts(),
            "stats": self.stats,
            "findings": [f.to_dict() for f in self.findings],
        }
