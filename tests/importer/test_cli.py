"""`personalize-gitops import` end to end through the CLI, on the `--local` emulator: the workshop is built
with plain boto3 calls, then import, plan (only adopt), apply, plan (no changes) are run as commands."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reconciler.aws.target import open_target
from reconciler.cli import app

from .workshop import GROUP, build_workshop

STATE = ".personalize-gitops"


@pytest.fixture(scope="module")
def workshop_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The workshop built once, in a `--local` emulator state directory (copied by each test)."""
    home = tmp_path_factory.mktemp("local-workshop")
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("AWS_PROFILE", raising=False)
        target = open_target(
            local=True, endpoint_url=None, region="us-east-1", state_path=home / STATE / "emulator-state.json"
        )
        try:
            build_workshop(
                target.personalize, target.s3, target.clock, account=target.account_id(), region="us-east-1"
            )
        finally:
            target.close()
    return home / STATE


@pytest.fixture
def local_workshop(workshop_state: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory whose `--local` account holds the workshop."""
    shutil.copytree(workshop_state, tmp_path / STATE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    return tmp_path


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_import_plan_apply_plan_on_the_command_line(local_workshop: Path) -> None:
    code, output = run("import", "--local", "--dataset-group", GROUP, "--out", "gitops")
    assert code == 0, output
    assert f"wrote gitops/{GROUP}.yaml (15 resources)" in output
    assert "wrote gitops/stack.yaml" in output
    assert "Not imported" not in output and "Warnings" not in output
    assert (local_workshop / "gitops" / "stack.yaml").read_text().count(f"name: {GROUP}") == 1

    code, output = run("plan", "gitops", "--local", "--format", "json", "--detailed-exitcode")
    assert code == 2, output
    rendered = json.loads(output)
    summary = {k: v for k, v in rendered["summary"].items() if v}
    assert summary == {"adopt": 12, "no-op": 3}, summary  # 3 schemas: not taggable, nothing to adopt
    assert {c["action"] for c in rendered["resource_changes"]} == {"adopt", "no-op"}

    code, output = run("apply", "gitops", "--local", "--auto-approve")
    assert code == 0, output
    code, output = run("plan", "gitops", "--local", "--detailed-exitcode")
    assert code == 0, output


def test_refuses_to_overwrite_then_force(local_workshop: Path) -> None:
    assert run("import", "--local", "-g", GROUP, "--out", "m")[0] == 0
    code, output = run("import", "--local", "-g", GROUP, "--out", "m")
    assert code == 1
    assert f"refusing to overwrite m/{GROUP}.yaml; nothing was written" in output
    assert "hint: pass --force" in output
    code, output = run("import", "--local", "-g", GROUP, "--out", "m", "--force")
    assert code == 0, output
    assert "kept the existing stack file m/stack.yaml" in output


def test_all_and_option_errors(local_workshop: Path) -> None:
    code, output = run("import", "--local", "--all", "--out", "all", "--stack-name", "everything")
    assert code == 0, output
    assert "name: everything" in (local_workshop / "all" / "stack.yaml").read_text()

    code, output = run("import", "--local", "--out", "x")
    assert code == 1 and "nothing to import" in output and "--dataset-group NAME" in output
    code, output = run("import", "--local", "--all", "-g", GROUP)
    assert code == 1 and "--all and --dataset-group both given" in output
    code, output = run("import", "--local", "-g", "missing", "--out", "x")
    assert code == 1 and "dataset group 'missing' not found" in output and GROUP in output
    assert "Traceback" not in output
    # the stack of an existing directory decides the prefix: a different one is refused
    code, output = run("import", "--local", "-g", GROUP, "--out", "all", "--name-prefix", "dev-", "--force")
    assert code == 1 and "differs from namePrefix ''" in output


def test_a_stack_name_the_manifests_cannot_hold_is_refused_before_anything_is_written(
    local_workshop: Path,
) -> None:
    code, output = run("import", "--local", "--all", "--out", "named", "--stack-name", "bad name!")
    assert code == 1, output
    assert "--stack-name 'bad name!'" in output and "nothing was written" in output
    assert "Traceback" not in output
    assert not (local_workshop / "named").exists()
    code, output = run("import", "--local", "-g", GROUP, "--out", "prefixed", "--name-prefix", "-dev")
    assert code == 1 and "--name-prefix '-dev' is not a valid name prefix" in output, output
    assert not (local_workshop / "prefixed").exists()


def test_the_next_step_it_prints_reaches_the_same_account(local_workshop: Path) -> None:
    """The "Next:" line is a command to copy: after `import --local` it must plan the same `--local` account
    (without --local it asked for AWS credentials), and after `--endpoint-url URL` the same endpoint."""
    code, output = run("import", "--local", "-g", GROUP, "--out", "gitops")
    assert code == 0, output
    assert "Next: `personalize-gitops plan gitops --local` should show only `adopt`" in output
    next_command = output.split("Next: `personalize-gitops ", 1)[1].split("`", 1)[0].split()
    code, plan_output = run(*next_command, "--detailed-exitcode")
    assert code == 2, plan_output
    assert "will be adopted" in plan_output
