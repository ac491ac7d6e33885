"""A sample stack on the emulator, reached through real boto3 clients, in virtual time."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from reconciler.apply.executor import ApplyOptions, apply_plan
from reconciler.apply.progress import RecordingReporter
from reconciler.apply.run import ApplyResult, run_apply
from reconciler.aws.target import Target
from reconciler.emulator import PersonalizeEmulator, VirtualClock
from reconciler.manifest import load
from reconciler.model.state import DesiredState, LiveState
from reconciler.plan.planner import PlanOptions, plan
from reconciler.plan.types import Plan

REPO = Path(__file__).resolve().parents[2]
REGION = "us-east-1"


def copy_samples(dest: Path) -> Path:
    """manifests/ and data/sample/ side by side (the manifests refer to ../../data/sample)."""
    shutil.copytree(REPO / "manifests", dest / "manifests")
    shutil.copytree(REPO / "data" / "sample", dest / "data" / "sample")
    return dest / "manifests"


@dataclass
class World:
    emulator: PersonalizeEmulator
    clock: VirtualClock
    target: Target
    manifests: Path
    desired: DesiredState

    @property
    def personalize(self) -> Any:
        return self.target.personalize

    def reload(self, path: Path | None = None) -> DesiredState:
        self.desired = load(path or self.manifests)
        return self.desired

    def live(self) -> LiveState:
        from reconciler.live.reader import read_live

        return read_live(self.target, self.desired, now=self.clock.now())

    def plan(self, live: LiveState | None = None, **options: Any) -> Plan:
        current = live if live is not None else self.live()
        return plan(self.desired, current, PlanOptions(target="test", **options))

    def apply(self, *, plan_options: dict[str, Any] | None = None, **kwargs: Any) -> ApplyResult:
        reporter = kwargs.pop("reporter", None) or RecordingReporter()
        options = ApplyOptions(**kwargs.pop("options", {}))
        extra = plan_options or {}
        return run_apply(
            self.desired,
            self.target,
            read_live=self.live,
            make_plan=lambda live: plan(self.desired, live, PlanOptions(target="test", **extra)),
            reporter=reporter,
            options=options,
            **kwargs,
        )

    def apply_plan(self, p: Plan, live: LiveState, **options: Any):
        reporter = RecordingReporter()
        report = apply_plan(
            p,
            self.desired,
            live,
            personalize=self.personalize,
            clock=self.clock,
            s3=self.target.s3,
            region=REGION,
            account_id=self.emulator.account,
            reporter=reporter,
            options=ApplyOptions(**options),
        )
        return report, reporter

    def mutating_calls(self) -> int:
        return self.emulator.call_count(mutating=True)


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    manifests = copy_samples(tmp_path)
    with mock_aws():
        clock = VirtualClock()
        emulator = PersonalizeEmulator(clock=clock, strict=True)
        target = Target.for_tests(emulator, clock, region=REGION)
        desired = load(manifests)
        target.s3.create_bucket(Bucket=desired.stack.settings.variables["bucket"])
        yield World(emulator, clock, target, manifests, desired)
