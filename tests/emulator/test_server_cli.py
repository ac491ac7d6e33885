"""`personalize-gitops emulator serve` as a user runs it: a real process, a real port, Ctrl-C to stop."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3
import pytest
from typer.testing import CliRunner

from reconciler.cli import app


def _read_url(process: subprocess.Popen[str], deadline: float) -> tuple[str, list[str]]:
    assert process.stdout is not None
    lines: list[str] = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
        if match:
            return match.group(1), lines
    raise AssertionError("the server did not announce its URL:\n" + "".join(lines))


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_serve_process_answers_then_stops_cleanly_and_saves(
    tmp_path: Path, stop_signal: signal.Signals
) -> None:
    state = tmp_path / "account.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") or k == "AWS_CA_BUNDLE"}
    env["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "false"  # serve() loads them by default: 2 s nobody needs here
    process = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "emulator", "serve", "--port", "0", "--state", str(state)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        url, _ = _read_url(process, time.monotonic() + 60)
        session = boto3.session.Session(
            aws_access_key_id="emulator", aws_secret_access_key="emulator", region_name="eu-west-1"
        )
        personalize = session.client("personalize", endpoint_url=url)
        personalize.create_dataset_group(name="from-the-cli")
        with urllib.request.urlopen(url + "/_emulator/status", timeout=10) as response:
            doc = json.loads(response.read())
        assert doc["timeScale"] == 600.0 and doc["stateFile"] == str(state)
        process.send_signal(stop_signal)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert "Traceback" not in err
    assert f"State saved to {state}" in out
    saved = json.loads(state.read_text())
    groups = [
        record["name"]
        for region in saved["personalize"]["regions"]
        for record in region["state"]["resources"]["dataset_group"].values()
    ]
    assert groups == ["from-the-cli"]


@pytest.fixture
def in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """`serve()` sets this process-wide (for its own process); keep it out of the test process."""
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "false")


def test_serve_refuses_a_public_address_without_a_traceback(in_process: None) -> None:
    result = CliRunner().invoke(app, ["emulator", "serve", "--host", "0.0.0.0", "--port", "0"])
    assert result.exit_code == 1
    assert "refusing to listen on 0.0.0.0" in result.output
    assert "Traceback" not in result.output


def test_serve_reports_a_broken_state_file(in_process: None, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    state.write_text("[]")
    result = CliRunner().invoke(app, ["emulator", "serve", "--port", "0", "--state", str(state)])
    assert result.exit_code == 1
    assert "not a personalize-gitops emulator state file" in result.output
    assert "hint:" in result.output


def test_serve_reports_a_port_in_use(in_process: None) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(app, ["emulator", "serve", "--port", str(port)])
    assert result.exit_code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.output
    assert "choose another --port" in result.output and "Traceback" not in result.output
