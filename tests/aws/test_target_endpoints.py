"""Real AWS mode: the endpoints configured outside the command line (AWS_ENDPOINT_URL, the per-service
AWS_ENDPOINT_URL_<SERVICE>, the AWS config's `services` section and `endpoint_url`) are part of the target a
plan records and its label, for every service plan and apply call, as botocore applies them. The CLI against
an in-process `emulator serve`; no real AWS."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reconciler.aws.target import _configured_endpoint, open_target
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

SERVICES = ("personalize", "s3", "ssm", "sts", "iam", "kms")  # what plan and apply call
ENDPOINT_VARIABLES = ["AWS_ENDPOINT_URL", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"] + [
    f"AWS_ENDPOINT_URL_{name.upper()}" for name in SERVICES
]


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    MotoBridge().reset()
    srv = EmulatorServer.create(port=0, time_scale=600.0).start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ["AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", *ENDPOINT_VARIABLES]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    (tmp_path / "aws-config").write_text(
        "[profile split]\nservices = split-services\n\n"
        "[services split-services]\nssm =\n  endpoint_url = http://ssm.example:1\n",
        encoding="utf-8",
    )
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "stack.yaml").write_text(STACK, encoding="utf-8")
    return tmp_path


def cli(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"AWS_ENDPOINT_URL": "http://all.example:1"},
        {"AWS_ENDPOINT_URL_S3": "http://s3.example:1/"},
        {"AWS_ENDPOINT_URL": "http://all.example:1", "AWS_ENDPOINT_URL_S3": "http://s3.example:1"},
        {"AWS_ENDPOINT_URL_PERSONALIZE": "http://p.example:1", "AWS_ENDPOINT_URL_KMS": "https://kms.example"},
        {"AWS_ENDPOINT_URL": "http://all.example:1", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"},
        {"AWS_PROFILE": "split"},
        {"AWS_PROFILE": "split", "AWS_ENDPOINT_URL_SSM": "http://env-wins.example:1"},
    ],
)
def test_configured_endpoints_are_the_ones_each_client_uses(
    settings: dict[str, str], workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`configured_endpoints` asks botocore's provider without making clients; it must agree with the
    clients botocore makes (this fails if a botocore upgrade changes the lookup)."""
    from reconciler.aws.target import TARGET_SERVICES, configured_endpoints

    assert set(SERVICES) == set(TARGET_SERVICES)
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    with open_target(local=False, endpoint_url=None, region="us-east-1") as target:
        found = configured_endpoints(target.session, TARGET_SERVICES)
        used = {name: _configured_endpoint(target.client(name).meta.endpoint_url) for name in TARGET_SERVICES}
    assert found == used


def test_a_per_service_endpoint_is_part_of_the_target(
    server: EmulatorServer, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AWS_ENDPOINT_URL_S3 sends S3 alone elsewhere (botocore honours it). Before, the plan recorded only
    Personalize's endpoint and its label none: a plan made with S3 redirected was applied without the
    redirect (and the reverse) as the same target."""
    other_s3 = server.url.replace("127.0.0.1", "localhost")
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", other_s3)
    made = cli("plan", "m", "--out", "plan.json")
    assert made.exit_code == 0, made.output
    assert f"(us-east-1, endpoint {server.url}, s3 endpoint {other_s3})" in made.output, made.output
    identity = json.loads((workdir / "plan.json").read_text(encoding="utf-8"))["target_identity"]
    assert identity["endpoint"] == server.url
    assert identity["service_endpoints"] == {"s3": other_s3}
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3")
    refused = cli("apply", "plan.json", "--manifests", "m", "--auto-approve")
    assert refused.exit_code == 1, refused.output
    assert f"it was made for s3 endpoint {other_s3}, not {server.url}" in refused.output, refused.output
    # the same redirect applies it
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", other_s3)
    applied = cli("apply", "plan.json", "--manifests", "m", "--auto-approve")
    assert applied.exit_code == 0, applied.output


def test_a_plan_without_the_redirect_is_refused_with_it(
    server: EmulatorServer, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
    made = cli("plan", "m", "--format", "json", "--out", "plan.json")
    assert made.exit_code == 0, made.output
    identity = json.loads((workdir / "plan.json").read_text(encoding="utf-8"))["target_identity"]
    assert identity["service_endpoints"] == {}
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSM", "http://127.0.0.1:9")  # the stack lock would go there
    refused = cli("apply", "plan.json", "--manifests", "m", "--auto-approve")
    assert refused.exit_code == 1, refused.output
    assert f"it was made for ssm endpoint {server.url}, not http://127.0.0.1:9" in refused.output


def test_endpoint_url_overrides_every_configured_endpoint(
    server: EmulatorServer, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--endpoint-url is every client's explicit endpoint, which botocore puts before any configured one:
    the plan records that URL alone, whatever AWS_ENDPOINT_URL_* say."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9")
    made = cli("plan", "m", "--endpoint-url", server.url, "--out", "plan.json")
    assert made.exit_code == 0, made.output
    identity = json.loads((workdir / "plan.json").read_text(encoding="utf-8"))["target_identity"]
    assert identity["endpoint"] == server.url and identity["service_endpoints"] == {}


def test_a_plan_for_another_target_takes_no_lock_there(
    server: EmulatorServer, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`apply PLANFILE` against another target is refused before it writes anything there. Before, it took
    (and released) the stack lock in that target's SSM first, and with that target's SSM unreachable it
    failed on the lock (a traceback) instead of saying the plan was made elsewhere."""
    import boto3

    assert cli("plan", "m", "--endpoint-url", server.url, "--out", "plan.json").exit_code == 0
    refused = cli(
        "apply", "plan.json", "--manifests", "m", "--endpoint-url", server.url, "--region", "eu-west-1",
        "--auto-approve",
    )  # fmt: skip
    assert refused.exit_code == 1, refused.output
    assert "it was made for region us-east-1, not eu-west-1" in refused.output
    ssm = boto3.session.Session().client(  # a new session: the current AWS config file
        "ssm",
        endpoint_url=server.url,
        region_name="eu-west-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    assert ssm.describe_parameters()["Parameters"] == []
    assert "the stack lock was not taken" in refused.output


def test_an_endpoint_from_the_aws_config_applies_the_plan_made_with_it(
    server: EmulatorServer, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A profile whose `endpoint_url` (AWS config) names the endpoint: plan records it, and apply with the
    same profile is that target. Before, apply's early check looked at AWS_ENDPOINT_URL(_PERSONALIZE) only
    and refused the plan: "this plan was made with --endpoint-url ..., not for real AWS"."""
    config = workdir / "aws-config"
    config.write_text(
        config.read_text(encoding="utf-8")
        + f"\n[profile emu]\nendpoint_url = {server.url}\naws_access_key_id = x\naws_secret_access_key = x\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("AWS_PROFILE", "emu")
    made = cli("plan", "m", "--out", "plan.json")
    assert made.exit_code == 0, made.output
    identity = json.loads((workdir / "plan.json").read_text(encoding="utf-8"))["target_identity"]
    assert identity["endpoint"] == server.url
    applied = cli("apply", "plan.json", "--manifests", "m", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    # and with the configured endpoints ignored, it is not that target
    monkeypatch.setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
    again = cli(
        "apply", "plan.json", "--manifests", "m", "--profile", "emu", "--auto-approve"
    )  # the flag too
    assert again.exit_code == 1 and "this plan was made with --endpoint-url" in again.output, again.output
