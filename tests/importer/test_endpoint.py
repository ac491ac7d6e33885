"""`import --endpoint-url` against `emulator serve` (one HTTP endpoint for Personalize and moto): the
notebook-built workshop over HTTP, then import, plan, apply, plan as commands."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from typer.testing import CliRunner

from reconciler.cli import app
from reconciler.emulator.server import EmulatorServer, MotoBridge

from .workshop import GROUP, build_workshop

REGION = "eu-west-1"


class ControlClock:
    """The builder's clock: `advance` moves the server's virtual time through its control endpoint."""

    def __init__(self, url: str) -> None:
        self.url = url

    def advance(self, seconds: float) -> None:
        body = json.dumps({"action": "advance", "seconds": seconds}).encode()
        request = urllib.request.Request(
            self.url + "/_emulator/control",
            data=body,
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert json.loads(response.read())["ok"] is True


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.chdir(tmp_path)
    for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    MotoBridge().reset()
    srv = EmulatorServer.create(port=0, time_scale=1.0).start()
    try:
        yield srv.url
    finally:
        srv.stop()


def test_import_over_http_endpoint(server: str) -> None:
    session = boto3.session.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name=REGION)
    personalize = session.client("personalize", endpoint_url=server)
    s3 = session.client("s3", endpoint_url=server)
    account = session.client("sts", endpoint_url=server).get_caller_identity()["Account"]
    build_workshop(personalize, s3, ControlClock(server), account=account, region=REGION)

    runner = CliRunner()
    common = ["--endpoint-url", server, "--region", REGION]
    result = runner.invoke(app, ["import", "-g", GROUP, "--out", "m", *common])
    assert result.exit_code == 0, result.output
    assert f"endpoint {server}" in result.output
    stack = (Path("m") / "stack.yaml").read_text()
    assert f"region: {REGION}" in stack and f"accountId: '{account}'" in stack

    result = runner.invoke(app, ["plan", "m", "--format", "json", "--detailed-exitcode", *common])
    assert result.exit_code == 2, result.output
    summary = {k: v for k, v in json.loads(result.output)["summary"].items() if v}
    assert summary == {"adopt": 12, "no-op": 3}
    result = runner.invoke(app, ["apply", "m", "--auto-approve", *common])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["plan", "m", "--detailed-exitcode", *common])
    assert result.exit_code == 0, result.output
