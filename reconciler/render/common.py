"""Wording shared by the renderers: symbols, legend, headers, the summary line."""

from __future__ import annotations

import json
from typing import Any

from reconciler.plan.planfile import summary_counts
from reconciler.plan.types import Action, Change, Plan, Reason, ReplaceOrder, TrainPayload

NO_CHANGES = "No changes. Your Personalize resources match the manifests."

SYMBOLS: dict[Action, str] = {
    Action.CREATE: "+",
    Action.UPDATE: "~",
    Action.DELETE: "-",
    Action.RETRAIN: "^",
    Action.IMPORT: "<",
    Action.PROMOTE: ">",
    Action.ADOPT: "=",
    Action.NOOP: " ",
}

LEGEND: dict[str, str] = {
    "+": "create",
    "~": "update in-place",
    "-/+": "destroy and then create replacement",
    "+/-": "create replacement and then destroy",
    "-": "destroy",
    "^": "retrain (new solution version)",
    "<": "import data (new dataset import job)",
    ">": "promote (campaign to a new solution version)",
    "=": "adopt (add ownership tags, change nothing else)",
}


def symbol(change: Change) -> str:
    if change.action is Action.REPLACE:
        return "+/-" if change.replace_order is ReplaceOrder.CREATE_BEFORE_DESTROY else "-/+"
    return SYMBOLS[change.action]


def header(change: Change) -> str:
    what = {
        Action.CREATE: "will be created",
        Action.UPDATE: "will be updated in-place",
        Action.DELETE: "will be destroyed",
        Action.RETRAIN: "will be retrained (new solution version)",
        Action.IMPORT: "will import data",
        Action.PROMOTE: "will be promoted to a new solution version",
        Action.ADOPT: "will be adopted (ownership tags added, nothing else changed)",
        Action.NOOP: "is unchanged",
    }
    if change.action is Action.REPLACE:
        if change.replace_order is ReplaceOrder.CREATE_BEFORE_DESTROY:
            text = "must be replaced (new one created first, then the old one destroyed)"
        else:
            text = "must be replaced (destroyed, then created again)"
    else:
        text = what[change.action]
    payload = change.payload
    if change.action is Action.RETRAIN and isinstance(payload, TrainPayload) and payload.continues:
        text = (
            "continues the training of an apply that did not complete (a new version only if that one failed "
            "or never started)"
        )
    if kept_orphan(change):
        text = "is not in the manifests and is kept"
    if not change.allowed:
        text += " - REFUSED"
    return text


def reason_text(change: Change) -> str:
    if kept_orphan(change):  # the summary line says why, once
        return "not in the manifests; kept"
    return "; ".join(r.value for r in change.reasons)


def harm_text(change: Change) -> str:
    """Why the change is destructive, in words ("" when it is not): recorded on the change by the planner
    from the handler's rules (`holds_data`: imported data is lost; `stops_traffic`: serving stops)."""
    return "; ".join(h.value for h in change.harms)


def destructive_changes(plan: Plan) -> list[Change]:
    """The destructive changes in plan (= apply) order: what every rendering lists before anything else."""
    return [c for c in plan.changes if c.destructive]


def kept_orphan(change: Change) -> bool:
    """A resource no longer in the manifests that stays because prune is off."""
    return change.action is Action.NOOP and Reason.PRUNE_DISABLED in change.reasons


_STATUS_WORDS = {
    "CREATE PENDING": "pending",
    "CREATE IN_PROGRESS": "in progress",
    "CREATE STOPPING": "stopping",
    "DELETE PENDING": "deletion pending",
    "DELETE IN_PROGRESS": "being deleted",
    "STOP PENDING": "stop pending",
    "STOP IN_PROGRESS": "stopping",
    "START PENDING": "start pending",
    "START IN_PROGRESS": "starting",
}


def in_progress_text(change: Change) -> str:
    """The running work in words: `update CREATE PENDING` (a latest*Update summary) is "update pending";
    a resource being created is "being created (pending)"."""
    raw = change.in_progress or ""
    if raw.startswith("update "):
        status = raw[len("update ") :]
        return "update " + _STATUS_WORDS.get(status, status.lower())
    if raw.startswith("CREATE "):
        return "being created (" + _STATUS_WORDS.get(raw, raw.lower()) + ")"
    return _STATUS_WORDS.get(raw, raw)


def shown_notes(change: Change) -> tuple[str, ...]:
    """Notes minus those that only repeat a reason (`kept: prune is not enabled...`)."""
    reasons = {r.value for r in change.reasons}
    return tuple(n for n in change.notes if not (n.startswith("kept: ") and n[len("kept: ") :] in reasons))


def value(v: Any) -> str:
    if v is None:
        return "(none)"
    return json.dumps(v, sort_keys=True, default=str)


def _item_key(item: Any) -> Any:
    return item.get("name") if isinstance(item, dict) and "name" in item else value(item)


def _list_lines(path: str, before: list[Any], after: list[Any], suffix: str) -> list[str] | None:
    """Element-wise lines for a changed list (schema fields...): only what was added, removed or changed,
    by `name` when the elements have one. None when the list is better shown whole (reordered only)."""
    old = {_item_key(i): i for i in before}
    new = {_item_key(i): i for i in after}
    if len(old) != len(before) or len(new) != len(after):
        return None
    lines = []
    for key, item in new.items():
        if key not in old:
            lines.append(f"+ {path}[+]: {value(item)}{suffix}")
        elif old[key] != item:
            lines.append(f"~ {path}[{key}]: {value(old[key])} -> {value(item)}{suffix}")
    lines += [f"- {path}[-]: {value(item)}{suffix}" for key, item in old.items() if key not in new]
    return lines or None


def field_lines(change: Change) -> list[str]:
    lines = []
    for f in change.field_changes:
        mark = "~"
        if f.before is None:
            mark = "+"
        elif f.after is None:
            mark = "-"
        suffix = ""
        if f.forces_replacement:
            suffix += "  # forces replacement"
        if f.drift:
            suffix += "  # changed outside the manifests"
        if isinstance(f.before, list) and isinstance(f.after, list):
            items = _list_lines(f.path, f.before, f.after, suffix)
            if items is not None:
                lines += items
                continue
        lines.append(f"{mark} {f.path}: {value(f.before)} -> {value(f.after)}{suffix}")
    return lines


def summary_line(plan: Plan) -> str:
    if not plan.has_changes and plan.errors:  # refused: never "No changes" (nothing matches the manifests)
        n = len(plan.errors)
        return f"The plan is refused ({n} error{'s' if n != 1 else ''}): nothing is applied until fixed."
    if not plan.has_changes:
        kept = [c for c in plan.changes if kept_orphan(c)]
        if kept:
            n = len(kept)
            return (
                f"No changes to apply. {n} resource{'s' if n != 1 else ''} no longer in the manifests "
                f"{'are' if n != 1 else 'is'} kept because prune is off "
                f"(set prune.enabled: true in the Stack to delete {'them' if n != 1 else 'it'})."
            )
        if any(shown(c) for c in plan.changes):
            return "No changes to apply; see the work already running or held back."
        return NO_CHANGES
    counts = summary_counts(plan)
    text = (
        f"Plan: {counts['create']} to create, {counts['update']} to update, {counts['replace']} to replace, "
        f"{counts['delete']} to delete, {counts['retrain']} to retrain, {counts['promote']} to promote"
    )
    if counts["import"]:
        text += f", {counts['import']} to import"
    if counts["adopt"]:
        text += f", {counts['adopt']} to adopt"
    return text + "."


def shown(change: Change) -> bool:
    """No-ops are listed only when they carry something to say (held back, in progress, kept orphan)."""
    return change.action is not Action.NOOP or bool(change.reasons or change.in_progress)


def legend_keys(plan: Plan) -> list[str]:
    seen = {symbol(c) for c in plan.changes if c.action is not Action.NOOP}
    return [k for k in LEGEND if k in seen]


def money_notes(plan: Plan) -> list[str]:
    out = []
    for change in plan.changes:
        for note in change.notes:
            if "$" in note or "billed" in note or "bills" in note:
                out.append(f"{change.address}: {note}")
    return out
