"""The benchmark entry point runs and reports all three measurements."""

from __future__ import annotations

import re

import pytest

from benchmarks.bench_emulator import main


def test_bench_emulator_prints_rates(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--calls", "40"])
    out = capsys.readouterr().out
    rates = [float(x) for x in re.findall(r"(\d+) calls/s", out)]
    assert len(rates) == 3 and all(r > 0 for r in rates), out
