"""`emulator serve` is its own account: it reads no AWS profile of the user, as `--local` does not. A new
process, since moto reads AWS_PROFILE when its modules load."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3

import reconciler


def test_serve_with_state_ignores_aws_profile(tmp_path: Path) -> None:
    """Before, with AWS_PROFILE naming a profile the AWS config lacks, every change answered InternalFailure
    (moto's own boto3 session and the state save's clients: ProfileNotFound) and nothing was saved."""
    state = tmp_path / "state.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["PYTHONPATH"] = str(Path(reconciler.__file__).resolve().parents[1])  # the code under test
    env.update(AWS_PROFILE="nosuch", AWS_CONFIG_FILE=str(tmp_path / "no-config"))
    server = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "emulator", "serve", "--port", "0", "--state", str(state)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert server.stdout is not None
        url = None
        deadline = time.monotonic() + 120
        while url is None and time.monotonic() < deadline:
            line = server.stdout.readline()
            found = re.search(r"listening on (http://\S+)", line)
            url = found.group(1) if found else None
            assert line or server.poll() is None, "emulator serve exited"
        assert url is not None
        ssm = boto3.session.Session(
            aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1"
        ).client("ssm", endpoint_url=url)
        ssm.put_parameter(Name="/app/color", Value="blue", Type="String")
    finally:
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=60)
    assert "/app/color" in json.dumps(json.loads(state.read_text(encoding="utf-8")))
