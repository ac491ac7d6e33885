"""The `personalize-gitops` process does not look for pydantic plugins (issue 15: start-up): its models are
internal, and the search read every installed distribution's entry points (35-50 ms a command)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

COUNT_SEARCHES = """
import importlib.metadata, sys
searches = []
real = importlib.metadata.entry_points
def entry_points(**params):
    if params.get("group") == "pydantic":
        searches.append(params)
    return real(**params)
importlib.metadata.entry_points = entry_points
import atexit
atexit.register(lambda: print("pydantic plugin searches:", len(searches), file=sys.stderr))
from reconciler.cli import entry
sys.argv = ["personalize-gitops", *sys.argv[1:]]
entry()
"""


def _validate(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", COUNT_SEARCHES, "validate", "manifests"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_a_command_validates_its_manifests_without_searching_for_pydantic_plugins() -> None:
    import os

    env = {k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"}
    done = _validate(env)
    assert done.returncode == 0, done.stderr
    assert "pydantic plugin searches: 0" in done.stderr


def test_a_user_setting_for_pydantic_plugins_is_kept() -> None:
    import os

    env = {**os.environ, "PYDANTIC_DISABLE_PLUGINS": "some-plugin"}  # disables one plugin only: search
    done = _validate(env)
    assert done.returncode == 0, done.stderr
    assert "pydantic plugin searches: 1" in done.stderr
