"""`plan`: compare the live account with the manifests and say exactly what apply would do.

Exit codes: 0 success (with `--detailed-exitcode`: and no changes), 1 error (including a refused plan:
protected resource, data loss not allowed...), 2 success with changes (only with `--detailed-exitcode`).
Every rendering names the target it read (`AWS account ... (region)`, the endpoint, or the local emulator).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import typer

from reconciler.commands.common import (
    allow_data_loss_option,
    endpoint_url_option,
    local_option,
    open_cli_target,
    region_option,
    stack_option,
)
from reconciler.errors import ReconcilerError

FORMATS = ("text", "markdown", "json")
PRICES_ENV = "PERSONALIZE_GITOPS_PRICES"


def load_prices(raw: str | None) -> Any:
    """The price table, with overrides from `PERSONALIZE_GITOPS_PRICES` (JSON object or JSON file path)."""
    from reconciler.pricing import DEFAULT_PRICES

    if not raw:
        return DEFAULT_PRICES
    text = raw
    if not raw.lstrip().startswith("{"):
        try:
            text = Path(raw).read_text(encoding="utf-8")
        except OSError as exc:
            raise ReconcilerError(
                f"{PRICES_ENV}={raw}: cannot read the price file ({exc.strerror})",
                hint='set it to a JSON object such as {"training_hour_usd": 0.3} or to a readable file',
            ) from None
    try:
        overrides = json.loads(text)
        if not isinstance(overrides, dict):
            raise ValueError("not a JSON object")
        return DEFAULT_PRICES.with_overrides(overrides)
    except (ValueError, TypeError) as exc:
        raise ReconcilerError(
            f"{PRICES_ENV}: invalid price overrides: {exc}",
            hint="keys: " + ", ".join(sorted(DEFAULT_PRICES.as_dict())),
        ) from None


def plan_command(
    path: Path = typer.Argument(Path("manifests"), help="Manifest directory or file."),
    stack: Path | None = stack_option(),
    output_format: str = typer.Option("text", "--format", help="Output format: text, markdown or json."),
    out: Path | None = typer.Option(
        None, "--out", help="Save the plan (JSON) for `apply PLANFILE`; apply refuses it once stale."
    ),
    detailed_exitcode: bool = typer.Option(
        False, "--detailed-exitcode", help="Exit 0 with no changes, 1 on error, 2 with changes."
    ),
    endpoint_url: str | None = endpoint_url_option(),
    local: bool = local_option(),
    region: str | None = region_option(),
    retrain: list[str] = typer.Option(
        [], "--retrain", help="Plan a new version of this solution (logical name); repeatable."
    ),
    allow_data_loss: bool = allow_data_loss_option(),
    prune: bool | None = typer.Option(
        None, "--prune/--no-prune", help="Override the stack's prune.enabled for this plan."
    ),
    colour: bool | None = typer.Option(
        None, "--color/--no-color", help="Colour the text output (default: when stdout is a terminal)."
    ),
    concurrency: int = typer.Option(16, "--concurrency", min=1, max=64, help="Parallel API reads."),
) -> None:
    """Show what apply would do: create, update, replace, delete, retrain, import, promote, adopt."""
    try:
        code = run_plan(
            path=path,
            stack=stack,
            output_format=output_format,
            out=out,
            detailed_exitcode=detailed_exitcode,
            endpoint_url=endpoint_url,
            local=local,
            region=region,
            retrain=retrain,
            allow_data_loss=allow_data_loss,
            prune=prune,
            colour=colour,
            concurrency=concurrency,
        )
    except ReconcilerError as exc:
        print(f"Error: {exc.render()}", file=sys.stderr)
        raise typer.Exit(1) from None
    raise typer.Exit(code)


def run_plan(
    *,
    path: Path,
    stack: Path | None,
    output_format: str,
    out: Path | None,
    detailed_exitcode: bool,
    endpoint_url: str | None,
    local: bool,
    region: str | None,
    retrain: list[str],
    allow_data_loss: bool = False,
    prune: bool | None = None,
    colour: bool | None = None,
    concurrency: int = 16,
) -> int:
    from reconciler.live.reader import read_live
    from reconciler.manifest import load
    from reconciler.model.address import Kind
    from reconciler.plan import planfile
    from reconciler.plan.planner import PlanOptions, plan
    from reconciler.render import render_json, render_markdown, render_text

    if output_format not in FORMATS:
        raise ReconcilerError(
            f"--format {output_format}: unknown format", hint="use one of: " + ", ".join(FORMATS)
        )
    prices = load_prices(os.environ.get(PRICES_ENV))
    desired = load(path, stack_file=stack)
    solutions = {r.address.name for r in desired.of_kind(Kind.SOLUTION)}
    unknown = sorted(set(retrain) - solutions)
    if unknown:
        raise ReconcilerError(
            f"--retrain {', '.join(unknown)}: no such Solution in the manifests",
            hint="use the logical name (metadata.name) of a Solution: " + ", ".join(sorted(solutions)),
        )
    target = open_cli_target(
        local=local, endpoint_url=endpoint_url, region=region, default_region=desired.stack.settings.region
    )
    try:
        live = read_live(target, desired, concurrency=concurrency, now=target.clock.now())
        label = target.label
    finally:
        target.close()
    options = PlanOptions(
        target=label,
        retrain=frozenset(retrain),
        prune=prune,
        allow_data_loss=True if allow_data_loss else None,
        prices=prices,
    )
    result = plan(desired, live, options)
    if output_format == "json":
        text = render_json(result)
    elif output_format == "markdown":
        text = render_markdown(result)
    else:
        text = render_text(result, colour=sys.stdout.isatty() if colour is None else colour)
    sys.stdout.write(text)
    sys.stdout.flush()
    if out is not None:
        planfile.save(result, str(out))
        print(f"Saved the plan to {out}; apply it with `personalize-gitops apply {out}`.", file=sys.stderr)
    if result.errors:
        return 1
    if detailed_exitcode and result.has_changes:
        return 2
    return 0
