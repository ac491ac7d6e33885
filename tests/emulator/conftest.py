"""Fixtures for the emulator's own tests: an instant-profile emulator in strict mode, and a data factory."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from emu_support import INTERACTIONS_SCHEMA, grant_personalize, interactions_csv, role_arn
from moto import mock_aws

from reconciler.emulator import DurationProfile, PersonalizeEmulator, VirtualClock, emulated_client

REGION = "eu-west-1"


_S3: list[Any] = []
_IAM: list[Any] = []


def shared_s3() -> Any:
    """One moto-answered S3 client for the whole run (creating boto3 clients is the slow part of setup)."""
    if not _S3:
        _S3.append(
            boto3.client(
                "s3", region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
            )
        )
    return _S3[0]


def shared_iam() -> Any:
    """One moto-answered IAM client for the whole run."""
    if not _IAM:
        _IAM.append(
            boto3.client(
                "iam", region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
            )
        )
    return _IAM[0]


@dataclass
class Env:
    emulator: PersonalizeEmulator
    clock: VirtualClock
    _client: Any
    s3: Any
    bucket: str = "emu-data"

    @property
    def client(self) -> Any:
        """A real boto3 personalize client answered by this emulator (created on first use)."""
        if self._client is None:
            self._client = emulated_client(self.emulator, REGION)
        return self._client

    @property
    def role(self) -> str:
        return role_arn(self.emulator.account)

    def call(self, operation: str, **params: Any) -> dict[str, Any]:
        return self.emulator.handle(operation, params, REGION, self.emulator.account)

    def put(self, key: str, body: bytes) -> str:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)
        return f"s3://{self.bucket}/{key}"

    def group(self, name: str = "dg", **extra: Any) -> str:
        return str(self.call("CreateDatasetGroup", name=name, **extra)["datasetGroupArn"])

    def trainable_group(self, name: str = "dg", csv: bytes | None = None, wait: float = 0.0) -> str:
        """A dataset group with an interactions dataset and an import job (ACTIVE at once with the instant
        profile; otherwise ``wait`` virtual seconds pass after each create)."""
        dg = self.group(name)
        self.clock.advance(wait)
        schema = self.call("CreateSchema", name=f"{name}-interactions", schema=INTERACTIONS_SCHEMA)[
            "schemaArn"
        ]
        ds = self.call(
            "CreateDataset",
            name=f"{name}-interactions",
            datasetGroupArn=dg,
            schemaArn=schema,
            datasetType="Interactions",
        )["datasetArn"]
        self.clock.advance(wait)
        url = self.put(f"{name}/interactions.csv", csv if csv is not None else interactions_csv())
        self.call(
            "CreateDatasetImportJob",
            jobName=f"{name}-import",
            datasetArn=ds,
            dataSource={"dataLocation": url},
            roleArn=self.role,
        )
        return dg

    def solution(
        self, dg: str, name: str = "sol", recipe: str = "aws-user-personalization", **extra: Any
    ) -> str:
        return str(
            self.call(
                "CreateSolution",
                name=name,
                datasetGroupArn=dg,
                recipeArn=f"arn:aws:personalize:::recipe/{recipe}",
                **extra,
            )["solutionArn"]
        )

    def version(self, solution: str, **extra: Any) -> str:
        return str(self.call("CreateSolutionVersion", solutionArn=solution, **extra)["solutionVersionArn"])


@pytest.fixture
def env() -> Iterator[Env]:
    with mock_aws():
        clock = VirtualClock()
        s3, iam = shared_s3(), shared_iam()
        emulator = PersonalizeEmulator(
            clock=clock,
            profile=DurationProfile.instant(),
            strict=True,
            s3_client_factory=lambda _region: s3,
            iam_client_factory=lambda _region: iam,
        )
        s3.create_bucket(Bucket="emu-data", CreateBucketConfiguration={"LocationConstraint": REGION})
        grant_personalize(s3, iam, "emu-data", emulator.account)
        yield Env(emulator, clock, None, s3)
