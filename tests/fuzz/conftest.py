from __future__ import annotations

import collections

import pytest

#: outcome counts over the whole fuzz run, printed in the terminal summary
TOTALS: collections.Counter[str] = collections.Counter()


@pytest.fixture(scope="session")
def fuzz_totals() -> collections.Counter[str]:
    return TOTALS


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if TOTALS:
        terminalreporter.write_line(f"fuzz outcomes: {dict(sorted(TOTALS.items()))} (total {sum(TOTALS.values())})")
