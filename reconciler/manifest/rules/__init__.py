"""Cross-document validation rules. Each module has `check(ctx)` and reports through the context."""

from __future__ import annotations

from collections.abc import Callable

from reconciler.manifest.context import Context
from reconciler.manifest.rules import datasets, fields, filters, groups, names, refs, requests, solutions

RULES: tuple[Callable[[Context], None], ...] = (
    names.check,
    refs.check,
    datasets.check,
    filters.check,
    solutions.check,
    groups.check,
    fields.check,
    requests.check,
)


def run_rules(ctx: Context) -> None:
    for rule in RULES:
        rule(ctx)
    ctx.report_withheld()
