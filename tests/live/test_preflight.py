"""Plan preflight (issue 14): read-only checks of the bucket, object, import role, bucket policy and KMS key a
data import needs, against moto (S3, IAM, KMS) and the Personalize emulator through real boto3 clients; each
missing piece is a plan error naming the manifest's file:line."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from moto import mock_aws

from reconciler.aws.target import Target
from reconciler.demo import PERSONALIZE_TRUST, personalize_bucket_policy
from reconciler.emulator import PersonalizeEmulator, VirtualClock
from reconciler.live.preflight import (
    merge,
    needs_checks,
    policy_lets_personalize_read,
    preflight,
    trusts_personalize,
)
from reconciler.live.reader import read_live
from reconciler.manifest import load
from reconciler.model.address import Address, Kind
from reconciler.model.state import DesiredState
from reconciler.plan.planner import PlanOptions, plan

REPO = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
ROLE = "PersonalizeS3"
MINI = """apiVersion: personalize-gitops/v1alpha1
kind: Stack
metadata: {name: pf}
spec: {region: us-east-1, accountId: "123456789012", namePrefix: pf-}
---
apiVersion: personalize-gitops/v1alpha1
kind: DatasetGroup
metadata: {name: shop}
---
apiVersion: personalize-gitops/v1alpha1
kind: Schema
metadata: {name: interactions}
spec:
  avro:
    name: Interactions
    fields:
      - {name: USER_ID, type: string}
      - {name: ITEM_ID, type: string}
      - {name: TIMESTAMP, type: long}
---
apiVersion: personalize-gitops/v1alpha1
kind: Dataset
metadata: {name: interactions}
spec:
  datasetGroup: shop
  datasetType: INTERACTIONS
  schema: interactions
  dataImport:
    dataLocation: s3://pf-data/interactions.csv
    roleArn: arn:aws:iam::123456789012:role/PersonalizeS3
"""
DATASET = Address(Kind.DATASET, "interactions")


@dataclass
class Account:
    target: Target
    emulator: PersonalizeEmulator
    clock: VirtualClock
    desired: DesiredState

    def pipeline(
        self, *, bucket: bool = True, obj: bool = True, role: bool = True, policy: bool = True
    ) -> None:
        """What the user's data pipeline sets up; each piece can be left out."""
        if bucket:
            self.target.s3.create_bucket(Bucket="pf-data")
        if obj:
            self.target.s3.put_object(
                Bucket="pf-data", Key="interactions.csv", Body=b"USER_ID,ITEM_ID,TIMESTAMP\n"
            )
        if policy:
            self.target.s3.put_bucket_policy(
                Bucket="pf-data", Policy=json.dumps(personalize_bucket_policy("pf-data"))
            )
        if role:
            self.target.iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(PERSONALIZE_TRUST))

    def errors(self) -> list[str]:
        return [f.text() for f in preflight(self.target, self.desired) if f.error]

    def plan(self) -> Any:
        live = read_live(self.target, self.desired, now=self.clock.now())
        return merge(plan(self.desired, live, PlanOptions(target="t")), preflight(self.target, self.desired))


@pytest.fixture
def account(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Account]:
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "all.yaml").write_text(MINI, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        clock = VirtualClock()
        emulator = PersonalizeEmulator(clock=clock)
        yield Account(Target.for_tests(emulator, clock, region=REGION), emulator, clock, load(Path("m")))


WHERE = "m/all.yaml:21:1: Dataset/interactions"


def test_a_complete_pipeline_passes(account: Account) -> None:
    account.pipeline()
    assert preflight(account.target, account.desired) == []
    assert account.plan().applyable


def test_missing_bucket_is_a_plan_error(account: Account) -> None:
    account.pipeline(bucket=False, obj=False, policy=False)
    (error,) = account.errors()
    assert error.startswith(
        f"{WHERE}: spec.dataImport.dataLocation: bucket 'pf-data' does not exist (NoSuchBucket)"
    )
    result = account.plan()
    assert not result.applyable and any("NoSuchBucket" in e for e in result.errors)


def test_missing_object_is_a_plan_error(account: Account) -> None:
    account.pipeline(obj=False)
    (error,) = account.errors()
    assert error.startswith(
        f"{WHERE}: spec.dataImport.dataLocation: no object at s3://pf-data/interactions.csv"
    )


def test_missing_object_with_a_local_file_is_fine(account: Account, tmp_path: Path) -> None:
    (tmp_path / "m" / "all.yaml").write_text(MINI + "    localFile: ../data.csv\n", encoding="utf-8")
    (tmp_path / "data.csv").write_text("USER_ID,ITEM_ID,TIMESTAMP\n", encoding="utf-8")
    account.desired = load(Path("m"))
    account.pipeline(obj=False)
    assert account.errors() == []


def test_missing_role_is_a_plan_error(account: Account) -> None:
    account.pipeline(role=False)
    (error,) = account.errors()
    assert error.startswith(
        f"{WHERE}: spec.dataImport.roleArn: role arn:aws:iam::123456789012:role/PersonalizeS3 does not exist"
    )


def test_role_without_the_personalize_trust_is_a_plan_error(account: Account) -> None:
    account.pipeline(role=False)
    ec2_trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    account.target.iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(ec2_trust))
    (error,) = account.errors()
    assert "does not trust personalize.amazonaws.com" in error and "spec.dataImport.roleArn" in error


def test_bucket_without_a_policy_or_without_the_personalize_principal_is_a_plan_error(
    account: Account,
) -> None:
    account.pipeline(policy=False)
    (error,) = account.errors()
    assert "bucket 'pf-data' has no bucket policy, so Personalize cannot read the data" in error
    other = personalize_bucket_policy("pf-data")
    other["Statement"][0]["Principal"] = {"AWS": "arn:aws:iam::123456789012:root"}
    account.target.s3.put_bucket_policy(Bucket="pf-data", Policy=json.dumps(other))
    (error,) = account.errors()
    assert "does not allow personalize.amazonaws.com s3:GetObject and s3:ListBucket" in error


def test_bucket_encrypted_with_a_missing_kms_key_is_an_error_and_an_existing_key_a_warning(
    account: Account,
) -> None:
    account.pipeline()
    kms = account.target.client("kms")

    def encrypt_with(key: str) -> None:
        account.target.s3.put_bucket_encryption(
            Bucket="pf-data",
            ServerSideEncryptionConfiguration={
                "Rules": [
                    {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}}
                ]
            },
        )

    encrypt_with("arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000")
    (error,) = account.errors()
    assert "which does not exist" in error
    key = kms.create_key()["KeyMetadata"]["Arn"]
    encrypt_with(key)
    findings = preflight(account.target, account.desired)
    assert [f.error for f in findings] == [False]
    assert "needs kms:Decrypt" in findings[0].message


def test_access_denied_is_a_warning_saying_what_was_not_checked(account: Account) -> None:
    from botocore.exceptions import ClientError

    account.pipeline()
    denied = ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "GetRole")
    with mock.patch.object(account.target.iam, "get_role", side_effect=denied):
        findings = preflight(account.target, account.desired)
    assert [(f.error, f.field) for f in findings] == [(False, "spec.dataImport.roleArn")]
    assert "was not checked: the plan role may not read it (AccessDenied)" in findings[0].message


def test_findings_only_count_for_datasets_the_plan_creates_or_imports(account: Account) -> None:
    account.pipeline(obj=False)
    result = account.plan()
    assert not result.applyable  # the dataset is created: its import needs the object
    quiet = merge(
        type(result)(changes=(), stack=result.stack, target=result.target, manifests_digest=""),
        preflight(account.target, account.desired),
    )
    assert quiet.errors == ()


def test_policy_readers() -> None:
    assert trusts_personalize(PERSONALIZE_TRUST)
    assert not trusts_personalize(
        {
            "Statement": [
                {
                    "Effect": "Deny",
                    "Principal": {"Service": "personalize.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ]
        }
    )
    assert policy_lets_personalize_read(personalize_bucket_policy("b")) == (True, True)
    statement = {
        "Effect": "Allow",
        "Principal": {"Service": ["personalize.amazonaws.com"]},
        "Action": "s3:GetObject",
    }
    assert policy_lets_personalize_read({"Statement": statement}) == (True, False)


def test_plan_command_refuses_an_empty_local_account(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The issue's case: plan against an empty account showed 15 creates and apply failed on NoSuchBucket."""
    from typer.testing import CliRunner

    from reconciler.cli import app

    shutil.copytree(REPO / "manifests", tmp_path / "manifests")
    shutil.copytree(REPO / "data", tmp_path / "data")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    result = CliRunner().invoke(app, ["plan", "manifests", "--local", "--no-color"])
    assert result.exit_code == 1
    assert (
        "Error: manifests/retail/datasets.yaml:5:1: Dataset/personalize-immersion-day-dataset-interactions: "
        "spec.dataImport.dataLocation: bucket '123456789012-us-east-1-personalize-immersionday-retail' "
        "does not exist (NoSuchBucket)" in result.output
    )
    assert "role arn:aws:iam::123456789012:role/PersonalizeS3 does not exist" in result.output


def test_apply_refuses_an_empty_local_account_before_changing_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """apply (no saved plan) runs the same preflight as plan: the missing bucket and role are plan errors
    shown before anything changes. Before, apply skipped preflight, created 12 resources and then failed
    every import on NoSuchBucket."""
    from typer.testing import CliRunner

    from reconciler.cli import app

    shutil.copytree(REPO / "manifests", tmp_path / "manifests")
    shutil.copytree(REPO / "data", tmp_path / "data")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    result = CliRunner().invoke(app, ["apply", "manifests", "--local", "--auto-approve", "--no-wait"])
    assert result.exit_code == 1, result.output
    assert "The plan is refused, nothing was applied" in result.output
    assert (
        "manifests/retail/datasets.yaml:5:1: Dataset/personalize-immersion-day-dataset-interactions: "
        "spec.dataImport.dataLocation: bucket '123456789012-us-east-1-personalize-immersionday-retail' "
        "does not exist (NoSuchBucket)" in result.output
    )
    assert "role arn:aws:iam::123456789012:role/PersonalizeS3 does not exist" in result.output
    assert "start    create" not in result.output and "Apply failed" not in result.output
    plan = CliRunner().invoke(app, ["plan", "manifests", "--local", "--no-color"])
    assert "Plan: 15 to create" in plan.output, "apply changed the account"


def _three_groups() -> str:
    """MINI with two more groups whose interactions share the bucket, the role and (one) the location."""
    text = MINI
    for group, key in (("shop2", "other.csv"), ("shop3", "interactions.csv")):
        text += f"""---
apiVersion: personalize-gitops/v1alpha1
kind: DatasetGroup
metadata: {{name: {group}}}
---
apiVersion: personalize-gitops/v1alpha1
kind: Dataset
metadata: {{name: {group}-interactions}}
spec:
  datasetGroup: {group}
  datasetType: INTERACTIONS
  schema: interactions
  dataImport:
    dataLocation: s3://pf-data/{key}
    roleArn: arn:aws:iam::123456789012:role/PersonalizeS3
"""
    return text


def _count_calls() -> Any:
    """Patch botocore so every API call of any client is counted by (service, operation)."""
    from collections import Counter

    from botocore.client import BaseClient

    counted: Counter[tuple[str, str]] = Counter()
    real = BaseClient._make_api_call

    def counting(client: Any, operation: str, params: Any) -> Any:
        counted[client.meta.service_model.service_name, operation] += 1
        return real(client, operation, params)

    return counted, mock.patch.object(BaseClient, "_make_api_call", counting)


def test_reads_are_made_once_per_bucket_role_location_and_key(account: Account, tmp_path: Path) -> None:
    """Issue 15: preflight read the bucket's encryption (and DescribeKey) once per dataset; now one read per
    bucket, location, role and key, whatever the number of datasets using them."""
    (tmp_path / "m" / "all.yaml").write_text(_three_groups(), encoding="utf-8")
    account.desired = load(Path("m"))
    account.pipeline()
    key = account.target.client("kms").create_key()["KeyMetadata"]["Arn"]
    account.target.s3.put_bucket_encryption(
        Bucket="pf-data",
        ServerSideEncryptionConfiguration={
            "Rules": [
                {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}}
            ]
        },
    )
    counted, patch = _count_calls()
    with patch:
        findings = preflight(account.target, account.desired)
    assert dict(counted) == {
        ("s3", "ListObjectsV2"): 3,  # the bucket probe + the two distinct locations
        ("s3", "GetBucketPolicy"): 1,
        ("s3", "GetBucketEncryption"): 1,
        ("kms", "DescribeKey"): 1,
        ("iam", "GetRole"): 1,
    }
    # the missing object is reported, and the KMS reminder once per dataset, in the manifests' order
    assert [(f.address.name, f.error) for f in findings] == [
        ("interactions", False),
        ("shop2-interactions", True),
        ("shop2-interactions", False),
        ("shop3-interactions", False),
    ]
    assert "no object at s3://pf-data/other.csv" in findings[1].message


@pytest.mark.parametrize("pieces", [{}, {"policy": False}, {"role": False, "obj": False}, {"bucket": False}])
def test_parallel_reads_give_the_findings_of_one_call_at_a_time(
    account: Account, tmp_path: Path, pieces: dict[str, bool]
) -> None:
    (tmp_path / "m" / "all.yaml").write_text(_three_groups(), encoding="utf-8")
    account.desired = load(Path("m"))
    if not pieces.get("bucket", True):
        pieces = {"bucket": False, "obj": False, "policy": False}
    account.pipeline(**pieces)
    one_at_a_time = preflight(account.target, account.desired, concurrency=1)
    assert preflight(account.target, account.desired, concurrency=16) == one_at_a_time
    assert len(one_at_a_time) >= 1  # the other.csv location is missing in every case


def test_only_the_datasets_the_plan_acts_on_are_checked(account: Account) -> None:
    """A no-op plan makes no preflight call (merge drops every finding of a dataset the plan leaves alone)."""
    account.pipeline(bucket=False, obj=False, policy=False, role=False)
    live = read_live(account.target, account.desired, now=account.clock.now())
    planned = plan(account.desired, live, PlanOptions(target="t"))
    assert DATASET in needs_checks(planned)  # created: its import needs the data
    counted, patch = _count_calls()
    with patch:
        assert preflight(account.target, account.desired, frozenset()) == []
    assert not counted
    checked = preflight(account.target, account.desired, needs_checks(planned))
    assert merge(planned, checked).errors == merge(planned, preflight(account.target, account.desired)).errors
    assert not merge(planned, checked).applyable
