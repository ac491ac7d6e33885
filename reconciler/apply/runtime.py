"""The state and shared helpers every apply step uses: references (ARNs learned on the way), marks of the
work done, progress events, the plan's typed payloads and waits on the injected clock.

`Runtime` is the generic core the step modules build on (`crud`, `data`, `promote`, `slots`); what differs per
kind is read from the kind's handler (`resources/`), never branched on here.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from reconciler.apply.api import PersonalizeApi
from reconciler.apply.graph import CoordinatedClock, StepFailed, StillRunning, is_virtual_clock
from reconciler.apply.progress import EventKind, NullReporter, Reporter, StepEvent
from reconciler.apply.report import Phase
from reconciler.apply.steps import Step
from reconciler.apply.waiter import GONE, Clock, WaitFailed, WaitTimeout, normalize_status, wait_for
from reconciler.errors import ApiError
from reconciler.model.address import Address
from reconciler.model.state import DesiredResource, DesiredState, LiveState
from reconciler.plan.types import (
    AdoptPayload,
    CreatePayload,
    ImportPayload,
    Plan,
    PromotePayload,
    ReplaceOrder,
    ReplacePayload,
    TrainPayload,
    UpdatePayload,
)
from reconciler.resources.base import JobOps, RefContext, ResourceHandler
from reconciler.resources.registry import handler as handler_for

P = TypeVar(
    "P",
    CreatePayload,
    ReplacePayload,
    ImportPayload,
    TrainPayload,
    PromotePayload,
    UpdatePayload,
    AdoptPayload,
)


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


def short_hash(*parts: object, length: int = 10) -> str:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:length]


def job_name(base: str, suffix: str) -> str:
    return f"{base[: 62 - len(suffix)]}-{suffix}"


class Runtime:
    """What every step shares during one apply (see the module docstring)."""

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
        self._seed_arns()

    def _seed_arns(self) -> None:
        for address, res in self.live.resources.items():
            if not res.status.startswith("DELETE"):
                self._arns[address] = res.arn

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

    def _mark(self, step: Step, did_work: bool) -> None:
        with self._lock:
            self._did_work[step.key] = self._did_work.get(step.key, False) or did_work

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
                step.change.new_physical_name or f"{res.physical_name[:54]}-{short_hash(step.change.arn)[:8]}"
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
                seed=self.options.seed + int(short_hash(step.key, length=6), 16),
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
        typical = handler.typical_delete
        self._wait(step, read, {GONE}, {"DELETE FAILED"}, typical, long_running=False, failure=failure)

    def _locate(self, step: Step, handler: ResourceHandler, res: DesiredResource | None) -> str | None:
        arn = self._arn(step.address) or step.change.arn
        if arn is None and res is not None:
            arn = self._find(handler, res, step.change.physical_name or res.physical_name)
        return arn

    def _job_reader(self, jobs: JobOps, arn: str) -> tuple[Callable[[], str | None], dict[str, Any]]:
        """A status reader of one child job (None once it is gone) and the dict its last describe lands in."""
        last: dict[str, Any] = {}

        def read() -> str | None:
            try:
                found = self.api.call(jobs.describe, arn, **{jobs.describe_key + "Arn": arn})
            except ApiError as exc:
                if exc.code == "ResourceNotFoundException":
                    return None
                raise
            last.update(found.get(jobs.describe_key) or {})
            return str(last.get("status", ""))

        return read, last

    def _wait_job(self, step: Step, jobs: JobOps, arn: str, typical: float) -> None:
        """Wait until the child job or version `arn` is ACTIVE; its failed statuses end the step with its
        failureReason."""
        read, last = self._job_reader(jobs, arn)

        def reason() -> str:
            return str(last.get("failureReason") or "")

        def since() -> float | None:  # a job or training already running is timed from its own start
            created = last.get("creationDateTime")  # epoch seconds (`PersonalizeApi.call` converts datetimes)
            return float(created) if isinstance(created, int | float) else None

        self._wait(step, read, {"ACTIVE"}, jobs.failed, typical, failure=reason, since=since)


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
