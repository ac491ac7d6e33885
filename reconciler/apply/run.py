"""The whole apply, around the executor: account guard, stack lock, fresh or saved plan (staleness check),
confirmation, execution, the "continue what is still running" rounds, outputs.

`run_apply(...)` is what the CLI calls; every collaborator that touches AWS is injected (`read_live`,
`make_plan`), so tests can drive it with the emulator.

Rounds: when the plan contains work that an earlier apply left running (a training, an import, a campaign
update: `Change.in_progress`), this apply waits for it and then plans again, so what follows from it (the
promotion of the freshly trained version) happens in the same run. At most `MAX_ROUNDS` rounds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from reconciler.apply.executor import ApplyOptions, apply_plan
from reconciler.apply.graph import Outcome
from reconciler.apply.lock import StackLock
from reconciler.apply.outputs import collect_outputs, outputs_path, publish_ssm, write_outputs_file
from reconciler.apply.progress import Reporter
from reconciler.apply.report import ApplyReport
from reconciler.apply.waiter import Clock
from reconciler.errors import PlanError, StalePlanError, TargetError
from reconciler.model.state import DesiredState, LiveState
from reconciler.plan.types import Plan

MAX_ROUNDS = 3


class TargetLike(Protocol):
    personalize: Any
    s3: Any
    ssm: Any
    clock: Clock
    region: str

    def account_id(self) -> str: ...


@dataclass
class ApplyResult:
    plan: Plan
    """The (first) plan that was applied."""
    reports: list[ApplyReport] = field(default_factory=list)
    outputs_file: str | None = None
    ssm_written: int = 0
    cancelled: bool = False
    broke_lock_of: str | None = None

    @property
    def report(self) -> ApplyReport | None:
        return self.reports[-1] if self.reports else None

    @property
    def exit_code(self) -> int:
        if self.cancelled:
            return 1
        codes = [r.exit_code for r in self.reports]
        if 1 in codes:
            return 1
        return codes[-1] if codes else 0

    def summary(self) -> ApplyReport | None:
        """One report merging every round (steps, held-back promotions, calls)."""
        if not self.reports:
            return None
        merged = ApplyReport(stack=self.reports[0].stack, started=self.reports[0].started)
        for r in self.reports:
            merged.steps.extend(r.steps)
            merged.held_back.extend(r.held_back)
            merged.mutating_calls += r.mutating_calls
            merged.describe_calls += r.describe_calls
            merged.notes.extend(r.notes)
        merged.finished = self.reports[-1].finished
        # a later round finishing what an earlier one left running supersedes its RUNNING/PENDING steps
        if len(self.reports) > 1 and self.reports[-1].exit_code == 0:
            merged.steps = [s for s in merged.steps if s.outcome not in (Outcome.RUNNING, Outcome.PENDING)]
        merged.outputs_file = self.outputs_file
        return merged


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


def check_saved_plan(saved: Plan, desired: DesiredState, fresh: Plan) -> None:
    """Raise StalePlanError when the manifests or any live resource changed since `saved` was made."""
    problems: list[str] = []
    if saved.stack != desired.stack.name:
        problems.append(f"it was made for stack {saved.stack!r}, not {desired.stack.name!r}")
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
    make_plan: Callable[[LiveState], Plan],
    reporter: Reporter | None = None,
    options: ApplyOptions | None = None,
    saved_plan: Plan | None = None,
    confirm: Callable[[Plan], bool] | None = None,
    break_lock: bool = False,
    lock_owner: str | None = None,
    on_plan: Callable[[Plan], None] | None = None,
) -> ApplyResult:
    """Apply `desired` to `target`. Raises ReconcilerErrors for refusals (account, lock, stale plan, plan
    errors); failures of individual steps are in the result (`exit_code` 1/3)."""
    options = options or ApplyOptions()
    check_account(desired, target)
    lock = StackLock(target.ssm, desired.stack.name, now=target.clock.now(), owner=lock_owner)
    broke: str | None = None
    if break_lock:
        previous = lock.break_lock()
        broke = str(previous.get("owner")) if previous else None
    with lock:
        if lock.took_over_from is not None:
            broke = f"{lock.took_over_from} (its process is gone)"
        live = read_live()
        plan = make_plan(live)
        if saved_plan is not None:
            check_saved_plan(saved_plan, desired, plan)
            plan = replace(saved_plan, live_fingerprints=plan.live_fingerprints)
        if on_plan is not None:
            on_plan(plan)
        if plan.errors:
            raise PlanError(
                "The plan is refused, nothing was applied:\n" + "\n".join(f"  {e}" for e in plan.errors),
                hint="fix the manifests, or allow it explicitly (the message names the setting or flag)",
            )
        result = ApplyResult(plan=plan, broke_lock_of=broke)
        if not plan.has_changes and not _has_running_work(plan):
            _write_outputs(result, desired, target, live)
            return result
        if confirm is not None and not confirm(plan):
            result.cancelled = True
            return result
        current_plan, current_live = plan, live
        for round_number in range(1, MAX_ROUNDS + 1):
            round_options = options
            if options.timeout is not None and result.reports:
                spent = sum(r.makespan for r in result.reports)
                round_options = replace(options, timeout=max(options.timeout - spent, 0.0))
            report = apply_plan(
                current_plan,
                desired,
                current_live,
                personalize=target.personalize,
                clock=target.clock,
                s3=target.s3,
                region=target.region,
                account_id=target.account_id(),
                reporter=reporter,
                options=round_options,
            )
            result.reports.append(report)
            if report.exit_code != 0 or round_number == MAX_ROUNDS or not _has_running_work(current_plan):
                break
            # Work left running by an earlier apply finished: plan again for what follows from it.
            current_live = read_live()
            current_plan = make_plan(current_live)
            if current_plan.errors or not current_plan.has_changes:
                break
        final_live = read_live()
        _write_outputs(result, desired, target, final_live)
        return result


def _write_outputs(result: ApplyResult, desired: DesiredState, target: TargetLike, live: LiveState) -> None:
    outputs = collect_outputs(desired, live)
    path = outputs_path(desired)
    write_outputs_file(outputs, path)
    result.outputs_file = str(path)
    prefix = desired.stack.settings.outputs.ssmPrefix
    if prefix:
        result.ssm_written = publish_ssm(target.ssm, outputs, prefix)
