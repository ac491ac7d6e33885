"""Replacements: destroy-before-create (names are unique per kind), or create-before-destroy under
`<physical>-<6 hex of the new config>` where the handler says so (`replaces_first`: schemas always, a solution
while a campaign serves from it). Also the naming rules that recognise such replacements in the account."""

from __future__ import annotations

import re

from reconciler.model.address import Address
from reconciler.model.state import DesiredResource, LiveResource
from reconciler.plan.core import Decision, Planner
from reconciler.plan.types import Action, Change, FieldChange, Reason, ReplaceOrder, ReplacePayload
from reconciler.resources.base import contract_fingerprint


def replacement_name(physical_name: str, digest: str, current: str | None = None) -> str:
    """Physical name of a create-before-destroy replacement: `<base>-<6 hex of the new config>`."""
    suffix = "-" + digest[:6]
    base = physical_name[: 63 - len(suffix)]
    name = base + suffix
    if name == current:
        name = base[:-1] + suffix + "b" if len(base + suffix) >= 63 else name + "b"
    return name


def is_own_name(physical_name: str, live_name: str) -> bool:
    """True when `live_name` is the manifests' physical name or a create-before-destroy replacement of it
    (`replacement_name`: the name, possibly shortened, plus `-<6 hex>` and an optional `b`)."""
    if live_name == physical_name:
        return True
    bases = {physical_name[:56], physical_name[:55]}
    return any(re.fullmatch(re.escape(base) + r"-[0-9a-f]{6}b?", live_name) for base in bases)


def old_prefix(prefix: str, physical_name: str, live_name: str) -> str | None:
    """The namePrefix `live_name` was made with, when only the prefix differs from `physical_name`."""
    tail = physical_name[len(prefix) :] if physical_name.startswith(prefix) else physical_name
    if tail and live_name.endswith(tail):
        return live_name[: len(live_name) - len(tail)]
    return None


def plan_replace(
    p: Planner,
    res: DesiredResource,
    lv: LiveResource,
    changes: list[FieldChange],
    reasons: tuple[Reason, ...],
    deps: tuple[Address, ...],
    failed: bool = False,
) -> None:
    address = res.address
    handler = p.handler(address)
    digest = p.digest(res)
    order, serving = replace_order(p, res, lv, failed)
    new_name = replacement_name(res.physical_name, digest, lv.name) if serving is not None else None
    harms = () if failed else p.harms(address)  # a failed resource holds no data and serves nothing
    forcing = [c.path for c in changes if c.forces_replacement]
    allowed = replace_allowed(p, res, lv, forcing, handler.holds_data and not failed, failed)
    notes = ["forced by: " + ", ".join(forcing)] if forcing else []
    if serving:
        notes.append(
            f"created as {new_name}, trained, then {', '.join(map(str, serving))} promoted to it; "
            f"the old {lv.name} is deleted last, so serving never stops"
        )
    elif serving is not None:
        notes.append(f"created as {new_name}; the old {lv.name} is deleted once nothing uses it")
    cost, create_notes = handler.create_cost(res, p.options.prices)
    p.add(
        Change(
            address,
            Action.REPLACE,
            reasons=reasons,
            physical_name=lv.name,
            arn=lv.arn,
            field_changes=tuple(changes),
            harms=harms,
            allowed=allowed,
            replace_order=order,
            new_physical_name=new_name,
            depends_on=deps,
            notes=(*notes, *create_notes),
            monthly_cost_usd=cost,
            payload=ReplacePayload(
                spec_digest=digest,
                old_arn=lv.arn,
                old_name=lv.name,
                delete_old_after=tuple(str(a) for a in serving or ()),
            ),
            read_fingerprint=contract_fingerprint(lv),
        )
    )
    p.decisions[address] = Decision(Action.REPLACE, order=order, new_name=new_name)


def replace_order(
    p: Planner, res: DesiredResource, lv: LiveResource, failed: bool
) -> tuple[ReplaceOrder, list[Address] | None]:
    """The order, and for create-before-destroy the ACTIVE resources serving from the old one (else None).
    A parent destroyed first takes its children with it: they cannot be created before it is gone."""
    parent_destroyed = any(
        (d := p.decisions.get(parent)) is not None
        and d.action is Action.REPLACE
        and d.order is ReplaceOrder.DESTROY_BEFORE_CREATE
        for parent in p.references(res)
    )
    handler = p.handler(res.address)
    if parent_destroyed or failed or not handler.replaces_first(lv, p.view):
        return ReplaceOrder.DESTROY_BEFORE_CREATE, None
    serving = [a for a in handler.served_from(lv, p.view) if p.is_active(a)]
    return ReplaceOrder.CREATE_BEFORE_DESTROY, serving


def replace_allowed(
    p: Planner, res: DesiredResource, lv: LiveResource, forcing: list[str], loses_data: bool, failed: bool
) -> bool:
    """Refuse a replacement of a protected resource, one whose delete is blocked, or one losing data."""
    allowed = True
    if res.lifecycle.deletionProtection:
        allowed = False
        p.refuse(
            res.address, "deletionProtection is set, but the plan replaces it (" + ", ".join(forcing) + ")"
        )
    if not failed and not p.refuse_delete_blockers(lv, res.address):
        allowed = False
    if loses_data and not p.data_loss_allowed():
        allowed = False
        p.refuse(
            res.address,
            "replacing it deletes its imported data; set prune.allowDataLoss: true in the stack "
            "(or pass --allow-data-loss) to allow it",
        )
    return allowed
