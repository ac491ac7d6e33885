"""Helpers of the apply tests: sample stacks on the emulator, reached through real boto3 clients, in virtual
time (fixtures in conftest.py)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from reconciler.apply.executor import ApplyOptions, apply_plan
from reconciler.apply.progress import RecordingReporter
from reconciler.apply.run import ApplyResult, run_apply
from reconciler.aws.personalize_access import grant_for_manifests
from reconciler.aws.target import Target
from reconciler.emulator import PersonalizeEmulator, VirtualClock
from reconciler.manifest import load
from reconciler.model.state import DesiredState, LiveState
from reconciler.plan.planner import PlanOptions, plan
from reconciler.plan.types import Plan

REPO = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
#: Contract checks of every emulator response (strict mode).
STRICT = True


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
        identity = self.target.identity()
        return plan(self.desired, current, PlanOptions(target="test", target_identity=identity, **options))

    def apply(self, *, plan_options: dict[str, Any] | None = None, **kwargs: Any) -> ApplyResult:
        reporter = kwargs.pop("reporter", None) or RecordingReporter()
        options = ApplyOptions(**kwargs.pop("options", {}))
        extra = plan_options or {}
        return run_apply(
            self.desired,
            self.target,
            read_live=self.live,
            plan_options=PlanOptions(target="test", **extra),
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


@contextmanager
def emulated_world(manifests: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """A `World` on a fresh emulated account (fake credentials, virtual clock, the stack's bucket made)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        clock = VirtualClock()
        emulator = PersonalizeEmulator(clock=clock, strict=STRICT)
        target = Target.for_tests(emulator, clock, region=REGION)
        desired = load(manifests)
        target.s3.create_bucket(Bucket=desired.stack.settings.variables["bucket"])
        grant_for_manifests(target.s3, target.iam, desired)
        yield World(emulator, clock, target, manifests, desired)


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with emulated_world(copy_samples(tmp_path), monkeypatch) as world:
        yield world


STACK = """apiVersion: personalize-gitops/v1alpha1
kind: Stack
metadata: {{name: mini}}
spec:
  region: us-east-1
  accountId: "123456789012"
  namePrefix: mini-
  variables: {{bucket: mini-data}}
  prune: {{enabled: {prune}, allowDataLoss: {data_loss}}}
{outputs}"""

RESOURCES = """apiVersion: personalize-gitops/v1alpha1
kind: DatasetGroup
metadata: {{name: shop}}
spec: {{}}
---
apiVersion: personalize-gitops/v1alpha1
kind: Schema
metadata: {{name: interactions}}
spec:
  avro:
    name: Interactions
    fields:
      - {{name: ITEM_ID, type: string}}
      - {{name: USER_ID, type: string}}
      - {{name: EVENT_TYPE, type: string}}
      - {{name: TIMESTAMP, type: long}}
      - {{name: DISCOUNT, type: string, categorical: true}}
---
apiVersion: personalize-gitops/v1alpha1
kind: Dataset
metadata: {{name: interactions}}
spec:
  datasetGroup: shop
  datasetType: INTERACTIONS
  schema: interactions
  dataImport:
    dataLocation: s3://${{bucket}}/interactions.csv
    roleArn: arn:aws:iam::123456789012:role/PersonalizeS3
    localFile: ../data/interactions.csv
{solution}"""

SOLUTION = """---
apiVersion: personalize-gitops/v1alpha1
kind: Solution
metadata: {{name: sims}}
spec:
  datasetGroup: shop
  recipeArn: {recipe}
{solution_config}---
apiVersion: personalize-gitops/v1alpha1
kind: Campaign
metadata: {{name: sims}}
spec:
  solution: sims
  minProvisionedTPS: {tps}
  promotion:
    maxRegression: {{normalized_discounted_cumulative_gain_at_25: 0.1}}
{pin}"""

FILTER = """---
apiVersion: personalize-gitops/v1alpha1
kind: Filter
metadata: {{name: purchased}}
spec:
  datasetGroup: shop
  filterExpression: '{expression}'
{lifecycle}"""


def write_mini(
    root: Path,
    *,
    tps: int = 1,
    recipe: str = "aws-sims",
    solution_config: str = "",
    prune: bool = False,
    data_loss: bool = False,
    filter_expression: str | None = 'EXCLUDE itemId WHERE INTERACTIONS.event_type in ("OrderCompleted")',
    protect_filter: bool = False,
    ssm_prefix: str | None = None,
    with_solution: bool = True,
    pin: str | None = None,
) -> Path:
    """A small stack (group, schema, dataset + import, solution, campaign with a gate, filter)."""
    mdir = root / "mini"
    mdir.mkdir(parents=True, exist_ok=True)
    data = root / "data" / "interactions.csv"
    if not data.exists():
        data.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / "data" / "sample" / "interactions.csv", data)
    (mdir / "stack.yaml").write_text(
        STACK.format(
            prune=str(prune).lower(),
            data_loss=str(data_loss).lower(),
            outputs=f"  outputs: {{ssmPrefix: {ssm_prefix}}}\n" if ssm_prefix else "",
        ),
        encoding="utf-8",
    )
    filt = ""
    if filter_expression is not None:
        lifecycle = "lifecycle: {deletionProtection: true}\n" if protect_filter else ""
        filt = FILTER.format(expression=filter_expression, lifecycle=lifecycle)
    (mdir / "resources.yaml").write_text(
        RESOURCES.format(
            solution=SOLUTION.format(
                tps=tps,
                recipe=recipe,
                solution_config=solution_config,
                pin=f"  solutionVersion: {pin}\n" if pin else "",
            )
            if with_solution
            else ""
        )
        + filt,
        encoding="utf-8",
    )
    return mdir


DOMAIN_RESOURCES = """apiVersion: personalize-gitops/v1alpha1
kind: DatasetGroup
metadata: {name: shop}
spec: {domain: ECOMMERCE}
---
apiVersion: personalize-gitops/v1alpha1
kind: Schema
metadata: {name: interactions}
spec:
  domain: ECOMMERCE
  avro:
    name: Interactions
    fields:
      - {name: ITEM_ID, type: string}
      - {name: USER_ID, type: string}
      - {name: EVENT_TYPE, type: string}
      - {name: TIMESTAMP, type: long}
      - {name: DISCOUNT, type: string, categorical: true}
---
apiVersion: personalize-gitops/v1alpha1
kind: Dataset
metadata: {name: interactions}
spec:
  datasetGroup: shop
  datasetType: INTERACTIONS
  schema: interactions
  dataImport:
    dataLocation: s3://${bucket}/interactions.csv
    roleArn: arn:aws:iam::123456789012:role/PersonalizeS3
    localFile: ../data/interactions.csv
"""

RECOMMENDER = """---
apiVersion: personalize-gitops/v1alpha1
kind: Recommender
metadata: {name: for-you}
spec: {datasetGroup: shop, recipeArn: aws-ecomm-recommended-for-you}
"""

EVENT_TRACKER = """---
apiVersion: personalize-gitops/v1alpha1
kind: EventTracker
metadata: {name: clicks}
spec: {datasetGroup: shop}
"""


def write_domain(root: Path, *, prune: bool, recommender: bool = True, event_tracker: bool = True) -> Path:
    """The mini stack's files rewritten as an ECOMMERCE domain group with a recommender and an event tracker
    (same stack, bucket and data file as `write_mini`)."""
    mdir = write_mini(root, prune=prune)
    text = DOMAIN_RESOURCES + (RECOMMENDER if recommender else "") + (EVENT_TRACKER if event_tracker else "")
    (mdir / "resources.yaml").write_text(text, encoding="utf-8")
    return mdir


@pytest.fixture
def mini(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with emulated_world(write_mini(tmp_path), monkeypatch) as world:  # the mini stack's bucket: mini-data
        world.root = tmp_path  # type: ignore[attr-defined]
        yield world
