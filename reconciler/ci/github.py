"""What the GitHub workflows read back from GitHub: only what the workflow's own bot wrote.

The workflows keep state in issues (an unfinished apply, a drift report: one issue per stack and kind,
reopened rather than duplicated) and read the plan reviewed on a pull request from its comments. Anyone who
can open an issue or comment could write the same hidden markers, so a record counts only when

* its author is the workflow's bot identity (`github-actions[bot]` for GITHUB_TOKEN; GraphQL shows the login
  without `[bot]`),
* issues also carry the workflow's label,
* and its body was last edited by nobody or by the bot itself (an edit by anyone else voids it).

Input is what `gh api graphql --paginate` prints (one JSON document per page, concatenated). GitHub answers a
query it cannot fully serve (a token without the permission, the rate limit, a bad query) with HTTP 200 and an
`errors` array, and `data` partly or wholly null: every reader here refuses such a page (`GitHubQueryError`,
exit code 1, GitHub's message and what to do) instead of reading it as "no issues" or "no comments", since a
null `editor` would also read as "edited by nobody". Pure: no I/O.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from reconciler.errors import ReconcilerError
from reconciler.manifest.rules.names import STACK_NAME as STACK_NAME

DEFAULT_BOT = "github-actions[bot]"
DEFAULT_LABEL = "personalize-gitops"
KINDS = ("drift", "apply-pending")


ISSUES_QUERY = (
    "query($owner: String!, $name: String!, $endCursor: String) { repository(owner: $owner, name: $name) { "
    'issues(first: 100, after: $endCursor, labels: ["personalize-gitops"], states: [OPEN, CLOSED], '
    "orderBy: {field: CREATED_AT, direction: ASC}) { nodes { number state title body author { login } "
    "editor { login } labels(first: 20) { nodes { name } } } pageInfo { hasNextPage endCursor } } } }"
)
COMMENTS_QUERY = (
    "query($owner: String!, $name: String!, $number: Int!, $endCursor: String) { repository(owner: $owner, "
    "name: $name) { pullRequest(number: $number) { headRefOid comments(first: 100, after: $endCursor) { "
    "nodes { body author { login } editor { login } isMinimized } pageInfo { hasNextPage endCursor } } } } }"
)


def marker(kind: str, stack: str) -> str:
    return f"<!-- personalize-gitops:{kind}:{stack} -->"


def same_login(login: str | None, bot: str) -> bool:
    """`github-actions[bot]` (REST), `github-actions` (GraphQL) and `app/github-actions` (gh) are one bot."""

    def norm(text: str) -> str:
        return text.strip().lower().removeprefix("app/").removesuffix("[bot]")

    return bool(login) and norm(str(login)) == norm(bot)


def _documents(text: str) -> Iterator[Any]:
    decoder = json.JSONDecoder()
    pos = 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            return
        value, pos = decoder.raw_decode(text, pos)
        yield value


class GitHubQueryError(ReconcilerError):
    """GitHub's GraphQL API answered with `errors`: nothing of that answer is used."""


#: What the job's token needs for each query (the workflows' `permissions:`).
NEEDS = {"issues": "`issues: read`", "pull request comments": "`pull-requests: read`"}


def _hint(what: str, kinds: set[str], messages: list[str]) -> str:
    said = " ".join(messages).lower()
    if "RATE_LIMITED" in kinds or "rate limit" in said:
        return "GitHub's API rate limit for this token is used up: re-run the job after the limit resets"
    permission = kinds & {"FORBIDDEN", "INSUFFICIENT_SCOPES"} or "not accessible" in said or "scope" in said
    needs = NEEDS.get(what, "read access")
    if permission:
        return (
            f"the job's token may not read the {what}: give the job {needs} in its `permissions:` "
            "(GITHUB_TOKEN), or use a token with that scope"
        )
    return (
        f"the job's token needs {needs} (its `permissions:`); the query must be the one `personalize-gitops "
        "ci query` of the same version prints; re-run the job if GitHub had a passing problem"
    )


def _answers(text: str, what: str, source: str) -> list[Any]:
    """The pages of `gh api graphql --paginate` output; GitHubQueryError when any page carries `errors`."""
    pages = list(_documents(text))
    for number, page in enumerate(pages, 1):
        errors = page.get("errors") if isinstance(page, dict) else None
        if not errors:
            continue
        listed = errors if isinstance(errors, list) else [errors]
        messages = [
            str(e.get("message") or e).strip().rstrip(".") if isinstance(e, dict) else str(e)
            for e in listed
            if e is not None
        ]
        kinds = {str(e.get("type")) for e in listed if isinstance(e, dict) and e.get("type")}
        where = f"{source} (page {number} of {len(pages)})" if len(pages) > 1 else source
        shown = "; ".join(messages[:5]) + ("; ..." if len(messages) > 5 else "")
        typed = f" [{', '.join(sorted(kinds))}]" if kinds else ""
        raise GitHubQueryError(
            f"{where}: GitHub's GraphQL API answered the query for the {what} with errors{typed}: {shown}; "
            "nothing of that answer was used",
            hint=_hint(what, kinds, messages),
        )
    return pages


def _login(node: Any) -> str | None:
    return str(node.get("login")) if isinstance(node, dict) and node.get("login") else None


def _nodes(pages: list[Any], *path: str) -> Iterator[dict[str, Any]]:
    for document in pages:
        value: Any = document
        for key in ("data", "repository", *path):
            value = value.get(key) if isinstance(value, dict) else None
        for node in (value or {}).get("nodes") or [] if isinstance(value, dict) else []:
            if isinstance(node, dict):
                yield node


@dataclass(frozen=True, slots=True)
class Record:
    """An issue or a comment as far as the workflows care."""

    body: str
    author: str | None
    editor: str | None
    number: int = 0
    state: str = "OPEN"
    labels: tuple[str, ...] = ()
    minimized: bool = False

    def written_by(self, bot: str) -> bool:
        return same_login(self.author, bot) and (self.editor is None or same_login(self.editor, bot))


def parse_issues(text: str, source: str = "the `gh api graphql` output") -> list[Record]:
    pages = _answers(text, "issues", source)
    return [
        Record(
            body=str(n.get("body") or ""),
            author=_login(n.get("author")),
            editor=_login(n.get("editor")),
            number=int(n.get("number") or 0),
            state=str(n.get("state") or "OPEN").upper(),
            labels=tuple(str(label.get("name")) for label in (n.get("labels") or {}).get("nodes") or []),
        )
        for n in _nodes(pages, "issues")
    ]


def parse_comments(text: str, source: str = "the `gh api graphql` output") -> tuple[str | None, list[Record]]:
    """(head commit of the pull request, its comments in order)."""
    head: str | None = None
    pages = _answers(text, "pull request comments", source)
    for document in pages:
        pull = ((document.get("data") or {}).get("repository") or {}).get("pullRequest") or {}
        head = head or pull.get("headRefOid")
    comments = [
        Record(
            body=str(n.get("body") or ""),
            author=_login(n.get("author")),
            editor=_login(n.get("editor")),
            minimized=bool(n.get("isMinimized")),
        )
        for n in _nodes(pages, "pullRequest", "comments")
    ]
    return head, comments


def ours(issues: list[Record], *, bot: str = DEFAULT_BOT, label: str = DEFAULT_LABEL) -> list[Record]:
    return [i for i in issues if i.written_by(bot) and label in i.labels]


def find_issue(
    issues: list[Record], kind: str, stack: str, *, bot: str = DEFAULT_BOT, label: str = DEFAULT_LABEL
) -> Record | None:
    """The one issue of this kind and stack (an open one first, else the newest closed one to reopen)."""
    found = [i for i in ours(issues, bot=bot, label=label) if marker(kind, stack) in i.body]
    found.sort(key=lambda i: (i.state == "OPEN", i.number))
    return found[-1] if found else None


def open_stacks(
    issues: list[Record], kind: str, *, bot: str = DEFAULT_BOT, label: str = DEFAULT_LABEL
) -> list[str]:
    """Stacks named by the markers of our open issues of this kind (invalid stack names dropped)."""
    pattern = re.compile(r"<!-- personalize-gitops:" + re.escape(kind) + r":(\S+) -->")
    names: set[str] = set()
    for issue in ours(issues, bot=bot, label=label):
        if issue.state != "OPEN":
            continue
        for match in pattern.finditer(issue.body):
            if STACK_NAME.fullmatch(match.group(1)):
                names.add(match.group(1))
    return sorted(names)


# --- plan comments: what was reviewed, and how the merge plan compares -----------------------------------

_META = re.compile(
    r"<!-- personalize-gitops:plan-meta stack=(?P<stack>\S+) head=(?P<head>[0-9a-f]{7,64}) "
    r"manifests=(?P<manifests>[0-9a-f]{16,128}) plan=(?P<plan>[0-9a-f]{64}) -->"
)


@dataclass(frozen=True, slots=True)
class PlanMeta:
    stack: str
    head: str
    manifests: str
    plan: str

    def line(self) -> str:
        return (
            f"<!-- personalize-gitops:plan-meta stack={self.stack} head={self.head} "
            f"manifests={self.manifests} plan={self.plan} -->"
        )


def parse_meta(body: str) -> PlanMeta | None:
    match = _META.search(body)
    if not match:
        return None
    return PlanMeta(match["stack"], match["head"], match["manifests"], match["plan"])


def comment_header(head: str, run_url: str, what: str = "Plan") -> str:
    return f"{what} of commit `{head[:12]}` · [workflow run]({run_url})"


def plan_comment(markdown: str, meta: PlanMeta, run_url: str) -> str:
    """The pull request comment: the renderer's markdown under a header naming the commit and the run, and a
    hidden line with the digests the merge run compares against."""
    return f"{comment_header(meta.head, run_url)}\n\n{markdown.rstrip()}\n\n{meta.line()}\n"


def reviewed_comment(comments: list[Record], stack: str, *, bot: str = DEFAULT_BOT) -> Record | None:
    """The last plan comment for this stack written by the bot (and not edited by anyone else)."""
    found = [
        c
        for c in comments
        if c.written_by(bot)
        and not c.minimized
        and (m := parse_meta(c.body)) is not None
        and m.stack == stack
    ]
    return found[-1] if found else None


def _plan_part(body: str) -> list[str]:
    """The comment without its header and meta line (the part both plans render the same way)."""
    lines = body.splitlines()
    if lines and lines[0].startswith(("Plan of commit", "Merge plan of commit")):
        lines = lines[1:]
    return [line for line in lines if not line.startswith("<!--")]  # hidden markers are no difference


@dataclass(frozen=True, slots=True)
class Comparison:
    same: bool
    markdown: str


def compare(
    merge_body: str,
    merge_meta: PlanMeta,
    comments: list[Record],
    pr_head: str | None,
    pr_number: str,
    *,
    bot: str = DEFAULT_BOT,
    diff_limit: int = 20_000,
) -> Comparison:
    """Compare the merge plan with the plan last posted on the pull request for the same head commit.

    Same = the reviewed comment was made for the pull request's head commit, from the same manifests digest,
    with the same plan digest. Otherwise the text says why, and shows the difference first."""
    reviewed = reviewed_comment(comments, merge_meta.stack, bot=bot)
    meta = parse_meta(reviewed.body) if reviewed else None
    where = f"#{pr_number}" if pr_number else "the pull request"
    if not pr_number:
        return Comparison(
            False,
            "**No pull request** (a direct push or a run by hand): no plan was reviewed; "
            "this plan is the one approvers review.\n",
        )
    if reviewed is None or meta is None:
        return Comparison(
            False,
            f"**⚠️ No reviewed plan** for `{merge_meta.stack}` on {where} (none posted by "
            "the workflow, or edited by someone else): approvers review this plan.\n",
        )
    if pr_head and meta.head != pr_head:
        return Comparison(
            False,
            f"**⚠️ Not the reviewed plan**: the last plan on {where} was made for commit "
            f"`{meta.head[:12]}`, the pull request's head is `{pr_head[:12]}`.\n",
        )
    if meta.manifests == merge_meta.manifests and meta.plan == merge_meta.plan:
        return Comparison(
            True,
            f"**✅ Same plan as reviewed** on {where} (commit `{meta.head[:12]}`, plan "
            f"digest `{meta.plan[:12]}`).\n",
        )
    why = "the manifests differ" if meta.manifests != merge_meta.manifests else "the account changed"
    diff = list(
        difflib.unified_diff(
            _plan_part(reviewed.body), _plan_part(merge_body), "reviewed plan", "merge plan", lineterm="", n=1
        )
    )
    text = "\n".join(diff)
    if len(text) > diff_limit:
        text = (
            text[: diff_limit // 2]
            + "\n... (middle of the difference left out) ...\n"
            + text[-diff_limit // 2 :]
        )
    fence = "~~~~"
    return Comparison(
        False,
        f"**⚠️ The merge plan differs from the plan reviewed** on {where} ({why}; reviewed plan digest "
        f"`{meta.plan[:12]}`, merge plan digest `{merge_meta.plan[:12]}`). Difference first:\n\n"
        f"{fence}diff\n{text.replace(fence, '~ ~ ~ ~')}\n{fence}\n",
    )
