"""A saved plan runs only against the target it was read from: `apply PLANFILE` with another region or
another endpoint (a plan made against the emulator, applied to real AWS) is refused as stale, even when that
target holds nothing of the stack (a plan of creates has no live fingerprint to differ). The CLI against an
in-process `emulator serve`, through real boto3 clients."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from typer.testing import CliRunner

from reconciler.cli import app
from reconciler.emulator.server import EmulatorServer, MotoBridge

STACK = """apiVersion: personalize-gitops/v1alpha1
kind: Stack
metadata: {name: tiny}
spec:
  region: us-east-1
  accountId: "123456789012"
  namePrefix: tiny-
---
apiVersion: personalize-gitops/v1alpha1
kind: DatasetGroup
metadata: {name: shop}
spec: {}
"""


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    MotoBridge().reset()
    srv = EmulatorServer.create(port=0, time_scale=600.0).start()
    try:
        yield srv
    finally:
        srv.stop()


def groups(server: EmulatorServer, region: str) -> list[str]:
    client = boto3.client(
        "personalize",
        endpoint_url=server.url,
        region_name=region,
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    return [g["name"] for g in client.list_dataset_groups()["datasetGroups"]]


def cli(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def test_a_saved_plan_is_refused_against_another_region_or_endpoint(
    server: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "stack.yaml").write_text(STACK, encoding="utf-8")
    made = cli("plan", "m", "--endpoint-url", server.url, "--out", "plan.json")
    assert made.exit_code == 0, made.output
    elsewhere = cli(
        "apply",
        "plan.json",
        "--manifests",
        "m",
        "--endpoint-url",
        server.url,
        "--region",
        "eu-west-1",
        "--auto-approve",
    )
    assert elsewhere.exit_code == 1, elsewhere.output
    assert "Saved plan is stale" in elsewhere.output and "(us-east-1" in elsewhere.output
    assert groups(server, "eu-west-1") == []  # nothing was created where the plan was not read
    local = cli("apply", "plan.json", "--manifests", "m", "--local", "--auto-approve")
    assert local.exit_code == 1 and "Saved plan is stale" in local.output, local.output
    assert (
        cli(
            "apply", "plan.json", "--manifests", "m", "--endpoint-url", server.url, "--auto-approve"
        ).exit_code
        == 0
    )
    assert groups(server, "us-east-1") == ["tiny-shop"]


@pytest.mark.parametrize(
    ("planned", "applied", "same"),
    [
        # a read-only profile plans, the apply profile applies: the same account and region
        ("AWS account 123456789012 (us-east-1, profile plan)", "AWS account 123456789012 (us-east-1)", True),
        (
            "AWS account 123456789012 (us-east-1, profile plan)",
            "AWS account 123456789012 (us-east-1, profile apply)",
            True,
        ),
        ("AWS account 123456789012 (us-east-1)", "AWS account 123456789012 (eu-west-1)", False),
        ("AWS account 123456789012 (us-east-1)", "AWS account 210987654321 (us-east-1)", False),
        (
            "emulator endpoint http://h:1 (us-east-1, time x600)",
            "emulator endpoint http://h:1 (us-east-1, time x1)",
            True,
        ),
    ],
)
def test_the_target_is_the_account_and_region_not_the_profile(planned: str, applied: str, same: bool) -> None:
    from reconciler.apply.run import target_identity

    assert (target_identity(planned) == target_identity(applied)) is same
