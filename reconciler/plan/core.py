"""The planner's state and the generic helpers every planning module shares. Pure, and generic: what differs
per kind is asked of the kind's handler (`reconciler/resources`, the "plan rules" of `ResourceHandler`)."""

from __future__ import annotations

import graphlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from reconciler.model.address import Address
from reconciler.model.state import DesiredResource, DesiredState, LiveResource, LiveState
from reconciler.plan.types import (
    Action,
    Change,
    DeletePayload,
    Harm,
    Payload,
    PlanOptions,
    Reason,
    ReplaceOrder,
)
from reconciler.resources.base import (
    RefContext,
    ResourceHandler,
    StateView,
    contract_fingerprint,
    norm_status,
    spec_digest,
)
from reconciler.resources.registry import REGISTRY


@dataclass
class Decision:
    """What was decided for one desired address; the later flows (import, train, promote) read it."""

    action: Action
    order: ReplaceOrder | None = None
    new_name: str | None = None
    retrain: bool = False
    training: str | None = None
    """ARN of the solution version already training (an earlier apply or someone else started it)."""
    imports: bool = False
    importing: bool = False
    """An import job of this dataset is already running (apply waits for it)."""


@dataclass
class Planner:
    desired: DesiredState
    live: LiveState
    options: PlanOptions
    ctx: RefContext
    changes: list[Change] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    decisions: dict[Address, Decision] = field(default_factory=dict)
    graph: dict[Address, set[Address]] = field(default_factory=dict)
    # Indexes (scanning every change or dataset per resource made planning quadratic):
    _data_by_group: dict[str, list[DesiredResource]] | None = None
    _references: dict[Address, list[Address]] = field(default_factory=dict)
    _reference_values: dict[Address, dict[str, Any]] = field(default_factory=dict)
    _change_positions: dict[Address, list[int]] = field(default_factory=dict)
    _indexed_list: list[Change] | None = None
    _indexed_count: int = 0

    @property
    def view(self) -> StateView:
        """What the handlers' plan rules read."""
        return StateView(self.desired, self.live, self.ctx)

    @staticmethod
    def handler(address: Address) -> ResourceHandler:
        return REGISTRY[address.kind]

    # -- policy --

    @property
    def stack(self) -> str:
        return self.desired.stack.name

    def prune_enabled(self) -> bool:
        if self.options.prune is not None:
            return self.options.prune
        return self.desired.stack.settings.prune.enabled

    def data_loss_allowed(self) -> bool:
        if self.options.allow_data_loss is not None:
            return self.options.allow_data_loss
        return self.desired.stack.settings.prune.allowDataLoss

    def empty_allowed(self) -> bool:
        if self.options.allow_empty is not None:
            return self.options.allow_empty
        return self.desired.stack.settings.prune.allowEmpty

    # -- graph --

    def references(self, res: DesiredResource) -> list[Address]:
        """What `res` names (its handler's reference fields) and its explicit dependsOn, sorted."""
        known = self._references.get(res.address)
        if known is None:
            values = self.reference_values(res)
            fields = self.handler(res.address).references
            refs = {Address(kind, str(values[f])) for f, kind in fields.items() if values[f]}
            known = self._references[res.address] = sorted(refs | set(res.depends_on))
        return list(known)

    def reference_values(self, res: DesiredResource) -> dict[str, Any]:
        """The value of each of `res`'s reference fields in its spec (None when absent), dumped once."""
        known = self._reference_values.get(res.address)
        if known is None:
            fields = self.handler(res.address).references
            spec = res.spec.model_dump(by_alias=True) if fields else {}
            known = self._reference_values[res.address] = {f: spec.get(f) for f in fields}
        return known

    @staticmethod
    def group_of(res: DesiredResource) -> str | None:
        value = getattr(res.spec, "datasetGroup", None)
        return value if isinstance(value, str) else None

    def datasets_in_group(self, group: str | None) -> list[DesiredResource]:
        """The desired resources holding the data of dataset group `group` (its datasets), by address."""
        if self._data_by_group is None:
            self._data_by_group = {}
            for r in sorted(self.desired.resources.values(), key=lambda r: r.address):
                name = self.group_of(r)
                if name is not None and self.handler(r.address).holds_data:
                    self._data_by_group.setdefault(name, []).append(r)
        return list(self._data_by_group.get(group, ())) if group is not None else []

    def edges(self) -> dict[Address, set[Address]]:
        graph: dict[Address, set[Address]] = {}
        for address, res in self.desired.resources.items():
            deps = set(self.references(res))
            if self.handler(address).waits_for_group_data:
                deps |= {d.address for d in self.datasets_in_group(self.group_of(res))}
            graph[address] = deps
        for address, lv in self.live.resources.items():
            if address in graph:
                continue
            handler = self.handler(address)
            fields = handler.live_fields(lv, self.ctx)
            graph[address] = {
                Address(kind, str(fields[f])) for f, kind in handler.references.items() if fields.get(f)
            }
        return graph

    @staticmethod
    def topo(graph: Mapping[Address, set[Address]]) -> list[Address]:
        """Dependencies first, in rounds (graphlib): every node whose dependencies are all placed, sorted.
        A cycle raises graphlib's CycleError."""
        sorter: graphlib.TopologicalSorter[Address] = graphlib.TopologicalSorter()
        for node, deps in graph.items():
            sorter.add(node, *(deps & graph.keys()))  # the order within a round comes from sorting it
        sorter.prepare()
        order: list[Address] = []
        while sorter.is_active():
            ready = sorted(sorter.get_ready())
            order.extend(ready)
            sorter.done(*ready)
        return order

    # -- changes --

    def add(self, change: Change) -> None:
        self.changes.append(change)

    def positions_of(self, address: Address) -> list[int]:
        """Indexes in `self.changes` of the changes of `address`, in order. The index follows appends and
        in-place replacements of the same address; a new `changes` list or a moved entry rebuilds it."""
        if self._indexed_list is not self.changes or self._indexed_count > len(self.changes):
            self._indexed_list, self._indexed_count, self._change_positions = self.changes, 0, {}
        for i in range(self._indexed_count, len(self.changes)):
            self._change_positions.setdefault(self.changes[i].address, []).append(i)
        self._indexed_count = len(self.changes)
        positions = self._change_positions.get(address, [])
        if any(self.changes[i].address != address for i in positions):
            self._indexed_list = None
            return self.positions_of(address)
        return positions

    def changes_of(self, address: Address) -> list[Change]:
        return [self.changes[i] for i in self.positions_of(address)]

    def add_live(
        self,
        address: Address,
        action: Action,
        lv: LiveResource,
        reasons: tuple[Reason, ...] = (),
        *,
        notes: tuple[str, ...] = (),
        in_progress: str | None = None,
        depends_on: tuple[Address, ...] = (),
        harms: tuple[Harm, ...] = (),
        allowed: bool = True,
        payload: Payload | None = None,
    ) -> None:
        """A change to the live resource `lv` (under its physical name and ARN, with its fingerprint)."""
        self.add(
            Change(
                address,
                action,
                reasons,
                physical_name=lv.name,
                arn=lv.arn,
                harms=harms,
                allowed=allowed,
                in_progress=in_progress,
                depends_on=depends_on,
                notes=notes,
                payload=DeletePayload() if payload is None and action is Action.DELETE else payload,
                read_fingerprint=contract_fingerprint(lv),
            )
        )

    def harms(self, address: Address) -> tuple[Harm, ...]:
        """Why deleting or replacing it is destructive, by its handler's rules (empty: it is not)."""
        handler = self.handler(address)
        found: list[Harm] = []
        if handler.holds_data:
            found.append(Harm.DATA_LOSS)
        if handler.stops_traffic(self.view):
            found.append(Harm.STOPS_TRAFFIC)
        return tuple(found)

    def depends(self, addresses: Iterable[Address]) -> tuple[Address, ...]:
        """Only addresses that have real work planned are worth waiting for."""
        return tuple(
            sorted(
                a
                for a in set(addresses)
                if any(c.action is not Action.NOOP or c.in_progress for c in self.changes_of(a))
            )
        )

    def refuse(self, res_address: Address, message: str) -> None:
        self.errors.append(f"{res_address}: {message}")

    def is_allowed(self, address: Address) -> bool:
        return all(c.allowed for c in self.changes_of(address))

    def annotate(self, address: Address, in_progress: str, note: str) -> None:
        """Mark the primary change of `address` with work already running."""
        for i in self.positions_of(address):
            change = self.changes[i]
            if change.address == address:
                self.changes[i] = replace(
                    change,
                    in_progress=change.in_progress or in_progress,
                    notes=(*change.notes, note),
                    reasons=change.reasons
                    if Reason.IN_PROGRESS in change.reasons
                    else (*change.reasons, Reason.IN_PROGRESS),
                )
                return

    def annotate_notes(self, address: Address, notes: list[str]) -> None:
        for i in self.positions_of(address):
            change = self.changes[i]
            if change.address == address:
                self.changes[i] = replace(change, notes=(*change.notes, *notes))
                return

    # -- reading --

    def digest(self, res: DesiredResource) -> str:
        return spec_digest(self.handler(res.address).desired_fields(res, self.ctx))

    @staticmethod
    def ignored(res: DesiredResource, path: str) -> bool:
        return any(path == i or path.startswith(i + ".") for i in res.lifecycle.ignoreChanges)

    def is_active(self, address: Address) -> bool:
        return norm_status(self.live.resources[address].status) == "ACTIVE"

    def refuse_delete_blockers(self, lv: LiveResource, address: Address) -> bool:
        """Refuse what keeps `lv` from being deleted for good (the handler says); True when nothing does."""
        blockers = self.handler(address).delete_blockers(lv, self.view)
        for blocker in blockers:
            self.refuse(address, blocker)
        return not blockers
