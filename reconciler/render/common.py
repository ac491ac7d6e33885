"""Wording shared by the renderers: symbols, legend, headers, the summary line."""

from __future__ import annotations

import json
from typing import Any

from reconciler.plan.planfile import summary_counts
from reconciler.plan.types import Action, Change, Plan, ReplaceOrder

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
    if not change.allowed:
        text += " - REFUSED"
    return text


def reason_text(change: Change) -> str:
    return "; ".join(r.value for r in change.reasons)


def value(v: Any) -> str:
    if v is None:
        return "(none)"
    return json.dumps(v, sort_keys=True, default=str)


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
        lines.append(f"{mark} {f.path}: {value(f.before)} -> {value(f.after)}{suffix}")
    return lines


def summary_line(plan: Plan) -> str:
    if not plan.has_changes:
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
