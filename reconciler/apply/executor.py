"""Execute a plan: the account converges to it, in parallel, safely, resumably.

`apply_plan(plan, desired, live, personalize=..., clock=...)` turns every change into one or two steps and
runs them as a dependency graph (`graph.GraphRunner`): each step starts as soon as what it needs is ready
and never waits for anything else (the seed's three trainings run at once).

Steps per action (the executor branches on `Change.action`, never on reasons):

* create: re-read by name first; a leftover CREATE FAILED resource is deleted and created again.
* update / adopt: re-read; Update* when something updatable differs; Start/Stop; Tag/Untag.
* replace: destroy-before-create deletes, then creates under the same name; create-before-destroy creates
  under `new_physical_name`, then deletes the old one once everything depending on it moved over.
* import: CreateDatasetImportJob with a deterministic job name (dataset + source ETag + trigger), reused
  when it exists.
* retrain: CreateSolutionVersion, unless a version is already training or this same training (same key
  tag) exists.
* promote: UpdateCampaign(solutionVersionArn) once the version is ACTIVE and passes the campaign's gate.
* delete: stop in-flight work (StopSolutionVersionCreation, wait for imports/updates), delete, wait until
  gone.

Ordering (edges of the graph):
* a step waits for the earlier steps of the same resource (delete -> create -> update -> import -> train ->
  promote -> delete-old);
* a step waits for the create/update steps of the resources it references; a campaign also waits for its
  solution's training; trainings and recommenders also wait for the imports of their dataset group;
* deletes run in reverse dependency order (campaigns, recommenders, solutions, filters, metric attributions,
  event trackers, datasets, dataset groups, schemas: §2.16), and the old half of a create-before-destroy
  replacement waits until everything depending on it has moved to the new one.

Level-based: every step re-reads the resource before acting, so rerunning apply after a crash, a timeout or
a failure continues where the last run stopped; "already exists" / "already gone" are handled in `api.py`.
Waits use `waiter.wait_for` with the injected clock; when `timeout` runs out (or with `no_wait`) a step whose
work is still running ends RUNNING and apply exits 3.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from boto3.exceptions import S3UploadFailedError
from botocore.exceptions import BotoCoreError, ClientError

from reconciler import s3data
from reconciler.apply import cancel as cancellation
from reconciler.apply.api import PersonalizeApi
from reconciler.apply.graph import (
    CoordinatedClock,
    GraphRunner,
    Node,
    NodeResult,
    Outcome,
    StepFailed,
    StillRunning,
    is_virtual_clock,
)
from reconciler.apply.progress import EventKind, NullReporter, Reporter, StepEvent
from reconciler.apply.report import ApplyReport, Phase, StepRecord
from reconciler.apply.waiter import GONE, Clock, WaitFailed, WaitTimeout, normalize_status, wait_for
from reconciler.errors import ApiError, PlanError
from reconciler.model.address import Address, Kind
from reconciler.model.spec import CampaignSpec, DatasetSpec, SolutionSpec
from reconciler.model.state import (
    TAG_NAME,
    TAG_REASON,
    TAG_SOURCE_ETAG,
    TAG_SOURCE_SHA256,
    TAG_STACK,
    TAG_TRIGGER,
    DesiredResource,
    DesiredState,
    LiveResource,
    LiveState,
)
from reconciler.plan.gate import evaluate_gate, gate_metric_names
from reconciler.plan.types import (
    Action,
    AdoptPayload,
    Change,
    ImportPayload,
    Plan,
    PromotePayload,
    ReplaceOrder,
    TrainPayload,
    UpdatePayload,
)
from reconciler.resources.base import TAG_SPEC_DIGEST, RefContext, ResourceHandler, tag_list
from reconciler.resources.registry import handler as handler_for

P = TypeVar("P", ImportPayload, TrainPayload, PromotePayload, UpdatePayload, AdoptPayload)

#: Bookkeeping tag on solution versions: identifies one requested training, so a rerun never starts it twice.
TAG_TRAINING_KEY = "personalize-gitops:training-key"

#: Typical durations (seconds) shown next to elapsed time and used to pace polling.
TYPICAL_CREATE: dict[Kind, float] = {
    Kind.DATASET_GROUP: 60,
    Kind.SCHEMA: 1,
    Kind.DATASET: 60,
    Kind.SOLUTION: 60,
    Kind.CAMPAIGN: 25 * 60,
    Kind.FILTER: 120,
    Kind.EVENT_TRACKER: 60,
    Kind.RECOMMENDER: 60 * 60,
    Kind.METRIC_ATTRIBUTION: 120,
}
TYPICAL_UPDATE: dict[Kind, float] = {Kind.CAMPAIGN: 15 * 60, Kind.RECOMMENDER: 30 * 60, Kind.SOLUTION: 5 * 60}
TYPICAL_TRAINING = {"FULL": 45 * 60, "UPDATE": 15 * 60, "AUTOTRAIN": 45 * 60}
TYPICAL_IMPORT = 10 * 60  # a small file; large ones take up to twice that
TYPICAL_DELETE = 60.0
TYPICAL_STOP = 120.0

#: API errors that may go away by themselves (throttling, 5xx, dropped connections: code None); a step that
#: still fails with one after botocore's own retries is run again, up to STEP_RETRIES times.
TRANSIENT_CODES = frozenset(
    {
        None,
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "InternalFailure",
        "InternalServerError",
        "InternalServerException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
    }
)
STEP_RETRIES = 3
#: A delete refused as "in use" is retried only briefly (children still going away): blockers that do not go
#: away by themselves (unmanaged children, serving campaigns) are found at plan time and refused there.
DELETE_IN_USE_RETRIES = 4

#: Reverse dependency order of deletes (personalize-api.md §2.16).
DELETE_RANK: dict[Kind, int] = {
    Kind.CAMPAIGN: 0,
    Kind.RECOMMENDER: 1,
    Kind.SOLUTION: 2,
    Kind.FILTER: 3,
    Kind.METRIC_ATTRIBUTION: 4,
    Kind.EVENT_TRACKER: 5,
    Kind.DATASET: 6,
    Kind.DATASET_GROUP: 7,
    Kind.SCHEMA: 8,
}

VERSION_IN_PROGRESS = frozenset({"CREATE PENDING", "CREATE IN_PROGRESS", "CREATE STOPPING"})
VERSION_FAILED = frozenset({"CREATE FAILED", "CREATE STOPPED"})
JOB_IN_PROGRESS = frozenset({"CREATE PENDING", "CREATE IN_PROGRESS"})
SETTLED = frozenset({"ACTIVE", "CREATE FAILED", "INACTIVE"})

#: Forward phases in the order they run for one resource.
FORWARD_ORDER = (
    Phase.WAIT,
    Phase.CREATE,
    Phase.REPLACE_CREATE,
    Phase.ADOPT,
    Phase.UPDATE,
    Phase.IMPORT,
    Phase.TRAIN,
    Phase.PROMOTE,
)
EXISTS_PHASES = frozenset({Phase.WAIT, Phase.CREATE, Phase.REPLACE_CREATE, Phase.ADOPT, Phase.UPDATE})


@dataclass(frozen=True)
class ApplyOptions:
    timeout: float | None = None
    """Seconds apply may wait in total; then running work is left running (exit 3)."""
    no_wait: bool = False
    """Start work and do not wait for long operations (trainings, campaign creates/updates, imports)."""
    max_workers: int | None = None
    seed: int = 0
    """Seed of the polling jitter (reproducible runs)."""
    slots: Mapping[str, int] = field(default_factory=lambda: {"import": 5, "train": 20})
    """Most jobs this apply keeps pending at once, per kind (the service quotas per region)."""
    cancel: threading.Event | None = None
    """Set from outside to stop waiting and start nothing new (the stack lock was lost)."""


@dataclass
class Step:
    key: str
    phase: str
    address: Address
    change: Change
    deps: set[str] = field(default_factory=set)

    @property
    def label(self) -> str:
        return f"{self.phase} {self.address}"


def _short_hash(*parts: object, length: int = 10) -> str:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:length]


def _job_name(base: str, suffix: str) -> str:
    return f"{base[: 62 - len(suffix)]}-{suffix}"


class Executor:
    def __init__(
        self,
        plan: Plan,
        desired: DesiredState,
        live: LiveState,
        *,
        personalize: Any,
        clock: Clock,
        s3: Any | None = None,
        region: str | None = None,
        account_id: str | None = None,
        reporter: Reporter | None = None,
        options: ApplyOptions | None = None,
    ) -> None:
        self.plan = plan
        self.desired = desired
        self.live = live
        self.stack = desired.stack.name
        self.api = PersonalizeApi(personalize, stack=self.stack)
        self.s3 = s3
        self.region = region or live.region or "us-east-1"
        self.account = account_id or live.account_id or "000000000000"
        self.base_clock = clock
        self.cancel = (options.cancel if options is not None else None) or threading.Event()
        self.clock: Clock = (
            CoordinatedClock(clock) if is_virtual_clock(clock) else _CancellableClock(clock, self.cancel)
        )
        self.reporter = reporter or NullReporter()
        self.options = options or ApplyOptions()
        self.deadline: float | None = None
        self._lock = threading.Lock()
        self._arns: dict[Address, str] = {}
        self._versions: dict[str, str] = {}
        self._trained: dict[str, str] = {}
        self._slots_used: dict[str, int] = {}
        self._slots_held: dict[str, str] = {}
        self._did_work: dict[str, bool] = {}
        self._held: dict[str, str] = {}
        self._checked: set[str] = set()
        """Keys of the first step on each resource the plan read: they check its fingerprint first."""
        self._seed_refs()
        self.steps = self._build_steps()
        self.step_values: dict[str, Any] = {}
        """What each finished step returned (the ARN it created, trained or imported)."""

    # -- references ------------------------------------------------------------------------------------

    def _seed_refs(self) -> None:
        for address, res in self.live.resources.items():
            if res.status.startswith("DELETE"):
                continue
            self._arns[address] = res.arn
            if res.kind is Kind.SOLUTION:
                active = [v for v in res.versions if normalize_status(v.status) == "ACTIVE"]
                if active:
                    self._versions[address.name] = max(active, key=lambda v: v.created).arn
        for address in self.desired.resources:
            if address.kind is Kind.CAMPAIGN and address in self.live.resources:
                serving = self.live.resources[address].fields.get("solutionVersionArn")
                spec = self.desired.resources[address].spec
                if isinstance(spec, CampaignSpec) and serving and spec.solution not in self._versions:
                    self._versions[spec.solution] = str(serving)

    def ctx(self) -> RefContext:
        with self._lock:
            arns = dict(self._arns)
            versions = dict(self._versions)
        return RefContext(
            region=self.region,
            account=self.account,
            stack=self.stack,
            arns=arns,
            addresses={arn: address for address, arn in arns.items()},
            physical_names={a: r.physical_name for a, r in self.desired.resources.items()},
            solution_versions=versions,
        )

    def _set_arn(self, address: Address, arn: str) -> None:
        with self._lock:
            self._arns[address] = arn

    def _arn(self, address: Address) -> str | None:
        with self._lock:
            return self._arns.get(address)

    # -- graph construction ----------------------------------------------------------------------------

    def _build_steps(self) -> dict[str, Step]:
        steps: dict[str, Step] = {}
        by_address: dict[Address, list[Step]] = {}

        def add(phase: str, change: Change) -> Step:
            step = Step(key=f"{phase}:{change.address}", phase=phase, address=change.address, change=change)
            steps[step.key] = step
            by_address.setdefault(change.address, []).append(step)
            return step

        for change in self.plan.changes:
            if change.action is Action.NOOP:
                if change.in_progress and change.arn:
                    add(Phase.WAIT, change)
                continue
            if change.action is Action.CREATE:
                add(Phase.CREATE, change)
            elif change.action is Action.UPDATE:
                add(Phase.UPDATE, change)
            elif change.action is Action.ADOPT:
                add(Phase.ADOPT, change)
            elif change.action is Action.IMPORT:
                add(Phase.IMPORT, change)
            elif change.action is Action.RETRAIN:
                add(Phase.TRAIN, change)
            elif change.action is Action.PROMOTE:
                add(Phase.PROMOTE, change)
            elif change.action is Action.DELETE:
                add(Phase.DELETE, change)
            elif change.action is Action.REPLACE:
                if change.replace_order is ReplaceOrder.CREATE_BEFORE_DESTROY:
                    add(Phase.REPLACE_CREATE, change)
                    add(Phase.REPLACE_DELETE, change)
                else:
                    add(Phase.REPLACE_DELETE, change)
                    add(Phase.REPLACE_CREATE, change)

        dependents: dict[Address, set[Address]] = {}
        for res in self.desired.resources.values():
            for dep in res.depends_on:
                dependents.setdefault(dep, set()).add(res.address)
        for change in self.plan.changes:
            for dep in change.depends_on:
                dependents.setdefault(dep, set()).add(change.address)

        def phases(address: Address, wanted: frozenset[str] | set[str]) -> set[str]:
            return {s.key for s in by_address.get(address, []) if s.phase in wanted}

        def group_of(address: Address) -> str | None:
            res = self.desired.resources.get(address)
            return getattr(res.spec, "datasetGroup", None) if res is not None else None

        datasets_by_group: dict[str, list[Address]] = {}
        for res in self.desired.of_kind(Kind.DATASET):
            assert isinstance(res.spec, DatasetSpec)
            datasets_by_group.setdefault(res.spec.datasetGroup, []).append(res.address)

        def is_delete(step: Step) -> bool:
            return step.phase == Phase.DELETE or (
                step.phase == Phase.REPLACE_DELETE
                and step.change.replace_order is not ReplaceOrder.CREATE_BEFORE_DESTROY
            )

        deletes = [s for s in steps.values() if is_delete(s)]
        for address, chain in by_address.items():
            ordered = sorted(
                chain,
                key=lambda s: (
                    -1 if is_delete(s) else (FORWARD_ORDER.index(s.phase) if s.phase in FORWARD_ORDER else 99)
                ),
            )
            for earlier, later in itertools.pairwise(ordered):
                later.deps.add(earlier.key)
            desired_res = self.desired.resources.get(address)
            refs = set(desired_res.depends_on) if desired_res is not None else set()
            for step in ordered:
                if is_delete(step):
                    rank = DELETE_RANK[address.kind]
                    step.deps |= {d.key for d in deletes if DELETE_RANK[d.address.kind] < rank}
                    if step.phase == Phase.DELETE:
                        # e.g. the old half of an earlier replacement waits for its campaigns to move away
                        for dep in step.change.depends_on:
                            step.deps |= phases(dep, frozenset(FORWARD_ORDER))
                    continue
                if step.phase == Phase.REPLACE_DELETE:  # the old half of create-before-destroy
                    for user in dependents.get(address, set()):
                        step.deps |= phases(user, frozenset(FORWARD_ORDER))
                    continue
                for dep in refs | set(step.change.depends_on):
                    if dep == address:
                        continue
                    step.deps |= phases(dep, EXISTS_PHASES)
                    if address.kind is Kind.CAMPAIGN and dep.kind is Kind.SOLUTION:
                        step.deps |= phases(dep, {Phase.TRAIN})
                group = group_of(address)
                if group and address.kind in (
                    Kind.SOLUTION,
                    Kind.FILTER,
                    Kind.METRIC_ATTRIBUTION,
                    Kind.RECOMMENDER,
                ):
                    needs_data = step.phase == Phase.TRAIN or address.kind is Kind.RECOMMENDER
                    wanted = EXISTS_PHASES | ({Phase.IMPORT} if needs_data else set())
                    for dataset in datasets_by_group.get(group, []):
                        step.deps |= phases(dataset, wanted)
        for step in steps.values():
            step.deps.discard(step.key)
        self._checked = {
            chain[0].key
            for chain in by_address.values()
            if chain[0].phase != Phase.WAIT and chain[0].change.read_fingerprint
        }
        return steps

    # -- running ---------------------------------------------------------------------------------------

    def run(self) -> ApplyReport:
        report = ApplyReport(stack=self.stack, started=self.clock.now())
        if self.options.timeout is not None:
            self.deadline = report.started + self.options.timeout
        nodes = [Node(s.key, self._runner(s), set(s.deps), s.label) for s in self.steps.values()]
        runner = GraphRunner(nodes, max_workers=self.options.max_workers, clock=self.clock)
        runner.on_result = self._on_result
        runner.on_interrupt = self.interrupt
        results = runner.run()
        report.finished = self.clock.now()
        self.step_values = {key: result.value for key, result in results.items()}
        for key, step in self.steps.items():
            result = results[key]
            report.steps.append(
                StepRecord(
                    key=key,
                    label=step.label,
                    address=str(step.address),
                    phase=step.phase,
                    outcome=result.outcome,
                    message=result.message,
                    status=result.status,
                    cause=result.cause,
                    started=result.started,
                    finished=result.finished,
                    did_work=self._did_work.get(key, True),
                    held_back=key in self._held,
                )
            )
        report.held_back = [self._held[k] for k in sorted(self._held)]
        report.mutating_calls = self.api.mutating_calls
        report.describe_calls = sum(n for op, n in self.api.calls.items() if op.startswith("describe_"))
        return report

    def interrupt(self) -> None:
        """Stop waiting everywhere (Ctrl-C): running steps end RUNNING, nothing new is started."""
        self.cancel.set()
        if isinstance(self.clock, CoordinatedClock):
            self.clock.interrupt()

    def _emit(
        self,
        step: Step,
        kind: EventKind,
        *,
        status: str = "",
        message: str = "",
        started: float = 0.0,
        typical: float | None = None,
    ) -> None:
        now = self.clock.now()
        self.reporter.event(
            StepEvent(
                step=step.label,
                kind=kind,
                at=now,
                status=status,
                elapsed=now - started if started else 0.0,
                typical=typical,
                message=message,
            )
        )

    def _on_result(self, key: str, result: NodeResult) -> None:
        step = self.steps[key]
        kind = {
            Outcome.DONE: EventKind.DONE,
            Outcome.FAILED: EventKind.FAILED,
            Outcome.SKIPPED: EventKind.SKIPPED,
            Outcome.RUNNING: EventKind.RUNNING,
            Outcome.PENDING: EventKind.SKIPPED,
        }[result.outcome]
        message = result.message.splitlines()[0] if result.message else ""
        if result.outcome is Outcome.SKIPPED and result.cause:
            message = f"because {self.steps[result.cause].label} failed"
        if result.outcome is Outcome.PENDING and result.cause:
            message = f"waits for {self.steps[result.cause].label} (still running)"
        if result.outcome is Outcome.DONE and key in self._held:
            message = "held back by the promotion gate"
        elif result.outcome is Outcome.DONE and not self._did_work.get(key, True):
            message = "already done"
        self.reporter.event(
            StepEvent(
                step=step.label,
                kind=kind,
                at=self.clock.now(),
                status=result.status,
                elapsed=(result.finished or 0) - (result.started or 0) if result.started is not None else 0.0,
                message=message,
            )
        )

    def _runner(self, step: Step) -> Callable[[], Any]:
        def run() -> Any:
            if self.cancel.is_set():
                raise StillRunning("not started: apply was interrupted")
            self._emit(step, EventKind.STARTED)
            if not step.change.allowed:
                notes = "; ".join(step.change.notes) or "refused by policy"
                raise StepFailed(f"{step.address}: change not allowed ({notes}); nothing was done")
            if step.key in self._checked:
                self._check_unchanged(step)
            method = {
                Phase.CREATE: self._create,
                Phase.REPLACE_CREATE: self._create,
                Phase.UPDATE: self._update,
                Phase.ADOPT: self._update,
                Phase.IMPORT: self._import,
                Phase.TRAIN: self._train,
                Phase.PROMOTE: self._promote,
                Phase.DELETE: self._delete,
                Phase.REPLACE_DELETE: self._delete,
                Phase.WAIT: self._wait_in_progress,
            }[step.phase]
            try:
                attempt = 0
                while True:
                    try:
                        return method(step)
                    except ApiError as exc:
                        # Steps are level-based (they re-read before acting), so a step whose call still
                        # failed transiently after botocore's retries can simply run again.
                        attempt += 1
                        if exc.code not in TRANSIENT_CODES or attempt > STEP_RETRIES or self.cancel.is_set():
                            raise
                        pause = min(30.0 * 2**attempt, 300.0)
                        if self.deadline is not None and self.clock.now() + pause >= self.deadline:
                            raise
                        self._emit(step, EventKind.NOTE, message=f"{exc.message}; retrying the step")
                        cancellation.pause(self.clock, self.cancel, pause, "before retrying the step")
            finally:
                self._release_slot(step)

        return run

    # -- shared helpers --------------------------------------------------------------------------------

    def _check_unchanged(self, step: Step) -> None:
        """The precondition of the first step on a resource the plan read: it is still as the plan read it."""
        arn = step.change.arn
        if arn is None:
            return
        now = self.api.contract_fingerprint(handler_for(step.address.kind), arn)
        if now != step.change.read_fingerprint:
            what = "was deleted" if now is None else "changed"
            raise StepFailed(
                f"{step.address}: {what} since the plan: plan again (nothing was done to it; the reviewed "
                "plan no longer describes it)",
                "changed since the plan",
            )

    def _payload(self, step: Step, kind: type[P]) -> P:
        """The change's typed payload (what the plan says apply does); a plan without it is refused."""
        payload = step.change.payload
        if not isinstance(payload, kind):
            raise StepFailed(
                f"{step.address}: the plan has no {kind.kind} payload for this {step.change.action.value}; "
                "nothing was done: plan again with this version of personalize-gitops"
            )
        return payload

    def _desired(self, step: Step) -> DesiredResource:
        res = self.desired.resources.get(step.address)
        if res is None:
            raise StepFailed(
                f"{step.address} is not in the manifests; the plan does not match them: run plan again "
                "(or save a new plan) from these manifests"
            )
        return res

    def _physical_name(self, step: Step) -> str:
        res = self._desired(step)
        if (
            step.phase == Phase.REPLACE_CREATE
            and step.change.replace_order is ReplaceOrder.CREATE_BEFORE_DESTROY
        ):
            return (
                step.change.new_physical_name
                or f"{res.physical_name[:54]}-{_short_hash(step.change.arn)[:8]}"
            )
        return res.physical_name

    def _parent_arn(self, handler: ResourceHandler, res: DesiredResource) -> str | None:
        if not handler.parent_field:
            return None
        parent_name = getattr(res.spec, handler.parent_field, None)
        parent_kind = handler.references.get(handler.parent_field)
        if parent_name is None or parent_kind is None:
            return None
        return self._arn(Address(parent_kind, str(parent_name)))

    def _find(self, handler: ResourceHandler, res: DesiredResource, physical_name: str) -> str | None:
        parent = self._parent_arn(handler, res)
        if handler.ops.parent_param and handler.parent_field and parent is None:
            return None  # the parent does not exist yet, so neither does this
        return self.api.find_arn(handler, physical_name, parent)

    def _wait(
        self,
        step: Step,
        read: Callable[[], str | None],
        ready: frozenset[str] | set[str],
        failed: frozenset[str] | set[str],
        typical: float,
        *,
        long_running: bool = True,
        failure: Callable[[], str] | None = None,
        since: Callable[[], float | None] | None = None,
    ) -> str:
        """Wait with the apply deadline; raise StillRunning / StepFailed as the graph expects. `since` gives
        the clock time the awaited operation started (polling is timed around its expected completion)."""
        started = self.clock.now()
        if self.options.no_wait and long_running:
            status = normalize_status(read())
            if status in {normalize_status(s) for s in ready}:
                return status
            if status in {normalize_status(s) for s in failed}:
                raise StepFailed(
                    f"{step.address}: {status}: {failure() if failure else ''}".rstrip(": "), status
                )
            raise StillRunning(status)

        def on_status(status: str) -> None:
            self._emit(step, EventKind.STATUS, status=status, started=started, typical=typical)

        def checked_read() -> str | None:
            status = read()
            if self.cancel.is_set() and normalize_status(status) not in {normalize_status(s) for s in ready}:
                raise StillRunning(normalize_status(status) + " (apply interrupted)")
            return status

        try:
            result = wait_for(
                checked_read,
                ready,
                failed,
                self.clock,
                None,
                typical,
                deadline=self.deadline,
                seed=self.options.seed + int(_short_hash(step.key, length=6), 16),
                on_status=on_status,
                since=since,
            )
        except WaitFailed as exc:
            reason = failure() if failure else ""
            raise StepFailed(
                f"{step.address}: {exc.status}" + (f": {reason}" if reason else ""), exc.status
            ) from exc
        except WaitTimeout as exc:
            raise StillRunning(exc.last_status, exc.result.elapsed) from exc
        return result.status

    def _status_reader(
        self, handler: ResourceHandler, arn: str, summary_key: str | None = None
    ) -> tuple[Callable[[], str | None], Callable[[], str]]:
        last: dict[str, Any] = {}

        def read() -> str | None:
            found = self.api.describe(handler, arn)
            if found is None:
                return None
            last.clear()
            last.update(found)
            if summary_key:
                summary = found.get(summary_key)
                if isinstance(summary, Mapping) and summary.get("status"):
                    return str(summary["status"])
            return str(found.get("status") or "ACTIVE")

        def failure() -> str:
            if summary_key and isinstance(last.get(summary_key), Mapping):
                return str(last[summary_key].get("failureReason") or "")
            return str(last.get("failureReason") or "")

        return read, failure

    def _wait_ready(self, step: Step, handler: ResourceHandler, arn: str, typical: float) -> str:
        read, failure = self._status_reader(handler, arn)
        long_running = typical >= 300
        return self._wait(
            step, read, handler.ready, handler.failed, typical, long_running=long_running, failure=failure
        )

    def _wait_gone(self, step: Step, handler: ResourceHandler, arn: str) -> None:
        read, failure = self._status_reader(handler, arn)
        self._wait(step, read, {GONE}, {"DELETE FAILED"}, TYPICAL_DELETE, long_running=False, failure=failure)

    def _acquire_slot(self, step: Step, slot: str, typical: float) -> None:
        """Keep this apply's own pending jobs within the service quota (imports 5, trainings 20 per region):
        wait (in clock time) for one of its jobs to finish instead of being refused."""
        limit = self.options.slots.get(slot)
        with self._lock:
            if step.key in self._slots_held:
                return  # a retried step keeps its slot
        waited = False
        while limit is not None:
            with self._lock:
                if self._slots_used.get(slot, 0) < limit:
                    self._slots_used[slot] = self._slots_used.get(slot, 0) + 1
                    self._slots_held[step.key] = slot
                    return
            if self.options.no_wait or (self.deadline is not None and self.clock.now() >= self.deadline):
                raise StillRunning(f"waiting for a free {slot} slot")
            if not waited:
                self._emit(
                    step, EventKind.NOTE, message=f"{limit} {slot} jobs already running; waiting for a slot"
                )
                waited = True
            pause = min(typical / 20, 120.0)
            if self.deadline is not None:
                pause = min(pause, max(self.deadline - self.clock.now(), 0.0))
            cancellation.pause(self.clock, self.cancel, pause, f"waiting for a free {slot} slot")

    def _release_slot(self, step: Step) -> None:
        with self._lock:
            slot = self._slots_held.pop(step.key, None)
            if slot is not None:
                self._slots_used[slot] -= 1

    def _call_when_slot_free(
        self, step: Step, slot: str, call: Callable[[], tuple[str, bool]], typical: float
    ) -> tuple[str, bool]:
        """Call `operation` within a slot; while the account's "pending or in progress" quota is still full
        (jobs not started by this apply: LimitExceededException), wait for it too, until the deadline."""
        self._acquire_slot(step, slot, typical)
        attempt = 0
        while True:
            cancellation.check(self.cancel, f"waiting for a free {slot} slot")
            try:
                return call()
            except ApiError as exc:
                quota_full = exc.code == "LimitExceededException" and (
                    "pending" in exc.message.lower() or "in progress" in exc.message.lower()
                )
                if not quota_full:
                    raise
                if self.options.no_wait or (self.deadline is not None and self.clock.now() >= self.deadline):
                    raise StillRunning("waiting for a free slot (quota of pending jobs)") from exc
                attempt += 1
                if attempt == 1:
                    self._emit(step, EventKind.NOTE, message=f"quota full, waiting for a slot: {exc.message}")
                pause = min(typical / 10 * attempt, 600.0)
                if self.deadline is not None:
                    pause = min(pause, max(self.deadline - self.clock.now(), 0.0))
                cancellation.pause(self.clock, self.cancel, pause, "waiting for the quota of pending jobs")

    def _mark(self, step: Step, did_work: bool) -> None:
        with self._lock:
            self._did_work[step.key] = self._did_work.get(step.key, False) or did_work

    # -- create ----------------------------------------------------------------------------------------

    def _create(self, step: Step) -> str:
        res = self._desired(step)
        handler = handler_for(step.address.kind)
        name = self._physical_name(step)
        self._mark(step, False)
        arn = self._find(handler, res, name)
        if arn is not None:
            current = self.api.describe(handler, arn)
            status = normalize_status(str((current or {}).get("status") or "ACTIVE")) if current else GONE
            if status.startswith("DELETE"):
                self._wait_gone(step, handler, arn)
                arn = None
            elif status in {normalize_status(s) for s in handler.failed}:
                # A failed earlier attempt: remove it and create again (the plan recorded the failure).
                self._mark(step, True)
                self.api.delete(handler, arn, f"{step.address} (failed earlier: {arn})")
                self._wait_gone(step, handler, arn)
                arn = None
        if arn is None:
            request = handler.create_request(dataclasses.replace(res, physical_name=name), self.ctx())
            arn, created = self.api.create(
                handler, request, lambda: self._find(handler, res, name), str(step.address), step.address.name
            )
            self._mark(step, created)
        self._set_arn(step.address, arn)
        self._wait_ready(step, handler, arn, TYPICAL_CREATE.get(step.address.kind, 60))
        # Settings applied after creation (Start/StopRecommender for running: false): they compare fields and
        # status only, so no tags, versions or import jobs are read for a resource just created.
        live = self.api.live(handler, arn, step.address, details=False)
        if live is not None:
            self._extra_calls(step, handler, handler.extra_requests(res, live, self.ctx()), live)
        return arn

    # -- update / adopt --------------------------------------------------------------------------------

    def _locate(self, step: Step, handler: ResourceHandler, res: DesiredResource | None) -> str | None:
        arn = self._arn(step.address) or step.change.arn
        if arn is None and res is not None:
            arn = self._find(handler, res, step.change.physical_name or res.physical_name)
        return arn

    def _update(self, step: Step) -> str:
        res = self._desired(step)
        handler = handler_for(step.address.kind)
        self._mark(step, False)
        arn = self._locate(step, handler, res)
        if arn is None:
            raise StepFailed(f"{step.address}: not found in the account any more; run plan again")
        live = self.api.live(handler, arn, step.address)
        if live is None:
            raise StepFailed(f"{step.address}: {arn} no longer exists; run plan again")
        self._set_arn(step.address, arn)
        summary_key = handler.ops.update_summary_key
        typical = TYPICAL_UPDATE.get(step.address.kind, 300)
        if handler.update_in_progress(live):
            read, failure = self._status_reader(handler, arn, summary_key)
            self._wait(step, read, {"ACTIVE"}, {"CREATE FAILED"}, typical, failure=failure)
            live = self.api.live(handler, arn, step.address) or live
        if isinstance(step.change.payload, AdoptPayload):  # adoption adds the ownership tags, nothing else
            self._send_tags(step, live, dict(step.change.payload.tags), ())
            return arn
        planned = self._payload(step, UpdatePayload)
        paths, ctx = frozenset(planned.paths), self.ctx()
        request = handler.update_request_for(res, live, paths, ctx) if paths else None
        if request and handler.ops.update:
            self._mark(step, True)
            self._update_call(step, handler, arn, handler.ops.update, request)
            read, failure = self._status_reader(handler, arn, summary_key)
            self._wait(step, read, {"ACTIVE"}, {"CREATE FAILED"}, typical, failure=failure)
            live = self.api.live(handler, arn, step.address) or live
        self._extra_calls(step, handler, handler.extra_requests_for(res, live, paths, ctx), live)
        if handler.taggable:
            wanted = {**planned.tags_set, TAG_SPEC_DIGEST: planned.spec_digest}
            self._send_tags(step, live, wanted, planned.tags_unset)
        return arn

    def _send_tags(
        self, step: Step, live: LiveResource, wanted: Mapping[str, str], unset: tuple[str, ...]
    ) -> None:
        """The planned tag changes (keys already as planned are not sent again: a rerun makes no call)."""
        add = {k: v for k, v in wanted.items() if live.tags.get(k) != v}
        remove = sorted(k for k in unset if k in live.tags)
        if add:
            self._mark(step, True)
            self.api.call("tag_resource", str(step.address), resourceArn=live.arn, tags=tag_list(add))
        if remove:
            self._mark(step, True)
            self.api.call("untag_resource", str(step.address), resourceArn=live.arn, tagKeys=remove)

    def _extra_calls(
        self,
        step: Step,
        handler: ResourceHandler,
        calls: list[tuple[str, dict[str, Any]]],
        live: LiveResource,
    ) -> None:
        for operation, kwargs in calls:
            self._mark(step, True)
            self.api.call(operation, str(step.address), **kwargs)
            read, failure = self._status_reader(handler, live.arn)
            self._wait(step, read, handler.ready, handler.failed, TYPICAL_STOP, failure=failure)

    # -- import ----------------------------------------------------------------------------------------

    def _import(self, step: Step) -> str:
        res = self._desired(step)
        spec = res.spec
        if not isinstance(spec, DatasetSpec) or spec.dataImport is None:
            raise StepFailed(
                f"{step.address}: import planned but the manifest declares no dataImport; run plan again"
            )
        dataset_arn = self._arn(step.address) or step.change.arn
        if dataset_arn is None:
            raise StepFailed(
                f"{step.address}: the dataset does not exist; nothing to import into. Run plan again: "
                "it plans the dataset's creation before the import"
            )
        self._mark(step, False)
        planned = self._payload(step, ImportPayload)
        uploaded = self._upload_if_needed(step, res)  # (S3 ETag, sha256:<hex>) of an uploaded localFile
        etag = uploaded[1] if uploaded else (planned.fingerprint or "")
        trigger = planned.trigger or ""
        location = planned.data_location
        base = _job_name(res.physical_name, _short_hash(location, etag, trigger, planned.import_mode))
        jobs = self.api.import_jobs(dataset_arn)
        job_arn: str | None = None
        attempt = 1
        for job in jobs:
            if job.name == base or job.name.startswith(base + "-r"):
                status = normalize_status(job.status)
                if status in JOB_IN_PROGRESS or status == "ACTIVE":
                    job_arn = job.arn
                    break
                attempt += 1
        if job_arn is None:
            name = base if attempt == 1 else _job_name(base, f"r{attempt}")[-63:]
            has_active = any(normalize_status(j.status) == "ACTIVE" for j in jobs)
            tags = {
                **dict(res.tags),
                TAG_STACK: self.stack,
                TAG_NAME: step.address.name,
                TAG_SOURCE_ETAG: uploaded[0] if uploaded else etag,
                TAG_TRIGGER: trigger,
            }
            if uploaded:
                tags[TAG_SOURCE_SHA256] = uploaded[1]
            request: dict[str, Any] = {
                "jobName": name,
                "datasetArn": dataset_arn,
                "dataSource": {"dataLocation": location},
                "importMode": planned.import_mode if has_active else "FULL",
                "tags": tag_list(tags),
            }
            if planned.role_arn:
                request["roleArn"] = planned.role_arn
            if planned.publish_attribution_metrics_to_s3 is not None:
                request["publishAttributionMetricsToS3"] = planned.publish_attribution_metrics_to_s3
            what = f"{step.address} import {name}"

            def find_job() -> str | None:
                found = [j for j in self.api.import_jobs(dataset_arn) if j.name == name]
                return found[0].arn if found else None

            def create_job() -> tuple[str, bool]:
                return self.api.create_or_find(
                    "create_dataset_import_job", what, request, "datasetImportJobArn", find_job
                )

            job_arn, created = self._call_when_slot_free(step, "import", create_job, TYPICAL_IMPORT)
            self._mark(step, created)
        self._wait_import(step, job_arn)
        return job_arn

    def _wait_import(self, step: Step, arn: str) -> None:
        self._wait_job(
            step, "describe_dataset_import_job", "datasetImportJob", arn, {"CREATE FAILED"}, TYPICAL_IMPORT
        )

    def _wait_job(
        self,
        step: Step,
        operation: str,
        key: str,
        arn: str,
        failed: frozenset[str] | set[str],
        typical: float,
    ) -> None:
        """Wait until the job or version `arn` (read with `operation`, e.g. describe_solution_version, whose
        response holds it under `key`) is ACTIVE; `failed` statuses end the step with its failureReason."""
        last: dict[str, Any] = {}

        def read() -> str | None:
            try:
                found = self.api.call(operation, arn, **{key + "Arn": arn})
            except ApiError as exc:
                if exc.code == "ResourceNotFoundException":
                    return None
                raise
            last.update(found.get(key) or {})
            return str(last.get("status", ""))

        def reason() -> str:
            return str(last.get("failureReason") or "")

        def since() -> float | None:  # a job or training already running is timed from its own start
            created = last.get("creationDateTime")
            return created.timestamp() if isinstance(created, datetime) else None

        self._wait(step, read, {"ACTIVE"}, failed, typical, failure=reason, since=since)

    def _upload_if_needed(self, step: Step, res: DesiredResource) -> tuple[str, str] | None:
        """Upload `dataImport.localFile` to `dataLocation` unless the object there is this file (the SHA-256
        recorded at upload); returns (object ETag, `sha256:<hex>`) - see reconciler/s3data.py."""
        spec = res.spec
        assert isinstance(spec, DatasetSpec) and spec.dataImport is not None
        local = spec.dataImport.localFile
        if not local or self.s3 is None:
            return None
        path = Path(local)
        if not path.is_absolute():
            path = (
                Path(res.source.file).parent / path if res.source.file else Path(self.desired.base_dir) / path
            )
        if not path.exists():
            path = Path(self.desired.base_dir) / local
        if not path.exists():
            raise StepFailed(
                f"{step.address}: dataImport.localFile {local} not found ({res.source}); add the file or fix "
                "the path (relative to the manifest file), then rerun"
            )
        sha256, _ = s3data.file_digests(path)  # streamed: the file is never held in memory
        bucket, key = s3data.split_location(spec.dataImport.dataLocation)
        try:
            if s3data.uploaded_sha256(self.s3, bucket, key) == sha256:
                return s3data.normalize_etag(self.s3.head_object(Bucket=bucket, Key=key).get("ETag")), sha256
            self._mark(step, True)
            return s3data.upload_file(self.s3, path, bucket, key, sha256), sha256
        except (ClientError, BotoCoreError, S3UploadFailedError) as exc:
            raise StepFailed(
                f"{step.address}: cannot upload {local} to {spec.dataImport.dataLocation} "
                f"({res.source}): {exc}; create the bucket or fix dataImport.dataLocation, then rerun"
            ) from exc

    # -- training --------------------------------------------------------------------------------------

    def _solution_arn(self, step: Step, name: str) -> str:
        arn = self._arn(Address(Kind.SOLUTION, name))
        if arn is None:
            res = self.desired.resources.get(Address(Kind.SOLUTION, name))
            handler = handler_for(Kind.SOLUTION)
            arn = self._find(handler, res, res.physical_name) if res is not None else None
        if arn is None:
            raise StepFailed(
                f"{step.address}: Solution/{name} does not exist; declare it in the manifests (or run plan "
                "again if it was deleted meanwhile), then rerun"
            )
        return arn

    def _train(self, step: Step) -> str:
        res = self._desired(step)
        spec = res.spec
        assert isinstance(spec, SolutionSpec)
        solution_arn = self._solution_arn(step, step.address.name)
        self._set_arn(step.address, solution_arn)
        self._mark(step, False)
        planned = self._payload(step, TrainPayload)
        versions = self.api.solution_versions(solution_arn)
        mode = planned.training_mode
        if not any(normalize_status(v.status) == "ACTIVE" for v in versions):
            mode = "FULL"  # the first version of a solution is always FULL
        reason = planned.reason
        trigger = planned.trigger or ""
        baseline = self.live.resources.get(step.address)
        previous = baseline.versions[0].arn if baseline is not None and baseline.versions else "none"
        key = _short_hash(self.stack, step.address, reason, trigger, previous, "", length=16)
        version_arn: str | None = None
        for version in versions:
            status = normalize_status(version.status)
            if status in VERSION_IN_PROGRESS:
                version_arn = version.arn  # one training at a time: follow the one already running
                break
            if version.tags.get(TAG_TRAINING_KEY) == key and status == "ACTIVE":
                version_arn = version.arn  # this very training already finished (rerun after a crash)
                break
        if version_arn is None:
            tags = {
                **dict(res.tags),
                TAG_STACK: self.stack,
                TAG_NAME: step.address.name,
                TAG_REASON: reason,
                TAG_TRAINING_KEY: key,
            }
            if trigger:
                tags[TAG_TRIGGER] = trigger
            # A deterministic name: if the response of CreateSolutionVersion is lost and botocore sends the
            # call again, the service answers ResourceAlreadyExists instead of starting a second training.
            # A retry after a failed attempt of the same training gets a new suffix.
            failed_before = sum(
                1
                for v in versions
                if v.tags.get(TAG_TRAINING_KEY) == key and normalize_status(v.status) in VERSION_FAILED
            )
            suffix = key[:12] + (f"-r{failed_before + 1}" if failed_before else "")
            request = {
                "name": _job_name(res.physical_name, suffix),
                "solutionArn": solution_arn,
                "trainingMode": mode,
                "tags": tag_list(tags),
            }

            def find_version() -> str | None:
                for version in self.api.solution_versions(solution_arn):
                    status = normalize_status(version.status)
                    if version.tags.get(TAG_TRAINING_KEY) == key and status not in VERSION_FAILED:
                        return version.arn
                return None

            def create_version() -> tuple[str, bool]:
                return self.api.create_or_find(
                    "create_solution_version",
                    f"{step.address} ({mode})",
                    request,
                    "solutionVersionArn",
                    find_version,
                )

            version_arn, created = self._call_when_slot_free(
                step, "train", create_version, TYPICAL_TRAINING.get(mode, 2700)
            )
            self._mark(step, created)
        arn = version_arn
        self._wait_version(step, arn, TYPICAL_TRAINING.get(mode, 2700))
        with self._lock:
            self._versions[step.address.name] = arn
            self._trained[step.address.name] = arn
        return arn

    # -- promotion -------------------------------------------------------------------------------------

    def _metrics(self, version_arn: str) -> dict[str, float]:
        try:
            response = self.api.call("get_solution_metrics", version_arn, solutionVersionArn=version_arn)
        except ApiError as exc:
            if exc.code in ("ResourceNotFoundException", "ResourceInUseException"):
                return {}
            raise
        return {str(k): float(v) for k, v in (response.get("metrics") or {}).items()}

    def _promote(self, step: Step) -> str:
        res = self._desired(step)
        spec = res.spec
        assert isinstance(spec, CampaignSpec)
        handler = handler_for(Kind.CAMPAIGN)
        self._mark(step, False)
        arn = self._locate(step, handler, res)
        if arn is None:
            raise StepFailed(f"{step.address}: the campaign does not exist any more; run plan again")
        planned = self._payload(step, PromotePayload)
        with self._lock:
            target = None if planned.pinned else self._trained.get(planned.solution)
        target = target or planned.solution_version_arn
        if target is None:
            solution_arn = self._solution_arn(step, spec.solution)
            active = [
                v
                for v in self.api.solution_versions(solution_arn, with_tags=False)
                if normalize_status(v.status) == "ACTIVE"
            ]
            if not active:
                raise StepFailed(
                    f"{step.address}: Solution/{spec.solution} has no ACTIVE version to promote; train one "
                    f"(apply --retrain {spec.solution}) or wait for its training to finish, then rerun"
                )
            target = active[0].arn
        current = self.api.describe(handler, arn) or {}
        serving = str(current.get("solutionVersionArn") or "")
        update = (
            current.get("latestCampaignUpdate")
            if isinstance(current.get("latestCampaignUpdate"), Mapping)
            else None
        )
        updating_to = str(update.get("solutionVersionArn") or "") if update else ""
        update_status = normalize_status(str(update.get("status"))) if update else ""
        read, failure = self._status_reader(handler, arn, "latestCampaignUpdate")
        typical = TYPICAL_UPDATE[Kind.CAMPAIGN]
        if updating_to == target and update_status in JOB_IN_PROGRESS:
            self._wait(step, read, {"ACTIVE"}, {"CREATE FAILED"}, typical, failure=failure)
            return target
        if serving == target:
            return target
        # The gate applies unless the plan says this move is not gated (the manifests replaced the solution:
        # the campaign must follow it); the plan's own check is repeated on fresh metrics.
        if spec.promotion is not None and planned.gated:
            candidate = self._metrics(target)
            current_metrics = self._metrics(serving) if serving else None
            result = evaluate_gate(spec.promotion, candidate, current_metrics)
            if not result.passed:
                names = gate_metric_names(spec.promotion)
                text = (
                    f"{step.address} keeps serving {serving.rsplit('/', 1)[-1]}; candidate "
                    f"{target.rsplit('/', 1)[-1]} held back: "
                    + "; ".join(result.failures)
                    + " ["
                    + "; ".join(result.side_by_side(names))
                    + "]"
                )
                with self._lock:
                    self._held[step.key] = text
                self._emit(step, EventKind.NOTE, message=text)
                return serving
        if update_status in JOB_IN_PROGRESS:  # another update is running: let it finish first
            self._wait(step, read, {"ACTIVE"}, {"CREATE FAILED"}, typical, failure=failure)
        self._mark(step, True)
        self._update_call(
            step, handler, arn, "update_campaign", {"campaignArn": arn, "solutionVersionArn": target}
        )
        self._wait(step, read, {"ACTIVE"}, {"CREATE FAILED"}, typical, failure=failure)
        return target

    def _update_call(
        self, step: Step, handler: ResourceHandler, arn: str, operation: str, request: Mapping[str, Any]
    ) -> None:
        """Update*; a ResourceInUseException because an update is already running (typically our own call,
        retried by botocore after its answer was lost) is not an error: the caller waits for that update."""
        try:
            self.api.call(operation, str(step.address), **request)
        except ApiError as exc:
            if exc.code != "ResourceInUseException" or not handler.ops.update_summary_key:
                raise
            current = self.api.describe(handler, arn) or {}
            summary = current.get(handler.ops.update_summary_key)
            status = normalize_status(str(summary.get("status"))) if isinstance(summary, Mapping) else ""
            if status not in JOB_IN_PROGRESS:
                raise

    # -- work an earlier apply left running ------------------------------------------------------------

    def _wait_in_progress(self, step: Step) -> None:
        """Wait for trainings, imports, creates and updates already running on this resource."""
        handler = handler_for(step.address.kind)
        arn = step.change.arn
        assert arn is not None
        self._mark(step, False)
        if handler.kind is Kind.SOLUTION:
            for version in self.api.solution_versions(arn, with_tags=False):
                if normalize_status(version.status) in VERSION_IN_PROGRESS:
                    self._wait_version(
                        step, version.arn, TYPICAL_TRAINING.get(version.training_mode or "FULL", 2700)
                    )
                    with self._lock:
                        self._versions[step.address.name] = version.arn
        current = self.api.describe(handler, arn)
        if current is not None:
            self._settle(step, handler, arn, current)

    def _wait_version(self, step: Step, arn: str, typical: float) -> None:
        self._wait_job(step, "describe_solution_version", "solutionVersion", arn, VERSION_FAILED, typical)

    # -- delete ----------------------------------------------------------------------------------------

    def _delete(self, step: Step) -> None:
        handler = handler_for(step.address.kind)
        self._mark(step, False)
        arn = step.change.arn
        if arn is None:
            live = self.live.resources.get(step.address)
            arn = live.arn if live is not None else None
        if arn is None:
            return  # never existed
        current = self.api.describe(handler, arn)
        if current is None:
            return  # already gone
        status = normalize_status(str(current.get("status") or "ACTIVE"))
        if handler.kind is Kind.SOLUTION and not status.startswith("DELETE"):
            serving = [
                str(c.get("name"))
                for c in self.api.paginate(
                    "list_campaigns", "campaigns", f"campaigns of {arn}", solutionArn=arn
                )
                if not str(c.get("status", "")).startswith("DELETE")
            ]
            if serving:
                raise StepFailed(
                    f"{step.address}: not deleted, campaign(s) {', '.join(sorted(serving))} still serve one "
                    "of its versions; it is deleted by a later apply once they moved"
                )
        if not status.startswith("DELETE"):
            self._stop_in_flight(step, handler, arn, current)
            typical = TYPICAL_DELETE
            attempts = 0
            while True:
                try:
                    self._mark(step, True)
                    self.api.delete(handler, arn, f"{step.address} ({arn})")
                    break
                except ApiError as exc:
                    attempts += 1
                    if exc.code == "ResourceInUseException":
                        again = self.api.describe(handler, arn)
                        if again is None or str(again.get("status", "")).startswith("DELETE"):
                            break  # already being deleted (a retried call whose first answer was lost)
                    if exc.code != "ResourceInUseException":
                        raise StepFailed(f"{step.address}: {exc.message}") from exc
                    if attempts > DELETE_IN_USE_RETRIES:  # blockers are read at plan time: this is not one
                        raise StepFailed(
                            f"{step.address}: still in use after {attempts} attempts ({exc.message}); plan "
                            "again: the plan names what blocks the delete and what to do"
                        ) from exc
                    if self.deadline is not None and self.clock.now() >= self.deadline:
                        raise StillRunning("waiting for dependents to go") from exc
                    wait = min(typical * attempts / 4, 300)
                    cancellation.pause(self.clock, self.cancel, wait, "waiting for dependents to go")
        self._wait_gone(step, handler, arn)
        with self._lock:
            if self._arns.get(step.address) == arn:
                del self._arns[step.address]

    def _stop_in_flight(
        self, step: Step, handler: ResourceHandler, arn: str, current: Mapping[str, Any]
    ) -> None:
        """Stop trainings (StopSolutionVersionCreation); wait for imports, creates and updates to settle."""
        if handler.kind is Kind.SOLUTION:
            for version in self.api.solution_versions(arn, with_tags=False):
                if normalize_status(version.status) not in VERSION_IN_PROGRESS:
                    continue
                version_arn = version.arn
                if normalize_status(version.status) != "CREATE STOPPING":
                    try:
                        self.api.call(
                            "stop_solution_version_creation", version_arn, solutionVersionArn=version_arn
                        )
                    except ApiError as exc:
                        if exc.code not in ("ResourceInUseException", "ResourceNotFoundException"):
                            raise

                def read_version(version_arn: str = version_arn) -> str | None:
                    try:
                        found = self.api.call(
                            "describe_solution_version", version_arn, solutionVersionArn=version_arn
                        )
                    except ApiError as exc:
                        if exc.code == "ResourceNotFoundException":
                            return None
                        raise
                    return str(found["solutionVersion"].get("status", ""))

                self._wait(
                    step,
                    read_version,
                    {"CREATE STOPPED", "ACTIVE", "CREATE FAILED", GONE},
                    set(),
                    TYPICAL_STOP,
                    long_running=False,
                )
        self._settle(step, handler, arn, current)

    def _settle(self, step: Step, handler: ResourceHandler, arn: str, current: Mapping[str, Any]) -> None:
        """Wait until the resource is in a settled status with no update running."""
        if handler.kind is Kind.DATASET:
            for job in self.api.import_jobs(arn):
                if normalize_status(job.status) in JOB_IN_PROGRESS:
                    self._wait_import(step, job.arn)
        status = normalize_status(str(current.get("status") or "ACTIVE"))
        summary_key = handler.ops.update_summary_key
        summary = current.get(summary_key) if summary_key else None
        updating = (
            isinstance(summary, Mapping) and normalize_status(str(summary.get("status"))) in JOB_IN_PROGRESS
        )
        if status not in SETTLED or updating:
            read, _ = self._status_reader(handler, arn, summary_key if updating else None)
            settled = SETTLED | {GONE} | {normalize_status(s) for s in handler.failed}
            self._wait(step, read, settled, set(), TYPICAL_CREATE.get(handler.kind, 60))


class _CancellableClock:
    """A real clock whose sleeps end early when apply is interrupted (Ctrl-C)."""

    def __init__(self, base: Clock, cancel: threading.Event) -> None:
        self.base = base
        self.cancel = cancel

    def now(self) -> float:
        return self.base.now()

    def sleep(self, seconds: float) -> None:
        if self.cancel.is_set() or seconds <= 0:
            return
        scale = getattr(self.base, "scale", None)
        if type(self.base).__name__ in ("SystemClock", "ScaledClock"):
            self.cancel.wait(seconds / float(scale) if scale else seconds)
        else:
            self.base.sleep(seconds)


def apply_plan(
    plan: Plan,
    desired: DesiredState,
    live: LiveState,
    *,
    personalize: Any,
    clock: Clock,
    s3: Any | None = None,
    region: str | None = None,
    account_id: str | None = None,
    reporter: Reporter | None = None,
    options: ApplyOptions | None = None,
) -> ApplyReport:
    """Run `plan` (computed from `desired` and `live`) against the account behind `personalize`.

    Refuses a plan with errors (`PlanError`) before any call. Never raises for a failed step: failures,
    skipped steps, held-back promotions and work still running are in the returned `ApplyReport`
    (`report.exit_code`: 0 done, 1 failed, 3 still running). The caller closes `reporter`.
    """
    if plan.errors:
        raise PlanError(
            "The plan is refused, nothing was applied:\n" + "\n".join(f"  {e}" for e in plan.errors),
            hint="fix the manifests or pass the flag the message names (for example --allow-data-loss)",
        )
    executor = Executor(
        plan,
        desired,
        live,
        personalize=personalize,
        clock=clock,
        s3=s3,
        region=region,
        account_id=account_id,
        reporter=reporter,
        options=options,
    )
    return executor.run()
