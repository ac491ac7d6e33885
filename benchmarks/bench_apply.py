"""Apply benchmark in virtual time: how close apply gets to the critical path, and what waiting costs.

Run: `.venv/bin/python -m benchmarks.bench_apply` (a few seconds of wall time).

For the seed stack (manifests/) and a generated 10-dataset-group stack, on an empty emulated account:

* makespan: virtual seconds from the first call to the end of the apply;
* critical path: the shortest possible makespan - the emulator's durations (pending + in progress) along
  the apply's step graph, with at most 5 pending imports and 20 pending trainings at once (the service's
  per-region quotas, which the 10-group stack hits: its ten imports need two rounds); no apply can be faster;
* describe calls spent waiting, and the delay between a resource becoming ACTIVE (its lastUpdatedDateTime)
  and apply noticing it (median / max, in seconds and as a fraction of that wait);
* mutating calls of a second apply right after (must be 0).
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


@dataclass
class BenchResult:
    name: str
    steps: int
    makespan: float
    critical_path: float
    """Shortest possible makespan: dependencies plus the quotas of pending imports/trainings."""
    dependency_path: float
    """The same without quotas (longest dependency chain only)."""
    describe_calls: int
    total_calls: int
    delays: list[tuple[float, float]]
    """(seconds, fraction of the wait) per waited step."""
    second_apply_mutating: int
    second_plan_changes: int
    wall: float

    def lines(self) -> list[str]:
        secs = [d for d, _ in self.delays]
        fracs = [f for _, f in self.delays]
        out = [
            f"== {self.name}: {self.steps} steps",
            f"makespan {self.makespan / 60:.1f} min (virtual) vs critical path "
            f"{self.critical_path / 60:.1f} min: {self.makespan / self.critical_path:.3f}x "
            f"(longest dependency chain alone: {self.dependency_path / 60:.1f} min)",
            f"describe calls while waiting: {self.describe_calls} "
            f"(all Personalize calls: {self.total_calls})",
        ]
        if secs:
            out.append(
                f"ACTIVE -> noticed: median {statistics.median(secs):.0f} s "
                f"({statistics.median(fracs):.1%} of the wait), max {max(secs):.0f} s ({max(fracs):.1%})"
            )
        out.append(
            f"second apply: {self.second_plan_changes} changes planned, "
            f"{self.second_apply_mutating} mutating calls"
        )
        out.append(f"wall time {self.wall:.2f} s")
        return out


def ten_group_manifests(dest: Path) -> Path:
    """10 dataset groups, each with an interactions dataset + import, a solution and a campaign."""
    shutil.copytree(REPO / "data" / "sample", dest / "data" / "sample")
    mdir = dest / "manifests"
    mdir.mkdir()
    (mdir / "stack.yaml").write_text(
        "apiVersion: personalize-gitops/v1alpha1\nkind: Stack\nmetadata: {name: bench10}\n"
        "spec:\n  region: us-east-1\n  accountId: '123456789012'\n  namePrefix: b10-\n"
        "  variables: {bucket: bench-data}\n",
        encoding="utf-8",
    )
    schema = (
        "apiVersion: personalize-gitops/v1alpha1\nkind: Schema\nmetadata: {name: interactions}\n"
        "spec:\n  avro:\n    name: Interactions\n    fields:\n"
        "      - {name: USER_ID, type: string}\n      - {name: ITEM_ID, type: string}\n"
        "      - {name: EVENT_TYPE, type: string}\n      - {name: TIMESTAMP, type: long}\n"
        "      - {name: DISCOUNT, type: string, categorical: true}\n"
    )
    docs = [schema]
    for i in range(10):
        docs.append(
            "apiVersion: personalize-gitops/v1alpha1\nkind: DatasetGroup\n"
            f"metadata: {{name: group{i}}}\nspec: {{}}\n"
        )
        docs.append(
            "apiVersion: personalize-gitops/v1alpha1\nkind: Dataset\n"
            f"metadata: {{name: interactions{i}}}\nspec:\n  datasetGroup: group{i}\n"
            "  datasetType: INTERACTIONS\n"
            "  schema: interactions\n  dataImport:\n"
            f"    dataLocation: s3://${{bucket}}/group{i}/interactions.csv\n"
            "    roleArn: arn:aws:iam::123456789012:role/PersonalizeS3\n"
            "    localFile: ../data/sample/interactions.csv\n"
        )
        docs.append(
            "apiVersion: personalize-gitops/v1alpha1\nkind: Solution\n"
            f"metadata: {{name: sims{i}}}\nspec:\n  datasetGroup: group{i}\n  recipeArn: aws-sims\n"
        )
        docs.append(
            "apiVersion: personalize-gitops/v1alpha1\nkind: Campaign\n"
            f"metadata: {{name: sims{i}}}\nspec:\n  solution: sims{i}\n"
        )
    (mdir / "resources.yaml").write_text("---\n".join(docs), encoding="utf-8")
    return mdir


def _weights(emulator: Any, executor: Any) -> dict[str, float]:
    from reconciler.apply.report import Phase
    from reconciler.model.address import Kind

    profile = emulator.profile
    kinds = {
        Kind.DATASET_GROUP: "dataset_group",
        Kind.DATASET: "dataset",
        Kind.SOLUTION: "solution",
        Kind.CAMPAIGN: "campaign",
        Kind.FILTER: "filter",
        Kind.EVENT_TRACKER: "event_tracker",
        Kind.RECOMMENDER: "recommender",
        Kind.METRIC_ATTRIBUTION: "metric_attribution",
    }
    weights: dict[str, float] = {}
    for key, step in executor.steps.items():
        kind = step.address.kind
        if step.phase in (Phase.CREATE, Phase.REPLACE_CREATE):
            weights[key] = (
                0.0 if kind is Kind.SCHEMA else profile.pending + profile.create_seconds(kinds[kind])
            )
        elif step.phase == Phase.IMPORT:
            weights[key] = profile.pending + profile.create_seconds("dataset_import_job")
        elif step.phase == Phase.TRAIN:
            mode = str(step.change.details.get("trainingMode") or "FULL")
            weights[key] = profile.pending + profile.create_seconds("solution_version", mode)
        elif step.phase == Phase.PROMOTE:
            weights[key] = profile.pending + profile.update_seconds("campaign")
        else:
            weights[key] = 0.0
    return weights


def critical_path(executor: Any, weights: dict[str, float], slots: dict[str, int] | None = None) -> float:
    """The shortest possible makespan: every step starts when its dependencies end, except that at most
    `slots[kind]` imports / trainings may be pending at once (the service's per-region quotas of pending jobs,
    which no apply can exceed; None: no quota). Jobs take the free slots in the order they become ready."""
    import heapq

    from reconciler.apply.report import Phase

    limited = {Phase.IMPORT: "import", Phase.TRAIN: "train"}
    free: dict[str, list[float]] = {k: [0.0] * n for k, n in (slots or {}).items()}
    remaining = {k: len(s.deps) for k, s in executor.steps.items()}
    dependents: dict[str, list[str]] = {k: [] for k in executor.steps}
    for key, step in executor.steps.items():
        for dep in step.deps:
            dependents[dep].append(key)
    ready_at = dict.fromkeys(executor.steps, 0.0)
    queue = [(0.0, k) for k, n in remaining.items() if n == 0]
    heapq.heapify(queue)
    finish: dict[str, float] = {}
    while queue:
        ready, key = heapq.heappop(queue)
        start = ready
        slot = limited.get(executor.steps[key].phase)
        if slot in free:
            start = max(ready, heapq.heappop(free[slot]))
        finish[key] = start + weights[key]
        if slot in free:
            heapq.heappush(free[slot], finish[key])
        for child in dependents[key]:
            ready_at[child] = max(ready_at[child], finish[key])
            remaining[child] -= 1
            if remaining[child] == 0:
                heapq.heappush(queue, (ready_at[child], child))
    return max(finish.values(), default=0.0)


def _active_time(personalize: Any, step: Any) -> float | None:
    """When the resource a step waited for became ACTIVE (emulator lastUpdatedDateTime)."""
    from reconciler.apply.report import Phase
    from reconciler.model.address import Kind

    arn = step.arn
    if not arn:
        return None
    if step.phase == Phase.TRAIN:
        found = personalize.describe_solution_version(solutionVersionArn=arn)["solutionVersion"]
    elif step.phase == Phase.IMPORT:
        found = personalize.describe_dataset_import_job(datasetImportJobArn=arn)["datasetImportJob"]
    elif step.phase in (Phase.CREATE, Phase.REPLACE_CREATE) and step.kind is not Kind.SCHEMA:
        describe = {
            Kind.DATASET_GROUP: ("describe_dataset_group", "datasetGroupArn", "datasetGroup"),
            Kind.DATASET: ("describe_dataset", "datasetArn", "dataset"),
            Kind.SOLUTION: ("describe_solution", "solutionArn", "solution"),
            Kind.CAMPAIGN: ("describe_campaign", "campaignArn", "campaign"),
            Kind.FILTER: ("describe_filter", "filterArn", "filter"),
            Kind.EVENT_TRACKER: ("describe_event_tracker", "eventTrackerArn", "eventTracker"),
        }.get(step.kind)
        if describe is None:
            return None
        op, key, member = describe
        found = getattr(personalize, op)(**{key: arn})[member]
    else:
        return None
    stamp = found.get("lastUpdatedDateTime")
    return stamp.timestamp() if stamp is not None else None


@dataclass
class _Waited:
    phase: str
    kind: Any
    arn: str | None


def run_stack(name: str, manifests: Path, *, quotas: dict[str, int] | None = None) -> BenchResult:
    import boto3
    from moto import mock_aws

    from reconciler.apply.executor import Executor
    from reconciler.apply.graph import Outcome
    from reconciler.aws.personalize_access import grant_for_manifests
    from reconciler.aws.target import Target
    from reconciler.emulator import PersonalizeEmulator, VirtualClock
    from reconciler.live.reader import read_live
    from reconciler.manifest import load
    from reconciler.plan.planner import PlanOptions, plan

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    wall = time.perf_counter()
    with mock_aws():
        clock = VirtualClock()
        emulator = PersonalizeEmulator(clock=clock, quotas=quotas)
        target = Target.for_tests(emulator, clock, region="us-east-1")
        desired = load(manifests)
        boto3.client("s3", region_name="us-east-1").create_bucket(
            Bucket=desired.stack.settings.variables["bucket"]
        )
        grant_for_manifests(target.s3, target.iam, desired)  # bucket policy and import role
        # the empty account as plan reads it: the local files' SHA-256 included (apply imports only the file
        # the plan read, 9d051b2)
        live = read_live(target, desired, now=clock.now())
        first = plan(desired, live, PlanOptions(target="bench"))
        executor = Executor(
            first,
            desired,
            live,
            personalize=target.personalize,
            clock=clock,
            s3=target.s3,
            region="us-east-1",
            account_id=emulator.account,
        )
        weights = _weights(emulator, executor)
        path = critical_path(executor, weights, dict(executor.options.slots))
        dependency_path = critical_path(executor, weights)
        calls_before = len(emulator.calls)
        report = executor.run()
        if report.exit_code != 0:
            raise SystemExit(f"{name}: apply failed:\n" + "\n".join(report.details()))
        total_calls = len(emulator.calls) - calls_before
        results = {s.key: s for s in report.steps}
        delays: list[tuple[float, float]] = []
        for key, step in executor.steps.items():
            record = results[key]
            if record.outcome is not Outcome.DONE or record.finished is None or record.started is None:
                continue
            arn = executor.step_values.get(key)
            became = _active_time(target.personalize, _Waited(step.phase, step.address.kind, arn))
            if became is None or weights.get(key, 0.0) <= 0:
                continue
            # the step's wait ends with the read that saw ACTIVE; its DONE comes right after
            delay = max(record.finished - became, 0.0)
            delays.append((delay, delay / max(became - record.started, 1.0)))
        live2 = read_live(target, desired, now=clock.now())
        second = plan(desired, live2, PlanOptions(target="bench"))
        mutating_before = emulator.call_count(mutating=True)
        if second.has_changes:
            Executor(
                second,
                desired,
                live2,
                personalize=target.personalize,
                clock=clock,
                s3=target.s3,
                region="us-east-1",
                account_id=emulator.account,
            ).run()
        second_mutating = emulator.call_count(mutating=True) - mutating_before
        return BenchResult(
            name=name,
            steps=len(executor.steps),
            makespan=report.makespan,
            critical_path=path,
            dependency_path=dependency_path,
            describe_calls=report.describe_calls,
            total_calls=total_calls,
            delays=delays,
            second_apply_mutating=second_mutating,
            second_plan_changes=sum(1 for c in second.changes if c.action.value != "no-op"),
            wall=time.perf_counter() - wall,
        )


def main(argv: list[str] | None = None) -> int:
    del argv
    results: list[BenchResult] = []
    with tempfile.TemporaryDirectory() as tmp:
        seed = Path(tmp) / "seed"
        shutil.copytree(REPO / "manifests", seed / "manifests")
        shutil.copytree(REPO / "data" / "sample", seed / "data" / "sample")
        results.append(run_stack("seed stack (manifests/)", seed / "manifests"))
        ten = ten_group_manifests(Path(tmp) / "ten")
        results.append(run_stack("10 dataset groups", ten, quotas={"dataset_groups_per_region": 20}))
    for result in results:
        print("\n".join(result.lines()))
    bad = [r.name for r in results if r.second_apply_mutating != 0]
    if bad:
        print(f"FAIL: a second apply made mutating calls: {', '.join(bad)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
