"""Command-line pieces shared by the commands that talk to a target (plan, apply, verify, import, ci lock).

The target options (`--endpoint-url`, `--local`, `--region`, `--profile`) are declared here once, with one
help text, every command that opens a target takes all four, and `open_cli_target` turns them into an open
`Target` the same way for every command (a combination that cannot mean anything is refused there).

The options that change WHAT IS PLANNED are declared here once too, and `plan` and `apply` both accept them
with the same meaning: `--stack`, `--retrain NAME`, `--prune/--no-prune`, `--allow-data-loss`, and the price
overrides in `PERSONALIZE_GITOPS_PRICES`. `plan_options(...)` turns them into the one `PlanOptions` both
commands plan with; a saved plan records them, so `apply PLANFILE` uses the options the plan was made with.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import typer

from reconciler.errors import ReconcilerError

PRICES_ENV = "PERSONALIZE_GITOPS_PRICES"

REGION_HELP = "AWS region (default: the stack's, then AWS_REGION)."


def endpoint_url_option() -> Any:
    """`--endpoint-url`: send every AWS API call to this endpoint (an emulator, a proxy)."""
    return typer.Option(None, "--endpoint-url", help="Use this endpoint for every AWS API.")


def local_option() -> Any:
    """`--local`: use the embedded emulator."""
    return typer.Option(False, "--local", help="Use the embedded emulator (state in .personalize-gitops/).")


def profile_option() -> Any:
    """`--profile`: the AWS profile (credentials, region) of real AWS or of an `--endpoint-url`."""
    return typer.Option(None, "--profile", help="AWS profile (default: AWS_PROFILE); not with --local.")


def region_option(help: str = REGION_HELP) -> Any:
    """`--region`; commands whose fallback differs (import reads the stack in --out) pass their own help."""
    return typer.Option(None, "--region", help=help)


def stack_option() -> Any:
    """`--stack` of the commands that read manifests and a target (plan, apply)."""
    return typer.Option(None, "--stack", help="Stack settings file (default: the one in DIR).")


def allow_data_loss_option() -> Any:
    """`--allow-data-loss` (plan, apply)."""
    return typer.Option(
        False, "--allow-data-loss", help="Allow deleting or replacing datasets and dataset groups."
    )


def retrain_option() -> Any:
    """`--retrain NAME` (plan, apply)."""
    return typer.Option(
        [], "--retrain", help="Plan a new version of this solution (logical name); repeatable."
    )


def prune_option() -> Any:
    """`--prune/--no-prune` (plan, apply)."""
    return typer.Option(None, "--prune/--no-prune", help="Override the stack's prune.enabled for this plan.")


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


def plan_option_values(
    desired: Any, *, retrain: list[str], prune: bool | None, allow_data_loss: bool
) -> dict[str, Any]:
    """The checked values of `PlanOptions` but its target (`--retrain` names exist, the price table reads),
    without importing the plan types: `plan` checks them before its first call and builds the options after
    the read (the plan modules are imported while the read waits on the network)."""
    from reconciler.model.address import Kind

    solutions = {r.address.name for r in desired.of_kind(Kind.SOLUTION)}
    unknown = sorted(set(retrain) - solutions)
    if unknown:
        raise ReconcilerError(
            f"--retrain {', '.join(unknown)}: no such Solution in the manifests",
            hint="use the logical name (metadata.name) of a Solution: " + ", ".join(sorted(solutions)),
        )
    return {
        "retrain": frozenset(retrain),
        "prune": prune,
        "allow_data_loss": True if allow_data_loss else None,
        "prices": load_prices(os.environ.get(PRICES_ENV)),
    }


def plan_options(
    desired: Any, *, target: str, retrain: list[str], prune: bool | None, allow_data_loss: bool
) -> Any:
    """The `PlanOptions` of `plan` and `apply` (the same for both); `--retrain` names are checked here."""
    from reconciler.plan.types import PlanOptions

    values = plan_option_values(desired, retrain=retrain, prune=prune, allow_data_loss=allow_data_loss)
    return PlanOptions(target=target, **values)


def given_plan_options(*, retrain: list[str], prune: bool | None, allow_data_loss: bool) -> list[str]:
    """The plan-changing options given on the command line (with a saved plan they are not allowed)."""
    given = [f"--retrain {name}" for name in retrain]
    given += ["--prune" if prune else "--no-prune"] if prune is not None else []
    given += ["--allow-data-loss"] if allow_data_loss else []
    given += [f"{PRICES_ENV}"] if os.environ.get(PRICES_ENV) else []
    return given


def open_cli_target(
    *,
    local: bool,
    endpoint_url: str | None,
    region: str | None,
    default_region: str | None,
    profile: str | None = None,
    time_scale: float | None = None,
) -> Any:
    """Open the target the target options ask for; `region` falls back to `default_region` (the stack's).

    `time_scale` (the hidden `--time-scale` of apply) is the embedded emulator's clock: given without
    `--local` it is refused, not ignored. `open_target` refuses the other combinations.
    """
    from reconciler.aws.target import open_target
    from reconciler.errors import TargetError

    if time_scale is not None and not local:
        raise TargetError(
            "--time-scale without --local: it sets the clock of the embedded emulator, which this target "
            "does not use; nothing was read or changed",
            hint="add --local, or drop --time-scale (`emulator serve --time-scale` sets an endpoint's clock)",
        )

    kwargs: dict[str, Any] = {
        "local": local,
        "endpoint_url": endpoint_url,
        "region": region or default_region,
    }
    if profile is not None:
        kwargs["profile"] = profile
    if local and time_scale is not None:
        kwargs["time_scale"] = time_scale
    return open_target(**kwargs)
