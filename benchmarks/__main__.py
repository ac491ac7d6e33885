"""`make bench` (`python -m benchmarks`): every benchmark, one table, and benchmarks/RESULTS.md regenerated.

The rows come from the sections registered in :mod:`benchmarks.registry` (emulator, validate, apply and plan
in benchmarks/sections.py, load+plan scaling and memory in benchmarks/bench_scale.py, and whatever other
modules register). Ratios come from one run, so machine noise largely cancels.

Each figure is printed next to its target with PASS / FAIL; the target is the issue's own where an issue
states one, otherwise the row says "no number in the issue; bar chosen: X"; INFO rows carry no target. A
section that crashes or hangs (more than `--section-timeout` seconds) is reported as ERROR and the others
still run. Exit code 0 when every benchmark ran (even with FAILs; `--strict` makes a FAIL exit 1), 1
otherwise.

Options: `--quick` (smallest sizes, for a smoke run), `--only a,b` (some sections), `--list`,
`--out FILE` (default benchmarks/RESULTS.md), `--no-write`.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.registry import SectionFunction, notes, sections
from benchmarks.results import FAIL, Figure, Run, machine, render_markdown, render_table

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def run_section(
    name: str,
    section: SectionFunction,
    args: argparse.Namespace,
    timeout: float,
    hung: list[str] | None = None,
) -> list[Figure]:
    """Run one section in a worker thread; a crash or a hang becomes an ERROR figure (a hung section's name
    is appended to `hung`)."""
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["figures"] = section(args)
        except BaseException as exc:  # reported as an ERROR row, never a traceback at the top
            outcome["error"] = f"{type(exc).__name__}: {exc}"
            outcome["trace"] = traceback.format_exc()

    worker = threading.Thread(target=work, name=f"bench-{name}", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        if hung is not None:
            hung.append(name)
        return [_failed(name, f"did not finish within {timeout:.0f} s (hung?)")]
    if "error" in outcome:
        print(outcome["trace"], file=sys.stderr)
        return [_failed(name, str(outcome["error"]))]
    figures: list[Figure] = outcome["figures"]
    return figures


def compile_bytecode() -> None:
    """Compile the package's bytecode before timing commands, as pip does when it installs the wheel. A
    checkout installed editable where PYTHONDONTWRITEBYTECODE is set (this machine sets it) never caches
    bytecode and recompiles some 70 modules, about 0.13 s, on every start: a cost users of the wheel never
    pay."""
    import compileall

    compileall.compile_dir(Path(__file__).resolve().parents[1] / "reconciler", quiet=1)


def _failed(name: str, error: str) -> Figure:
    return Figure(name, "benchmark run", "-", "runs", False, "", error=error)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smallest sizes only (smoke run)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="markdown file to write")
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--only", default="", help="comma-separated section names (see --list)")
    parser.add_argument("--list", action="store_true", help="print the registered sections and exit")
    parser.add_argument("--section-timeout", type=float, default=900.0, help="seconds per section")
    args = parser.parse_args(argv)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    registered = sections()
    if args.list:
        print("\n".join(s.name for s in registered))
        return 0
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    unknown = only - {s.name for s in registered}
    if unknown:
        parser.error(f"unknown section(s): {', '.join(sorted(unknown))}")
    compile_bytecode()
    started = datetime.now(UTC)
    wall = time.perf_counter()
    figures: list[Figure] = []
    hung: list[str] = []
    for entry in registered:
        if only and entry.name not in only:
            continue
        print(f"running {entry.name} benchmark ...", flush=True)
        section_start = time.perf_counter()
        figures += run_section(entry.name, entry.run, args, args.section_timeout, hung)
        print(f"  {entry.name}: {time.perf_counter() - section_start:.1f} s", flush=True)
    run = Run(
        figures=figures,
        started=started.strftime("%Y-%m-%d %H:%M UTC"),
        wall_seconds=time.perf_counter() - wall,
        machine=machine(),
        notes=notes(),
        command="make bench" + (" (--quick)" if args.quick else ""),
    )
    print()
    print(render_table(run))
    if not args.no_write:
        args.out.write_text(render_markdown(run), encoding="utf-8")
        print(f"\nwrote {args.out}")
    failed = any(f.error for f in figures)
    missed = any(f.status == FAIL for f in figures)
    code = 1 if failed or (args.strict and missed) else 0
    sys.stdout.flush()
    if hung:
        os._exit(code)  # a hung section's thread must not keep the process alive
    return code


if __name__ == "__main__":
    raise SystemExit(main())
