"""Quickstart in a fresh directory against the emulator (`plan manifests/ --local`, or `--endpoint-url` of
`emulator serve`): preflight finds no bucket and no import role, and the hint names the command this project
offers to create them in the emulated account, `personalize-gitops emulator prepare`, which then makes the
plan clean. Before, the hint said only "create the bucket (and give Personalize read access)", with no way to
do so in the emulated account but the demo's internals."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reconciler.cli import app
from reconciler.emulator.server import EmulatorServer, MotoBridge

REPO = Path(__file__).resolve().parents[2]
BUCKET = "123456789012-us-east-1-personalize-immersionday-retail"
ROLE = "arn:aws:iam::123456789012:role/PersonalizeS3"


def cli(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture
def fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A new user's directory: the sample manifests and their data, no account yet."""
    shutil.copytree(REPO / "manifests", tmp_path / "manifests")
    shutil.copytree(REPO / "data", tmp_path / "data")
    monkeypatch.chdir(tmp_path)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    return tmp_path


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    MotoBridge().reset()
    srv = EmulatorServer.create(port=0, time_scale=600.0).start()
    try:
        yield srv
    finally:
        srv.stop()


def test_local_plan_names_the_command_that_creates_the_bucket_and_role(fresh: Path) -> None:
    planned = cli("plan", "manifests", "--local", "--no-color")
    text = flat(planned.output)
    assert planned.exit_code == 1, planned.output
    assert f"bucket '{BUCKET}' does not exist (NoSuchBucket)" in text
    prepare = "`personalize-gitops emulator prepare manifests --local`"
    assert (
        f"hint: create it in the emulated account with {prepare} (the bucket with its bucket policy and "
        "the import role of every dataImport), or fix dataLocation" in text
    ), text
    assert f"role {ROLE} does not exist" in text
    assert f"hint: create it in the emulated account with {prepare}, or fix roleArn" in text, text
    applied = cli("apply", "manifests", "--local", "--auto-approve", "--no-wait")
    assert applied.exit_code == 1 and prepare in flat(applied.output), applied.output

    made = cli("emulator", "prepare", "manifests", "--local")
    assert made.exit_code == 0, made.output
    assert f"bucket  s3://{BUCKET} (created)" in made.output
    assert f"policy  s3://{BUCKET} readable by personalize.amazonaws.com" in made.output
    assert f"role    {ROLE} (created" in made.output
    again = cli("plan", "manifests", "--local", "--no-color")
    assert again.exit_code == 0, again.output
    assert "Plan: 15 to create" in again.output and "does not exist" not in again.output
    twice = cli("emulator", "prepare", "manifests", "--local")  # idempotent: what exists is kept
    assert twice.exit_code == 0 and f"bucket  s3://{BUCKET} (already there)" in twice.output, twice.output
    assert f"role    {ROLE} (already there" in twice.output


def test_endpoint_plan_names_the_command_for_emulator_serve(fresh: Path, server: EmulatorServer) -> None:
    planned = cli("plan", "manifests", "--endpoint-url", server.url, "--no-color")
    assert planned.exit_code == 1, planned.output
    prepare = f"`personalize-gitops emulator prepare manifests --endpoint-url {server.url}`"
    assert f"hint: create it in the emulated account with {prepare}" in flat(planned.output), planned.output
    made = cli("emulator", "prepare", "manifests", "--endpoint-url", server.url)
    assert made.exit_code == 0, made.output
    again = cli("plan", "manifests", "--endpoint-url", server.url, "--no-color")
    assert again.exit_code == 0 and "Plan: 15 to create" in again.output, again.output


def test_prepare_never_touches_real_aws(fresh: Path) -> None:
    """Real AWS, or an endpoint that is not `emulator serve`, is refused before anything is opened; the real
    account keeps the generic hint (its bucket and role belong to the user's infrastructure code)."""
    bare = cli("emulator", "prepare", "manifests")
    assert bare.exit_code == 1, bare.output
    assert "pass --local" in flat(bare.output) and "--endpoint-url" in bare.output
    elsewhere = cli("emulator", "prepare", "manifests", "--endpoint-url", "http://127.0.0.1:9")
    assert elsewhere.exit_code == 1, elsewhere.output
    assert "http://127.0.0.1:9 is not a `personalize-gitops emulator serve` endpoint" in flat(
        elsewhere.output
    )
    assert not (fresh / ".personalize-gitops").exists()
