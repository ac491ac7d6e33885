# ruff: noqa: E501  (the fake programs are Python source inside strings)
"""Fakes for the workflow run tests: `gh`, `pip`, the AWS/checkout/comment actions, and a `personalize-gitops`
shim that adds `--local` to `plan`, `apply` and `verify` so the workflows' exact commands run against the embedded
emulator (state in the workspace's .personalize-gitops/).
"""

from __future__ import annotations

import fnmatch
import json
import re
import sys
from pathlib import Path
from typing import Any

FAKE_GH = r"""
import json, os, re, sys

STATE = os.environ["FAKE_GH_STATE"]
BOT = "github-actions"  # GITHUB_TOKEN writes as github-actions[bot]; GraphQL shows the login without [bot]


def load():
    with open(STATE, encoding="utf-8") as fh:
        return json.load(fh)


def save(state):
    with open(STATE, "w", encoding="utf-8") as fh:
        json.dump(state, fh, indent=1)


def option(args, name):
    return args[args.index(name) + 1] if name in args else None


def options(args, name):
    return [args[i + 1] for i, a in enumerate(args) if a == name]


def read(path):
    with open(path, encoding="utf-8") as fh:
        return fh.read()


def need(scope, level):
    # the job's GITHUB_TOKEN carries the job's permissions (registered by the runner)
    token = os.environ.get("GH_TOKEN", "")
    tokens = json.loads(read(os.environ["FAKE_GH_TOKENS"])) if os.path.exists(os.environ["FAKE_GH_TOKENS"]) else {}
    if token not in tokens:
        sys.exit(f"fake gh: GH_TOKEN {token!r} is not a token of this run")
    have = tokens[token].get(scope, "none")
    rank = {"none": 0, "read": 1, "write": 2}
    if rank[have] < rank[level]:
        sys.exit(f"fake gh: HTTP 403: Resource not accessible by integration ({scope}: {level} needed, job has {have})")


def issue_node(issue):
    return {
        "number": issue["number"], "state": issue["state"].upper(), "title": issue["title"], "body": issue["body"],
        "author": {"login": issue["author"]}, "editor": {"login": issue["editor"]} if issue.get("editor") else None,
        "labels": {"nodes": [{"name": n} for n in issue.get("labels", [])]},
    }


args = sys.argv[1:]
state = load()
state["calls"].append(args)
save(state)
if args[:2] == ["api", "graphql"]:
    query = next(v.split("=", 1)[1] for v in options(args, "-f") if v.startswith("query="))
    fields = dict(v.split("=", 1) for v in options(args, "-F"))
    if state.get("graphql_errors"):
        # GitHub answers HTTP 200 with `errors` (and data null); gh prints the body, then the messages, exit 1
        print(json.dumps({"data": None, "errors": state["graphql_errors"]}))
        sys.exit("gh: " + "\n".join(e["message"] for e in state["graphql_errors"]))
    if "issues(" in query:
        need("issues", "read")
        # two pages, as --paginate prints them: one JSON document each
        nodes = [issue_node(i) for i in state["issues"]]
        for part in (nodes[: len(nodes) // 2], nodes[len(nodes) // 2 :]):
            print(json.dumps({"data": {"repository": {"issues": {"nodes": part, "pageInfo": {"hasNextPage": False}}}}}))
        sys.exit(0)
    if "pullRequest(" in query:
        need("pull-requests", "read")
        number = int(fields["number"])
        comments = [
            {"body": c["body"], "author": {"login": c["author"]},
             "editor": {"login": c["editor"]} if c.get("editor") else None, "isMinimized": False}
            for c in state["pr_comments"] if c["number"] == number
        ]
        pull = {"headRefOid": state["pr_heads"].get(str(number)), "comments": {"nodes": comments}}
        print(json.dumps({"data": {"repository": {"pullRequest": pull}}}))
        sys.exit(0)
    sys.exit(f"fake gh: unsupported graphql query {query[:80]!r}")
if args[:1] == ["api"]:
    path = args[1]
    if re.fullmatch(r"repos/[^/]+/[^/]+/commits/[0-9a-f]+/pulls", path):
        need("contents", "read")
        print(json.dumps([{"number": n, "head": {"sha": state["pr_heads"].get(str(n))}} for n in state["prs_for_commit"]]))
        sys.exit(0)
    sys.exit(f"fake gh: unsupported api path {path!r}")
if args[:2] == ["label", "create"]:
    need("issues", "write")
    if args[2] in state["labels"] and "--force" not in args:
        sys.exit(f"fake gh: label {args[2]} already exists")
    state["labels"] = sorted(set(state["labels"]) | {args[2]})
    save(state)
    sys.exit(0)
if args[:2] == ["issue", "create"]:
    need("issues", "write")
    labels = options(args, "--label")
    missing = [label for label in labels if label not in state["labels"]]
    if missing:
        sys.exit(f"fake gh: could not add label: {missing[0]!r} not found")
    number = 100 + len(state["issues"])
    state["issues"].append(
        {"number": number, "title": option(args, "--title"), "body": read(option(args, "--body-file")),
         "state": "open", "comments": [], "author": BOT, "editor": None, "labels": labels}
    )
    save(state)
    print(f"https://github.com/{option(args, '--repo')}/issues/{number}")
    sys.exit(0)
if args[:2] in (["issue", "edit"], ["issue", "close"], ["issue", "reopen"]):
    need("issues", "write")
    issue = next(i for i in state["issues"] if i["number"] == int(args[2]))
    if args[1] == "edit":
        issue["body"] = read(option(args, "--body-file"))
        issue["editor"] = BOT
    elif args[1] == "close":
        issue["state"] = "closed"
        issue["comments"].append(option(args, "--comment"))
    else:
        issue["state"] = "open"
    save(state)
    sys.exit(0)
if args[:2] == ["pr", "comment"]:
    need("pull-requests", "write")
    state["pr_comments"].append(
        {"number": int(args[2]), "body": read(option(args, "--body-file")), "author": BOT, "editor": None}
    )
    save(state)
    sys.exit(0)
sys.exit(f"fake gh: unsupported command {args!r}")
"""

FAKE_PIP = r"""
import sys
# the tool is already installed in this virtualenv; the workflow's pinned install is only recorded
print("fake pip:", " ".join(sys.argv[1:]))
"""

FAKE_PYTHON = r"""
import os, sys
# `python -m pip ...` is recorded like the pip fake; anything else runs with the real interpreter
if sys.argv[1:3] == ["-m", "pip"]:
    print("fake pip:", " ".join(sys.argv[3:]))
    sys.exit(0)
os.execv(sys.executable, [sys.executable, *sys.argv[1:]])
"""

LOCAL_SHIM = r"""
import os, sys
real = os.environ["REAL_PERSONALIZE_GITOPS"]
args = sys.argv[1:]
if args[:1] in (["plan"], ["apply"], ["verify"]) or args[:2] == ["ci", "lock"]:
    args = [*args, "--local"]
os.execv(real, [real, *args])
"""


def write_fake_bin(directory: Path, real_cli: Path) -> dict[str, str]:
    """Fake `gh`, `pip` and the `personalize-gitops` shim; returns the environment they need."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, body in (
        ("gh", FAKE_GH),
        ("pip", FAKE_PIP),
        ("python", FAKE_PYTHON),
        ("personalize-gitops", LOCAL_SHIM),
    ):
        path = directory / name
        path.write_text(f"#!{sys.executable}\n{body}", encoding="utf-8")
        path.chmod(0o755)
    state = directory / "gh-state.json"
    state.write_text(
        json.dumps(
            {
                "calls": [],
                "issues": [],
                "pr_comments": [],
                "prs_for_commit": [42],
                "pr_heads": {},
                "labels": [],
            }
        )
    )
    return {
        "FAKE_GH_STATE": str(state),
        "FAKE_GH_TOKENS": str(directory / "gh-tokens.json"),
        "REAL_PERSONALIZE_GITOPS": str(real_cli),
    }


def gh_state(env: dict[str, str]) -> dict[str, Any]:
    return json.loads(Path(env["FAKE_GH_STATE"]).read_text())


def set_gh_state(env: dict[str, str], state: dict[str, Any]) -> None:
    Path(env["FAKE_GH_STATE"]).write_text(json.dumps(state))


def _permissions(env: dict[str, str]) -> dict[str, str]:
    return dict(json.loads(env.get("FAKE_JOB_PERMISSIONS", "{}")))


def trust_allows(policy: dict[str, Any], claims: dict[str, str]) -> bool:
    """IAM's evaluation of a web-identity trust policy for the claims we model (aud, sub): any Allow statement
    whose StringEquals / StringLike conditions all match."""
    host = "token.actions.githubusercontent.com"
    for statement in policy.get("Statement", []):
        if statement.get("Effect") != "Allow" or statement.get("Action") != "sts:AssumeRoleWithWebIdentity":
            continue
        ok = True
        for operator, conditions in (statement.get("Condition") or {}).items():
            for key, wanted in conditions.items():
                claim = claims.get(key.removeprefix(f"{host}:"))
                values = wanted if isinstance(wanted, list) else [wanted]
                if operator == "StringEquals":
                    ok = ok and claim in values
                elif operator == "StringLike":
                    ok = ok and claim is not None and any(fnmatch.fnmatchcase(claim, v) for v in values)
                else:
                    ok = False  # not modelled: refuse
        if ok:
            return True
    return False


class ActionFakes:
    """`uses:` steps: what they would do on GitHub, checked and recorded."""

    def __init__(self, workspace: Path | None = None, gh_state: Path | None = None) -> None:
        self.workspace = workspace
        self.gh_state = gh_state
        self.comments: list[dict[str, str]] = []
        self.credentials: list[dict[str, str]] = []
        self.artifacts: dict[str, bytes] = {}
        """Artifacts of the current run (name -> content of its one file)."""
        self.artifact_names: dict[str, str] = {}
        self.trust: dict[str, dict[str, Any]] = {}
        """Role ARN -> trust policy; when set, assuming a role checks the job's OIDC claims against it."""
        self.checkouts: list[dict[str, Any]] = []

    def new_run(self) -> None:
        """Artifacts live in one run (another run's are not visible without a token and its run id)."""
        self.artifacts = {}
        self.artifact_names = {}

    def mapping(self) -> dict[str, Any]:
        return {
            "actions/checkout": self.checkout,
            "actions/setup-python": self.setup_python,
            "aws-actions/configure-aws-credentials": self.aws_credentials,
            "marocchino/sticky-pull-request-comment": self.sticky_comment,
            "actions/upload-artifact": self.upload_artifact,
            "actions/download-artifact": self.download_artifact,
        }

    def checkout(
        self, inputs: dict[str, Any], env: dict[str, str], exported: dict[str, str]
    ) -> dict[str, str]:
        assert inputs.get("persist-credentials") == "false", "checkout must not keep the token in .git/config"
        if inputs.get("repository"):
            # the tool's own checkout: at the reusable workflow's commit, never the caller's tree
            assert re.fullmatch(r"[\w.-]+/[\w.-]+", str(inputs["repository"])), inputs
            assert re.fullmatch(r"[0-9a-f]{40}", str(inputs.get("ref"))), f"tool ref {inputs.get('ref')!r}"
        self.checkouts.append(dict(inputs))
        return {}

    def setup_python(
        self, inputs: dict[str, Any], env: dict[str, str], exported: dict[str, str]
    ) -> dict[str, str]:
        assert inputs.get("python-version"), "setup-python needs python-version"
        return {}

    def aws_credentials(
        self, inputs: dict[str, Any], env: dict[str, str], exported: dict[str, str]
    ) -> dict[str, str]:
        role = str(inputs.get("role-to-assume") or "")
        region = str(inputs.get("aws-region") or "")
        assert re.fullmatch(r"arn:aws:iam::\d{12}:role/[\w+=,.@/-]+", role), f"bad role-to-assume {role!r}"
        assert region, "aws-region is empty"
        # GitHub sets the OIDC request variables only for jobs with `id-token: write`
        assert env.get("ACTIONS_ID_TOKEN_REQUEST_URL"), "no OIDC token: the job lacks `id-token: write`"
        claims = json.loads(env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"])
        if self.trust:
            policy = self.trust.get(role)
            assert policy is not None, f"no role {role} in the account"
            assert trust_allows(policy, claims), (
                f"Not authorized to perform sts:AssumeRoleWithWebIdentity: {role} does not trust {claims['sub']}"
            )
        self.credentials.append(
            {
                "role": role,
                "region": region,
                "session": str(inputs.get("role-session-name")),
                "sub": claims["sub"],
            }
        )
        exported.update(
            {
                "AWS_REGION": region,
                "AWS_DEFAULT_REGION": region,
                "AWS_ACCESS_KEY_ID": "ASIAFAKE",
                "AWS_SECRET_ACCESS_KEY": "fake",
                "AWS_SESSION_TOKEN": "fake",
            }
        )
        return {"aws-account-id": role.split(":")[4]}

    def sticky_comment(
        self, inputs: dict[str, Any], env: dict[str, str], exported: dict[str, str]
    ) -> dict[str, str]:
        assert _permissions(env).get("pull-requests") == "write", "sticky comment needs pull-requests: write"
        path = Path(str(inputs["path"]))
        assert path.is_file(), f"sticky comment path {path} does not exist"
        body = path.read_text(encoding="utf-8")
        header = str(inputs["header"])
        # the action prepends its own hidden marker; GitHub refuses bodies over 65,536 characters
        hidden = f"<!-- Sticky Pull Request Comment{header} -->"
        posted = f"{body}\n{hidden}"
        assert len(posted) <= 65536, f"comment of {len(posted)} characters is over GitHub's 65,536 limit"
        self.comments.append({"header": header, "body": body, "path": str(path)})
        if self.gh_state is not None:  # on the pull request: updated in place (found by marker and author)
            state = json.loads(self.gh_state.read_text())
            number = 42
            mine = [
                c
                for c in state["pr_comments"]
                if c["number"] == number and c["author"] == "github-actions" and hidden in c["body"]
            ]
            if mine:
                mine[-1]["body"] = posted
                mine[-1]["editor"] = "github-actions"
            else:
                state["pr_comments"].append({"number": number, "body": posted, "author": "github-actions"})
            self.gh_state.write_text(json.dumps(state))
        return {"created_comment_id": str(len(self.comments))}

    def upload_artifact(
        self, inputs: dict[str, Any], env: dict[str, str], exported: dict[str, str]
    ) -> dict[str, str]:
        name = str(inputs["name"])
        assert name not in self.artifacts, (
            f"artifact {name} already exists in this run (v4+: names are unique)"
        )
        pattern = str(inputs["path"])
        if "*" in pattern:
            assert self.workspace is not None
            found = sorted(self.workspace.glob(pattern))
        else:
            found = [Path(pattern)] if Path(pattern).is_file() else []
        if found:
            self.artifacts[name] = found[0].read_bytes()
            self.artifact_names[name] = found[0].name
        else:
            assert inputs.get("if-no-files-found") in ("ignore", "warn"), f"artifact {pattern} missing"
        return {}

    def download_artifact(
        self, inputs: dict[str, Any], env: dict[str, str], exported: dict[str, str]
    ) -> dict[str, str]:
        name = str(inputs["name"])
        assert name in self.artifacts, f"Unable to download artifact(s): Artifact not found for name: {name}"
        target = Path(str(inputs["path"]))
        target.mkdir(parents=True, exist_ok=True)
        (target / self.artifact_names[name]).write_bytes(self.artifacts[name])
        return {"download-path": str(target)}
