"""Crash tests: a real `python -m reconciler apply --local` process is killed with SIGKILL when its progress
output shows a given step starting; the next applies (with --break-lock: the dead process still holds the
lock) converge, and nothing exists twice: one resource of each, one import, one training.

`--local` saves the emulated account after every mutating call, so the killed process leaves the account
exactly as far as it got (as real AWS would).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from apply_support import REPO, write_mini

from reconciler.aws.target import open_target
from reconciler.demo import seed_local_account
from reconciler.manifest import load

pytestmark = pytest.mark.slow

TIME_SCALE = "20000"


def run_apply(cwd: Path, *extra: str, kill_at: str | None = None) -> tuple[int, str]:
    command = [sys.executable, "-m", "reconciler", "apply", "mini", "--local", "--auto-approve"]
    command += ["--time-scale", TIME_SCALE, *extra]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("AWS_PROFILE", None)
    proc = subprocess.Popen(
        command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    assert proc.stdout is not None
    lines: list[str] = []
    killed = False
    for line in proc.stdout:
        lines.append(line)
        if kill_at and not killed and " start " in line and kill_at in line:
            os.kill(proc.pid, signal.SIGKILL)
            killed = True
    code = proc.wait(timeout=120)
    if kill_at:
        assert killed, f"never saw a step {kill_at!r} start:\n{''.join(lines)}"
        assert code == -signal.SIGKILL
    return code, "".join(lines)


def account(cwd: Path, desired) -> tuple[dict[str, int], bool]:
    """How many of each thing the local account holds, and whether a plan there has changes."""
    from reconciler.live.reader import read_live
    from reconciler.plan.planner import plan

    state = cwd / ".personalize-gitops" / "emulator-state.json"
    target = open_target(local=True, endpoint_url=None, region="us-east-1", state_path=state)
    try:
        pz = target.personalize
        datasets = pz.list_datasets()["datasets"]
        counts = {
            "groups": len(pz.list_dataset_groups()["datasetGroups"]),
            "schemas": len(pz.list_schemas()["schemas"]),
            "datasets": len(datasets),
            "imports": sum(
                len(pz.list_dataset_import_jobs(datasetArn=d["datasetArn"])["datasetImportJobs"])
                for d in datasets
            ),
            "solutions": len(pz.list_solutions()["solutions"]),
            "versions": len(pz.list_solution_versions()["solutionVersions"]),
            "campaigns": len(pz.list_campaigns()["campaigns"]),
            "filters": len(pz.list_filters()["Filters"]),
        }
        changes = plan(desired, read_live(target, desired, now=target.clock.now())).has_changes
    finally:
        target.close()  # also stops its moto mock (saving back the state it read changes nothing)
    return counts, changes


EXPECTED = {
    "groups": 1,
    "schemas": 1,
    "datasets": 1,
    "imports": 1,
    "solutions": 1,
    "versions": 1,
    "campaigns": 1,
    "filters": 1,
}


@pytest.mark.parametrize(
    "kill_at",
    [
        "create Dataset/interactions",
        "import Dataset/interactions",
        "train Solution/sims",
        "create Campaign/sims",
    ],
)
def test_killed_apply_converges_on_rerun_without_duplicates(tmp_path: Path, kill_at: str) -> None:
    write_mini(tmp_path)
    desired = load(tmp_path / "mini")
    seed_local_account(tmp_path, tmp_path / "data", desired)
    run_apply(tmp_path, kill_at=kill_at)
    code, output = run_apply(tmp_path, "--break-lock")
    if code == 3:  # work the killed run started may still be running in (scaled) virtual time
        code, output = run_apply(tmp_path, "--break-lock")
    assert code == 0, output
    assert "Broke the stack lock" in output
    counts, changes = account(tmp_path, desired)
    assert counts == EXPECTED
    assert not changes


def run_cli(cwd: Path, *args: str) -> tuple[int, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("AWS_PROFILE", None)
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    return done.returncode, done.stdout + done.stderr


def test_saved_plan_applies_once_then_is_stale(tmp_path: Path) -> None:
    write_mini(tmp_path)
    seed_local_account(tmp_path, tmp_path / "data", load(tmp_path / "mini"))
    code, output = run_cli(tmp_path, "plan", "mini", "--local", "--out", "plan.json")
    assert code == 0, output
    apply = [
        "apply",
        "plan.json",
        "--manifests",
        "mini",
        "--local",
        "--auto-approve",
        "--time-scale",
        TIME_SCALE,
    ]
    code, output = run_cli(tmp_path, *apply)
    assert code == 0, output
    assert "Apply complete: 6 created" in output
    code, output = run_cli(tmp_path, *apply)
    assert code == 1
    assert "Saved plan is stale" in output and "Traceback" not in output


def test_ctrl_c_releases_the_lock_and_the_next_apply_continues(tmp_path: Path) -> None:
    write_mini(tmp_path)
    desired = load(tmp_path / "mini")
    seed_local_account(tmp_path, tmp_path / "data", desired)
    command = [sys.executable, "-m", "reconciler", "apply", "mini", "--local", "--auto-approve"]
    command += ["--time-scale", "600"]  # slow enough that the training is still running at Ctrl-C
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    assert proc.stdout is not None
    output = []
    for line in proc.stdout:
        output.append(line)
        if " start " in line and "train Solution/sims" in line:
            proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 130, "".join(output)
    assert "Interrupted. The stack lock was released" in "".join(output)
    code, out = run_apply(tmp_path)  # no --break-lock needed
    if code == 3:
        code, out = run_apply(tmp_path)
    assert code == 0, out
    counts, changes = account(tmp_path, desired)
    assert counts == EXPECTED and not changes


def versions(cwd: Path) -> int:
    counts, _ = account(cwd, load(cwd / "mini"))
    return counts["versions"]


def test_rerun_of_a_killed_retrain_continues_its_training_instead_of_training_again(tmp_path: Path) -> None:
    """`apply --retrain sims` killed after its training finished (while it starts the promotion), then the
    very same command again: the rerun continues that training (no second, billed one); a deliberate
    `--retrain sims` after that completed apply trains again."""
    write_mini(tmp_path)
    seed_local_account(tmp_path, tmp_path / "data", load(tmp_path / "mini"))
    code, output = run_apply(tmp_path)
    assert code == 0, output
    assert versions(tmp_path) == 1
    run_apply(tmp_path, "--retrain", "sims", kill_at="Campaign/sims")  # the training is ACTIVE by then
    assert versions(tmp_path) == 2
    code, output = run_apply(tmp_path, "--retrain", "sims")  # takes over the dead apply's expired lease
    assert code == 0, output
    assert versions(tmp_path) == 2, output  # before: 3 (a second training, billed)
    assert "continues the training of an apply that did not complete" in output, output
    assert "continues the training --retrain sims asked of an apply that did not complete" in output, output
    code, output = run_apply(tmp_path, "--retrain", "sims")
    assert code == 0, output
    assert "did not complete" not in output, output
    assert versions(tmp_path) == 3, output
