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

from collections.abc import Mapping
from dataclasses import dataclass, field

from reconciler.plan.types import Action, Change, Plan, Reason
from reconciler.render.common import (
    LEGEND,
    field_lines,
    harm_text,
    header,
    in_progress_text,
    legend_keys,
    money_notes,
    reason_text,
    shown,
    shown_notes,
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
    why = "; ".join(t for t in (harm_text(change), reason_text(change)) if t)
    forcing = [f.path for f in change.field_changes if f.forces_replacement]
    extra = f" (forced by {', '.join(forcing)})" if forcing else ""
    return (
        f"- {_code(symbol(change))} **{change.address}** {_code(change.physical_name)}: {why}{extra}{refused}"
    )


def _row(change: Change) -> str:
    name = change.physical_name + (f" → {change.new_physical_name}" if change.new_physical_name else "")
    status = f" (in progress: {in_progress_text(change)})" if change.in_progress else ""
    refused = " **refused**" if not change.allowed else ""
    why = reason_text(change)
    return (
        f"| {_code(symbol(change))} | {_esc(str(change.address))} | {_esc(name)} | "
        f"{_esc(header(change))}{refused} | {_esc(why)}{_esc(status)} |"
    )


def _details(change: Change) -> str:
    lines = field_lines(change)
    body = [_fence(lines)] if lines else []
    for note in shown_notes(change):
        body.append(f"- {note}")
    if change.depends_on:
        body.append("- after: " + ", ".join(_code(str(a)) for a in change.depends_on))
    summary = f"<code>{symbol(change).strip() or '·'}</code> {change.address} {header(change)}"
    return "<details><summary>" + summary + "</summary>\n\n" + "\n".join(body) + "\n\n</details>"


MERMAID_MAX_NODES = 60
"""Bigger plans skip the graph (GitHub renders large graphs unreadably small); the table keeps the order."""


def mermaid_graph(plan: Plan) -> str:
    """The order of the changes as a Mermaid flowchart (GitHub renders it in comments), when some change
    waits for another; "" otherwise. One node per change, an arrow from each change to those that wait
    for it."""
    changed = [c for c in plan.changes if c.action is not Action.NOOP]
    if not changed or len(changed) > MERMAID_MAX_NODES:
        return ""
    ids = {id(c): f"n{i}" for i, c in enumerate(changed)}
    edges: list[str] = []
    for position, change in enumerate(changed):
        for dependency in change.depends_on:
            before = [c for c in changed[:position] if c.address == dependency]
            for source in before[-1:]:  # the latest change of that resource is the one waited for
                edges.append(f"  {ids[id(source)]} --> {ids[id(change)]}")
        same = [c for c in changed[:position] if c.address == change.address]
        if same:  # a resource's own steps run in plan order (replace, then retrain, then promote)
            edges.append(f"  {ids[id(same[-1])]} --> {ids[id(change)]}")
    if not edges:
        return ""
    edges = _reduce(sorted(set(edges), key=edges.index))
    lines = ["```mermaid", "flowchart LR"]
    for change in changed:
        label = f"{symbol(change).strip()} {change.address}".replace('"', "#quot;")
        lines.append(f'  {ids[id(change)]}["{label}"]')
    lines += edges
    lines.append("```")
    return "\n".join(lines)


def _reduce(edges: list[str]) -> list[str]:
    """Drop an arrow a --> c when a path a --> b --> ... --> c shows the same order (fewer lines to read)."""
    pairs = [tuple(e.strip().split(" --> ")) for e in edges]
    after: dict[str, set[str]] = {}
    for a, b in pairs:
        after.setdefault(a, set()).add(b)

    def reachable(start: str, goal: str, skip: tuple[str, str]) -> bool:
        seen, todo = set(), [start]
        while todo:
            node = todo.pop()
            for nxt in after.get(node, ()):
                if (node, nxt) == skip or nxt in seen:
                    continue
                if nxt == goal:
                    return True
                seen.add(nxt)
                todo.append(nxt)
        return False

    return [e for e, (a, b) in zip(edges, pairs, strict=True) if not reachable(a, b, (a, b))]


def _metric(value: object) -> str:
    return f"{value:.4f}" if isinstance(value, int | float) else "-"


def gate_table(change: Change) -> str:
    """A held-back promotion: both versions' metrics side by side with the gate's thresholds."""
    if Reason.HELD_BACK not in change.reasons:
        return ""
    details = change.details
    candidate = details.get("metrics")
    serving = details.get("servingMetrics")
    if not isinstance(candidate, Mapping) or not isinstance(serving, Mapping):
        return ""
    gate = details.get("gate") if isinstance(details.get("gate"), Mapping) else {}
    minimums = gate.get("minimums") or {} if isinstance(gate, Mapping) else {}
    regression = gate.get("maxRegression") or {} if isinstance(gate, Mapping) else {}
    names = sorted(set(minimums) | set(regression)) or sorted(set(candidate) | set(serving))
    old = str(details.get("from") or "-").rsplit("/", 1)[-1]
    new = str(details.get("solutionVersionArn") or "-").rsplit("/", 1)[-1]
    rows = [
        f"| metric | serving `{old}` | candidate `{new}` | gate | |",
        "|---|---|---|---|---|",
    ]
    for name in names:
        now, then = candidate.get(name), serving.get(name)
        rules, ok = [], True
        if name in minimums:
            rules.append(f">= {minimums[name]}")
            ok = ok and isinstance(now, int | float) and now >= minimums[name]
        if name in regression:
            rules.append(f"at most {regression[name]:.0%} worse")
            if isinstance(then, int | float):
                ok = ok and isinstance(now, int | float) and now >= then * (1.0 - regression[name])
        verdict = (":white_check_mark:" if ok else ":x:") if rules else ""
        rows.append(f"| {name} | {_metric(then)} | {_metric(now)} | {'; '.join(rules) or '-'} | {verdict} |")
    return "\n".join(rows)


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
    destructive = [c for c in plan.changes if c.destructive or not c.allowed]
    if destructive:
        sections.append(
            _Section(
                ["### :warning: Data will be lost or serving will stop", ""],
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
    graph = mermaid_graph(plan)
    if graph:
        sections.append(
            _Section(
                [
                    "### Order of the changes",
                    "",
                    "Apply runs a change only after the ones its arrow comes from.",
                    "",
                ],
                [graph],
                what="graphs",
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
            status = f" (in progress: {in_progress_text(change)})" if change.in_progress else ""
            table = gate_table(change)
            notes = shown_notes(change)
            if table:  # the table shows the metrics; keep only the gate's verdicts
                notes = tuple(n for n in notes if not n.startswith(("new version ", "serving version ")))
            text = "".join(f"<br>{_esc(n)}" for n in notes)
            items.append(
                f"- **{change.address}**: {_esc(why)}{_esc(status)}{text}"
                + (f"\n\n{table}\n" if table else "")
            )
        sections.append(_Section(["### Unchanged, but worth knowing", ""], items, what="notes"))
    detail_changes = [c for c in changed if c.field_changes or shown_notes(c)]
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
    victims = [details] + [s for s in sections if s.what in ("graphs", "rows", "notes")]
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
