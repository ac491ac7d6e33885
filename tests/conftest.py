"""Shared fixtures. ``emulator_env``: the Personalize emulator behind a real boto3 client, next to moto."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from reconciler.emulator import PersonalizeEmulator, VirtualClock, emulated_client


@dataclass
class EmulatorEnv:
    emulator: PersonalizeEmulator
    clock: VirtualClock
    personalize: Any  # boto3 personalize client answered by the emulator
    s3: Any  # boto3 s3 client answered by moto
    region: str
    account: str


@pytest.fixture
def emulator_env() -> Iterator[EmulatorEnv]:
    """Realistic durations in virtual time (advance ``clock``), strict contract checks, moto for S3 etc."""
    region = "eu-west-1"
    with mock_aws():
        clock = VirtualClock()
        emulator = PersonalizeEmulator(clock=clock, strict=True)
        yield EmulatorEnv(
            emulator=emulator,
            clock=clock,
            personalize=emulated_client(emulator, region),
            s3=boto3.client("s3", region_name=region),
            region=region,
            account=emulator.account,
        )


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite the golden files under tests/golden/ from the current renderers",
    )
