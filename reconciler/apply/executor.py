"""Execute a plan: the account converges to it, in parallel, safely, resumably.

`apply_plan(plan, desired, live, personalize=..., clock=...)` turns every change into one or two steps
(`steps.StepGraph`) and runs them as a dependency graph (`graph.GraphRunner`): each step starts as soon as
what it needs is ready and never waits for anything else (the seed's three trainings run at once).

Steps per action (the executor dispatches on the step's phase, never on reasons or kinds):

* create: re-read by name first; a leftover CREATE FAILED resource is deleted and created again; Create*
  sends the request the plan recorded, its ARN placeholders resolved (`crud`, `plan/requests.py`).
* update / adopt: re-read; Update* when something updatable differs; Start/Stop; Tag/Untag (`crud`).
* replace: destroy-before-create deletes, then creates under the same name; create-before-destroy creates
  under `new_physical_name`, then deletes the old one once everything depending on it moved over.
* import / retrain: `data`; promote: `promote`.
* delete: refuse while `handler.in_use_by` resources use it, stop or wait for its child jobs, delete, wait
  until gone (`crud`).

Level-based: every step re-reads the resource before acting, so rerunning apply after a crash, a timeout or
a failure continues where the last run stopped; "already exists" / "already gone" are handled in `api.py`.
Waits use `waiter.wait_for` with the injected clock; when `timeout` runs out (or with `no_wait`) a step whose
work is still running ends RUNNING and apply exits 3. Retries: `retry.py` (one rule).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reconciler.apply import cancel as cancellation
from reconciler.apply.graph import CoordinatedClock, GraphRunner, Node, NodeResult, Outcome, StepFailed
from reconciler.apply.progress import EventKind, Reporter, StepEvent
from reconciler.apply.promote import Promote
from reconciler.apply.report import ApplyReport, Phase, StepRecord
from reconciler.apply.runtime import ApplyOptions
from reconciler.apply.steps import Step, StepGraph
from reconciler.apply.waiter import Clock
from reconciler.errors import PlanError
from reconciler.model.state import DesiredState, LiveState
from reconciler.plan.types import Plan

__all__ = ["ApplyOptions", "Executor", "Step", "apply_plan"]

#: Outcome of a graph node -> the progress event that reports it.
EVENT_OF = {
    Outcome.DONE: EventKind.DONE,
    Outcome.FAILED: EventKind.FAILED,
    Outcome.SKIPPED: EventKind.SKIPPED,
    Outcome.RUNNING: EventKind.RUNNING,
    Outcome.PENDING: EventKind.SKIPPED,
}


class Executor(Promote):
    """One plan's steps, run as a graph (the step bodies live in the mixins: crud, data, promote, slots)."""

    def __init__(self, plan: Plan, desired: DesiredState, live: LiveState, **kwargs: Any) -> None:
        super().__init__(plan, desired, live, **kwargs)
        self._seed_versions()
        graph = StepGraph(plan, desired)
        self.steps: dict[str, Step] = graph.build()
        self._checked = graph.checked()
        self.step_values: dict[str, Any] = {}
        """What each finished step returned (the ARN it created, trained or imported)."""

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
        report.steps.extend(self._record(key, step, results[key]) for key, step in self.steps.items())
        report.held_back = [self._held[k] for k in sorted(self._held)]
        report.mutating_calls = self.api.mutating_calls
        report.describe_calls = sum(n for op, n in self.api.calls.items() if op.startswith("describe_"))
        return report

    def _record(self, key: str, step: Step, result: NodeResult) -> StepRecord:
        return StepRecord(
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

    def interrupt(self) -> None:
        """Stop waiting everywhere (Ctrl-C): running steps end RUNNING, nothing new is started."""
        self.cancel.set()
        if isinstance(self.clock, CoordinatedClock):
            self.clock.interrupt()

    def _on_result(self, key: str, result: NodeResult) -> None:
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
                step=self.steps[key].label,
                kind=EVENT_OF[result.outcome],
                at=self.clock.now(),
                status=result.status,
                elapsed=(result.finished or 0) - (result.started or 0) if result.started is not None else 0.0,
                message=message,
            )
        )

    def _method(self, phase: str) -> Callable[[Step], Any]:
        return {
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
        }[phase]

    def _runner(self, step: Step) -> Callable[[], Any]:
        def run() -> Any:
            cancellation.check(self.cancel)
            self._emit(step, EventKind.STARTED)
            if not step.change.allowed:
                notes = "; ".join(step.change.notes) or "refused by policy"
                raise StepFailed(f"{step.address}: change not allowed ({notes}); nothing was done")
            if step.key in self._checked:
                self._check_unchanged(step)
            try:
                return self._method(step.phase)(step)
            finally:
                self._release_slot(step)

        return run


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
