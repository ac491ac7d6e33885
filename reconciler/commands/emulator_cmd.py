"""`emulator serve`: a local Amazon Personalize (plus moto's S3/IAM/STS/SSM) on one HTTP endpoint.
`emulator prepare`: in such an emulated account (`--local` or `--endpoint-url` of `serve`), the S3 buckets,
bucket policies and import roles the manifests' data imports need (what `make demo` sets up), so a new user's
first plan is not refused for want of them."""

from __future__ import annotations

import errno
import shlex
from pathlib import Path
from typing import Any

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

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Run the local Amazon Personalize emulator (serve), or prepare its account for imports (prepare).",
)


@app.command("serve")
def serve_command(
    port: int = typer.Option(4566, "--port", "-p", min=0, max=65535, help="TCP port on 127.0.0.1 (0: any)."),
    state: Path | None = typer.Option(
        None,
        "--state",
        help="Persist the whole emulated account (Personalize, S3 objects, SSM parameters, IAM roles) in "
        "this file: loaded at start, saved after every change and on exit.",
    ),
    time_scale: float = typer.Option(
        600.0,
        "--time-scale",
        min=0.001,
        help="Virtual seconds per wall-clock second (600: a 45-minute training takes 4.5 s).",
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Loopback address to bind (no other is accepted)."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log every request."),
) -> None:
    """Serve Personalize, S3, IAM, STS and SSM at http://HOST:PORT until Ctrl-C.

    Use it with boto3 (`endpoint_url=...` and any non-empty credentials), the AWS CLI
    (`aws personalize list-dataset-groups --endpoint-url http://127.0.0.1:4566`) or
    `personalize-gitops plan --endpoint-url http://127.0.0.1:4566`.
    """
    from reconciler.emulator.persistence import StateFileError
    from reconciler.emulator.server import serve

    try:
        serve(port, state_file=state, time_scale=time_scale, host=host, quiet=not verbose)
    except StateFileError as exc:
        _fail(str(exc), "pass another --state file, or delete this one to start with an empty account")
    except ValueError as exc:  # a non-loopback --host, a bad snapshot
        _fail(str(exc), None)
    except OSError as exc:
        if exc.errno in (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL):
            _fail(
                f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                "choose another --port (or --port 0 for any free port)",
            )
        _fail(f"the emulator stopped: {exc.strerror or exc}", None)


@app.command("prepare")
def prepare_command(
    path: Path = typer.Argument(Path("manifests"), help="Manifest directory or file."),
    stack: Path | None = stack_option(),
    local: bool = local_option(),
    endpoint_url: str | None = endpoint_url_option(),
    region: str | None = region_option(),
    profile: str | None = profile_option(),
) -> None:
    """Create what the manifests' data imports need, in an emulated account only.

    For every Dataset's dataImport: the dataLocation's S3 bucket (unless there), a bucket policy letting
    personalize.amazonaws.com read it (replacing any), and the roleArn (unless there: trusted by
    personalize.amazonaws.com, reading those buckets) - what `make demo` sets up, and what plan's preflight
    checks. Data is not uploaded: `localFile` has apply upload it. Needs --local or the --endpoint-url of
    `personalize-gitops emulator serve`; never real AWS (there your infrastructure code owns these).
    """
    from reconciler.aws.personalize_access import prepare_data_access
    from reconciler.aws.target import _emulator_clock, check_target_options
    from reconciler.live.preflight import split_s3
    from reconciler.manifest import load
    from reconciler.model.address import Kind
    from reconciler.model.spec import DatasetSpec

    try:
        check_target_options(local=local, endpoint_url=endpoint_url, profile=profile)
    except ReconcilerError as exc:
        _fail(exc.message, exc.hint)
    if not local and not endpoint_url:
        _fail(
            "emulator prepare changes an emulated account only, and none was named; nothing was changed",
            "pass --local (the account in .personalize-gitops/emulator-state.json) or --endpoint-url URL of "
            "`personalize-gitops emulator serve`; in a real account, create the bucket, its bucket policy "
            "and the import role with your infrastructure code",
        )
    if endpoint_url and not local and _emulator_clock(endpoint_url) is None:
        _fail(
            f"{endpoint_url} is not a `personalize-gitops emulator serve` endpoint (no answer to "
            "/_emulator/status); nothing was changed",
            "start `personalize-gitops emulator serve` and pass the URL it prints, or use --local",
        )
    try:
        desired = load(path, stack_file=stack)
        imports = [
            (split_s3(res.spec.dataImport.dataLocation)[0], res.spec.dataImport.roleArn)
            for res in desired.of_kind(Kind.DATASET)
            if isinstance(res.spec, DatasetSpec) and res.spec.dataImport is not None
        ]
        if not imports:
            typer.echo(f"No dataset in {path} has a dataImport: nothing to prepare.")
            return
        with open_cli_target(
            local=local,
            endpoint_url=endpoint_url,
            region=region,
            default_region=desired.stack.settings.region,
            profile=profile,
        ) as target:
            made = prepare_data_access(target.s3, target.iam, target.region, imports)
            label = target.label
    except ReconcilerError as exc:
        _fail(exc.message, exc.hint)
    typer.echo(f"Prepared the data access of {path} in {label}:")
    for kind, name, created in made:
        if kind == "bucket":
            typer.echo(f"  bucket  s3://{name} ({'created' if created else 'already there'})")
        elif kind == "policy":
            typer.echo(f"  policy  s3://{name} readable by personalize.amazonaws.com (bucket policy put)")
        elif created:
            typer.echo(f"  role    {name} (created, trusted by personalize.amazonaws.com, reads the buckets)")
        else:
            typer.echo(f"  role    {name} (already there, kept as it is)")


def emulated_setup_command(
    path: Path, stack: Path | None, target: Any, *, local: bool, endpoint_url: str | None, region: str | None
) -> str | None:
    """The `emulator prepare` command plan's and apply's preflight hints name against an emulated account
    (`--local`, or an `--endpoint-url` that `emulator serve` answers), with the same manifests, stack file
    and target options; None against any other target."""
    from reconciler.aws.target import EmulatorEndpointClock
    from reconciler.commands.plan_cmd import target_args

    mode = getattr(target, "mode", None)
    if not (mode == "local" or (mode == "endpoint" and isinstance(target.clock, EmulatorEndpointClock))):
        return None
    command = f"personalize-gitops emulator prepare {shlex.quote(str(path))}"
    command += f" --stack {shlex.quote(str(stack))}" if stack is not None else ""
    return command + target_args(local=local, endpoint_url=endpoint_url, region=region)


def _fail(message: str, hint: str | None) -> None:
    error = ReconcilerError(message, hint=hint)
    typer.echo(f"error: {error.render()}", err=True)
    raise typer.Exit(error.exit_code)
