"""Run the workflows a user's repository holds (the callers `ci-setup` writes, which call this repository's
reusable workflows) against the embedded emulator.

The `run:` scripts are executed as written by bash, with `${{ }}` expressions and `if:` conditions evaluated
(tests/github/actions_runner.py), including the reusable-workflow calls, job permissions (enforced by the `gh`
fake and by the OIDC claims the AWS fake checks against the trust policies ci-setup wrote), environment
approvals, concurrency groups and artifacts. Only what needs GitHub or AWS is faked: `uses:` actions, `gh`,
`pip`, and the target: a `personalize-gitops` shim adds `--local` to `plan`, `apply` and `ci lock`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from reconciler.apply.lock import Lease, epoch_parameter
from reconciler.aws.target import DEFAULT_LOCAL_STATE, open_target
from reconciler.ci.callers import DEFAULT_WORKFLOWS_REPO
from reconciler.demo import seed_local_account
from reconciler.manifest import load
from reconciler.plan import planfile
from reconciler.render import render_markdown
from tests.github.actions_runner import ActionsRunner, Approval, Run, WorkflowInvalid
from tests.github.fakes import ActionFakes, gh_state, set_gh_state, write_fake_bin
from tests.github.workflow_support import OWN, ROOT, TEMPLATES, load_workflow

REAL_CLI = Path(sys.executable).parent / "personalize-gitops"
REPO = "acme/recs"
PIN = "013aaa3cf9b423bc6a93dfc064d83f587221a585"
ACCOUNT = "123456789012"
PLAN_ROLE_DEV = f"arn:aws:iam::{ACCOUNT}:role/personalize-gitops-plan-retail-dev"
APPLY_ROLE_DEV = f"arn:aws:iam::{ACCOUNT}:role/personalize-gitops-apply-retail-dev"
APPLY_ROLE_PROD = f"arn:aws:iam::{ACCOUNT}:role/personalize-gitops-apply-retail-prod"

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


def resolve(uses: str) -> Path:
    """The reusable workflows of this repository, as the pinned callers name them."""
    path, _, ref = uses.partition("@")
    assert path.startswith(f"{DEFAULT_WORKFLOWS_REPO}/.github/workflows/"), uses
    assert len(ref) == 40 and all(c in "0123456789abcdef" for c in ref), f"not pinned by SHA: {uses}"
    return OWN / path.rsplit("/", 1)[1]


@dataclass
class Bench:
    ws: Path
    fakes: ActionFakes
    env: dict[str, str]
    fake_bin: Path
    base_sha: str
    approvals: list[Approval] = field(default_factory=list)
    on_approval: Callable[[Approval], bool] | None = None

    def approve(self, request: Approval) -> bool:
        self.approvals.append(request)
        return self.on_approval(request) if self.on_approval else True

    def run(self, workflow: str, event_name: str, github: dict[str, Any], **kwargs: Any) -> Run:
        self.fakes.new_run()
        path = self.ws / ".github" / "workflows" / workflow
        runner = ActionsRunner(
            path if path.exists() else TEMPLATES / workflow,
            self.ws,
            event_name=event_name,
            github={
                "repository": REPO,
                "run_id": "77",
                "server_url": "https://github.com",
                "ref": "refs/heads/main",
                **github,
            },
            fakes=self.fakes.mapping(),
            path_prefix=[self.fake_bin],
            base_env={**os.environ, **self.env},
            temp_root=self.fake_bin.parent,
            reusable=resolve,
            approve=self.approve,
            tokens_file=Path(self.env["FAKE_GH_TOKENS"]),
            **kwargs,
        )
        return runner.run()

    def pull_request(self, head_sha: str, *, fork: bool = False) -> dict[str, Any]:
        head_repo = "someone/recs" if fork else REPO
        state = gh_state(self.env)
        state["pr_heads"]["42"] = head_sha
        set_gh_state(self.env, state)
        return {
            "sha": head_sha,
            "ref": "refs/pull/42/merge",
            "base_ref": "main",
            "event": {
                "pull_request": {
                    "number": 42,
                    "base": {"sha": self.base_sha},
                    "head": {"sha": head_sha, "repo": {"full_name": head_repo}},
                }
            },
        }

    def push(self, sha: str, before: str) -> dict[str, Any]:
        return {"sha": sha, "ref": "refs/heads/main", "event": {"before": before}}

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(REAL_CLI), *args], cwd=self.ws, capture_output=True, text=True, check=False, timeout=300
        )

    def ci_setup(self, *extra: str) -> subprocess.CompletedProcess[str]:
        """docs/github-setup.md step 2, then the roles it prints are 'created' (their trust policies)."""
        args = list(extra) if "--repo" in extra else ["--repo", REPO, "--ref", PIN, *extra]
        result = self.cli("ci-setup", *args)
        assert result.returncode == 0, result.stderr
        for stack_dir in (self.ws / "iam").iterdir():
            for role in ("plan", "apply"):
                arn = f"arn:aws:iam::{ACCOUNT}:role/personalize-gitops-{role}-{stack_dir.name}"
                self.fakes.trust[arn] = json.loads((stack_dir / f"{role}-trust.json").read_text())
        return result


def _bench(tmp_path: Path, *, without: tuple[str, ...] = (), setup: bool = True) -> Bench:
    ws = tmp_path / "repo"
    ws.mkdir()
    shutil.copytree(ROOT / "manifests", ws / "manifests")
    shutil.copytree(ROOT / "data", ws / "data")
    for name in without:
        (ws / "manifests" / "retail" / name).unlink()
    (ws / "README.md").write_text("recommendations\n")
    git(ws, "init", "-q", "-b", "main")
    fake_bin = tmp_path / "bin"
    env = write_fake_bin(fake_bin, REAL_CLI)
    bench = Bench(ws, ActionFakes(ws, Path(env["FAKE_GH_STATE"])), env, fake_bin, "")
    if setup:
        bench.ci_setup()
    _seed(bench)  # the user's data pipeline: bucket, import role and data files exist (plan checks them)
    bench.base_sha = commit(ws, "base")
    return bench


@pytest.fixture
def bench(tmp_path: Path) -> Bench:
    return _bench(tmp_path)


def _leg_summary(run: Run, job: str, stack: str) -> str:
    record = run.jobs[job]
    found = [s for s in record.summaries if f"`{stack}`" in s or f"personalize-gitops:plan:{stack}" in s]
    assert found, f"no summary of {job} for {stack}"
    return found[0]


# --- the pull request plan --------------------------------------------------------------------------------


def test_plan_comments_each_touched_stack_with_commit_run_link_and_the_renderer_output(bench: Bench) -> None:
    campaigns = bench.ws / "manifests" / "retail" / "campaigns.yaml"
    campaigns.write_text(campaigns.read_text().replace("minProvisionedTPS: 1", "minProvisionedTPS: 2", 1))
    head = commit(bench.ws, "more TPS")

    run = bench.run("personalize-gitops-plan.yml", "pull_request", bench.pull_request(head))

    assert {j: r.result for j, r in run.jobs.items()} == {
        "plan/fork": "skipped",
        "plan/stacks": "success",
        "plan/plan": "success",
        "plan/result": "success",
        "plan": "success",
    }
    assert [c["header"] for c in bench.fakes.comments] == [
        "personalize-gitops-plan-retail-dev",
        "personalize-gitops-plan-retail-prod",
    ]
    # the read-only role of each stack, assumed with the pull_request subject its trust policy names
    assert [(c["role"], c["sub"]) for c in bench.fakes.credentials] == [
        (PLAN_ROLE_DEV, f"repo:{REPO}:pull_request"),
        (PLAN_ROLE_DEV.replace("retail-dev", "retail-prod"), f"repo:{REPO}:pull_request"),
    ]
    for comment in bench.fakes.comments:
        stack = comment["header"].removeprefix("personalize-gitops-plan-")
        saved = planfile.load(str(Path(comment["path"]).parent / f"plan-{stack}.json"))
        header, _, rest = comment["body"].partition("\n\n")
        # header first: the commit and a link to the run
        assert (
            header
            == f"Plan of commit `{head[:12]}` · [workflow run](https://github.com/{REPO}/actions/runs/77)"
        )
        assert rest.startswith(render_markdown(saved).rstrip())  # then exactly the renderer's output
        digest = planfile.plan_digest(saved).removeprefix("sha256:")
        assert f"head={head} manifests={saved.manifests_digest} plan={digest}" in rest
        assert "minProvisionedTPS" in comment["body"] and len(comment["body"]) < 65536
    assert sorted(bench.fakes.artifacts) == ["personalize-plan-retail-dev", "personalize-plan-retail-prod"]
    for leg_summary, comment in zip(run.jobs["plan/plan"].summaries, bench.fakes.comments, strict=True):
        assert comment["body"] in leg_summary
    installs = [s for s in run.steps if s.name == "Install personalize-gitops"]
    assert installs and all("--require-hashes" in s.stdout for s in installs)  # constraints with hashes
    tool = [c for c in bench.fakes.checkouts if c.get("repository")]
    assert tool and all((c["repository"], c["ref"]) == (DEFAULT_WORKFLOWS_REPO, PIN) for c in tool)
    # the sticky comments are on the pull request, written by the bot
    posted = gh_state(bench.env)["pr_comments"]
    assert len(posted) == 2 and all(c["author"] == "github-actions" for c in posted)


def test_pull_request_without_manifest_changes_exits_early_and_passes(bench: Bench) -> None:
    (bench.ws / "README.md").write_text("better docs\n")
    head = commit(bench.ws, "docs")

    run = bench.run("personalize-gitops-plan.yml", "pull_request", bench.pull_request(head))

    assert run.jobs["plan/stacks"].outputs["count"] == "0"
    assert run.jobs["plan/plan"].result == "skipped"
    assert run.jobs["plan/result"].result == "success"  # the required check reports, never pending
    assert bench.fakes.comments == [] and bench.fakes.credentials == []


def test_fork_pull_requests_get_no_credentials_and_a_summary(bench: Bench) -> None:
    filters = bench.ws / "manifests" / "retail" / "filters.yaml"
    filters.write_text(filters.read_text() + "\n# from a fork\n")
    head = commit(bench.ws, "fork change")

    run = bench.run("personalize-gitops-plan.yml", "pull_request", bench.pull_request(head, fork=True))

    assert run.jobs["plan/fork"].result == "success"
    assert "someone/recs" in run.jobs["plan/fork"].summaries[0]
    assert run.jobs["plan/stacks"].result == run.jobs["plan/plan"].result == "skipped"
    assert run.jobs["plan/result"].result == "success"
    assert bench.fakes.credentials == [] and bench.fakes.comments == []


def test_plan_error_is_commented_and_fails_the_check(bench: Bench) -> None:
    campaigns = bench.ws / "manifests" / "retail" / "campaigns.yaml"
    campaigns.write_text(campaigns.read_text().replace("minProvisionedTPS: 1", "minProvisionedTPS: 0", 1))
    head = commit(bench.ws, "broken")

    run = bench.run("personalize-gitops-plan.yml", "pull_request", bench.pull_request(head))

    assert run.jobs["plan/plan"].result == "failure"
    assert run.jobs["plan/result"].result == "failure"
    assert len(bench.fakes.comments) == 2
    for comment in bench.fakes.comments:
        assert comment["body"].startswith(f"Plan of commit `{head[:12]}`")
        assert "campaigns.yaml" in comment["body"] and "minProvisionedTPS" in comment["body"]


def test_merge_queue_plans_the_group_with_the_queue_subject_and_comments_nothing(bench: Bench) -> None:
    filters = bench.ws / "manifests" / "prod.stack.yaml"
    filters.write_text(filters.read_text() + "\n# queued\n")
    head = commit(bench.ws, "queued change")
    group = {
        "sha": head,
        "ref": f"refs/heads/gh-readonly-queue/main/pr-42-{head}",
        "event": {"merge_group": {"base_sha": bench.base_sha, "head_sha": head}},
    }

    run = bench.run("personalize-gitops-plan.yml", "merge_group", group)

    assert run.jobs["plan/result"].result == "success"  # the required check reports in the queue
    assert run.jobs["plan/stacks"].outputs["count"] == "1"
    assert bench.fakes.comments == []
    (creds,) = bench.fakes.credentials
    assert creds["sub"] == f"repo:{REPO}:ref:refs/heads/gh-readonly-queue/main/pr-42-{head}"
    assert f"Plan of commit `{head[:12]}`" in run.jobs["plan/plan"].summaries[0]


# --- merge: plan before approval, the reviewed plan applied ------------------------------------------------


def _seed(bench: Bench) -> None:
    for stack_file in (None, bench.ws / "manifests" / "prod.stack.yaml"):
        desired = load(bench.ws / "manifests", stack_file=stack_file)
        seed_local_account(bench.ws, bench.ws / "data" / "sample", desired)


def _tag_dev(bench: Bench) -> str:
    stack = bench.ws / "manifests" / "stack.yaml"
    stack.write_text(stack.read_text().replace("environment: dev", "environment: dev\n    team: recs"))
    return commit(bench.ws, "tag dev resources (#42)")


def _debug(run: Run) -> str:
    return "\n".join(
        f"{s.job} {s.leg.get('stack', '')} {s.name}: {s.outcome} {s.outputs}\n"
        f"{s.stdout[-1500:]}\n{s.stderr[-1500:]}"
        for s in run.steps
        if s.outcome == "failure" or s.name.startswith(("Apply", "Plan"))
    )


def _issues(bench: Bench, state: str = "open") -> dict[str, dict[str, Any]]:
    return {i["title"]: i for i in gh_state(bench.env)["issues"] if i["state"] == state}


@pytest.mark.slow
def test_setup_by_the_docs_then_pr_plan_then_merge_applies_the_reviewed_plan_after_approval(
    tmp_path: Path,
) -> None:
    """docs/github-setup.md top to bottom: ci-setup writes three callers and roles for every stack; a pull
    request gets its plan comment; the merge re-plans without environment, shows that it is the reviewed
    plan before anyone approves, and the approved job applies exactly that saved plan."""
    bench = _bench(tmp_path, without=("campaigns.yaml",), setup=False)
    docs = (ROOT / "docs" / "github-setup.md").read_text()
    (command,) = [line for line in docs.splitlines() if line.startswith("personalize-gitops ci-setup ")]
    argv = command.replace("OWNER/REPO", REPO).replace("SHA", PIN).split()
    assert argv[:2] == ["personalize-gitops", "ci-setup"] and "--ref" in argv
    setup = bench.ci_setup(*argv[2:], "--timeout", "6h")  # step 2 of the docs, as written
    assert sorted(p.name for p in (bench.ws / ".github" / "workflows").iterdir()) == [
        "personalize-gitops-apply.yml",
        "personalize-gitops-drift.yml",
        "personalize-gitops-plan.yml",
    ]
    assert sorted(p.name for p in (bench.ws / "iam").iterdir()) == ["retail-dev", "retail-prod"]
    assert "production-retail-dev" in setup.stdout and "production-retail-prod" in setup.stdout
    _seed(bench)
    base = commit(bench.ws, "workflows")
    head = _tag_dev(bench)

    bench.run("personalize-gitops-plan.yml", "pull_request", bench.pull_request(head))
    (reviewed,) = bench.fakes.comments

    def approve(request: Approval) -> bool:
        # what the reviewer sees when asked: the merge plan of this stack, already compared
        visible = "\n".join(request.visible)
        assert "Merge plan of commit" in visible and "Same plan as reviewed** on #42" in visible
        return True

    bench.on_approval = approve
    run = bench.run("personalize-gitops-apply.yml", "push", bench.push(head, base))

    assert run.jobs["apply/stacks"].outputs["count"] == "1"
    assert run.jobs["apply/apply"].result == "success", _debug(run)
    (request,) = bench.approvals
    assert (request.environment, request.job) == ("production-retail-dev", "apply/apply")
    # the plan job ran without environment, with the read-only role; only the approved job got the apply role
    assert [(c["role"], c["sub"]) for c in bench.fakes.credentials[1:]] == [
        (PLAN_ROLE_DEV, f"repo:{REPO}:ref:refs/heads/main"),
        (APPLY_ROLE_DEV, f"repo:{REPO}:environment:production-retail-dev"),
    ]
    # exactly the saved plan of the plan job was applied
    assert run.step("apply/apply", "Apply the plan").outputs["exitcode"] == "0"
    applied = run.step("apply/apply", "Apply the plan")
    assert "Apply complete" in applied.stdout
    merge_plan = bench.fakes.artifacts["personalize-merge-plan-retail-dev"]
    assert json.loads(merge_plan)["manifests_digest"] in reviewed["body"]
    comments = [c["body"] for c in gh_state(bench.env)["pr_comments"]]
    assert any("Same plan as reviewed** on #42" in c for c in comments)
    assert any("✅ Apply complete" in c and f"commit `{head[:12]}`" in c for c in comments)
    # after the apply, every campaign answered (verify), and the merged PR says so
    assert (
        run.step("apply/apply", "Ask every campaign and recommender for recommendations").outputs["exitcode"]
        == "0"
    ), _debug(run)
    assert any("✅ Recommendations check passed" in c for c in comments)
    assert "personalize-outputs-retail-dev" in bench.fakes.artifacts  # outputs kept as an artifact
    assert not _issues(bench)  # nothing unfinished


@pytest.mark.slow
def test_merge_plan_that_differs_is_shown_first_and_a_stale_plan_is_refused_then_retried(
    tmp_path: Path,
) -> None:
    bench = _bench(tmp_path, without=("campaigns.yaml",), setup=False)
    bench.ci_setup("--timeout", "6h")
    bench.base_sha = commit(bench.ws, "workflows")
    head = _tag_dev(bench)
    bench.run("personalize-gitops-plan.yml", "pull_request", bench.pull_request(head))
    # main moved on before the merge: the merge commit holds another change too
    stack = bench.ws / "manifests" / "stack.yaml"
    stack.write_text(stack.read_text().replace("team: recs", "team: recs\n    owner: data"))
    merged = commit(bench.ws, "merge #42 on top of another change")

    def approve(request: Approval) -> bool:
        visible = "\n".join(request.visible)
        assert "merge plan differs from the plan reviewed** on #42" in visible
        # the difference first (the manifests digest line), then the merge plan itself
        assert visible.index("--- reviewed plan") < visible.index("+Target:")
        assert visible.index("+Target:") < visible.index("<!-- personalize-gitops:plan:retail-dev -->")
        # the account changes while the approval waits: the saved plan is stale now
        desired = load(bench.ws / "manifests")
        group = next(
            r.physical_name for r in desired.resources.values() if r.address.kind.value == "DatasetGroup"
        )
        with open_target(
            local=True, endpoint_url=None, region="us-east-1", state_path=bench.ws / DEFAULT_LOCAL_STATE
        ) as target:
            target.personalize.create_dataset_group(name=group)
            target.save()
        return True

    bench.on_approval = approve
    run = bench.run("personalize-gitops-apply.yml", "push", bench.push(merged, bench.base_sha))

    assert run.jobs["apply/apply"].result == "failure"
    refused = run.step("apply/apply", "Apply the plan")
    assert refused.outputs["exitcode"] == "1", _debug(run)
    assert "stale" in refused.stdout.lower()
    (issue,) = _issues(bench).values()
    assert (
        issue["title"] == "Personalize apply unfinished: retail-dev" and issue["author"] == "github-actions"
    )
    assert issue["labels"] == ["personalize-gitops"]

    # an outsider's issue with the same marker, and the bot's issue edited by an outsider, start nothing
    state = gh_state(bench.env)
    state["issues"].append(
        {
            "number": 7,
            "title": "x",
            "body": "<!-- personalize-gitops:apply-pending:retail-prod -->",
            "state": "open",
            "comments": [],
            "author": "mallory",
            "editor": None,
            "labels": ["personalize-gitops"],
        }
    )
    set_gh_state(bench.env, state)

    # the next scheduled drift run retries the stack (plan, approval, apply) and closes the issue
    bench.on_approval = None
    bench.approvals.clear()
    run = bench.run("personalize-gitops-drift.yml", "schedule", {"sha": merged})
    assert run.jobs["drift/stacks"].outputs["unfinished"] == "retail-dev"
    assert [a.environment for a in bench.approvals] == ["production-retail-dev"]
    assert run.jobs["continue/apply"].result == "success", _debug(run)
    assert "Personalize apply unfinished: retail-dev" in _issues(bench, "closed")
    assert "No pull request" in _leg_summary(run, "continue/plan", "retail-dev")


def _drift_only(bench: Bench, **kwargs: Any) -> Run:
    return bench.run("personalize-gitops-drift.yml", "schedule", {"sha": bench.base_sha}, **kwargs)


def test_outsider_issues_and_outsider_edits_start_no_apply(bench: Bench) -> None:
    marker = "<!-- personalize-gitops:apply-pending:{} -->"
    state = gh_state(bench.env)
    state["labels"] = ["personalize-gitops"]
    state["issues"] = [
        {
            "number": 1,
            "title": "x",
            "body": marker.format("retail-prod"),
            "state": "open",
            "comments": [],
            "author": "mallory",
            "editor": None,
            "labels": ["personalize-gitops"],
        },
        {
            "number": 2,
            "title": "x",
            "body": marker.format("retail-dev"),
            "state": "open",
            "comments": [],
            "author": "github-actions",
            "editor": "mallory",
            "labels": ["personalize-gitops"],
        },
    ]
    set_gh_state(bench.env, state)

    run = _drift_only(bench, only_jobs={"drift/stacks"})

    assert run.jobs["drift/stacks"].outputs["unfinished"] == ""
    assert run.jobs["continue"].result == "skipped"
    assert bench.approvals == []
    # the same issues, written by the bot and unedited, are what a retry looks like
    state["issues"][0]["author"] = "github-actions"
    state["issues"][1]["editor"] = "github-actions"
    set_gh_state(bench.env, state)
    run = _drift_only(bench, only_jobs={"drift/stacks"})
    assert run.jobs["drift/stacks"].outputs["unfinished"] == "retail-dev retail-prod"


def test_a_graphql_error_stops_the_step_with_githubs_message_and_what_to_do(bench: Bench) -> None:
    """GitHub answers HTTP 200 with `errors` (here: the token may not read issues). Before, the step stopped
    at `gh` with GitHub's message alone; `ci issues` now reads the answer and says what to do."""
    state = gh_state(bench.env)
    state["graphql_errors"] = [{"type": "FORBIDDEN", "message": "Resource not accessible by integration"}]
    set_gh_state(bench.env, state)

    run = _drift_only(bench, only_jobs={"drift/stacks"})

    step = run.step("drift/stacks", "Every stack, and the stacks with an unfinished apply")
    assert step.outcome == "failure"
    assert "Resource not accessible by integration" in step.stderr
    assert "give the job `issues: read`" in step.stderr, step.stderr
    assert "unfinished" not in step.outputs
    assert run.jobs["continue"].result == "skipped"


@pytest.mark.slow
def test_drift_issue_is_one_per_stack_forever_closed_and_reopened(tmp_path: Path) -> None:
    bench = _bench(tmp_path, without=("campaigns.yaml",))
    only = {"drift/stacks", "drift/drift"}
    run = _drift_only(bench, only_jobs=only)  # nothing applied: both stacks differ from main
    assert run.jobs["drift/drift"].result == "success", _debug(run)
    titles = set(_issues(bench))
    assert titles == {
        "Personalize drift: retail-dev differs from main",
        "Personalize drift: retail-prod differs from main",
    }
    numbers = {i["title"]: i["number"] for i in gh_state(bench.env)["issues"]}
    assert all(i["author"] == "github-actions" for i in gh_state(bench.env)["issues"])
    result = bench.cli("apply", "manifests", "--local", "--auto-approve", "--timeout", "6h")
    assert result.returncode == 0, result.stdout + result.stderr
    _drift_only(bench, only_jobs=only)
    assert set(_issues(bench)) == {"Personalize drift: retail-prod differs from main"}
    assert "Personalize drift: retail-dev differs from main" in _issues(bench, "closed")
    # drift again on dev: the same issue is reopened, not a new one
    with open_target(
        local=True, endpoint_url=None, region="us-east-1", state_path=bench.ws / DEFAULT_LOCAL_STATE
    ) as target:
        groups = target.personalize.list_dataset_groups()["datasetGroups"]
        dev = next(g for g in groups if not g["name"].startswith("prod-"))
        target.personalize.tag_resource(
            resourceArn=dev["datasetGroupArn"], tags=[{"tagKey": "x", "tagValue": "y"}]
        )
        target.save()
    _drift_only(bench, only_jobs=only)
    issues = gh_state(bench.env)["issues"]
    assert len(issues) == 2
    assert {i["title"]: i["number"] for i in issues} == numbers
    assert all(i["state"] == "open" for i in issues)


# --- properties of the workflow files the runner enforces ---------------------------------------------------


def test_a_caller_that_grants_less_than_the_callee_needs_is_invalid(bench: Bench) -> None:
    caller = bench.ws / ".github" / "workflows" / "personalize-gitops-plan.yml"
    caller.write_text(
        caller.read_text().replace(
            "      pull-requests: write # plan and apply comments on the pull request\n", ""
        )
    )
    head = commit(bench.ws, "narrower")
    with pytest.raises(WorkflowInvalid, match="pull-requests: write"):
        bench.run("personalize-gitops-plan.yml", "pull_request", bench.pull_request(head))


def test_one_stacks_environment_cannot_assume_another_stacks_apply_role(bench: Bench) -> None:
    from tests.github.fakes import trust_allows

    claims = {"sub": f"repo:{REPO}:environment:production-retail-dev", "aud": "sts.amazonaws.com"}
    assert trust_allows(bench.fakes.trust[APPLY_ROLE_DEV], claims)
    assert not trust_allows(bench.fakes.trust[APPLY_ROLE_PROD], claims)
    assert not trust_allows(bench.fakes.trust[APPLY_ROLE_DEV], {**claims, "sub": f"repo:{REPO}:pull_request"})
    assert not trust_allows(bench.fakes.trust[PLAN_ROLE_DEV], {**claims, "aud": "other"})


def test_apply_and_drift_callers_share_one_queue_and_callees_hold_no_caller_group(bench: Bench) -> None:
    groups = set()
    for name in ("personalize-gitops-apply.yml", "personalize-gitops-drift.yml"):
        data = load_workflow(bench.ws / ".github" / "workflows" / name)
        assert data["concurrency"].get("cancel-in-progress", False) is False
        assert data["concurrency"]["queue"] == "max"
        groups.add(data["concurrency"]["group"])
    assert groups == {"personalize-gitops-account"}
    run = _drift_only(bench, only_jobs={"drift/stacks"})
    assert run.concurrency == [("workflow", "personalize-gitops-account")]
    # a callee that took the caller's group would deadlock: the runner refuses it like GitHub
    callee = load_workflow(OWN / "personalize-drift.yml")
    assert "concurrency" not in callee and all("concurrency" not in j for j in callee["jobs"].values())


def test_break_lock_shows_holder_and_lease_age_before_approval(bench: Bench) -> None:
    with open_target(
        local=True, endpoint_url=None, region="us-east-1", state_path=bench.ws / DEFAULT_LOCAL_STATE
    ) as target:
        # a lease left by a killed CI job (reconciler/apply/lock.py): still unexpired, so nobody takes it over
        now = float(target.clock.now())
        lease = Lease(1, "runner@gone pid 7 (GitHub Actions run 5)", "held", now - 60, now - 30, now + 3600)
        target.ssm.put_parameter(Name=epoch_parameter("retail-dev", 1), Type="String", Value=lease.value())
        target.save()
    seen: list[str] = []

    def reject(request: Approval) -> bool:
        seen.append("\n".join(request.visible))
        return False  # the reviewer looks, and rejects: nothing is broken

    bench.on_approval = reject
    run = bench.run(
        "personalize-gitops-apply.yml",
        "workflow_dispatch",
        {"sha": bench.base_sha},
        inputs={"break-lock": True},
        only_jobs={"apply/stacks", "apply/plan", "apply/apply"},
    )
    assert seen and "runner@gone pid 7" in seen[0] and "lease renewed" in seen[0]
    assert run.jobs["apply/apply"].result == "failure"  # rejected
    result = bench.cli("ci", "lock", "manifests", "--local")
    assert "runner@gone pid 7" in result.stdout and "lock epoch 1" in result.stdout
