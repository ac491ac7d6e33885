"""Runs one corpus case: the case file next to a copy of the shared valid base, from a temporary cwd.

A case file states what `validate` must report in comments at its end (so they do not shift line numbers):

    # expect: case.yaml:7:22: Campaign/c1: spec.minProvisionedTPS: must be >= 1 (got 0)
    # expect-hint: did you mean
    # expect-warning: case.yaml:...
    # expect-info: case.yaml:...

`expect` lines are the complete list of errors (first line of each message, in output order);
warnings, infos and hints must be present.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.manifest import validate

CORPUS = Path(__file__).parent / "corpus"
BASE = CORPUS / "_base"


@dataclass
class Expectations:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    infos: list[str] = field(default_factory=list)
    hints: list[str] = field(default_factory=list)


def case_text(case: Path) -> str:
    """A case's text; undecodable bytes (the non-UTF-8 case) replaced, so its comments can be read."""
    return case.read_bytes().decode("utf-8", errors="replace")


def expectations(case: Path) -> Expectations:
    result = Expectations()
    for line in case_text(case).splitlines():
        if not line.startswith("#"):
            continue
        key, _, value = line[1:].strip().partition(": ")
        target = {
            "expect": result.errors,
            "expect-warning": result.warnings,
            "expect-info": result.infos,
            "expect-hint": result.hints,
        }.get(key)
        if target is not None:
            target.append(value.strip())
    return result


@dataclass
class Outcome:
    errors: list[str]
    warnings: list[str]
    infos: list[str]
    full: list[str]


def run_case(case: Path, workdir: Path) -> Outcome:
    shutil.copytree(BASE, workdir / "base")
    shutil.copy(case, workdir / "case.yaml")
    previous = Path.cwd()
    os.chdir(workdir)
    try:
        report = validate(Path("."))
    finally:
        os.chdir(previous)

    def first_lines(messages: list[str]) -> list[str]:
        return [m.splitlines()[0] for m in messages]

    return Outcome(
        first_lines(report.errors),
        first_lines(report.warnings),
        first_lines(report.infos),
        report.errors + report.warnings + report.infos,
    )


def cases() -> list[Path]:
    return sorted(p for p in CORPUS.glob("*.yaml"))


if __name__ == "__main__":  # print what each case reports (to review before writing its expectations)
    import sys
    import tempfile

    for case in cases():
        if len(sys.argv) > 1 and not any(arg in case.name for arg in sys.argv[1:]):
            continue
        with tempfile.TemporaryDirectory() as tmp:
            outcome = run_case(case, Path(tmp))
        print(f"== {case.name}")
        for message in outcome.full:
            print(message)
