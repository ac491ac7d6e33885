"""The PURE planner: `plan(desired, live, options) -> Plan`. No boto3, no clock, no I/O.

Decision table per desired resource (first matching row wins):

| live state                                 | action  | reasons                                  |
|--------------------------------------------|---------|------------------------------------------|
| absent                                     | CREATE  | NEW                                      |
| tagged by another stack                    | NOOP    | refused (plan error)                     |
| untagged name match (taggable kind)        | ADOPT   | UNMANAGED_NAME_MATCH (tags only)         |
| DELETE PENDING/IN_PROGRESS                 | CREATE  | NEW, waits for the deletion              |
| CREATE FAILED                              | REPLACE | FAILED                                   |
| CREATE PENDING/IN_PROGRESS, update running | NOOP    | IN_PROGRESS (never planned twice)        |
| a field that forces replacement differs    | REPLACE | IMMUTABLE_FIELD_CHANGED, DEPENDENCY_...  |
| only updatable fields (or tags) differ     | UPDATE  | FIELD_CHANGED or DRIFT                   |
| equal                                      | NOOP    |                                          |

Then, per kind, the work that is not a field: IMPORT for datasets (FIRST_IMPORT, SOURCE_CHANGED,
TRIGGER_CHANGED), RETRAIN for solutions (FIRST_VERSION, REQUESTED, TRIGGER_CHANGED, DATA_CHANGED, MAX_AGE,
REPLACEMENT) and
PROMOTE for campaigns (NEW_VERSION when the promotion gate passes, else NOOP HELD_BACK). Live resources of
this stack that are not in the manifests become DELETE (prune enabled) or NOOP PRUNE_DISABLED.

Drift: every create/update writes the digest of the desired comparable fields as the tag
`personalize-gitops:spec-digest`. When the digest of today's manifests equals that tag but live fields
differ, the manifests did not change: the difference was made outside git (reason DRIFT, FieldChange.drift).

Replacement order: names are unique per kind, so a replacement is destroy-before-create, except
* schemas: create-before-destroy under `<physical>-<6 hex of the new content>`, then datasets are repointed;
* a solution serving an ACTIVE campaign: create-before-destroy under `<physical>-<6 hex of the new config>`
  (the rule: base name truncated to fit 63 chars, a dash, the first 6 hex digits of the spec digest); the new
  solution is trained, the campaign promoted to it (ungated: the manifests asked for the new config), and only
  then is the old solution deleted, so the campaign never stops serving.

Several changes may share an address (CREATE then RETRAIN of a solution); they run in the listed order.
`Change.depends_on` names addresses whose changes must finish first. Non-delete changes are sorted in
dependency order (in rounds, `Planner.topo` with graphlib; ties broken by address), deletes afterwards in
reverse dependency order.

This module is the generic core: the decision table above, create and adopt. The rows live in focused
modules (`compare`, `replace`, `orphans`, `order`; the data flows `data` and `promote`, entered through the
handler's `data_flow`), and every kind-specific rule is a member of the kind's handler (the "plan rules" of
`resources.base.ResourceHandler`). No module here but the data flows knows a concrete kind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from reconciler.model.address import Address
from reconciler.model.state import TAG_STACK, DesiredResource, DesiredState, LiveResource, LiveState
from reconciler.plan import data, promote
from reconciler.plan.compare import plan_compare
from reconciler.plan.context import build_context
from reconciler.plan.core import Decision, Planner
from reconciler.plan.data import LEGACY_MD5_PREFIX, LOCAL_FILE_PREFIX, parse_duration
from reconciler.plan.order import finish
from reconciler.plan.orphans import SUPERSEDED_SEPARATOR, guard_empty, plan_orphan
from reconciler.plan.promote import gate_check
from reconciler.plan.replace import is_own_name, old_prefix, plan_replace, replacement_name
from reconciler.plan.requests import attach_requests
from reconciler.plan.types import (
    Action,
    AdoptPayload,
    Change,
    CreatePayload,
    FieldChange,
    Plan,
    PlanOptions,
    Reason,
)
from reconciler.resources.base import (
    DELETING,
    contract_fingerprint,
    desired_tags,
    field_differences,
    flatten,
    norm_status,
)

__all__ = [
    "LEGACY_MD5_PREFIX",
    "LOCAL_FILE_PREFIX",
    "SUPERSEDED_SEPARATOR",
    "PlanOptions",
    "gate_check",
    "is_own_name",
    "parse_duration",
    "plan",
    "replacement_name",
]


@dataclass(frozen=True)
class Flow:
    """A data-lifecycle flow, chosen by the handler's `data_flow`."""

    after: Callable[[Planner, DesiredResource, LiveResource | None, Decision], None]
    """Planned after the resource's own change (IMPORT, RETRAIN, PROMOTE)."""
    on_create: Callable[[Planner, DesiredResource], str | None] = lambda p, res: None
    """What a create says about the data it starts from (`CreatePayload.solution_version`)."""


FLOWS: dict[str, Flow] = {
    "import": Flow(data.plan_import),
    "train": Flow(data.plan_retrain),
    "promote": Flow(promote.plan_promote, promote.create_version_note),
}


def plan(desired: DesiredState, live: LiveState, options: PlanOptions | None = None) -> Plan:
    """Compare the manifests with the account and say exactly what apply would do. Pure."""
    options = options or PlanOptions()
    p = Planner(desired=desired, live=live, options=options, ctx=build_context(desired, live))
    p.graph = p.edges()
    order = p.topo(p.graph)
    for address in order:
        res = desired.resources.get(address)
        if res is not None:
            plan_desired(p, res)
    for address in order:
        if address not in desired.resources and address in live.resources:
            plan_orphan(p, address, live.resources[address])
    guard_empty(p)
    attach_requests(p)
    return finish(p, order)


def flow_of(p: Planner, address: Address) -> Flow | None:
    return FLOWS.get(p.handler(address).data_flow or "")


def plan_desired(p: Planner, res: DesiredResource) -> None:
    """The decision table (module docstring), then the resource's data flow."""
    address = res.address
    handler = p.handler(address)
    lv = p.live.resources.get(address)
    deps = p.depends(p.graph.get(address, set()))
    if lv is None:
        plan_create(p, res, deps, reasons=(Reason.NEW,))
        plan_flow(p, res, lv)
        return
    owner = lv.tags.get(TAG_STACK)
    status = norm_status(lv.status)
    if not lv.managed and owner and owner != p.stack:
        p.refuse(address, f"{lv.name} is owned by stack {owner!r}; remove it from one of the stacks")
        p.add_live(address, Action.NOOP, lv, allowed=False)
        p.decisions[address] = Decision(Action.NOOP)
    elif not lv.managed and handler.taggable:
        plan_adopt(p, res, lv)
    elif status in DELETING:
        plan_create(p, res, deps, reasons=(Reason.NEW,), in_progress=status)
    elif lv.managed and handler.taggable and not is_own_name(res.physical_name, lv.name):
        refuse_rename(p, res, lv)
    elif status in handler.failed:
        plan_replace(p, res, lv, [], (Reason.FAILED,), deps, failed=True)
    elif status in handler.in_progress or handler.update_in_progress(lv):
        running = handler.update_in_progress(lv) or status
        p.add_live(address, Action.NOOP, lv, (Reason.IN_PROGRESS,), in_progress=running)
        p.decisions[address] = Decision(Action.NOOP)
    else:
        plan_compare(p, res, lv, deps)
    plan_flow(p, res, lv)


def plan_flow(p: Planner, res: DesiredResource, lv: LiveResource | None) -> None:
    """The data flow of the resource's kind, unless it is adopted now or its change was refused."""
    decision = p.decisions.get(res.address)
    flow = flow_of(p, res.address)
    if decision is None or decision.action is Action.ADOPT or flow is None:
        return
    if p.is_allowed(res.address):
        flow.after(p, res, lv, decision)


def plan_create(
    p: Planner,
    res: DesiredResource,
    deps: tuple[Address, ...],
    reasons: tuple[Reason, ...],
    in_progress: str | None = None,
) -> None:
    handler = p.handler(res.address)
    cost, notes = handler.create_cost(res, p.options.prices)
    if in_progress:
        notes = (*notes, "waits until the previous resource of this name is deleted")
    flow = flow_of(p, res.address)
    version_note = flow.on_create(p, res) if flow is not None else None
    shown = flatten(handler.desired_fields(res, p.ctx))
    fields = tuple(FieldChange(path, None, value) for path, value in sorted(shown.items()))
    p.add(
        Change(
            res.address,
            Action.CREATE,
            reasons=reasons,
            field_changes=fields,
            physical_name=res.physical_name,
            depends_on=deps,
            notes=notes,
            monthly_cost_usd=cost,
            in_progress=in_progress,
            payload=CreatePayload(spec_digest=p.digest(res), solution_version=version_note),
        )
    )
    p.decisions[res.address] = Decision(Action.CREATE)


def plan_adopt(p: Planner, res: DesiredResource, lv: LiveResource) -> None:
    handler = p.handler(res.address)
    want = handler.desired_fields(res, p.ctx)
    have = handler.live_fields(lv, p.ctx)
    notes = tuple(
        f"{path} differs (live {before!r}, manifests {after!r}); not changed by adoption"
        for path, before, after in field_differences(want, have)
    )
    tags = desired_tags(res, p.stack)
    field_changes = tuple(
        FieldChange(f"tags.{k}", lv.tags.get(k), v) for k, v in sorted(tags.items()) if lv.tags.get(k) != v
    )
    p.add(
        Change(
            res.address,
            Action.ADOPT,
            reasons=(Reason.UNMANAGED_NAME_MATCH,),
            physical_name=lv.name,
            arn=lv.arn,
            field_changes=field_changes,
            notes=notes,
            payload=AdoptPayload(tags=tags),
            read_fingerprint=contract_fingerprint(lv),
        )
    )
    p.decisions[res.address] = Decision(Action.ADOPT)


def refuse_rename(p: Planner, res: DesiredResource, lv: LiveResource) -> None:
    """The stack's resource (found by its ownership tags) has another name than the manifests give it,
    typically because namePrefix changed. Personalize cannot rename, and planning a second stack next
    to the old one would leave the old one (and its bills) unseen: refuse, saying what to do."""
    old = old_prefix(p.desired.stack.settings.namePrefix, res.physical_name, lv.name)
    restore = f"set namePrefix back to {old!r}" if old is not None else "restore its old name"
    p.refuse(
        res.address,
        f"this stack's {lv.name} (found by its tags) is named {res.physical_name} in the manifests and "
        f"Personalize cannot rename: {restore}, or deploy the new names as another stack and retire "
        "this one with prune",
    )
    p.add_live(res.address, Action.NOOP, lv, allowed=False)
    p.decisions[res.address] = Decision(Action.NOOP)
