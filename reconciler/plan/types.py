"""Plan data types. Frozen and ordered, so renderings are deterministic.

`Action` says what apply does; `Reason` only explains it to people. Apply must never branch on a reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from reconciler.model.address import Address
from reconciler.pricing import DEFAULT_PRICES, PriceTable

FORMAT_VERSION = "1.0"


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


@dataclass(frozen=True, slots=True)
class FieldChange:
    path: str
    """Dotted path in the spec (`campaignConfig.itemExplorationConfig.explorationWeight`)."""
    before: Any
    after: Any
    forces_replacement: bool = False
    drift: bool = False
    """True when the live value differs from what the tool last applied (changed outside git)."""


@dataclass(frozen=True, slots=True)
class Change:
    address: Address
    action: Action
    reasons: tuple[Reason, ...] = ()
    physical_name: str = ""
    arn: str | None = None
    field_changes: tuple[FieldChange, ...] = ()
    destructive: bool = False
    """Loses imported data (dataset/dataset group delete or replace) or stops a serving resource."""
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
    details: Mapping[str, Any] = field(default_factory=dict)
    """Action-specific data apply needs: e.g. retrain {"trainingMode": "FULL"}; promote
    {"solutionVersionArn": ..., "from": ..., "metrics": {...}}; import {"dataLocation": ..., "etag": ...}."""

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
    """Label of the account/endpoint that was read (shown in every rendering)."""
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

    @property
    def applyable(self) -> bool:
        return not self.errors and all(c.allowed for c in self.changes)

    @property
    def has_changes(self) -> bool:
        return any(c.action is not Action.NOOP for c in self.changes)

    def count(self, action: Action) -> int:
        return sum(1 for c in self.changes if c.action is action and c.allowed)
