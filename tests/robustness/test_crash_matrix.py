"""Crash matrix: `python -m reconciler apply manifests/ --local --auto-approve` (a real subprocess, the
emulated account persisted in the work directory) is killed with SIGKILL at a step boundary of the seed apply,
then rerun until it converges.

Boundaries are the apply's mutating calls (the lock, every create, import, training, the unlock): `after:N`
kills right after call N took effect (saved, response not yet seen: the worst moment for duplicates),
`before:N` right before call N is sent (everything it waited for is done). `wait:<Operation>:<n>` kills
inside a wait instead: a few milliseconds after the n-th status read of a wait (an import, a training, a
campaign being created), while apply sleeps between polls. The kill is done by the process
itself (tests/robustness/crashhook/sitecustomize.py sends SIGKILL to its own pid) so the boundary is exact.

After the kill: a plain rerun must exit 0, taking over the dead apply's stack lock by itself once its lease
expired (the emulated account's clock runs x100000: the lease of the killed apply is long over) and saying
so; then the plan is empty, every resource ACTIVE, no duplicate resource, training
or import, no lost data, and no output ever contains a traceback.

`make test` runs a sample of boundaries; `make soak` runs every one (both kinds).
"""

from __future__ import annotations

import shutil
import signal
from pathlib import Path
from typing import Any

import pytest

from .support import (
    CRASH_HOOK_DIR,
    audit,
    audit_line,
    cli_env,
    has_traceback,
    local_plan_changes,
    local_snapshot,
    prepare_local_workdir,
    run_cli,
    tally,
)

SUITE = "crash matrix (kill -9 of apply at step boundaries)"
APPLY = ["apply", "manifests/", "--local", "--auto-approve", "--time-scale", "100000"]
#: mutating calls of the seed apply from an empty account: lock, 15 creates, 3 imports, 3 import records (a
#: TagResource on each dataset once its import is ACTIVE), 3 trainings, unlock
SEED_MUTATING_CALLS = 26
#: kill -9 inside a wait, not at a call boundary: a few ms after the n-th status read of the wait for an
#: import, a training, a campaign (the emulated account keeps running the job meanwhile)
WAIT_POINTS = [
    "wait:DescribeSolutionVersion:1",
    "wait:DescribeDatasetImportJob:1",
    "wait:DescribeDatasetImportJob:3",
    "wait:DescribeSolutionVersion:3",
    "wait:DescribeSolutionVersion:5",
    "wait:DescribeCampaign:1",
    "wait:DescribeCampaign:4",
]
FAST_BOUNDARIES = ["after:9", "after:18", "wait:DescribeSolutionVersion:1"]
ALL_BOUNDARIES = [
    *(f"{when}:{n}" for n in range(1, SEED_MUTATING_CALLS + 1) for when in ("before", "after")),
    *WAIT_POINTS,
]
SOAK_BOUNDARIES = [b for b in ALL_BOUNDARIES if b not in FAST_BOUNDARIES]


@pytest.fixture(scope="session")
def crash_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    """A prepared work directory (samples + bucket, role and data in the local account), copied per case."""
    root = tmp_path_factory.mktemp("crash-template")
    desired = prepare_local_workdir(root)
    return root, desired


def _personalize_state(workdir: Path) -> Any:
    snapshot = local_snapshot(workdir)
    regions = snapshot["regions"]
    return [(r["account"], r["region"], r["state"]["resources"], r["state"]["tags"]) for r in regions]


@pytest.mark.soak
def test_seed_apply_has_the_expected_boundaries(crash_template: tuple[Path, Any], tmp_path: Path) -> None:
    """A clean run lists its mutating calls: the matrix covers each of them."""
    template, desired = crash_template
    work = tmp_path / "w"
    shutil.copytree(template, work)
    log = tmp_path / "calls.log"
    done = run_cli(APPLY, work, env=cli_env({"PYTHONPATH": str(CRASH_HOOK_DIR), "PG_CRASH_LOG": str(log)}))
    assert done.returncode == 0, done.stdout + done.stderr
    calls = [line.split()[1] for line in log.read_text(encoding="utf-8").splitlines()]
    assert len(calls) == SEED_MUTATING_CALLS, calls
    assert calls[0] == "PutParameter" and calls[-1] == "PutParameter"  # lock taken ... lock released
    assert calls.count("CreateSolutionVersion") == 3 and calls.count("CreateDatasetImportJob") == 3
    assert calls.count("TagResource") == 3, calls  # the datasets' import records
    assert audit(local_snapshot(work), desired, "123456789012").clean


def run_case(boundary: str, template: Path, desired: Any, tmp: Path) -> None:
    counts = tally(SUITE)
    counts.cases += 1
    work = tmp / "w"
    shutil.copytree(template, work)
    log = tmp / "calls.log"
    env = cli_env({"PYTHONPATH": str(CRASH_HOOK_DIR), "PG_CRASH_AT": boundary, "PG_CRASH_LOG": str(log)})
    outputs: list[str] = []

    def check(result: Any) -> Any:
        text = result.stdout + result.stderr
        outputs.append(text)
        if has_traceback(text):
            counts.tracebacks += 1
        return result

    killed = check(run_cli(APPLY, work, env=env))
    assert killed.returncode == -signal.SIGKILL, f"{boundary}: apply was not killed:\n{killed.stdout}"
    at = log.read_text(encoding="utf-8").splitlines()[-1].split()[1]
    counts.bump("killed", 1)

    # the lock is taken by call 1 and released by the last call: in between, the rerun finds the dead
    # apply's lock, its lease expired (not renewed since the kill), and takes it over without --break-lock
    lock_taken = boundary not in ("before:1", f"after:{SEED_MUTATING_CALLS}")
    rerun = check(run_cli(APPLY, work))
    if lock_taken:
        assert "Broke the stack lock held by" in rerun.stdout and "its lease expired" in rerun.stdout, (
            f"{boundary} ({at}): the rerun did not say it took over the stale lock:\n{rerun.stdout}"
        )
        counts.bump("stale lock taken over", 1)
    assert rerun.returncode == 0, f"{boundary} ({at}): rerun failed:\n{rerun.stdout}\n{rerun.stderr}"
    left = local_plan_changes(work, desired)
    report = audit(local_snapshot(work), desired, "123456789012")
    counts.duplicates += report.duplicates
    counts.data_lost += report.data_lost
    if not left and report.clean and not any(has_traceback(t) for t in outputs):
        counts.converged += 1
    else:
        counts.failures.append(f"{boundary} ({at}): plan left {left}; {audit_line(report)}")
    assert not any(has_traceback(t) for t in outputs), "\n".join(outputs)
    assert not left, f"{boundary} ({at}): the plan after the rerun is not empty: {left}"
    assert report.clean, f"{boundary} ({at}): {audit_line(report)}"


@pytest.mark.parametrize("boundary", FAST_BOUNDARIES)
def test_killed_apply_converges_on_rerun(
    boundary: str, crash_template: tuple[Path, Any], tmp_path: Path
) -> None:
    run_case(boundary, *crash_template, tmp_path)


@pytest.mark.soak
@pytest.mark.parametrize("boundary", SOAK_BOUNDARIES)
def test_killed_apply_converges_on_rerun_soak(
    boundary: str, crash_template: tuple[Path, Any], tmp_path: Path
) -> None:
    run_case(boundary, *crash_template, tmp_path)
