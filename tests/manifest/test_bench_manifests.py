"""The benchmark's generated manifests stay valid (so `benchmarks.bench_validate` measures the full path)."""

from __future__ import annotations

import time
from pathlib import Path

from benchmarks.bench_validate import write_manifests
from reconciler.manifest import validate


def test_benchmark_manifests_validate(tmp_path: Path) -> None:
    expected = write_manifests(tmp_path)
    start = time.process_time()
    report = validate(tmp_path)
    elapsed = time.process_time() - start
    assert report.errors == []
    assert report.resource_count == expected == 200
    assert elapsed < 5.0  # the benchmark figure is well under a second; this only catches gross regressions
