"""A desired resource against its live one: field, reference and tag differences -> UPDATE, REPLACE or NOOP.

deepdiff finds the differing fields (`resources.base.field_differences`); whether a difference is applied in
place, and whether a replaced parent can be followed in place, is the handler's rule."""

from __future__ import annotations

from typing import Any

from reconciler.model.address import Address
from reconciler.model.state import DesiredResource, LiveResource
from reconciler.plan.core import Decision, Planner
from reconciler.plan.replace import plan_replace
from reconciler.plan.types import Action, Change, FieldChange, Reason, ReplaceOrder, UpdatePayload
from reconciler.resources.base import (
    TAG_SPEC_DIGEST,
    ResourceHandler,
    comparable_tags,
    contract_fingerprint,
    desired_tags,
    field_differences,
    spec_digest,
)

TAG_PREFIX = "tags."


def plan_compare(p: Planner, res: DesiredResource, lv: LiveResource, deps: tuple[Address, ...]) -> None:
    handler = p.handler(res.address)
    want = handler.desired_fields(res, p.ctx)
    have = handler.live_fields(lv, p.ctx)
    # the digest says whether differing fields are drift; with none (the usual case) only an update needs it
    digest = spec_digest(want) if want != have else None
    drift = handler.taggable and digest is not None and lv.tags.get(TAG_SPEC_DIGEST) == digest
    changes = field_changes(p, res, lv, want, have, drift)
    moved = parent_changes(p, res, lv, changes)
    changes = sorted([*changes, *moved, *tag_changes(p, res, lv)], key=lambda c: c.path)
    if any(c.forces_replacement for c in changes):
        plan_replace(p, res, lv, changes, replace_reasons(handler, changes, bool(moved)), deps)
    elif changes:
        plan_update(p, res, lv, changes, bool(moved), (have, digest or spec_digest(want)), deps)
    else:
        _cost, notes = handler.change_cost(res, have, (), p.options.prices)
        p.add_live(res.address, Action.NOOP, lv, notes=notes)
        p.decisions[res.address] = Decision(Action.NOOP)


def field_changes(
    p: Planner,
    res: DesiredResource,
    lv: LiveResource,
    want: dict[str, Any],
    have: dict[str, Any],
    drift: bool,
) -> list[FieldChange]:
    """The differing comparable fields (ignoreChanges left out); the handler says which force a replace."""
    handler = p.handler(res.address)
    return [
        FieldChange(
            path,
            before,
            after,
            forces_replacement=not handler.updates_in_place(path, res, lv, p.view),
            drift=drift,
        )
        for path, before, after in field_differences(want, have)
        if not p.ignored(res, path)
    ]


def parent_changes(
    p: Planner, res: DesiredResource, lv: LiveResource, changes: list[FieldChange]
) -> list[FieldChange]:
    """References to parents that are replaced: they get new ARNs."""
    handler = p.handler(res.address)
    values = p.reference_values(res)
    found: list[FieldChange] = []
    for ref_field, kind in handler.references.items():
        parent = Address(kind, str(values[ref_field]))
        decision = p.decisions.get(parent)
        if (
            decision is None
            or decision.action is not Action.REPLACE
            or any(c.path == ref_field for c in changes)
        ):
            continue
        if handler.follows_new_parent and decision.order is ReplaceOrder.CREATE_BEFORE_DESTROY:
            continue  # moved by its own flow (a campaign is promoted to the new solution)
        parent_live = p.live.resources.get(parent)
        old_name = parent_live.name if parent_live else "?"
        new_name = decision.new_name or p.desired.resources[parent].physical_name
        found.append(
            FieldChange(
                ref_field,
                f"{parent.name} ({old_name})",
                f"{parent.name} (new {new_name})",
                forces_replacement=not handler.repoints_in_place(ref_field, res, lv, p.view),
            )
        )
    return found


def tag_changes(p: Planner, res: DesiredResource, lv: LiveResource) -> list[FieldChange]:
    if not p.handler(res.address).taggable or p.ignored(res, "tags"):
        return []
    want = desired_tags(res, p.stack)
    have = comparable_tags(lv.tags)
    return [
        FieldChange(f"{TAG_PREFIX}{key}", have.get(key), want.get(key))
        for key in sorted(set(want) | set(have))
        if want.get(key) != have.get(key)
    ]


def replace_reasons(
    handler: ResourceHandler, changes: list[FieldChange], dependency: bool
) -> tuple[Reason, ...]:
    reasons: list[Reason] = []
    if any(c.forces_replacement and not c.path.startswith(tuple(handler.references)) for c in changes):
        reasons.append(Reason.IMMUTABLE_FIELD_CHANGED)
    if dependency:
        reasons.append(Reason.DEPENDENCY_REPLACED)
    if any(c.drift for c in changes):
        reasons.append(Reason.DRIFT)
    return tuple(reasons or [Reason.IMMUTABLE_FIELD_CHANGED])


def plan_update(
    p: Planner,
    res: DesiredResource,
    lv: LiveResource,
    changes: list[FieldChange],
    dependency: bool,
    read: tuple[dict[str, Any], str],
    deps: tuple[Address, ...],
) -> None:
    """An in-place update; `read` is the live comparable fields and the digest of the desired ones."""
    have, digest = read
    handler = p.handler(res.address)
    field_drift = any(c.drift for c in changes)
    reason = (
        Reason.DRIFT if field_drift else (Reason.DEPENDENCY_REPLACED if dependency else Reason.FIELD_CHANGED)
    )
    notes: list[str] = ["changed outside the manifests; apply sets it back"] if field_drift else []
    cost, cost_notes = handler.change_cost(res, have, tuple(c.path for c in changes), p.options.prices)
    p.add(
        Change(
            res.address,
            Action.UPDATE,
            reasons=(reason,),
            physical_name=lv.name,
            arn=lv.arn,
            field_changes=tuple(changes),
            depends_on=deps,
            notes=(*notes, *cost_notes),
            monthly_cost_usd=cost,
            payload=update_payload(digest, changes),
            read_fingerprint=contract_fingerprint(lv),
        )
    )
    p.decisions[res.address] = Decision(Action.UPDATE)


def update_payload(digest: str, changes: list[FieldChange]) -> UpdatePayload:
    """Exactly what apply sends: the updatable paths, the tags to set and the tag keys to remove."""
    tags = [c for c in changes if c.path.startswith(TAG_PREFIX)]
    return UpdatePayload(
        spec_digest=digest,
        paths=tuple(c.path for c in changes if not c.path.startswith(TAG_PREFIX)),
        tags_set={c.path[len(TAG_PREFIX) :]: str(c.after) for c in tags if c.after is not None},
        tags_unset=tuple(c.path[len(TAG_PREFIX) :] for c in tags if c.after is None),
    )
