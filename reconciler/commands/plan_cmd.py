"""`plan`: compare the live account with the manifests and say exactly what apply would do.

Exit codes: 0 success (with `--detailed-exitcode`: and no changes), 1 error (including a refused plan:
protected resource, data loss not allowed...), 2 success with changes (only with `--detailed-exitcode`).
Every rendering names the target it read (`AWS account ... (region)`, the endpoint, or the local emulator).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from reconciler.commands.common import (
    allow_data_loss_option,
    endpoint_url_option,
    local_option,
    open_cli_target,
    plan_option_values,
    profile_option,
    prune_option,
    region_option,
    retrain_option,
    stack_option,
)
from reconciler.errors import INTERRUPTED_EXIT, ReconcilerError

FORMATS = ("text", "markdown", "json")
AFTER_READ = (
    "reconciler.plan.planner",
    "reconciler.plan.planfile",
    "reconciler.render",
    "reconciler.live.preflight",
)
"""The modules `plan` needs only once the account is read (imported during the read)."""


def import_in_background(*modules: str) -> None:
    """Import `modules` on a daemon thread (a command imports them again where it uses them: that import
    waits for this one, or raises its error there). For modules needed only after a phase that mostly waits
    on the network: their import then costs no wall time."""
    import importlib
    import threading

    def run() -> None:
        for name in modules:
            try:
                importlib.import_module(name)
            except Exception:
                return

    threading.Thread(target=run, name="import-in-background", daemon=True).start()


def source_args(path: Path, stack: Path | None) -> str:
    """The options `apply PLANFILE` needs to load the manifests the plan was made from (it looks in
    `--manifests`, else the stack file's directory, else manifests/)."""
    import shlex

    text = f" --stack {shlex.quote(str(stack))}" if stack is not None else ""
    if path != (stack.parent if stack is not None else Path("manifests")):
        text += f" --manifests {shlex.quote(str(path))}"
    return text


def save_plan_file(text: str, out: Path) -> None:
    """`plan --out`: the plan file whole or not at all. Written beside `out` and renamed over it, so a failed
    write (disk full, a file size limit) leaves no partial file and keeps the plan that was there."""
    import contextlib
    import os

    from reconciler.errors import PlanError

    partial = out.with_name(f"{out.name}.partial-{os.getpid()}")
    try:
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, out)
    except OSError as exc:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise PlanError(f"cannot write the plan file {out}: {exc.strerror or exc}") from exc


def check_plan_out(out: Path) -> None:
    """Refuse a `--out` path that cannot be written before the manifests are loaded and the account is read
    (minutes on a big account): a missing directory, a directory, a directory we may not write to."""
    import os

    from reconciler.errors import PlanError

    parent = out.parent
    problem = None
    if out.is_dir():
        problem = "it is a directory"
    elif not parent.is_dir():
        problem = f"directory {parent} does not exist"
    elif not os.access(parent, os.W_OK | os.X_OK):
        problem = f"directory {parent} is not writable"
    if problem is not None:
        raise PlanError(
            f"cannot write the plan file {out}: {problem}; nothing was read",
            hint="pass --out a file path in an existing, writable directory (e.g. --out plan.json), "
            "or create the directory first",
        )


def target_args(
    *, local: bool, endpoint_url: str | None, region: str | None, profile: str | None = None
) -> str:
    """The target options a hint must repeat so the suggested command reaches the same account."""
    import shlex

    text = ""
    if local:
        text += " --local"
    if endpoint_url:
        text += f" --endpoint-url {shlex.quote(endpoint_url)}"
    if region:
        text += f" --region {shlex.quote(region)}"
    if profile:
        text += f" --profile {shlex.quote(profile)}"
    return text


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
    profile: str | None = profile_option(),
    retrain: list[str] = retrain_option(),
    allow_data_loss: bool = allow_data_loss_option(),
    prune: bool | None = prune_option(),
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
            profile=profile,
            retrain=retrain,
            allow_data_loss=allow_data_loss,
            prune=prune,
            colour=colour,
            concurrency=concurrency,
        )
    except ReconcilerError as exc:
        print(f"Error: {exc.render()}", file=sys.stderr)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:  # the reads still in flight are not waited for (`cli.fast_exit`)
        print("Interrupted: no plan was made; plan only reads, nothing was changed.", file=sys.stderr)
        raise typer.Exit(INTERRUPTED_EXIT) from None
    except Exception as exc:  # an AWS SDK error no layer translated: say where, never a traceback
        from reconciler.edge import is_aws_error, translate

        if not is_aws_error(exc):
            raise
        message, hint = translate(exc, f"planning {path}")
        print(f"Error: {message}\n  hint: {hint}", file=sys.stderr)
        raise typer.Exit(1) from None
    raise typer.Exit(code)


def with_interrupted_run(target: Any, desired: Any, live: Any, retrain: list[str] | None = None) -> Any:
    """`--retrain` only: `live` with the `--retrain` trainings of an apply that did not complete (the stack
    lock's run record, one GetParametersByPath), so the plan continues them as apply would. An apply that
    holds a live lease is running, not interrupted: the plan does not continue its trainings (if it
    completes, the next --retrain trains again) and a warning says what apply will do."""
    from dataclasses import replace

    from reconciler.apply.lock import StackLock
    from reconciler.errors import ApiError

    lock = StackLock(target.ssm, desired.stack.name, clock=target.clock)
    try:
        newest = lock.current()
    except ApiError as exc:
        print(
            f"Warning: {exc}; the plan cannot see whether an apply that did not complete already trained "
            "what --retrain asks (apply reads it under the lock and continues that training). Let the plan "
            "role read the lock (`personalize-gitops iam-policy --role plan`)",
            file=sys.stderr,
        )
        return live
    now = target.clock.now()
    if newest is not None and newest.is_held(now):
        running = newest.interrupted(now)
        asked = [name for name in retrain or [] if running is not None and running.training(name)]
        if asked:
            from reconciler.apply.lock import epoch_parameter

            where = epoch_parameter(desired.stack.name, newest.epoch)
            print(
                f"Warning: an apply of stack {desired.stack.name!r} is running now: "
                f"{newest.describe(now)} (SSM parameter {where}), and it is training --retrain "
                f"{', '.join(asked)}. This plan assumes it completes (then a --retrain trains again, as "
                "shown). apply is refused while that apply holds the lock; if it "
                "does not complete, apply continues its training instead of starting a second one. Plan "
                "again after it ends",
                file=sys.stderr,
            )
        return replace(live, interrupted=None)
    return replace(live, interrupted=newest.interrupted(now) if newest else None)


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
    profile: str | None = None,
    allow_data_loss: bool = False,
    prune: bool | None = None,
    colour: bool | None = None,
    concurrency: int = 16,
) -> int:
    from reconciler import heap

    if output_format not in FORMATS:
        raise ReconcilerError(
            f"--format {output_format}: unknown format", hint="use one of: " + ", ".join(FORMATS)
        )
    if out is not None:
        check_plan_out(out)
    # The modules, the desired state and the clients live until exit: no collection walks them while they
    # are built (reading then freezes them, `heap.reading`).
    with heap.building():
        from reconciler.live.reader import read_live
        from reconciler.manifest import load

        desired = load(path, stack_file=stack)
        option_values = plan_option_values(
            desired, retrain=retrain, prune=prune, allow_data_loss=allow_data_loss
        )
        target = open_cli_target(
            local=local,
            endpoint_url=endpoint_url,
            region=region,
            default_region=desired.stack.settings.region,
            profile=profile,
        )
    try:
        with heap.reading():  # thousands of responses on 16 threads: rare collections that skip the manifests
            # what runs after the read is imported while the read waits on the network
            import_in_background(*AFTER_READ)
            live = read_live(target, desired, concurrency=concurrency, now=target.clock.now())
            if retrain:
                live = with_interrupted_run(target, desired, live, retrain)
            from reconciler.live.preflight import merge as merge_preflight
            from reconciler.live.preflight import needs_checks, preflight
            from reconciler.plan import planfile
            from reconciler.plan.planner import plan
            from reconciler.plan.types import PlanOptions
            from reconciler.render import render_json, render_markdown, render_text

            identity = target.identity(account=live.account_id)  # what `apply PLANFILE` compares
            result = plan(
                desired, live, PlanOptions(target=target.label, target_identity=identity, **option_values)
            )
            # read-only bucket, object, role, bucket policy and KMS checks, in parallel, only for the
            # datasets the plan creates, replaces or imports into (the only findings merge keeps): a no-op
            # plan makes none
            from reconciler.commands.emulator_cmd import emulated_setup_command

            setup = emulated_setup_command(
                path, stack, target, local=local, endpoint_url=endpoint_url, region=region
            )
            findings = preflight(target, desired, needs_checks(result), concurrency=concurrency, setup=setup)
    finally:
        target.close()
    result = merge_preflight(result, findings)
    if output_format == "json":
        text = render_json(result)
    elif output_format == "markdown":
        text = render_markdown(result)
    else:
        text = render_text(result, colour=sys.stdout.isatty() if colour is None else colour)
    sys.stdout.write(text)
    sys.stdout.flush()
    if out is not None:
        save_plan_file(planfile.dumps(result), out)
        again = source_args(path, stack) + target_args(
            local=local, endpoint_url=endpoint_url, region=region, profile=profile
        )
        print(
            f"Saved the plan to {out}; apply it with `personalize-gitops apply {out}{again}`.",
            file=sys.stderr,
        )
    if result.errors:
        return 1
    if detailed_exitcode and result.has_changes:
        return 2
    return 0
