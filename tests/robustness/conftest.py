"""Prints each robustness suite's counts (cases run, converged, duplicates, data lost, tracebacks) at the end
of the pytest run, whether its cases passed or not."""

from __future__ import annotations

from typing import Any

from .support import TALLIES


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: Any) -> None:
    del exitstatus, config
    if not TALLIES:
        return
    terminalreporter.section("robustness counts")
    for name in sorted(TALLIES):
        counts = TALLIES[name]
        terminalreporter.write_line(counts.line())
        for failure in counts.failures[:10]:
            terminalreporter.write_line(f"  not converged: {failure}")
