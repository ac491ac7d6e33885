"""Small builders for planner tests: desired resources from spec dicts, and the live resource that an
exact apply of them would have produced (built from the handlers' own create requests)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from reconciler.model.address import Address, Kind, SourceLocation
from reconciler.model.spec import (
    CampaignSpec,
    DatasetGroupSpec,
    DatasetSpec,
    EventTrackerSpec,
    FilterSpec,
    Lifecycle,
    MetricAttributionSpec,
    RecommenderSpec,
    SchemaSpec,
    SolutionSpec,
    StackSpec,
)
from reconciler.model.state import (
    DesiredResource,
    DesiredState,
    LiveImportJob,
    LiveResource,
    LiveSolutionVersion,
    LiveState,
    Stack,
)
from reconciler.plan.context import build_context
from reconciler.resources.base import tags_from_list
from reconciler.resources.registry import REGISTRY

REGION = "us-east-1"
ACCOUNT = "123456789012"
NOW = 1_800_000_000.0
PREFIX = "shop-"
STACK = "shop"

SPEC_MODELS = {
    Kind.DATASET_GROUP: DatasetGroupSpec,
    Kind.SCHEMA: SchemaSpec,
    Kind.DATASET: DatasetSpec,
    Kind.SOLUTION: SolutionSpec,
    Kind.CAMPAIGN: CampaignSpec,
    Kind.FILTER: FilterSpec,
    Kind.EVENT_TRACKER: EventTrackerSpec,
    Kind.RECOMMENDER: RecommenderSpec,
    Kind.METRIC_ATTRIBUTION: MetricAttributionSpec,
}

ITEMS_AVRO = {
    "name": "Items",
    "fields": [
        {"name": "ITEM_ID", "type": "string"},
        {"name": "CATEGORY", "type": "string", "categorical": True},
    ],
}
INTERACTIONS_AVRO = {
    "name": "Interactions",
    "fields": [
        {"name": "USER_ID", "type": "string"},
        {"name": "ITEM_ID", "type": "string"},
        {"name": "TIMESTAMP", "type": "long"},
    ],
}
ROLE = "arn:aws:iam::123456789012:role/PersonalizeRole"

#: A representative stack: every kind at least once.
BASE_SPECS: dict[Address, dict[str, Any]] = {
    Address(Kind.DATASET_GROUP, "retail"): {"domain": "ECOMMERCE"},
    Address(Kind.SCHEMA, "interactions"): {"avro": INTERACTIONS_AVRO},
    Address(Kind.SCHEMA, "items"): {"avro": ITEMS_AVRO},
    Address(Kind.DATASET, "interactions"): {
        "datasetGroup": "retail",
        "datasetType": "INTERACTIONS",
        "schema": "interactions",
        "dataImport": {"dataLocation": "s3://bucket/interactions.csv", "roleArn": ROLE},
    },
    Address(Kind.DATASET, "items"): {"datasetGroup": "retail", "datasetType": "ITEMS", "schema": "items"},
    Address(Kind.SOLUTION, "personalize"): {
        "datasetGroup": "retail",
        "recipeArn": "aws-user-personalization",
        "solutionConfig": {"algorithmHyperParameters": {"hidden_dimension": 64}},
    },
    Address(Kind.CAMPAIGN, "home"): {
        "solution": "personalize",
        "minProvisionedTPS": 1,
        "promotion": {"minimums": {"precision_at_25": 0.05}, "maxRegression": {"precision_at_25": 0.1}},
    },
    Address(Kind.FILTER, "no-bought"): {
        "datasetGroup": "retail",
        "filterExpression": 'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("purchase")',
    },
    Address(Kind.EVENT_TRACKER, "clicks"): {"datasetGroup": "retail"},
    Address(Kind.RECOMMENDER, "for-you"): {
        "datasetGroup": "retail",
        "recipeArn": "aws-ecomm-recommended-for-you",
    },
    Address(Kind.METRIC_ATTRIBUTION, "revenue"): {
        "datasetGroup": "retail",
        "metrics": [{"eventType": "purchase", "metricName": "REVENUE", "expression": "SUM(Items.PRICE)"}],
        "metricsOutputConfig": {"roleArn": ROLE},
    },
}


def make_stack(**prune: bool) -> Stack:
    return Stack(
        STACK, StackSpec(namePrefix=PREFIX, region=REGION, prune=prune), SourceLocation("stack.yaml")
    )


def desired_resource(
    address: Address,
    spec: dict[str, Any],
    *,
    tags: dict[str, str] | None = None,
    lifecycle: dict[str, Any] | None = None,
) -> DesiredResource:
    model = SPEC_MODELS[address.kind].model_validate(spec)
    return DesiredResource(
        address=address,
        spec=model,
        physical_name=PREFIX + address.name,
        tags=tags or {"team": "search"},
        lifecycle=Lifecycle.model_validate(lifecycle or {}),
        source=SourceLocation("manifests/shop.yaml", 1, 1),
    )


def desired_state(
    specs: dict[Address, dict[str, Any]], *, stack: Stack | None = None, **overrides: Any
) -> DesiredState:
    resources = {}
    for address, spec in specs.items():
        extra = overrides.get(str(address), {})
        resources[address] = desired_resource(address, spec, **extra)
    return DesiredState(stack=stack or make_stack(), resources=resources, digest="sha256:test")


def version(
    solution_arn: str,
    n: int,
    *,
    status: str = "ACTIVE",
    created: float = NOW - 86400,
    mode: str = "FULL",
    metrics: dict[str, float] | None = None,
    tags: dict[str, str] | None = None,
) -> LiveSolutionVersion:
    return LiveSolutionVersion(
        arn=f"{solution_arn}/{n:08x}",
        status=status,
        training_mode=mode,
        training_type="MANUAL",
        created=created,
        last_updated=created + 3600,
        metrics=metrics or {"precision_at_25": 0.1},
        tags=tags or {},
    )


def import_job(
    dataset: LiveResource,
    n: int,
    *,
    status: str = "ACTIVE",
    finished: float = NOW - 2 * 86400,
    tags: dict[str, str] | None = None,
) -> LiveImportJob:
    return LiveImportJob(
        arn=f"arn:aws:personalize:{REGION}:{ACCOUNT}:dataset-import-job/imp-{n}",
        name=f"imp-{n}",
        status=status,
        created=finished - 900,
        last_updated=finished,
        data_location="s3://bucket/interactions.csv",
        import_mode="FULL",
        tags=tags if tags is not None else {"personalize-gitops:source-etag": "etag-1"},
    )


def applied_live(desired: DesiredState) -> LiveState:
    """The live state right after a perfect apply: every resource ACTIVE, trained, imported, promoted."""
    resources: dict[Address, LiveResource] = {}
    etags = {}
    order = [
        Kind.DATASET_GROUP,
        Kind.SCHEMA,
        Kind.DATASET,
        Kind.SOLUTION,
        Kind.CAMPAIGN,
        Kind.FILTER,
        Kind.EVENT_TRACKER,
        Kind.RECOMMENDER,
        Kind.METRIC_ATTRIBUTION,
    ]
    for kind in order:
        for res in desired.of_kind(kind):
            state = LiveState(resources=dict(resources), region=REGION, account_id=ACCOUNT, now=NOW)
            ctx = build_context(desired, state)
            handler = REGISTRY[kind]
            request = handler.create_request(res, ctx)
            tags = tags_from_list(request.pop("tags", None))
            arn = (
                ctx.arns.get(res.address) or f"arn:aws:personalize:{REGION}:{ACCOUNT}:event-tracker/abcd1234"
            )
            fields: dict[str, Any] = {
                **request,
                handler.ops.arn_key: arn,
                "lastUpdatedDateTime": NOW - 86400 * 3,
            }
            status = "ACTIVE"
            versions: tuple[LiveSolutionVersion, ...] = ()
            imports: tuple[LiveImportJob, ...] = ()
            live = LiveResource(
                kind=kind,
                arn=arn,
                name=res.physical_name,
                status=status,
                fields=fields,
                tags=tags,
                address=res.address,
                managed=True,
            )
            if kind is Kind.SOLUTION:
                versions = (version(arn, 1),)
            if kind is Kind.DATASET and isinstance(res.spec, DatasetSpec) and res.spec.dataImport:
                imports = (import_job(live, 1),)
                etags[res.spec.dataImport.dataLocation] = "etag-1"
            resources[res.address] = dataclasses.replace(live, versions=versions, imports=imports)
        if kind is Kind.SOLUTION:
            continue
    return LiveState(resources=resources, s3_etags=etags, region=REGION, account_id=ACCOUNT, now=NOW)


def with_fields(live: LiveState, address: Address, **changes: Any) -> LiveState:
    res = live.resources[address]
    fields = {**res.fields, **changes}
    return dataclasses.replace(
        live, resources={**live.resources, address: dataclasses.replace(res, fields=fields)}
    )


def with_resource(live: LiveState, address: Address, **changes: Any) -> LiveState:
    res = live.resources[address]
    return dataclasses.replace(
        live, resources={**live.resources, address: dataclasses.replace(res, **changes)}
    )


def without(live: LiveState, *addresses: Address) -> LiveState:
    return dataclasses.replace(
        live, resources={a: r for a, r in live.resources.items() if a not in addresses}
    )


def schema_json(avro: dict[str, Any]) -> str:
    return json.dumps(avro)
