"""The seed workshop (Immersion Day retail, notebooks 01-03) built with plain boto3 calls, the notebook way.

No personalize-gitops code is used to build it: exactly the calls the notebooks make (no tags, no
performAutoTraining, no trainingMode, no importMode), with the notebooks' polling loops waiting on the virtual
clock. Reusable by any test that needs an account "as the workshop left it" (import, adoption).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.aws.personalize_access import grant_personalize_access, iam_client_like

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data" / "sample"
NS = "com.amazonaws.personalize.schema"

GROUP = "personalize-immersion-day-retail"
FILTER_EXPRESSION = 'EXCLUDE itemId WHERE INTERACTIONS.event_type in ("OrderCompleted")'
RECIPES = {
    "amazon-personalize-immersionday-related-products": "arn:aws:personalize:::recipe/aws-sims",
    "amazon-personalize-immersionday-product-personalization": (
        "arn:aws:personalize:::recipe/aws-user-personalization"
    ),
    "amazon-personalize-immersionday-personalized-ranking": (
        "arn:aws:personalize:::recipe/aws-personalized-ranking"
    ),
}
TRACKER = "retaildemostore-event-tracker"
FILTER = "immersion-day-filter-purchased-products"


def _avro(record: str, fields: list[dict[str, Any]]) -> str:
    return json.dumps({"type": "record", "name": record, "namespace": NS, "fields": fields, "version": "1.0"})


SCHEMAS = {
    # the seed's own names, including the "rpersonalize" typo of the users schema
    "items": (
        "personalize-immersion-day-retail-schema-items",
        _avro(
            "Items",
            [
                {"name": "ITEM_ID", "type": "string"},
                {"name": "CATEGORY", "type": "string", "categorical": True},
                {"name": "STYLE", "type": "string", "categorical": True},
            ],
        ),
    ),
    "users": (
        "rpersonalize-immersion-day-retail-schema-users",
        _avro(
            "Users",
            [
                {"name": "USER_ID", "type": "string"},
                {"name": "AGE", "type": "int"},
                {"name": "GENDER", "type": "string", "categorical": True},
            ],
        ),
    ),
    "interactions": (
        "personalize-immersion-day-retail-schema-interactions",
        _avro(
            "Interactions",
            [
                {"name": "ITEM_ID", "type": "string"},
                {"name": "USER_ID", "type": "string"},
                {"name": "EVENT_TYPE", "type": "string"},
                {"name": "TIMESTAMP", "type": "long"},
                {"name": "DISCOUNT", "type": "string", "categorical": True},
            ],
        ),
    ),
}
#: The 2022+ workshop's ECOMMERCE items schema (domain schemas need PRICE and a categorical CATEGORY_L1).
ECOMMERCE_ITEMS = (
    "ecommerce-items",
    _avro(
        "Items",
        [
            {"name": "ITEM_ID", "type": "string"},
            {"name": "CATEGORY_L1", "type": "string", "categorical": True},
            {"name": "PRICE", "type": "float"},
        ],
    ),
)
DATASET_TYPES = {"items": "ITEMS", "users": "USERS", "interactions": "INTERACTIONS"}


@dataclass
class Workshop:
    """ARNs and the original create requests of what was built (for round-trip assertions)."""

    bucket: str
    role_arn: str
    group_arn: str = ""
    schema_arns: dict[str, str] = field(default_factory=dict)
    dataset_arns: dict[str, str] = field(default_factory=dict)
    solution_arns: dict[str, str] = field(default_factory=dict)
    version_arns: dict[str, str] = field(default_factory=dict)
    campaign_arns: dict[str, str] = field(default_factory=dict)
    filter_arn: str = ""
    tracker_arn: str = ""
    requests: dict[str, dict[str, Any]] = field(default_factory=dict)
    """`Kind/physical name` -> the kwargs the notebook passed to Create*."""


def wait_for(
    clock: Any, describe: Callable[[], dict[str, Any]], key: str, poll: float = 60.0, limit: float = 6 * 3600
) -> dict[str, Any]:
    """The notebooks' polling loop, with `time.sleep(poll)` replaced by advancing the virtual clock."""
    waited = 0.0
    while True:
        resource = describe()[key]
        if resource["status"] in ("ACTIVE", "CREATE FAILED"):
            assert resource["status"] == "ACTIVE", (key, resource.get("failureReason"))
            return dict(resource)
        assert waited < limit, f"{key} stuck in {resource['status']}"
        clock.advance(poll)
        waited += poll


def build_workshop(personalize: Any, s3: Any, clock: Any, *, account: str, region: str) -> Workshop:
    """Run notebooks 01 (data), 02 (training, campaigns, filter) and 03 (event tracker)."""
    bucket = f"{account}-{region}-personalize-immersionday-retail"
    if region == "us-east-1":
        s3.create_bucket(Bucket=bucket)
    else:
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    for kind in DATASET_TYPES:
        s3.put_object(Bucket=bucket, Key=f"{kind}.csv", Body=(SAMPLE / f"{kind}.csv").read_bytes())
    shop = Workshop(bucket=bucket, role_arn=f"arn:aws:iam::{account}:role/{account}-PersonalizeS3")
    grant_personalize_access(s3, iam_client_like(s3), bucket, shop.role_arn)

    def create(kind: str, operation: str, **kwargs: Any) -> dict[str, Any]:
        shop.requests[f"{kind}/{kwargs.get('name', '')}"] = kwargs
        response: dict[str, Any] = getattr(personalize, operation)(**kwargs)
        return response

    # 01_Data_Layer
    shop.group_arn = create("DatasetGroup", "create_dataset_group", name=GROUP)["datasetGroupArn"]
    wait_for(
        clock, lambda: personalize.describe_dataset_group(datasetGroupArn=shop.group_arn), "datasetGroup", 15
    )
    for kind, (name, schema) in SCHEMAS.items():
        shop.schema_arns[kind] = create("Schema", "create_schema", name=name, schema=schema)["schemaArn"]
    for kind, dataset_type in DATASET_TYPES.items():
        shop.dataset_arns[kind] = create(
            "Dataset",
            "create_dataset",
            name=f"personalize-immersion-day-dataset-{kind}",
            datasetType=dataset_type,
            datasetGroupArn=shop.group_arn,
            schemaArn=shop.schema_arns[kind],
        )["datasetArn"]
    for arn in shop.dataset_arns.values():
        wait_for(clock, lambda a=arn: personalize.describe_dataset(datasetArn=a), "dataset", 15)
    jobs = [
        personalize.create_dataset_import_job(
            jobName=f"immersion-day-retail-dataset-{kind}-import",
            datasetArn=arn,
            dataSource={"dataLocation": f"s3://{bucket}/{kind}.csv"},
            roleArn=shop.role_arn,
        )["datasetImportJobArn"]
        for kind, arn in shop.dataset_arns.items()
    ]
    for arn in jobs:
        wait_for(
            clock,
            lambda a=arn: personalize.describe_dataset_import_job(datasetImportJobArn=a),
            "datasetImportJob",
        )

    # 02_Training_Layer
    for name, recipe in RECIPES.items():
        shop.solution_arns[name] = create(
            "Solution", "create_solution", name=name, datasetGroupArn=shop.group_arn, recipeArn=recipe
        )["solutionArn"]
    for name, arn in shop.solution_arns.items():
        wait_for(clock, lambda a=arn: personalize.describe_solution(solutionArn=a), "solution", 15)
        shop.version_arns[name] = personalize.create_solution_version(solutionArn=arn)["solutionVersionArn"]
    for arn in shop.version_arns.values():
        wait_for(
            clock,
            lambda a=arn: personalize.describe_solution_version(solutionVersionArn=a),
            "solutionVersion",
        )
    for name, version in shop.version_arns.items():
        shop.campaign_arns[name] = create(
            "Campaign", "create_campaign", name=name, solutionVersionArn=version, minProvisionedTPS=1
        )["campaignArn"]
    for arn in shop.campaign_arns.values():
        wait_for(clock, lambda a=arn: personalize.describe_campaign(campaignArn=a), "campaign")
    shop.filter_arn = create(
        "Filter",
        "create_filter",
        name=FILTER,
        datasetGroupArn=shop.group_arn,
        filterExpression=FILTER_EXPRESSION,
    )["filterArn"]
    wait_for(clock, lambda: personalize.describe_filter(filterArn=shop.filter_arn), "filter", 15)

    # 03_Inference_Layer
    shop.tracker_arn = create(
        "EventTracker", "create_event_tracker", datasetGroupArn=shop.group_arn, name=TRACKER
    )["eventTrackerArn"]
    wait_for(
        clock,
        lambda: personalize.describe_event_tracker(eventTrackerArn=shop.tracker_arn),
        "eventTracker",
        15,
    )
    return shop


@dataclass
class DomainShop:
    group_arn: str
    recommender_arns: dict[str, str]
    attribution_arn: str


def build_domain_group(personalize: Any, s3: Any, clock: Any, *, account: str, name: str) -> DomainShop:
    """The 2022+ workshop shape: an ECOMMERCE dataset group with its data, two recommenders (one stopped to
    save cost) and a metric attribution; plain boto3 calls, waits on the virtual clock."""
    bucket = f"{account}-{name}-data"
    s3.create_bucket(Bucket=bucket)
    for kind in DATASET_TYPES:
        body = (SAMPLE / f"{kind}.csv").read_bytes()
        if kind == "items":  # ECOMMERCE items need PRICE and a categorical CATEGORY_L1
            rows = body.decode().splitlines()[1:]
            body = "\n".join(
                ["ITEM_ID,CATEGORY_L1,PRICE", *(f"{r.split(',')[0]},{r.split(',')[1]},9.99" for r in rows)]
            )
            body = (body + "\n").encode()
        s3.put_object(Bucket=bucket, Key=f"{kind}.csv", Body=body)
    role = f"arn:aws:iam::{account}:role/PersonalizeS3"
    grant_personalize_access(s3, iam_client_like(s3), bucket, role)
    group = personalize.create_dataset_group(name=name, domain="ECOMMERCE")["datasetGroupArn"]
    wait_for(clock, lambda: personalize.describe_dataset_group(datasetGroupArn=group), "datasetGroup", 15)
    for kind, (_, schema) in {**SCHEMAS, "items": ECOMMERCE_ITEMS}.items():
        schema_arn = personalize.create_schema(name=f"{name}-{kind}", schema=schema, domain="ECOMMERCE")[
            "schemaArn"
        ]
        dataset = personalize.create_dataset(
            name=f"{name}-{kind}",
            datasetType=DATASET_TYPES[kind],
            datasetGroupArn=group,
            schemaArn=schema_arn,
        )["datasetArn"]
        wait_for(clock, lambda a=dataset: personalize.describe_dataset(datasetArn=a), "dataset", 15)
        job = personalize.create_dataset_import_job(
            jobName=f"{name}-{kind}-import",
            datasetArn=dataset,
            dataSource={"dataLocation": f"s3://{bucket}/{kind}.csv"},
            roleArn=role,
        )["datasetImportJobArn"]
        wait_for(
            clock,
            lambda a=job: personalize.describe_dataset_import_job(datasetImportJobArn=a),
            "datasetImportJob",
        )
    recommenders = {}
    for use_case in ("recommended-for-you", "customers-who-viewed-x-also-viewed"):
        recommenders[use_case] = personalize.create_recommender(
            name=f"{name}-{use_case}",
            datasetGroupArn=group,
            recipeArn=f"arn:aws:personalize:::recipe/aws-ecomm-{use_case}",
        )["recommenderArn"]
    for arn in recommenders.values():
        wait_for(clock, lambda a=arn: personalize.describe_recommender(recommenderArn=a), "recommender")
    stopped = recommenders["customers-who-viewed-x-also-viewed"]
    personalize.stop_recommender(recommenderArn=stopped)
    clock.advance(3600)
    attribution = personalize.create_metric_attribution(
        name=f"{name}-revenue",
        datasetGroupArn=group,
        metrics=[{"eventType": "Purchase", "metricName": "PURCHASES", "expression": "SAMPLECOUNT()"}],
        metricsOutputConfig={"roleArn": role, "s3DataDestination": {"path": f"s3://{bucket}/metrics/"}},
    )["metricAttributionArn"]
    wait_for(
        clock,
        lambda: personalize.describe_metric_attribution(metricAttributionArn=attribution),
        "metricAttribution",
    )
    return DomainShop(group, recommenders, attribution)
