"""The target options mean the same in every command that opens a target (plan, apply, verify, import,
ci lock): each takes --local, --endpoint-url, --region and --profile; a combination that cannot mean anything
is refused with a message naming the flags, never ignored. The CLI against an in-process `emulator serve`
(real AWS mode reaches it through AWS_ENDPOINT_URL) and the embedded emulator; no real AWS."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from typer.testing import CliRunner

import reconciler
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

#: every command that opens a target, as run here
COMMANDS = {
    "plan": ["plan", "m"],
    "apply": ["apply", "m", "--auto-approve"],
    "verify": ["verify", "m"],
    "import": ["import", "--all", "--out", "imported"],
    "ci lock": ["ci", "lock", "m"],
}


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    MotoBridge().reset()
    srv = EmulatorServer.create(port=0, time_scale=600.0).start()
    try:
        yield srv
    finally:
        srv.stop()


def cli(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A manifests dir `m`, no AWS setting from the host; an AWS config file with a profile `dev` that
    holds the only credentials."""
    monkeypatch.chdir(tmp_path)
    for name in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_PERSONALIZE",
        "AWS_ENDPOINT_URL_S3",
        "AWS_ENDPOINT_URL_SSM",
        "AWS_ENDPOINT_URL_STS",
        "AWS_ENDPOINT_URL_IAM",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    config = tmp_path / "aws-config"
    config.write_text(
        "[profile dev]\naws_access_key_id = devkey\naws_secret_access_key = devsecret\nregion = us-east-1\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "stack.yaml").write_text(STACK, encoding="utf-8")
    return tmp_path


def make_group(server: EmulatorServer) -> None:
    """A dataset group for `import --all` to find."""
    boto3.session.Session().client(  # a new session: the current AWS config file
        "personalize",
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    ).create_dataset_group(name="tiny-shop")


#: and `emulator prepare` (an emulated account only: --local or an `emulator serve` --endpoint-url)
WITH_PREPARE = {**COMMANDS, "emulator prepare": ["emulator", "prepare", "m"]}


@pytest.mark.parametrize("command", sorted(WITH_PREPARE))
def test_every_target_command_takes_the_four_target_options(command: str) -> None:
    shown = cli(*command.split(), "--help").output
    for option in ("--local", "--endpoint-url", "--region", "--profile"):
        assert option in shown, f"{command} has no {option}"


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_profile_is_the_profile_in_every_command(
    command: str, server: EmulatorServer, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Real AWS mode (AWS_ENDPOINT_URL points every client at the emulator): the credentials are the
    profile's. Before, only import took --profile; plan, apply, verify and ci lock said "No such option"."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")  # import reads no stack
    if command == "import":
        make_group(server)
    without = cli(*COMMANDS[command])
    assert without.exit_code == 1 and "no AWS credentials found" in without.output, without.output
    result = cli(*COMMANDS[command], "--profile", "dev")
    assert result.exit_code == 0, result.output
    unknown = cli(*COMMANDS[command], "--profile", "nosuch")
    assert unknown.exit_code == 1, unknown.output
    assert "cannot use AWS profile 'nosuch'" in unknown.output, unknown.output


def groups(server: EmulatorServer, region: str) -> list[str]:
    client = boto3.session.Session().client(  # a new session: the current AWS config file
        "personalize",
        endpoint_url=server.url,
        region_name=region,
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    return [g["name"] for g in client.list_dataset_groups()["datasetGroups"]]


@pytest.mark.parametrize("mode", ["AWS_ENDPOINT_URL", "--endpoint-url"])
def test_aws_region_is_the_region_of_every_target(
    mode: str, server: EmulatorServer, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AWS_REGION (documented next to AWS_DEFAULT_REGION) is read by every target, not only --local. botocore
    reads only AWS_DEFAULT_REGION: before, real AWS said "no AWS region configured" (its hint: set
    AWS_REGION) and --endpoint-url planned, applied and imported in us-east-1."""
    (workdir / "m" / "stack.yaml").write_text(STACK.replace("  region: us-east-1\n", ""), encoding="utf-8")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_PROFILE", "dev")
    target: list[str] = []
    if mode == "AWS_ENDPOINT_URL":
        monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
    else:
        target = ["--endpoint-url", server.url]
    made = cli("plan", "m", *target)
    assert made.exit_code == 0, made.output
    assert "(eu-west-1" in made.output, made.output
    applied = cli("apply", "m", "--auto-approve", *target)
    assert applied.exit_code == 0, applied.output
    assert groups(server, "eu-west-1") == ["tiny-shop"] and groups(server, "us-east-1") == []
    imported = cli("import", "--all", "--out", "imported", *target)
    assert imported.exit_code == 0, imported.output
    assert "region: eu-west-1" in (workdir / "imported" / "stack.yaml").read_text(encoding="utf-8")


def test_plan_names_the_profile_and_its_hint_repeats_it(
    server: EmulatorServer, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
    made = cli("plan", "m", "--profile", "dev", "--out", "plan.json")
    assert made.exit_code == 0, made.output
    assert "profile dev" in made.output  # the label
    assert "apply plan.json --manifests m --profile dev`" in made.output, made.output
    applied = cli("apply", "plan.json", "--manifests", "m", "--profile", "dev", "--auto-approve")
    assert applied.exit_code == 0, applied.output


@pytest.mark.parametrize("command", sorted(WITH_PREPARE))
def test_local_with_profile_is_refused(command: str, workdir: Path) -> None:
    """--local is the emulated account; no AWS profile reaches it. Before, `import --local --profile X`
    ignored the profile without a word (the other commands had no --profile)."""
    result = cli(*WITH_PREPARE[command], "--local", "--profile", "dev")
    assert result.exit_code == 1, result.output
    assert "--local and --profile dev both given" in result.output, result.output
    assert "drop --profile to use the emulator, or drop --local" in result.output
    assert not (workdir / ".personalize-gitops").exists()  # nothing was opened
    assert not (workdir / "imported").exists()


@pytest.mark.parametrize("command", ["plan", "ci lock", "verify", "apply"])
def test_local_ignores_aws_profile_and_config(command: str, workdir: Path) -> None:
    """AWS_PROFILE (and the AWS config file) configure real AWS; --local never reads them. Before, an
    AWS_PROFILE naming a profile the config file lacks stopped --local ("the AWS profile does not exist", or
    InternalFailure from moto's own boto3 sessions). A new process: moto reads it when its modules load."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["PYTHONPATH"] = str(Path(reconciler.__file__).resolve().parents[1])  # the code under test
    env.update(AWS_PROFILE="nosuch", AWS_CONFIG_FILE=str(workdir / "aws-config"))
    result = subprocess.run(
        [sys.executable, "-m", "reconciler", *COMMANDS[command], "--local"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_time_scale_without_local_is_refused(server: EmulatorServer, workdir: Path) -> None:
    """apply's hidden --time-scale is the embedded emulator's clock; with --endpoint-url it was ignored."""
    result = cli("apply", "m", "--endpoint-url", server.url, "--time-scale", "5", "--auto-approve")
    assert result.exit_code == 1, result.output
    assert "--time-scale without --local" in result.output, result.output
    client = boto3.session.Session().client(  # a new session: the current AWS config file
        "personalize",
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    assert client.list_dataset_groups()["datasetGroups"] == []


def test_the_commands_hints_repeat_the_profile(
    server: EmulatorServer, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A command a hint prints reaches the same target: `import`'s "Next: plan" and apply's no-terminal hint
    repeat --profile (before, import's dropped it, and the plan it suggested asked for other credentials)."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    make_group(server)
    imported = cli("import", "--all", "--out", "imported", "--profile", "dev")
    assert imported.exit_code == 0, imported.output
    assert "Next: `personalize-gitops plan imported --profile dev`" in imported.output, imported.output
    unattended = cli("apply", "m", "--profile", "dev")  # no terminal, no --auto-approve
    assert unattended.exit_code == 1, unattended.output
    assert "`personalize-gitops plan m --profile dev`" in unattended.output, unattended.output
