"""`ci`: the small steps of the GitHub workflows that need more than shell (reconciler/ci/github.py).

* `ci issues` reads the issues `gh api graphql` printed and answers "which issue is this stack's drift
  report" or "which stacks have an unfinished apply", trusting only issues the workflow's bot wrote;
* `ci plan-comment` writes the pull request comment of a saved plan: commit, run link, the rendered plan and
  the digests the merge run compares with;
* `ci compare` writes the merge plan's comment and job summary: how it compares with the plan reviewed on the
  pull request for the same head commit (the difference first when they differ);
* `ci apply-status` prints what an exit code of `apply` means, for the apply workflow's summary, pull request
  comment and issue (reconciler/ci/outcome.py: one line per documented exit code).
"""

from __future__ import annotations

from pathlib import Path

import typer

from reconciler.ci import github
from reconciler.commands.common import (
    endpoint_url_option,
    local_option,
    open_cli_target,
    profile_option,
    region_option,
    stack_option,
)
from reconciler.commands.iam_cmd import user_errors
from reconciler.errors import ReconcilerError

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Steps of the GitHub workflows.")

_BOT_HELP = "Login of the workflow's own bot (GITHUB_TOKEN posts as github-actions[bot])."


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ReconcilerError(f"cannot read {what} {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ReconcilerError(f"cannot read {what} {path}: byte {exc.start} is not UTF-8") from exc


def _parsed(path: Path, what: str, parse: object) -> object:
    """`parse(text, source)` of the file; GitHub's `errors` answer raises github.GitHubQueryError (exit 1)."""
    text = _read(path, what)
    try:
        return parse(text, str(path))  # type: ignore[operator]
    except (ValueError, TypeError, AttributeError, KeyError) as exc:  # not JSON, or JSON of another shape
        raise ReconcilerError(
            f"{path}: not the JSON `gh api graphql` prints ({exc})",
            hint="pass the output of the workflow's `gh api graphql --paginate` step",
        ) from exc


@app.command("issues")
def issues_command(
    issues_file: Path = typer.Argument(..., help="Output of `gh api graphql --paginate` with ISSUES_QUERY."),
    kind: str = typer.Option(..., "--kind", help="drift or apply-pending."),
    stack: str | None = typer.Option(
        None, "--stack", help="Print `number=` and `state=` of this stack's issue (nothing when none)."
    ),
    bot: str = typer.Option(github.DEFAULT_BOT, "--bot", help=_BOT_HELP),
    label: str = typer.Option(github.DEFAULT_LABEL, "--label", help="Label the workflow puts on its issues."),
) -> None:
    """Our issues only: by the bot, with the label, body not edited by anyone else.

    Without --stack: the stacks with an open issue of this kind, one per line."""
    with user_errors():
        if kind not in github.KINDS:
            raise ReconcilerError(f"--kind must be one of {', '.join(github.KINDS)} (got {kind!r})")
        records = _parsed(issues_file, "the issues file", github.parse_issues)
        assert isinstance(records, list)
        if stack is None:
            for name in github.open_stacks(records, kind, bot=bot, label=label):
                print(name)
            return
        _check_stack(stack)
        issue = github.find_issue(records, kind, stack, bot=bot, label=label)
        if issue is not None:
            print(f"number={issue.number}")
            print(f"state={issue.state.lower()}")


def _check_stack(stack: str) -> None:
    if not github.STACK_NAME.fullmatch(stack):
        raise ReconcilerError(
            f"stack name {stack!r} is not a valid stack name",
            hint="letters, digits and inner hyphens, at most 39 characters",
        )


def _meta(plan_file: Path, head: str) -> github.PlanMeta:
    from reconciler.plan import planfile

    plan = planfile.load(str(plan_file))
    _check_stack(plan.stack)
    digest = planfile.plan_digest(plan).removeprefix("sha256:")
    return github.PlanMeta(plan.stack, head.lower(), plan.manifests_digest, digest)


@app.command("plan-comment")
def plan_comment_command(
    plan_file: Path = typer.Argument(..., help="The saved plan (`plan --out`)."),
    markdown: Path = typer.Option(..., "--markdown", help="The plan rendered by `plan --format markdown`."),
    head: str = typer.Option(..., "--head", help="Commit the plan was made for (the PR's head SHA)."),
    run_url: str = typer.Option(..., "--run-url", help="Link to the workflow run."),
) -> None:
    """Print the pull request comment of a saved plan (header with commit and run, digests hidden)."""
    with user_errors():
        meta = _meta(plan_file, head)
        print(github.plan_comment(_read(markdown, "the plan markdown"), meta, run_url), end="")


@app.command("compare")
def compare_command(
    plan_file: Path = typer.Argument(..., help="The merge plan (`plan --out`)."),
    markdown: Path = typer.Option(..., "--markdown", help="The merge plan rendered as markdown."),
    comments: Path | None = typer.Option(
        None, "--comments", help="The pull request's comments (`gh api graphql` with COMMENTS_QUERY)."
    ),
    pr: str = typer.Option("", "--pr", help="Number of the merged pull request (empty: none)."),
    head: str = typer.Option(..., "--head", help="Commit the merge plan was made for."),
    run_url: str = typer.Option(..., "--run-url", help="Link to the workflow run."),
    bot: str = typer.Option(github.DEFAULT_BOT, "--bot", help=_BOT_HELP),
) -> None:
    """Print the merge plan's comment: the comparison with the reviewed plan first, then the plan."""
    with user_errors():
        meta = _meta(plan_file, head)
        pr_head: str | None = None
        records: list[github.Record] = []
        if comments is not None and pr:
            parsed = _parsed(comments, "the comments file", github.parse_comments)
            assert isinstance(parsed, tuple)
            pr_head, records = parsed
        body = _read(markdown, "the plan markdown")
        result = github.compare(body, meta, records, pr_head, pr, bot=bot)
        header = github.comment_header(meta.head, run_url, "Merge plan")
        print(f"{header}\n\n{result.markdown}\n{body.rstrip()}\n\n{meta.line()}")
        marker = "same" if result.same else "differs"
        print(f"<!-- personalize-gitops:merge-plan:{meta.stack}:{marker} -->")


@app.command("query")
def query_command(
    what: str = typer.Argument(..., help="issues or comments."),
) -> None:
    """Print the GraphQL query whose output `ci issues` (issues) or `ci compare` (comments) reads."""
    with user_errors():
        queries = {"issues": github.ISSUES_QUERY, "comments": github.COMMENTS_QUERY}
        if what not in queries:
            raise ReconcilerError(f"ci query takes issues or comments (got {what!r})")
        print(queries[what])


@app.command("apply-status")
def apply_status_command(
    code: str = typer.Argument(..., help="Exit code of `personalize-gitops apply` (empty: it did not run)."),
    timeout: str = typer.Option("the timeout", "--timeout", help="The apply's --timeout, named for code 3."),
) -> None:
    """Print the one-line status of an apply that exited CODE: what happened and what to do."""
    from reconciler.ci.outcome import apply_status

    print(apply_status(code, timeout))


@app.command("lock")
def lock_command(
    directory: Path = typer.Argument(Path("manifests"), help="Manifest directory."),
    stack: Path | None = stack_option(),
    endpoint_url: str | None = endpoint_url_option(),
    local: bool = local_option(),
    region: str | None = region_option(),
    profile: str | None = profile_option(),
) -> None:
    """Show who holds the stack's apply lock and its lease age (read-only: SSM GetParametersByPath)."""
    with user_errors():
        from reconciler.apply.lock import StackLock
        from reconciler.manifest import load

        desired = load(directory, stack_file=stack)
        with open_cli_target(
            local=local,
            endpoint_url=endpoint_url,
            region=region,
            default_region=desired.stack.settings.region,
            profile=profile,
        ) as target:
            now = float(target.clock.now())
            lock = StackLock(target.ssm, desired.stack.name, clock=target.clock)
            newest = lock.current()
            if newest is None:
                print(f"stack {desired.stack.name}: not locked (nothing under {lock.path})")
                return
            state = "locked by" if newest.is_held(now) else "not locked; last lease:"
            print(f"stack {desired.stack.name}: {state} {newest.describe(now)}")
