"""The three short workflows a user's repository holds: they call this repository's reusable workflows.

`personalize-gitops ci-setup` writes them (examples/github/workflows/ keeps a copy). Their inputs are the few
things that differ between repositories; everything else lives in `.github/workflows/personalize-*.yml` here,
pinned by commit SHA so that the workflows and the tool they install are one reviewed version. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_WORKFLOWS_REPO = "personalize-gitops/personalize-gitops"
CALLER_FILES = ("personalize-gitops-plan.yml", "personalize-gitops-apply.yml", "personalize-gitops-drift.yml")
MARK = "Written by `personalize-gitops ci-setup`"


@dataclass(frozen=True, slots=True)
class CallerSettings:
    ref: str
    """Full commit SHA of personalize-gitops whose reusable workflows (and tool) the callers use."""
    version: str
    """The tool version at that commit (named in the pin's comment)."""
    workflows_repo: str = DEFAULT_WORKFLOWS_REPO
    manifests_dir: str = "manifests"
    stacks_dir: str = "stacks"
    environment_prefix: str = "production-"
    timeout: str = "45m"
    branch: str = "main"

    def optional(self, *names: str) -> str:
        """`with:` lines of the inputs that differ from the reusable workflow's defaults."""
        lines = ""
        for name in names:
            value = getattr(self, name)
            if value != _DEFAULTS[name]:
                lines += f"      {name.replace('_', '-')}: {value}\n"
        return lines

    def uses(self, name: str) -> str:
        return (
            f"{self.workflows_repo}/.github/workflows/{name}@{self.ref} # personalize-gitops {self.version}"
        )


_DEFAULTS = {
    "manifests_dir": "manifests",
    "stacks_dir": "stacks",
    "environment_prefix": "production-",
    "timeout": "45m",
}
_HEADER = f"# {MARK} (docs/github-setup.md); rerun it to move the pin.\n"


_PERMISSIONS = {
    "contents": "contents: read # check out the manifests",
    "id-token": "id-token: write # OIDC token for the stack's AWS role",
    "issues": "issues: write # the stack's drift / unfinished-apply issue",
    "pull-requests": "pull-requests: write # plan and apply comments on the pull request",
}


def _job(
    s: CallerSettings,
    name: str,
    workflow: str,
    scopes: tuple[str, ...],
    extra: str = "",
    keys: tuple[str, ...] = ("manifests_dir", "stacks_dir"),
) -> str:
    lines = [
        f"  {name}:",
        *([line for line in extra.splitlines()] if extra else []),
        f"    uses: {s.uses(workflow)}",
    ]
    lines += ["    permissions:", *(f"      {_PERMISSIONS[scope]}" for scope in scopes)]
    given = s.optional(*keys)
    return "\n".join(lines) + "\n" + (f"    with:\n{given}" if given else "")


_ALL = ("contents", "id-token", "issues", "pull-requests")
_APPLY_KEYS = ("manifests_dir", "stacks_dir", "environment_prefix", "timeout")


def plan_caller(s: CallerSettings) -> str:
    return (
        _HEADER
        + f"""name: personalize-plan
on:
  pull_request:
    branches: [{s.branch}]
  merge_group:
permissions: {{}}
concurrency:
  group: personalize-plan-${{{{ github.event.pull_request.number || github.sha }}}}
  cancel-in-progress: true
jobs:
"""
        + _job(s, "plan", "personalize-plan.yml", ("contents", "id-token", "pull-requests"))
    )


def apply_caller(s: CallerSettings) -> str:
    job = _job(s, "apply", "personalize-apply.yml", _ALL, keys=_APPLY_KEYS)
    if "    with:" not in job:
        job += "    with:\n"
    return (
        _HEADER
        + f"""name: personalize-apply
on:
  push:
    branches: [{s.branch}]
  workflow_dispatch:
    inputs:
      break-lock:
        description: Break the lock of an apply that died (its holder and lease age are shown before approval)
        type: boolean
        default: false
permissions: {{}}
concurrency:
  group: personalize-gitops-account
  queue: max
jobs:
"""
        + job
        + "      break-lock: ${{ inputs.break-lock == true }}\n"
    )


def drift_caller(s: CallerSettings) -> str:
    cont = _job(
        s,
        "continue",
        "personalize-apply.yml",
        _ALL,
        "    needs: drift\n    if: needs.drift.outputs.unfinished != ''",
        _APPLY_KEYS,
    )
    if "    with:" not in cont:
        cont += "    with:\n"
    return (
        _HEADER
        + """name: personalize-drift
on:
  schedule: [{cron: "17 */6 * * *"}]
  workflow_dispatch: {}
permissions: {}
concurrency:
  group: personalize-gitops-account
  queue: max
jobs:
"""
        + _job(s, "drift", "personalize-drift.yml", ("contents", "id-token", "issues"))
        + cont
        + "      only: ${{ needs.drift.outputs.unfinished }}\n"
    )


def callers(s: CallerSettings) -> dict[str, str]:
    return {
        "personalize-gitops-plan.yml": plan_caller(s),
        "personalize-gitops-apply.yml": apply_caller(s),
        "personalize-gitops-drift.yml": drift_caller(s),
    }
