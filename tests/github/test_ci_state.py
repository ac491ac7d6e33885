"""`personalize-gitops ci`: state read back from GitHub only when the workflow's own bot wrote it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reconciler.ci import github
from reconciler.cli import app
from reconciler.manifest import load
from reconciler.plan import planfile
from reconciler.plan.types import Plan

runner = CliRunner()
BOT = "github-actions"  # GraphQL shows the bot's login without [bot]


def _issue(
    number: int,
    body: str,
    *,
    author: str = BOT,
    editor: str | None = None,
    state: str = "OPEN",
    labels: tuple[str, ...] = ("personalize-gitops",),
) -> dict:
    return {
        "number": number,
        "state": state,
        "title": "t",
        "body": body,
        "author": {"login": author},
        "editor": {"login": editor} if editor else None,
        "labels": {"nodes": [{"name": name} for name in labels]},
    }


def _pages(*issues: dict) -> str:
    """`gh api graphql --paginate` prints one document per page."""
    first, rest = list(issues[:2]), list(issues[2:])
    page = lambda nodes: {"data": {"repository": {"issues": {"nodes": nodes, "pageInfo": {}}}}}  # noqa: E731
    return json.dumps(page(first)) + "\n" + json.dumps(page(rest))


def test_outsider_issues_and_outsider_edits_start_nothing() -> None:
    marker = github.marker("apply-pending", "retail-prod")
    text = _pages(
        _issue(1, marker, author="mallory"),  # an outsider's issue with the bot's marker
        _issue(
            2, github.marker("apply-pending", "retail-dev"), editor="mallory"
        ),  # bot issue edited by outsider
        _issue(3, github.marker("apply-pending", "retail-eu"), labels=()),  # bot issue without the label
        _issue(4, github.marker("apply-pending", "retail-ok"), editor="github-actions"),  # the bot's own edit
        _issue(5, github.marker("apply-pending", "bad;name")),  # not a stack name
        _issue(6, github.marker("apply-pending", "closed-one"), state="CLOSED"),
    )
    records = github.parse_issues(text)
    assert len(records) == 6
    assert github.open_stacks(records, "apply-pending") == ["retail-ok"]


def test_find_issue_prefers_open_then_reopens_the_newest_closed() -> None:
    marker = github.marker("drift", "retail-dev")
    closed = github.parse_issues(_pages(_issue(7, marker, state="CLOSED"), _issue(9, marker, state="CLOSED")))
    found = github.find_issue(closed, "drift", "retail-dev")
    assert found is not None and (found.number, found.state) == (9, "CLOSED")
    both = github.parse_issues(_pages(_issue(7, marker), _issue(9, marker, state="CLOSED")))
    assert github.find_issue(both, "drift", "retail-dev").number == 7  # type: ignore[union-attr]
    outsider = github.parse_issues(_pages(_issue(11, marker, author="mallory")))
    assert github.find_issue(outsider, "drift", "retail-dev") is None


def test_ci_issues_command(tmp_path: Path) -> None:
    path = tmp_path / "issues.json"
    path.write_text(
        _pages(
            _issue(3, github.marker("drift", "retail-dev"), state="CLOSED"),
            _issue(4, github.marker("apply-pending", "retail-prod")),
            _issue(5, github.marker("apply-pending", "retail-dev"), author="mallory"),
        )
    )
    listed = runner.invoke(app, ["ci", "issues", str(path), "--kind", "apply-pending"])
    assert listed.exit_code == 0 and listed.stdout == "retail-prod\n"
    one = runner.invoke(app, ["ci", "issues", str(path), "--kind", "drift", "--stack", "retail-dev"])
    assert one.stdout == "number=3\nstate=closed\n"
    none = runner.invoke(app, ["ci", "issues", str(path), "--kind", "drift", "--stack", "retail-prod"])
    assert none.exit_code == 0 and none.stdout == ""
    bad = runner.invoke(app, ["ci", "issues", str(path), "--kind", "drift", "--stack", "x\ncount=9"])
    assert bad.exit_code == 1 and "not a valid stack name" in bad.stderr
    path.write_text("not json")
    broken = runner.invoke(app, ["ci", "issues", str(path), "--kind", "drift"])
    assert broken.exit_code == 1 and "gh api graphql" in broken.stderr and "Traceback" not in broken.output


def _plan() -> Plan:
    return Plan(changes=(), stack="retail-dev", target="t", manifests_digest="ab" * 16, live_fingerprints={})


def test_plan_digest_ignores_nothing_that_matters() -> None:
    plan = _plan()
    assert planfile.plan_digest(plan) == planfile.plan_digest(planfile.loads(planfile.dumps(plan)))
    other = Plan(changes=(), stack="retail-dev", target="t", manifests_digest="cd" * 16, live_fingerprints={})
    assert planfile.plan_digest(plan) != planfile.plan_digest(other)


def _comments(head: str, *bodies: tuple[str, str, str | None]) -> str:
    nodes = [
        {
            "body": body,
            "author": {"login": author},
            "editor": {"login": editor} if editor else None,
            "isMinimized": False,
        }
        for body, author, editor in bodies
    ]
    return json.dumps(
        {"data": {"repository": {"pullRequest": {"headRefOid": head, "comments": {"nodes": nodes}}}}}
    )


def test_compare_same_differs_and_untrusted() -> None:
    head = "a" * 40
    meta = github.PlanMeta("retail-dev", head, "ab" * 16, "1" * 64)
    reviewed = github.plan_comment("## plan\n+ campaign/x\n", meta, "https://run/1")
    assert reviewed.startswith(f"Plan of commit `{head[:12]}` · [workflow run](https://run/1)")
    head_sha, comments = github.parse_comments(_comments(head, (reviewed, BOT, None)))
    same = github.compare("## plan\n+ campaign/x\n", meta, comments, head_sha, "42")
    assert same.same and "Same plan as reviewed" in same.markdown

    changed = github.PlanMeta("retail-dev", head, "ab" * 16, "2" * 64)
    differs = github.compare("## plan\n+ campaign/y\n", changed, comments, head_sha, "42")
    assert not differs.same
    assert differs.markdown.index("differs") < differs.markdown.index("-+ campaign/x")
    assert "++ campaign/y" in differs.markdown and "the account changed" in differs.markdown

    # a plan comment written by someone else, or the bot's comment edited by someone else, was not reviewed
    for author, editor in (("mallory", None), (BOT, "mallory")):
        _, forged = github.parse_comments(_comments(head, (reviewed, author, editor)))
        verdict = github.compare("## plan\n+ campaign/x\n", meta, forged, head_sha, "42")
        assert not verdict.same and "No reviewed plan" in verdict.markdown

    # reviewed for an older head commit
    _, comments = github.parse_comments(_comments("b" * 40, (reviewed, BOT, None)))
    old = github.compare("## plan\n+ campaign/x\n", meta, comments, "b" * 40, "42")
    assert not old.same and "Not the reviewed plan" in old.markdown


def test_ci_plan_comment_and_compare_commands(tmp_path: Path) -> None:
    desired = load(Path(__file__).resolve().parents[2] / "manifests")
    plan = Plan(
        changes=(), stack=desired.stack.name, target="t", manifests_digest="ab" * 16, live_fingerprints={}
    )
    saved, md = tmp_path / "plan.json", tmp_path / "plan.md"
    planfile.save(plan, str(saved))
    md.write_text("## No changes\n")
    head = "c" * 40
    comment = runner.invoke(
        app,
        ["ci", "plan-comment", str(saved), "--markdown", str(md), "--head", head, "--run-url", "https://r/9"],
    )
    assert comment.exit_code == 0, comment.output
    assert comment.stdout.splitlines()[0] == f"Plan of commit `{head[:12]}` · [workflow run](https://r/9)"
    assert f"plan={planfile.plan_digest(plan).removeprefix('sha256:')}" in comment.stdout
    comments = tmp_path / "comments.json"
    comments.write_text(_comments(head, (comment.stdout, "github-actions", None)))
    merged = runner.invoke(
        app,
        [
            "ci",
            "compare",
            str(saved),
            "--markdown",
            str(md),
            "--head",
            head,
            "--run-url",
            "https://r/10",
            "--pr",
            "42",
            "--comments",
            str(comments),
        ],
    )
    assert merged.exit_code == 0, merged.output
    assert "Same plan as reviewed** on #42" in merged.stdout
    assert merged.stdout.index("Same plan") < merged.stdout.index("## No changes")


def test_ci_inputs_of_another_shape_or_encoding_are_one_error(tmp_path: Path) -> None:
    """Comments JSON that is not what `gh api graphql` prints (a list, a number where an object is expected)
    and a markdown file that is not UTF-8: before, an AttributeError / UnicodeDecodeError traceback."""
    saved, md, gql = tmp_path / "plan.json", tmp_path / "plan.md", tmp_path / "out.json"
    planfile.save(_plan(), str(saved))
    md.write_bytes(b"\xff\xfe## plan\n")
    comment = runner.invoke(
        app, ["ci", "plan-comment", str(saved), "--markdown", str(md), "--head", "c" * 40, "--run-url", "u"]
    )
    assert comment.exit_code == 1
    assert f"cannot read the plan markdown {md}: byte 0 is not UTF-8" in comment.stderr
    md.write_text("## plan\n")
    for text in ("[1, 2]", '{"data": 5}', '"x"'):
        gql.write_text(text)
        args = ["compare", str(saved), "--markdown", str(md), "--head", "c" * 40, "--run-url", "u"]
        compare = runner.invoke(app, ["ci", *args, "--pr", "3", "--comments", str(gql)])
        assert compare.exit_code == 1 and "not the JSON `gh api graphql` prints" in compare.stderr, text


def _error_page(kind: str, message: str, **data: object) -> str:
    """A page GitHub answers with HTTP 200: `errors`, and `data` null or partial."""
    return json.dumps({"data": data or None, "errors": [{"type": kind, "message": message}]})


def test_graphql_errors_stop_ci_issues_with_githubs_message(tmp_path: Path) -> None:
    """GitHub answers a query it cannot serve with HTTP 200 and `errors`: before, `ci issues` printed nothing
    and exited 0, the same as "no issue" (a new duplicate issue, an unfinished apply never retried)."""
    path = tmp_path / "issues.json"
    denied = "Resource not accessible by integration"
    partial = {
        "repository": {"issues": {"nodes": [_issue(4, github.marker("apply-pending", "retail-prod"))]}}
    }
    cases = {
        "permission": (_error_page("FORBIDDEN", denied), denied, "`issues: read`"),
        # the first pages were served, the last hit the rate limit: the others are not used alone
        "rate limit": (
            _pages(_issue(4, github.marker("apply-pending", "retail-prod")))
            + "\n"
            + _error_page("RATE_LIMITED", "API rate limit exceeded for installation ID 7."),
            "API rate limit exceeded for installation ID 7",
            "re-run the job after the limit resets",
        ),
        # data with an error beside it (a field the token may not read comes back null)
        "partial": (_error_page("FORBIDDEN", denied, **partial), denied, "`issues: read`"),
        "bad query": (
            json.dumps({"errors": [{"message": "Field 'issuez' doesn't exist on type 'Repository'"}]}),
            "Field 'issuez' doesn't exist",
            "personalize-gitops ci query",
        ),
    }
    for case, (text, said, hint) in cases.items():
        path.write_text(text)
        for extra in ([], ["--stack", "retail-prod"]):
            result = runner.invoke(app, ["ci", "issues", str(path), "--kind", "apply-pending", *extra])
            assert result.exit_code == 1, (case, result.output)
            assert result.stdout == "", case
            assert f"{path}" in result.stderr and "GitHub's GraphQL API answered" in result.stderr, case
            assert said in result.stderr and hint in result.stderr, (case, result.stderr)
            assert "Traceback" not in result.output
    with pytest.raises(github.GitHubQueryError, match="page 3 of 3"):
        github.parse_issues(cases["rate limit"][0])


def test_graphql_errors_stop_ci_compare(tmp_path: Path) -> None:
    saved, md, gql = tmp_path / "plan.json", tmp_path / "plan.md", tmp_path / "comments.json"
    planfile.save(_plan(), str(saved))
    md.write_text("## plan\n")
    gql.write_text(_error_page("FORBIDDEN", "Resource not accessible by integration"))
    args = ["compare", str(saved), "--markdown", str(md), "--head", "c" * 40, "--run-url", "u"]
    result = runner.invoke(app, ["ci", *args, "--pr", "3", "--comments", str(gql)])
    assert result.exit_code == 1 and result.stdout == ""
    assert "pull request comments" in result.stderr and "`pull-requests: read`" in result.stderr
