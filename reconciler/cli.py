"""Command line entry point (typer). The only module that wires every layer together."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False, help="GitOps for Amazon Personalize.")


@app.callback()
def _root() -> None:
    """Plan and apply Amazon Personalize resources from YAML manifests."""


def main() -> None:
    app()
