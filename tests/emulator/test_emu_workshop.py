"""The seed workshop's own boto3 calls, unchanged, against the emulator (realistic virtual durations)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from emu_support import (
    INTERACTIONS_SCHEMA,
    ITEMS_SCHEMA,
    USERS_SCHEMA,
    interactions_csv,
    items_csv,
    users_csv,
)

from reconciler.emulator.metrics import METRIC_KEYS

ROLE_NAME = "123456789012-PersonalizeS3"


def wait_for(
    env: Any, describe: Any, key: str, poll: float = 60.0, limit: float = 6 * 3600
) -> dict[str, Any]:
    """The notebook's polling loop, with ``time.sleep(60)`` replaced by advancing the virtual clock."""
    waited = 0.0
    while True:
        resource = describe()[key]
        if resource["status"] in ("ACTIVE", "CREATE FAILED"):
            return dict(resource)
        assert waited < limit, f"{key} stuck in {resource['status']}"
        env.clock.advance(poll)
        waited += poll


def test_seed_workshop_runs_unchanged(emulator_env: Any) -> None:
    env = emulator_env
    personalize = env.personalize
    bucket = "personalize-immersion-day-data"
    env.s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": env.region})
    env.s3.put_object(Bucket=bucket, Key="interactions.csv", Body=interactions_csv(users=60, per_user=25))
    env.s3.put_object(Bucket=bucket, Key="items.csv", Body=items_csv())
    env.s3.put_object(Bucket=bucket, Key="users.csv", Body=users_csv(users=60))
    role_arn = f"arn:aws:iam::{env.account}:role/{ROLE_NAME}"

    dsg = personalize.create_dataset_group(name="personalize-immersion-day-retail")
    dataset_group_arn = dsg["datasetGroupArn"]
    group = wait_for(
        env, lambda: personalize.describe_dataset_group(datasetGroupArn=dataset_group_arn), "datasetGroup"
    )
    assert group["status"] == "ACTIVE"

    schemas = {}
    for kind, schema in (
        ("items", ITEMS_SCHEMA),
        ("users", USERS_SCHEMA),
        ("interactions", INTERACTIONS_SCHEMA),
    ):
        name = ("rpersonalize" if kind == "users" else "personalize") + f"-immersion-day-retail-schema-{kind}"
        schemas[kind] = personalize.create_schema(name=name, schema=schema)["schemaArn"]
    datasets = {}
    for kind, dataset_type in (("items", "ITEMS"), ("users", "USERS"), ("interactions", "INTERACTIONS")):
        datasets[kind] = personalize.create_dataset(
            name=f"personalize-immersion-day-dataset-{kind}",
            datasetType=dataset_type,
            datasetGroupArn=dataset_group_arn,
            schemaArn=schemas[kind],
        )["datasetArn"]
    assert datasets["interactions"].endswith(":dataset/personalize-immersion-day-retail/INTERACTIONS")
    for kind in datasets:
        wait_for(env, lambda k=kind: personalize.describe_dataset(datasetArn=datasets[k]), "dataset")

    imports = {}
    for kind in datasets:
        imports[kind] = personalize.create_dataset_import_job(
            jobName=f"immersion-day-retail-dataset-{kind}-import",
            datasetArn=datasets[kind],
            dataSource={"dataLocation": f"s3://{bucket}/{kind}.csv"},
            roleArn=role_arn,
        )["datasetImportJobArn"]
    for kind, arn in imports.items():
        job = wait_for(
            env,
            lambda a=arn: personalize.describe_dataset_import_job(datasetImportJobArn=a),
            "datasetImportJob",
        )
        assert job["status"] == "ACTIVE", (kind, job.get("failureReason"))

    recipes = {
        "sims": "arn:aws:personalize:::recipe/aws-sims",
        "userpersonalization": "arn:aws:personalize:::recipe/aws-user-personalization",
        "rerank": "arn:aws:personalize:::recipe/aws-personalized-ranking",
    }
    solutions, versions = {}, {}
    for key, recipe in recipes.items():
        solutions[key] = personalize.create_solution(
            name=f"personalize-poc-{key}", datasetGroupArn=dataset_group_arn, recipeArn=recipe
        )["solutionArn"]
    for key, arn in solutions.items():
        wait_for(env, lambda a=arn: personalize.describe_solution(solutionArn=a), "solution")
        versions[key] = personalize.create_solution_version(solutionArn=arn)["solutionVersionArn"]
        assert versions[key].startswith(arn + "/")
    for arn in versions.values():
        version = wait_for(
            env, lambda a=arn: personalize.describe_solution_version(solutionVersionArn=a), "solutionVersion"
        )
        assert version["status"] == "ACTIVE", version.get("failureReason")
        assert version["trainingMode"] == "FULL" and version["trainingType"] == "MANUAL"
        metrics = personalize.get_solution_metrics(solutionVersionArn=arn)["metrics"]
        assert set(METRIC_KEYS) <= set(metrics)

    campaigns = {}
    for key, arn in versions.items():
        campaigns[key] = personalize.create_campaign(
            name=f"personalize-poc-{key}", solutionVersionArn=arn, minProvisionedTPS=1
        )["campaignArn"]
    for arn in campaigns.values():
        campaign = wait_for(env, lambda a=arn: personalize.describe_campaign(campaignArn=a), "campaign")
        assert campaign["status"] == "ACTIVE" and campaign["minProvisionedTPS"] == 1

    filter_arn = personalize.create_filter(
        name="immersion-day-filter-purchased-products",
        datasetGroupArn=dataset_group_arn,
        filterExpression='EXCLUDE itemId WHERE INTERACTIONS.event_type in ("OrderCompleted")',
    )["filterArn"]
    assert (
        wait_for(env, lambda: personalize.describe_filter(filterArn=filter_arn), "filter")["status"]
        == "ACTIVE"
    )

    tracker = personalize.create_event_tracker(
        datasetGroupArn=dataset_group_arn, name="retaildemostore-event-tracker"
    )
    assert len(tracker["trackingId"]) == 36
    described = wait_for(
        env,
        lambda: personalize.describe_event_tracker(eventTrackerArn=tracker["eventTrackerArn"]),
        "eventTracker",
    )
    assert described["status"] == "ACTIVE" and described["accountId"] == env.account

    # the run took realistic virtual time: training (45 min) then campaign deployment (25 min) at least
    assert env.clock.now() - group["creationDateTime"].timestamp() > (45 + 25) * 60
    json.dumps(env.emulator.snapshot())  # the resulting state is JSON-serialisable


@pytest.mark.parametrize("poll", [1.0, 600.0])
def test_final_state_does_not_depend_on_polling_frequency(emulator_env: Any, poll: float) -> None:
    env = emulator_env
    arn = env.personalize.create_dataset_group(name="g")["datasetGroupArn"]
    seen = []
    while True:
        status = env.personalize.describe_dataset_group(datasetGroupArn=arn)["datasetGroup"]["status"]
        if not seen or seen[-1] != status:
            seen.append(status)
        if status == "ACTIVE":
            break
        env.clock.advance(poll)
    assert seen[-1] == "ACTIVE"
    assert set(seen) <= {"CREATE PENDING", "CREATE IN_PROGRESS", "ACTIVE"}
    done = env.personalize.describe_dataset_group(datasetGroupArn=arn)["datasetGroup"]["lastUpdatedDateTime"]
    # ACTIVE is reached at the same virtual instant however often it is polled
    assert done.timestamp() == env.clock.now() - (env.clock.now() - done.timestamp())
    created = env.personalize.describe_dataset_group(datasetGroupArn=arn)["datasetGroup"]["creationDateTime"]
    assert done.timestamp() - created.timestamp() == pytest.approx(70.0)
