"""YAML manifests -> validated `DesiredState` (all problems in one run, file:line:col). No AWS calls.

Public interface:
* `load(path, stack_file=None) -> DesiredState` (raises `ManifestError` listing every error)
* `validate(path, stack_file=None) -> ValidationReport` (errors, warnings, infos, state when valid)
* `dump_documents(resources) -> str` (YAML in the manifest format; `load` reads it back to the same specs)
"""

from __future__ import annotations

from pathlib import Path

from reconciler.errors import ManifestError
from reconciler.manifest.loader import ValidationReport, build_state, parse
from reconciler.manifest.problems import Severity
from reconciler.manifest.rules import run_rules
from reconciler.manifest.writer import dump_documents, dump_resource
from reconciler.model.state import DesiredState

__all__ = ["ValidationReport", "dump_documents", "dump_resource", "load", "load_desired_state", "validate"]


def validate(path: Path | str, stack_file: Path | str | None = None) -> ValidationReport:
    """Validate manifests offline and return every problem (never raises for manifest problems)."""
    context, reporter = parse(Path(path), stack_file=Path(stack_file) if stack_file else None)
    if context is not None and not context.unchecked:
        run_rules(context)
    state = build_state(context) if context is not None and not reporter.has_errors else None
    return ValidationReport(
        state=state,
        errors=[p.format() for p in reporter.of(Severity.ERROR)],
        warnings=[p.format() for p in reporter.of(Severity.WARNING)],
        infos=[p.format() for p in reporter.of(Severity.INFO)],
        resource_count=len(context.resources) if context is not None else 0,
    )


def load(path: Path | str, *, stack_file: Path | str | None = None) -> DesiredState:
    """The validated desired state of `path` (a directory or one file); raises `ManifestError`."""
    report = validate(path, stack_file)
    if report.errors or report.state is None:
        # nothing to fix "above" when there are no manifests to read: the error's own hint says what to pass
        missing = stack_file is None and not Path(path).exists()
        raise ManifestError(
            report.errors or ["no state could be built"],
            hint=None
            if missing
            else "fix the problems above; `personalize-gitops validate` lists them with warnings",
        )
    return report.state


#: Alias of `load` (some callers use the longer name).
load_desired_state = load
