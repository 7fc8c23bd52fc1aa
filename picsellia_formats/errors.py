"""The exception family: every error names the file, the record and what is wrong.

Example:
    >>> err = FormatError("problem: category_id 7 is not declared", file="a.json", record="annotation id=3")
    >>> str(err)
    'a.json: annotation id=3: problem: category_id 7 is not declared'
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

MAX_PROBLEMS = 20


class PicselliaFormatsError(Exception):
    """Base class of every error this package raises on purpose."""


class FormatError(PicselliaFormatsError, ValueError):
    """Input that cannot be read: names the file, the record (index, id or line) and the problem.

    `problems` holds one `Problem` per defect found (a reader collects up to `MAX_PROBLEMS`
    before raising), so a user sees every bad record at once rather than one per run.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        record: str | None = None,
        problems: Iterable[Problem] | None = None,
        more: int = 0,
        more_files: Iterable[str] = (),
    ) -> None:
        self.file = str(file) if file is not None else None
        self.record = record
        self.message = message
        self.problems: list[Problem] = list(problems) if problems else [Problem(message, self.file, record)]
        self.more = more
        #: the files the uncounted problems are in (a few), so that line names them too
        self.more_files = [f for f in dict.fromkeys(more_files) if f][:3]
        super().__init__(self._text())

    def _text(self) -> str:
        lines = [str(p) for p in self.problems]
        if self.more:
            files = self.more_files or [f for f in (self.problems[0].file if self.problems else self.file,) if f]
            where = ", ".join(files)
            lines.append(f"{where + ': ' if where else ''}... and {self.more} more problems")
        return "\n".join(lines)

    def lines(self) -> list[str]:
        """One line per problem (for the CLI)."""
        return self._text().splitlines()


class Problem:
    """One defect: where it is and what is wrong."""

    __slots__ = ("file", "message", "record")

    def __init__(self, message: str, file: str | None = None, record: str | None = None) -> None:
        # one line per problem, so every line printed names the file (parsers' messages span lines)
        self.message = " ".join(message.split()) if "\n" in message or "\r" in message else message
        self.file = file
        self.record = record

    def __str__(self) -> str:
        parts = [p for p in (self.file, self.record) if p]
        return ": ".join([*parts, self.message])

    def __repr__(self) -> str:
        return f"Problem({str(self)!r})"


class ProblemCollector:
    """Collects problems while reading, of one file or of many, and raises them together.

    `file` is the default file of `add`; a reader of many files passes each problem's own
    `file`, or folds another reader's `FormatError` in with `extend`. One collector for every
    reader: formats keep no problem list of their own.

    Example:
        >>> problems = ProblemCollector("a.json")
        >>> problems.add("annotation[3]", "bbox has 3 values, expected 4")
        >>> problems.add("line 2", "5 values, expected 5 or 6", file="b.txt")
        >>> problems.raise_if_any()
        Traceback (most recent call last):
        ...
        picsellia_formats.errors.FormatError: a.json: annotation[3]: bbox has 3 values, expected 4
        b.txt: line 2: 5 values, expected 5 or 6
    """

    def __init__(self, file: str | Path | None = None, limit: int = MAX_PROBLEMS) -> None:
        self.file = str(file) if file is not None else None
        self.limit = limit
        self.problems: list[Problem] = []
        self.count = 0
        self.more_files: dict[str, None] = {}

    def add(self, record: str | None, message: str, *, file: str | Path | None = None) -> None:
        self.count += 1
        where = str(file) if file is not None else self.file
        if len(self.problems) < self.limit:
            self.problems.append(Problem(message, where, record))
        elif where and len(self.more_files) < 3:
            self.more_files[where] = None

    def extend(self, error: FormatError) -> None:
        """Fold in every problem of another error (and its uncounted rest)."""
        for p in error.problems:
            self.add(p.record, p.message, file=p.file)
        self.count += error.more
        for f in error.more_files or ([error.file] if error.more and error.file else []):
            if len(self.more_files) < 3:
                self.more_files[f] = None

    def __bool__(self) -> bool:
        return self.count > 0

    def raise_if_any(self) -> None:
        if self.count:
            first = self.problems[0]
            raise FormatError(
                first.message,
                file=first.file,
                record=first.record,
                problems=self.problems,
                more=self.count - len(self.problems),
                more_files=self.more_files,
            )


class DetectionError(PicselliaFormatsError, ValueError):
    """The format of an input could not be decided; the message lists what was tried."""


class LossyConversionError(PicselliaFormatsError):
    """Raised in strict mode when a conversion would drop or approximate something."""

    def __init__(self, report: object, strict: object = True) -> None:
        self.report = report
        self.strict = strict
        if strict == "all":
            head = "refusing a lossy conversion (--strict=all: annotation data and format metadata):\n"
        else:
            head = ("refusing a lossy conversion (--strict: annotation data; format metadata alone is "
                    "refused only with --strict=all):\n")
        super().__init__(head + str(report))


class UnknownFormatError(PicselliaFormatsError, ValueError):
    """A format name that the registry does not know."""


class OptionError(PicselliaFormatsError, ValueError):
    """A caller's option, ratio, path or argument that cannot be used (unknown format option, bad choice,
    ratios that do not sum to one, an output that may not be replaced...).

    Example:
        >>> raise OptionError("ratios must sum to 1, got 0.9")
        Traceback (most recent call last):
        ...
        picsellia_formats.errors.OptionError: ratios must sum to 1, got 0.9
    """


class OutputExistsError(OptionError):
    """An output path holds something this tool did not write; refused unless overwrite is asked for."""
