"""Shared machinery of the robustness suite: the seed stack on an emulated account, an audit of the account
(duplicates, lost data, resources not ACTIVE), and the per-suite tallies printed at the end of the run.

An audit reads the emulator's own records (a snapshot), never the reconciler's view of them, so a bug in the
live reader cannot hide a duplicate.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

REPO = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
CRASH_HOOK_DIR = Path(__file__).resolve().parent / "crashhook"

#: emulator record kind of each manifest kind
EMULATOR_KIND = {
    "DatasetGroup": "dataset_group",
    "Schema": "schema",
    "Dataset": "dataset",
    "Solution": "solution",
    "Campaign": "campaign",
    "Filter": "filter",
    "EventTracker": "event_tracker",
    "Recommender": "recommender",
    "MetricAttribution": "metric_attribution",
}


# ------------------------------------------------------------------------------------------------ tallies


@dataclass
class Tally:
    """Counts of one suite, printed by tests/robustness/conftest.py at the end of the session."""

    suite: str
    ok_label: str = "converged"
    cases: int = 0
    converged: int = 0
    duplicates: int = 0
    data_lost: int = 0
    tracebacks: int = 0
    api_calls: int = 0
    extra: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def bump(self, key: str, n: int = 1) -> None:
        self.extra[key] = self.extra.get(key, 0) + n

    def line(self) -> str:
        parts = [
            f"cases run {self.cases}",
            f"{self.ok_label} {self.converged}",
            f"duplicates {self.duplicates}",
            f"data lost {self.data_lost}",
            f"tracebacks {self.tracebacks}",
        ]
        if self.api_calls or self.suite.startswith("bad input"):
            parts.append(f"API calls {self.api_calls}")
        parts += [f"{k} {v}" for k, v in sorted(self.extra.items())]
        return f"{self.suite}: " + ", ".join(parts)


TALLIES: dict[str, Tally] = {}


def tally(suite: str, ok_label: str = "converged") -> Tally:
    if suite not in TALLIES:
        TALLIES[suite] = Tally(suite, ok_label)
    return TALLIES[suite]


# ------------------------------------------------------------------------------------------------ samples


def copy_samples(dest: Path) -> Path:
    """manifests/ and data/sample/ side by side (the manifests refer to ../../data/sample); returns the
    manifests directory."""
    shutil.copytree(REPO / "manifests", dest / "manifests")
    shutil.copytree(REPO / "data" / "sample", dest / "data" / "sample")
    return dest / "manifests"


# -------------------------------------------------------------------------------------------------- audit


@dataclass
class Audit:
    duplicates: int = 0
    data_lost: int = 0
    not_active: list[str] = field(default_factory=list)
    details: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return self.duplicates == 0 and self.data_lost == 0 and not self.not_active


def _region_records(snapshot: dict[str, Any], account: str, region: str) -> dict[str, dict[str, Any]]:
    for entry in snapshot.get("regions", []):
        if entry["account"] == account and entry["region"] == region:
            resources: dict[str, dict[str, Any]] = entry["state"]["resources"]
            return resources
    return {}


def audit(snapshot: dict[str, Any], desired: Any, account: str, region: str = REGION) -> Audit:
    """Compare the emulated account (an emulator snapshot) with what the seed apply must leave: exactly one
    resource per manifest resource, one training per solution, one import per declared data import, all of
    it ACTIVE, nothing deleted."""
    from reconciler.model.address import Kind
    from reconciler.model.spec import DatasetSpec

    records = _region_records(snapshot, account, region)
    out = Audit()
    for kind_name, emu_kind in EMULATOR_KIND.items():
        kind = Kind(kind_name)
        wanted = {r.physical_name for r in desired.of_kind(kind)}
        present = list(records.get(emu_kind, {}).values())
        names = [str(r.get("name")) for r in present]
        for name in sorted(wanted):
            n = names.count(name)
            if n == 0:
                out.not_active.append(f"{kind_name}/{name} missing")
                if kind_name in ("Dataset", "DatasetGroup"):
                    out.data_lost += 1
                    out.details.append(f"data lost: {kind_name}/{name} is gone")
            elif n > 1:
                out.duplicates += n - 1
                out.details.append(f"duplicate: {n} x {kind_name}/{name}")
        for record in present:
            status = str(record.get("status", "ACTIVE"))
            if record.get("name") in wanted and status != "ACTIVE":
                out.not_active.append(f"{kind_name}/{record.get('name')} {status}")
        extra = [n for n in names if n not in wanted]
        if extra:
            out.duplicates += len(extra)
            out.details.append(f"unexpected {kind_name}: {', '.join(sorted(extra))}")
    # one training per solution (first version), one import per declared dataImport
    solutions = {str(r["solutionArn"]): str(r.get("name")) for r in records.get("solution", {}).values()}
    per_solution: dict[str, list[str]] = {arn: [] for arn in solutions}
    for version in records.get("solution_version", {}).values():
        per_solution.setdefault(str(version.get("solutionArn")), []).append(str(version.get("status")))
    for arn, statuses in per_solution.items():
        name = solutions.get(arn, arn)
        if len(statuses) > 1:
            out.duplicates += len(statuses) - 1
            out.details.append(f"duplicate training: {len(statuses)} versions of solution {name}")
        elif not statuses:
            out.not_active.append(f"solution {name} never trained")
        elif statuses[0] != "ACTIVE":
            out.not_active.append(f"version of solution {name} {statuses[0]}")
    datasets = {str(r["datasetArn"]): str(r.get("name")) for r in records.get("dataset", {}).values()}
    per_dataset: dict[str, list[str]] = {arn: [] for arn in datasets}
    for job in records.get("dataset_import_job", {}).values():
        per_dataset.setdefault(str(job.get("datasetArn")), []).append(str(job.get("status")))
    importing = {
        r.physical_name
        for r in desired.of_kind(Kind.DATASET)
        if isinstance(r.spec, DatasetSpec) and r.spec.dataImport is not None
    }
    for arn, statuses in per_dataset.items():
        name = datasets.get(arn, arn)
        if len(statuses) > 1:
            out.duplicates += len(statuses) - 1
            out.details.append(f"duplicate import: {len(statuses)} import jobs into dataset {name}")
        if name in importing and "ACTIVE" not in statuses:
            out.data_lost += 1
            out.details.append(f"data lost: dataset {name} has no successful import ({statuses or 'none'})")
    return out


def audit_line(result: Audit) -> str:
    return "; ".join(result.details + result.not_active) or "clean"


# ------------------------------------------------------------------------------------ in-process world


class VirtualRetrySleep:
    """Stands in for the `time` module inside botocore.endpoint: botocore's retry backoff then advances the
    virtual clock instead of sleeping real seconds (throttling at 30 % would otherwise cost minutes)."""

    def __init__(self, clock: Any) -> None:
        self._clock = clock
        self.slept = 0.0
        self.retries = 0

    def sleep(self, seconds: float) -> None:
        self.retries += 1
        self.slept += seconds
        self._clock.advance(max(seconds, 0.0))

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


@dataclass
class SeedWorld:
    emulator: Any
    clock: Any
    target: Any
    desired: Any
    manifests: Path
    retry_sleep: VirtualRetrySleep

    def read_live(self) -> Any:
        from reconciler.live.reader import read_live

        return read_live(self.target, self.desired, now=self.clock.now())

    def plan(self, live: Any = None) -> Any:
        from reconciler.plan.planner import PlanOptions, plan

        return plan(self.desired, live if live is not None else self.read_live(), PlanOptions(target="test"))

    def apply(self, *, lock_owner: str | None = None, confirm: Any = None) -> Any:
        from reconciler.apply.executor import ApplyOptions
        from reconciler.apply.progress import RecordingReporter
        from reconciler.apply.run import run_apply
        from reconciler.plan.planner import PlanOptions

        return run_apply(
            self.desired,
            self.target,
            read_live=self.read_live,
            plan_options=PlanOptions(target="test"),
            reporter=RecordingReporter(),
            options=ApplyOptions(),
            lock_owner=lock_owner,
            confirm=confirm,
        )

    def audit(self) -> Audit:
        return audit(self.emulator.snapshot(), self.desired, self.emulator.account)

    def apply_until_exit_0(self, attempts: int, counts: Tally, *, fresh_between: bool = False) -> list[str]:
        """Apply up to `attempts` times, stopping at the first exit 0. A ReconcilerError (a call exhausted its
        retries) is a clean failure and the next attempt reruns; any other exception counts as a traceback and
        propagates. `fresh_between`: each rerun gets new clients, as a new process would. Returns what each
        attempt ended with."""
        from reconciler.errors import ReconcilerError

        outcomes: list[str] = []
        for attempt in range(attempts):
            if attempt and fresh_between:
                self.fresh_target()
            try:
                result = self.apply()
            except ReconcilerError as exc:
                outcomes.append(f"error: {exc.message.splitlines()[0]}")
                continue
            except Exception:
                counts.tracebacks += 1
                raise
            outcomes.append(f"exit {result.exit_code}")
            if result.exit_code == 0:
                break
        return outcomes

    def judge(self, outcomes: list[str], counts: Tally, case: str) -> tuple[bool, list[str], Audit]:
        """Converged = the last attempt exited 0, the plan afterwards is empty and the audit is clean; tallies
        duplicates, lost data and the verdict (a failure line starting with `case`)."""
        left = [f"{c.action.value} {c.address}" for c in self.plan().changes if c.action.value != "no-op"]
        report = self.audit()
        counts.duplicates += report.duplicates
        counts.data_lost += report.data_lost
        ok = outcomes[-1] == "exit 0" and not left and report.clean
        if ok:
            counts.converged += 1
        else:
            counts.failures.append(f"{case}: {outcomes}; left {left}; {audit_line(report)}")
        return ok, left, report

    def fresh_target(self) -> None:
        """New boto3 clients on the same account, as a rerun in a new process (a scheduled CI run) gets:
        botocore's retry quota and connection pools start afresh."""
        from reconciler.aws.target import Target

        self.target = Target.for_tests(self.emulator, self.clock, region=REGION)


@contextmanager
def seed_world(tmp: Path, *, strict: bool = False) -> Iterator[SeedWorld]:
    """The seed stack (manifests/) and an empty emulated account (Personalize emulator + moto), in virtual
    time, reached through real boto3 clients with the target's standard retries."""
    import botocore.endpoint
    from moto import mock_aws

    from reconciler.aws.personalize_access import grant_for_manifests
    from reconciler.aws.target import Target
    from reconciler.emulator import PersonalizeEmulator, VirtualClock
    from reconciler.manifest import load

    manifests = copy_samples(tmp)
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION}
    with mock.patch.dict(os.environ, env), mock_aws():
        os.environ.pop("AWS_PROFILE", None)
        clock = VirtualClock()
        emulator = PersonalizeEmulator(clock=clock, strict=strict)
        target = Target.for_tests(emulator, clock, region=REGION)
        desired = load(manifests)
        target.s3.create_bucket(Bucket=desired.stack.settings.variables["bucket"])
        grant_for_manifests(target.s3, target.iam, desired)
        sleeper = VirtualRetrySleep(clock)
        with mock.patch.object(botocore.endpoint, "time", sleeper):
            yield SeedWorld(emulator, clock, target, desired, manifests, sleeper)


# ------------------------------------------------------------------------------------ subprocess world


def cli_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PG_CRASH_"))}
    env.update({"PYTHONUNBUFFERED": "1", "NO_COLOR": "1", "COLUMNS": "200"})
    env.update(extra or {})
    return env


def run_cli(args: list[str], cwd: Path, *, env: dict[str, str] | None = None, timeout: float = 180) -> Any:
    """`python -m reconciler ARGS` as a real subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "reconciler", *args],
        cwd=cwd,
        env=env or cli_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def prepare_local_workdir(workdir: Path) -> Any:
    """Sample manifests and data in `workdir`, and the user's data pipeline (bucket, role, uploaded CSVs) in
    its `--local` account (`.personalize-gitops/emulator-state.json`). Returns the desired state."""
    from reconciler.demo import seed_local_account
    from reconciler.manifest import load

    manifests = copy_samples(workdir)
    desired = load(manifests)
    with mock.patch.dict(os.environ, {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"}):
        seed_local_account(workdir, workdir / "data" / "sample", desired)
    return desired


def local_snapshot(workdir: Path) -> dict[str, Any]:
    """The Personalize part of the `--local` account saved in `workdir`."""
    import json

    from reconciler.aws.target import DEFAULT_LOCAL_STATE

    data = json.loads((workdir / DEFAULT_LOCAL_STATE).read_text(encoding="utf-8"))
    personalize: dict[str, Any] = data["personalize"]
    return personalize


def local_plan_changes(workdir: Path, desired: Any) -> list[str]:
    """Plan the seed stack against the `--local` account in `workdir` (in this process); the changes left."""
    from reconciler.aws.target import DEFAULT_LOCAL_STATE, open_target
    from reconciler.live.reader import read_live
    from reconciler.plan.planner import PlanOptions, plan

    with (
        mock.patch.dict(os.environ, {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"}),
        open_target(
            local=True, endpoint_url=None, region=REGION, state_path=workdir / DEFAULT_LOCAL_STATE
        ) as target,
    ):
        result = plan(desired, read_live(target, desired, now=target.clock.now()), PlanOptions(target="t"))
    return [f"{c.action.value} {c.address}" for c in result.changes if c.action.value != "no-op"]


def has_traceback(text: str) -> bool:
    return "Traceback (most recent call last)" in text


class LostResponses:
    """Responses lost after the call took effect: the emulator executes a mutating call, then the connection
    drops before the answer arrives (`ConnectionClosedError`), so botocore's retry sends the same request
    again. The emulator's own `ConnectionReset` fault drops requests *before* they run; this is the other,
    nastier half. Mutating calls matching `operation` lose their response with probability `rate` (seeded),
    at most `count` times, and the `nth` one always. Replaces the emulator's before-send hook on `client`
    (use `remove()` to restore it)."""

    def __init__(
        self,
        client: Any,
        emulator: Any,
        *,
        operation: str = "*",
        rate: float | None = None,
        count: int | None = None,
        seed: int = 0,
        nth: int | None = None,
    ) -> None:
        import random

        from reconciler.emulator.hook import HOOK_ID, make_handler

        self._client = client
        self._hook_id = HOOK_ID
        self._inner = make_handler(emulator, client.meta.region_name)
        self._rng = random.Random(seed)
        self._operation, self._rate, self._count, self._nth = operation, rate, count, nth
        self._seen = 0
        self.lost: list[str] = []
        client.meta.events.unregister("before-send.personalize", unique_id=HOOK_ID)
        client.meta.events.register("before-send.personalize", self._send, unique_id="lost-responses")

    def _send(self, request: Any, **kwargs: Any) -> Any:
        from botocore.exceptions import ConnectionClosedError

        from reconciler.emulator import is_mutating

        response = self._inner(request, **kwargs)
        header = request.headers.get("X-Amz-Target") or b""
        operation = (header.decode() if isinstance(header, bytes) else str(header)).rpartition(".")[2]
        if not is_mutating(operation) or self._operation not in ("*", operation):
            return response
        self._seen += 1
        if self._seen == self._nth:  # always lost, whatever the rate draws
            self.lost.append(operation)
            raise ConnectionClosedError(endpoint_url=request.url)
        if self._count is not None and len(self.lost) >= self._count:
            return response
        if self._rate is not None and self._rng.random() >= self._rate:
            return response
        self.lost.append(operation)
        raise ConnectionClosedError(endpoint_url=request.url)

    def remove(self) -> None:
        events = self._client.meta.events
        events.unregister("before-send.personalize", unique_id="lost-responses")
        events.register("before-send.personalize", self._inner, unique_id=self._hook_id)
