"""Plan data types. Frozen and ordered, so renderings are deterministic.

`Action` says what apply does; `Reason` only explains it to people. Apply must never branch on a reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any, ClassVar

from reconciler.model.address import Address
from reconciler.model.target import TargetIdentity
from reconciler.pricing import DEFAULT_PRICES, PriceTable

FORMAT_VERSION = "3.1"
"""Major 2: every change carries a typed `payload` and the `read_fingerprint` of what the plan read (2.1: and
says why it is destructive, `harms`, `harm_texts`). Major 3: creates and replacements carry the Create*
request apply sends (`CreatePayload.request`); 3.1: and the structured `target_identity` (account, region,
partition, endpoint, `--local` state file) that `apply PLANFILE` compares; a 3.0 file is read, but apply
refuses it: it does not say which target it is for."""


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"
    RETRAIN = "retrain"
    IMPORT = "import"
    PROMOTE = "promote"
    ADOPT = "adopt"
    NOOP = "no-op"


class ReplaceOrder(StrEnum):
    DESTROY_BEFORE_CREATE = "destroy-before-create"
    CREATE_BEFORE_DESTROY = "create-before-destroy"


class Reason(StrEnum):
    """Why an action was planned. For display only."""

    NEW = "not in the account yet"
    FIRST_VERSION = "first version"
    FIELD_CHANGED = "changed in the manifests"
    IMMUTABLE_FIELD_CHANGED = "immutable field changed"
    DEPENDENCY_REPLACED = "a resource it depends on is replaced"
    DATA_CHANGED = "data changed since the serving version"
    SOURCE_CHANGED = "source object changed since the last import"
    FIRST_IMPORT = "no successful import yet"
    TRIGGER_CHANGED = "trigger changed in the manifests"
    MAX_AGE = "newest version older than maxAge"
    REQUESTED = "requested"
    DRIFT = "changed outside the manifests"
    NOT_IN_MANIFESTS = "not in the manifests"
    UNMANAGED_NAME_MATCH = "exists without ownership tags; will be adopted"
    NEW_VERSION = "a newer solution version is available"
    REPLACEMENT = "part of a replacement"
    IN_PROGRESS = "work already in progress"
    HELD_BACK = "held back by the promotion gate"
    PRUNE_DISABLED = "prune is not enabled for this stack"
    FAILED = "last attempt failed"


class Harm(StrEnum):
    """Why a change is destructive (from the handler's plan rules `holds_data` and `stops_traffic`). For
    display only: what a destructive change needs (allowDataLoss, prune) is decided by the planner."""

    DATA_LOSS = "imported data is lost"
    STOPS_TRAFFIC = "serving stops (clients call it by ARN)"
    UNRECORDED = "destructive (the plan was saved by a release that did not record why)"


@dataclass(frozen=True, slots=True)
class FieldChange:
    path: str
    """Dotted path in the spec (`campaignConfig.itemExplorationConfig.explorationWeight`)."""
    before: Any
    after: Any
    forces_replacement: bool = False
    drift: bool = False
    """True when the live value differs from what the tool last applied (changed outside git)."""


# --- typed payloads: exactly what apply will do for a change (the plan contract) -------------------------


@dataclass(frozen=True, slots=True)
class _Payload:
    """Base of the typed payloads. `to_dict`/`from_dict` give the saved-plan form (camelCase keys)."""

    kind: ClassVar[str] = ""
    _keys: ClassVar[dict[str, str]] = {}
    """Field name -> saved key where the camelCase form is not the key (kept stable for readers)."""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, Mapping):
                value = dict(value)
            out[self._key(f.name)] = value
        return out

    @classmethod
    def _key(cls, name: str) -> str:
        if name in cls._keys:
            return cls._keys[name]
        head, *rest = name.split("_")
        return head + "".join(part[:1].upper() + part[1:] for part in rest)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Any:
        kwargs: dict[str, Any] = {}
        for f in fields(cls):
            key = cls._key(f.name)
            if key not in data:
                continue
            value = data[key]
            if isinstance(value, list):
                value = tuple(value)
            kwargs[f.name] = value
        return cls(**kwargs)


@dataclass(frozen=True, slots=True)
class CreatePayload(_Payload):
    """Create* with exactly `request`; `spec_digest` is tagged on the new resource."""

    kind: ClassVar[str] = "create"
    spec_digest: str = ""
    solution_version: str | None = None
    """Campaigns: which version it will serve (shown in the plan)."""
    request: Mapping[str, Any] = field(default_factory=dict)
    """The Create* kwargs (name, fields, tags) built at plan time by the kind's handler; apply sends them as
    they are, with only the placeholders of ARNs the plan cannot know resolved (`plan/requests.py`)."""


@dataclass(frozen=True, slots=True)
class UpdatePayload(_Payload):
    """Update* with exactly the planned updatable fields, then the planned tag changes."""

    kind: ClassVar[str] = "update"
    spec_digest: str = ""
    paths: tuple[str, ...] = ()
    """Planned updatable spec paths (not tags); apply builds the request from these and the manifest."""
    tags_set: Mapping[str, str] = field(default_factory=dict)
    tags_unset: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AdoptPayload(_Payload):
    """Tag an unmanaged resource with the ownership tags (nothing else changes)."""

    kind: ClassVar[str] = "adopt"
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ReplacePayload(_Payload):
    kind: ClassVar[str] = "replace"
    spec_digest: str = ""
    old_arn: str = ""
    old_name: str = ""
    delete_old_after: tuple[str, ...] = ()
    """Campaigns that move to the new resource before the old one is deleted."""
    request: Mapping[str, Any] = field(default_factory=dict)
    """The Create* kwargs of the new resource, as `CreatePayload.request`."""


@dataclass(frozen=True, slots=True)
class ImportPayload(_Payload):
    """CreateDatasetImportJob of `data_location` whose data fingerprint the plan read is `fingerprint`."""

    kind: ClassVar[str] = "import"
    _keys: ClassVar[dict[str, str]] = {"fingerprint": "etag"}
    data_location: str = ""
    fingerprint: str | None = None
    import_mode: str = "FULL"
    role_arn: str | None = None
    trigger: str | None = None
    local_file: str | None = None
    publish_attribution_metrics_to_s3: bool | None = None


@dataclass(frozen=True, slots=True)
class TrainPayload(_Payload):
    """CreateSolutionVersion with `training_mode`; `reason` names the training in its bookkeeping tags."""

    kind: ClassVar[str] = "retrain"
    training_mode: str = "FULL"
    trigger: str | None = None
    reason: str = "REQUESTED"
    continues: str | None = None
    """The training key of the `--retrain` training an apply that did not complete asked for: apply uses its
    version (running or ACTIVE) instead of starting another; None: a new training with a key of its own."""

    def to_dict(self) -> dict[str, Any]:
        out = _Payload.to_dict(self)
        if self.continues is None:  # the usual case: JSON and saved plans as before
            del out["continues"]
        return out


@dataclass(frozen=True, slots=True)
class PromotePayload(_Payload):
    """UpdateCampaign(solutionVersionArn) to `solution_version_arn` (None: the version this apply trains, or
    the first version of the replacement `solution_name`), if `gated` only when it passes `gate`."""

    kind: ClassVar[str] = "promote"
    _keys: ClassVar[dict[str, str]] = {"from_arn": "from"}
    solution: str = ""
    solution_version_arn: str | None = None
    from_arn: str = ""
    gated: bool = False
    gate: Mapping[str, Any] | None = None
    pinned: bool = False
    solution_name: str | None = None
    metrics: Mapping[str, float] = field(default_factory=dict)
    serving_metrics: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DeletePayload(_Payload):
    kind: ClassVar[str] = "delete"


@dataclass(frozen=True, slots=True)
class WaitPayload(_Payload):
    """Work already running on the resource: apply waits for it (never starts it again)."""

    kind: ClassVar[str] = "wait"
    running: str = ""


Payload = (
    CreatePayload
    | UpdatePayload
    | AdoptPayload
    | ReplacePayload
    | ImportPayload
    | TrainPayload
    | PromotePayload
    | DeletePayload
    | WaitPayload
)
PAYLOAD_TYPES: dict[str, type[_Payload]] = {
    t.kind: t
    for t in (
        CreatePayload,
        UpdatePayload,
        AdoptPayload,
        ReplacePayload,
        ImportPayload,
        TrainPayload,
        PromotePayload,
        DeletePayload,
        WaitPayload,
    )
}


@dataclass(frozen=True, slots=True)
class Change:
    address: Address
    action: Action
    reasons: tuple[Reason, ...] = ()
    physical_name: str = ""
    arn: str | None = None
    field_changes: tuple[FieldChange, ...] = ()
    harms: tuple[Harm, ...] = ()
    """Why it is destructive, empty when it is not: it loses imported data (deleting or replacing a kind that
    `holds_data`) and/or stops traffic (a kind that `stops_traffic`: clients call it by ARN)."""
    allowed: bool = True
    """False when the change is refused by policy (deletionProtection, data loss not allowed...)."""
    replace_order: ReplaceOrder | None = None
    new_physical_name: str | None = None
    """Create-before-destroy replacements create the new resource under this name."""
    in_progress: str | None = None
    """Status of work already running for this resource (shown, never planned twice)."""
    depends_on: tuple[Address, ...] = ()
    """Changes that must finish first (by address)."""
    notes: tuple[str, ...] = ()
    """Human notes: cost, training, held-back promotion details."""
    monthly_cost_usd: float | None = None
    """Estimated minimum monthly cost this change adds (labelled an estimate)."""
    payload: Payload | None = None
    """What apply executes, typed per action (the plan contract); apply never re-derives it."""
    read_fingerprint: str | None = None
    """`LiveResource.fingerprint` of the resource as the plan read it (None: it did not exist). Apply re-reads
    the resource before the first step on it and stops that step when it differs ("changed since the plan").
    """

    @property
    def destructive(self) -> bool:
        """Loses imported data or stops a serving resource (`harms` says which)."""
        return bool(self.harms)

    @property
    def details(self) -> dict[str, Any]:
        """The payload in its saved form (camelCase keys), for display and tests."""
        return self.payload.to_dict() if self.payload is not None else {}

    @property
    def actions_list(self) -> list[str]:
        """Terraform-style action arrays: replace is ["delete","create"] (or ["create","delete"])."""
        if self.action is Action.REPLACE:
            if self.replace_order is ReplaceOrder.CREATE_BEFORE_DESTROY:
                return ["create", "delete"]
            return ["delete", "create"]
        return [self.action.value]


@dataclass(frozen=True)
class PlanOptions:
    """Everything besides the manifests and the account that changes what is planned. `plan` and `apply` take
    the same options (commands/common.py), and a saved plan records them, so `apply PLANFILE` checks and
    compares with exactly the options the reviewed plan was made with."""

    target: str = ""
    """Label of the account/endpoint that was read (shown in every rendering; never compared)."""
    target_identity: TargetIdentity | None = None
    """Which account, region, partition, endpoint (and `--local` state file) was read: what a saved plan is
    compared on. Made by the command from its target (`Target.identity`); the planner only passes it on."""
    retrain: frozenset[str] = frozenset()
    """Logical solution names whose retraining was requested (`--retrain NAME`); a one-shot request."""
    prune: bool | None = None
    """Override the stack's prune.enabled (None: use the stack setting)."""
    allow_empty: bool | None = None
    allow_data_loss: bool | None = None
    prices: PriceTable = DEFAULT_PRICES


@dataclass(frozen=True, slots=True)
class Plan:
    changes: tuple[Change, ...]
    """Every planned change including no-ops, sorted by apply order (dependencies first)."""
    stack: str
    target: str
    """Which account/endpoint was read (`AWS account 1234 (eu-west-1)`, `local emulator`)."""
    manifests_digest: str
    live_fingerprints: Mapping[str, str] = field(default_factory=dict)
    """address -> LiveResource.fingerprint of everything read; apply refuses a stale saved plan."""
    warnings: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    """Refusals (protected resource would be deleted, data loss not allowed...). A plan with errors is not
    applyable."""
    options: PlanOptions = field(default_factory=PlanOptions)
    """The options it was made with (recorded in saved plans)."""
    target_identity: TargetIdentity | None = None
    """The structured target (`options.target_identity`); None in a plan made without one (tests, a format
    3.0 file), which `apply PLANFILE` refuses."""

    @property
    def applyable(self) -> bool:
        return not self.errors and all(c.allowed for c in self.changes)

    @property
    def has_changes(self) -> bool:
        return any(c.action is not Action.NOOP for c in self.changes)

    def count(self, action: Action) -> int:
        return sum(1 for c in self.changes if c.action is action and c.allowed)
