from __future__ import annotations

import collections
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def fuzz_totals(request: pytest.FixtureRequest) -> Iterator[collections.Counter[str]]:
    """Outcome counts over the whole fuzz run, printed at the end (``-s`` or the terminal summary)."""
    totals: collections.Counter[str] = collections.Counter()
    yield totals
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None and totals:
        reporter.write_line(f"fuzz outcomes: {dict(sorted(totals.items()))} (total {sum(totals.values())})")
