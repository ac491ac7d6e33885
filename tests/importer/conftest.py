"""An emulated account (Personalize emulator + moto, virtual time) reached through a real boto3 target."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from reconciler.apply.progress import RecordingReporter
from reconciler.apply.run import ApplyResult, run_apply
from reconciler.aws.target import Target
from reconciler.emulator import PersonalizeEmulator, VirtualClock
from reconciler.importer import ImportResult, import_groups, write_manifests
from reconciler.live.reader import read_live
from reconciler.manifest import load
from reconciler.model.state import DesiredState, LiveState
from reconciler.plan.planner import PlanOptions, plan
from reconciler.plan.types import Plan

from .workshop import Workshop, build_workshop

REGION = "us-east-1"


@dataclass
class Account:
    emulator: PersonalizeEmulator
    clock: VirtualClock
    target: Target
    tmp: Path

    @property
    def personalize(self) -> Any:
        return self.target.personalize

    @property
    def account(self) -> str:
        return self.emulator.account

    def workshop(self) -> Workshop:
        return build_workshop(
            self.personalize, self.target.s3, self.clock, account=self.account, region=REGION
        )

    def import_(self, groups: list[str] | None, *, stack: str = "retail", prefix: str = "") -> ImportResult:
        return import_groups(
            self.personalize, groups=groups, stack=stack, prefix=prefix, region=REGION, account=self.account
        )

    def import_and_write(self, groups: list[str] | None, out: Path | None = None, **kwargs: Any) -> Path:
        out = out or self.tmp / "imported"
        result = self.import_(groups, **kwargs)
        write_manifests(result, out, source="test emulator")
        return out

    def live(self, desired: DesiredState) -> LiveState:
        return read_live(self.target, desired, now=self.clock.now())

    def plan(self, desired: DesiredState, **options: Any) -> Plan:
        return plan(desired, self.live(desired), PlanOptions(target="test", **options))

    def apply(self, desired: DesiredState) -> ApplyResult:
        return run_apply(
            desired,
            self.target,
            read_live=lambda: self.live(desired),
            plan_options=PlanOptions(target="test"),
            reporter=RecordingReporter(),
        )

    def load(self, path: Path) -> DesiredState:
        return load(path)


@pytest.fixture
def acct(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Account]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.chdir(tmp_path)
    with mock_aws():
        clock = VirtualClock()
        emulator = PersonalizeEmulator(clock=clock, strict=True)
        target = Target.for_tests(emulator, clock, region=REGION)
        yield Account(emulator, clock, target, tmp_path)
