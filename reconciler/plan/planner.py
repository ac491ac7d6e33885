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
dependency order (graphlib, ties broken by address), deletes afterwards in reverse dependency order.
"""

from __future__ import annotations

import graphlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from reconciler.model.address import Address, Kind
from reconciler.model.spec import (
    CampaignSpec,
    DatasetSpec,
    PromotionGate,
    RecommenderSpec,
    SolutionSpec,
)
from reconciler.model.state import (
    TAG_SOURCE_ETAG,
    TAG_SOURCE_SHA256,
    TAG_STACK,
    TAG_TRIGGER,
    DesiredResource,
    DesiredState,
    LiveResource,
    LiveSolutionVersion,
    LiveState,
)
from reconciler.plan.context import build_context, newest_active_version
from reconciler.plan.gate import evaluate_gate
from reconciler.plan.types import (
    Action,
    AdoptPayload,
    Change,
    CreatePayload,
    DeletePayload,
    FieldChange,
    ImportPayload,
    Payload,
    Plan,
    PlanOptions,
    PromotePayload,
    Reason,
    ReplaceOrder,
    ReplacePayload,
    TrainPayload,
    UpdatePayload,
)
from reconciler.pricing import money
from reconciler.resources.base import (
    DELETING,
    TAG_DELETION_PROTECTION,
    TAG_SPEC_DIGEST,
    RefContext,
    StateView,
    comparable_tags,
    contract_fingerprint,
    desired_tags,
    flatten,
    norm_status,
    spec_digest,
)
from reconciler.resources.campaign import pinned_version_arn, syncs_with_latest
from reconciler.resources.registry import REGISTRY
from reconciler.resources.solution import VERSION_IN_PROGRESS

LOCAL_FILE_PREFIX = "local:"
"""`LiveState.s3_etags[LOCAL_FILE_PREFIX + dataLocation]`: `sha256:<hex>` of the declared localFile; the MD5
of the same file is under LEGACY_MD5_PREFIX, only to recognise imports made by earlier versions (s3data)."""
LEGACY_MD5_PREFIX = "local-md5:"
SUPERSEDED_SEPARATOR = "@"
"""Live-state addresses `Kind/<logical>@<physical>` mark a second live resource of the same logical name: the
old half of a create-before-destroy replacement that has not been deleted yet (see reconciler.live)."""

_ACTION_RANK = {
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


def parse_duration(text: str) -> float:
    """`30d` / `12h` -> seconds."""
    match = re.fullmatch(r"(\d+)([dh])", text.strip())
    if not match:
        raise ValueError(f"bad duration {text!r}")
    return int(match.group(1)) * (86400 if match.group(2) == "d" else 3600)


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


def _old_prefix(prefix: str, physical_name: str, live_name: str) -> str | None:
    """The namePrefix `live_name` was made with, when only the prefix differs from `physical_name`."""
    tail = physical_name[len(prefix) :] if physical_name.startswith(prefix) else physical_name
    if tail and live_name.endswith(tail):
        return live_name[: len(live_name) - len(tail)]
    return None


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


@dataclass
class _Decision:
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
class _Planner:
    desired: DesiredState
    live: LiveState
    options: PlanOptions
    ctx: RefContext
    changes: list[Change] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    decisions: dict[Address, _Decision] = field(default_factory=dict)
    graph: dict[Address, set[Address]] = field(default_factory=dict)
    # Indexes (scanning every change or dataset per resource made planning quadratic):
    _datasets_by_group: dict[str | None, list[DesiredResource]] | None = None
    _change_positions: dict[Address, list[int]] = field(default_factory=dict)
    _indexed_list: list[Change] | None = None
    _indexed_count: int = 0

    @property
    def view(self) -> StateView:
        return StateView(self.desired, self.live, self.ctx)

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
        spec = res.spec.model_dump(by_alias=True)
        refs = [
            Address(kind, str(spec[f]))
            for f, kind in REGISTRY[res.address.kind].references.items()
            if spec.get(f)
        ]
        return sorted(set(refs) | set(res.depends_on))

    def group_of(self, res: DesiredResource) -> str | None:
        value = getattr(res.spec, "datasetGroup", None)
        return value if isinstance(value, str) else None

    def datasets_in_group(self, group: str | None) -> list[DesiredResource]:
        if self._datasets_by_group is None:
            self._datasets_by_group = {}
            for r in sorted(self.desired.resources.values(), key=lambda r: r.address):
                if REGISTRY[r.address.kind].holds_data and self.group_of(r) is not None:
                    self._datasets_by_group.setdefault(self.group_of(r), []).append(r)
        return list(self._datasets_by_group.get(group, ()))

    def edges(self) -> dict[Address, set[Address]]:
        graph: dict[Address, set[Address]] = {}
        for address, res in self.desired.resources.items():
            deps = set(self.references(res))
            if REGISTRY[address.kind].waits_for_group_data:
                deps |= {d.address for d in self.datasets_in_group(self.group_of(res))}
            graph[address] = deps
        for address, lv in self.live.resources.items():
            if address in graph:
                continue
            handler = REGISTRY[address.kind]
            fields = handler.live_fields(lv, self.ctx)
            graph[address] = {
                Address(kind, str(fields[f])) for f, kind in handler.references.items() if fields.get(f)
            }
        return graph

    @staticmethod
    def topo(graph: Mapping[Address, set[Address]]) -> list[Address]:
        sorter: graphlib.TopologicalSorter[Address] = graphlib.TopologicalSorter()
        for node, deps in graph.items():
            sorter.add(node, *sorted(d for d in deps if d in graph))
        sorter.prepare()
        order: list[Address] = []
        while sorter.is_active():
            ready = sorted(sorter.get_ready())
            order.extend(ready)
            sorter.done(*ready)
        return order

    # -- helpers --

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
        destructive: bool = False,
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
                destructive=destructive,
                allowed=allowed,
                in_progress=in_progress,
                depends_on=depends_on,
                notes=notes,
                payload=DeletePayload() if payload is None and action is Action.DELETE else payload,
                read_fingerprint=contract_fingerprint(lv),
            )
        )

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

    def refuse_rename(self, res: DesiredResource, lv: LiveResource) -> None:
        """The stack's resource (found by its ownership tags) has another name than the manifests give it,
        typically because namePrefix changed. Personalize cannot rename, and planning a second stack next
        to the old one would leave the old one (and its bills) unseen: refuse, saying what to do."""
        old = _old_prefix(self.desired.stack.settings.namePrefix, res.physical_name, lv.name)
        restore = f"set namePrefix back to {old!r}" if old is not None else "restore its old name"
        self.refuse(
            res.address,
            f"this stack's {lv.name} (found by its tags) is named {res.physical_name} in the manifests and "
            f"Personalize cannot rename: {restore}, or deploy the new names as another stack and retire "
            "this one with prune",
        )
        self.add_live(res.address, Action.NOOP, lv, allowed=False)
        self.decisions[res.address] = _Decision(Action.NOOP)

    # -- main --

    def run(self) -> Plan:
        graph = self.edges()
        self.graph = graph
        order = self.topo(graph)
        for address in order:
            res = self.desired.resources.get(address)
            if res is not None:
                self.plan_desired(res)
        for address in order:
            if address not in self.desired.resources and address in self.live.resources:
                self.plan_orphan(address, self.live.resources[address])
        self.guard_empty()
        return self.finish(order)

    def plan_desired(self, res: DesiredResource) -> None:
        address = res.address
        handler = REGISTRY[address.kind]
        lv = self.live.resources.get(address)
        deps = self.depends(self.graph.get(address, set()))
        if lv is None:
            self.plan_create(res, deps, reasons=(Reason.NEW,))
        else:
            owner = lv.tags.get(TAG_STACK)
            status = norm_status(lv.status)
            if not lv.managed and owner and owner != self.stack:
                self.refuse(
                    address, f"{lv.name} is owned by stack {owner!r}; remove it from one of the stacks"
                )
                self.add_live(address, Action.NOOP, lv, allowed=False)
                self.decisions[address] = _Decision(Action.NOOP)
            elif not lv.managed and handler.taggable:
                self.plan_adopt(res, lv)
            elif status in DELETING:
                self.plan_create(res, deps, reasons=(Reason.NEW,), in_progress=status)
            elif lv.managed and handler.taggable and not is_own_name(res.physical_name, lv.name):
                self.refuse_rename(res, lv)
            elif status in handler.failed:
                self.plan_replace(res, lv, [], (Reason.FAILED,), deps, failed=True)
            elif status in handler.in_progress or handler.update_in_progress(lv):
                running = handler.update_in_progress(lv) or status
                self.add_live(address, Action.NOOP, lv, (Reason.IN_PROGRESS,), in_progress=running)
                self.decisions[address] = _Decision(Action.NOOP)
            else:
                self.plan_compare(res, lv, deps)
        self.plan_extras(res, lv)

    # -- primary actions --

    def cost_of_create(self, res: DesiredResource) -> tuple[float | None, tuple[str, ...]]:
        prices = self.options.prices
        if isinstance(res.spec, CampaignSpec):
            monthly = prices.campaign_monthly_minimum(res.spec.minProvisionedTPS)
            return monthly, (
                f"campaign bills at least {res.spec.minProvisionedTPS} TPS around the clock: "
                f"~{money(monthly)}/month (estimate)",
            )
        if isinstance(res.spec, SolutionSpec) and res.spec.performAutoTraining:
            return None, (self.auto_training_note(res.spec),)
        if isinstance(res.spec, RecommenderSpec):
            config = res.spec.recommenderConfig
            rps = config.minRecommendationRequestsPerSecond if config is not None else None
            floor = (
                f"{rps} requests/s" if rps else "1 request/s (the default minRecommendationRequestsPerSecond)"
            )
            return None, (
                f"recommender bills per request, and at least {floor} around the clock while it runs "
                "(no price in the table: not estimated)",
            )
        return None, ()

    def auto_training_note(self, spec: SolutionSpec) -> str:
        every = 7
        config = spec.solutionConfig
        if config and config.autoTrainingConfig:
            found = re.search(r"\d+", config.autoTrainingConfig.schedulingExpression)
            every = int(found.group(0)) if found else 7
        monthly = self.options.prices.auto_training_monthly(every)
        return (
            f"automatic training is on: a billed training every {every} days, "
            f"~{money(monthly)}/month (estimate)"
        )

    def plan_create(
        self,
        res: DesiredResource,
        deps: tuple[Address, ...],
        reasons: tuple[Reason, ...],
        in_progress: str | None = None,
    ) -> None:
        cost, notes = self.cost_of_create(res)
        version_note: str | None = None
        if in_progress:
            notes = (*notes, "waits until the previous resource of this name is deleted")
        if isinstance(res.spec, CampaignSpec) and res.spec.solutionVersion:
            version_note = f"pinned version {res.spec.solutionVersion}"
            sol_live = self.live.resources.get(Address(Kind.SOLUTION, res.spec.solution))
            versions = sol_live.versions if sol_live is not None else ()
            pinned = pinned_version_arn(res.spec, self.ctx) if sol_live is not None else None
            if pinned is None or not any(v.arn == pinned for v in versions):
                self.errors.append(
                    f"{res.address}: spec.solutionVersion {res.spec.solutionVersion!r} is not a version of "
                    f"Solution/{res.spec.solution}; remove the pin until the solution has trained"
                )
        elif isinstance(res.spec, CampaignSpec) and not syncs_with_latest(res.spec):
            version_note = f"newest ACTIVE version of Solution/{res.spec.solution}"
        shown = flatten(REGISTRY[res.address.kind].desired_fields(res, self.ctx))
        fields = tuple(FieldChange(path, None, value) for path, value in sorted(shown.items()))
        self.add(
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
                payload=CreatePayload(spec_digest=self.digest(res), solution_version=version_note),
            )
        )
        self.decisions[res.address] = _Decision(Action.CREATE)

    def plan_adopt(self, res: DesiredResource, lv: LiveResource) -> None:
        handler = REGISTRY[res.address.kind]
        want = flatten(handler.desired_fields(res, self.ctx))
        have = flatten(handler.live_fields(lv, self.ctx))
        notes = [
            f"{p} differs (live {have.get(p)!r}, manifests {want.get(p)!r}); not changed by adoption"
            for p in sorted(set(want) | set(have))
            if want.get(p) != have.get(p)
        ]
        tags = desired_tags(res, self.stack)
        field_changes = tuple(
            FieldChange(f"tags.{k}", lv.tags.get(k), v)
            for k, v in sorted(tags.items())
            if lv.tags.get(k) != v
        )
        self.add(
            Change(
                res.address,
                Action.ADOPT,
                reasons=(Reason.UNMANAGED_NAME_MATCH,),
                physical_name=lv.name,
                arn=lv.arn,
                field_changes=field_changes,
                notes=tuple(notes),
                payload=AdoptPayload(tags=tags),
                read_fingerprint=contract_fingerprint(lv),
            )
        )
        self.decisions[res.address] = _Decision(Action.ADOPT)

    def digest(self, res: DesiredResource) -> str:
        return spec_digest(REGISTRY[res.address.kind].desired_fields(res, self.ctx))

    def ignored(self, res: DesiredResource, path: str) -> bool:
        return any(path == i or path.startswith(i + ".") for i in res.lifecycle.ignoreChanges)

    def plan_compare(self, res: DesiredResource, lv: LiveResource, deps: tuple[Address, ...]) -> None:
        address = res.address
        handler = REGISTRY[address.kind]
        want = handler.desired_fields(res, self.ctx)
        have = handler.live_fields(lv, self.ctx)
        digest = spec_digest(want)
        drift = handler.taggable and lv.tags.get(TAG_SPEC_DIGEST) == digest
        flat_want, flat_have = flatten(want), flatten(have)
        changes: list[FieldChange] = []
        dependency = False
        for path in sorted(set(flat_want) | set(flat_have)):
            before, after = flat_have.get(path), flat_want.get(path)
            if before == after or self.ignored(res, path):
                continue
            forces = not handler.updates_in_place(path, res, lv, self.view)
            changes.append(FieldChange(path, before, after, forces_replacement=forces, drift=drift))
        # References to parents that are replaced get new ARNs.
        spec = res.spec.model_dump(by_alias=True)
        for ref_field, kind in handler.references.items():
            parent = Address(kind, str(spec.get(ref_field)))
            decision = self.decisions.get(parent)
            if (
                decision is None
                or decision.action is not Action.REPLACE
                or any(c.path == ref_field for c in changes)
            ):
                continue
            if handler.follows_new_parent and decision.order is ReplaceOrder.CREATE_BEFORE_DESTROY:
                continue  # moved by its own flow (a campaign is promoted to the new solution)
            parent_live = self.live.resources.get(parent)
            old_name = parent_live.name if parent_live else "?"
            new_name = decision.new_name or self.desired.resources[parent].physical_name
            forces = not handler.repoints_in_place(ref_field, res, lv, self.view)
            dependency = True
            changes.append(
                FieldChange(
                    ref_field,
                    f"{parent.name} ({old_name})",
                    f"{parent.name} (new {new_name})",
                    forces_replacement=forces,
                )
            )
        if handler.taggable and not self.ignored(res, "tags"):
            want_tags = desired_tags(res, self.stack)
            have_tags = comparable_tags(lv.tags)
            for key in sorted(set(want_tags) | set(have_tags)):
                if want_tags.get(key) != have_tags.get(key):
                    changes.append(FieldChange(f"tags.{key}", have_tags.get(key), want_tags.get(key)))
        changes.sort(key=lambda c: c.path)
        field_drift = any(c.drift for c in changes)
        if any(c.forces_replacement for c in changes):
            reasons: list[Reason] = []
            if any(
                c.forces_replacement and not c.path.startswith(tuple(handler.references)) for c in changes
            ):
                reasons.append(Reason.IMMUTABLE_FIELD_CHANGED)
            if dependency:
                reasons.append(Reason.DEPENDENCY_REPLACED)
            if field_drift:
                reasons.append(Reason.DRIFT)
            self.plan_replace(res, lv, changes, tuple(reasons or [Reason.IMMUTABLE_FIELD_CHANGED]), deps)
        elif changes:
            reason = (
                Reason.DRIFT
                if field_drift
                else (Reason.DEPENDENCY_REPLACED if dependency else Reason.FIELD_CHANGED)
            )
            notes: list[str] = []
            if field_drift:
                notes.append("changed outside the manifests; apply sets it back")
            cost: float | None = None
            if isinstance(res.spec, CampaignSpec) and any(c.path == "minProvisionedTPS" for c in changes):
                before = int(have.get("minProvisionedTPS") or 1)
                prices = self.options.prices
                cost = prices.campaign_monthly_minimum(res.spec.minProvisionedTPS)
                notes.append(
                    f"minimum monthly cost {money(prices.campaign_monthly_minimum(before))} -> "
                    f"{money(cost)} (estimate)"
                )
            if isinstance(res.spec, SolutionSpec) and res.spec.performAutoTraining:
                notes.append(self.auto_training_note(res.spec))
            self.add(
                Change(
                    address,
                    Action.UPDATE,
                    reasons=(reason,),
                    physical_name=lv.name,
                    arn=lv.arn,
                    field_changes=tuple(changes),
                    depends_on=deps,
                    notes=tuple(notes),
                    monthly_cost_usd=cost,
                    payload=UpdatePayload(
                        spec_digest=digest,
                        paths=tuple(c.path for c in changes if not c.path.startswith("tags.")),
                        tags_set={
                            c.path[len("tags.") :]: str(c.after)
                            for c in changes
                            if c.path.startswith("tags.") and c.after is not None
                        },
                        tags_unset=tuple(
                            c.path[len("tags.") :]
                            for c in changes
                            if c.path.startswith("tags.") and c.after is None
                        ),
                    ),
                    read_fingerprint=contract_fingerprint(lv),
                )
            )
            self.decisions[address] = _Decision(Action.UPDATE)
        else:
            notes_noop: tuple[str, ...] = ()
            if isinstance(res.spec, SolutionSpec) and res.spec.performAutoTraining:
                notes_noop = (self.auto_training_note(res.spec),)
            self.add_live(address, Action.NOOP, lv, notes=notes_noop)
            self.decisions[address] = _Decision(Action.NOOP)

    def plan_replace(
        self,
        res: DesiredResource,
        lv: LiveResource,
        changes: list[FieldChange],
        reasons: tuple[Reason, ...],
        deps: tuple[Address, ...],
        failed: bool = False,
    ) -> None:
        address = res.address
        handler = REGISTRY[address.kind]
        order = ReplaceOrder.DESTROY_BEFORE_CREATE
        new_name: str | None = None
        digest = self.digest(res)
        serving: list[Address] = []
        # A parent destroyed first takes its children with it: they cannot be created before it is gone.
        parent_destroyed = any(
            (d := self.decisions.get(parent)) is not None
            and d.action is Action.REPLACE
            and d.order is ReplaceOrder.DESTROY_BEFORE_CREATE
            for parent in self.references(res)
        )
        if parent_destroyed:
            pass
        elif not failed and handler.replaces_first(lv, self.view):
            order = ReplaceOrder.CREATE_BEFORE_DESTROY
            serving = [a for a in handler.served_from(lv, self.view) if self.is_active(a)]
        if order is ReplaceOrder.CREATE_BEFORE_DESTROY:
            new_name = replacement_name(res.physical_name, digest, lv.name)
        destructive = handler.holds_data and not failed
        allowed = True
        notes: list[str] = []
        forcing = [c.path for c in changes if c.forces_replacement]
        if forcing:
            notes.append("forced by: " + ", ".join(forcing))
        if res.lifecycle.deletionProtection:
            allowed = False
            self.refuse(
                address, "deletionProtection is set, but the plan replaces it (" + ", ".join(forcing) + ")"
            )
        for blocker in handler.delete_blockers(lv, self.view) if not failed else ():
            allowed = False
            self.refuse(address, blocker)
        if destructive and not self.data_loss_allowed():
            allowed = False
            self.refuse(
                address,
                "replacing it deletes its imported data; set prune.allowDataLoss: true in the stack "
                "(or pass --allow-data-loss) to allow it",
            )
        if order is ReplaceOrder.CREATE_BEFORE_DESTROY and serving:
            notes.append(
                f"created as {new_name}, trained, then {', '.join(map(str, serving))} promoted to it; "
                f"the old {lv.name} is deleted last, so serving never stops"
            )
        elif order is ReplaceOrder.CREATE_BEFORE_DESTROY:
            notes.append(f"created as {new_name}; the old {lv.name} is deleted once nothing uses it")
        cost, create_notes = self.cost_of_create(res)
        payload = ReplacePayload(
            spec_digest=digest,
            old_arn=lv.arn,
            old_name=lv.name,
            delete_old_after=tuple(str(a) for a in serving),
        )
        self.add(
            Change(
                address,
                Action.REPLACE,
                reasons=reasons,
                physical_name=lv.name,
                arn=lv.arn,
                field_changes=tuple(changes),
                destructive=destructive or (handler.stops_traffic(self.view) and not failed),
                allowed=allowed,
                replace_order=order,
                new_physical_name=new_name,
                depends_on=deps,
                notes=tuple(notes) + create_notes,
                monthly_cost_usd=cost,
                payload=payload,
                read_fingerprint=contract_fingerprint(lv),
            )
        )
        self.decisions[address] = _Decision(Action.REPLACE, order=order, new_name=new_name)

    # -- imports, trainings, promotions --

    def plan_extras(self, res: DesiredResource, lv: LiveResource | None) -> None:
        decision = self.decisions.get(res.address)
        if decision is None or decision.action is Action.ADOPT:
            return
        if not self.is_allowed(res.address):
            return
        flows = {"import": self.plan_import, "train": self.plan_retrain, "promote": self.plan_promote}
        flow = flows.get(REGISTRY[res.address.kind].data_flow or "")
        if flow is not None:
            flow(res, lv, decision)

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

    def plan_import(self, res: DesiredResource, lv: LiveResource | None, decision: _Decision) -> None:
        spec = res.spec
        assert isinstance(spec, DatasetSpec)
        source = spec.dataImport
        if source is None:
            return
        location = source.dataLocation
        # Like with like (reconciler/s3data.py): the object's ETag against the ETag recorded at import, the
        # local file's SHA-256 against the SHA-256 recorded at import. Never an ETag against a file's hash.
        etag = self.live.s3_etags.get(location)
        local = self.live.s3_etags.get(LOCAL_FILE_PREFIX + location) if source.localFile else None
        local_md5 = self.live.s3_etags.get(LEGACY_MD5_PREFIX + location)
        reasons: list[Reason] = []
        mode = source.importMode
        notes: list[str] = []
        fresh = decision.action in (Action.CREATE, Action.REPLACE) or lv is None
        if not fresh and lv is not None:
            running = [
                j for j in lv.imports if norm_status(j.status) in REGISTRY[res.address.kind].in_progress
            ]
            if running:
                decision.importing = True
                self.annotate(
                    res.address,
                    f"import {norm_status(running[0].status)}",
                    f"import {running[0].name} is running",
                )
                return
            done = [j for j in lv.imports if norm_status(j.status) == "ACTIVE"]
            if not done:
                reasons.append(Reason.FIRST_IMPORT)
                if lv.imports:
                    reasons.append(Reason.FAILED)
            else:
                last = done[0]
                recorded = last.tags.get(TAG_SOURCE_ETAG)
                recorded_local = last.tags.get(TAG_SOURCE_SHA256)
                if recorded_local is None and local_md5 is not None and recorded == local_md5:
                    recorded_local = local  # an earlier version recorded the file's MD5 as source-etag
                if local is not None and local != recorded_local:
                    reasons.append(Reason.SOURCE_CHANGED)
                    notes.append(
                        "the local file (dataImport.localFile) changed since the last import; "
                        f"apply uploads it to {location} first"
                    )
                elif local is not None and recorded_local == local and recorded == local_md5:
                    pass  # imported by an earlier version from this very file: the object may be re-encrypted
                elif etag is not None and recorded is not None and recorded != etag:
                    reasons.append(Reason.SOURCE_CHANGED)
                elif etag is None and source.localFile:
                    reasons.append(Reason.SOURCE_CHANGED)
                    notes.append(
                        f"{location} is missing; apply uploads the local file (dataImport.localFile) first"
                    )
                elif recorded is None and etag is not None and TAG_TRIGGER not in last.tags:
                    notes.append(
                        f"the last import ({last.name}) was not made by personalize-gitops; "
                        "change dataImport.trigger to import again"
                    )
                if source.trigger is not None and source.trigger != last.tags.get(TAG_TRIGGER):
                    reasons.append(Reason.TRIGGER_CHANGED)
        else:
            reasons.append(Reason.FIRST_IMPORT)
            mode = "FULL"
        if Reason.FIRST_IMPORT in reasons:
            mode = "FULL"
        if etag is None and not source.localFile and reasons:
            self.warnings.append(
                f"{res.address}: {location} was not found in S3; "
                "the import will fail unless it is uploaded first"
            )
        if not reasons:
            if notes:
                self.annotate_notes(res.address, notes)
            return
        payload = ImportPayload(
            data_location=location,
            fingerprint=local if local is not None else etag,
            import_mode=mode,
            role_arn=source.roleArn,
            trigger=source.trigger,
            local_file=source.localFile,
            publish_attribution_metrics_to_s3=source.publishAttributionMetricsToS3,
        )
        self.add(
            Change(
                res.address,
                Action.IMPORT,
                reasons=tuple(reasons),
                physical_name=lv.name if lv else res.physical_name,
                arn=lv.arn if lv else None,
                depends_on=self.depends([res.address]),
                notes=tuple(notes),
                payload=payload,
                read_fingerprint=contract_fingerprint(lv) if lv is not None and not fresh else None,
            )
        )
        decision.imports = True

    def annotate_notes(self, address: Address, notes: list[str]) -> None:
        for i in self.positions_of(address):
            change = self.changes[i]
            if change.address == address:
                self.changes[i] = replace(change, notes=(*change.notes, *notes))
                return

    def group_imports_after(self, res: DesiredResource, since: float) -> tuple[bool, list[Address]]:
        """(data imported after `since`, datasets of the group with an import planned now)."""
        group = self.group_of(res)
        newer = False
        planned: list[Address] = []
        for dataset in self.datasets_in_group(group):
            decision = self.decisions.get(dataset.address)
            if decision is not None and (decision.imports or decision.importing):
                planned.append(dataset.address)  # planned now, or running: the training follows it
            lv = self.live.resources.get(dataset.address)
            if lv is None:
                continue
            for job in lv.imports:
                if norm_status(job.status) == "ACTIVE" and job.last_updated > since:
                    newer = True
        return newer, planned

    def plan_retrain(self, res: DesiredResource, lv: LiveResource | None, decision: _Decision) -> None:
        spec = res.spec
        assert isinstance(spec, SolutionSpec)
        policy = spec.training
        reasons: list[Reason] = []
        mode = "FULL"
        _newer, planned_imports = self.group_imports_after(res, float("inf"))
        trigger_tag: str | None = None
        if decision.action is Action.CREATE or lv is None:
            reasons.append(Reason.FIRST_VERSION)
        elif decision.action is Action.REPLACE:
            reasons.extend([Reason.FIRST_VERSION, Reason.REPLACEMENT])
        else:
            running = [v for v in lv.versions if norm_status(v.status) in VERSION_IN_PROGRESS]
            if running:
                decision.training = running[0].arn
                self.annotate(
                    res.address,
                    f"training {norm_status(running[0].status)}",
                    "a solution version is training",
                )
                return
            active = sorted(
                (v for v in lv.versions if norm_status(v.status) == "ACTIVE"),
                key=lambda v: (v.created, v.arn),
                reverse=True,
            )
            if not active:
                reasons.append(Reason.FIRST_VERSION)
                if lv.versions:
                    reasons.append(Reason.FAILED)
            else:
                newest = active[0]
                trigger_tag = newest.tags.get(TAG_TRIGGER)
                if res.address.name in self.options.retrain:
                    reasons.append(Reason.REQUESTED)
                if policy.trigger is not None and policy.trigger != trigger_tag:
                    reasons.append(Reason.TRIGGER_CHANGED)
                if policy.retrainOnDataChange:
                    newer, _planned = self.group_imports_after(res, newest.created)
                    if newer or planned_imports:
                        reasons.append(Reason.DATA_CHANGED)
                if policy.maxAge and self.live.now - newest.created > parse_duration(policy.maxAge):
                    reasons.append(Reason.MAX_AGE)
                if policy.mode == "UPDATE" and any(v.training_mode in (None, "FULL") for v in active):
                    mode = "UPDATE"
        if not reasons:
            return
        if Reason.FIRST_VERSION in reasons:
            mode = "FULL"
        prices = self.options.prices
        notes = [
            f"starts a {mode} training, billed per training hour: ~{money(prices.training_estimate())} "
            f"at {prices.typical_training_hours:g} h (estimate)"
        ]
        if res.address.name in self.options.retrain and Reason.REQUESTED not in reasons:
            notes.append("retraining was requested and is part of this training")
        depends = self.depends([res.address, *planned_imports])
        self.add(
            Change(
                res.address,
                Action.RETRAIN,
                reasons=tuple(reasons),
                physical_name=decision.new_name
                or (
                    lv.name
                    if lv is not None and decision.action not in (Action.CREATE, Action.REPLACE)
                    else ""
                )
                or res.physical_name,
                arn=lv.arn if lv and decision.action is not Action.REPLACE else None,
                depends_on=depends,
                notes=tuple(notes),
                payload=TrainPayload(training_mode=mode, trigger=policy.trigger, reason=reasons[0].name),
                read_fingerprint=contract_fingerprint(lv)
                if lv is not None and decision.action not in (Action.CREATE, Action.REPLACE)
                else None,
            )
        )
        decision.retrain = True

    def plan_promote(self, res: DesiredResource, lv: LiveResource | None, decision: _Decision) -> None:
        spec = res.spec
        assert isinstance(spec, CampaignSpec)
        solution = Address(Kind.SOLUTION, spec.solution)
        sol_decision = self.decisions.get(solution)
        sol_live = self.live.resources.get(solution)
        if syncs_with_latest(spec):
            if decision.action is not Action.CREATE:
                self.annotate_notes(
                    res.address, ["follows the newest solution version (syncWithLatestSolutionVersion)"]
                )
            return
        if decision.action is Action.CREATE:
            return
        if lv is None or decision.action not in (Action.NOOP, Action.UPDATE):
            return
        if any(c.in_progress for c in self.changes_of(res.address)):
            return
        if decision.action is Action.UPDATE and any(
            any(f.path == "solution" for f in c.field_changes) for c in self.changes_of(res.address)
        ):
            return  # repointed to another solution by the update
        serving = str(lv.fields.get("solutionVersionArn") or "")
        if spec.solutionVersion:
            self.plan_pinned(res, lv, spec, serving, sol_live, solution)
            return
        if sol_decision is not None and sol_decision.action is Action.REPLACE:
            if sol_decision.order is ReplaceOrder.CREATE_BEFORE_DESTROY:
                self.add_promote(
                    res,
                    lv,
                    solution,
                    Reason.REPLACEMENT,
                    (
                        f"moves to the first version of {sol_decision.new_name} "
                        "(not gated: the manifests changed the solution)",
                    ),
                    PromotePayload(
                        solution=spec.solution,
                        solution_version_arn=None,
                        from_arn=serving,
                        solution_name=sol_decision.new_name,
                        gated=False,
                    ),
                )
            return
        if sol_decision is not None and sol_decision.training:
            self.plan_promote_running(res, lv, solution, serving, sol_decision.training)
            return
        if sol_decision is not None and sol_decision.retrain:
            gate = spec.promotion.model_dump() if spec.promotion else None
            self.add_promote(
                res,
                lv,
                solution,
                Reason.NEW_VERSION,
                ("promoted to the new version once trained, if it passes the promotion gate",)
                if gate
                else ("promoted to the new version once trained",),
                PromotePayload(
                    solution=spec.solution,
                    solution_version_arn=None,
                    from_arn=serving,
                    gate=gate,
                    gated=bool(gate),
                ),
            )
            return
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
            f"new version {candidate.arn.rsplit('/', 1)[-1]}: {_fmt_metrics(candidate.metrics)}",
            f"serving version {serving.rsplit('/', 1)[-1] or '-'}: {_fmt_metrics(serving_metrics)}",
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
            self.add_promote(res, lv, solution, Reason.NEW_VERSION, metrics_notes, payload)
        else:
            for i in self.positions_of(res.address):
                change = self.changes[i]
                if change.address == res.address and change.action is Action.NOOP:
                    self.changes[i] = replace(
                        change,
                        reasons=(Reason.HELD_BACK,),
                        notes=(*change.notes, *failures, *metrics_notes),
                        payload=payload,
                    )
                    return
            self.add_live(
                res.address,
                Action.NOOP,
                lv,
                (Reason.HELD_BACK,),
                notes=(*failures, *metrics_notes),
                payload=payload,
            )

    def plan_promote_running(
        self, res: DesiredResource, lv: LiveResource, solution: Address, serving: str, version: str
    ) -> None:
        """A conditional step: the version already training is promoted once it is ACTIVE, if it passes the
        gate (apply waits for the training first; a failed training skips the promotion)."""
        spec = res.spec
        assert isinstance(spec, CampaignSpec)
        if version == serving:
            return
        short = version.rsplit("/", 1)[-1]
        note = f"promoted to {short} (training now) once it is ACTIVE"
        self.add_promote(
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

    def plan_pinned(
        self,
        res: DesiredResource,
        lv: LiveResource,
        spec: CampaignSpec,
        serving: str,
        sol_live: LiveResource | None,
        solution: Address,
    ) -> None:
        """A campaign pinned to `solutionVersion` serves exactly that version: moved there when it serves
        another one (not gated: the manifests name the version), never promoted automatically."""
        pinned = pinned_version_arn(spec, self.ctx)
        if pinned is None or pinned == serving:
            if pinned is not None:
                self.annotate_notes(res.address, [f"pinned to version {pinned.rsplit('/', 1)[-1]}"])
            return
        version = next((v for v in (sol_live.versions if sol_live else ()) if v.arn == pinned), None)
        status = norm_status(version.status) if version else ""
        if version is None or status not in ("ACTIVE", *VERSION_IN_PROGRESS):
            what = "does not exist" if version is None else f"is {status}"
            self.errors.append(
                f"{res.address}: spec.solutionVersion {spec.solutionVersion!r} {what} in {solution}; "
                "pin an ACTIVE version (see `plan` notes or list-solution-versions) or remove the pin"
            )
            return
        self.add_promote(
            res,
            lv,
            solution,
            Reason.REQUESTED,
            (
                f"moves to the pinned version {pinned.rsplit('/', 1)[-1]} (serving "
                f"{serving.rsplit('/', 1)[-1] or '-'}; not gated: the manifests name the version)",
            ),
            PromotePayload(
                solution=spec.solution,
                solution_version_arn=pinned,
                from_arn=serving,
                gated=False,
                pinned=True,
            ),
        )

    def add_promote(
        self,
        res: DesiredResource,
        lv: LiveResource,
        solution: Address,
        reason: Reason,
        notes: tuple[str, ...],
        payload: PromotePayload,
    ) -> None:
        """A PROMOTE of the campaign `res` (live `lv`), after whatever is planned for its `solution`."""
        self.add_live(
            res.address,
            Action.PROMOTE,
            lv,
            (reason,),
            depends_on=self.depends([solution]),
            notes=notes,
            payload=payload,
        )

    # -- orphans --

    def plan_orphan(self, address: Address, lv: LiveResource) -> None:
        if not lv.managed:
            return
        logical, sep, _physical = address.name.partition(SUPERSEDED_SEPARATOR)
        if sep and Address(address.kind, logical) in self.desired.resources:
            self.plan_superseded(address, lv, Address(address.kind, logical))
            return
        handler = REGISTRY[address.kind]
        destructive = handler.holds_data
        status = norm_status(lv.status)
        if status in DELETING:
            reasons = (Reason.NOT_IN_MANIFESTS, Reason.IN_PROGRESS)
            self.add_live(address, Action.NOOP, lv, reasons, in_progress=status)
            return
        if not self.prune_enabled():
            reasons = (Reason.NOT_IN_MANIFESTS, Reason.PRUNE_DISABLED)
            notes = ("kept: prune is not enabled for this stack",)
            self.add_live(address, Action.NOOP, lv, reasons, notes=notes)
            return
        allowed = True
        if destructive and not self.data_loss_allowed():
            allowed = False
            self.refuse(
                address,
                "deleting it deletes its imported data; set prune.allowDataLoss: true in the stack "
                "(or pass --allow-data-loss) to allow it",
            )
        if lv.tags.get(TAG_DELETION_PROTECTION) == "true":
            allowed = False
            self.refuse(
                address,
                "deletionProtection is recorded on it (tag personalize-gitops:deletion-protection), so "
                "removing its manifest does not delete it: put the manifest back with deletionProtection: "
                "false and "
                "apply that first, then remove it",
            )
        for blocker in handler.delete_blockers(lv, self.view):
            allowed = False
            self.refuse(address, blocker)
        self.add_live(
            address,
            Action.DELETE,
            lv,
            (Reason.NOT_IN_MANIFESTS,),
            destructive=destructive or handler.stops_traffic(self.view),
            allowed=allowed,
            in_progress=status if status in handler.in_progress else None,
            depends_on=self.freeing_changes(lv),
        )

    def is_active(self, address: Address) -> bool:
        return norm_status(self.live.resources[address].status) == "ACTIVE"

    def freeing_changes(self, lv: LiveResource) -> tuple[Address, ...]:
        """The planned changes that move users of `lv` away from it (a campaign repointed to the renamed
        solution): its delete waits for them, so one apply does both in order."""
        users = REGISTRY[lv.kind].users_of(lv, self.view)
        moving = (Action.UPDATE, Action.PROMOTE, Action.REPLACE)
        return tuple(sorted({c.address for c in self.changes if c.address in users and c.action in moving}))

    def plan_superseded(self, address: Address, lv: LiveResource, current: Address) -> None:
        users = REGISTRY[address.kind].served_from(lv, self.view)
        promoted = {
            c.address
            for c in self.changes
            if c.action is Action.PROMOTE
            or (c.action is Action.UPDATE and any(f.path == "solution" for f in c.field_changes))
        }
        blocking = [a for a in users if a not in promoted]
        if blocking:
            kept = f"kept while {', '.join(map(str, blocking))} still serves from it"
            notes = (f"old half of the replacement of {current}; {kept}",)
            self.add_live(address, Action.NOOP, lv, (Reason.REPLACEMENT,), notes=notes)
            return
        refused = REGISTRY[address.kind].delete_blockers(lv, self.view)
        for blocker in refused:
            self.refuse(address, blocker)
        self.add_live(
            address,
            Action.DELETE,
            lv,
            (Reason.REPLACEMENT,),
            allowed=not refused,
            depends_on=users,
            notes=(f"old half of the replacement of {current}",),
        )

    def guard_empty(self) -> None:
        managed = [a for a, lv in self.live.resources.items() if lv.managed]
        deletes = {
            c.address
            for c in self.changes
            if c.action is Action.DELETE and Reason.NOT_IN_MANIFESTS in c.reasons
        }
        if managed and deletes and set(managed) <= deletes and not self.empty_allowed():
            self.errors.append(
                f"the plan deletes every managed resource of stack {self.stack!r} ({len(deletes)}); "
                "set prune.allowEmpty: true in the stack if that is intended"
            )
            self.changes = [
                replace(c, allowed=False) if c.address in deletes and c.action is Action.DELETE else c
                for c in self.changes
            ]

    # -- ordering --

    def finish(self, order: list[Address]) -> Plan:
        index = {a: i for i, a in enumerate(order)}
        graph_children: dict[Address, set[Address]] = {}
        for address, deps in self.edges().items():
            for dep in deps:
                graph_children.setdefault(dep, set()).add(address)
        deleting = {c.address for c in self.changes if c.action is Action.DELETE}
        working = {c.address for c in self.changes if c.action is not Action.NOOP}
        fixed: list[Change] = []
        for change in self.changes:
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
        forward = sorted(
            (c for c in fixed if c.action is not Action.DELETE),
            key=lambda c: (index.get(c.address, len(index)), c.address, _ACTION_RANK[c.action]),
        )
        backward = sorted(
            (c for c in fixed if c.action is Action.DELETE),
            key=lambda c: (-index.get(c.address, len(index)), c.address),
        )
        fingerprints = {str(a): lv.fingerprint for a, lv in sorted(self.live.resources.items())}
        return Plan(
            changes=tuple(forward + backward),
            stack=self.stack,
            target=self.options.target,
            manifests_digest=self.desired.digest,
            live_fingerprints=fingerprints,
            warnings=tuple(self.warnings),
            errors=tuple(self.errors),
            options=self.options,
        )


__all__ = ["PlanOptions", "plan"]


def plan(desired: DesiredState, live: LiveState, options: PlanOptions | None = None) -> Plan:
    """Compare the manifests with the account and say exactly what apply would do. Pure."""
    options = options or PlanOptions()
    planner = _Planner(desired=desired, live=live, options=options, ctx=build_context(desired, live))
    return planner.run()
