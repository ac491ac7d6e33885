"""The apply workflow tells the truth about every exit code `apply` documents (README "Exit codes").

Its report step (job summary and the merged pull request's comment) and its "apply unfinished" issue run as
written by bash, the way GitHub runs them, with only `gh` faked. Before, a shell `case` knew 0, 3 and 4 and
called every other code, 5 ("the account changed: plan again") included, "Apply failed".
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.github.workflow_support import OWN, ROOT, load_workflow

CLI = Path(sys.executable).parent / "personalize-gitops"
APPLY = OWN / "personalize-apply.yml"

#: Per documented exit code: words its report must contain (the README row's meaning), and must not.
EXPECTED: dict[int, tuple[tuple[str, ...], tuple[str, ...]]] = {
    0: (("Apply complete",), ("failed",)),
    1: (("Apply failed", "log below"), ("complete",)),
    3: (("still running", "within 45m", "continues it"), ("failed",)),
    4: (("another apply holds the stack lock", "nothing was changed", "break-lock"), ("failed",)),
    5: (
        ("account changed", "apply ran the reviewed plan", "NOT made", "Review them"),
        ("Apply failed", "Apply complete"),
    ),
    130: (
        ("interrupted", "whether the stack lock was released", "break-lock", "keeps running in the account"),
        ("complete", "the stack lock was released;"),
    ),
}

pytestmark = pytest.mark.skipif(not CLI.exists(), reason="personalize-gitops is not installed in this venv")


def readme_exit_codes() -> dict[int, str]:
    """The README's exit-code table: code -> meaning."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    return {int(code): meaning for code, meaning in re.findall(r"^\| (\d+) \| (.+) \|$", table, re.MULTILINE)}


def apply_codes() -> list[int]:
    """The codes `apply` can exit with: all but those the README marks as another command's only."""
    return sorted(c for c, meaning in readme_exit_codes().items() if " only:" not in meaning.split(";")[0])


def test_every_documented_apply_exit_code_has_an_expectation() -> None:
    codes = readme_exit_codes()
    assert {0, 1, 2, 3, 4, 5, 130} <= set(codes), codes
    assert apply_codes() == sorted(EXPECTED), "a new exit code in the README needs its report here"


def _step(job: str, name: str) -> dict[str, object]:
    steps = load_workflow(APPLY)["jobs"][job]["steps"]
    found = [s for s in steps if s.get("name") == name]
    assert len(found) == 1, f"no step {name!r} in {APPLY.name} job {job}"
    return found[0]


def _run_step(name: str, tmp_path: Path, code: str, event: str = "workflow_dispatch") -> Path:
    """Run a step of the apply job with bash as GitHub does; returns its RUNNER_TEMP."""
    step = _step("apply", name)
    script = str(step["run"])
    assert "${{" not in script, "untrusted values reach the script through env: only"
    temp = tmp_path / f"temp-{code or 'none'}"
    temp.mkdir()
    (temp / "apply-retail-dev.log").write_text("the account changed: plan again ...\n", encoding="utf-8")
    fake = tmp_path / "bin"
    fake.mkdir(exist_ok=True)
    gh = fake / "gh"
    # `gh`: no issue yet; `issue create` keeps the body it was given
    gh.write_text(
        "#!/usr/bin/env bash\n"
        'if [ "$1 $2" = "api graphql" ]; then echo \'{"data":{"repository":{"issues":{"nodes":[]}}}}\'; fi\n'
        'if [ "$1 $2" = "issue create" ]; then\n'
        '  while [ $# -gt 0 ]; do if [ "$1" = --body-file ]; then cp "$2" "$RUNNER_TEMP/issue-body.md"; fi; '
        "shift; done\n"
        "fi\n",
        encoding="utf-8",
    )
    gh.chmod(0o755)
    env = {
        **os.environ,
        "PATH": os.pathsep.join([str(fake), str(CLI.parent), os.environ.get("PATH", "")]),
        "GH_TOKEN": "t",
        "STACK": "retail-dev",
        "APPLY_CODE": code,
        "VERIFY_CODE": "",
        "APPLY_TIMEOUT": "45m",
        "RUN_URL": "https://github.com/acme/recs/actions/runs/77",
        "RUNNER_TEMP": str(temp),
        "GITHUB_STEP_SUMMARY": str(temp / "summary.md"),
        "GITHUB_OUTPUT": str(temp / "output"),
        "GITHUB_EVENT_NAME": event,
        "GITHUB_REPOSITORY": "acme/recs",
        "GITHUB_SHA": "a" * 40,
    }
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return temp


def _status_line(summary: str) -> str:
    (line,) = [x for x in summary.splitlines() if x.startswith("**") and "workflow run" in x]
    return line


@pytest.mark.parametrize("code", sorted(EXPECTED))
def test_the_summary_says_what_each_exit_code_means(tmp_path: Path, code: int) -> None:
    temp = _run_step("Report to the job summary and the merged pull request", tmp_path, str(code))
    line = _status_line((temp / "summary.md").read_text(encoding="utf-8"))
    wanted, unwanted = EXPECTED[code]
    for words in wanted:
        assert words in line, f"exit code {code}: {words!r} missing from {line!r}"
    for words in unwanted:
        assert words not in line, f"exit code {code}: {words!r} in {line!r}"


def test_no_exit_code_and_an_undocumented_one_are_not_guessed(tmp_path: Path) -> None:
    none = _status_line(
        (
            _run_step("Report to the job summary and the merged pull request", tmp_path, "") / "summary.md"
        ).read_text(encoding="utf-8")
    )
    assert "did not report an exit code" in none
    odd = _status_line(
        (
            _run_step("Report to the job summary and the merged pull request", tmp_path, "7") / "summary.md"
        ).read_text(encoding="utf-8")
    )
    assert "exited 7, which is not one of its documented exit codes" in odd


def test_no_exit_code_does_not_claim_that_apply_never_ran() -> None:
    """The apply step writes `exitcode` after apply returns: when the run is cancelled (or the runner lost)
    while apply runs, the report steps (`always()`) see no code either, and apply did run: it may hold the
    stack lock and have started trainings. The line must not say only 'failed before apply ran'."""
    from reconciler.ci.outcome import apply_status

    text = apply_status("")
    assert "did not report an exit code" in text
    assert "cancelled" in text and "while apply ran" in text, text
    assert "lease expires" in text and "break-lock" in text, text


def test_the_unfinished_apply_issue_says_why(tmp_path: Path) -> None:
    temp = _run_step("Track an unfinished or failed apply in the stack's issue", tmp_path, "5")
    body = (temp / "issue-body.md").read_text(encoding="utf-8")
    assert "exit code 5" in body and "NOT made" in body and "account changed" in body


@pytest.mark.parametrize("name", ["personalize-plan.yml", "personalize-drift.yml"])
def test_plan_and_drift_treat_only_the_plans_success_codes_as_success(name: str) -> None:
    """The other workflows that branch on an exit code run `plan --detailed-exitcode`: 0 and 2 are its
    successes (README), every other code fails the job."""
    codes = readme_exit_codes()
    assert "no changes" in codes[0] and "there are changes" in codes[2]
    text = (OWN / name).read_text(encoding="utf-8")
    compared = set(re.findall(r"steps\.plan\.outputs\.exitcode [!=]= '(\d+)'", text))
    assert compared == {"0", "2"}, compared
    assert "steps.plan.outputs.exitcode != '0' && steps.plan.outputs.exitcode != '2'" in text
