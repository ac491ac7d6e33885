"""Hostile input (issue 14): `validate` on a YAML alias expansion bomb must answer (exit 1, file:line) in well
under a second and 100 MB.

The bomb is the corpus case tests/manifest/corpus/87-yaml-alias-bomb.yaml (a ~700-byte document whose nested
aliases would expand to ~48 million values) next to the corpus' valid base. Each measurement runs in a fresh
Python process, so the peak resident memory is that of a whole `validate` run (interpreter, botocore model and
pydantic included), not a difference that could hide a spike; the wall time is that of the `validate()` call.

Run: `.venv/bin/python -m benchmarks.bench_hostile`
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.registry import add_notes, section
from benchmarks.results import Figure, issue_row

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "tests" / "manifest" / "corpus"
BOMB = CORPUS / "87-yaml-alias-bomb.yaml"
#: issue 14: "the alias case under 1 s and 100 MB"
MAX_SECONDS = 1.0
MAX_MB = 100.0

_PROBE = """
import json, resource, sys, time
from reconciler.manifest import validate
from benchmarks.procmem import peak_rss_kb
start = time.perf_counter()
report = validate(sys.argv[1])
wall = time.perf_counter() - start
peak_kb = peak_rss_kb()
errors = [e.splitlines()[0] for e in report.errors]
print(json.dumps({"wall": wall, "peak_mb": peak_kb / 1024, "errors": errors}))
"""


def measure_bomb() -> dict[str, object]:
    """One fresh-process `validate` of the bomb case: wall seconds, peak MB, the errors it printed."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        shutil.copytree(CORPUS / "_base", work / "base")
        shutil.copy(BOMB, work / "case.yaml")
        done = subprocess.run(
            [sys.executable, "-c", _PROBE, str(work)],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
            cwd=work,
            env={**os.environ, "PYTHONPATH": str(REPO)},  # benchmarks.procmem
        )
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def figures(runs: int = 3) -> list[Figure]:
    samples = [measure_bomb() for _ in range(runs)]
    wall = max(float(str(s["wall"])) for s in samples)
    peak = max(float(str(s["peak_mb"])) for s in samples)
    errors = samples[0]["errors"]
    rejected = isinstance(errors, list) and any("alias expansion bomb" in str(e) for e in errors)
    tried = "" if rejected else f"the bomb was not reported as one: {errors}"
    return [
        issue_row(
            "validate",
            "YAML alias bomb: validate wall time (worst of 3)",
            f"{wall:.3f} s",
            f"< {MAX_SECONDS:g} s",
            wall < MAX_SECONDS and rejected,
            "issue 14",
            tried=tried,
        ),
        issue_row(
            "validate",
            "YAML alias bomb: peak memory of the whole process",
            f"{peak:.0f} MB",
            f"< {MAX_MB:g} MB",
            peak < MAX_MB and rejected,
            "issue 14",
            tried=tried,
        ),
    ]


@section("hostile", order=25)
def hostile_section(args: argparse.Namespace) -> list[Figure]:
    """issue 14: the alias bomb corpus case rejected in < 1 s and < 100 MB."""
    add_notes(
        "hostile: `validate` of the alias-bomb corpus case (87) in a fresh Python process; the wall time of "
        "the validate() call and the peak RSS of the whole process (interpreter and botocore included)."
    )
    return figures(runs=1 if getattr(args, "quick", False) else 3)


def main() -> int:
    for figure in figures():
        print(f"{figure.name}: {figure.value} (target {figure.target}) {figure.status}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
