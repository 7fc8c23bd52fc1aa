"""The exception family: what each error says, the collector of one file or many."""

from __future__ import annotations

import pytest

from picsellia_formats.errors import (
    DetectionError,
    FormatError,
    OptionError,
    OutputExistsError,
    PicselliaFormatsError,
    ProblemCollector,
    UnknownFormatError,
)


@pytest.mark.parametrize("cls", [FormatError, DetectionError, UnknownFormatError, OptionError, OutputExistsError])
def test_every_user_error_is_in_the_family_and_a_value_error(cls: type[Exception]) -> None:
    assert issubclass(cls, PicselliaFormatsError) and issubclass(cls, ValueError)


def test_collector_of_many_files_caps_and_counts() -> None:
    problems = ProblemCollector(limit=2)
    assert not problems
    problems.add("line 1", "bad", file="a.txt")
    problems.extend(FormatError("worse", file="b.txt", record="line 9", more=4))
    problems.add("line 3", "also bad", file="c.txt")
    with pytest.raises(FormatError) as info:
        problems.raise_if_any()
    assert info.value.lines() == ["a.txt: line 1: bad", "b.txt: line 9: worse", "... and 5 more problems"]


def test_collector_default_file() -> None:
    problems = ProblemCollector("x.json")
    problems.add(None, "empty")
    with pytest.raises(FormatError, match=r"^x\.json: empty$"):
        problems.raise_if_any()
