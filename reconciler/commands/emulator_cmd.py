"""`emulator serve`: a local Amazon Personalize (plus moto's S3/IAM/STS/SSM) on one HTTP endpoint."""

from __future__ import annotations

import errno
from pathlib import Path

import typer

from reconciler.errors import ReconcilerError

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Run the local Amazon Personalize emulator.",
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


def _fail(message: str, hint: str | None) -> None:
    error = ReconcilerError(message, hint=hint)
    typer.echo(f"error: {error.render()}", err=True)
    raise typer.Exit(error.exit_code)
