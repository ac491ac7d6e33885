"""`validate` (offline manifest checks) and `schema` (JSON Schema of the manifest format)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from reconciler.manifest import validate


def validate_command(
    directory: Path = typer.Argument(Path("manifests"), help="Manifest directory or file."),
    stack: Path | None = typer.Option(
        None, "--stack", help="Stack settings file (default: the `kind: Stack` document in DIR)."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print errors only (no warnings or infos)."),
) -> None:
    """Check manifests offline (YAML, types, references, Personalize rules); exit 1 on errors."""
    report = validate(directory, stack)
    for message in report.errors:
        print(message)
    if not quiet:
        for message in report.warnings:
            print(message)
        for message in report.infos:
            print(message)
    counts = []
    if report.warnings:
        counts.append(f"{len(report.warnings)} warning{'s' if len(report.warnings) != 1 else ''}")
    suffix = f" ({', '.join(counts)})" if counts else ""
    if report.errors:
        n = len(report.errors)
        print(f"{n} error{'s' if n != 1 else ''}{suffix}: manifests are not valid", file=sys.stderr)
        raise typer.Exit(1)
    n = report.resource_count
    print(f"{n} resource{'s' if n != 1 else ''} valid{suffix}")


def schema_command(
    output: Path | None = typer.Option(None, "--output", "-o", help="Write to this file instead of stdout."),
) -> None:
    """Print the JSON Schema of the manifest format (for yaml-language-server and other editors)."""
    from reconciler.manifest.jsonschema import manifest_json_schema

    text = json.dumps(manifest_json_schema(), indent=2, sort_keys=False) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        try:
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            print(
                f"Error: cannot write the schema to {output}: {exc.strerror or exc}\n"
                "  hint: pass a file path in a writable directory, e.g. "
                "-o manifests/.schema/personalize-gitops.schema.json",
                file=sys.stderr,
            )
            raise typer.Exit(1) from None
