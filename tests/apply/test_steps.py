"""The step graph the executor builds from a plan (no AWS calls: only construction)."""

from __future__ import annotations

from pathlib import Path

from apply_support import write_mini

from reconciler.apply.executor import Executor
from reconciler.manifest import load
from reconciler.model.address import Address, Kind
from reconciler.model.state import LiveState
from reconciler.plan.types import Action, Change, Plan, ReplaceOrder, TrainPayload

CAMPAIGN = Address(Kind.CAMPAIGN, "sims")
SOLUTION = Address(Kind.SOLUTION, "sims")
GROUP = Address(Kind.DATASET_GROUP, "shop")
DATASET = Address(Kind.DATASET, "interactions")
FILTER = Address(Kind.FILTER, "purchased")


class Clock:
    def now(self) -> float:
        return 0.0

    def sleep(self, seconds: float) -> None:
        raise AssertionError("no waiting while building the graph")


def steps_of(tmp_path: Path, *changes: Change):
    desired = load(write_mini(tmp_path))
    plan = Plan(changes=changes, stack="mini", target="test", manifests_digest=desired.digest)
    executor = Executor(plan, desired, LiveState(resources={}), personalize=None, clock=Clock())
    return {key: step.deps for key, step in executor.steps.items()}


def test_superseded_half_is_deleted_after_its_campaign_moved(tmp_path: Path) -> None:
    old = Address(Kind.SOLUTION, "sims@mini-sims")
    deps = steps_of(
        tmp_path,
        Change(SOLUTION, Action.RETRAIN, payload=TrainPayload(training_mode="FULL")),
        Change(CAMPAIGN, Action.PROMOTE, depends_on=(SOLUTION,)),
        Change(old, Action.DELETE, arn="arn:old", depends_on=(CAMPAIGN,)),
    )
    assert deps["delete:Solution/sims@mini-sims"] == {"promote:Campaign/sims"}
    assert deps["promote:Campaign/sims"] == {"train:Solution/sims"}


def test_destroy_before_create_orders_deletes_children_first_and_creates_parents_first(
    tmp_path: Path,
) -> None:
    replace = {"replace_order": ReplaceOrder.DESTROY_BEFORE_CREATE, "arn": "arn:x"}
    deps = steps_of(
        tmp_path,
        Change(GROUP, Action.REPLACE, **replace),
        Change(DATASET, Action.REPLACE, depends_on=(GROUP,), **replace),
        Change(DATASET, Action.IMPORT, depends_on=(DATASET,)),
        Change(FILTER, Action.REPLACE, depends_on=(GROUP,), **replace),
    )
    # deletes: filter before dataset before group (reverse dependency order)
    assert "delete replaced:Filter/purchased" in deps["delete replaced:Dataset/interactions"]
    assert "delete replaced:Dataset/interactions" in deps["delete replaced:DatasetGroup/shop"]
    # creates: each after its own delete and after its parent's create; the import after the dataset
    assert deps["create replacement:DatasetGroup/shop"] == {"delete replaced:DatasetGroup/shop"}
    assert deps["create replacement:Dataset/interactions"] == {
        "delete replaced:Dataset/interactions",
        "create replacement:DatasetGroup/shop",
    }
    assert "create replacement:Dataset/interactions" in deps["import:Dataset/interactions"]
    assert "create replacement:Dataset/interactions" in deps["create replacement:Filter/purchased"]


def test_training_waits_for_imports_of_its_group_and_campaign_for_training(tmp_path: Path) -> None:
    deps = steps_of(
        tmp_path,
        Change(DATASET, Action.IMPORT),
        Change(SOLUTION, Action.RETRAIN, depends_on=(DATASET,)),
        Change(CAMPAIGN, Action.PROMOTE, depends_on=(SOLUTION,)),
        Change(FILTER, Action.UPDATE),
    )
    assert deps["train:Solution/sims"] == {"import:Dataset/interactions"}
    assert deps["promote:Campaign/sims"] == {"train:Solution/sims"}
    assert deps["update:Filter/purchased"] == set()  # a filter does not wait for data
