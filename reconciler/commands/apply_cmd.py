"""`apply`: converge the account to the manifests (or to a saved plan).

Exit codes: 0 applied (or nothing to do), 1 error / a step failed / refused / cancelled, 3 `--timeout` ran out
(or `--no-wait`) while work is still running (run apply again to continue), 4 another apply holds the stack
lock, 5 the plan ran completely but the account changed meanwhile (a plan made now wants changes the applied
plan did not contain; they were not made: plan again).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from reconciler.commands.common import (
    allow_data_loss_option,
    endpoint_url_option,
    given_plan_options,
    local_option,
    open_cli_target,
    plan_options,
    profile_option,
    prune_option,
    region_option,
    retrain_option,
    stack_option,
)
from reconciler.errors import INTERRUPTED_EXIT, ReconcilerError, StalePlanError, TargetError

if TYPE_CHECKING:
    from reconciler.apply.run import ApplyResult


def parse_duration(text: str) -> float:
    """`30m`, `2h`, `1h30m`, `90s`, `45` (seconds) -> seconds."""
    cleaned = text.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", cleaned):
        return float(cleaned)
    parts = re.findall(r"(\d+(?:\.\d+)?)([dhms])", cleaned)
    if not parts or "".join(n + u for n, u in parts) != cleaned:
        raise typer.BadParameter(f"{text!r} is not a duration; use for example 30m, 2h, 1h30m or 90s")
    unit = {"d": 86400, "h": 3600, "m": 60, "s": 1}
    return sum(float(n) * unit[u] for n, u in parts)


def _is_plan_file(path: Path) -> bool:
    """A saved plan rather than manifests: a `.json` path that is not a directory (even a missing or empty
    one, so a typo in `apply plan.json` is reported as a missing plan file, not as missing manifests), or any
    other file whose text starts with `{`."""
    if path.suffix.lower() == ".json":
        return not path.is_dir()
    if not path.is_file() or path.suffix in (".yaml", ".yml"):
        return False
    try:
        head = path.read_text(encoding="utf-8", errors="replace")[:200].lstrip()
    except OSError:
        return False
    return head.startswith("{")


def persist_local_state_after_changes(target: Any) -> None:
    """`--local` only: save the emulated account whenever a call changed it (the emulator's `revision` moved:
    a mutating call, or a scheduled transition a read applied), not just at exit, so an apply that is killed
    (SIGKILL, a crashed runner) leaves the account exactly as far as it got, as real AWS would."""
    if getattr(target, "mode", None) != "local" or target.emulator is None or target.state_path is None:
        return
    import threading

    from reconciler.emulator.persistence import AccountState

    state = AccountState(
        Path(target.state_path),
        lambda service, region: target.client(service, region, record=False),
        regions=[target.region],
    )
    lock = threading.Lock()
    state.dump_moto()  # fill its cache once; later saves re-read only the service that changed

    saved_at = {"revision": target.emulator.revision}

    def save_now(services: set[str]) -> None:
        with lock:
            saved_at["revision"] = target.emulator.revision
            state.save(target.emulator.snapshot(), float(target.clock.now()), services=services)

    def personalize_saver(**kwargs: Any) -> None:
        # any call, reads included: a read that first sees an import ACTIVE ingested its data on that read
        if target.emulator.revision != saved_at["revision"]:
            save_now(set())

    def saver(services: set[str]) -> Any:
        def save(**kwargs: Any) -> None:
            save_now(services)

        return save

    target.personalize.meta.events.register("after-call.personalize", personalize_saver)
    target.ssm.meta.events.register("after-call.ssm.PutParameter", saver({"ssm"}))
    target.ssm.meta.events.register("after-call.ssm.DeleteParameter", saver({"ssm"}))
    target.s3.meta.events.register("after-call.s3.PutObject", saver({"s3"}))
    target.s3.meta.events.register("after-call.s3.CompleteMultipartUpload", saver({"s3"}))  # big localFile


def print_report(result: ApplyResult) -> None:
    report = result.summary()
    if report is None:
        print("Nothing to apply.")
        return
    for line in report.details():
        print(line)
    print(report.summary_line())


def reask_while_changed(
    result: ApplyResult, run_again: Callable[[], ApplyResult], ask: Callable[[ApplyResult], bool]
) -> ApplyResult:
    """Interactive apply only (never with --auto-approve or a saved plan): while an apply ends with exit 5
    (the account changed meanwhile), show what changed and offer a new plan. `run_again` makes that plan from
    a fresh read, shows it and asks for confirmation like the first one, so only what was shown runs; any
    answer "no" ends with the exit code of the last apply."""
    from reconciler.apply.run import ACCOUNT_CHANGED_EXIT

    while result.exit_code == ACCOUNT_CHANGED_EXIT and ask(result):
        result = run_again()
    return result


def apply_command(
    path: Path = typer.Argument(
        Path("manifests"), help="Manifest directory or file, or a saved plan (`plan --out PLANFILE`)."
    ),
    stack: Path | None = stack_option(),
    manifests: Path | None = typer.Option(
        None, "--manifests", help="With a saved plan: the manifests it was made from (default: manifests/)."
    ),
    auto_approve: bool = typer.Option(False, "--auto-approve", help="Apply without asking (CI)."),
    timeout: str | None = typer.Option(
        None,
        "--timeout",
        help="Stop waiting after this long (30m, 2h); work still running is left running and apply exits 3.",
    ),
    no_wait: bool = typer.Option(
        False,
        "--no-wait",
        help="Start long work (imports, trainings, campaigns) and exit 3 while it runs; rerun to continue. "
        "Steps of a few minutes (dataset groups, datasets, solutions) are still waited for.",
    ),
    retrain: list[str] = retrain_option(),
    allow_data_loss: bool = allow_data_loss_option(),
    prune: bool | None = prune_option(),
    break_lock: bool = typer.Option(
        False, "--break-lock", help="Remove a stale stack lock left by an apply that died."
    ),
    endpoint_url: str | None = endpoint_url_option(),
    local: bool = local_option(),
    region: str | None = region_option(),
    profile: str | None = profile_option(),
    time_scale: float | None = typer.Option(
        None, "--time-scale", hidden=True, help="--local only: virtual seconds per wall second."
    ),
    verify: bool = typer.Option(
        False,
        "--verify",
        help="After apply, run `verify`: every campaign and recommender must answer (else exit 1).",
    ),
) -> None:
    """Apply the manifests (or a saved plan) to the account: create, update, train, promote, prune.

    Exit codes: 0 done, 1 failed/refused, 3 still running after --timeout/--no-wait (rerun to continue),
    4 stack locked by another apply, 5 the account changed during apply (plan again; nothing unreviewed ran).
    """
    locks: list[Any] = []  # the stack lock of each run_apply, so Ctrl-C can say what became of it
    try:
        code = _apply(
            locks=locks,
            path=path,
            stack=stack,
            manifests=manifests,
            auto_approve=auto_approve,
            timeout=parse_duration(timeout) if timeout else None,
            no_wait=no_wait,
            retrain=retrain,
            allow_data_loss=allow_data_loss,
            prune=prune,
            break_lock=break_lock,
            endpoint_url=endpoint_url,
            local=local,
            region=region,
            profile=profile,
            time_scale=time_scale,
            verify=verify,
        )
    except ReconcilerError as exc:
        print(f"Error: {exc.render()}", file=sys.stderr)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        from reconciler.apply.lock import interrupted_note

        print(interrupted_note(locks[-1] if locks else None), file=sys.stderr)
        raise typer.Exit(INTERRUPTED_EXIT) from None
    raise typer.Exit(code)


def _plan_command(
    source: Path,
    stack: Path | None,
    *,
    retrain: list[str],
    prune: bool | None,
    allow_data_loss: bool,
    local: bool,
    endpoint_url: str | None,
    region: str | None,
    profile: str | None = None,
) -> str:
    """The `plan` command of these manifests, stack file, plan options and target (what a hint repeats)."""
    import shlex

    from reconciler.commands.plan_cmd import target_args

    command = f"personalize-gitops plan {shlex.quote(str(source))}"
    command += f" --stack {shlex.quote(str(stack))}" if stack is not None else ""
    options = given_plan_options(retrain=retrain, prune=prune, allow_data_loss=allow_data_loss)
    command += "".join(f" {option}" for option in options if option.startswith("--"))
    return command + target_args(local=local, endpoint_url=endpoint_url, region=region, profile=profile)


def _plan_again_command(
    planfile_path: Path,
    source: Path,
    stack: Path | None,
    options: Any,
    local: bool,
    endpoint_url: str | None,
    region: str | None,
    profile: str | None = None,
) -> str:
    """The `plan --out` command that makes a fresh version of a stale saved plan: the same manifests, stack
    file and plan options (recorded in the plan), this apply's target, the same file."""
    import shlex

    command = _plan_command(
        source,
        stack,
        retrain=sorted(options.retrain),
        prune=options.prune,
        allow_data_loss=bool(options.allow_data_loss),
        local=local,
        endpoint_url=endpoint_url,
        region=region,
        profile=profile,
    )
    return f"{command} --out {shlex.quote(str(planfile_path))}"


def _configured_personalize_endpoint(profile: str | None) -> str | None:
    """Real AWS: the endpoint Personalize calls would go to, configured outside the command line as botocore
    finds it (AWS_ENDPOINT_URL_PERSONALIZE, AWS_ENDPOINT_URL, the profile's `services` and `endpoint_url`,
    not with ignore_configured_endpoint_urls), as `Target.identity()` records it; no client, no call."""
    from reconciler.aws.target import _session, configured_endpoints

    try:
        session = _session(profile, None)
    except TargetError:
        return None  # opening the target reports the profile
    return configured_endpoints(session, ("personalize",))["personalize"]


def saved_target_refusal(
    saved: Any,
    *,
    plan_path: Path,
    manifests: Path | None,
    stack: Path | None,
    auto_approve: bool,
    local: bool,
    endpoint_url: str | None,
    default_region: str | None,
    profile: str | None = None,
) -> TargetError | None:
    """Before any target is opened: a saved plan made for the emulator (`--local`, or `--endpoint-url`)
    applied without that option, or a plan made for AWS's own endpoints applied to an emulator, is refused
    from its `target_identity`, with the apply command that has the plan's target options. Never opens real
    AWS for a plan made for the emulator (it failed on missing credentials, or read that account first). The
    finer comparison (state file, region, account) stays `apply.run.target_problems`, after opening."""
    import shlex

    made = saved.target_identity
    if made is None:
        return None  # nothing recorded: target_problems refuses it once a target says what it is
    if made.local_state is not None:
        if local:
            return None
        problem = f"this plan was made with --local (state {made.local_state}, region {made.region})"
        option, flags = "--local", " --local"
    elif made.endpoint is not None:
        given = endpoint_url or (None if local else _configured_personalize_endpoint(profile))
        if not local and given == made.endpoint:
            return None
        problem = f"this plan was made with --endpoint-url {made.endpoint} (region {made.region})"
        option = f"--endpoint-url {made.endpoint}"
        flags = f" --endpoint-url {shlex.quote(made.endpoint)}"
    else:
        if not local and endpoint_url is None:
            return None
        problem = f"this plan was made for AWS account {made.account} ({made.region})"
        option, flags = "without " + ("--local" if local else "--endpoint-url"), ""
    now = (
        "with --local" if local else f"for --endpoint-url {endpoint_url}" if endpoint_url else "for real AWS"
    )
    if made.region != default_region:
        flags += f" --region {made.region}"
    command = f"personalize-gitops apply {shlex.quote(str(plan_path))}"
    command += f" --manifests {shlex.quote(str(manifests))}" if manifests is not None else ""
    command += f" --stack {shlex.quote(str(stack))}" if stack is not None else ""
    command += flags + (" --auto-approve" if auto_approve else "")
    rerun = option if option.startswith("without") else f"with {option}"
    return TargetError(
        f"{problem}, not {now}; nothing was read or changed",
        hint=f"rerun {rerun}: `{command}`",
    )


def _apply(
    *,
    locks: list[Any] | None = None,
    path: Path,
    stack: Path | None,
    manifests: Path | None,
    auto_approve: bool,
    timeout: float | None,
    no_wait: bool,
    retrain: list[str],
    allow_data_loss: bool,
    prune: bool | None,
    break_lock: bool,
    endpoint_url: str | None,
    local: bool,
    region: str | None,
    time_scale: float | None,
    verify: bool = False,
    profile: str | None = None,
) -> int:
    from reconciler.apply.executor import ApplyOptions
    from reconciler.apply.progress import make_reporter
    from reconciler.apply.run import run_apply
    from reconciler.live.reader import read_live
    from reconciler.manifest import load
    from reconciler.plan import planfile
    from reconciler.render.text import confirm_question, render_text

    interactive = sys.stdin.isatty()
    if not auto_approve and not interactive:
        raise ReconcilerError(
            "apply needs a confirmation, and there is no terminal to ask on (stdin is not a TTY); "
            "nothing was changed",
            hint=(
                "rerun with --auto-approve: a saved plan is applied exactly as it was shown by `plan --out`"
                if _is_plan_file(path)
                else "review the plan (`"
                + _plan_command(
                    path,
                    stack,
                    retrain=retrain,
                    prune=prune,
                    allow_data_loss=allow_data_loss,
                    local=local,
                    endpoint_url=endpoint_url,
                    region=region,
                    profile=profile,
                )
                + "`) and rerun with --auto-approve"
            ),
        )
    saved = None
    source = path
    if _is_plan_file(path):
        saved = planfile.load(str(path))
        source = manifests or (stack.parent if stack else Path("manifests"))
        given = given_plan_options(retrain=retrain, prune=prune, allow_data_loss=allow_data_loss)
        if given:
            raise ReconcilerError(
                f"{', '.join(given)}: a saved plan is applied with the options it was made with; "
                "nothing was changed",
                hint=f"pass these options to `plan --out` instead, or apply the manifests: apply {source}",
            )
        if not source.exists():
            raise ReconcilerError(
                f"{source}: no such file or directory: a saved plan is applied against the manifests it was "
                "made from; nothing was changed",
                hint=f"pass them: apply {path} --manifests DIR (the DIR given to `plan --out`)",
            )
    desired = load(source, stack_file=stack)
    if saved is not None:  # a plan made for the emulator never opens real AWS (nor the reverse)
        refusal = saved_target_refusal(
            saved,
            plan_path=path,
            manifests=manifests,
            stack=stack,
            auto_approve=auto_approve,
            local=local,
            endpoint_url=endpoint_url,
            default_region=desired.stack.settings.region,
            profile=profile,
        )
        if refusal is not None:
            raise refusal
    options = plan_options(desired, target="", retrain=retrain, prune=prune, allow_data_loss=allow_data_loss)
    target = open_cli_target(
        local=local,
        endpoint_url=endpoint_url,
        region=region,
        default_region=desired.stack.settings.region,
        profile=profile,
        time_scale=time_scale,
    )
    reporter = None
    shown: list[ApplyResult] = []
    try:
        persist_local_state_after_changes(target)
        options = replace(options, target=target.label)

        def show(p: Any) -> None:
            print(render_text(p, colour=interactive and sys.stdout.isatty()), flush=True)

        def confirm(p: Any) -> bool:
            if auto_approve:
                return True
            return bool(typer.confirm(confirm_question(p), default=False))

        reporter = make_reporter(sys.stdout)

        def preflight_checks(fresh: Any) -> Any:
            """The plan command's read-only checks (bucket, object, role, bucket policy, KMS key) for the
            datasets the plan acts on: a fresh plan shows the same errors as `plan` and is refused before
            anything changes."""
            from reconciler.commands.emulator_cmd import emulated_setup_command
            from reconciler.live.preflight import merge, needs_checks, preflight

            setup = emulated_setup_command(
                source, stack, target, local=local, endpoint_url=endpoint_url, region=region
            )
            return merge(fresh, preflight(target, desired, needs_checks(fresh), setup=setup))

        def run_once(reviewed: Any, unlock: bool) -> ApplyResult:
            return run_apply(
                desired,
                target,
                read_live=lambda: read_live(target, desired, now=target.clock.now()),
                plan_options=options,
                reporter=reporter,
                options=ApplyOptions(timeout=timeout, no_wait=no_wait),
                saved_plan=reviewed,
                confirm=confirm,
                break_lock=unlock,
                on_plan=show,
                check_plan=preflight_checks,
                on_lock=None if locks is None else locks.append,
            )

        def ask_to_plan_again(changed: ApplyResult) -> bool:
            print_report(changed)
            shown.append(changed)
            return bool(typer.confirm("Plan again now and review the new plan?", default=False))

        try:
            result = run_once(saved, break_lock)
        except StalePlanError as exc:
            if saved is None:
                raise
            again = _plan_again_command(
                path, source, stack, saved.options, local, endpoint_url, region, profile
            )
            raise StalePlanError(exc.message, hint=f"run `{again}` again and apply the new plan") from None
        if not auto_approve and saved is None:
            result = reask_while_changed(result, lambda: run_once(None, False), ask_to_plan_again)
        checked = None
        if verify and result.exit_code == 0:
            from reconciler.verify import run_verify

            checked = run_verify(target, desired)
    finally:
        if reporter is not None:
            reporter.close()
        target.close()
    if result.broke_lock_of:
        print(f"Broke the stack lock held by {result.broke_lock_of}.")
    if result.cancelled:
        print("Apply cancelled; nothing was changed.")
        return 1
    if not any(result is printed for printed in shown):
        print_report(result)
    if result.outputs_error:
        print(f"Error: {result.outputs_error}", file=sys.stderr)
    if result.outputs_file:
        print(
            f"Outputs written to {result.outputs_file}"
            + (f" ({result.ssm_written} SSM parameters updated)" if result.ssm_written else "")
        )
    if checked is not None:
        print(checked.render())
        if not checked.ok:
            return 1
    return result.exit_code
