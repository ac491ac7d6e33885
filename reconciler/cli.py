"""Command line entry point (typer). The only module that wires every layer together.

Each command lives in `reconciler/commands/<name>_cmd.py` and is registered in `COMMANDS` below (one line
each). Command modules are imported only when their command runs: `personalize-gitops --help` lists the
commands from the one-line help strings here without importing pydantic, boto3 or the manifest rules, so it
starts in a fraction of the time (`make bench` measures it). A test keeps these strings equal to the first
line of each command's own docstring.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import typer
import typer.core


@dataclass(frozen=True)
class LazyCommand:
    """Where a command lives and its one-line help (shown by `--help` without importing the module)."""

    module: str
    attribute: str
    summary: str
    group: bool = False
    """True when `attribute` is a typer app with subcommands (`emulator serve`)."""

    def load(self, name: str) -> Any:
        target = getattr(importlib.import_module(f"reconciler.commands.{self.module}"), self.attribute)
        # Registered on a throwaway parent the way the eager CLI did (`add_typer` / `command`), so typer
        # builds exactly the same click object (a one-command sub-app stays a group, as `emulator serve`).
        parent = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
        if self.group:
            parent.add_typer(target, name=name)
        else:
            parent.command(name)(target)
        parent.callback()(lambda: None)
        built: Any = typer.main.get_command(parent)
        command: Any = built.commands[name]
        _resume_collector_first(command)
        return command


def _resume_collector_first(command: Any) -> None:
    """Each callback of `command` (and of its subcommands) ends the start-up GC pause first (`heap`)."""
    from reconciler import heap

    if command.callback is not None:
        command.callback = heap.resuming(command.callback)
    for sub in getattr(command, "commands", {}).values():
        _resume_collector_first(sub)


# --- command registrations (one line per command; order is the order `--help` lists them in) ---
COMMANDS: dict[str, LazyCommand] = {
    "validate": LazyCommand(
        "validate_cmd",
        "validate_command",
        "Check manifests offline (YAML, types, references, Personalize rules); exit 1 on errors.",
    ),
    "schema": LazyCommand(
        "validate_cmd",
        "schema_command",
        "Print the JSON Schema of the manifest format (for yaml-language-server and other editors).",
    ),
    "iam-policy": LazyCommand(
        "iam_cmd",
        "iam_policy_command",
        "Print the least-privilege IAM policy (JSON) for the plan or apply role of a stack.",
    ),
    "ci-setup": LazyCommand(
        "iam_cmd",
        "ci_setup_command",
        "Set up GitHub Actions for every stack: roles (trust + policy), and three short caller workflows.",
    ),
    "stacks": LazyCommand(
        "stacks_cmd",
        "stacks_command",
        "List the stacks as a GitHub Actions matrix (JSON), with the role ARNs `ci-setup` names.",
    ),
    "apply": LazyCommand(
        "apply_cmd",
        "apply_command",
        "Apply the manifests (or a saved plan) to the account: create, update, train, promote, prune.",
    ),
    "plan": LazyCommand(
        "plan_cmd",
        "plan_command",
        "Show what apply would do: create, update, replace, delete, retrain, import, promote, adopt.",
    ),
    "verify": LazyCommand(
        "verify_cmd",
        "verify_command",
        "Ask every campaign and recommender for recommendations; fail when one does not answer as declared.",
    ),
    "import": LazyCommand(
        "import_cmd",
        "import_command",
        "Generate manifests from existing dataset groups (plan on them then shows only `adopt`).",
    ),
    "ci": LazyCommand("ci_cmd", "app", "Steps of the GitHub workflows.", group=True),
    "emulator": LazyCommand(
        "emulator_cmd",
        "app",
        "Run the local Amazon Personalize emulator (serve), or prepare its account for imports (prepare).",
        group=True,
    ),
}


class LazyGroup(typer.core.TyperGroup):
    """A typer group whose commands are imported on first use.

    `--help` asks `get_command` for every listed command to print its summary: it gets a placeholder that
    carries only the summary. Running a command goes through `resolve_command`, which imports the real one.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._loaded: dict[str, Any] = {}

    def list_commands(self, ctx: Any) -> list[str]:
        return [*COMMANDS, *(name for name in super().list_commands(ctx) if name not in COMMANDS)]

    def _load(self, name: str) -> Any | None:
        if name not in COMMANDS:
            return super().get_command(typer.Context(self), name)
        if name not in self._loaded:
            self._loaded[name] = COMMANDS[name].load(name)
        return self._loaded[name]

    def get_command(self, ctx: Any, cmd_name: str) -> Any | None:
        if cmd_name in self._loaded or cmd_name not in COMMANDS:
            return self._loaded.get(cmd_name) or super().get_command(ctx, cmd_name)
        if ctx is not None and (ctx.resilient_parsing or getattr(ctx, "_personalize_gitops_listing", False)):
            return typer.core.TyperCommand(cmd_name, help=COMMANDS[cmd_name].summary)
        return self._load(cmd_name)

    def resolve_command(self, ctx: Any, args: list[str]) -> tuple[str | None, Any | None, list[str]]:
        if args and args[0] in COMMANDS:
            return args[0], self._load(args[0]), args[1:]
        return super().resolve_command(ctx, args)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        ctx._personalize_gitops_listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            ctx._personalize_gitops_listing = False


def _print_version(value: bool) -> None:
    if not value:
        return
    # Imported here: `--version` is the only path that needs the format constants.
    from reconciler import __version__
    from reconciler.model.spec import API_VERSION
    from reconciler.plan.types import FORMAT_VERSION

    typer.echo(f"personalize-gitops {__version__}")
    typer.echo(f"manifests: apiVersion {API_VERSION}")
    typer.echo(f"plan files and JSON plans: format_version {FORMAT_VERSION}")
    raise typer.Exit(0)


app = typer.Typer(
    cls=LazyGroup,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="GitOps for Amazon Personalize: validate, plan and apply YAML manifests.",
)


@app.callback()
def _root(
    version: bool = typer.Option(
        False,
        "--version",
        is_eager=True,
        callback=_print_version,
        help="Print the tool version and the manifest and plan format versions it reads, then exit.",
    ),
    record_calls: str | None = typer.Option(
        None,
        "--record-calls",
        metavar="FILE",
        help="Append every AWS call (IAM action + resource ARN, JSON lines) to FILE; check it with "
        "`iam-policy --check FILE`.",
    ),
) -> None:
    """Plan and apply Amazon Personalize resources from YAML manifests."""
    if record_calls:
        import os

        os.environ["PERSONALIZE_GITOPS_RECORD_CALLS"] = record_calls  # read by reconciler.aws.target


def main() -> None:
    try:
        app()
    except Exception as exc:  # only AWS SDK errors are translated; anything else is re-raised
        from reconciler.edge import is_aws_error, translate

        if not is_aws_error(exc):
            raise
        import sys

        message, hint = translate(exc)
        print(f"Error: {message}\n  hint: {hint}", file=sys.stderr)
        raise SystemExit(1) from None


def entry() -> None:
    """The `personalize-gitops` process (console script, `python -m reconciler`): `main()`, then a fast exit.

    Once the command has finished - its output written, its threads joined, the atexit handlers run - the
    interpreter's own teardown only frees memory: the loaded botocore models and the read account, about half
    a second for a 500-resource plan on a busy machine (issue 15). So the process flushes its streams and
    leaves with `os._exit` (as mypy does). When a thread other than a daemon is still alive, a stream cannot
    be flushed, or the exit status is not a number, it exits the ordinary way instead.

    The cyclic garbage collector is paused from here until the command's callback starts (`heap.pause`,
    `heap.resume`), or until `main()` returns when no command ran.

    Pydantic plugins are off in this process (`PYDANTIC_DISABLE_PLUGINS=__all__`, unless the environment
    already says otherwise; typer does the same around its own adapters): the tool's models are internal,
    and looking for plugins read the entry points of every installed distribution the first time a model
    validated, 35-50 ms of every command that reads manifests (issue 15)."""
    import os

    from reconciler import heap

    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    heap.pause()
    try:
        main()
        code: object = 0
    except SystemExit as exc:
        code = 0 if exc.code is None else exc.code
    finally:
        heap.resume()  # `--help`, `--version`, a usage error: no callback ran
    fast_exit(code)


READ_ONLY_THREADS = ("live-read", "preflight")
"""Worker threads that only read the account (`live.reader`, `live.preflight`): a command always joins them
before it finishes, except after Ctrl-C, when they may still wait on a slow endpoint and the exit does not
wait for them."""


def fast_exit(code: object) -> None:
    """Exit with `code` without the interpreter's teardown (see `entry`), or the ordinary way."""
    import atexit
    import os
    import sys
    import threading

    others = [
        t
        for t in threading.enumerate()
        if t is not threading.main_thread() and not t.daemon and not t.name.startswith(READ_ONLY_THREADS)
    ]
    if not isinstance(code, int) or isinstance(code, bool) or any(t.is_alive() for t in others):
        raise SystemExit(code)
    atexit._run_exitfuncs()  # what an ordinary exit runs first: logging, temporary files, coverage...
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:  # a closed pipe: Python's own exit reports it as usual
        raise SystemExit(code) from None
    os._exit(code)
