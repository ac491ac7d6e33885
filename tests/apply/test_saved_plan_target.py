"""A saved plan runs only against the target it was read from: `apply PLANFILE` with another region or
another endpoint (a plan made against the emulator, applied to real AWS) is refused as stale, even when that
target holds nothing of the stack (a plan of creates has no live fingerprint to differ). The CLI against an
in-process `emulator serve`, through real boto3 clients."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from typer.testing import CliRunner

from reconciler.cli import app
from reconciler.emulator.server import EmulatorServer, MotoBridge
from reconciler.plan import planfile

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
    assert "Saved plan is stale" in elsewhere.output
    # the structured field that differs is named, not two labels to compare by eye
    assert "it was made for region us-east-1, not eu-west-1" in elsewhere.output, elsewhere.output
    assert groups(server, "eu-west-1") == []  # nothing was created where the plan was not read
    local = cli("apply", "plan.json", "--manifests", "m", "--local", "--auto-approve")
    assert local.exit_code == 1, local.output  # refused before the emulated account is opened
    assert f"this plan was made with --endpoint-url {server.url} (region us-east-1), not with --local" in (
        " ".join(local.output.split())
    ), local.output
    assert (
        cli(
            "apply", "plan.json", "--manifests", "m", "--endpoint-url", server.url, "--auto-approve"
        ).exit_code
        == 0
    )
    assert groups(server, "us-east-1") == ["tiny-shop"]


def environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in (
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_PERSONALIZE",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    (tmp_path / "m").mkdir(exist_ok=True)
    (tmp_path / "m" / "stack.yaml").write_text(STACK, encoding="utf-8")


def local_groups(region: str) -> list[str]:
    from reconciler.aws.target import open_target

    with open_target(local=True, endpoint_url=None, region=region) as target:
        return [g["name"] for g in target.personalize.list_dataset_groups()["datasetGroups"]]


def test_local_with_region_is_that_region_for_plan_and_apply(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--local --region R` is the emulated account in region R: the label says so, the saved plan records it,
    and `apply PLANFILE --local` in the stack's region (us-east-1) is refused. Before, the --local label named
    only the state file, so that apply created the stack in us-east-1 from a plan reviewed for us-west-2."""
    environment(tmp_path, monkeypatch)
    made = cli("plan", "m", "--local", "--region", "us-west-2", "--out", "plan.json")
    assert made.exit_code == 0, made.output
    assert "apply plan.json --manifests m --local --region us-west-2" in made.output  # the hint repeats it
    elsewhere = cli("apply", "plan.json", "--manifests", "m", "--local", "--auto-approve")
    assert elsewhere.exit_code == 1, elsewhere.output
    assert "it was made for region us-west-2, not us-east-1" in elsewhere.output, elsewhere.output
    assert local_groups("us-east-1") == []
    there = cli(
        "apply", "plan.json", "--manifests", "m", "--local", "--region", "us-west-2", "--auto-approve"
    )
    assert there.exit_code == 0, there.output
    assert local_groups("us-west-2") == ["tiny-shop"] and local_groups("us-east-1") == []
    # and what was read says so
    assert "local emulator (us-west-2, state: .personalize-gitops/emulator-state.json)" in made.output


def test_a_local_plan_names_its_state_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two --local state files are two accounts: a plan made with one is refused with the other."""
    environment(tmp_path, monkeypatch)
    assert cli("plan", "m", "--local", "--out", "plan.json").exit_code == 0
    other = tmp_path / "other"
    other.mkdir()
    monkeypatch.chdir(other)
    refused = cli("apply", "../plan.json", "--manifests", "../m", "--local", "--auto-approve")
    assert refused.exit_code == 1, refused.output
    planned = tmp_path / ".personalize-gitops" / "emulator-state.json"
    now = other / ".personalize-gitops" / "emulator-state.json"
    assert f"the --local state file {planned.resolve()}, not {now.resolve()}" in refused.output


def edit_plan(path: Path, **changes: object) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    for key, value in changes.items():
        if value is DROP:
            data.pop(key, None)
        else:
            data[key] = value
    path.write_text(json.dumps(data), encoding="utf-8")


DROP = object()


def test_the_label_is_not_compared(
    server: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The display label may change wording; apply compares the structured target only. Before, a plan
    whose label was empty skipped the target check (and ran in another region), and a label worded
    differently refused the very target the plan was made for."""
    environment(tmp_path, monkeypatch)
    assert cli("plan", "m", "--endpoint-url", server.url, "--out", "plan.json").exit_code == 0
    edit_plan(tmp_path / "plan.json", target="")
    elsewhere = cli(
        "apply", "plan.json", "--manifests", "m", "--endpoint-url", server.url, "--region", "eu-west-1",
        "--auto-approve",
    )  # fmt: skip
    assert elsewhere.exit_code == 1, elsewhere.output
    assert "it was made for region us-east-1, not eu-west-1" in elsewhere.output
    assert groups(server, "eu-west-1") == []
    edit_plan(tmp_path / "plan.json", target="Personalize at the emulator, us-east-1 (reworded)")
    same = cli("apply", "plan.json", "--manifests", "m", "--endpoint-url", server.url, "--auto-approve")
    assert same.exit_code == 0, same.output
    assert groups(server, "us-east-1") == ["tiny-shop"]


def test_a_plan_file_without_target_identity_is_read_but_not_applied(
    server: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A format 3.0 plan file (no `target_identity`) is still a plan file of this major version (rendering,
    digests, `ci compare` read it), but apply cannot tell which target it was made for and refuses it."""
    environment(tmp_path, monkeypatch)
    assert cli("plan", "m", "--endpoint-url", server.url, "--out", "plan.json").exit_code == 0
    edit_plan(tmp_path / "plan.json", format_version="3.0", target_identity=DROP)
    refused = cli("apply", "plan.json", "--manifests", "m", "--endpoint-url", server.url, "--auto-approve")
    assert refused.exit_code == 1, refused.output
    assert "it does not record which account, region and endpoint it was made for" in refused.output
    assert (
        f"run `personalize-gitops plan m --endpoint-url {server.url} --out plan.json` again" in refused.output
    )
    assert groups(server, "us-east-1") == []
    old = planfile.load(str(tmp_path / "plan.json"))
    assert old.target_identity is None and old.target.startswith("emulator endpoint")


def test_local_ignores_endpoints_configured_in_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--local` is the emulated account whatever AWS_ENDPOINT_URL says: before, its STS, S3 and SSM calls
    went to that endpoint and plan failed with "cannot identify the local emulator (EndpointConnectionError
    ...)"; the plan records no endpoint, and apply with the same setting applies it."""
    environment(tmp_path, monkeypatch)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    made = cli("plan", "m", "--local", "--out", "plan.json")
    assert made.exit_code == 0, made.output
    assert json.loads((tmp_path / "plan.json").read_text())["target_identity"]["endpoint"] is None
    applied = cli("apply", "plan.json", "--manifests", "m", "--local", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert local_groups("us-east-1") == ["tiny-shop"]


def test_a_stale_plan_says_which_plan_command_to_run_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hint is a command to copy: the same manifests, --stack, the saved plan's options and this apply's
    target, writing the same file (it said `personalize-gitops plan --out PLANFILE`, which after --local
    planned manifests/ against AWS)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "stack.yaml").write_text(STACK, encoding="utf-8")
    made = cli("plan", "m", "--local", "--no-prune", "--out", "p.json")
    assert made.exit_code == 0, made.output
    apply = ("apply", "p.json", "--manifests", "m", "--local", "--auto-approve")
    assert cli(*apply).exit_code == 0
    again = cli(*apply)
    assert again.exit_code == 1 and "Saved plan is stale" in again.output, again.output
    hint = "run `personalize-gitops plan m --no-prune --local --out p.json` again and apply the new plan"
    assert hint in " ".join(again.output.split()), again.output


def no_real_aws(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, object]]:
    """Every target apply opens, recorded; opening one that is neither --local nor an endpoint fails the test
    (it would have asked real AWS for credentials)."""
    import reconciler.aws.target as target_module

    opened: list[dict[str, object]] = []
    real_open = target_module.open_target

    def open_target(**kwargs: object):
        opened.append(kwargs)
        assert kwargs.get("local") or kwargs.get("endpoint_url"), f"real AWS opened: {kwargs}"
        return real_open(**kwargs)

    monkeypatch.setattr(target_module, "open_target", open_target)
    return opened


def test_a_plan_made_for_the_emulator_is_never_applied_to_real_aws(
    server: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`apply plan.json` without the target options the plan was made with: before, it opened real AWS and
    failed on missing credentials (or, with credentials, was refused only after reading that account). Now
    the saved target_identity is compared before any target is opened; the hint is the command to run."""
    environment(tmp_path, monkeypatch)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    assert cli("plan", "m", "--local", "--region", "us-west-2", "--out", "local.json").exit_code == 0
    opened = no_real_aws(monkeypatch)
    state = (tmp_path / ".personalize-gitops" / "emulator-state.json").resolve()

    refused = cli("apply", "local.json", "--manifests", "m", "--auto-approve")
    text = " ".join(refused.output.split())
    assert refused.exit_code == 1, refused.output
    assert f"this plan was made with --local (state {state}, region us-west-2)" in text, text
    assert (
        "rerun with --local: `personalize-gitops apply local.json --manifests m --local --region us-west-2"
        in text
    )
    assert "credentials" not in text.lower() and opened == []

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    at_endpoint = cli(
        "apply", "local.json", "--manifests", "m", "--endpoint-url", server.url, "--auto-approve"
    )
    text = " ".join(at_endpoint.output.split())
    assert at_endpoint.exit_code == 1 and "this plan was made with --local" in text, text
    assert opened == [] and groups(server, "us-west-2") == []

    assert cli("plan", "m", "--endpoint-url", server.url, "--out", "served.json").exit_code == 0
    opened.clear()
    for args in ((), ("--local",), ("--endpoint-url", "http://127.0.0.1:9")):
        other = cli("apply", "served.json", "--manifests", "m", *args, "--auto-approve")
        text = " ".join(other.output.split())
        assert other.exit_code == 1, other.output
        assert f"this plan was made with --endpoint-url {server.url} (region us-east-1)" in text, text
        assert (
            f"rerun with --endpoint-url {server.url}: `personalize-gitops apply served.json --manifests m "
            f"--endpoint-url {server.url}" in text
        ), text
    assert opened == [] and groups(server, "us-east-1") == [] and local_groups("us-east-1") == []

    right = cli("apply", "served.json", "--manifests", "m", "--endpoint-url", server.url, "--auto-approve")
    assert right.exit_code == 0, right.output
    assert groups(server, "us-east-1") == ["tiny-shop"]


def test_a_plan_made_for_real_aws_is_not_applied_to_the_emulator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reverse: a plan whose target_identity names AWS's own endpoints, applied with --local, is refused
    before the emulated account is opened, naming the account and region it was made for."""
    environment(tmp_path, monkeypatch)
    assert cli("plan", "m", "--local", "--out", "plan.json").exit_code == 0
    identity = {
        "partition": "aws", "account": "123456789012", "region": "eu-west-1", "endpoint": None,
        "local_state": None,
    }  # fmt: skip
    edit_plan(tmp_path / "plan.json", target_identity=identity)
    opened = no_real_aws(monkeypatch)
    refused = cli("apply", "plan.json", "--manifests", "m", "--local", "--auto-approve")
    text = " ".join(refused.output.split())
    assert refused.exit_code == 1, refused.output
    assert "this plan was made for AWS account 123456789012 (eu-west-1), not with --local" in text, text
    assert (
        "rerun without --local: `personalize-gitops apply plan.json --manifests m --region eu-west-1" in text
    )
    assert opened == []
