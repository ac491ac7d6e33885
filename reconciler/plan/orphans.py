"""Live resources of this stack that the manifests no longer declare: DELETE (prune on), or NOOP; the old
halves of create-before-destroy replacements; the guard against deleting a whole stack by accident. What
blocks a delete and who uses a resource are the handler's rules (`delete_blockers`, `users_of`)."""

from __future__ import annotations

from dataclasses import replace

from reconciler.model.address import Address
from reconciler.model.state import LiveResource
from reconciler.plan.core import Planner
from reconciler.plan.types import Action, Reason
from reconciler.resources.base import DELETING, TAG_DELETION_PROTECTION, norm_status

SUPERSEDED_SEPARATOR = "@"
"""Live-state addresses `Kind/<logical>@<physical>` mark a second live resource of the same logical name: the
old half of a create-before-destroy replacement that has not been deleted yet (see reconciler.live)."""


def plan_orphan(p: Planner, address: Address, lv: LiveResource) -> None:
    if not lv.managed:
        return
    logical, sep, _physical = address.name.partition(SUPERSEDED_SEPARATOR)
    if sep and Address(address.kind, logical) in p.desired.resources:
        plan_superseded(p, address, lv, Address(address.kind, logical))
        return
    handler = p.handler(address)
    status = norm_status(lv.status)
    if status in DELETING:
        reasons = (Reason.NOT_IN_MANIFESTS, Reason.IN_PROGRESS)
        p.add_live(address, Action.NOOP, lv, reasons, in_progress=status)
        return
    if not p.prune_enabled():
        reasons = (Reason.NOT_IN_MANIFESTS, Reason.PRUNE_DISABLED)
        notes = ("kept: prune is not enabled for this stack",)
        p.add_live(address, Action.NOOP, lv, reasons, notes=notes)
        return
    p.add_live(
        address,
        Action.DELETE,
        lv,
        (Reason.NOT_IN_MANIFESTS,),
        harms=p.harms(address),
        allowed=delete_allowed(p, address, lv),
        in_progress=status if status in handler.in_progress else None,
        depends_on=freeing_changes(p, address, lv),
    )


def delete_allowed(p: Planner, address: Address, lv: LiveResource) -> bool:
    """Refuse (saying what to do) a delete that loses data, one under deletion protection, a blocked one."""
    allowed = True
    if p.handler(address).holds_data and not p.data_loss_allowed():
        allowed = False
        p.refuse(
            address,
            "deleting it deletes its imported data; set prune.allowDataLoss: true in the stack "
            "(or pass --allow-data-loss) to allow it",
        )
    if lv.tags.get(TAG_DELETION_PROTECTION) == "true":
        allowed = False
        p.refuse(
            address,
            "deletionProtection is recorded on it (tag personalize-gitops:deletion-protection), so "
            "removing its manifest does not delete it: put the manifest back with deletionProtection: "
            "false and "
            "apply that first, then remove it",
        )
    return p.refuse_delete_blockers(lv, address) and allowed


def freeing_changes(p: Planner, address: Address, lv: LiveResource) -> tuple[Address, ...]:
    """The planned changes that move users of `lv` away from it (a campaign repointed to the renamed
    solution): its delete waits for them, so one apply does both in order."""
    users = p.handler(address).users_of(lv, p.view)
    moving = (Action.UPDATE, Action.PROMOTE, Action.REPLACE)
    return tuple(sorted({c.address for c in p.changes if c.address in users and c.action in moving}))


def plan_superseded(p: Planner, address: Address, lv: LiveResource, current: Address) -> None:
    users = p.handler(address).served_from(lv, p.view)
    promoted = {  # moved away: promoted, or a reference of theirs updated
        c.address
        for c in p.changes
        if c.action is Action.PROMOTE
        or (
            c.action is Action.UPDATE
            and any(f.path in p.handler(c.address).references for f in c.field_changes)
        )
    }
    blocking = [a for a in users if a not in promoted]
    if blocking:
        kept = f"kept while {', '.join(map(str, blocking))} still serves from it"
        notes = (f"old half of the replacement of {current}; {kept}",)
        p.add_live(address, Action.NOOP, lv, (Reason.REPLACEMENT,), notes=notes)
        return
    p.add_live(
        address,
        Action.DELETE,
        lv,
        (Reason.REPLACEMENT,),
        allowed=p.refuse_delete_blockers(lv, address),
        depends_on=users,
        notes=(f"old half of the replacement of {current}",),
    )


def guard_empty(p: Planner) -> None:
    managed = [a for a, lv in p.live.resources.items() if lv.managed]
    deletes = {
        c.address for c in p.changes if c.action is Action.DELETE and Reason.NOT_IN_MANIFESTS in c.reasons
    }
    if managed and deletes and set(managed) <= deletes and not p.empty_allowed():
        p.errors.append(
            f"the plan deletes every managed resource of stack {p.stack!r} ({len(deletes)}); "
            "set prune.allowEmpty: true in the stack if that is intended"
        )
        p.changes = [
            replace(c, allowed=False) if c.address in deletes and c.action is Action.DELETE else c
            for c in p.changes
        ]
