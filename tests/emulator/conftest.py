"""Fixtures for the emulator's own tests: an instant-profile emulator in strict mode, and a data factory."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from emu_support import INTERACTIONS_SCHEMA, interactions_csv, role_arn
from moto import mock_aws

from reconciler.emulator import DurationProfile, PersonalizeEmulator, VirtualClock, emulated_client

REGION = "eu-west-1"


@dataclass
class Env:
    emulator: PersonalizeEmulator
    clock: VirtualClock
    client: Any
    s3: Any
    bucket: str = "emu-data"

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

    def trainable_group(self, name: str = "dg", csv: bytes | None = None) -> str:
        """A dataset group with an interactions dataset whose import is ACTIVE (instant profile)."""
        dg = self.group(name)
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
        emulator = PersonalizeEmulator(clock=clock, profile=DurationProfile.instant(), strict=True)
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="emu-data", CreateBucketConfiguration={"LocationConstraint": REGION})
        yield Env(emulator, clock, emulated_client(emulator, REGION), s3)
