"""Command-line pieces shared by the commands that talk to a target (plan, apply, import).

The target options (`--endpoint-url`, `--local`, `--region`) are declared here once, with one help text, and
`open_cli_target` turns them into an open `Target` the same way for every command.
"""

from __future__ import annotations

from typing import Any

import typer

REGION_HELP = "AWS region (default: the stack's, then AWS_REGION)."


def endpoint_url_option() -> Any:
    """`--endpoint-url`: send every AWS API call to this endpoint (an emulator, a proxy)."""
    return typer.Option(None, "--endpoint-url", help="Use this endpoint for every AWS API.")


def local_option() -> Any:
    """`--local`: use the embedded emulator."""
    return typer.Option(False, "--local", help="Use the embedded emulator (state in .personalize-gitops/).")


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

    `time_scale` only applies to `--local` (it is ignored otherwise, as the hidden `--time-scale` says).
    """
    from reconciler.aws.target import open_target

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
