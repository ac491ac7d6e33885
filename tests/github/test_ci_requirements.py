"""`.ci/requirements.txt`: what the reusable workflows install (with `--no-deps`), and that it is enough.

numpy and scipy are left out on purpose (only the emulator's data plane imports them; the workflows never run
the emulator): the workflow commands must keep running without them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.emulator.server import EmulatorServer, MotoBridge

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = ROOT / ".ci" / "requirements.txt"
LEFT_OUT = {"numpy", "scipy"}

BLOCKED_RUN = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"numpy", "scipy"}:
            raise ModuleNotFoundError(f"No module named {name!r} (not in .ci/requirements.txt)")
        return None
sys.meta_path.insert(0, Block())
from reconciler.cli import entry
sys.argv = ["personalize-gitops", *sys.argv[1:]]
entry()
"""


def _name(requirement: str) -> str:
    return re.split(r"[\[<>=!~;\s]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_every_dependency_is_pinned_or_named_as_left_out() -> None:
    text = REQUIREMENTS.read_text()
    pinned = {_name(line) for line in text.splitlines() if re.match(r"[A-Za-z0-9]", line)}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {_name(requirement) for requirement in project["dependencies"]}
    assert declared - pinned == LEFT_OUT
    header = "".join(line for line in text.splitlines(keepends=True) if line.startswith("#"))
    assert all(name in header for name in LEFT_OUT), "the header must say what is left out and why"


@pytest.fixture
def server() -> Iterator[str]:
    MotoBridge().reset()
    srv = EmulatorServer.create(port=0).start()
    try:
        yield srv.url
    finally:
        srv.stop()


def test_the_workflow_commands_run_without_numpy_and_scipy(server: str, tmp_path: Path) -> None:
    manifests = tmp_path / "manifests"
    (manifests / "retail").mkdir(parents=True)
    shutil.copy(ROOT / "manifests" / "stack.yaml", manifests)
    for name in ("dataset-group.yaml", "schemas.yaml", "event-tracker.yaml"):
        shutil.copy(ROOT / "manifests" / "retail" / name, manifests / "retail")
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "ci", "AWS_SECRET_ACCESS_KEY": "ci", "PYTHONPATH": str(ROOT)}
    target = ["--endpoint-url", server, "--region", "us-east-1"]

    def cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-c", BLOCKED_RUN, *map(str, args)]
        done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
        assert "Traceback" not in done.stderr, done.stderr
        return done

    assert cli("validate", manifests).returncode == 0
    assert cli("stacks", tmp_path).returncode == 0
    assert cli("iam-policy", manifests, "--role", "apply").returncode == 0
    assert cli("plan", manifests, *target, "--format", "markdown").returncode == 0
    assert cli("plan", manifests, *target, "--out", "plan.json").returncode == 0
    (tmp_path / "plan.md").write_text("plan\n")
    head = "0" * 40
    markdown = ("--markdown", "plan.md", "--head", head, "--run-url", "https://ci/run")
    comment = cli("ci", "plan-comment", "plan.json", *markdown)
    assert comment.returncode == 0, comment.stderr
    applied = cli("apply", "plan.json", "--manifests", manifests, *target, "--auto-approve")
    assert applied.returncode == 0, applied.stderr + applied.stdout
    assert cli("plan", manifests, *target, "--detailed-exitcode").returncode == 0
    assert cli("verify", manifests, *target).returncode == 0
