"""The whole `plan` command over HTTP against `emulator serve`, at 1,000 and 5,000 resources.

For each size an account is built in an emulator (10 resources per dataset group, the shape of
benchmarks/bench_plan.py: group, schema, dataset with an import, three trained solutions, two campaigns, a
filter, an event tracker), matching YAML manifests are written, the emulator is served over loopback HTTP
(:class:`reconciler.emulator.server.EmulatorServer`, keep-alive) with 50 ms of injected latency on every
Personalize call, and ``personalize-gitops plan`` runs in a child process (``benchmarks.plan_child``) exactly
as a user runs it. The child reports the wall and CPU time of its phases (manifest load, live read, plan);
the parent measures the command's wall time and the calls the server answered; peak RSS is the child's own
high-water mark (VmHWM) at exit.

Figures:

* load + plan CPU at 5,000 resources vs at 1,000 (linear: 5x the resources should cost <= 5x);
* wall time of the 5,000-resource no-op plan, and its ratio to the ideal (calls / 16 threads x 50 ms);
* peak RSS of the plan command at 5,000 resources.

(The read and command rows at 500 resources, in-process and over HTTP, are benchmarks/bench_plan.py's.)

Run: ``.venv/bin/python -m benchmarks.bench_scale [--sizes 500,1000,5000]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.registry import add_notes, section
from benchmarks.results import Figure, issue_row

REGION = "us-east-1"
LATENCY = 0.05
CONCURRENCY = 16
BUCKET = "bench-data"
PER_GROUP = 10
#: issue 15's targets
LINEAR_RATIO = 5.0
PLAN_5000_SECONDS = 40.0
RSS_MB = 150.0
READ_VS_IDEAL = 1.2
COMMAND_VS_IDEAL = 1.35

STACK = f"""apiVersion: personalize-gitops/v1alpha1
kind: Stack
metadata: {{name: bench}}
spec:
  region: {REGION}
  accountId: "123456789012"
  namePrefix: bench-
  defaultTags: {{project: bench}}
"""
SCHEMA_FIELDS = (
    "[{name: USER_ID, type: string}, {name: ITEM_ID, type: string}, {name: EVENT_TYPE, type: string}, "
    "{name: TIMESTAMP, type: long}]"
)
FILTER = 'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN (\\"click\\")'


def group_yaml(g: int) -> str:
    name = f"g{g:04d}"
    docs = [
        f"kind: DatasetGroup\nmetadata: {{name: {name}}}\n",
        f"kind: Schema\nmetadata: {{name: {name}-interactions}}\n"
        f"spec:\n  avro: {{name: Interactions, fields: {SCHEMA_FIELDS}}}\n",
        f"kind: Dataset\nmetadata: {{name: {name}-interactions}}\n"
        f"spec:\n  datasetGroup: {name}\n  datasetType: INTERACTIONS\n  schema: {name}-interactions\n"
        f"  dataImport: {{dataLocation: 's3://{BUCKET}/{name}/interactions.csv'}}\n",
        f"kind: Filter\nmetadata: {{name: {name}-no-clicks}}\nspec:\n  datasetGroup: {name}\n"
        f'  filterExpression: "{FILTER}"\n',
        f"kind: EventTracker\nmetadata: {{name: {name}-tracker}}\nspec: {{datasetGroup: {name}}}\n",
    ]
    docs += [
        f"kind: Solution\nmetadata: {{name: {name}-s{s}}}\n"
        f"spec: {{datasetGroup: {name}, recipeArn: aws-sims}}\n"
        for s in range(3)
    ]
    docs += [
        f"kind: Campaign\nmetadata: {{name: {name}-s{s}}}\nspec: {{solution: {name}-s{s}}}\n"
        for s in range(2)
    ]
    return "---\n".join("apiVersion: personalize-gitops/v1alpha1\n" + d for d in docs)


def write_manifests(directory: Path, resources: int) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "stack.yaml").write_text(STACK, encoding="utf-8")
    for g in range(resources // PER_GROUP):
        (directory / f"g{g:04d}.yaml").write_text(group_yaml(g), encoding="utf-8")
    return directory


@dataclass
class Served:
    """An emulated account holding a built stack, served over HTTP."""

    server: Any
    emulator: Any
    manifests: Path
    desired: Any


def serve_account(directory: Path, resources: int) -> Served:
    """Write the manifests, build the account they describe (instant durations), serve it over HTTP."""
    from benchmarks.bench_plan import build
    from reconciler.aws.personalize_access import grant_personalize_access
    from reconciler.emulator import DurationProfile, PersonalizeEmulator, VirtualClock, emulated_client
    from reconciler.emulator.server import EmulatorServer, MotoBridge
    from reconciler.manifest import load

    manifests = write_manifests(directory, resources)
    desired = load(manifests)
    bridge = MotoBridge()
    bridge.reset()
    quotas = {
        "dataset_groups_per_region": 100_000,
        "pending_dataset_import_jobs_per_region": 100_000,
        "pending_solution_versions_per_region": 100_000,
        "min_interactions_for_training": 0,
        "min_users_with_two_interactions": 0,
    }
    clock = VirtualClock()
    emulator = PersonalizeEmulator(
        clock=clock,
        profile=DurationProfile.instant(),
        quotas=quotas,
        s3_client_factory=bridge.s3_client_factory,
        iam_client_factory=lambda region: bridge.client("iam", region),
    )
    s3 = bridge.client("s3", REGION)
    s3.create_bucket(Bucket=BUCKET)
    # imports check that the role may read the bucket (as the service does)
    grant_personalize_access(s3, bridge.client("iam", REGION), BUCKET, "arn:aws:iam::123456789012:role/bench")
    build(emulated_client(emulator, REGION), s3, desired)
    server = EmulatorServer(emulator, clock, bridge=bridge).start()
    return Served(server, emulator, manifests, desired)


@dataclass
class CommandRun:
    resources: int
    wall: float
    """wall time of the whole command (process start to exit)"""
    peak_rss_mb: float
    phases: dict[str, dict[str, float]]
    """load / read / plan: {"wall": s, "cpu": s} measured inside the child"""
    personalize_calls: int
    other_calls: int
    noop: bool
    exit_code: int

    @property
    def ideal(self) -> float:
        return self.personalize_calls / CONCURRENCY * LATENCY

    @property
    def load_plan_cpu(self) -> float:
        return self.phases["load"]["cpu"] + self.phases["plan"]["cpu"]


def run_plan_command(served: Served, resources: int) -> CommandRun:
    """`personalize-gitops plan` in a child process against the served account, 50 ms per call."""
    served.emulator.control.set_latency("*", LATENCY)
    calls_before = len(served.emulator.calls)
    requests_before = served.server.app.requests
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "phases.json"
        env = {
            **os.environ,
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": REGION,
        }
        command = [
            sys.executable,
            "-m",
            "benchmarks.plan_child",
            str(report),
            "plan",
            str(served.manifests),
            "--endpoint-url",
            served.server.url,
            "--detailed-exitcode",
            "--no-color",
        ]
        start = time.perf_counter()
        child = subprocess.Popen(
            command,
            cwd=Path(__file__).resolve().parents[1],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        out, err = child.communicate()
        wall = time.perf_counter() - start
        if not report.exists():
            raise RuntimeError(
                f"plan at {resources} resources did not report (exit {child.returncode}): "
                f"{err.decode(errors='replace')[-800:]}"
            )
        doc = json.loads(report.read_text(encoding="utf-8"))
    served.emulator.control.set_latency("*", 0)
    personalize = len(served.emulator.calls) - calls_before
    other = served.server.app.requests - requests_before - personalize
    if child.returncode not in (0, 2):
        raise RuntimeError(
            f"plan at {resources} resources exited {child.returncode}: {err.decode(errors='replace')[-800:]}"
        )
    del out
    return CommandRun(
        resources=resources,
        wall=wall,
        peak_rss_mb=float(doc["peak_rss_kb"]) / 1024,
        phases=doc["phases"],
        personalize_calls=personalize,
        other_calls=other,
        noop=child.returncode == 0,
        exit_code=child.returncode,
    )


def measure(resources: int) -> CommandRun:
    return measure_runs(resources, 1)[0]


RUNS = 3
"""Runs of the command per size. On this shared 2-core host one run's load CPU at 5,000 resources moved
between 0.95 and 1.47 s from one run to the next, so each figure comes from 3 runs, all of them shown: CPU
time as the least of them (noise only adds to it), wall time as the median, peak RSS as the most."""


def measure_runs(resources: int, runs: int) -> list[CommandRun]:
    """`runs` plan commands against one built account."""
    with tempfile.TemporaryDirectory() as tmp:
        served = serve_account(Path(tmp) / "manifests", resources)
        try:
            return [run_plan_command(served, resources) for _ in range(runs)]
        finally:
            served.server.stop()


# ------------------------------------------------------------------------------------------ the rows


add_notes(
    "scale: benchmarks/bench_scale.py builds 1,000 and 5,000 resources (10 per dataset group, the "
    "plan benchmark's shape) in an emulator served over loopback HTTP by `emulator serve`'s server "
    "(keep-alive), with 50 ms injected on every Personalize call, writes matching manifests and runs "
    "`personalize-gitops plan --detailed-exitcode` in a child process (benchmarks/plan_child.py times the "
    "load, read and plan phases inside it; peak RSS = the child's VmHWM at exit). "
    "ideal = Personalize calls / 16 threads x 50 ms. Linearity compares CPU seconds of load + plan "
    "(machine noise on a shared host moves wall time more than CPU time). Each size runs the command 3 "
    "times against one built account, every run shown: CPU as the least, wall time as the median, peak "
    "RSS as the most of the 3.",
)


@section("scale", order=45)
def scale_section(args: argparse.Namespace) -> list[Figure]:
    small, large = (100, 500) if args.quick else (1000, 5000)
    runs = 1 if args.quick else RUNS
    figures: list[Figure] = []
    bases = measure_runs(small, runs)
    bigs = measure_runs(large, runs)
    base = min(bases, key=lambda r: r.load_plan_cpu)
    least = min(bigs, key=lambda r: r.load_plan_cpu)
    big = sorted(bigs, key=lambda r: r.wall)[len(bigs) // 2]  # the median run
    ratio = least.load_plan_cpu / base.load_plan_cpu
    each = ", ".join(f"{r.load_plan_cpu:.2f}" for r in bigs)
    figures.append(
        issue_row(
            "scale",
            f"load + plan CPU, {large:,} vs {small:,} resources",
            f"{ratio:.2f}x ({least.load_plan_cpu:.2f} s / {base.load_plan_cpu:.2f} s, least of {runs} runs; "
            f"load {least.phases['load']['cpu']:.2f} s, plan {least.phases['plan']['cpu']:.2f} s at "
            f"{large:,}; each run at {large:,}: {each} s)",
            f"<= {LINEAR_RATIO:g}x (linear)",
            ratio <= LINEAR_RATIO,
            "issue 15",
            tried="indexed of_kind, the planner's changes per address and datasets per group; load drops "
            "each YAML tree once built; the cyclic collector is paused while loading and runs rarely, with "
            "the manifests frozen out of it, while reading and planning (reconciler/heap.py). Function calls "
            "scale 5.0x",
        )
    )
    figures.append(
        issue_row(
            "scale",
            f"{large:,}-resource no-op plan command over HTTP, 50 ms/call",
            f"{big.wall:.1f} s, median of {runs} runs ({', '.join(f'{r.wall:.1f}' for r in bigs)} s; "
            f"{big.wall / big.ideal:.2f}x the ideal {big.ideal:.1f} s; "
            f"{big.personalize_calls} Personalize + {big.other_calls} S3 calls; read "
            f"{big.phases['read']['wall']:.1f} s wall / {big.phases['read']['cpu']:.1f} s CPU, load "
            f"{big.phases['load']['wall']:.1f} s, plan {big.phases['plan']['wall']:.1f} s; "
            f"{'no changes' if big.noop else 'CHANGES (wrong)'})",
            f"< {PLAN_5000_SECONDS:g} s",
            big.wall < PLAN_5000_SECONDS and all(r.noop for r in bigs),
            "issue 15",
            tried="emulator serve keeps connections alive (TCP_NODELAY) and answers in parallel; the reader "
            "lists kinds account-wide (fewer calls); load and plan are indexed; no cyclic GC pauses while "
            "loading, rare ones while reading; a no-op plan imports no deepdiff/numpy; the endpoint's status "
            "no longer copies the account; the data locations are read with 1 listing instead of 500; no "
            "botocore client-side parameter validation; spec validators built lazily; load and plan CPU cut "
            "(load 1.25 -> 0.8-0.9 s); emulator serve CPU a call -30 to -50 %; the datasets' import "
            "records spare 500 import-job tag reads; epoch timestamps parsed without dateutil; runs of "
            "the same code read 39.5 s and 41.1 s (median of 3). 16 calls are in "
            "flight 89 % of the read, each taking 55 ms for 50 ms of latency: the rest is per-call CPU "
            "under the GIL (botocore: signing, parsing, ~1.6 ms a call) and the emulator answering (~0.7 ms "
            "a call) in the same 2 shared cores",
        )
    )
    figures.append(
        issue_row(
            "memory",
            f"plan command at {large:,} resources: peak RSS",
            f"{max(r.peak_rss_mb for r in bigs):.0f} MB, most of {runs} runs "
            f"({max(r.peak_rss_mb for r in bases):.0f} MB at {small:,})",
            f"<= {RSS_MB:g} MB",
            0 < max(r.peak_rss_mb for r in bigs) <= RSS_MB,
            "issue 15",
        )
    )
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="1000,5000", help="comma-separated resource counts")
    args = parser.parse_args(argv)
    print(f"plan command over HTTP, {LATENCY * 1000:.0f} ms per Personalize call, {CONCURRENCY} threads")
    for size in (int(s) for s in args.sizes.split(",") if s):
        run = measure(size)
        phases = ", ".join(
            f"{name} {p['wall']:.2f} s wall / {p['cpu']:.2f} s CPU" for name, p in run.phases.items()
        )
        print(
            f"{size:>6} resources: {run.wall:6.2f} s ({run.wall / run.ideal:.2f}x ideal {run.ideal:.2f} s), "
            f"{run.personalize_calls} + {run.other_calls} calls, peak RSS {run.peak_rss_mb:.0f} MB, "
            f"{'no-op' if run.noop else 'CHANGES'}; {phases}",
            flush=True,
        )


if __name__ == "__main__":
    main()
