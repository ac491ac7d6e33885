"""Injected faults and latency through a real boto3 client, the wire layer and the hook."""

from __future__ import annotations

import json
import threading
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError
from conftest import REGION, Env

from reconciler.emulator import (
    SENTINEL_ENDPOINT,
    DurationProfile,
    EmulatorError,
    InjectedConnectionReset,
    PersonalizeEmulator,
    VirtualClock,
    attach,
    emulated_client,
    wire_call,
)


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """botocore sleeps between retries; record the delays instead of sleeping real time."""
    delays: list[float] = []
    monkeypatch.setattr("botocore.endpoint.time.sleep", delays.append)
    return delays


def client(env: Env, mode: str = "standard", attempts: int = 3) -> Any:
    return emulated_client(
        env.emulator, REGION, config=Config(retries={"mode": mode, "max_attempts": attempts})
    )


@pytest.mark.parametrize(
    "code", ["ThrottlingException", "InternalFailure", "ServiceUnavailable", "ConnectionReset"]
)
def test_transient_faults_are_retried_by_botocore(env: Env, no_backoff: list[float], code: str) -> None:
    env.emulator.control.inject_fault("CreateDatasetGroup", code, count=2)
    arn = client(env).create_dataset_group(name="g")["datasetGroupArn"]
    assert arn.endswith("dataset-group/g")
    assert env.emulator.call_count(prefix="CreateDatasetGroup") == 3
    assert len(no_backoff) == 2


def test_faults_beyond_the_retry_budget_surface(env: Env, no_backoff: list[float]) -> None:
    env.emulator.control.inject_fault("*", "ServiceUnavailable")
    with pytest.raises(ClientError) as info:
        client(env, attempts=2).list_dataset_groups()
    assert info.value.response["Error"]["Code"] == "ServiceUnavailable"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    env.emulator.control.clear_faults()
    env.emulator.control.inject_fault("ListDatasetGroups", "ConnectionReset", count=5)
    with pytest.raises(ConnectionClosedError):
        client(env, attempts=2).list_dataset_groups()


def test_limit_exceeded_is_retried_only_in_standard_mode(env: Env, no_backoff: list[float]) -> None:
    env.emulator.control.inject_fault("DescribeRecipe", "LimitExceededException", count=1)
    arn = "arn:aws:personalize:::recipe/aws-sims"
    assert client(env, "standard").describe_recipe(recipeArn=arn)["recipe"]["name"] == "aws-sims"
    env.emulator.control.inject_fault("DescribeRecipe", "LimitExceededException", count=1)
    with pytest.raises(ClientError) as info:
        client(env, "legacy").describe_recipe(recipeArn=arn)
    assert info.value.response["Error"]["Code"] == "LimitExceededException"


def _outcomes(seed: int) -> list[bool]:
    emu = PersonalizeEmulator(clock=VirtualClock(), profile=DurationProfile.instant())
    emu.control.inject_fault("ListSchemas", "ThrottlingException", rate=0.3, seed=seed)
    out = []
    for _ in range(40):
        try:
            emu.handle("ListSchemas", {}, REGION, emu.account)
            out.append(True)
        except EmulatorError as exc:
            assert exc.code == "ThrottlingException"
            out.append(False)
    return out


def test_rate_faults_are_seeded() -> None:
    first = _outcomes(7)
    assert first == _outcomes(7)
    assert first != _outcomes(8)
    assert 5 <= first.count(False) <= 20
    emu = PersonalizeEmulator()
    with pytest.raises(ValueError):
        emu.control.inject_fault(rate=1.5)


def test_latency_is_slept_outside_the_emulator_lock(env: Env) -> None:
    lock_was_free: list[bool] = []

    def sleep(seconds: float) -> None:  # instead of real sleeping: prove another caller can run meanwhile
        assert seconds == 0.25
        done = threading.Event()

        def other() -> None:
            env.emulator.handle("ListDatasetGroups", {}, REGION, env.emulator.account)
            done.set()

        worker = threading.Thread(target=other)
        worker.start()
        lock_was_free.append(done.wait(timeout=5))
        worker.join()

    env.emulator.control.set_latency("DescribeRecipe", 0.25)
    personalize = emulated_client(env.emulator, REGION, sleep=sleep)
    personalize.describe_recipe(recipeArn="arn:aws:personalize:::recipe/aws-sims")
    personalize.list_recipes()  # no latency configured for this one
    assert lock_was_free == [True]
    env.emulator.control.set_latency("*", 0.0)
    assert env.emulator.control.latency_for("DescribeRecipe") == 0.25
    env.emulator.control.clear_faults()
    assert env.emulator.control.latency_for("DescribeRecipe") == 0.0


def test_session_attach_takes_the_region_from_the_sigv4_scope(env: Env) -> None:
    session = boto3.session.Session(aws_access_key_id="a", aws_secret_access_key="b")
    attach(session, env.emulator)
    personalize = session.client("personalize", region_name="ap-south-1", endpoint_url=SENTINEL_ENDPOINT)
    arn = personalize.create_dataset_group(name="g")["datasetGroupArn"]
    assert arn == "arn:aws:personalize:ap-south-1:123456789012:dataset-group/g"
    assert env.call("ListDatasetGroups")["datasetGroups"] == []  # eu-west-1 is a different region


def test_wire_call_encodes_json_1_1() -> None:
    emu = PersonalizeEmulator(clock=VirtualClock(1_700_000_000), profile=DurationProfile.instant())
    status, headers, body = wire_call(
        emu, "AmazonPersonalize.CreateDatasetGroup", b'{"name": "g"}', REGION, "111122223333"
    )
    assert status == 200 and headers["Content-Type"] == "application/x-amz-json-1.1"
    arn = json.loads(body)["datasetGroupArn"]
    assert arn == f"arn:aws:personalize:{REGION}:111122223333:dataset-group/g"
    status, _, body = wire_call(
        emu,
        "AmazonPersonalize.DescribeDatasetGroup",
        json.dumps({"datasetGroupArn": arn}).encode(),
        REGION,
        "111122223333",
    )
    assert json.loads(body)["datasetGroup"]["creationDateTime"] == 1_700_000_000
    status, _, body = wire_call(
        emu,
        "AmazonPersonalize.DescribeDatasetGroup",
        b'{"datasetGroupArn": "arn:aws:personalize:x:1:dataset-group/n"}',
        REGION,
        "1",
    )
    assert status == 400 and json.loads(body)["__type"] == "ResourceNotFoundException"
    assert "message" in json.loads(body)
    assert wire_call(emu, "AmazonPersonalize.Nope", b"{}", REGION, "1")[0] == 400
    assert json.loads(wire_call(emu, "Other.ListRecipes", b"{}", REGION, "1")[2])["__type"] == (
        "UnknownOperationException"
    )
    assert json.loads(wire_call(emu, "AmazonPersonalize.ListRecipes", b"{", REGION, "1")[2])["__type"] == (
        "SerializationException"
    )
    emu.control.inject_fault("ListRecipes", "ConnectionReset", count=1)
    with pytest.raises(InjectedConnectionReset):
        wire_call(emu, "AmazonPersonalize.ListRecipes", b"", REGION, "1")


def test_call_log_counts_mutating_calls(env: Env) -> None:
    dg = env.group()
    env.call("DescribeDatasetGroup", datasetGroupArn=dg)
    env.call("ListDatasetGroups")
    env.call("TagResource", resourceArn=dg, tags=[{"tagKey": "a", "tagValue": "b"}])
    assert env.emulator.call_count() == 4
    assert env.emulator.call_count(mutating=True) == 2
    assert env.emulator.calls[0].operation == "CreateDatasetGroup" and env.emulator.calls[0].params == {
        "name": "dg"
    }
    assert env.emulator.calls[0].timestamp == env.clock.now()
