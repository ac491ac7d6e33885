"""Plan <-> JSON-able dict, and saved plan files (`plan --out PLANFILE`, `apply PLANFILE`).

The dict is the JSON rendering (`reconciler.render.json`) plus everything apply needs to act on it without
planning again: the manifests' digest, a fingerprint of every live resource read (apply refuses a stale plan),
and each change in full (`details`, field changes, dependencies). `plan_from_dict(plan_to_dict(p)) == p`.

`save`/`load` use the builtin `open` only; everything else here is pure.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from reconciler.errors import PlanError
from reconciler.model.address import Address
from reconciler.model.target import TargetIdentity
from reconciler.plan.types import (
    FORMAT_VERSION,
    PAYLOAD_TYPES,
    Action,
    Change,
    FieldChange,
    Harm,
    Payload,
    Plan,
    PlanOptions,
    Reason,
    ReplaceOrder,
)
from reconciler.pricing import DEFAULT_PRICES

#: Order of the summary keys (also the order of the summary line).
SUMMARY_ACTIONS = (
    Action.CREATE,
    Action.UPDATE,
    Action.REPLACE,
    Action.DELETE,
    Action.RETRAIN,
    Action.PROMOTE,
    Action.IMPORT,
    Action.ADOPT,
)


def summary_counts(plan: Plan) -> dict[str, int]:
    counts = {action.value: plan.count(action) for action in SUMMARY_ACTIONS}
    counts[Action.NOOP.value] = plan.count(Action.NOOP)
    counts["refused"] = sum(1 for c in plan.changes if not c.allowed)
    return counts


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def field_change_to_dict(change: FieldChange) -> dict[str, Any]:
    return {
        "path": change.path,
        "before": _jsonable(change.before),
        "after": _jsonable(change.after),
        "forces_replacement": change.forces_replacement,
        "drift": change.drift,
    }


def change_to_dict(change: Change) -> dict[str, Any]:
    return {
        "address": str(change.address),
        "kind": change.address.kind.value,
        "name": change.address.name,
        "physical_name": change.physical_name,
        "arn": change.arn,
        "action": change.action.value,
        "actions": change.actions_list,
        "change": {
            "actions": change.actions_list,
            "fields": [field_change_to_dict(f) for f in change.field_changes],
            "replace_paths": [f.path for f in change.field_changes if f.forces_replacement],
        },
        "reasons": [r.name for r in change.reasons],
        "reason_texts": [r.value for r in change.reasons],
        "destructive": change.destructive,
        "harms": [h.name for h in change.harms],
        "harm_texts": [h.value for h in change.harms],
        "allowed": change.allowed,
        "replace_order": change.replace_order.value if change.replace_order else None,
        "new_physical_name": change.new_physical_name,
        "in_progress": change.in_progress,
        "depends_on": [str(a) for a in change.depends_on],
        "notes": list(change.notes),
        "monthly_cost_usd": change.monthly_cost_usd,
        "payload_kind": change.payload.kind if change.payload is not None else None,
        "details": _jsonable(change.details),
        "read_fingerprint": change.read_fingerprint,
    }


def options_to_dict(options: PlanOptions) -> dict[str, Any]:
    """The plan-changing options (the target's label and identity are the plan's own `target` and
    `target_identity`)."""
    return {
        "retrain": sorted(options.retrain),
        "prune": options.prune,
        "allow_empty": options.allow_empty,
        "allow_data_loss": options.allow_data_loss,
        "prices": options.prices.as_dict(),
    }


def options_from_dict(
    data: Mapping[str, Any], target: str, identity: TargetIdentity | None = None
) -> PlanOptions:
    def flag(key: str) -> bool | None:
        value = data.get(key)
        return None if value is None else bool(value)

    return PlanOptions(
        target=target,
        target_identity=identity,
        retrain=frozenset(str(n) for n in data.get("retrain") or ()),
        prune=flag("prune"),
        allow_empty=flag("allow_empty"),
        allow_data_loss=flag("allow_data_loss"),
        prices=DEFAULT_PRICES.with_overrides(dict(data.get("prices") or {})),
    )


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    drift = [
        {"address": str(c.address), "fields": [field_change_to_dict(f) for f in c.field_changes if f.drift]}
        for c in plan.changes
        if any(f.drift for f in c.field_changes)
    ]
    return {
        "format_version": FORMAT_VERSION,
        "stack": plan.stack,
        "target": plan.target,
        "target_identity": plan.target_identity.to_dict() if plan.target_identity is not None else None,
        "manifests_digest": plan.manifests_digest,
        "options": options_to_dict(plan.options),
        "applyable": plan.applyable,
        "has_changes": plan.has_changes,
        "complete": True,
        "errored": bool(plan.errors),
        "summary": summary_counts(plan),
        "errors": list(plan.errors),
        "warnings": list(plan.warnings),
        "resource_changes": [change_to_dict(c) for c in plan.changes],
        "resource_drift": drift,
        "live_fingerprints": dict(sorted(plan.live_fingerprints.items())),
    }


def _field_change(data: Mapping[str, Any]) -> FieldChange:
    return FieldChange(
        path=str(data["path"]),
        before=data.get("before"),
        after=data.get("after"),
        forces_replacement=bool(data.get("forces_replacement")),
        drift=bool(data.get("drift")),
    )


def change_from_dict(data: Mapping[str, Any]) -> Change:
    order = data.get("replace_order")
    cost = data.get("monthly_cost_usd")
    return Change(
        address=Address.parse(str(data["address"])),
        action=Action(data["action"]),
        reasons=tuple(Reason[name] for name in data.get("reasons", [])),
        physical_name=str(data.get("physical_name") or ""),
        arn=data.get("arn"),
        field_changes=tuple(_field_change(f) for f in data.get("change", {}).get("fields", [])),
        harms=_harms(data),
        allowed=bool(data.get("allowed", True)),
        replace_order=ReplaceOrder(order) if order else None,
        new_physical_name=data.get("new_physical_name"),
        in_progress=data.get("in_progress"),
        depends_on=tuple(Address.parse(a) for a in data.get("depends_on", [])),
        notes=tuple(data.get("notes", [])),
        monthly_cost_usd=float(cost) if cost is not None else None,
        payload=_payload(data),
        read_fingerprint=data.get("read_fingerprint"),
    )


def _harms(data: Mapping[str, Any]) -> tuple[Harm, ...]:
    """Why the change is destructive; a format 2.0 plan records only that it is (`destructive`)."""
    harms = tuple(Harm[name] for name in data.get("harms", []))
    if not harms and data.get("destructive"):
        return (Harm.UNRECORDED,)
    return harms


def _payload(data: Mapping[str, Any]) -> Payload | None:
    kind = data.get("payload_kind")
    if kind is None:
        return None
    if kind not in PAYLOAD_TYPES:
        raise ValueError(f"unknown payload kind {kind!r}")
    payload: Payload = PAYLOAD_TYPES[str(kind)].from_dict(data.get("details") or {})
    return payload


def plan_from_dict(data: Mapping[str, Any]) -> Plan:
    version = str(data.get("format_version", ""))
    if version.split(".")[0] != FORMAT_VERSION.split(".")[0]:
        raise PlanError(
            f"unsupported plan format_version {version!r} (this tool reads {FORMAT_VERSION}): plan files of "
            "format 1 carry no typed payloads and those of format 2 no create requests, so apply cannot know "
            "exactly what was reviewed; nothing was changed",
            hint="create the plan again with this version of personalize-gitops (`plan --out PLANFILE`)",
        )
    try:
        identity = _target_identity(data.get("target_identity"))
        return Plan(
            changes=tuple(change_from_dict(c) for c in data["resource_changes"]),
            stack=str(data["stack"]),
            target=str(data.get("target", "")),
            manifests_digest=str(data["manifests_digest"]),
            live_fingerprints=dict(data.get("live_fingerprints", {})),
            warnings=tuple(data.get("warnings", [])),
            errors=tuple(data.get("errors", [])),
            options=options_from_dict(data.get("options") or {}, str(data.get("target", "")), identity),
            target_identity=identity,
        )
    except (KeyError, ValueError, TypeError, AttributeError) as exc:  # a value of the wrong JSON type
        raise PlanError(
            f"the plan file is damaged ({type(exc).__name__}: {exc})",
            hint="create it again with `plan --out`",
        ) from exc


def _target_identity(data: Any) -> TargetIdentity | None:
    """A plan's `target_identity` (format 3.1); None when absent (a format 3.0 plan, which apply refuses)."""
    return None if data is None else TargetIdentity.from_dict(data)


#: Keys of the saved plan that describe a moment, not the decision (none today; listed so a later timestamp
#: field cannot silently change the digest).
VOLATILE_KEYS = frozenset({"created_at", "timestamp", "generated_at"})


def canonical_json(plan: Plan) -> str:
    """The saved-plan payload as canonical JSON: sorted keys, no whitespace, no volatile (time) keys."""
    data = {k: v for k, v in plan_to_dict(plan).items() if k not in VOLATILE_KEYS}
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def plan_digest(plan: Plan) -> str:
    """`sha256:<hex>` of the canonical saved-plan payload: the identity of a reviewed plan.

    Two plans with the same digest run the same steps; `plan_digest(load(path))` equals the digest of the plan
    that was saved there (the round trip is exact). CI records it next to an approval and apply can compare.
    """
    return "sha256:" + hashlib.sha256(canonical_json(plan).encode("utf-8")).hexdigest()


def dumps(plan: Plan) -> str:
    return json.dumps(plan_to_dict(plan), indent=2) + "\n"


def loads(text: str, source: str = "plan file") -> Plan:
    again = "create it again with `plan --out`"
    if not text.strip():
        raise PlanError(f"{source}: not a personalize-gitops plan (the file is empty)", hint=again)
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:  # RecursionError: nested deeper than the parser goes
        raise PlanError(f"{source}: not a personalize-gitops plan (invalid JSON: {exc})", hint=again) from exc
    if not isinstance(data, Mapping) or "resource_changes" not in data:
        raise PlanError(f"{source}: not a personalize-gitops plan (no resource_changes)", hint=again)
    try:
        return plan_from_dict(data)
    except PlanError as exc:
        raise PlanError(f"{source}: {exc.message}", hint=exc.hint) from exc


def save(plan: Plan, path: str) -> None:
    """Write the plan file (the JSON rendering plus what apply needs)."""
    try:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(dumps(plan))
    except OSError as exc:
        raise PlanError(f"cannot write the plan file {path}: {exc.strerror}") from exc


def load(path: str) -> Plan:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        raise PlanError(
            f"cannot read the plan file {path}: {exc.strerror or exc}",
            hint="pass the path `plan --out` wrote (or make it readable), or run plan --out again",
        ) from exc
    except UnicodeDecodeError as exc:
        raise PlanError(
            f"{path}: not a personalize-gitops plan (byte {exc.start} is not UTF-8)",
            hint="create it again with `plan --out`",
        ) from exc
    return loads(text, source=path)
