"""`python -m benchmarks.plan_child REPORT.json ARGS...`: run `personalize-gitops ARGS...` in this process
with its manifest load, live read and plan phases timed, then write the timings and this process's peak RSS
to REPORT.json (used by benchmarks/bench_scale.py; the command itself is unchanged). It leaves as the
console script does (`reconciler.cli.entry`: `main()`, then `fast_exit`), so the interpreter's teardown is
skipped here too."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.procmem import peak_rss_kb

PHASES: dict[str, dict[str, float]] = {}


def _timed(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return function(*args, **kwargs)
        finally:
            PHASES[name] = {
                "wall": time.perf_counter() - wall,
                "cpu": time.process_time() - cpu,
                "peak_rss_kb_after": peak_rss_kb(),
            }

    return wrapper


def main() -> None:
    report = Path(sys.argv[1])
    sys.argv = ["personalize-gitops", *sys.argv[2:]]
    import reconciler.live.reader as reader
    import reconciler.manifest as manifest
    import reconciler.plan.planner as planner
    from reconciler.cli import fast_exit
    from reconciler.cli import main as cli_main

    manifest.load = _timed("load", manifest.load)  # type: ignore[assignment]
    reader.read_live = _timed("read", reader.read_live)  # type: ignore[assignment]
    planner.plan = _timed("plan", planner.plan)  # type: ignore[assignment]
    code: Any = 0
    try:
        cli_main()
    except SystemExit as exc:
        code = 0 if exc.code is None else exc.code
    finally:
        report.write_text(json.dumps({"phases": PHASES, "peak_rss_kb": peak_rss_kb()}), encoding="utf-8")
    fast_exit(code)


if __name__ == "__main__":
    main()
