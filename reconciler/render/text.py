"""Terminal rendering (Terraform-like). Colours only when asked (the CLI asks when stdout is a TTY)."""

from __future__ import annotations

from reconciler.plan.types import Action, Change, Plan
from reconciler.render.common import (
    LEGEND,
    destructive_changes,
    field_lines,
    harm_text,
    header,
    in_progress_text,
    kept_orphan,
    legend_keys,
    reason_text,
    shown,
    shown_notes,
    summary_line,
    symbol,
)

_COLOURS = {
    "+": "32",
    "~": "33",
    "-": "31",
    "-/+": "31",
    "+/-": "31",
    "^": "36",
    "<": "34",
    ">": "35",
    "=": "36",
    " ": "0",
}


def _paint(text: str, code: str, colour: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if colour and code != "0" else text


def _block(change: Change, colour: bool) -> list[str]:
    sym = symbol(change)
    name = change.physical_name
    if change.new_physical_name:
        name += f" -> {change.new_physical_name}"
    lines = [
        f"  # {change.address} {header(change)}",
        _paint(f"{sym:>3} {change.address}", _COLOURS.get(sym, "0"), colour)
        + (f"  ({name})" if name else ""),
    ]
    lines += [f"      {line}" for line in field_lines(change)]
    if change.reasons and not kept_orphan(change):
        lines.append("      why: " + reason_text(change))
    if change.in_progress:
        lines.append(f"      in progress: {in_progress_text(change)}")
    if change.destructive:
        lines.append(_paint(f"      destructive: {harm_text(change)}", "31", colour))
    lines += [f"      note: {note}" for note in shown_notes(change)]
    if change.depends_on:
        lines.append("      after: " + ", ".join(str(a) for a in change.depends_on))
    return lines


_DESTROYS = {Action.DELETE: "destroyed", Action.REPLACE: "replaced"}


def destructive_block(plan: Plan, colour: bool) -> list[str]:
    """Every destructive change, one line each, before the full plan (which lists changes in apply order,
    deletes last): what is destroyed or replaced, and why that is destructive."""
    found = destructive_changes(plan)
    if not found:
        return []
    head = f"Destructive changes ({len(found)}); apply runs them in the order of the full plan below:"
    lines = [_paint(head, "31;1", colour)]
    for change in found:
        sym = symbol(change)
        what = _DESTROYS.get(change.action, change.action.value)
        refused = " - REFUSED" if not change.allowed else ""
        lines.append(
            _paint(f"{sym:>5} {change.address}", _COLOURS.get(sym, "0"), colour)
            + (f"  ({change.physical_name})" if change.physical_name else "")
            + f" {what}{refused}: {harm_text(change)}"
        )
    return [*lines, ""]


def confirm_question(plan: Plan) -> str:
    """What interactive apply asks after showing the plan: it names the destructive changes listed first."""
    n = len(destructive_changes(plan))
    if not n:
        return "Apply these changes?"
    return f"Apply these changes, including the {n} destructive one{'s' if n != 1 else ''} listed first?"


def render_text(plan: Plan, *, colour: bool = False) -> str:
    out = [f'Personalize plan for stack "{plan.stack}" against {plan.target or "an unnamed target"}', ""]
    if not plan.has_changes:
        kept = [c for c in plan.changes if shown(c)]
        for change in kept:
            out += _block(change, colour)
            out.append("")
        out += [f"Warning: {w}" for w in plan.warnings]
        out += [_paint(f"Error: {e}", "31", colour) for e in plan.errors]  # a plan of no-ops can be refused
        if not plan.applyable:
            out.append(_paint("This plan cannot be applied: fix the errors above first.", "31", colour))
        out.append(summary_line(plan))
        return "\n".join(out) + "\n"
    out += destructive_block(plan, colour)
    out.append("Resource actions are indicated with the following symbols:")
    out += [f"  {_paint(f'{k:>3}', _COLOURS.get(k, '0'), colour)} {LEGEND[k]}" for k in legend_keys(plan)]
    out += ["", "personalize-gitops will perform the following actions:", ""]
    for change in plan.changes:
        if change.action is not Action.NOOP:
            out += _block(change, colour)
            out.append("")
    quiet = [c for c in plan.changes if c.action is Action.NOOP and shown(c)]
    if quiet:
        out += ["Unchanged, but worth knowing:", ""]
        for change in quiet:
            out += _block(change, colour)
            out.append("")
    for warning in plan.warnings:
        out.append(_paint(f"Warning: {warning}", "33", colour))
    for error in plan.errors:
        out.append(_paint(f"Error: {error}", "31", colour))
    if plan.warnings or plan.errors:
        out.append("")
    if not plan.applyable:
        out.append(_paint("This plan cannot be applied: fix the errors above first.", "31", colour))
    out.append(_paint(summary_line(plan), "1", colour))
    return "\n".join(out) + "\n"
