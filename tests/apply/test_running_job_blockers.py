"""Issue 11: a running job started outside the stack blocks a delete, and the PLAN says so (the blocker and
what to do) instead of apply stopping someone else's work. Against the emulator through real boto3 clients,
in virtual time."""

from __future__ import annotations

import pytest
from apply_support import RESOURCES, write_mini

from reconciler.errors import PlanError
from reconciler.model.address import Address, Kind
from reconciler.model.state import TAG_STACK
from reconciler.plan.types import Action

SOLUTION = Address(Kind.SOLUTION, "sims")
#: The mini stack's dataset group and schema, without the dataset (its first two documents).
GROUP_AND_SCHEMA_ONLY = "---\n".join(RESOURCES.format(solution="").split("---\n")[:2])


def _applied(mini) -> None:
    write_mini(mini.root, prune=True, data_loss=True)
    mini.reload()
    assert mini.apply().exit_code == 0


def _solution_arn(mini) -> str:
    return str(mini.personalize.list_solutions()["solutions"][0]["solutionArn"])


def test_someone_elses_training_blocks_the_solution_delete_at_plan_time(mini) -> None:
    _applied(mini)
    started = mini.personalize.create_solution_version(name="by-hand", solutionArn=_solution_arn(mini))
    version = started["solutionVersionArn"]
    write_mini(mini.root, prune=True, data_loss=True, with_solution=False)
    mini.reload()
    planned = mini.plan()
    blocked = [e for e in planned.errors if e.startswith("Solution/sims: cannot be deleted")]
    assert len(blocked) == 1, planned.errors
    assert version.rsplit("/", 1)[-1] in blocked[0] and "started outside this stack" in blocked[0]
    assert f"stop-solution-version-creation --solution-version-arn {version}" in blocked[0]
    delete = next(c for c in planned.changes if c.action is Action.DELETE and c.address == SOLUTION)
    assert not delete.allowed
    calls = mini.mutating_calls()
    with pytest.raises(PlanError):
        mini.apply()
    assert mini.mutating_calls() == calls  # refused before any call: the training was not stopped
    described = mini.personalize.describe_solution_version(solutionVersionArn=version)["solutionVersion"]
    assert not described["status"].startswith("CREATE STOP")


def test_the_stacks_own_training_does_not_block_the_solution_delete(mini) -> None:
    _applied(mini)
    mini.personalize.create_solution_version(
        name="ours",
        solutionArn=_solution_arn(mini),
        tags=[{"tagKey": TAG_STACK, "tagValue": "mini"}],
    )
    write_mini(mini.root, prune=True, data_loss=True, with_solution=False)
    mini.reload()
    planned = mini.plan()
    assert not planned.errors  # an earlier apply's training: apply stops it, as before
    assert mini.apply().exit_code == 0
    assert mini.personalize.list_solutions()["solutions"] == []


def test_someone_elses_import_blocks_the_dataset_delete_at_plan_time(mini) -> None:
    _applied(mini)
    dataset = mini.personalize.list_datasets()["datasets"][0]["datasetArn"]
    mini.personalize.create_dataset_import_job(
        jobName="by-hand-import",
        datasetArn=dataset,
        dataSource={"dataLocation": "s3://mini-data/interactions.csv"},
        roleArn="arn:aws:iam::123456789012:role/PersonalizeS3",
    )
    write_mini(mini.root, prune=True, data_loss=True, with_solution=False, filter_expression=None)
    (mini.root / "mini" / "resources.yaml").write_text(GROUP_AND_SCHEMA_ONLY)
    mini.reload()
    planned = mini.plan()
    blocked = [e for e in planned.errors if e.startswith("Dataset/interactions: cannot be deleted")]
    assert len(blocked) == 1, planned.errors
    assert "import job by-hand-import" in blocked[0] and "wait until it has finished" in blocked[0]
    calls = mini.mutating_calls()
    with pytest.raises(PlanError):
        mini.apply()
    assert mini.mutating_calls() == calls
