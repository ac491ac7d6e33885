"""`import`: write manifests for dataset groups that already exist (built by hand or by notebooks), so the
stack can adopt them without recreating anything.

Exit codes: 0 written, 1 error (nothing found, a file would be overwritten, target unusable, or the written
manifests do not validate).
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any, TextIO

import typer

from reconciler.commands.common import (
    endpoint_url_option,
    local_option,
    open_cli_target,
    profile_option,
    region_option,
)
from reconciler.errors import ReconcilerError

DEFAULT_OUT = Path("manifests")


def import_command(
    dataset_group: list[str] = typer.Option(
        [], "--dataset-group", "-g", help="Name (or ARN) of a dataset group to import; repeatable."
    ),
    all_groups: bool = typer.Option(False, "--all", help="Import every dataset group in the region."),
    out: Path = typer.Option(DEFAULT_OUT, "--out", "-o", help="Directory to write the manifests to."),
    stack_name: str | None = typer.Option(
        None,
        "--stack-name",
        help="Stack name for the ownership tags (default: the stack file's in --out, else the dataset "
        "group's name, else 'imported').",
    ),
    name_prefix: str | None = typer.Option(
        None,
        "--name-prefix",
        help="Physical-name prefix to strip from names (becomes the stack's namePrefix).",
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite files that already exist."),
    endpoint_url: str | None = endpoint_url_option(),
    local: bool = local_option(),
    region: str | None = region_option(
        help="AWS region (default: the stack file's in --out, then AWS_REGION)."
    ),
    profile: str | None = profile_option(),
) -> None:
    """Generate manifests from existing dataset groups (plan on them then shows only `adopt`)."""
    try:
        code = run_import_cli(
            groups=dataset_group,
            all_groups=all_groups,
            out=out,
            stack_name=stack_name,
            name_prefix=name_prefix,
            force=force,
            open_kwargs={"local": local, "endpoint_url": endpoint_url, "region": region, "profile": profile},
        )
    except ReconcilerError as exc:
        print(f"Error: {exc.render()}", file=sys.stderr)
        raise typer.Exit(exc.exit_code) from None
    raise typer.Exit(code)


def resolve_settings(
    *, out: Path, groups: list[str], all_groups: bool, stack_name: str | None, name_prefix: str | None
) -> tuple[str, str, str | None]:
    """(stack name, name prefix, region from an existing stack file) after checking the options."""
    from reconciler.importer.files import existing_stack_settings, find_stack_file

    if all_groups and groups:
        raise ReconcilerError(
            "--all and --dataset-group both given", hint="use one: --all imports every dataset group"
        )
    if not all_groups and not groups:
        raise ReconcilerError("nothing to import", hint="pass --dataset-group NAME (repeatable) or --all")
    existing = find_stack_file(out)
    existing_name, settings = existing_stack_settings(existing) if existing else (None, None)
    prefix = name_prefix
    if settings is not None:
        if name_prefix is not None and name_prefix != settings.namePrefix:
            raise ReconcilerError(
                f"--name-prefix {name_prefix!r} differs from namePrefix {settings.namePrefix!r} of the stack "
                f"file {existing}",
                hint="omit --name-prefix to use the stack's, or import into another --out directory",
            )
        prefix = settings.namePrefix
    if stack_name and existing_name and stack_name != existing_name:
        raise ReconcilerError(
            f"--stack-name {stack_name!r} differs from the stack {existing_name!r} of {existing}",
            hint="omit --stack-name to use the existing stack, or import into another --out directory",
        )
    name = stack_name or existing_name
    if not name:
        name = groups[0] if len(groups) == 1 and not groups[0].startswith("arn:") else "imported"
        if prefix and name.startswith(prefix) and name != prefix:
            name = name[len(prefix) :]
    _check_names(name, given=stack_name is not None, prefix=prefix if settings is None else None)
    return name, prefix or "", settings.region if settings is not None else None


def _check_names(stack: str, *, given: bool, prefix: str | None) -> None:
    """Refuse, before anything is read or written, a stack name or prefix the written manifests could not
    hold (`validate` would reject the files just written)."""
    from reconciler.manifest.rules.names import PREFIX_PATTERN, STACK_NAME

    if not STACK_NAME.fullmatch(stack):
        where = f"--stack-name {stack!r}" if given else f"the stack name {stack!r} (the dataset group's)"
        raise ReconcilerError(
            f"{where} is not a valid stack name; nothing was written",
            hint="pass --stack-name NAME: letters, digits and inner hyphens, at most 39 characters (it names "
            "the CI environment, roles and issues of the stack)",
        )
    if prefix and not PREFIX_PATTERN.match(prefix):
        raise ReconcilerError(
            f"--name-prefix {prefix!r} is not a valid name prefix; nothing was written",
            hint="letters, digits, '-' and '_', starting with a letter or digit (dev-, prod_)",
        )


def run_import_cli(
    *,
    groups: list[str],
    all_groups: bool,
    out: Path,
    stack_name: str | None,
    name_prefix: str | None,
    force: bool,
    open_kwargs: dict[str, Any],
    target: Any = None,
    stdout: TextIO | None = None,
) -> int:
    """The command without typer: open the target (unless given), import, write, validate, report."""

    stack, prefix, stack_region = resolve_settings(
        out=out, groups=groups, all_groups=all_groups, stack_name=stack_name, name_prefix=name_prefix
    )
    from reconciler.commands.plan_cmd import target_args

    # the target options the printed "Next:" command must repeat to plan the same account (the region is in
    # the stack file)
    again = target_args(
        local=bool(open_kwargs.get("local")),
        endpoint_url=open_kwargs.get("endpoint_url"),
        region=None,
        profile=open_kwargs.get("profile"),
    )
    owned = target is None
    if target is None:
        target = open_cli_target(**open_kwargs, default_region=stack_region)
    try:
        return _run(
            target,
            groups=None if all_groups else groups,
            out=out,
            stack=stack,
            prefix=prefix,
            force=force,
            stdout=stdout or sys.stdout,
            again=again,
        )
    finally:
        if owned:
            target.close()


def _run(
    target: Any,
    *,
    groups: list[str] | None,
    out: Path,
    stack: str,
    prefix: str,
    force: bool,
    stdout: TextIO,
    again: str = "",
) -> int:
    from reconciler.importer import import_groups, write_manifests
    from reconciler.manifest import validate

    def say(line: str = "") -> None:
        print(line, file=stdout)

    result = import_groups(
        target.personalize,
        groups=groups,
        stack=stack,
        prefix=prefix,
        region=target.region,
        account=target.account_id(),
    )
    if not result.groups and not result.skipped:
        raise ReconcilerError(
            f"no dataset group found in {target.label}",
            hint="check --region / --endpoint-url, or create one first",
        )
    written = write_manifests(result, out, source=target.label, force=force)
    say(f"Imported from {target.label} (stack {stack!r}" + (f", namePrefix {prefix!r})" if prefix else ")"))
    for group, path in zip(result.groups, written.files, strict=True):
        count = len(result.of_group(group))
        say(f"  wrote {path} ({count} resource{'s' if count != 1 else ''})")
    if written.stack_file is not None:
        say(
            f"  wrote {written.stack_file} (Stack {stack}: region, accountId"
            + (", namePrefix)" if prefix else ")")
        )
    else:
        say(f"  kept the existing stack file {written.existing_stack}")
    if result.skipped:
        say()
        say(f"Not imported ({len(result.skipped)}; listed at the end of the files too):")
        for item in result.skipped:
            say(f"  - {item}")
    if result.warnings:
        say()
        say("Warnings:")
        for warning in result.warnings:
            say(f"  - {warning}")
    report = validate(out)
    if report.errors:
        say()
        say("The written manifests do not validate:")
        for message in report.errors:
            say(f"  {message}")
        return 1
    say()
    command = f"personalize-gitops plan {shlex.quote(str(out))}{again}"
    say(f"Next: `{command}` should show only `adopt` actions (ownership tags); apply them")
    say("to put these resources under GitOps. Read the comments in the files: they say what was inferred.")
    return 0
