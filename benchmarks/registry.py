"""The sections of `make bench`: each benchmark module registers the functions that produce its rows.

A section is a function ``(args) -> list[Figure]`` (``args.quick`` asks for a smoke-sized run) registered
with ``@section("name", order=N)``. Adding rows from another module takes two lines: decorate the function
and list the module in :data:`SECTION_MODULES`::

    from benchmarks.registry import section
    from benchmarks.results import Figure, chosen_row, issue_row

    @section("read", order=40)
    def read_rows(args) -> list[Figure]:
        ratio = ...
        return [issue_row("read", "500 resources: read wall vs ideal over HTTP", f"{ratio:.2f}x",
                          "<= 1.2x", ratio <= 1.2, "issue 15")]

Sections run in ``order`` (then name); a section that crashes or hangs becomes an ERROR row and the others
still run. Build rows with ``issue_row`` (the issue's target verbatim), ``chosen_row`` (no number in any
issue: say which bar was chosen) or ``info_row``.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from dataclasses import dataclass

from benchmarks.results import Figure

SectionFunction = Callable[[argparse.Namespace], list[Figure]]

#: Modules whose import registers sections (a module may register several).
SECTION_MODULES: tuple[str, ...] = (
    "benchmarks.sections",
    "benchmarks.bench_hostile",
    "benchmarks.bench_startup",
    "benchmarks.bench_models",
    "benchmarks.bench_plan",
    "benchmarks.bench_upload",
    "benchmarks.bench_scale",
    "benchmarks.bench_runtime",
)


@dataclass(frozen=True)
class Section:
    name: str
    run: SectionFunction
    order: int


_REGISTERED: dict[str, Section] = {}
_NOTES: dict[str, None] = {}  # insertion-ordered set


def add_notes(*texts: str) -> None:
    """Lines for RESULTS.md's "How these are measured" (each once, in registration order)."""
    for text in texts:
        _NOTES.setdefault(text, None)


def notes() -> list[str]:
    return list(_NOTES)


def section(name: str, *, order: int = 50) -> Callable[[SectionFunction], SectionFunction]:
    """Register ``function`` as the section ``name`` (re-registering a name replaces it)."""

    def register(function: SectionFunction) -> SectionFunction:
        _REGISTERED[name] = Section(name, function, order)
        return function

    return register


def sections() -> list[Section]:
    """Every registered section, in run order (imports :data:`SECTION_MODULES` first)."""
    for module in SECTION_MODULES:
        importlib.import_module(module)
    return sorted(_REGISTERED.values(), key=lambda s: (s.order, s.name))
