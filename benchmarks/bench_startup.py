"""Start-up of the command line, timed as whole processes the way a user or a CI step runs them.

`personalize-gitops --help` lists the commands without importing them (reconciler/cli.py); `validate` of
the sample stack imports the manifest models and rules and loads botocore's Personalize model file.
Each is run once to warm the file cache, then RUNS times; the median wall time is the figure (CPU time, user
+ system of the child, is shown next to it: it says how much of the wall time was waiting for a busy
machine). The repository's own console script is used, so the figure includes Python's start-up.

Run alone: `.venv/bin/python -m benchmarks.bench_startup`
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.registry import add_notes, section
from benchmarks.results import Figure, issue_row

REPO = Path(__file__).resolve().parent.parent
RUNS = 7


def _tool() -> list[str]:
    script = Path(sys.executable).parent / "personalize-gitops"
    return [str(script)] if script.exists() else [sys.executable, "-m", "reconciler"]


def time_command(args: list[str], runs: int = RUNS) -> tuple[float, float]:
    """(median wall seconds, median CPU seconds of the child) over `runs` runs after one warm-up."""
    walls: list[float] = []
    cpus: list[float] = []
    for index in range(runs + 1):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(
            [*_tool(), *args], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True
        )
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if index:  # the first run warms the file cache
            walls.append(wall)
            cpus.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
    return statistics.median(walls), statistics.median(cpus)


add_notes(
    "startup: `personalize-gitops --help` and `validate manifests/` (the sample stack) as whole processes "
    f"through the venv's console script, median wall time of {RUNS} runs after a warm-up; CPU (user + "
    "system) of the same runs next to it."
)


@section("startup", order=15)
def startup_rows(args: argparse.Namespace) -> list[Figure]:
    runs = 3 if getattr(args, "quick", False) else RUNS
    rows: list[Figure] = []
    for name, argv, target, bar in (
        ("`personalize-gitops --help` wall time", ["--help"], "<= 0.35 s", 0.35),
        ("`validate` of the sample stack, wall time", ["validate", "manifests"], "<= 0.6 s", 0.6),
    ):
        wall, cpu = time_command(argv, runs)
        rows.append(
            issue_row(
                "startup",
                name,
                f"{wall:.2f} s (CPU {cpu:.2f} s)",
                target,
                wall <= bar,
                "issue 15",
                tried="commands imported on first use (cli.LazyGroup); validate loads the service model "
                "file without a botocore session; clients made on first use",
            )
        )
    return rows


def main() -> None:
    for figure in startup_rows(argparse.Namespace(quick=False)):
        print(f"{figure.status:5} {figure.name}: {figure.value} (target {figure.target})")


if __name__ == "__main__":
    main()
