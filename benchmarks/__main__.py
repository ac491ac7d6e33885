"""`make bench` (`python -m benchmarks`): every benchmark, one table, and benchmarks/RESULTS.md regenerated.

Sections (each reuses its benchmark module's measuring functions; ratios come from one run, so machine noise
largely cancels):

* plan (benchmarks/bench_plan.py): 50 / 200 / 500 resources, 50 ms injected latency per Personalize call:
  API calls vs the minimal count, wall time vs the ideal (calls / 16 threads x 50 ms), speed-up over the
  sequential reader;
* apply (benchmarks/bench_apply.py): the seed stack and a 10-dataset-group stack in virtual time: makespan
  vs critical path, describe calls spent waiting, delay between ACTIVE and apply noticing it;
* idempotency: mutating calls of a second apply (must be 0);
* validate (benchmarks/bench_validate.py's 200-resource manifests): CPU time;
* emulator (benchmarks/bench_emulator.py): describe calls per second through a real boto3 client.

Each figure is printed next to its target with PASS / MISS (INFO when the issues name no number). A section
that crashes or hangs (more than `--section-timeout` seconds) is reported as FAILED and the others still run.
Exit code 0 when every benchmark ran (even with misses; `--strict` makes a miss exit 1), 1 otherwise.

Options: `--quick` (50 resources only, for a smoke run), `--out FILE` (default benchmarks/RESULTS.md),
`--no-write`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.results import MISS, Figure, Run, machine, render_markdown, render_table

REPO = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
PLAN_SIZES = (50, 200, 500)
#: issue 4: "A no-op plan spends no more than 1.1x the minimal number of calls"
CALLS_VS_MINIMAL = 1.10
#: bar set here (issue 4 asks for bounded concurrency and "seconds, even for big accounts", no ratio)
WALL_VS_IDEAL = 1.5
SPEEDUP_VS_SEQUENTIAL = 8.0
PLAN_500_WALL = 10.0
#: issue 5: "each step waiting only for what it needs"; "completion is noticed ... within about 10 % of the
#: wait", so the makespan may exceed the critical path by about that much
MAKESPAN_VS_CRITICAL = 1.10
NOTICE_FRACTION = 0.10
#: issue 3: "validate on 200 resources answers in well under a second of CPU"
VALIDATE_CPU = 0.5
#: issue 2: the emulator must not be the plan benchmark's bottleneck: 16 readers at 50 ms need 320 calls/s
EMULATOR_CALLS_PER_S = 16 / 0.05

Section = Callable[[argparse.Namespace], list[Figure]]
NOTES = [
    "plan: benchmarks/bench_plan.py builds 10 resources per dataset group in the in-process emulator "
    "(group, schema, dataset with an import, three trained solutions, two campaigns, a filter, an event "
    "tracker), injects 50 ms of latency on every Personalize call and reads a no-op plan with 16 threads, "
    "then with one (the sequential reader, like the existing AWS pipelines); minimal = one list per kind "
    "and parent, one describe and one tag read per resource, the version list per solution "
    "(`reconciler.live.reader.minimal_calls`); ideal = calls / 16 x 50 ms.",
    "apply: benchmarks/bench_apply.py applies the seed stack (manifests/) and a 10-dataset-group stack to "
    "an empty emulated account in virtual time (the emulator's realistic durations); critical path = the "
    "shortest possible makespan: durations along the apply's step graph with the service's quotas of "
    "pending imports (5) and trainings (20) per region, so the 10-group stack's ten imports take two "
    "rounds; the notice delay is the "
    "time between a resource's lastUpdatedDateTime (became ACTIVE) and the step finishing, as a fraction "
    "of that step's wait; idempotency = mutating calls of a second apply right after.",
    "validate: CPU time (`time.process_time`) of `validate` on benchmarks/bench_validate.py's 200 "
    "resources; first run includes loading botocore's Personalize model, then the best of 4 more runs.",
    "emulator: `describe_dataset_group` through a real boto3 client answered in-process by the emulator "
    "(botocore request building, signing, parsing included).",
    "Targets marked 'bar set here' are this benchmark's own choice where the issues give no number; "
    "INFO rows are reported without a target.",
]


def _ratio(value: float) -> str:
    return f"{value:.2f}x"


# ------------------------------------------------------------------------------------------------ plan


def plan_section(args: argparse.Namespace) -> list[Figure]:
    from benchmarks import bench_plan

    figures: list[Figure] = []
    sizes = PLAN_SIZES[:1] if args.quick else PLAN_SIZES
    for size in sizes:
        row = bench_plan.measure(size, sequential=True)
        ratio = row.calls / row.minimal
        label = f"{size} resources"
        figures.append(
            Figure(
                "plan",
                f"{label}: API calls vs minimal",
                f"{_ratio(ratio)} ({row.calls} / {row.minimal})",
                f"<= {CALLS_VS_MINIMAL:.2f}x",
                ratio <= CALLS_VS_MINIMAL,
                "issue 4",
            )
        )
        vs_ideal = row.parallel / row.ideal
        figures.append(
            Figure(
                "plan",
                f"{label}: wall vs ideal (16 threads, 50 ms/call)",
                f"{_ratio(vs_ideal)} ({row.parallel:.2f} s / {row.ideal:.2f} s)",
                f"<= {WALL_VS_IDEAL:.1f}x",
                vs_ideal <= WALL_VS_IDEAL,
                "bar set here",
            )
        )
        assert row.sequential is not None
        speedup = row.sequential / row.parallel
        figures.append(
            Figure(
                "plan",
                f"{label}: speed-up over the sequential reader",
                f"{speedup:.1f}x ({row.sequential:.1f} s -> {row.parallel:.2f} s)",
                f">= {SPEEDUP_VS_SEQUENTIAL:.0f}x",
                speedup >= SPEEDUP_VS_SEQUENTIAL,
                "bar set here",
            )
        )
        figures.append(
            Figure(
                "plan",
                f"{label}: plan of the matching account",
                "no changes" if row.noop else "CHANGES (wrong)",
                "no changes",
                row.noop,
                "issue 4",
            )
        )
        if size == 500:
            figures.append(
                Figure(
                    "plan",
                    "500 resources: wall time of the read",
                    f"{row.parallel:.2f} s",
                    f"<= {PLAN_500_WALL:.0f} s",
                    row.parallel <= PLAN_500_WALL,
                    "issue 4 ('seconds, even for big accounts')",
                )
            )
    return figures


# ----------------------------------------------------------------------------------------------- apply


def apply_section(args: argparse.Namespace) -> list[Figure]:
    from benchmarks import bench_apply

    figures: list[Figure] = []
    with tempfile.TemporaryDirectory() as tmp:
        seed = Path(tmp) / "seed"
        shutil.copytree(REPO / "manifests", seed / "manifests")
        shutil.copytree(REPO / "data" / "sample", seed / "data" / "sample")
        stacks: list[tuple[str, Path, dict[str, int] | None]] = [("seed stack", seed / "manifests", None)]
        if not args.quick:
            ten = bench_apply.ten_group_manifests(Path(tmp) / "ten")
            stacks.append(("10 dataset groups", ten, {"dataset_groups_per_region": 20}))
        for label, manifests, quotas in stacks:
            result = bench_apply.run_stack(label, manifests, quotas=quotas)
            figures += _apply_figures(label, result)
    return figures


def _apply_figures(label: str, r: Any) -> list[Figure]:
    ratio = r.makespan / r.critical_path
    waited = len(r.delays)
    figures = [
        Figure(
            "apply",
            f"{label}: makespan vs critical path (virtual time)",
            f"{_ratio(ratio)} ({r.makespan / 60:.1f} / {r.critical_path / 60:.1f} min)",
            f"<= {MAKESPAN_VS_CRITICAL:.2f}x",
            ratio <= MAKESPAN_VS_CRITICAL,
            "issue 5 (parallel as dependencies allow; notice within ~10 %)",
        ),
        Figure(
            "apply",
            f"{label}: describe calls spent waiting",
            f"{r.describe_calls} ({r.describe_calls / max(waited, 1):.0f} per waited step, "
            f"{r.describe_calls / max(r.makespan / 3600, 1e-9):.0f} per virtual hour)",
            "-",
            None,
            "issue 5 ('without hammering the API', no number)",
        ),
    ]
    if r.delays:
        fractions = [f for _, f in r.delays]
        seconds = [s for s, _ in r.delays]
        worst = max(fractions)
        figures.append(
            Figure(
                "apply",
                f"{label}: ACTIVE -> noticed, worst of {waited} waits",
                f"{worst:.1%} of the wait (max {max(seconds):.0f} s; median "
                f"{statistics.median(fractions):.1%}, {statistics.median(seconds):.0f} s)",
                f"<= {NOTICE_FRACTION:.0%}",
                worst <= NOTICE_FRACTION,
                "issue 5",
            )
        )
    figures.append(
        Figure(
            "idempotency",
            f"{label}: mutating calls of a second apply",
            f"{r.second_apply_mutating} ({r.second_plan_changes} changes planned)",
            "0",
            r.second_apply_mutating == 0 and r.second_plan_changes == 0,
            "issue 5",
        )
    )
    return figures


# -------------------------------------------------------------------------------------------- validate


def validate_section(args: argparse.Namespace) -> list[Figure]:
    from benchmarks import bench_validate
    from reconciler.manifest import validate

    del args
    timings: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        expected = bench_validate.write_manifests(directory)
        for _ in range(5):
            start = time.process_time()
            report = validate(directory)
            timings.append(time.process_time() - start)
            if report.errors or report.resource_count != expected:
                raise RuntimeError("benchmark manifests are invalid: " + "; ".join(report.errors[:3]))
    first, warm = timings[0], min(timings[1:])
    return [
        Figure(
            "validate",
            f"{expected} resources: CPU time, first run (loads botocore's model)",
            f"{first * 1000:.0f} ms",
            f"< {VALIDATE_CPU * 1000:.0f} ms",
            first < VALIDATE_CPU,
            "issue 3 ('well under a second of CPU')",
        ),
        Figure(
            "validate",
            f"{expected} resources: CPU time, warm (best of 4)",
            f"{warm * 1000:.0f} ms",
            f"< {VALIDATE_CPU * 1000:.0f} ms",
            warm < VALIDATE_CPU,
            "issue 3",
        ),
    ]


# -------------------------------------------------------------------------------------------- emulator


def emulator_section(args: argparse.Namespace) -> list[Figure]:
    from benchmarks import bench_emulator

    calls = 500 if args.quick else 2000
    single = bench_emulator.single_thread(calls)
    threaded = bench_emulator.threaded(calls)
    return [
        Figure(
            "emulator",
            "describe calls/s through a boto3 client, 1 thread",
            f"{single:.0f} calls/s",
            f">= {EMULATOR_CALLS_PER_S:.0f} calls/s",
            single >= EMULATOR_CALLS_PER_S,
            "issue 2 (not the bottleneck: 16 readers x 50 ms)",
        ),
        Figure(
            "emulator",
            "describe calls/s through boto3 clients, 8 threads",
            f"{threaded:.0f} calls/s",
            f">= {EMULATOR_CALLS_PER_S:.0f} calls/s",
            threaded >= EMULATOR_CALLS_PER_S,
            "issue 2",
        ),
    ]


SECTIONS: list[tuple[str, Section]] = [
    ("emulator", emulator_section),
    ("validate", validate_section),
    ("apply", apply_section),
    ("plan", plan_section),
]


def run_section(
    name: str, section: Section, args: argparse.Namespace, timeout: float, hung: list[str] | None = None
) -> list[Figure]:
    """Run one section in a worker thread; a crash or a hang becomes a FAILED figure (a hung section's name
    is appended to `hung`)."""
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["figures"] = section(args)
        except BaseException as exc:  # reported as a FAILED row, never a traceback at the top
            outcome["error"] = f"{type(exc).__name__}: {exc}"
            outcome["trace"] = traceback.format_exc()

    worker = threading.Thread(target=work, name=f"bench-{name}", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        if hung is not None:
            hung.append(name)
        return [_failed(name, f"did not finish within {timeout:.0f} s (hung?)")]
    if "error" in outcome:
        print(outcome["trace"], file=sys.stderr)
        return [_failed(name, str(outcome["error"]))]
    figures: list[Figure] = outcome["figures"]
    return figures


def _failed(name: str, error: str) -> Figure:
    return Figure(name, "benchmark run", "-", "runs", False, "", error=error)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smallest sizes only (smoke run)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="markdown file to write")
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--only", default="", help="comma-separated sections (emulator,validate,apply,plan)")
    parser.add_argument("--section-timeout", type=float, default=420.0, help="seconds per section")
    args = parser.parse_args(argv)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    unknown = only - {name for name, _ in SECTIONS}
    if unknown:
        parser.error(f"unknown section(s): {', '.join(sorted(unknown))}")
    started = datetime.now(UTC)
    wall = time.perf_counter()
    figures: list[Figure] = []
    hung: list[str] = []
    for name, section in SECTIONS:
        if only and name not in only:
            continue
        print(f"running {name} benchmark ...", flush=True)
        section_start = time.perf_counter()
        figures += run_section(name, section, args, args.section_timeout, hung)
        print(f"  {name}: {time.perf_counter() - section_start:.1f} s", flush=True)
    run = Run(
        figures=figures,
        started=started.strftime("%Y-%m-%d %H:%M UTC"),
        wall_seconds=time.perf_counter() - wall,
        machine=machine(),
        notes=NOTES,
        command="make bench" + (" (--quick)" if args.quick else ""),
    )
    print()
    print(render_table(run))
    if not args.no_write:
        args.out.write_text(render_markdown(run), encoding="utf-8")
        print(f"\nwrote {args.out}")
    failed = any(f.error for f in figures)
    missed = any(f.status == MISS for f in figures)
    code = 1 if failed or (args.strict and missed) else 0
    sys.stdout.flush()
    if hung:
        os._exit(code)  # a hung section's thread must not keep the process alive
    return code


if __name__ == "__main__":
    raise SystemExit(main())
