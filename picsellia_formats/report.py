"""The fidelity report: what a read or a write dropped, approximated, rounded or changed, with counts.

Example:
    >>> report = Report()
    >>> report.dropped("Q&A answers", 17, "VOC has no Q&A")
    >>> report.approximated("polygons written as boxes", 3204)
    >>> print(report)
    17 Q&A answers dropped (VOC has no Q&A)
    3,204 polygons written as boxes
    >>> report.lossy
    True

Entries have a scope: ``annotation`` (objects, geometry, labels, attributes, Q&A, statuses, scores)
or ``metadata`` (format metadata with no place in the target: VOC header fields, COCO info and
licenses). ``strict=True`` refuses annotation loss only, ``strict="all"`` both (`refuses`).

    >>> report.dropped("assets' VOC-only fields", 2, "COCO has no place for folder", scope="metadata")
    >>> print(report)
    17 Q&A answers dropped (VOC has no Q&A)
    3,204 polygons written as boxes
    format metadata with no place in the target:
      2 assets' VOC-only fields dropped (COCO has no place for folder)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .textutil import singular_phrase

#: kinds that lose or alter information; "info" kinds do not make a conversion lossy.
LOSSY_KINDS = ("dropped", "approximated", "rounded")
KINDS = (*LOSSY_KINDS, "changed", "info")
#: what a loss is about: annotation data, or format metadata with no place in the target
SCOPES = ("annotation", "metadata")
#: the values `strict` takes: False (refuse nothing), True or "annotations" (refuse annotation loss), "all"
STRICT_MODES = (False, True, "annotations", "all")
METADATA_HEADER = "format metadata with no place in the target:"


def check_strict(strict: object) -> bool | str:
    """`strict` as one of `STRICT_MODES` ("annotations" is True), or OptionError.

    Example:
        >>> check_strict("all"), check_strict("annotations"), check_strict(False)
        ('all', True, False)
    """
    if strict is None or strict is False:
        return False
    if strict is True or strict == "annotations":
        return True
    if strict == "all":
        return "all"
    from .errors import OptionError

    raise OptionError(f"strict must be False, True (annotation loss), 'annotations' or 'all', got {strict!r}")


@dataclass
class Entry:
    kind: str
    what: str
    count: int
    why: str = ""
    examples: list[str] = field(default_factory=list)
    scope: str = "annotation"

    def __str__(self) -> str:
        verb = {"dropped": " dropped", "rounded": " rounded"}.get(self.kind, "")
        what = singular_phrase(self.what) if self.count == 1 else self.what
        if what.rsplit(" ", 1)[-1].endswith("ed"):  # "bad rows skipped": the phrase has its verb already
            verb = ""
        text = f"{self.count:,} {what}{verb}"
        if self.why:
            text += f" ({self.why})"
        return text


class Report:
    """Counts of what a conversion could not carry across unchanged, keyed by (kind, what, why)."""

    MAX_EXAMPLES = 5

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str, str], Entry] = {}
        self.stats: dict[str, Any] = {}

    def add(self, kind: str, what: str, count: int = 1, why: str = "", example: str | None = None,
            scope: str = "annotation") -> None:
        """Add `count` occurrences; `kind` is one of dropped, approximated, rounded, changed, info;
        `scope` is annotation (data) or metadata (format metadata with no place in the target)."""
        if kind not in KINDS:
            raise ValueError(f"unknown report kind {kind!r}; expected one of {KINDS}")
        if scope not in SCOPES:
            raise ValueError(f"unknown report scope {scope!r}; expected one of {SCOPES}")
        if count <= 0:
            return
        key = (kind, what, why)
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = Entry(kind, what, 0, why, scope=scope)
        entry.count += count
        if example is not None and len(entry.examples) < self.MAX_EXAMPLES:
            entry.examples.append(example)

    def dropped(self, what: str, count: int = 1, why: str = "", example: str | None = None,
            scope: str = "annotation") -> None:
        self.add("dropped", what, count, why, example, scope)

    def approximated(self, what: str, count: int = 1, why: str = "", example: str | None = None,
            scope: str = "annotation") -> None:
        self.add("approximated", what, count, why, example, scope)

    def rounded(self, what: str, count: int = 1, why: str = "", example: str | None = None,
            scope: str = "annotation") -> None:
        self.add("rounded", what, count, why, example, scope)

    def changed(self, what: str, count: int = 1, why: str = "", example: str | None = None,
            scope: str = "annotation") -> None:
        self.add("changed", what, count, why, example, scope)

    def info(self, what: str, count: int = 1, why: str = "", example: str | None = None,
            scope: str = "annotation") -> None:
        self.add("info", what, count, why, example, scope)

    @property
    def entries(self) -> list[Entry]:
        order = {k: i for i, k in enumerate(KINDS)}
        return sorted(self._entries.values(), key=lambda e: (order[e.kind], -e.count, e.what))

    @property
    def lossy(self) -> bool:
        """True when anything was dropped, approximated or rounded (annotation data or format metadata)."""
        return any(e.kind in LOSSY_KINDS for e in self._entries.values())

    @property
    def annotation_lossy(self) -> bool:
        """True when annotation data (not only format metadata) was dropped, approximated or rounded."""
        return any(e.kind in LOSSY_KINDS and e.scope == "annotation" for e in self._entries.values())

    def refuses(self, strict: object) -> bool:
        """Whether a conversion with this report is refused under `strict` (see `check_strict`).

        Example:
            >>> r = Report(); r.dropped("dataset's COCO-only fields", 1, scope="metadata")
            >>> r.refuses(False), r.refuses(True), r.refuses("all")
            (False, False, True)
        """
        mode = check_strict(strict)
        return self.lossy if mode == "all" else bool(mode) and self.annotation_lossy

    def count(self, kind: str, what: str | None = None) -> int:
        """Total count for a kind (and optionally one `what`)."""
        return sum(e.count for e in self._entries.values() if e.kind == kind and what in (None, e.what))

    def merge(self, other: Report) -> None:
        """Add every entry and stat of `other` to this report."""
        for key, e in other._entries.items():
            mine = self._entries.get(key)
            if mine is None:
                self._entries[key] = Entry(e.kind, e.what, e.count, e.why, list(e.examples), e.scope)
            else:
                mine.count += e.count
                mine.examples.extend(e.examples[: max(0, self.MAX_EXAMPLES - len(mine.examples))])
        self.stats.update(other.stats)

    def __bool__(self) -> bool:
        return bool(self._entries)

    def __str__(self) -> str:
        lines = [str(e) for e in self.entries if e.scope == "annotation"]
        meta = [f"  {e}" for e in self.entries if e.scope == "metadata"]
        if meta:
            lines += [METADATA_HEADER, *meta]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"Report({[str(e) for e in self.entries]!r})"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view: `{"lossy": bool, "annotation_lossy": bool, "entries": [...], "stats": {...}}`."""
        return {
            "lossy": self.lossy,
            "annotation_lossy": self.annotation_lossy,
            "entries": [
                {"kind": e.kind, "what": e.what, "count": e.count, "why": e.why, "examples": e.examples,
                 "scope": e.scope}
                for e in self.entries
            ],
            "stats": self.stats,
        }
