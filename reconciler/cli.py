"""Command line entry point (typer). The only module that wires every layer together.

Each command lives in `reconciler/commands/<name>_cmd.py` and is registered below (one line each).
"""

from __future__ import annotations

import typer

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="GitOps for Amazon Personalize: validate, plan and apply YAML manifests.",
)


@app.callback()
def _root() -> None:
    """Plan and apply Amazon Personalize resources from YAML manifests."""


# --- command registrations (keep one line per command group) ---
from reconciler.commands import validate_cmd  # noqa: E402

app.command("validate")(validate_cmd.validate_command)
app.command("schema")(validate_cmd.schema_command)
from reconciler.commands import iam_cmd, stacks_cmd  # noqa: E402

app.command("iam-policy")(iam_cmd.iam_policy_command)
app.command("ci-setup")(iam_cmd.ci_setup_command)
app.command("stacks")(stacks_cmd.stacks_command)
from reconciler.commands import ci_cmd  # noqa: E402

app.add_typer(ci_cmd.app, name="ci")
from reconciler.commands import emulator_cmd  # noqa: E402

app.add_typer(emulator_cmd.app, name="emulator")
from reconciler.commands import apply_cmd  # noqa: E402

app.command("apply")(apply_cmd.apply_command)
from reconciler.commands import plan_cmd  # noqa: E402

app.command("plan")(plan_cmd.plan_command)
from reconciler.commands import import_cmd  # noqa: E402

app.command("import")(import_cmd.import_command)


def main() -> None:
    app()
