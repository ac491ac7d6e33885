"""The whole apply, around the executor: account guard, stack lock, fresh or saved plan (staleness check),
confirmation, execution of exactly that plan, the check afterwards, outputs.

`run_apply(...)` is what the CLI calls; the live reader is injected (`read_live`), so tests can drive it with
the emulator; plans are made here, from `plan_options` (the one set of options plan and apply share).

Only the reviewed plan runs. Work that follows from waiting (promote a version once its training finishes and
passes the gate, train once a running import finishes, delete the old half of a replacement once its campaign
moved) is planned up front as steps that depend on the wait. Apply never plans a second round: after the
plan's steps it reads the account once more (for the outputs) and plans again only to COMPARE. Anything that
later plan contains (a filter deleted outside git while apply waited, a version trained by someone else) is
reported as "the account changed: plan again" and exit code 5 (`ACCOUNT_CHANGED_EXIT`), never applied.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from reconciler.apply.data import requested_trainings
from reconciler.apply.executor import ApplyOptions, apply_plan
from reconciler.apply.lock import StackLock, lost_lock_note
from reconciler.apply.outputs import collect_outputs, outputs_path, publish_ssm, write_outputs_file
from reconciler.apply.progress import Reporter
from reconciler.apply.report import ApplyReport
from reconciler.apply.waiter import Clock
from reconciler.errors import ACCOUNT_CHANGED_EXIT as ACCOUNT_CHANGED_EXIT
from reconciler.errors import PlanError, StalePlanError, TargetError
from reconciler.model.state import DesiredState, LiveState
from reconciler.model.target import TargetIdentity
from reconciler.plan.planner import PlanOptions
from reconciler.plan.planner import plan as plan_changes
from reconciler.plan.types import Action, Plan


class TargetLike(Protocol):
    personalize: Any
    s3: Any
    ssm: Any
    clock: Clock
    region: str

    def account_id(self) -> str: ...

    def identity(self) -> TargetIdentity: ...


@dataclass
class ApplyResult:
    plan: Plan
    """The plan that was applied (the reviewed one)."""
    report: ApplyReport | None = None
    outputs_file: str | None = None
    outputs_error: str | None = None
    """The outputs file could not be written (the changes were applied): apply exits 1 and says why."""
    ssm_written: int = 0
    cancelled: bool = False
    broke_lock_of: str | None = None
    lock_lost: bool = False
    """Another apply took the stack lock over during this one (our lease had expired): apply stopped."""
    unplanned: list[str] = field(default_factory=list)
    """Changes a plan made after apply would need that the applied plan did not contain (not applied)."""

    @property
    def exit_code(self) -> int:
        if self.cancelled or self.lock_lost:
            return 1
        code = self.report.exit_code if self.report is not None else 0
        if code == 0 and self.unplanned:
            return ACCOUNT_CHANGED_EXIT
        if code == 0 and self.outputs_error:
            return 1
        return code

    def summary(self) -> ApplyReport | None:
        """The report of the applied plan (its notes end with the "account changed" lines, if any)."""
        return self.report


def account_changed_lines(unplanned: list[str]) -> list[str]:
    return [
        "the account changed: plan again. A plan made after this apply wants changes the applied plan did "
        "not contain; they were NOT made:",
        *(f"  {line}" for line in unplanned),
    ]


def check_account(desired: DesiredState, target: TargetLike) -> str:
    """Refuse to touch an account other than the stack's `accountId`."""
    account = target.account_id()
    expected = desired.stack.settings.accountId
    if expected and expected != account:
        raise TargetError(
            f"stack {desired.stack.name!r} ({desired.stack.source}) expects AWS account {expected}, but the "
            f"credentials are for account {account}; nothing was changed",
            hint="use the credentials/profile of the right account, or fix spec.accountId in the stack file",
        )
    return account


def target_problems(saved: Plan, fresh: Plan) -> list[str]:
    """Why `saved` may not run against the target `fresh` was made for, compared on the structured
    `target_identity` (account, region, partition, endpoint, `--local` state file), never on the display
    label. Nothing to compare when the fresh plan has no identity (`run_apply` always gives it one); a saved
    plan without one (format 3.0) is refused: it does not say what it was made for."""
    now = fresh.target_identity
    if now is None:
        return []
    made = saved.target_identity
    if made is None:
        return [
            "it does not record which account, region and endpoint it was made for (no target_identity: plan "
            "files of format_version 3.0 predate it), so it cannot be checked against "
            f"{fresh.target or 'this target'}"
        ]
    differences = made.differences(now)
    if not differences:
        return []
    made_for = ", and for ".join(differences)
    return [f"it was made for {made_for} (planned against {saved.target}; now {fresh.target})"]


def check_saved_target(saved: Plan, now: PlanOptions) -> None:
    """Raise StalePlanError when `saved` was made for another target than `now.target_identity` (the target
    apply is about to change): run before the stack lock is taken, so nothing is written to that target."""
    wrong = target_problems(saved, replace(saved, target=now.target, target_identity=now.target_identity))
    if wrong:
        raise StalePlanError(
            "Saved plan is stale: "
            + "; ".join(wrong)
            + ". Nothing was changed (the stack lock was not taken).",
            hint="run `personalize-gitops plan --out PLANFILE` again against this target, or apply the plan "
            "with the target options it was made with",
        )


def check_saved_plan(saved: Plan, desired: DesiredState, fresh: Plan) -> None:
    """Raise StalePlanError when `saved` was made for another stack or target (account, region, partition,
    endpoint, `--local` state file: `target_problems`), or the manifests or any live resource changed since
    it was made."""
    problems: list[str] = []
    if saved.stack != desired.stack.name:
        problems.append(f"it was made for stack {saved.stack!r}, not {desired.stack.name!r}")
    problems += target_problems(saved, fresh)
    if saved.manifests_digest != desired.digest:
        problems.append("the manifests changed since it was made")
    old, new = dict(saved.live_fingerprints), dict(fresh.live_fingerprints)
    changed = sorted(a for a in set(old) | set(new) if old.get(a) != new.get(a))
    if changed:
        shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
        problems.append(f"live resources changed since it was made: {shown}")
    if problems:
        raise StalePlanError(
            "Saved plan is stale: " + "; ".join(problems) + ". Nothing was changed.",
            hint="run `personalize-gitops plan --out PLANFILE` again and apply the new plan",
        )


def _has_running_work(plan: Plan) -> bool:
    return any(c.in_progress for c in plan.changes)


def run_apply(
    desired: DesiredState,
    target: TargetLike,
    *,
    read_live: Callable[[], LiveState],
    plan_options: PlanOptions | None = None,
    reporter: Reporter | None = None,
    options: ApplyOptions | None = None,
    saved_plan: Plan | None = None,
    confirm: Callable[[Plan], bool] | None = None,
    break_lock: bool = False,
    lock_owner: str | None = None,
    on_plan: Callable[[Plan], None] | None = None,
    check_plan: Callable[[Plan], Plan] | None = None,
    on_lock: Callable[[StackLock], None] | None = None,
) -> ApplyResult:
    """Apply `desired` to `target`. Raises ReconcilerErrors for refusals (account, lock, stale plan, plan
    errors); failures of individual steps are in the result (`exit_code` 1/3). `check_plan` adds what the
    plan command's read-only checks find (preflight) to a fresh plan, before it is shown and confirmed; a
    saved plan already carries the findings of the plan that wrote it. `on_lock` gets the stack lock before
    it is taken (after Ctrl-C the CLI reports what became of it: `lock.interrupted_note`)."""
    options = options or ApplyOptions()
    plan_options = plan_options or PlanOptions()
    check_account(desired, target)
    # the target this apply changes, as a saved plan is compared on (never the label)
    plan_options = replace(plan_options, target_identity=target.identity())
    if saved_plan is not None:  # the reviewed plan's own options (target: the account read now)
        plan_options = replace(
            saved_plan.options, target=plan_options.target, target_identity=plan_options.target_identity
        )
        check_saved_target(saved_plan, plan_options)  # before anything is written there, the lock included
    lock = StackLock(target.ssm, desired.stack.name, clock=target.clock, owner=lock_owner)
    if on_lock is not None:  # the CLI says after Ctrl-C whether the lock was taken and released
        on_lock(lock)
    broke: str | None = None
    if break_lock:
        previous = lock.break_lock()
        broke = previous.describe(target.clock.now()) if previous else None
    lost = threading.Event()
    lock.on_lost = lambda _lease: lost.set()  # a renewal found a newer epoch: stop the executor
    run = _Run(desired, target, read_live, plan_options, replace(options, cancel=lost), lock, check_plan)
    with lock:
        if lock.took_over is not None:
            broke = f"{lock.took_over.describe(target.clock.now())}: its lease expired, taken over"
        # what `--retrain` asked of an apply that did not complete: the plan continues those trainings
        live = replace(read_live(), interrupted=lock.interrupted())
        plan = run.reviewed_plan(live, saved_plan, on_plan)
        result = ApplyResult(plan=plan, broke_lock_of=broke)
        if not plan.has_changes and not _has_running_work(plan):
            _write_outputs(result, desired, target, live)
            lock.complete()
            return result
        if confirm is not None and not confirm(plan):
            result.cancelled = True
            return result
        lock.record_run(requested_trainings(desired.stack.name, plan, live))
        return run.execute(result, live, reporter)


@dataclass
class _Run:
    """One apply under the stack lock: the plan that runs, its execution and the check afterwards."""

    desired: DesiredState
    target: TargetLike
    read_live: Callable[[], LiveState]
    plan_options: PlanOptions
    options: ApplyOptions
    lock: StackLock
    check_plan: Callable[[Plan], Plan] | None = None

    def reviewed_plan(
        self, live: LiveState, saved_plan: Plan | None, on_plan: Callable[[Plan], None] | None
    ) -> Plan:
        """A fresh plan, or the saved one when it is still what this account needs; refused with errors."""
        plan = plan_changes(self.desired, live, self.plan_options)
        if saved_plan is not None:
            check_saved_plan(saved_plan, self.desired, plan)
            plan = replace(saved_plan, live_fingerprints=plan.live_fingerprints)
        elif self.check_plan is not None:
            plan = self.check_plan(plan)
        if on_plan is not None:
            on_plan(plan)
        if plan.errors:
            raise PlanError(
                "The plan is refused, nothing was applied:\n" + "\n".join(f"  {e}" for e in plan.errors),
                hint="fix the manifests, or allow it explicitly (the message names the setting or flag)",
            )
        return plan

    def execute(self, result: ApplyResult, live: LiveState, reporter: Reporter | None) -> ApplyResult:
        target = self.target
        result.report = apply_plan(
            result.plan,
            self.desired,
            live,
            personalize=target.personalize,
            clock=target.clock,
            s3=target.s3,
            region=target.region,
            account_id=target.account_id(),
            reporter=reporter,
            options=self.options,
        )
        if self.lock.lost is not None:
            result.report.notes.append(lost_lock_note(self.lock.lost, target.clock.now()))
            result.lock_lost = True
            return result
        if result.report.exit_code == 0:
            self.lock.complete()  # the whole plan ran: the next --retrain trains again
        final_live = self.read_live()
        if result.report.exit_code == 0:
            # one-shot requests (--retrain) were part of the applied plan: the check plan does not repeat them
            check = plan_changes(self.desired, final_live, replace(self.plan_options, retrain=frozenset()))
            result.unplanned = unplanned_changes(check)
            result.report.notes.extend(account_changed_lines(result.unplanned) if result.unplanned else [])
        _write_outputs(result, self.desired, target, final_live)
        return result


def unplanned_changes(after: Plan) -> list[str]:
    """What a plan made after a complete apply still wants: one line per change (refusals included)."""
    lines = [
        f"{change.action.value} {change.address}"
        + (f" ({', '.join(r.value for r in change.reasons)})" if change.reasons else "")
        for change in after.changes
        if change.action is not Action.NOOP
    ]
    return lines + [f"refused: {error}" for error in after.errors]


def _write_outputs(result: ApplyResult, desired: DesiredState, target: TargetLike, live: LiveState) -> None:
    outputs = collect_outputs(desired, live)
    path = outputs_path(desired)
    try:
        write_outputs_file(outputs, path)
        result.outputs_file = str(path)
    except OSError as exc:
        result.outputs_error = (
            f"cannot write the outputs file {path} ({exc.strerror or exc}); nothing else failed: fix "
            f"spec.outputs.file of Stack/{desired.stack.name} (or the path's permissions) and run apply "
            "again to write it"
        )
    prefix = desired.stack.settings.outputs.ssmPrefix
    if prefix:
        result.ssm_written = publish_ssm(target.ssm, outputs, prefix)
