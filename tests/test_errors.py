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
    # the last line names the files the uncounted problems are in (issue 19: every line names a file)
    assert info.value.lines() == ["a.txt: line 1: bad", "b.txt: line 9: worse",
                                  "b.txt, c.txt: ... and 5 more problems"]


def test_a_message_over_several_lines_is_one_line_naming_the_file() -> None:
    # lxml and PyYAML messages span lines; each printed line used to need the file name
    err = FormatError("malformed XML: Char 0x0 out of allowed range\n  line 3, column 7", file="a.xml",
                      record="line 3")
    assert err.lines() == ["a.xml: line 3: malformed XML: Char 0x0 out of allowed range line 3, column 7"]


def test_one_file_with_many_problems_names_it_on_the_last_line() -> None:
    problems = ProblemCollector("a.json", limit=1)
    for i in range(3):
        problems.add(f"annotation[{i}]", "bad")
    with pytest.raises(FormatError) as info:
        problems.raise_if_any()
    assert info.value.lines() == ["a.json: annotation[0]: bad", "a.json: ... and 2 more problems"]


def test_collector_default_file() -> None:
    problems = ProblemCollector("x.json")
    problems.add(None, "empty")
    with pytest.raises(FormatError, match=r"^x\.json: empty$"):
        problems.raise_if_any()
