"""Run the shipped workflows (examples/github/workflows) against the embedded emulator.

The `run:` scripts are executed as written by bash, with `${{ }}` expressions and `if:` conditions evaluated
(tests/github/actions_runner.py). Only what needs GitHub or AWS is faked: `uses:` actions, `gh`, `pip`, and
the target: a `personalize-gitops` shim adds `--local` to `plan` and `apply`, so the workflows' exact commands
read and change the local emulated account kept in the workspace. A renamed flag, a wrong exit-code branch or
a broken issue/comment step fails these tests.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from reconciler.demo import seed_local_account
from reconciler.manifest import load
from reconciler.plan import planfile
from reconciler.render import render_markdown
from tests.github.actions_runner import ActionsRunner, Run
from tests.github.fakes import ActionFakes, gh_state, write_fake_bin
from tests.github.workflow_support import ROOT, TEMPLATES

REAL_CLI = Path(sys.executable).parent / "personalize-gitops"
REPO = "acme/recs"
PLAN_ROLE_DEV = "arn:aws:iam::123456789012:role/personalize-gitops-plan-retail-dev"
APPLY_ROLE_DEV = "arn:aws:iam::123456789012:role/personalize-gitops-apply-retail-dev"

pytestmark = pytest.mark.skipif(
    not REAL_CLI.exists(), reason="personalize-gitops is not installed in this venv"
)


def git(ws: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    result = subprocess.run(["git", *args], cwd=ws, env=env, capture_output=True, text=True, check=True)
    return result.stdout.strip()


def commit(ws: Path, message: str) -> str:
    git(ws, "add", "-A")
    git(ws, "commit", "-q", "--allow-empty", "-m", message)
    return git(ws, "rev-parse", "HEAD")


@dataclass
class Bench:
    ws: Path
    fakes: ActionFakes
    env: dict[str, str]
    fake_bin: Path
    base_sha: str

    def run(self, workflow: str, event_name: str, github: dict[str, Any], **kwargs: Any) -> Run:
        runner = ActionsRunner(
            TEMPLATES / workflow,
            self.ws,
            event_name=event_name,
            github={"repository": REPO, "run_id": "77", "server_url": "https://github.com", **github},
            fakes=self.fakes.mapping(),
            path_prefix=[self.fake_bin],
            base_env={**os.environ, **self.env},
            temp_root=self.fake_bin.parent,
            **kwargs,
        )
        run = runner.run()
        if os.environ.get("WORKFLOW_RUN_TIMES"):
            for step in run.steps:
                if step.seconds > 0.5:
                    print(f"{step.seconds:6.1f}s {step.job} {step.leg.get('stack', '')} {step.name}")
        return run

    def pull_request(self, head_sha: str, *, fork: bool = False) -> dict[str, Any]:
        head_repo = "someone/recs" if fork else REPO
        return {
            "sha": head_sha,
            "base_ref": "main",
            "event": {
                "pull_request": {
                    "number": 42,
                    "base": {"sha": self.base_sha},
                    "head": {"sha": head_sha, "repo": {"full_name": head_repo}},
                }
            },
        }

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(REAL_CLI), *args], cwd=self.ws, capture_output=True, text=True, check=False, timeout=300
        )


def _bench(tmp_path: Path, *, without: tuple[str, ...] = ()) -> Bench:
    ws = tmp_path / "repo"
    ws.mkdir()
    shutil.copytree(ROOT / "manifests", ws / "manifests")
    shutil.copytree(ROOT / "data", ws / "data")
    for name in without:
        (ws / "manifests" / "retail" / name).unlink()
    (ws / "README.md").write_text("recommendations\n")
    git(ws, "init", "-q", "-b", "main")
    base = commit(ws, "base")
    # the data pipeline of each stack (bucket + policy, import role, data) in the --local account: plan's
    # preflight refuses a plan whose imports would fail (issue 14)
    for stack_file in (None, ws / "manifests" / "prod.stack.yaml"):
        seed_local_account(ws, ws / "data" / "sample", load(ws / "manifests", stack_file=stack_file))
    fake_bin = tmp_path / "bin"
    env = write_fake_bin(fake_bin, REAL_CLI)
    return Bench(ws, ActionFakes(), env, fake_bin, base)


# --- plan.yml -----------------------------------------------------------------------------------------


@pytest.fixture
def bench(tmp_path: Path) -> Bench:
    return _bench(tmp_path)


def test_plan_comments_each_touched_stack_with_the_renderer_output(bench: Bench) -> None:
    campaigns = bench.ws / "manifests" / "retail" / "campaigns.yaml"
    campaigns.write_text(campaigns.read_text().replace("minProvisionedTPS: 1", "minProvisionedTPS: 2", 1))
    head = commit(bench.ws, "more TPS")

    run = bench.run("plan.yml", "pull_request", bench.pull_request(head))

    assert {j: r.result for j, r in run.jobs.items()} == {
        "fork": "skipped",
        "stacks": "success",
        "plan": "success",
        "result": "success",
    }
    assert [c["header"] for c in bench.fakes.comments] == [
        "personalize-gitops-plan-retail-dev",
        "personalize-gitops-plan-retail-prod",
    ]
    # read-only role of each stack, from the matrix (ci-setup's names)
    assert [c["role"] for c in bench.fakes.credentials] == [
        PLAN_ROLE_DEV,
        PLAN_ROLE_DEV.replace("retail-dev", "retail-prod"),
    ]
    for comment in bench.fakes.comments:
        # the posted comment is exactly the markdown renderer's output for the plan the step saved
        saved = planfile.load(comment["path"].removesuffix(".md") + ".json")
        assert comment["body"] == render_markdown(saved)
        stack = comment["header"].removeprefix("personalize-gitops-plan-")
        assert saved.stack == stack
        assert f"<!-- personalize-gitops:plan:{stack} -->" in comment["body"]
        assert "minProvisionedTPS" in comment["body"]
        assert len(comment["body"]) < 65536
    # the saved plans are kept as artifacts, one per stack
    assert sorted(bench.fakes.artifacts) == ["personalize-plan-retail-dev", "personalize-plan-retail-prod"]
    assert json.loads(bench.fakes.artifacts["personalize-plan-retail-dev"])["format_version"]
    for leg_summary, comment in zip(run.jobs["plan"].summaries, bench.fakes.comments, strict=True):
        assert comment["body"] in leg_summary  # the plan is in the job summary too
    plan_steps = [s for s in run.steps if s.job == "plan" and s.name == "Plan"]
    assert [s.outputs["exitcode"] for s in plan_steps] == ["2", "2"]  # changes are not failures
    assert all(s.outcome == "skipped" for s in run.steps if s.name.startswith("Fail on plan errors"))
    installs = [s for s in run.steps if s.name == "Install personalize-gitops"]
    assert installs and all(
        "fake pip: install personalize-gitops @ git+https://" in s.stdout for s in installs
    )
    assert not gh_state(bench.env)["calls"]  # the plan workflow never needs gh


def test_pull_request_without_manifest_changes_exits_early_and_passes(bench: Bench) -> None:
    (bench.ws / "README.md").write_text("better docs\n")
    head = commit(bench.ws, "docs")

    run = bench.run("plan.yml", "pull_request", bench.pull_request(head))

    assert run.jobs["stacks"].result == "success"
    assert run.jobs["stacks"].outputs["count"] == "0"
    assert run.jobs["plan"].result == "skipped"
    assert run.jobs["result"].result == "success"  # the required check reports, never pending
    assert "nothing to plan" in run.jobs["stacks"].summaries[0]
    assert bench.fakes.comments == [] and bench.fakes.credentials == []


def test_fork_pull_requests_get_no_credentials_and_a_summary(bench: Bench) -> None:
    (bench.ws / "manifests" / "retail" / "filters.yaml").write_text(
        (bench.ws / "manifests" / "retail" / "filters.yaml").read_text() + "\n# from a fork\n"
    )
    head = commit(bench.ws, "fork change")

    run = bench.run("plan.yml", "pull_request", bench.pull_request(head, fork=True))

    assert run.jobs["fork"].result == "success"
    assert "pull request from a fork" in run.jobs["fork"].summaries[0]
    assert "someone/recs" in run.jobs["fork"].summaries[0]
    assert run.jobs["stacks"].result == run.jobs["plan"].result == "skipped"
    assert run.jobs["result"].result == "success"
    assert bench.fakes.credentials == [] and bench.fakes.comments == []


def test_plan_error_is_commented_and_fails_the_check(bench: Bench) -> None:
    campaigns = bench.ws / "manifests" / "retail" / "campaigns.yaml"
    campaigns.write_text(campaigns.read_text().replace("minProvisionedTPS: 1", "minProvisionedTPS: 0", 1))
    head = commit(bench.ws, "broken")

    run = bench.run("plan.yml", "pull_request", bench.pull_request(head))

    assert run.jobs["plan"].result == "failure"
    assert run.jobs["result"].result == "failure"
    assert len(bench.fakes.comments) == 2
    for comment in bench.fakes.comments:
        assert "Personalize plan failed" in comment["body"]
        assert "campaigns.yaml" in comment["body"] and "minProvisionedTPS" in comment["body"]
    assert all(s.outcome == "failure" for s in run.steps if s.name.startswith("Fail on plan errors"))


# --- apply.yml and drift.yml ----------------------------------------------------------------------------


def _issues(bench: Bench, state: str = "open") -> dict[str, dict[str, Any]]:
    return {i["title"]: i for i in gh_state(bench.env)["issues"] if i["state"] == state}


@pytest.mark.slow
def test_apply_on_merge_then_drift_continues_and_reports(tmp_path: Path) -> None:
    # campaigns left out to keep this scenario short; the trainings (45 virtual minutes) make sure the first
    # apply is still waiting when its shortened timeout runs out, however slow the machine
    bench = _bench(tmp_path, without=("campaigns.yaml",))
    for stack_file in (None, bench.ws / "manifests" / "prod.stack.yaml"):
        desired = load(bench.ws / "manifests", stack_file=stack_file)
        seed_local_account(bench.ws, bench.ws / "data" / "sample", desired)
    stack = bench.ws / "manifests" / "stack.yaml"
    stack.write_text(stack.read_text().replace("environment: dev", "environment: dev\n    team: recs"))
    merged = commit(bench.ws, "tag dev resources (#42)")
    push = {"sha": merged, "event": {"before": bench.base_sha}}

    # 1. merge: only retail-dev changed; imports and trainings outlast the shortened timeout -> exit 3
    run = bench.run("apply.yml", "push", push, env_overrides={"APPLY_TIMEOUT": "1m"})
    assert run.jobs["stacks"].outputs["count"] == "1"
    assert run.jobs["apply"].result == "success", _debug(run)
    assert run.step("apply", "Apply the plan").outputs["exitcode"] == "3"
    assert [c["role"] for c in bench.fakes.credentials] == [APPLY_ROLE_DEV]
    (comment,) = gh_state(bench.env)["pr_comments"]
    assert comment["number"] == 42 and "Apply still running" in comment["body"]
    assert "<!-- personalize-gitops:apply:retail-dev -->" in comment["body"]
    assert "Apply still running" in run.jobs["apply"].summaries[0]
    pending = _issues(bench)["Personalize apply pending: retail-dev"]
    assert "<!-- personalize-gitops:apply-pending:retail-dev -->" in pending["body"]

    # 2. scheduled drift: prod was never applied, so it differs from main: one issue. dev differs only while
    #    its imports still run (the local clock keeps running between commands): its issue depends on timing.
    #    The pending apply of retail-dev is continued in the production environment and completes.
    plan_step = "Plan main against the account (report only)"
    run = bench.run("drift.yml", "schedule", {"sha": merged}, env_overrides={"APPLY_TIMEOUT": "4h"})
    assert run.jobs["drift"].result == "success", _debug(run)
    dev_code = run.step("drift", plan_step, stack="retail-dev").outputs["exitcode"]
    assert dev_code in ("0", "2")
    assert run.step("drift", plan_step, stack="retail-prod").outputs["exitcode"] == "2"
    assert run.jobs["stacks"].outputs["pending-count"] == "1"
    assert run.jobs["continue"].result == "success", _debug(run)
    assert run.step("continue", "Plan and apply main").outputs["exitcode"] == "0"
    dev_title = "Personalize drift: retail-dev differs from main"
    prod_title = "Personalize drift: retail-prod differs from main"
    assert set(_issues(bench)) == ({prod_title, dev_title} if dev_code == "2" else {prod_title})
    assert "Personalize apply pending: retail-dev" in _issues(bench, "closed")
    drift_prod = _issues(bench)[prod_title]
    assert "<!-- personalize-gitops:drift:retail-prod -->" in drift_prod["body"]
    assert "<!-- personalize-gitops:plan:retail-prod -->" in drift_prod["body"]  # the plan renderer's output
    assert "Last checked" in drift_prod["body"]

    # 3. next schedule: dev matches main (its issue, if any, is closed); prod's issue is updated in place
    issues_before = len(gh_state(bench.env)["issues"])
    run = bench.run("drift.yml", "schedule", {"sha": merged})
    assert run.jobs["continue"].result == "skipped"
    assert run.step("drift", plan_step, stack="retail-dev").outputs["exitcode"] == "0"
    assert set(_issues(bench)) == {prod_title}
    assert (dev_title in _issues(bench, "closed")) == (dev_code == "2")
    assert len(gh_state(bench.env)["issues"]) == issues_before  # no second issue for prod

    # 4. apply by hand selects every stack (the apply jobs themselves are exercised above)
    run = bench.run("apply.yml", "workflow_dispatch", {"sha": merged}, only_jobs={"stacks"})
    assert run.jobs["stacks"].outputs["count"] == "2"


def _debug(run: Run) -> str:
    return "\n".join(
        f"{s.job} {s.leg.get('stack', '')} {s.name}: {s.outcome} {s.outputs}\n"
        f"{s.stdout[-1500:]}\n{s.stderr[-1500:]}"
        for s in run.steps
        if s.outcome == "failure" or s.name.startswith(("Apply", "Plan"))
    )


@pytest.mark.parametrize(("continue_apply", "pending"), [(True, "2"), (False, "0")])
def test_drift_dispatch_with_continue_apply_selects_every_stack(
    bench: Bench, continue_apply: bool, pending: str
) -> None:
    run = bench.run(
        "drift.yml",
        "workflow_dispatch",
        {"sha": bench.base_sha},
        inputs={"continue-apply": continue_apply},
        only_jobs={"stacks"},
    )
    assert run.jobs["stacks"].outputs["count"] == "2"
    assert run.jobs["stacks"].outputs["pending-count"] == pending
    asked_github = any(call[:1] == ["api"] for call in gh_state(bench.env)["calls"])
    assert asked_github is not continue_apply  # open "apply pending" issues are looked up only when needed
