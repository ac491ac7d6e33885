"""Helpers for the emulator tests: seed-workshop schemas and generated CSV data."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

NS = "com.amazonaws.personalize.schema"


def avro(record: str, fields: list[tuple[str, Any]] | list[dict[str, Any]]) -> str:
    out = [f if isinstance(f, dict) else {"name": f[0], "type": f[1]} for f in fields]
    return json.dumps({"type": "record", "name": record, "namespace": NS, "fields": out, "version": "1.0"})


INTERACTIONS_SCHEMA = avro(
    "Interactions",
    [
        ("ITEM_ID", "string"),
        ("USER_ID", "string"),
        ("EVENT_TYPE", "string"),
        ("TIMESTAMP", "long"),
        {"name": "DISCOUNT", "type": "string", "categorical": True},
    ],
)
ITEMS_SCHEMA = avro(
    "Items",
    [
        ("ITEM_ID", "string"),
        {"name": "CATEGORY", "type": "string", "categorical": True},
        {"name": "STYLE", "type": "string", "categorical": True},
    ],
)
USERS_SCHEMA = avro(
    "Users",
    [("USER_ID", "string"), ("AGE", "int"), {"name": "GENDER", "type": "string", "categorical": True}],
)
EVENT_TYPES = ("ProductViewed", "ProductAdded", "CartViewed", "OrderCompleted")


def interactions_csv(users: int = 40, items: int = 60, per_user: int = 30, seed: int = 7) -> bytes:
    rng = random.Random(seed)
    lines = ["ITEM_ID,USER_ID,EVENT_TYPE,TIMESTAMP,DISCOUNT"]
    for u in range(users):
        for i in range(per_user):
            item = rng.randrange(items)
            event = EVENT_TYPES[rng.randrange(len(EVENT_TYPES))]
            lines.append(f"i{item},u{u},{event},{1_700_000_000 + u * 1000 + i},{rng.choice(['Yes', 'No'])}")
    return ("\n".join(lines) + "\n").encode()


def items_csv(items: int = 60) -> bytes:
    lines = ["ITEM_ID,CATEGORY,STYLE"] + [f"i{i},cat{i % 5},style{i % 3}" for i in range(items)]
    return ("\n".join(lines) + "\n").encode()


def users_csv(users: int = 40) -> bytes:
    lines = ["USER_ID,AGE,GENDER"] + [f"u{u},{20 + u % 50},{'MF'[u % 2]}" for u in range(users)]
    return ("\n".join(lines) + "\n").encode()


def role_arn(account: str = "123456789012") -> str:
    return f"arn:aws:iam::{account}:role/{account}-PersonalizeS3"


PERSONALIZE_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "personalize.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}


def bucket_policy(bucket: str) -> str:
    """The workshop's data-layer bucket policy (Id and Sid PersonalizeS3BucketAccessPolicy) + PutObject."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Id": "PersonalizeS3BucketAccessPolicy",
            "Statement": [
                {
                    "Sid": "PersonalizeS3BucketAccessPolicy",
                    "Effect": "Allow",
                    "Principal": {"Service": "personalize.amazonaws.com"},
                    "Action": ["s3:GetObject", "s3:ListBucket", "s3:PutObject"],
                    "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                }
            ],
        }
    )


def grant_personalize(s3: Any, iam: Any, bucket: str, account: str = "123456789012") -> str:
    """What the workshop's data-layer notebook sets up: the bucket policy and the role Personalize assumes.
    Returns the role ARN."""
    s3.put_bucket_policy(Bucket=bucket, Policy=bucket_policy(bucket))
    name = role_arn(account).rsplit("/", 1)[1]
    try:
        iam.get_role(RoleName=name)
    except iam.exceptions.NoSuchEntityException:
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(PERSONALIZE_TRUST))
    return role_arn(account)


def poll_until_settled(
    describe: Callable[[], dict[str, Any]],
    key: str,
    advance: Callable[[float], Any],
    poll: float = 60.0,
    limit: float = 6 * 3600,
) -> dict[str, Any]:
    """The notebook's polling loop, with ``time.sleep(poll)`` replaced by ``advance(poll)`` (virtual time)."""
    waited = 0.0
    while True:
        resource = describe()[key]
        if resource["status"] in ("ACTIVE", "CREATE FAILED"):
            return dict(resource)
        assert waited < limit, f"{key} stuck in {resource['status']}"
        advance(poll)
        waited += poll


SEED_RECIPES = {
    "sims": "arn:aws:personalize:::recipe/aws-sims",
    "userpersonalization": "arn:aws:personalize:::recipe/aws-user-personalization",
    "rerank": "arn:aws:personalize:::recipe/aws-personalized-ranking",
}


def run_seed_workshop(
    personalize: Any,
    wait: Callable[[Callable[[], dict[str, Any]], str], dict[str, Any]],
    *,
    bucket: str,
    role: str,
) -> dict[str, Any]:
    """The seed workshop's own boto3 calls (notebooks 01-03) against data already in ``bucket``, asserting
    each resource settles ACTIVE. Returns what the callers check further."""
    from reconciler.emulator.metrics import METRIC_KEYS

    group_arn = personalize.create_dataset_group(name="personalize-immersion-day-retail")["datasetGroupArn"]
    group = wait(lambda: personalize.describe_dataset_group(datasetGroupArn=group_arn), "datasetGroup")
    assert group["status"] == "ACTIVE"

    schemas = {}
    for kind, schema in (
        ("items", ITEMS_SCHEMA),
        ("users", USERS_SCHEMA),
        ("interactions", INTERACTIONS_SCHEMA),
    ):
        name = ("rpersonalize" if kind == "users" else "personalize") + f"-immersion-day-retail-schema-{kind}"
        schemas[kind] = personalize.create_schema(name=name, schema=schema)["schemaArn"]
    datasets = {
        kind: personalize.create_dataset(
            name=f"personalize-immersion-day-dataset-{kind}",
            datasetType=kind.upper(),
            datasetGroupArn=group_arn,
            schemaArn=schemas[kind],
        )["datasetArn"]
        for kind in schemas
    }
    for arn in datasets.values():
        assert wait(lambda a=arn: personalize.describe_dataset(datasetArn=a), "dataset")["status"] == "ACTIVE"

    jobs = {
        kind: personalize.create_dataset_import_job(
            jobName=f"immersion-day-retail-dataset-{kind}-import",
            datasetArn=datasets[kind],
            dataSource={"dataLocation": f"s3://{bucket}/{kind}.csv"},
            roleArn=role,
        )["datasetImportJobArn"]
        for kind in datasets
    }
    for kind, arn in jobs.items():
        job = wait(
            lambda a=arn: personalize.describe_dataset_import_job(datasetImportJobArn=a), "datasetImportJob"
        )
        assert job["status"] == "ACTIVE", (kind, job.get("failureReason"))

    solutions = {
        key: personalize.create_solution(
            name=f"personalize-poc-{key}", datasetGroupArn=group_arn, recipeArn=recipe
        )["solutionArn"]
        for key, recipe in SEED_RECIPES.items()
    }
    versions = {}
    for key, arn in solutions.items():
        wait(lambda a=arn: personalize.describe_solution(solutionArn=a), "solution")
        versions[key] = personalize.create_solution_version(solutionArn=arn)["solutionVersionArn"]
        assert versions[key].startswith(arn + "/")
    for arn in versions.values():
        version = wait(
            lambda a=arn: personalize.describe_solution_version(solutionVersionArn=a), "solutionVersion"
        )
        assert version["status"] == "ACTIVE", version.get("failureReason")
        assert version["trainingMode"] == "FULL" and version["trainingType"] == "MANUAL"
        metrics = personalize.get_solution_metrics(solutionVersionArn=arn)["metrics"]
        assert set(METRIC_KEYS) <= set(metrics)

    campaigns = {
        key: personalize.create_campaign(
            name=f"personalize-poc-{key}", solutionVersionArn=arn, minProvisionedTPS=1
        )["campaignArn"]
        for key, arn in versions.items()
    }
    for arn in campaigns.values():
        campaign = wait(lambda a=arn: personalize.describe_campaign(campaignArn=a), "campaign")
        assert campaign["status"] == "ACTIVE" and campaign["minProvisionedTPS"] == 1

    filter_arn = personalize.create_filter(
        name="immersion-day-filter-purchased-products",
        datasetGroupArn=group_arn,
        filterExpression='EXCLUDE itemId WHERE INTERACTIONS.event_type in ("OrderCompleted")',
    )["filterArn"]
    assert wait(lambda: personalize.describe_filter(filterArn=filter_arn), "filter")["status"] == "ACTIVE"

    tracker = personalize.create_event_tracker(
        datasetGroupArn=group_arn, name="retaildemostore-event-tracker"
    )
    assert len(tracker["trackingId"]) == 36
    described = wait(
        lambda: personalize.describe_event_tracker(eventTrackerArn=tracker["eventTrackerArn"]), "eventTracker"
    )
    assert described["status"] == "ACTIVE" and described["trackingId"] == tracker["trackingId"]
    return {"group": group, "datasets": datasets, "event_tracker": described}
