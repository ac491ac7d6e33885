"""`emulator serve`: one HTTP endpoint for Personalize (the emulator) and S3/IAM/STS/SSM (moto).

Every test serves on an ephemeral loopback port in a background thread and talks to it with real boto3
clients over HTTP. Waits use the control endpoint's ``advance`` action, never wall-clock sleeps.
"""

from __future__ import annotations

import http.client
import json
import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError
from emu_support import (
    INTERACTIONS_SCHEMA,
    PERSONALIZE_TRUST,
    bucket_policy,
    interactions_csv,
    items_csv,
    poll_until_settled,
    run_seed_workshop,
    users_csv,
)

from reconciler.emulator.server import EmulatorServer, MotoBridge, is_loopback, scope_of, usage_text

REGION = "eu-west-1"
ACCOUNT = "123456789012"


def control(url: str, action: str, **args: Any) -> Any:
    request = urllib.request.Request(
        url + "/_emulator/control",
        data=json.dumps({"action": action, **args}).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        doc = json.loads(response.read())
    assert doc["ok"] is True
    return doc["result"]


def control_error(url: str, payload: bytes) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url + "/_emulator/control", data=payload, method="POST")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)
    return caught.value.code, json.loads(caught.value.read())


def status(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url + "/_emulator/status", timeout=10) as response:
        doc: dict[str, Any] = json.loads(response.read())
    return doc


def session(region: str = REGION) -> boto3.session.Session:
    return boto3.session.Session(
        aws_access_key_id="emulator", aws_secret_access_key="emulator", region_name=region
    )


def clients(url: str, region: str = REGION, attempts: int = 3) -> dict[str, Any]:
    config = Config(retries={"mode": "standard", "total_max_attempts": attempts})
    s = session(region)
    return {
        name: s.client(name, endpoint_url=url, config=config)
        for name in ("personalize", "s3", "iam", "sts", "ssm")
    }


def start_server(**kwargs: Any) -> EmulatorServer:
    MotoBridge().reset()  # moto's backends are process-global: every server starts from an empty account
    kwargs.setdefault("time_scale", 1.0)
    return EmulatorServer.create(port=0, **kwargs).start()


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    srv = start_server()
    try:
        yield srv
    finally:
        srv.stop()


# ----------------------------------------------------------------------------------- the workshop


def wait_for(
    url: str, describe: Any, key: str, poll: float = 60.0, limit: float = 6 * 3600
) -> dict[str, Any]:
    """The notebook's polling loop, with ``time.sleep(60)`` replaced by the control endpoint's ``advance``."""
    return poll_until_settled(describe, key, lambda s: control(url, "advance", seconds=s), poll, limit)


@pytest.fixture
def managed_policies(monkeypatch: pytest.MonkeyPatch) -> None:
    """`serve()` sets this for its process; here it is scoped to one test."""
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")


def test_seed_workshop_calls_reach_active_through_one_endpoint(
    managed_policies: None, server: EmulatorServer
) -> None:
    url = server.url
    c = clients(url)
    personalize, s3, iam = c["personalize"], c["s3"], c["iam"]
    account_id = c["sts"].get_caller_identity()["Account"]
    assert account_id == ACCOUNT

    # 01: bucket + policy + role, exactly as the notebook does (through the same endpoint)
    bucket = f"{account_id}-{REGION}-personalize-immersionday-retail"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    policy = {
        "Version": "2012-10-17",
        "Id": "PersonalizeS3BucketAccessPolicy",
        "Statement": [
            {
                "Sid": "PersonalizeS3BucketAccessPolicy",
                "Effect": "Allow",
                "Principal": {"Service": "personalize.amazonaws.com"},
                "Action": ["s3:GetObject", "s3:ListBucket"],
                "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
            }
        ],
    }
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "personalize.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role_arn = iam.create_role(
        RoleName=f"{account_id}-PersonalizeS3", AssumeRolePolicyDocument=json.dumps(trust)
    )["Role"]["Arn"]
    iam.attach_role_policy(
        RoleName=f"{account_id}-PersonalizeS3", PolicyArn="arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
    )
    for key, body in (
        ("interactions.csv", interactions_csv(users=60, per_user=25)),
        ("items.csv", items_csv()),
        ("users.csv", users_csv(users=60)),
    ):
        s3.put_object(Bucket=bucket, Key=key, Body=body)

    shop = run_seed_workshop(
        personalize, lambda describe, key: wait_for(url, describe, key), bucket=bucket, role=role_arn
    )
    assert (
        shop["group"]["datasetGroupArn"]
        == f"arn:aws:personalize:{REGION}:{ACCOUNT}:dataset-group/personalize-immersion-day-retail"
    )

    counts = status(url)["resources"]
    assert counts["campaign"] == 3 and counts["filter"] == 1 and counts["dataset_import_job"] == 3
    assert counts["solution_version"] >= 3


def _import_into_new_dataset(server: EmulatorServer, c: dict[str, Any], location: str) -> dict[str, Any]:
    personalize = c["personalize"]
    group = personalize.create_dataset_group(name="g")["datasetGroupArn"]
    control(server.url, "advance", seconds=3600)
    schema = personalize.create_schema(name="s", schema=INTERACTIONS_SCHEMA)["schemaArn"]
    dataset = personalize.create_dataset(
        name="d", datasetType="Interactions", datasetGroupArn=group, schemaArn=schema
    )["datasetArn"]
    control(server.url, "advance", seconds=3600)
    job = personalize.create_dataset_import_job(
        jobName="j",
        datasetArn=dataset,
        dataSource={"dataLocation": location},
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/r",
    )["datasetImportJobArn"]
    return wait_for(
        server.url,
        lambda: personalize.describe_dataset_import_job(datasetImportJobArn=job),
        "datasetImportJob",
    )


def test_import_job_fails_realistically_when_the_object_was_not_uploaded(server: EmulatorServer) -> None:
    c = clients(server.url)
    c["s3"].create_bucket(Bucket="data-bucket", CreateBucketConfiguration={"LocationConstraint": REGION})
    c["s3"].put_bucket_policy(Bucket="data-bucket", Policy=bucket_policy("data-bucket"))
    c["iam"].create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps(PERSONALIZE_TRUST))
    done = _import_into_new_dataset(server, c, "s3://data-bucket/missing.csv")
    assert done["status"] == "CREATE FAILED"
    assert "s3://data-bucket/missing.csv" in done["failureReason"]


@pytest.mark.parametrize(
    ("role_trust", "policy", "expected"),
    [
        (None, True, "The IAM role arn:aws:iam::123456789012:role/r does not exist"),
        ("ec2.amazonaws.com", True, "does not trust personalize.amazonaws.com"),
        ("personalize.amazonaws.com", False, "Bucket data-bucket has no bucket policy"),
    ],
    ids=["no-role", "role-trusts-another-service", "no-bucket-policy"],
)
def test_import_needs_a_role_personalize_can_assume_and_a_bucket_policy(
    server: EmulatorServer, role_trust: str | None, policy: bool, expected: str
) -> None:
    c = clients(server.url)
    c["s3"].create_bucket(Bucket="data-bucket", CreateBucketConfiguration={"LocationConstraint": REGION})
    c["s3"].put_object(Bucket="data-bucket", Key="i.csv", Body=interactions_csv())
    if policy:
        c["s3"].put_bucket_policy(Bucket="data-bucket", Policy=bucket_policy("data-bucket"))
    if role_trust is not None:
        trust = json.loads(json.dumps(PERSONALIZE_TRUST).replace("personalize.amazonaws.com", role_trust))
        c["iam"].create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps(trust))
    done = _import_into_new_dataset(server, c, "s3://data-bucket/i.csv")
    assert done["status"] == "CREATE FAILED"
    assert done["failureReason"].startswith(
        "Failed to create a data import job for Interactions dataset. "
        "Insufficient privileges for accessing data in Amazon S3."
    )
    assert expected in done["failureReason"]


# ------------------------------------------------------------------------------------------ routing


def test_region_comes_from_the_sigv4_scope_and_each_region_is_separate(server: EmulatorServer) -> None:
    west = clients(server.url, "eu-west-1")["personalize"]
    south = clients(server.url, "ap-south-1")["personalize"]
    arn = south.create_dataset_group(name="g")["datasetGroupArn"]
    assert arn.startswith("arn:aws:personalize:ap-south-1:123456789012:")
    assert west.list_dataset_groups()["datasetGroups"] == []
    assert [g["name"] for g in south.list_dataset_groups()["datasetGroups"]] == ["g"]
    assert set(status(server.url)["regions"]) >= {"eu-west-1", "ap-south-1"}


def test_modeled_errors_arrive_as_botocore_exceptions(server: EmulatorServer) -> None:
    personalize = clients(server.url)["personalize"]
    personalize.create_dataset_group(name="dup")
    with pytest.raises(personalize.exceptions.ResourceAlreadyExistsException):
        personalize.create_dataset_group(name="dup")
    with pytest.raises(personalize.exceptions.ResourceNotFoundException):
        personalize.describe_campaign(campaignArn=f"arn:aws:personalize:{REGION}:{ACCOUNT}:campaign/none")


def test_personalize_only_app_refuses_other_services() -> None:
    from werkzeug.test import Client

    from reconciler.emulator import PersonalizeEmulator, VirtualClock
    from reconciler.emulator.server import make_app

    app = make_app(PersonalizeEmulator(clock=VirtualClock()), moto=False)
    client = Client(app)
    auth = (
        "AWS4-HMAC-SHA256 Credential=x/20260101/eu-west-2/personalize/aws4_request, "
        "SignedHeaders=host, Signature=0"
    )
    response = client.post(
        "/",
        data=b"{}",
        headers={"X-Amz-Target": "AmazonPersonalize.ListDatasetGroups", "Authorization": auth},
    )
    assert response.status_code == 200 and json.loads(response.data) == {"datasetGroups": []}
    created = client.post(
        "/",
        data=json.dumps({"name": "g"}).encode(),
        headers={"X-Amz-Target": "AmazonPersonalize.CreateDatasetGroup", "Authorization": auth},
    )
    assert json.loads(created.data)["datasetGroupArn"].startswith("arn:aws:personalize:eu-west-2:")
    s3_call = client.get("/some-bucket", headers={"Authorization": auth.replace("personalize", "s3")})
    assert s3_call.status_code == 404
    assert json.loads(s3_call.data)["__type"] == "UnknownServiceException"


def test_scope_and_loopback_helpers() -> None:
    auth = (
        "AWS4-HMAC-SHA256 Credential=AKID/20261129/ap-south-1/personalize/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=abc"
    )
    assert scope_of(auth) == ("ap-south-1", "personalize")
    assert scope_of("AWS AKID:signature") is None
    assert scope_of(None) is None
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.10") and not is_loopback("example.com")


def test_refuses_to_listen_beyond_loopback() -> None:
    with pytest.raises(ValueError, match=r"refusing to listen on 0\.0\.0\.0"):
        EmulatorServer.create(host="0.0.0.0", port=0)


def test_usage_text_explains_boto3_and_the_cli() -> None:
    text = usage_text("http://127.0.0.1:4566")
    assert 'endpoint_url="http://127.0.0.1:4566"' in text
    assert "aws personalize list-dataset-groups --endpoint-url http://127.0.0.1:4566" in text
    assert "AWS_ACCESS_KEY_ID=emulator" in text
    assert "/_emulator/control" in text


# ----------------------------------------------------------------------------------- control endpoint


def test_status_and_advance_move_virtual_time(server: EmulatorServer) -> None:
    before = status(server.url)
    assert before["ok"] is True and before["timeScale"] == 1.0 and before["moto"] is True
    result = control(server.url, "advance", seconds=7200)
    assert result["now"] - before["now"] >= 7200
    personalize = clients(server.url)["personalize"]
    arn = personalize.create_dataset_group(name="g")["datasetGroupArn"]
    assert (
        personalize.describe_dataset_group(datasetGroupArn=arn)["datasetGroup"]["status"] == "CREATE PENDING"
    )
    control(server.url, "advance", seconds=600)
    assert personalize.describe_dataset_group(datasetGroupArn=arn)["datasetGroup"]["status"] == "ACTIVE"
    assert control(server.url, "status")["resources"] == {"dataset_group": 1}


def test_inject_fault_throttles_then_clears(server: EmulatorServer) -> None:
    personalize = clients(server.url, attempts=1)["personalize"]
    control(server.url, "inject_fault", operation="ListDatasetGroups", code="ThrottlingException", count=1)
    assert status(server.url)["control"]["faults"][0]["code"] == "ThrottlingException"
    with pytest.raises(ClientError) as caught:
        personalize.list_dataset_groups()
    assert caught.value.response["Error"]["Code"] == "ThrottlingException"
    assert personalize.list_dataset_groups()["datasetGroups"] == []  # count=1: only the first call failed

    control(server.url, "inject_fault", operation="ListSchemas", code="InternalFailure")
    with pytest.raises(ClientError) as caught:
        personalize.list_schemas()
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    control(server.url, "clear_faults")
    assert personalize.list_schemas()["schemas"] == []
    assert status(server.url)["control"]["faults"] == []


def test_connection_reset_fault_drops_the_connection(server: EmulatorServer) -> None:
    personalize = clients(server.url, attempts=1)["personalize"]
    control(server.url, "inject_fault", operation="ListDatasetGroups", code="ConnectionReset", count=1)
    with pytest.raises(ConnectionClosedError):
        personalize.list_dataset_groups()
    assert personalize.list_dataset_groups()["datasetGroups"] == []


def test_retrying_client_rides_through_injected_throttling(
    server: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    slept: list[float] = []

    class NoSleep:
        @staticmethod
        def sleep(seconds: float) -> None:
            slept.append(seconds)

    monkeypatch.setattr("botocore.endpoint.time", NoSleep)  # botocore's retry backoff, recorded not slept
    personalize = clients(server.url, attempts=4)["personalize"]
    control(server.url, "inject_fault", operation="ListRecipes", code="ThrottlingException", count=2)
    response = personalize.list_recipes()
    assert response["ResponseMetadata"]["RetryAttempts"] == 2
    assert any(r["name"] == "aws-sims" for r in response["recipes"])
    assert len(slept) == 2


def test_set_metrics_and_fail_next_accept_camel_case(server: EmulatorServer) -> None:
    arn = f"arn:aws:personalize:{REGION}:{ACCOUNT}:solution/s/abcd1234"
    control(server.url, "set_metrics", solutionVersionArn=arn, metrics={"coverage": 0.5})
    control(server.url, "fail_next", kind="solution_version", name_or_arn="*", reason="boom")
    doc = status(server.url)["control"]
    assert doc["metrics"] == {arn: {"coverage": 0.5}}
    assert doc["failures"] == [{"kind": "solution_version", "target": "*", "reason": "boom"}]
    control(server.url, "set_latency", operation="ListRecipes", seconds=0.01)
    assert status(server.url)["control"]["latency"] == {"ListRecipes": 0.01}


def test_control_errors_say_what_to_send(server: EmulatorServer) -> None:
    code, doc = control_error(server.url, json.dumps({"action": "explode"}).encode())
    assert code == 400 and "unknown action 'explode'" in doc["error"] and "advance" in doc["error"]
    code, doc = control_error(server.url, json.dumps({"action": "inject_fault", "colour": "red"}).encode())
    assert code == 400 and "inject_fault(" in doc["error"] and "colour" in doc["error"]
    code, doc = control_error(server.url, json.dumps({"action": "advance", "seconds": -5}).encode())
    assert code == 400 and "backwards" in doc["error"]
    code, doc = control_error(server.url, b"not json")
    assert code == 400 and "not JSON" in doc["error"]
    code, doc = control_error(server.url, json.dumps({"action": "inject_fault", "rate": 7}).encode())
    assert code == 400 and "rate" in doc["error"]
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(server.url + "/_emulator/nothing", timeout=10)
    assert caught.value.code == 404


def test_reset_empties_personalize_and_moto(server: EmulatorServer) -> None:
    c = clients(server.url)
    c["personalize"].create_dataset_group(name="g")
    c["s3"].create_bucket(Bucket="reset-me", CreateBucketConfiguration={"LocationConstraint": REGION})
    control(server.url, "reset", services="personalize")
    assert c["personalize"].list_dataset_groups()["datasetGroups"] == []
    assert [b["Name"] for b in c["s3"].list_buckets()["Buckets"]] == ["reset-me"]
    control(server.url, "reset")
    assert c["s3"].list_buckets()["Buckets"] == []


# ------------------------------------------------------------------------------------- persistence


def test_state_file_round_trip_across_a_restart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state_file = tmp_path / "account.json"
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")  # as `serve()` sets it
    first = start_server(state_file=state_file)
    try:
        c = clients(first.url)
        group = c["personalize"].create_dataset_group(name="kept")["datasetGroupArn"]
        # saved after the mutating request, before any shutdown
        assert "dataset-group/kept" in state_file.read_text()
        c["s3"].create_bucket(Bucket="kept-bucket", CreateBucketConfiguration={"LocationConstraint": REGION})
        payload = interactions_csv(users=30, per_user=3)
        c["s3"].put_object(
            Bucket="kept-bucket", Key="data/interactions.csv", Body=payload, ContentType="text/csv"
        )
        c["ssm"].put_parameter(Name="/personalize-gitops/test", Value="hello", Type="String")
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "sts:AssumeRole",
                    "Principal": {"Service": "personalize.amazonaws.com"},
                }
            ],
        }
        inline = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::kept-bucket/*"}
            ],
        }
        c["iam"].create_role(RoleName="kept-role", AssumeRolePolicyDocument=json.dumps(trust))
        c["iam"].put_role_policy(RoleName="kept-role", PolicyName="inline", PolicyDocument=json.dumps(inline))
        c["iam"].attach_role_policy(
            RoleName="kept-role", PolicyArn="arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
        )
        control(first.url, "advance", seconds=3600)
        control(first.url, "set_quota", name="dataset_groups_per_region", value=7)
        active_before = c["personalize"].describe_dataset_group(datasetGroupArn=group)["datasetGroup"]
        now_before = status(first.url)["now"]
    finally:
        first.stop()
    assert first.save_errors == []
    blobs = list((tmp_path / "account.blobs").iterdir())
    assert len(blobs) == 1 and blobs[0].read_bytes() == payload

    # A new process without the variable: the saved attachment of an AWS managed policy still restores.
    monkeypatch.delenv("MOTO_IAM_LOAD_MANAGED_POLICIES")
    second = start_server(state_file=state_file)  # moto reset first: everything must come from the file
    try:
        c = clients(second.url)
        after = c["personalize"].describe_dataset_group(datasetGroupArn=group)["datasetGroup"]
        assert after["status"] == "ACTIVE" and after["creationDateTime"] == active_before["creationDateTime"]
        assert status(second.url)["now"] >= now_before  # virtual time does not go back
        assert status(second.url)["control"]["quotas"]["dataset_groups_per_region"] == 7
        got = c["s3"].get_object(Bucket="kept-bucket", Key="data/interactions.csv")
        assert got["Body"].read() == payload and got["ContentType"] == "text/csv"
        assert c["s3"].get_bucket_location(Bucket="kept-bucket")["LocationConstraint"] == REGION
        assert c["ssm"].get_parameter(Name="/personalize-gitops/test")["Parameter"]["Value"] == "hello"
        assert (
            c["iam"].get_role(RoleName="kept-role")["Role"]["Arn"] == f"arn:aws:iam::{ACCOUNT}:role/kept-role"
        )
        assert c["iam"].list_role_policies(RoleName="kept-role")["PolicyNames"] == ["inline"]
        attached = c["iam"].list_attached_role_policies(RoleName="kept-role")["AttachedPolicies"]
        assert [p["PolicyName"] for p in attached] == ["AmazonS3ReadOnlyAccess"]
        kept = c["iam"].get_role_policy(RoleName="kept-role", PolicyName="inline")["PolicyDocument"]
        assert kept == inline
        assert c["iam"].get_role(RoleName="kept-role")["Role"]["AssumeRolePolicyDocument"] == trust

        # deleting the object removes its blob at the next save
        c["s3"].delete_object(Bucket="kept-bucket", Key="data/interactions.csv")
        assert list((tmp_path / "account.blobs").iterdir()) == []
    finally:
        second.stop()


def test_a_broken_state_file_is_reported_with_its_path(tmp_path: Path) -> None:
    from reconciler.emulator.persistence import StateFileError

    state_file = tmp_path / "broken.json"
    state_file.write_text("{not json")
    with pytest.raises(StateFileError, match=r"broken\.json:1:2: emulator state is not valid JSON"):
        EmulatorServer.create(port=0, state_file=state_file)
    state_file.write_text(json.dumps({"something": "else"}))
    with pytest.raises(StateFileError, match="not a personalize-gitops emulator state file"):
        EmulatorServer.create(port=0, state_file=state_file)


@pytest.mark.parametrize(
    "case", ["not UTF-8", "personalize a string", "moto a string", "ssm regions a number"]
)
def test_a_damaged_state_file_is_reported_with_its_path(tmp_path: Path, case: str) -> None:
    """`emulator serve --state` on a damaged file: a StateFileError naming it (serve prints it, exit 1)."""
    from reconciler.emulator.persistence import STATE_FORMAT, STATE_VERSION, StateFileError

    def state(**sections: object) -> bytes:
        return json.dumps({"format": STATE_FORMAT, "version": STATE_VERSION, **sections}).encode()

    content = {
        "not UTF-8": b'{"format": "\xff"}',
        "personalize a string": state(personalize="x"),
        "moto a string": state(moto="x"),
        "ssm regions a number": state(moto={"ssmRegions": 5}),
    }[case]
    state_file = tmp_path / "damaged.json"
    state_file.write_bytes(content)
    with pytest.raises(StateFileError, match=r"damaged\.json"):
        EmulatorServer.create(port=0, state_file=state_file)
    assert state_file.read_bytes() == content


def test_an_unusable_state_path_fails_at_start(tmp_path: Path) -> None:
    from reconciler.emulator.persistence import StateFileError

    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    with pytest.raises(StateFileError, match=r"cannot read emulator state .*not-a-directory/state\.json"):
        EmulatorServer.create(port=0, state_file=blocker / "state.json")


# ----------------------------------------------------------------------------- HTTP/1.1 and threads


def test_one_client_reuses_one_kept_alive_connection(
    server: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    personalize = clients(server.url)["personalize"]
    accepted_before = status(server.url)["connections"]["accepted"]
    with caplog.at_level(logging.DEBUG, logger="urllib3.connectionpool"):
        arn = personalize.create_dataset_group(name="g")["datasetGroupArn"]
        for _ in range(25):
            personalize.describe_dataset_group(datasetGroupArn=arn)
            personalize.list_dataset_groups()
    opened = [r for r in caplog.records if r.getMessage().startswith("Starting new HTTP connection")]
    assert len(opened) == 1  # 51 calls, one TCP connection (werkzeug's server closed after every answer)
    # the status request itself is one more connection (urllib opens its own)
    assert status(server.url)["connections"]["accepted"] - accepted_before == 2
    assert len(personalize.list_dataset_groups()["datasetGroups"]) == 1


def test_raw_http11_requests_share_a_socket_with_exact_lengths(server: EmulatorServer) -> None:
    host, port = server.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request("GET", "/_emulator/status")
        first = connection.getresponse()
        body = first.read()
        assert first.version == 11 and first.getheader("Connection") is None
        assert int(first.getheader("Content-Length")) == len(body) and json.loads(body)["ok"] is True
        sock = connection.sock
        assert sock is not None
        # a body sent with chunked transfer encoding is read completely before the next request
        payload = json.dumps({"action": "advance", "seconds": 5}).encode()
        connection.request(
            "POST", "/_emulator/control", body=iter([payload[:7], payload[7:]]), encode_chunked=True
        )
        second = connection.getresponse()
        assert json.loads(second.read())["ok"] is True
        connection.request("HEAD", "/_emulator/status")
        head = connection.getresponse()
        assert head.read() == b"" and head.status == 200
        connection.request("GET", "/_emulator/status")
        assert json.loads(connection.getresponse().read())["ok"] is True
        assert connection.sock is sock  # four requests, one socket
    finally:
        connection.close()


def test_concurrent_clients_are_answered_in_parallel(server: EmulatorServer) -> None:
    """16 clients, each call held 3 s by injected latency: all 16 are inside the server at the same time.

    The callers start together (a barrier) and the hold is long, so a busy test machine that starts a thread
    late cannot make one call finish before the last one arrives."""
    arn = clients(server.url)["personalize"].create_dataset_group(name="g")["datasetGroupArn"]
    callers = [clients(server.url)["personalize"] for _ in range(16)]
    control(server.url, "set_latency", operation="DescribeDatasetGroup", seconds=3.0)
    errors: list[BaseException] = []
    start = threading.Barrier(len(callers))

    def call(client: Any) -> None:
        try:
            start.wait(30)
            client.describe_dataset_group(datasetGroupArn=arn)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=call, args=(c,)) for c in callers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert status(server.url)["peakInFlight"] == 16


def test_stop_ends_idle_kept_alive_connections(tmp_path: Path) -> None:
    srv = start_server()
    personalize = clients(srv.url)["personalize"]
    personalize.list_dataset_groups()
    assert srv.open_connections == 1
    srv.stop()
    with pytest.raises((EndpointConnectionError, ConnectionClosedError)):
        clients(srv.url, attempts=1)["personalize"].list_dataset_groups()
    with pytest.raises((EndpointConnectionError, ConnectionClosedError)):
        personalize.list_dataset_groups()


def test_imported_data_and_trained_models_survive_a_restart(tmp_path: Path) -> None:
    """`serve --state` keeps datasets and models beside the state file (issue 13: keep the data)."""
    state_file = tmp_path / "account.json"
    first = start_server(state_file=state_file)
    try:
        c = clients(first.url)
        p = c["personalize"]
        c["s3"].create_bucket(Bucket="data", CreateBucketConfiguration={"LocationConstraint": REGION})
        c["s3"].put_object(Bucket="data", Key="interactions.csv", Body=interactions_csv())
        bucket_policy = {  # as the workshop's data-layer notebook grants it
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "personalize.amazonaws.com"},
                    "Action": ["s3:GetObject", "s3:ListBucket", "s3:PutObject"],
                    "Resource": ["arn:aws:s3:::data", "arn:aws:s3:::data/*"],
                }
            ],
        }
        c["s3"].put_bucket_policy(Bucket="data", Policy=json.dumps(bucket_policy))
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "sts:AssumeRole",
                    "Principal": {"Service": "personalize.amazonaws.com"},
                }
            ],
        }
        role = c["iam"].create_role(RoleName="personalize", AssumeRolePolicyDocument=json.dumps(trust))[
            "Role"
        ]["Arn"]
        group = p.create_dataset_group(name="kept")["datasetGroupArn"]
        control(first.url, "advance", seconds=3600)
        schema = p.create_schema(name="interactions", schema=INTERACTIONS_SCHEMA)["schemaArn"]
        dataset = p.create_dataset(
            name="interactions", datasetGroupArn=group, schemaArn=schema, datasetType="Interactions"
        )["datasetArn"]
        control(first.url, "advance", seconds=3600)
        p.create_dataset_import_job(
            jobName="import",
            datasetArn=dataset,
            dataSource={"dataLocation": "s3://data/interactions.csv"},
            roleArn=role,
        )
        control(first.url, "advance", seconds=3 * 3600)
        solution = p.create_solution(
            name="popular",
            datasetGroupArn=group,
            recipeArn="arn:aws:personalize:::recipe/aws-popularity-count",
        )["solutionArn"]
        control(first.url, "advance", seconds=3600)
        version = p.create_solution_version(solutionArn=solution)["solutionVersionArn"]
        control(first.url, "advance", seconds=6 * 3600)
        metrics = p.get_solution_metrics(solutionVersionArn=version)["metrics"]
        model = first.emulator.models.for_version(version)
        assert model is not None and metrics["precision_at_25"] > 0
        answer = model.recommend("u1", None, 10)
    finally:
        first.stop()
    assert first.save_errors == [] and list((tmp_path / "account.data" / "datasets").glob("*.npz"))

    second = start_server(state_file=state_file)
    try:
        table = second.emulator.data.interactions(group)
        assert table is not None and len(table) == 40 * 30
        restored = second.emulator.models.for_version(version)
        assert restored is not None and restored.recommend("u1", None, 10) == answer
        assert (
            clients(second.url)["personalize"].get_solution_metrics(solutionVersionArn=version)["metrics"]
            == metrics
        )
    finally:
        second.stop()


def _raw_personalize(
    connection: http.client.HTTPConnection,
    operation: str,
    body: bytes,
    extra: dict[str, str] | None = None,
    method: str = "POST",
) -> tuple[http.client.HTTPResponse, bytes]:
    headers = {
        "X-Amz-Target": f"AmazonPersonalize.{operation}",
        "Content-Type": "application/x-amz-json-1.1",
        "Authorization": "AWS4-HMAC-SHA256 Credential=emulator/20260101/eu-west-1/personalize/aws4_request, "
        "SignedHeaders=host;x-amz-target, Signature=0",
        **(extra or {}),
    }
    connection.request(method, "/", body=body, headers=headers)
    response = connection.getresponse()
    return response, response.read()


def test_personalize_answers_keep_their_wire_form(server: EmulatorServer) -> None:
    """What botocore and the AWS CLI read: status line, the headers in order, JSON bodies and error shapes,
    on one kept-alive connection; ``Connection: close`` is honoured and answered."""
    host, port = server.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        created, body = _raw_personalize(connection, "CreateDatasetGroup", b'{"name": "wire"}')
        arn = json.loads(body)["datasetGroupArn"]
        assert created.status == 200 and created.reason == "OK" and created.version == 11
        names = [name for name, _ in created.getheaders()]
        assert names == ["Server", "Date", "Content-Type", "x-amzn-RequestId", "Content-Length"]
        assert created.getheader("Server", "").startswith("Werkzeug/")
        assert created.getheader("Date", "").endswith(" GMT")
        assert created.getheader("Content-Type") == "application/x-amz-json-1.1"
        assert len(created.getheader("x-amzn-RequestId", "")) == 36
        assert int(created.getheader("Content-Length", "")) == len(body)
        sock = connection.sock

        described, body = _raw_personalize(
            connection, "DescribeDatasetGroup", json.dumps({"datasetGroupArn": arn}).encode()
        )
        group = json.loads(body)["datasetGroup"]
        assert (
            described.status == 200
            and group["name"] == "wire"
            and isinstance(group["creationDateTime"], float)
        )

        missing, body = _raw_personalize(
            connection, "DescribeDatasetGroup", json.dumps({"datasetGroupArn": arn + "x"}).encode()
        )
        assert (missing.status, missing.reason) == (400, "Bad Request")
        assert json.loads(body)["__type"] == "ResourceNotFoundException"
        assert [name for name, _ in missing.getheaders()] == names

        for payload, code in ((b"{not json", "SerializationException"), (b"[]", "SerializationException")):
            bad, body = _raw_personalize(connection, "ListDatasetGroups", payload)
            assert bad.status == 400 and json.loads(body)["__type"] == code
        unknown, body = _raw_personalize(connection, "NoSuchOperation", b"{}")
        assert unknown.status == 400 and json.loads(body)["__type"] == "UnknownOperationException"
        invalid, body = _raw_personalize(connection, "DescribeDatasetGroup", b'{"datasetGroupArn": "nope"}')
        assert invalid.status == 400 and json.loads(body)["__type"] == "InvalidInputException"
        assert connection.sock is sock  # every answer above kept the connection

        last, body = _raw_personalize(connection, "ListDatasetGroups", b"{}", {"Connection": "close"})
        assert last.status == 200 and last.getheader("Connection") == "close"
        assert [g["name"] for g in json.loads(body)["datasetGroups"]] == ["wire"]
    finally:
        connection.close()


def test_raw_requests_with_http10_expect_continue_and_folded_headers(server: EmulatorServer) -> None:
    """Request forms botocore rarely sends still get the answers http.server gives them."""
    import socket

    host, port = server.url.removeprefix("http://").split(":")
    auth = "Credential=emulator/20260101/eu-west-1/personalize/aws4_request"

    def request(
        version: str, extra: str = "", body: bytes = b"{}", target: str = "ListDatasetGroups"
    ) -> bytes:
        head = (
            f"POST / {version}\r\nHost: {host}\r\nX-Amz-Target: AmazonPersonalize.{target}\r\n"
            f"Authorization: AWS4-HMAC-SHA256 {auth}\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
        )
        return head.encode("latin-1") + body

    def read_answer(reader: Any) -> tuple[str, dict[str, str], bytes]:
        status = reader.readline().decode().rstrip("\r\n")
        headers: dict[str, str] = {}
        while (line := reader.readline().decode("latin-1").rstrip("\r\n")) != "":
            name, _, value = line.partition(":")
            headers[name.lower()] = value.strip()
        return status, headers, reader.read(int(headers.get("content-length", "0")))

    with socket.create_connection((host, int(port)), timeout=10) as sock, sock.makefile("rb") as reader:
        sock.sendall(request("HTTP/1.0", "Connection: keep-alive\r\n"))
        status, headers, body = read_answer(reader)
        assert status == "HTTP/1.1 200 OK" and headers["connection"] == "keep-alive"
        assert json.loads(body) == {"datasetGroups": []}
        # folded (obs-fold) header lines are read as http.server reads them
        sock.sendall(request("HTTP/1.1", "X-Note: one\r\n two\r\n"))
        assert read_answer(reader)[0] == "HTTP/1.1 200 OK"
        sock.sendall(request("HTTP/1.1", "Expect: 100-continue\r\n"))
        assert reader.readline() == b"HTTP/1.1 100 Continue\r\n" and reader.readline() == b"\r\n"
        status, headers, body = read_answer(reader)
        assert status == "HTTP/1.1 200 OK" and "connection" not in headers
        sock.sendall(request("HTTP/1.0"))  # HTTP/1.0 without keep-alive: answered, then closed
        status, headers, body = read_answer(reader)
        assert status == "HTTP/1.1 200 OK" and headers["connection"] == "close"
        assert reader.read(1) == b""
    with socket.create_connection((host, int(port)), timeout=10) as sock, sock.makefile("rb") as reader:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n")
        status, headers, body = read_answer(reader)
        assert status.startswith("HTTP/1.1 400") and body == b"unreadable request body\n"


def test_an_idle_kept_alive_connection_is_closed_quietly(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket
    import time

    from reconciler.emulator import server as server_module

    monkeypatch.setattr(server_module, "KEEP_ALIVE_IDLE_SECONDS", 0.5)
    srv = start_server()
    try:
        host, port = srv.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock, sock.makefile("rb") as reader:
            sock.sendall(b"GET /_emulator/status HTTP/1.1\r\nHost: x\r\n\r\n")
            assert reader.readline() == b"HTTP/1.1 200 OK\r\n"
            while reader.readline() not in (b"\r\n", b""):
                pass
            started = time.monotonic()
            assert reader.read().startswith(b"{")  # the body, then the server closes the idle connection
            assert 0.3 < time.monotonic() - started < 5
        deadline = time.monotonic() + 5
        while srv.open_connections and time.monotonic() < deadline:
            time.sleep(0.05)
        assert srv.open_connections == 0
    finally:
        srv.stop()
    assert capsys.readouterr().err == ""


def test_usage_text_names_the_region_of_the_sample_stack() -> None:
    """The banner's AWS CLI lines list what `plan/apply manifests/ --endpoint-url` made: the sample stack and
    the README's examples are in us-east-1 (with eu-west-1 `aws personalize list-campaigns` answered [])."""
    text = usage_text("http://127.0.0.1:4566")
    assert "AWS_DEFAULT_REGION=us-east-1" in text and 'region_name="us-east-1"' in text
    sample = Path(__file__).resolve().parents[2] / "manifests" / "stack.yaml"
    assert "region: us-east-1" in sample.read_text(encoding="utf-8")
