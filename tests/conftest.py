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


def golden_rewrites(config: pytest.Config) -> list[str]:
    """Unified diffs of the golden files `--update-golden` rewrote in this run (printed at the end); kept on
    the config, which test modules and this conftest share."""
    found: list[str] | None = getattr(config, "_golden_rewrites", None)
    if found is None:
        found = []
        config._golden_rewrites = found  # type: ignore[attr-defined]
    return found


def pytest_terminal_summary(terminalreporter: Any) -> None:
    config = terminalreporter.config
    if not config.getoption("--update-golden"):
        return
    diffs = golden_rewrites(config)
    if not diffs:
        terminalreporter.write_sep("=", "--update-golden: every golden file was already current")
        return
    terminalreporter.write_sep("=", f"--update-golden rewrote {len(diffs)} golden file(s)")
    for diff in diffs:
        terminalreporter.write(diff if diff.endswith("\n") else diff + "\n")
