"""Markdown rendering for pull-request comments.

Layout: hidden sticky-comment marker, title, the summary line (always first), target, errors, every
destructive change (never folded), a table of all changes, cost and training notes (estimates), held-back /
in-progress notes, then one `<details>` block per resource with its field diff, and warnings.

GitHub refuses comments over 65,536 characters. The output always stays under `limit`: whole `<details>`
blocks are dropped from the middle first (head and tail kept, a note says how many were left out), then the
middle of the change table, then of the notes; the summary and the destructive list come first and are the
last thing ever shortened.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from reconciler.plan.types import Action, Change, Plan
from reconciler.render.common import (
    LEGEND,
    field_lines,
    header,
    legend_keys,
    money_notes,
    reason_text,
    shown,
    summary_line,
    symbol,
)

GITHUB_LIMIT = 65_536
DEFAULT_LIMIT = GITHUB_LIMIT - 536
"""Leave room for whatever a CI step adds around the body."""


def marker(stack: str) -> str:
    return f"<!-- personalize-gitops:plan:{stack} -->"


def _esc(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    return "`" + text.replace("`", "'") + "`"


def _fence(lines: list[str]) -> str:
    body = "\n".join(lines).replace("```", "ˋˋˋ")
    return f"```diff\n{body}\n```"


@dataclass
class _Section:
    head: list[str]
    items: list[str]
    tail: list[str] = field(default_factory=list)
    what: str = "items"
    omitted: int = 0

    def text(self) -> str:
        if not self.items and not self.head:
            return ""
        items = list(self.items)
        if self.omitted:
            keep_head = (len(items) + 1) // 2
            note = (
                f"\n> :scissors: {self.omitted} {self.what} omitted here to stay under GitHub's "
                "65,536-character comment limit; run `personalize-gitops plan --format json` "
                "for the full plan.\n"
            )
            items = [*items[:keep_head], note, *items[keep_head:]]
        return "\n".join([*self.head, *items, *self.tail]) + "\n"

    def drop_middle(self) -> bool:
        if not self.items:
            return False
        del self.items[len(self.items) // 2]
        self.omitted += 1
        return True


def _destructive_line(change: Change) -> str:
    refused = " **(refused)**" if not change.allowed else ""
    why = reason_text(change)
    forcing = [f.path for f in change.field_changes if f.forces_replacement]
    extra = f" (forced by {', '.join(forcing)})" if forcing else ""
    return (
        f"- {_code(symbol(change))} **{change.address}** {_code(change.physical_name)}: {why}{extra}{refused}"
    )


def _row(change: Change) -> str:
    name = change.physical_name + (f" → {change.new_physical_name}" if change.new_physical_name else "")
    status = f" (in progress: {change.in_progress})" if change.in_progress else ""
    refused = " **refused**" if not change.allowed else ""
    why = reason_text(change)
    return (
        f"| {_code(symbol(change))} | {_esc(str(change.address))} | {_esc(name)} | "
        f"{_esc(header(change))}{refused} | {_esc(why)}{_esc(status)} |"
    )


def _details(change: Change) -> str:
    lines = field_lines(change)
    body = [_fence(lines)] if lines else []
    for note in change.notes:
        body.append(f"- {note}")
    if change.depends_on:
        body.append("- after: " + ", ".join(_code(str(a)) for a in change.depends_on))
    summary = f"<code>{symbol(change).strip() or '·'}</code> {change.address} {header(change)}"
    return "<details><summary>" + summary + "</summary>\n\n" + "\n".join(body) + "\n\n</details>"


def render_markdown(plan: Plan, *, limit: int = DEFAULT_LIMIT) -> str:
    ok = plan.applyable
    title_mark = ":white_check_mark:" if ok else ":x:"
    top = [
        marker(plan.stack),
        f"## {title_mark} Personalize plan: `{plan.stack}`",
        "",
        f"**{summary_line(plan)}**",
        "",
        f"Target: {_code(plan.target or 'unnamed target')} · manifests {_code(plan.manifests_digest[:19])}"
        + ("" if ok else " · **not applyable**"),
        "",
    ]
    sections: list[_Section] = []
    if plan.errors:
        sections.append(
            _Section(["### :x: Errors (the plan is refused)", ""], [f"- {_esc(e)}" for e in plan.errors])
        )
    destructive = [c for c in plan.changes if c.destructive or c.action in (Action.DELETE, Action.REPLACE)]
    if destructive:
        sections.append(
            _Section(
                ["### :warning: Resource deletion or replacement will happen", ""],
                [_destructive_line(c) for c in destructive],
                what="destructive changes",
            )
        )
    changed = [c for c in plan.changes if c.action is not Action.NOOP]
    if changed:
        legend = " · ".join(f"{_code(k)} {LEGEND[k]}" for k in legend_keys(plan))
        sections.append(
            _Section(
                [
                    "### Changes",
                    "",
                    legend,
                    "",
                    "| | resource | physical name | action | why |",
                    "|---|---|---|---|---|",
                ],
                [_row(c) for c in changed],
                what="rows",
            )
        )
    drifted = [c for c in plan.changes if any(f.drift for f in c.field_changes)]
    if drifted:
        sections.append(
            _Section(
                ["### :information_source: Changed outside the manifests (drift)", ""],
                [
                    f"- **{c.address}**: "
                    + ", ".join(_code(f.path) for f in c.field_changes if f.drift)
                    + " (apply sets the manifests' values back)"
                    for c in drifted
                ],
                what="notes",
            )
        )
    costs = money_notes(plan)
    if costs:
        sections.append(
            _Section(
                ["### :moneybag: Cost and training (estimates)", ""],
                [f"- {_esc(n)}" for n in costs],
                what="notes",
            )
        )
    quiet = [c for c in plan.changes if c.action is Action.NOOP and shown(c)]
    if quiet:
        items = []
        for change in quiet:
            why = reason_text(change)
            status = f" (in progress: {change.in_progress})" if change.in_progress else ""
            notes = "".join(f"<br>{_esc(n)}" for n in change.notes)
            items.append(f"- **{change.address}**: {_esc(why)}{_esc(status)}{notes}")
        sections.append(_Section(["### Unchanged, but worth knowing", ""], items, what="notes"))
    detail_changes = [c for c in changed if c.field_changes or c.notes]
    details = _Section(
        ["### Details", ""] if detail_changes else [],
        [_details(c) for c in detail_changes],
        what="resource diffs",
    )
    tail: list[str] = []
    if plan.warnings:
        tail += ["### Warnings", "", *(f"- {_esc(w)}" for w in plan.warnings), ""]
    tail.append(
        "<sub>Costs are estimates from personalize-gitops' price table, not a bill. "
        "Apply runs these changes in the order shown.</sub>"
    )

    def assemble() -> str:
        parts = ["\n".join(top)]
        parts += [s.text() for s in sections]
        parts.append(details.text())
        parts.append("\n".join(tail) + "\n")
        return "\n".join(p for p in parts if p)

    text = assemble()
    # Shrink order: details, then the change table, then notes, then (last resort) the destructive list.
    victims = [details] + [s for s in sections if s.what in ("rows", "notes")]
    victims += [s for s in sections if s.what == "destructive changes"]
    for victim in victims:
        while len(text) > limit and victim.drop_middle():
            # Drop in larger steps when far over the limit (keeps this linear for huge plans).
            excess = len(text) - limit
            average = max(1, len(victim.text()) // max(1, len(victim.items)))
            for _ in range(min(len(victim.items) // 2, excess // average)):
                victim.drop_middle()
            text = assemble()
        if len(text) <= limit:
            break
    if len(text) > limit:  # pathological: even the skeleton is too long (thousands of errors)
        cut = limit - 200
        text = text[:cut] + "\n\n> :scissors: output truncated to fit GitHub's comment limit.\n"
    return text
