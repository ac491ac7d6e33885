"""The sections of `make bench` that measure the reconciler as a whole: emulator throughput, validate, apply
(makespan, polling); the plan rows are benchmarks/bench_plan.py's own. Registered with
:mod:`benchmarks.registry`.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.registry import add_notes, section
from benchmarks.results import Figure, chosen_row, info_row, issue_row

REPO = Path(__file__).resolve().parents[1]
ISSUE = "issue 15"
#: issue 15: "Apply makespan <= 1.02x the critical path on the seed stack and on the 10-group stack, with at
#: most half of today's describe calls" (today: 700 on the seed stack, 2,293 on the 10-group stack, as
#: measured by this benchmark before the change: benchmarks/RESULTS.md of 2026-11-29)
MAKESPAN_VS_CRITICAL = 1.02
DESCRIBES_TODAY = {"seed stack": 700, "10 dataset groups": 2293}
#: issue 3: "validate on 200 resources answers in well under a second of CPU" (no number: bar chosen)
VALIDATE_CPU = 0.25
#: issue 2 asks that the emulator not be the plan benchmark's bottleneck (no number): 16 readers at 50 ms
#: need 320 calls/s; bar chosen: twice that
EMULATOR_CALLS_PER_S = 2 * 16 / 0.05

NOTES = [
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
    "Commands run as whole processes (startup, plan, scale) start from compiled bytecode: `make bench` "
    "compiles the package first, as pip does when it installs the wheel (this machine sets "
    "PYTHONDONTWRITEBYTECODE=1, so an editable checkout would otherwise recompile about 70 modules, "
    "~0.13 s, on every start).",
    "Rows whose target an issue states quote it (issue 15's targets verbatim); rows an issue gives no number "
    "for say 'no number in the issue; bar chosen: X'; INFO rows carry no target.",
]


add_notes(*NOTES)


def _ratio(value: float) -> str:
    return f"{value:.2f}x"


# ----------------------------------------------------------------------------------------------- apply


@section("apply", order=30)
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
    today = DESCRIBES_TODAY.get(label)
    figures = [
        issue_row(
            "apply",
            f"{label}: makespan vs critical path (virtual time)",
            f"{_ratio(ratio)} ({r.makespan / 60:.1f} / {r.critical_path / 60:.1f} min)",
            f"<= {MAKESPAN_VS_CRITICAL:.2f}x",
            ratio <= MAKESPAN_VS_CRITICAL,
            ISSUE,
            tried="polling around each step's expected completion (reconciler/apply/waiter.py)",
        ),
    ]
    if today is not None:
        figures.append(
            issue_row(
                "apply",
                f"{label}: describe calls spent waiting",
                f"{r.describe_calls} ({r.describe_calls / today:.2f}x of today's {today}; "
                f"{r.describe_calls / max(waited, 1):.0f} per waited step)",
                f"<= {today // 2} (half of today's {today})",
                r.describe_calls <= today // 2,
                ISSUE,
                tried="sparse reads before the expected completion, dense around it",
            )
        )
    if r.delays:
        fractions = [f for _, f in r.delays]
        seconds = [s for s, _ in r.delays]
        figures.append(
            info_row(
                "apply",
                f"{label}: ACTIVE -> noticed, worst of {waited} waits",
                f"max {max(seconds):.0f} s ({max(fractions):.1%} of its wait); median "
                f"{statistics.median(seconds):.0f} s ({statistics.median(fractions):.1%})",
                "issue 15 judges the makespan; the delays explain it",
            )
        )
    figures.append(
        issue_row(
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


@section("validate", order=20)
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
        chosen_row(
            "validate",
            f"{expected} resources: CPU time, first run (loads botocore's model)",
            f"{first * 1000:.0f} ms",
            f"< {VALIDATE_CPU * 1000:.0f} ms",
            first < VALIDATE_CPU,
            "issue 3 says 'well under a second of CPU'",
        ),
        chosen_row(
            "validate",
            f"{expected} resources: CPU time, warm (best of 4)",
            f"{warm * 1000:.0f} ms",
            f"< {VALIDATE_CPU * 1000:.0f} ms",
            warm < VALIDATE_CPU,
            "issue 3 says 'well under a second of CPU'",
        ),
    ]


# -------------------------------------------------------------------------------------------- emulator


@section("emulator", order=10)
def emulator_section(args: argparse.Namespace) -> list[Figure]:
    from benchmarks import bench_emulator

    calls = 500 if args.quick else 2000
    single = bench_emulator.single_thread(calls)
    threaded = bench_emulator.threaded(calls)
    http_single = bench_emulator.over_http(calls // 2, 1)
    http_threaded = bench_emulator.over_http(calls // 2, 8)
    latency = 0.2
    parallel = bench_emulator.parallel_latency(16, latency)
    why = "issue 2: not the plan benchmark's bottleneck (16 readers x 50 ms need 320 calls/s)"
    return [
        chosen_row(
            "emulator",
            "in-process: describe calls/s through a boto3 client, 1 thread",
            f"{single:.0f} calls/s",
            f">= {EMULATOR_CALLS_PER_S:.0f} calls/s",
            single >= EMULATOR_CALLS_PER_S,
            why,
        ),
        chosen_row(
            "emulator",
            "in-process: describe calls/s through boto3 clients, 8 threads",
            f"{threaded:.0f} calls/s",
            f">= {EMULATOR_CALLS_PER_S:.0f} calls/s",
            threaded >= EMULATOR_CALLS_PER_S,
            why,
        ),
        info_row(
            "emulator",
            "over HTTP (emulator serve): describe calls/s, 1 client",
            f"{http_single.calls_per_s:.0f} calls/s (in-process {single:.0f})",
            "issue 15: reported next to in-process",
        ),
        info_row(
            "emulator",
            "over HTTP (emulator serve): describe calls/s, 8 clients",
            f"{http_threaded.calls_per_s:.0f} calls/s (in-process {threaded:.0f})",
            "issue 15: reported next to in-process",
        ),
        issue_row(
            "emulator",
            "emulator serve keeps HTTP/1.1 connections alive",
            f"{http_single.connections} TCP connection(s) for {http_single.total_calls} calls of one client; "
            f"{http_threaded.connections} for 8 clients",
            "keep-alive (1 connection per client)",
            http_single.connections == 1 and http_threaded.connections == 8,
            ISSUE,
        ),
        issue_row(
            "emulator",
            "emulator serve answers concurrent clients in parallel",
            f"16 concurrent calls held {latency * 1000:.0f} ms each by injected latency: "
            f"{parallel * 1000:.0f} ms wall ({parallel / latency:.1f}x one latency; serial would be 16x)",
            "in parallel (<= 2x one latency)",
            parallel <= 2 * latency,
            ISSUE,
        ),
    ]
