"""The suite's audit can fail: it sees a second training, a second import, an extra resource and lost data."""

from __future__ import annotations

import copy
from pathlib import Path

from .support import audit, seed_world


def test_audit_finds_duplicates_and_lost_data(tmp_path: Path) -> None:
    with seed_world(tmp_path) as world:
        assert world.apply().exit_code == 0
        snapshot = world.emulator.snapshot()
        account = world.emulator.account
        assert audit(snapshot, world.desired, account).clean

        p = world.target.personalize
        solution = p.list_solutions()["solutions"][0]["solutionArn"]
        p.create_solution_version(solutionArn=solution)
        dataset = next(d for d in p.list_datasets()["datasets"] if d["datasetType"] == "ITEMS")
        job = p.list_dataset_import_jobs(datasetArn=dataset["datasetArn"])["datasetImportJobs"][0]
        found = p.describe_dataset_import_job(datasetImportJobArn=job["datasetImportJobArn"])[
            "datasetImportJob"
        ]
        p.create_dataset_import_job(
            jobName="again",
            datasetArn=dataset["datasetArn"],
            dataSource=found["dataSource"],
            roleArn=found["roleArn"],
        )
        group = p.list_dataset_groups()["datasetGroups"][0]["datasetGroupArn"]
        p.create_filter(name="stray", datasetGroupArn=group, filterExpression=_expression(p, group))
        result = audit(world.emulator.snapshot(), world.desired, account)
        assert result.duplicates == 3, result.details
        assert any("duplicate training" in d for d in result.details)
        assert any("duplicate import" in d for d in result.details)
        assert any("unexpected Filter" in d for d in result.details)

        # a dataset gone (its group's data lost), and an import that never succeeded
        lost = copy.deepcopy(snapshot)
        resources = lost["regions"][0]["state"]["resources"]
        gone = next(iter(resources["dataset"]))
        del resources["dataset"][gone]
        for job_record in resources["dataset_import_job"].values():
            job_record["status"] = "CREATE FAILED"
        result = audit(lost, world.desired, account)
        assert result.data_lost == 3, result.details  # one dataset gone, the other two never imported
        assert not result.clean


def _expression(p: object, group: str) -> str:
    del p, group
    return 'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("OrderCompleted")'
