"""The benchmark entry point runs and reports all five measurements (three in-process, two over HTTP)."""

from __future__ import annotations

import re

import pytest

from benchmarks.bench_emulator import main


def test_bench_emulator_prints_rates(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--calls", "40"])
    out = capsys.readouterr().out
    rates = [float(x) for x in re.findall(r"(\d+) calls/s", out)]
    assert len(rates) == 5 and all(r > 0 for r in rates), out
    # over HTTP, kept-alive connections: one per client thread
    assert "1 connections for 45 calls" in out and "8 connections for 80 calls" in out, out
