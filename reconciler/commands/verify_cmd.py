"""`verify`: ask every campaign and recommender of the stack for an answer (read-only; see reconciler.verify).

Exit codes: 0 every campaign and recommender answered with at least the declared number of items, 1 otherwise
(or on an error such as bad manifests or unreachable credentials).
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from reconciler.commands.common import (
    endpoint_url_option,
    local_option,
    open_cli_target,
    profile_option,
    region_option,
    stack_option,
)
from reconciler.errors import ReconcilerError


def verify_command(
    path: Path = typer.Argument(Path("manifests"), help="Manifest directory or file."),
    stack: Path | None = stack_option(),
    endpoint_url: str | None = endpoint_url_option(),
    local: bool = local_option(),
    region: str | None = region_option(),
    profile: str | None = profile_option(),
) -> None:
    """Ask every campaign and recommender for recommendations; fail when one does not answer as declared."""
    try:
        code = run_verify_command(
            path=path, stack=stack, endpoint_url=endpoint_url, local=local, region=region, profile=profile
        )
    except ReconcilerError as exc:
        print(f"Error: {exc.render()}", file=sys.stderr)
        raise typer.Exit(1) from None
    raise typer.Exit(code)


def run_verify_command(
    *,
    path: Path,
    stack: Path | None,
    endpoint_url: str | None,
    local: bool,
    region: str | None,
    profile: str | None = None,
) -> int:
    from reconciler.manifest import load
    from reconciler.verify import run_verify

    desired = load(path, stack_file=stack)
    target = open_cli_target(
        local=local,
        endpoint_url=endpoint_url,
        region=region,
        default_region=desired.stack.settings.region,
        profile=profile,
    )
    try:
        report = run_verify(target, desired)
    finally:
        target.close()
    print(report.render())
    return 0 if report.ok else 1
