"""`personalize-gitops plan` end to end through typer's CliRunner, on the embedded emulator (--local)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reconciler.cli import app
from reconciler.plan import planfile
from reconciler.plan.types import FORMAT_VERSION

REPO = Path(__file__).resolve().parent.parent.parent


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    shutil.copytree(REPO / "manifests", tmp_path / "manifests")
    shutil.copytree(REPO / "data", tmp_path / "data")
    monkeypatch.chdir(tmp_path)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "PERSONALIZE_GITOPS_PRICES"):
        monkeypatch.delenv(name, raising=False)
    seed_pipeline(tmp_path)
    return tmp_path


def seed_pipeline(workdir: Path) -> None:
    """The user's data pipeline (bucket with its policy, import role, uploaded CSVs) in the --local account:
    plan's preflight checks them (issue 14)."""
    import os
    from unittest import mock

    from reconciler.demo import seed_local_account
    from reconciler.manifest import load

    with mock.patch.dict(os.environ, {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"}):
        seed_local_account(workdir, workdir / "data" / "sample", load(workdir / "manifests"))


def run(*args: str):
    return CliRunner().invoke(app, ["plan", *args], catch_exceptions=False)


def test_plan_local_text_with_detailed_exitcode(workdir):
    result = run("manifests", "--local", "--detailed-exitcode", "--no-color")
    assert result.exit_code == 2, result.output
    assert "local emulator" in result.output.splitlines()[0]
    assert (
        "Plan: 15 to create, 0 to update, 0 to replace, 0 to delete, 3 to retrain, 0 to promote, 3 to import."
        in (result.output)
    )
    assert "\x1b[" not in result.output
    plain = run("manifests", "--local")
    assert plain.exit_code == 0


def test_plan_json_and_saved_plan(workdir):
    result = run("manifests", "--local", "--format", "json", "--out", "plan.json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["format_version"] == FORMAT_VERSION == "3.1" and data["applyable"] is True
    assert data["summary"]["create"] == 15 and "local emulator" in data["target"]
    # the structured target next to the label (what `apply PLANFILE` compares); no profile, no time scale
    assert data["target_identity"] == {
        "partition": "aws",
        "account": "123456789012",
        "region": "us-east-1",
        "endpoint": None,
        "service_endpoints": {},
        "local_state": str((workdir / ".personalize-gitops" / "emulator-state.json").resolve()),
    }
    assert all(isinstance(c["change"]["actions"], list) for c in data["resource_changes"])
    saved = planfile.load("plan.json")
    assert saved.count(saved.changes[0].action) >= 1
    assert saved.manifests_digest == data["manifests_digest"]


def test_plan_markdown_has_the_sticky_marker(workdir):
    result = run("manifests", "--local", "--format", "markdown")
    assert result.exit_code == 0
    assert result.stdout.startswith("<!-- personalize-gitops:plan:retail-dev -->")
    assert "local emulator" in result.stdout


@pytest.mark.parametrize(
    "args,message",
    [
        (["missing-dir", "--local"], "Error:"),
        (["manifests", "--local", "--retrain", "nope"], "--retrain nope: no such Solution"),
        (["manifests", "--local", "--endpoint-url", "http://localhost:1"], "--local and --endpoint-url"),
        (["manifests", "--local", "--format", "yaml"], "--format yaml: unknown format"),
    ],
)
def test_errors_are_one_message_and_exit_1(workdir, args, message):
    result = run(*args)
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


def test_price_overrides(workdir, monkeypatch):
    monkeypatch.setenv("PERSONALIZE_GITOPS_PRICES", '{"campaign_tps_hour_usd": 0.1}')
    result = run("manifests", "--local", "--no-color")
    assert "~$73.00/month (estimate)" in result.output
    monkeypatch.setenv("PERSONALIZE_GITOPS_PRICES", '{"bogus": 1}')
    bad = run("manifests", "--local")
    assert bad.exit_code == 1 and "unknown price keys" in bad.output


def test_plan_digest_is_stable_across_save_and_load(workdir):
    result = run("manifests", "--local", "--format", "json", "--out", "plan.json")
    assert result.exit_code == 0, result.output
    saved = planfile.load("plan.json")
    digest = planfile.plan_digest(saved)
    assert digest.startswith("sha256:") and len(digest) == len("sha256:") + 64
    assert planfile.plan_digest(planfile.loads(planfile.dumps(saved))) == digest
    again = run("manifests", "--local", "--format", "json", "--out", "plan2.json")
    assert again.exit_code == 0
    assert planfile.plan_digest(planfile.load("plan2.json")) == digest
    other = planfile.loads(planfile.dumps(saved).replace('"stack": "retail-dev"', '"stack": "other"'))
    assert planfile.plan_digest(other) != digest


def test_preflight_runs_after_the_plan_for_the_datasets_it_acts_on(workdir, monkeypatch):
    """Issue 15: the command's preflight checks only what merge keeps (datasets created, replaced or imported
    into), on the command's threads, before the target is closed; a no-op plan makes no preflight call."""
    import reconciler.live.preflight as module

    real = module.preflight
    seen = []

    def spy(target, desired, only=None, *, concurrency=16, setup=None):
        assert not target.closed
        seen.append((only, concurrency))
        return real(target, desired, only, concurrency=concurrency, setup=setup)

    monkeypatch.setattr(module, "preflight", spy)
    result = run("manifests", "--local", "--format", "json", "--concurrency", "5")
    assert result.exit_code == 0, result.output
    created = {
        c["address"]
        for c in json.loads(result.stdout)["resource_changes"]
        if c["address"].startswith("Dataset/")
    }
    ((only, concurrency),) = seen
    assert concurrency == 5 and only is not None
    assert {str(a) for a in only} == created and len(created) == 3


def test_import_in_background_imports_and_leaves_errors_to_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """`plan` imports what it needs after the read while the read waits on the network (issue 15)."""
    import sys
    import threading
    import time

    from reconciler.commands.plan_cmd import AFTER_READ, import_in_background

    (tmp_path / "bg_ok_module.py").write_text("VALUE = 1\n", encoding="utf-8")
    (tmp_path / "bg_broken_module.py").write_text(
        "raise RuntimeError('broken on import')\n", encoding="utf-8"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    import_in_background("bg_ok_module", "bg_broken_module")
    deadline = time.monotonic() + 30
    while (
        any(t.name == "import-in-background" for t in threading.enumerate()) and time.monotonic() < deadline
    ):
        time.sleep(0.01)
    assert "bg_ok_module" in sys.modules
    assert "broken on import" not in capfd.readouterr().err  # no traceback from the thread
    with pytest.raises(RuntimeError, match="broken on import"):
        __import__("bg_broken_module")  # the command's own import reports it
    assert all(name.startswith("reconciler.") for name in AFTER_READ)


PLAN_TYPES_BEFORE_THE_READ = """
import sys
import reconciler.commands.plan_cmd as plan_cmd
import reconciler.live.reader as reader

class Target:
    label = "test target"
    class clock:
        @staticmethod
        def now():
            return 0.0
    def close(self):
        pass

plan_cmd.import_in_background = lambda *modules: None  # what the read overlaps is not the question here
plan_cmd.open_cli_target = lambda **kwargs: Target()

def read_live(*args, **kwargs):
    print("reconciler.plan.types" in sys.modules, flush=True)
    raise SystemExit(0)

reader.read_live = read_live
retrain = ["unknown"] if len(sys.argv) > 2 else []
plan_cmd.run_plan(path=sys.argv[1], stack=None, output_format="text", out=None, detailed_exitcode=False,
                  endpoint_url=None, local=False, region=None, retrain=retrain)
"""


def test_the_plan_types_are_imported_after_the_first_call_is_sent() -> None:
    """The options are checked before the read but built after it: the plan modules then load while the read
    waits on the network (reconciler.plan.types alone took ~15 ms of every plan's start)."""
    import subprocess
    import sys

    def run(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", PLAN_TYPES_BEFORE_THE_READ, str(REPO / "manifests"), *extra],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )

    done = run()
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
    refused = run("--retrain unknown")  # a wrong --retrain name is still refused before any call
    assert refused.returncode != 0
    assert "--retrain unknown: no such Solution in the manifests" in refused.stderr


def test_the_apply_command_a_saved_plan_suggests_runs_as_printed(workdir):
    """`plan DIR --out F` names the command that applies F; with manifests elsewhere than manifests/ that
    command must say where they are, or apply fails with "manifests: no such file or directory"."""
    import shlex

    (workdir / "manifests").rename(workdir / "retail dev")  # next to data/: its relative paths still hold
    result = run("retail dev", "--local", "--out", "saved.json")
    assert result.exit_code == 0, result.output
    suggested = result.output.split("apply it with `", 1)[1].split("`", 1)[0]
    argv = shlex.split(suggested)
    assert argv[:3] == ["personalize-gitops", "apply", "saved.json"]
    applied = CliRunner().invoke(app, [*argv[1:], "--auto-approve", "--no-wait"], catch_exceptions=False)
    assert applied.exit_code in (0, 3), applied.output
    assert "no such file" not in applied.output


def test_applying_a_saved_plan_without_its_manifests_says_to_pass_them(workdir):
    (workdir / "manifests").rename(workdir / "elsewhere")
    assert run("elsewhere", "--local", "--out", "saved.json").exit_code == 0
    applied = CliRunner().invoke(app, ["apply", "saved.json", "--local", "--auto-approve"])
    assert applied.exit_code == 1, applied.output
    assert "manifests: no such file or directory" in applied.output
    assert "apply saved.json --manifests DIR" in applied.output
    assert "nothing was changed" in applied.output
