"""The plan's order: non-delete changes in dependency order (`Planner.topo`: graphlib, ties broken by address,
then action), deletes afterwards in reverse dependency order, each delete waiting for its children's
deletes."""

from __future__ import annotations

from dataclasses import replace

from reconciler.model.address import Address
from reconciler.plan.core import Planner
from reconciler.plan.types import Action, Change, Plan

ACTION_RANK = {
    Action.REPLACE: 0,
    Action.CREATE: 0,
    Action.ADOPT: 0,
    Action.UPDATE: 1,
    Action.IMPORT: 2,
    Action.RETRAIN: 3,
    Action.PROMOTE: 4,
    Action.NOOP: 5,
    Action.DELETE: 6,
}
"""Order of several changes of one address (CREATE then RETRAIN of a solution)."""


def finish(p: Planner, order: list[Address]) -> Plan:
    index = {a: i for i, a in enumerate(order)}
    fixed = linked_changes(p)
    forward = sorted(
        (c for c in fixed if c.action is not Action.DELETE),
        key=lambda c: (index.get(c.address, len(index)), c.address, ACTION_RANK[c.action]),
    )
    backward = sorted(
        (c for c in fixed if c.action is Action.DELETE),
        key=lambda c: (-index.get(c.address, len(index)), c.address),
    )
    fingerprints = {str(a): lv.fingerprint for a, lv in sorted(p.live.resources.items())}
    return Plan(
        changes=tuple(forward + backward),
        stack=p.stack,
        target=p.options.target,
        manifests_digest=p.desired.digest,
        live_fingerprints=fingerprints,
        warnings=tuple(p.warnings),
        errors=tuple(p.errors),
        options=p.options,
        target_identity=p.options.target_identity,
    )


def linked_changes(p: Planner) -> list[Change]:
    """The changes without bare no-ops next to real work, each delete depending on its children's deletes."""
    graph_children: dict[Address, set[Address]] = {}
    for address, deps in p.graph.items():  # p.edges(), computed once by plan()
        for dep in deps:
            graph_children.setdefault(dep, set()).add(address)
    deleting = {c.address for c in p.changes if c.action is Action.DELETE}
    working = {c.address for c in p.changes if c.action is not Action.NOOP}
    fixed: list[Change] = []
    for change in p.changes:
        if (
            change.action is Action.NOOP
            and change.address in working
            and not change.reasons
            and not change.in_progress
            and not change.notes
        ):
            continue  # the address has real work; a bare no-op next to it says nothing
        if change.action is Action.DELETE:
            children = tuple(
                sorted((graph_children.get(change.address, set()) & deleting) | set(change.depends_on))
            )
            change = replace(change, depends_on=children)
        fixed.append(change)
    return fixed
