"""Fakes for the workflow run tests: `gh`, `pip`, the AWS/checkout/comment actions, and a `personalize-gitops`
shim that adds `--local` to `plan` and `apply` so the workflows' exact commands run against the embedded
emulator (state in the workspace's .personalize-gitops/).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

FAKE_GH = r"""
import json, os, re, sys

STATE = os.environ["FAKE_GH_STATE"]


def load():
    with open(STATE, encoding="utf-8") as fh:
        return json.load(fh)


def save(state):
    with open(STATE, "w", encoding="utf-8") as fh:
        json.dump(state, fh, indent=1)


def option(args, name):
    return args[args.index(name) + 1] if name in args else None


def read(path):
    with open(path, encoding="utf-8") as fh:
        return fh.read()


args = sys.argv[1:]
state = load()
state["calls"].append(args)
save(state)
if args[:1] == ["api"]:
    path = next(a for a in args[1:] if not a.startswith("-") and a != option(args, "--jq"))
    jq = option(args, "--jq") or ""
    if re.fullmatch(r"repos/[^/]+/[^/]+/commits/[0-9a-f]+/pulls", path):
        if jq != ".[0].number // empty":
            sys.exit(f"fake gh: unsupported --jq {jq!r}")
        if state["prs_for_commit"]:
            print(state["prs_for_commit"][0])
        sys.exit(0)
    if re.fullmatch(r"repos/[^/]+/[^/]+/issues\?state=open&per_page=100", path):
        issues = [i for i in state["issues"] if i["state"] == "open"]
        if "contains(env.MARKER)" in jq:
            for issue in issues:
                if os.environ["MARKER"] in issue["body"]:
                    print(issue["number"])
            sys.exit(0)
        capture = re.search(r'capture\("(.*?)"\)', jq)
        if capture:
            pattern = capture.group(1).replace("(?<", "(?P<")
            for issue in issues:
                for match in re.finditer(pattern, issue["body"]):
                    print(match.group(1))
            sys.exit(0)
        sys.exit(f"fake gh: unsupported --jq {jq!r}")
    sys.exit(f"fake gh: unsupported api path {path!r}")
if args[:2] == ["issue", "create"]:
    number = 100 + len(state["issues"])
    state["issues"].append(
        {"number": number, "title": option(args, "--title"), "body": read(option(args, "--body-file")),
         "state": "open", "comments": []}
    )
    save(state)
    print(f"https://github.com/{option(args, '--repo')}/issues/{number}")
    sys.exit(0)
if args[:2] in (["issue", "edit"], ["issue", "close"]):
    issue = next(i for i in state["issues"] if i["number"] == int(args[2]))
    if args[1] == "edit":
        issue["body"] = read(option(args, "--body-file"))
    else:
        issue["state"] = "closed"
        issue["comments"].append(option(args, "--comment"))
    save(state)
    sys.exit(0)
if args[:2] == ["pr", "comment"]:
    state["pr_comments"].append({"number": int(args[2]), "body": read(option(args, "--body-file"))})
    save(state)
    sys.exit(0)
sys.exit(f"fake gh: unsupported command {args!r}")
"""

FAKE_PIP = r"""
import sys
# the tool is already installed in this virtualenv; the workflow's pinned install is only recorded
print("fake pip:", " ".join(sys.argv[1:]))
"""

LOCAL_SHIM = r"""
import os, sys
real = os.environ["REAL_PERSONALIZE_GITOPS"]
args = sys.argv[1:]
if args[:1] in (["plan"], ["apply"]):
    args = [*args, "--local"]
os.execv(real, [real, *args])
"""


def write_fake_bin(directory: Path, real_cli: Path) -> dict[str, str]:
    """Fake `gh`, `pip` and the `personalize-gitops` shim; returns the environment they need."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, body in (("gh", FAKE_GH), ("pip", FAKE_PIP), ("personalize-gitops", LOCAL_SHIM)):
        path = directory / name
        path.write_text(f"#!{sys.executable}\n{body}", encoding="utf-8")
        path.chmod(0o755)
    state = directory / "gh-state.json"
    state.write_text(json.dumps({"calls": [], "issues": [], "pr_comments": [], "prs_for_commit": [42]}))
    return {"FAKE_GH_STATE": str(state), "REAL_PERSONALIZE_GITOPS": str(real_cli)}


def gh_state(env: dict[str, str]) -> dict[str, Any]:
    return json.loads(Path(env["FAKE_GH_STATE"]).read_text())


def set_gh_state(env: dict[str, str], state: dict[str, Any]) -> None:
    Path(env["FAKE_GH_STATE"]).write_text(json.dumps(state))


class ActionFakes:
    """`uses:` steps: what they would do on GitHub, checked and recorded."""

    def __init__(self) -> None:
        self.comments: list[dict[str, str]] = []
        self.credentials: list[dict[str, str]] = []
        self.artifacts: dict[str, bytes] = {}

    def mapping(self) -> dict[str, Any]:
        return {
            "actions/checkout": self.checkout,
            "actions/setup-python": self.setup_python,
            "aws-actions/configure-aws-credentials": self.aws_credentials,
            "marocchino/sticky-pull-request-comment": self.sticky_comment,
            "actions/upload-artifact": self.upload_artifact,
        }

    def checkout(
        self, inputs: dict[str, Any], env: dict[str, str], exported: dict[str, str]
    ) -> dict[str, str]:
        assert inputs.get("persist-credentials") == "false", "checkout must not keep the token in .git/config"
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
        self.credentials.append(
            {"role": role, "region": region, "session": str(inputs.get("role-session-name"))}
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
        path = Path(str(inputs["path"]))
        assert path.is_file(), f"sticky comment path {path} does not exist"
        body = path.read_text(encoding="utf-8")
        # the action prepends its own hidden marker; GitHub refuses bodies over 65,536 characters
        posted = f"<!-- Sticky Pull Request Comment{inputs['header']} -->\n{body}"
        assert len(posted) <= 65536, f"comment of {len(posted)} characters is over GitHub's 65,536 limit"
        self.comments.append({"header": str(inputs["header"]), "body": body, "path": str(path)})
        return {"created_comment_id": str(len(self.comments))}

    def upload_artifact(
        self, inputs: dict[str, Any], env: dict[str, str], exported: dict[str, str]
    ) -> dict[str, str]:
        path = Path(str(inputs["path"]))
        if path.is_file():
            self.artifacts[str(inputs["name"])] = path.read_bytes()
        else:
            assert inputs.get("if-no-files-found") == "ignore", f"artifact {path} missing"
        return {}
