"""The serving flow (handlers with `data_flow == "promote"`: campaigns). PROMOTE to a newer solution
version when the promotion gate passes (else NOOP HELD_BACK), follow a pinned `solutionVersion`, move to the
first version of a solution replaced create-before-destroy, or to the version training now or trained by
this plan."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from reconciler.model.address import Address
from reconciler.model.spec import CampaignSpec, PromotionGate
from reconciler.model.state import DesiredResource, LiveResource, LiveSolutionVersion
from reconciler.plan.context import newest_active_version
from reconciler.plan.core import Decision, Planner
from reconciler.plan.gate import evaluate_gate
from reconciler.plan.types import Action, PromotePayload, Reason, ReplaceOrder
from reconciler.resources.base import norm_status
from reconciler.resources.campaign import pinned_version_arn, syncs_with_latest
from reconciler.resources.solution import VERSION_IN_PROGRESS


def gate_check(
    gate: PromotionGate | None, candidate: Mapping[str, float], serving: Mapping[str, float] | None
) -> tuple[bool, list[str]]:
    """(passes, explanations). No gate: passes. Missing metrics fail the check they are needed for."""
    result = evaluate_gate(gate, candidate, serving)
    return result.passed, list(result.failures)


def _fmt_metrics(metrics: Mapping[str, float]) -> str:
    if not metrics:
        return "(no metrics)"
    return ", ".join(f"{k}={v:.4g}" for k, v in sorted(metrics.items()))


def _short(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def solution_of(p: Planner, res: DesiredResource) -> Address:
    spec = res.spec
    assert isinstance(spec, CampaignSpec)
    return Address(p.handler(res.address).references["solution"], spec.solution)


def create_version_note(p: Planner, res: DesiredResource) -> str | None:
    """Which version a campaign created now serves; a pin to a version that does not exist is refused."""
    spec = res.spec
    assert isinstance(spec, CampaignSpec)
    if spec.solutionVersion:
        sol_live = p.live.resources.get(solution_of(p, res))
        versions = sol_live.versions if sol_live is not None else ()
        pinned = pinned_version_arn(spec, p.ctx) if sol_live is not None else None
        if pinned is None or not any(v.arn == pinned for v in versions):
            p.errors.append(
                f"{res.address}: spec.solutionVersion {spec.solutionVersion!r} is not a version of "
                f"Solution/{spec.solution}; remove the pin until the solution has trained"
            )
        return f"pinned version {spec.solutionVersion}"
    if not syncs_with_latest(spec):
        return f"newest ACTIVE version of Solution/{spec.solution}"
    return None


def plan_promote(p: Planner, res: DesiredResource, lv: LiveResource | None, decision: Decision) -> None:
    spec = res.spec
    assert isinstance(spec, CampaignSpec)
    if syncs_with_latest(spec):
        if decision.action is not Action.CREATE:
            p.annotate_notes(
                res.address, ["follows the newest solution version (syncWithLatestSolutionVersion)"]
            )
        return
    if lv is None or decision.action not in (Action.NOOP, Action.UPDATE):
        return
    ours = p.changes_of(res.address)
    if any(c.in_progress for c in ours):
        return
    if decision.action is Action.UPDATE and any(f.path == "solution" for c in ours for f in c.field_changes):
        return  # repointed to another solution by the update
    serving = str(lv.fields.get("solutionVersionArn") or "")
    solution = solution_of(p, res)
    if spec.solutionVersion:
        plan_pinned(p, res, lv, serving, solution)
        return
    if not follow_solution_work(p, res, lv, serving, solution):
        promote_newest(p, res, lv, serving, solution)


def follow_solution_work(
    p: Planner, res: DesiredResource, lv: LiveResource, serving: str, solution: Address
) -> bool:
    """Promotions after work planned on the solution (a replacement, a training running or planned now).
    True when the solution has such work (so the versions read now are not the ones to promote to)."""
    spec = res.spec
    assert isinstance(spec, CampaignSpec)
    sol_decision = p.decisions.get(solution)
    if sol_decision is None:
        return False
    if sol_decision.action is Action.REPLACE:
        if sol_decision.order is ReplaceOrder.CREATE_BEFORE_DESTROY:
            note = (
                f"moves to the first version of {sol_decision.new_name} "
                "(not gated: the manifests changed the solution)"
            )
            payload = PromotePayload(
                solution=spec.solution,
                solution_version_arn=None,
                from_arn=serving,
                solution_name=sol_decision.new_name,
                gated=False,
            )
            add_promote(p, res, lv, solution, Reason.REPLACEMENT, (note,), payload)
        return True
    if sol_decision.training:
        plan_promote_running(p, res, lv, solution, serving, sol_decision.training)
        return True
    if not sol_decision.retrain:
        return False
    gate = spec.promotion.model_dump() if spec.promotion else None
    note = "promoted to the new version once trained" + (", if it passes the promotion gate" if gate else "")
    payload = PromotePayload(
        solution=spec.solution, solution_version_arn=None, from_arn=serving, gate=gate, gated=bool(gate)
    )
    add_promote(p, res, lv, solution, Reason.NEW_VERSION, (note,), payload)
    return True


def promote_newest(
    p: Planner, res: DesiredResource, lv: LiveResource, serving: str, solution: Address
) -> None:
    """The newest ACTIVE version if newer than the serving one and it passes the gate (else held back)."""
    spec = res.spec
    assert isinstance(spec, CampaignSpec)
    sol_live = p.live.resources.get(solution)
    if sol_live is None:
        return
    versions = {v.arn: v for v in sol_live.versions}
    newest = newest_active_version(sol_live)
    if newest is None or newest == serving:
        return
    candidate: LiveSolutionVersion = versions[newest]
    current = versions.get(serving)
    if current is not None and current.created >= candidate.created:
        return
    serving_metrics = dict(current.metrics) if current else {}
    passes, failures = gate_check(spec.promotion, candidate.metrics, serving_metrics if serving else None)
    metrics_notes = (
        f"new version {_short(candidate.arn)}: {_fmt_metrics(candidate.metrics)}",
        f"serving version {_short(serving) or '-'}: {_fmt_metrics(serving_metrics)}",
    )
    payload = PromotePayload(
        solution=spec.solution,
        solution_version_arn=candidate.arn,
        from_arn=serving,
        metrics=dict(candidate.metrics),
        serving_metrics=serving_metrics,
        gated=spec.promotion is not None,
        gate=spec.promotion.model_dump(mode="json") if spec.promotion is not None else None,
    )
    if passes:
        add_promote(p, res, lv, solution, Reason.NEW_VERSION, metrics_notes, payload)
    else:
        hold_back(p, res, lv, (*failures, *metrics_notes), payload)


def hold_back(
    p: Planner, res: DesiredResource, lv: LiveResource, notes: tuple[str, ...], payload: PromotePayload
) -> None:
    """The gate failed: the campaign's NOOP says HELD_BACK, why, and what it would have promoted."""
    for i in p.positions_of(res.address):
        change = p.changes[i]
        if change.address == res.address and change.action is Action.NOOP:
            p.changes[i] = replace(
                change, reasons=(Reason.HELD_BACK,), notes=(*change.notes, *notes), payload=payload
            )
            return
    p.add_live(res.address, Action.NOOP, lv, (Reason.HELD_BACK,), notes=notes, payload=payload)


def plan_promote_running(
    p: Planner, res: DesiredResource, lv: LiveResource, solution: Address, serving: str, version: str
) -> None:
    """A conditional step: the version already training is promoted once it is ACTIVE, if it passes the
    gate (apply waits for the training first; a failed training skips the promotion)."""
    spec = res.spec
    assert isinstance(spec, CampaignSpec)
    if version == serving:
        return
    note = f"promoted to {_short(version)} (training now) once it is ACTIVE"
    add_promote(
        p,
        res,
        lv,
        solution,
        Reason.NEW_VERSION,
        (note + (", if it passes the promotion gate" if spec.promotion else ""),),
        PromotePayload(
            solution=spec.solution,
            solution_version_arn=version,
            from_arn=serving,
            gate=spec.promotion.model_dump() if spec.promotion else None,
            gated=spec.promotion is not None,
        ),
    )


def plan_pinned(p: Planner, res: DesiredResource, lv: LiveResource, serving: str, solution: Address) -> None:
    """A campaign pinned to `solutionVersion` serves exactly that version: moved there when it serves
    another one (not gated: the manifests name the version), never promoted automatically."""
    spec = res.spec
    assert isinstance(spec, CampaignSpec)
    pinned = pinned_version_arn(spec, p.ctx)
    if pinned is None or pinned == serving:
        if pinned is not None:
            p.annotate_notes(res.address, [f"pinned to version {_short(pinned)}"])
        return
    sol_live = p.live.resources.get(solution)
    version = next((v for v in (sol_live.versions if sol_live else ()) if v.arn == pinned), None)
    status = norm_status(version.status) if version else ""
    if version is None or status not in ("ACTIVE", *VERSION_IN_PROGRESS):
        what = "does not exist" if version is None else f"is {status}"
        p.errors.append(
            f"{res.address}: spec.solutionVersion {spec.solutionVersion!r} {what} in {solution}; "
            "pin an ACTIVE version (see `plan` notes or list-solution-versions) or remove the pin"
        )
        return
    note = (
        f"moves to the pinned version {_short(pinned)} (serving "
        f"{_short(serving) or '-'}; not gated: the manifests name the version)"
    )
    payload = PromotePayload(
        solution=spec.solution, solution_version_arn=pinned, from_arn=serving, gated=False, pinned=True
    )
    add_promote(p, res, lv, solution, Reason.REQUESTED, (note,), payload)


def add_promote(
    p: Planner,
    res: DesiredResource,
    lv: LiveResource,
    solution: Address,
    reason: Reason,
    notes: tuple[str, ...],
    payload: PromotePayload,
) -> None:
    """A PROMOTE of the campaign `res` (live `lv`), after whatever is planned for its `solution`."""
    p.add_live(
        res.address,
        Action.PROMOTE,
        lv,
        (reason,),
        depends_on=p.depends([solution]),
        notes=notes,
        payload=payload,
    )
