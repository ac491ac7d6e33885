"""Figures, targets and the two renderings of `make bench`: a terminal table and benchmarks/RESULTS.md.

A `Figure` is one measured value next to the target it is judged against (`ok` True/False: PASS/FAIL), or
reported without a target (`ok` None: INFO). Build rows with :func:`issue_row` when an issue gives the
target (quote it verbatim), :func:`chosen_row` when no issue gives a number (the row then says "no number in
the issue; bar chosen: X"), :func:`info_row` for context without a target. A FAIL stays in the table with
`tried` saying what was tried. Rendering is pure: the same figures always give the same text.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata

PASS, FAIL, INFO, ERROR = "PASS", "FAIL", "INFO", "ERROR"


@dataclass(frozen=True)
class Figure:
    area: str
    """Benchmark section: plan, apply, idempotency, validate, emulator."""
    name: str
    """What was measured, e.g. `200 resources: API calls vs minimal`."""
    value: str
    """The measured value as shown (`1.03x (652 / 633)`)."""
    target: str
    """The target as shown (`<= 1.10x`), or `-` when there is none."""
    ok: bool | None
    """True: meets the target; False: misses it; None: reported without a target."""
    source: str = ""
    """Where the target comes from (`issue 15`, `no number in the issue; bar chosen: ...`)."""
    error: str | None = None
    """Set when the benchmark itself failed to run (status ERROR, counted as not met)."""
    tried: str = ""
    """For a FAIL: what was tried to meet the target (shown next to the miss in RESULTS.md)."""

    @property
    def status(self) -> str:
        if self.error is not None:
            return ERROR
        if self.ok is None:
            return INFO
        return PASS if self.ok else FAIL


def issue_row(
    area: str, name: str, value: str, target: str, ok: bool, issue: str, *, tried: str = ""
) -> Figure:
    """A row whose target an issue states: `target` as the issue writes it, `issue` e.g. "issue 15"."""
    return Figure(area, name, value, target, ok, issue, tried=tried if not ok else "")


def chosen_row(
    area: str, name: str, value: str, bar: str, ok: bool, why: str = "", *, tried: str = ""
) -> Figure:
    """A row no issue gives a number for: the bar is this benchmark's own (ambitious) choice, and says so."""
    source = f"no number in the issue; bar chosen: {bar}" + (f" ({why})" if why else "")
    return Figure(area, name, value, bar, ok, source, tried=tried if not ok else "")


def info_row(area: str, name: str, value: str, source: str = "") -> Figure:
    """Context without a target (INFO)."""
    return Figure(area, name, value, "-", None, source)


@dataclass
class Machine:
    nproc: int
    cpus_usable: int
    python: str
    boto3: str
    botocore: str
    platform: str

    def line(self) -> str:
        return (
            f"{self.nproc} CPUs ({self.cpus_usable} usable), Python {self.python}, boto3 {self.boto3}, "
            f"botocore {self.botocore}, {self.platform}"
        )


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine() -> Machine:
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count() or 1
    return Machine(
        nproc=os.cpu_count() or 1,
        cpus_usable=usable,
        python=platform.python_version(),
        boto3=_version("boto3"),
        botocore=_version("botocore"),
        platform=f"{platform.system()} {platform.machine()}",
    )


@dataclass
class Run:
    figures: list[Figure]
    started: str
    """UTC date and time the run started (`2026-11-29 22:10 UTC`)."""
    wall_seconds: float
    machine: Machine
    notes: list[str] = field(default_factory=list)
    command: str = "make bench"

    def counts(self) -> dict[str, int]:
        out = {PASS: 0, FAIL: 0, INFO: 0, ERROR: 0}
        for figure in self.figures:
            out[figure.status] += 1
        return out

    def verdict(self) -> str:
        c = self.counts()
        judged = c[PASS] + c[FAIL] + c[ERROR]
        text = f"{c[PASS]} of {judged} targets met"
        if c[FAIL]:
            text += f", {c[FAIL]} FAIL"
        if c[ERROR]:
            text += f", {c[ERROR]} benchmark(s) could not run (ERROR)"
        return text + (f"; {c[INFO]} figures reported without a target" if c[INFO] else "")


def _width(rows: Sequence[Sequence[str]], column: int) -> int:
    return max(len(r[column]) for r in rows)


def render_table(run: Run) -> str:
    """The terminal table (plain text, no colours)."""
    header = ("area", "measured", "value", "target", "status")
    rows = [header] + [(f.area, f.name, f.value, f.target, f.status) for f in run.figures]
    widths = [_width(rows, i) for i in range(len(header))]
    lines = []
    for i, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(widths[c]) for c, cell in enumerate(row)).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    lines.append("")
    lines.append(f"{run.verdict()}  ({run.wall_seconds:.0f} s wall, {run.machine.line()})")
    for figure in run.figures:
        if figure.error:
            lines.append(f"ERROR {figure.area}: {figure.error}")
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(run: Run) -> str:
    """benchmarks/RESULTS.md."""
    c = run.counts()
    out = [
        "<!-- Generated by `make bench` (`python -m benchmarks`). Do not edit by hand: rerun it. -->",
        "# Benchmark results",
        "",
        f"**Regenerated by `{run.command}` on {run.started}; not hand-edited.** "
        f"Machine: {run.machine.line()}. The whole run took {run.wall_seconds:.0f} s of wall time.",
        "",
        f"**Verdict: {run.verdict()}.**",
        "",
    ]
    misses = [f for f in run.figures if f.status in (FAIL, ERROR)]
    if misses:
        out.append("Targets not met:")
        out.append("")
        for f in misses:
            what = f"could not run: {f.error}" if f.error else f"measured {f.value}, target {f.target}"
            tried = f" Tried: {f.tried.rstrip('.')}." if f.tried else ""
            out.append(f"- **{f.status}** {f.area}, {f.name}: {what}.{tried}")
        out.append("")
    elif c[PASS]:
        out += ["Every figure with a target meets it.", ""]
    out += [
        "| area | measured | value | target | status | target from |",
        "|---|---|---|---|---|---|",
    ]
    for f in run.figures:
        status = f"**{f.status}**" if f.status in (FAIL, ERROR) else f.status
        out.append(
            f"| {_cell(f.area)} | {_cell(f.name)} | {_cell(f.value)} | {_cell(f.target)} | {status} | "
            f"{_cell(f.source)} |"
        )
    if run.notes:
        out += ["", "## How these are measured", ""]
        out += [f"- {note}" for note in run.notes]
    out.append("")
    return "\n".join(out)
