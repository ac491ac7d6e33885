"""The state file: what an emulated account's S3/SSM/IAM and Personalize state look like on disk, and back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from reconciler.emulator import PersonalizeEmulator, VirtualClock
from reconciler.emulator.persistence import STATE_VERSION, AccountState, StateFileError, blob_dir_for

REGION = "eu-west-1"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        clients: dict[tuple[str, str], Any] = {}

        def client_for(service: str, region: str) -> Any:
            if (service, region) not in clients:
                clients[(service, region)] = boto3.client(service, region_name=region)
            return clients[(service, region)]

        yield client_for


def restart(aws: Any, path: Path) -> AccountState:
    """What a new process sees: empty moto backends, then the state file restored into them."""
    from moto.core.base_backend import BackendDict

    BackendDict.reset()
    state = AccountState(path, aws)
    data = state.read()
    assert data is not None
    state.restore_moto(data)
    return state


def test_object_bodies_are_stored_once_by_content_and_pruned(aws: Any, tmp_path: Path) -> None:
    path = tmp_path / "account.json"
    s3 = aws("s3", REGION)
    s3.create_bucket(Bucket="bucket-a", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket="bucket-a", Key="one.csv", Body=b"same")
    s3.put_object(Bucket="bucket-a", Key="two.csv", Body=b"same")
    s3.put_object(Bucket="bucket-a", Key="three.csv", Body=b"other")
    state = AccountState(path, aws)
    state.save({}, 1.0)
    blobs = blob_dir_for(path)
    assert blobs == tmp_path / "account.blobs"
    assert sorted(p.read_bytes() for p in blobs.iterdir()) == [b"other", b"same"]

    s3.put_object(Bucket="bucket-a", Key="three.csv", Body=b"changed")  # same key, new body: read again
    s3.delete_object(Bucket="bucket-a", Key="two.csv")
    state.save({}, 2.0, services={"s3"})
    assert sorted(p.read_bytes() for p in blobs.iterdir()) == [b"changed", b"same"]
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []  # atomic writes left nothing

    doc = json.loads(path.read_text())
    assert doc["format"] == "personalize-gitops/emulator-state" and doc["version"] == STATE_VERSION
    assert doc["clock"] == {"now": 2.0}
    keys = [o["key"] for o in doc["moto"]["s3"][0]["objects"]]
    assert keys == ["one.csv", "three.csv"]


def test_saves_naming_other_services_reuse_the_previous_dump(aws: Any, tmp_path: Path) -> None:
    path = tmp_path / "account.json"
    state = AccountState(path, aws, ssm_regions=[REGION])
    state.start_empty()
    aws("ssm", REGION).put_parameter(Name="/p", Value="v", Type="String")
    state.save({}, 1.0, services={"personalize"})  # a Personalize request: SSM not read again
    assert json.loads(path.read_text())["moto"]["ssm"] == {}
    state.save({}, 1.0, services={"ssm"})
    assert json.loads(path.read_text())["moto"]["ssm"] == {
        REGION: [{"name": "/p", "type": "String", "value": "v"}]
    }


def test_round_trip_of_s3_ssm_iam_and_personalize(aws: Any, tmp_path: Path) -> None:
    path = tmp_path / "account.json"
    s3, ssm, iam = aws("s3", REGION), aws("ssm", REGION), aws("iam", "us-east-1")
    s3.create_bucket(Bucket="bucket-b", CreateBucketConfiguration={"LocationConstraint": REGION})
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::bucket-b/*",
            }
        ],
    }
    s3.put_bucket_policy(Bucket="bucket-b", Policy=json.dumps(policy))
    s3.put_object(
        Bucket="bucket-b", Key="a/b.csv", Body=b"x,y\n", ContentType="text/csv", Metadata={"origin": "t"}
    )
    ssm.put_parameter(Name="/secure", Value="s3cr3t", Type="SecureString", Description="kept")
    ssm.put_parameter(Name="/list", Value="a,b", Type="StringList")
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
    }
    arn = iam.create_policy(PolicyName="custom", Path="/team/", PolicyDocument=json.dumps(document))[
        "Policy"
    ]["Arn"]
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
    iam.create_role(RoleName="role-b", AssumeRolePolicyDocument=json.dumps(trust), Description="for tests")
    iam.attach_role_policy(RoleName="role-b", PolicyArn=arn)

    clock = VirtualClock()
    emulator = PersonalizeEmulator(clock=clock)
    emulator.handle("CreateDatasetGroup", {"name": "kept"}, REGION)
    clock.advance(600)
    AccountState(path, aws, ssm_regions=[REGION]).save(emulator.snapshot(), clock.now())

    state = restart(aws, path)
    assert state.ssm_regions == {REGION}
    got = s3.get_object(Bucket="bucket-b", Key="a/b.csv")
    assert (got["Body"].read(), got["ContentType"], got["Metadata"]) == (
        b"x,y\n",
        "text/csv",
        {"origin": "t"},
    )
    assert json.loads(s3.get_bucket_policy(Bucket="bucket-b")["Policy"]) == policy
    secure = ssm.get_parameter(Name="/secure", WithDecryption=True)["Parameter"]
    assert (secure["Type"], secure["Value"]) == ("SecureString", "s3cr3t")
    assert ssm.describe_parameters()["Parameters"][1]["Description"] == "kept"
    assert ssm.get_parameter(Name="/list")["Parameter"]["Type"] == "StringList"
    assert iam.get_policy(PolicyArn=arn)["Policy"]["Path"] == "/team/"
    attached = iam.list_attached_role_policies(RoleName="role-b")["AttachedPolicies"]
    assert [a["PolicyArn"] for a in attached] == [arn]
    assert iam.get_role(RoleName="role-b")["Role"]["Description"] == "for tests"

    data = state.read()
    assert data is not None
    restored = PersonalizeEmulator(clock=VirtualClock())
    restored.restore(data["personalize"])
    group = restored.handle(
        "DescribeDatasetGroup",
        {"datasetGroupArn": f"arn:aws:personalize:{REGION}:123456789012:dataset-group/kept"},
        REGION,
    )
    assert group["datasetGroup"]["status"] == "ACTIVE"


def test_unreadable_state_files_are_explained(aws: Any, tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    assert AccountState(path, aws).read() is None  # no file yet: a new account
    path.write_text(json.dumps({"format": "personalize-gitops/emulator-state", "version": 99}))
    with pytest.raises(StateFileError, match="version 99, this release reads version 1"):
        AccountState(path, aws).read()
    path.write_text(
        json.dumps(
            {
                "format": "personalize-gitops/emulator-state",
                "version": 1,
                "moto": {
                    "s3": [
                        {"name": "gone-bucket", "region": REGION, "objects": [{"key": "k", "blob": "0" * 64}]}
                    ]
                },
            }
        )
    )
    state = AccountState(path, aws)
    data = state.read()
    assert data is not None
    with pytest.raises(StateFileError, match="must be kept together"):
        state.restore_moto(data)


def test_an_unwritable_location_is_a_state_file_error(aws: Any, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StateFileError, match="cannot write emulator state"):
        AccountState(blocker / "state.json", aws).save({}, 0.0)
