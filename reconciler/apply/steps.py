"""The step graph of a plan: one or two steps per change, and the edges between them.

Ordering (edges of the graph), all read from the plan and the kinds' handlers (`resources/`):
* a step waits for the earlier steps of the same resource (delete -> create -> update -> import -> train ->
  promote -> delete-old);
* a step waits for the create/update steps of the resources it references, and for the trainings of the
  resources it references that train versions (a campaign and its solution); a kind whose `data_need` says
  so waits for its dataset group's datasets (and their imports: `DataNeed.IMPORTS`, and every training);
* deletes run in reverse dependency order (`handler.delete_rank`: campaigns first, schemas last, §2.16), and
  the old half of a create-before-destroy replacement waits until everything depending on it moved over.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from reconciler.apply.report import Phase
from reconciler.model.address import Address
from reconciler.model.state import DesiredState
from reconciler.plan.types import Action, Change, Plan, ReplaceOrder
from reconciler.resources.base import DataNeed
from reconciler.resources.registry import handler as handler_for

#: Forward phases in the order they run for one resource.
FORWARD_ORDER = (
    Phase.WAIT,
    Phase.CREATE,
    Phase.REPLACE_CREATE,
    Phase.ADOPT,
    Phase.UPDATE,
    Phase.IMPORT,
    Phase.TRAIN,
    Phase.PROMOTE,
)
EXISTS_PHASES = frozenset({Phase.WAIT, Phase.CREATE, Phase.REPLACE_CREATE, Phase.ADOPT, Phase.UPDATE})
FORWARD_PHASES = frozenset(FORWARD_ORDER)

#: Action -> its step phase (replacements and waits have two or conditional steps: `_phases_of`).
PHASE_OF = {
    Action.CREATE: Phase.CREATE,
    Action.UPDATE: Phase.UPDATE,
    Action.ADOPT: Phase.ADOPT,
    Action.IMPORT: Phase.IMPORT,
    Action.RETRAIN: Phase.TRAIN,
    Action.PROMOTE: Phase.PROMOTE,
    Action.DELETE: Phase.DELETE,
}


@dataclass
class Step:
    key: str
    phase: str
    address: Address
    change: Change
    deps: set[str] = field(default_factory=set)

    @property
    def label(self) -> str:
        return f"{self.phase} {self.address}"

    @property
    def is_delete(self) -> bool:
        """A delete that runs in reverse dependency order (not the old half of create-before-destroy)."""
        return self.phase == Phase.DELETE or (
            self.phase == Phase.REPLACE_DELETE
            and self.change.replace_order is not ReplaceOrder.CREATE_BEFORE_DESTROY
        )

    @property
    def order(self) -> int:
        """Position among the steps of its resource."""
        if self.is_delete:
            return -1
        return FORWARD_ORDER.index(self.phase) if self.phase in FORWARD_ORDER else 99


def _phases_of(change: Change) -> tuple[str, ...]:
    if change.action is Action.NOOP:
        return (Phase.WAIT,) if change.in_progress and change.arn else ()
    if change.action is Action.REPLACE:
        if change.replace_order is ReplaceOrder.CREATE_BEFORE_DESTROY:
            return (Phase.REPLACE_CREATE, Phase.REPLACE_DELETE)
        return (Phase.REPLACE_DELETE, Phase.REPLACE_CREATE)
    phase = PHASE_OF.get(change.action)
    return (phase,) if phase else ()


class StepGraph:
    """Builds the steps of one plan (`build()`), and which first steps check the plan's precondition."""

    def __init__(self, plan: Plan, desired: DesiredState) -> None:
        self.plan = plan
        self.desired = desired
        self.steps: dict[str, Step] = {}
        self.by_address: dict[Address, list[Step]] = {}

    def build(self) -> dict[str, Step]:
        for change in self.plan.changes:
            for phase in _phases_of(change):
                step = Step(
                    key=f"{phase}:{change.address}", phase=phase, address=change.address, change=change
                )
                self.steps[step.key] = step
                self.by_address.setdefault(change.address, []).append(step)
        dependents = self._dependents()
        datasets = self._datasets_by_group()
        deletes = [s for s in self.steps.values() if s.is_delete]
        for address, chain in self.by_address.items():
            ordered = sorted(chain, key=lambda s: s.order)
            for earlier, later in itertools.pairwise(ordered):
                later.deps.add(earlier.key)
            for step in ordered:
                if step.is_delete:
                    self._delete_edges(step, deletes)
                elif step.phase == Phase.REPLACE_DELETE:  # the old half of create-before-destroy
                    for user in dependents.get(address, set()):
                        step.deps |= self.phases(user, FORWARD_PHASES)
                else:
                    self._forward_edges(step, datasets)
        for step in self.steps.values():
            step.deps.discard(step.key)
        return self.steps

    def checked(self) -> set[str]:
        """Keys of the first step on each resource the plan read: they check its fingerprint first."""
        return {
            chain[0].key
            for chain in self.by_address.values()
            if chain[0].phase != Phase.WAIT and chain[0].change.read_fingerprint
        }

    def phases(self, address: Address, wanted: frozenset[str]) -> set[str]:
        return {s.key for s in self.by_address.get(address, []) if s.phase in wanted}

    def _dependents(self) -> dict[Address, set[Address]]:
        dependents: dict[Address, set[Address]] = {}
        for res in self.desired.resources.values():
            for dep in res.depends_on:
                dependents.setdefault(dep, set()).add(res.address)
        for change in self.plan.changes:
            for dep in change.depends_on:
                dependents.setdefault(dep, set()).add(change.address)
        return dependents

    def _group_of(self, address: Address) -> str | None:
        res = self.desired.resources.get(address)
        return getattr(res.spec, "datasetGroup", None) if res is not None else None

    def _datasets_by_group(self) -> dict[str, list[Address]]:
        found: dict[str, list[Address]] = {}
        for address in self.desired.resources:
            group = self._group_of(address)
            if group and handler_for(address.kind).holds_data:
                found.setdefault(group, []).append(address)
        return found

    def _delete_edges(self, step: Step, deletes: list[Step]) -> None:
        rank = handler_for(step.address.kind).delete_rank
        step.deps |= {d.key for d in deletes if handler_for(d.address.kind).delete_rank < rank}
        if step.phase == Phase.DELETE:
            # e.g. the old half of an earlier replacement waits for its campaigns to move away
            for dep in step.change.depends_on:
                step.deps |= self.phases(dep, FORWARD_PHASES)

    def _forward_edges(self, step: Step, datasets: dict[str, list[Address]]) -> None:
        handler = handler_for(step.address.kind)
        desired_res = self.desired.resources.get(step.address)
        refs = set(desired_res.depends_on) if desired_res is not None else set()
        referenced = set(handler.references.values())
        for dep in refs | set(step.change.depends_on):
            if dep == step.address:
                continue
            step.deps |= self.phases(dep, EXISTS_PHASES)
            jobs = handler_for(dep.kind).jobs
            if dep.kind in referenced and jobs is not None and jobs.records_version:
                step.deps |= self.phases(dep, frozenset({Phase.TRAIN}))  # serve what this apply trains
        group = self._group_of(step.address)
        if group and handler.data_need is not DataNeed.NONE:
            needs_imports = step.phase == Phase.TRAIN or handler.data_need is DataNeed.IMPORTS
            wanted = EXISTS_PHASES | ({Phase.IMPORT} if needs_imports else set())
            for dataset in datasets.get(group, []):
                step.deps |= self.phases(dataset, wanted)
