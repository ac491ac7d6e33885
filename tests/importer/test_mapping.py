"""Each kind's mapping both ways: the original create request -> live resource (emulator) -> describe ->
manifest spec -> the handler's create request, which must equal the original request.

Differences allowed, and only these: the tool adds its ownership tags, and a setting the service defaulted is
sent explicitly (`performAutoTraining`, true unless the request said otherwise).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from moto import mock_aws

from reconciler.aws.personalize_access import grant_personalize_access
from reconciler.aws.target import Target
from reconciler.emulator import PersonalizeEmulator, VirtualClock
from reconciler.importer import ImportResult, import_groups
from reconciler.importer.mapping import desired_resource, ref_context
from reconciler.model.address import Kind
from reconciler.model.spec import DatasetSpec
from reconciler.resources.registry import REGISTRY

from .workshop import SAMPLE, SCHEMAS, wait_for

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/PersonalizeRole"
BUCKET = "mapping-data"
ECOMM = "map-ecommerce"
PLAIN = "map-plain"
CUSTOM_SCHEMA = json.dumps(
    {
        "type": "record",
        "name": "Items",
        "namespace": "com.amazonaws.personalize.schema",
        "fields": [
            {"name": "ITEM_ID", "type": "string"},
            {"name": "CATEGORY", "type": ["null", "string"], "categorical": True},
            {"name": "DESCRIPTION", "type": ["null", "string"], "textual": True},
            {"name": "PRICE", "type": "float"},
        ],
        "version": "1.0",
    }
)


@dataclass(frozen=True)
class Case:
    id: str
    kind: Kind
    operation: str
    request: Callable[[dict[str, str]], dict[str, Any]]
    """Create kwargs, given the ARNs made so far (`group:<name>`, `schema:<name>`, `version:<solution>`)."""
    implicit: dict[str, Any] | None = None
    """Settings the service applies when the request leaves them out (sent explicitly by the tool)."""
    used_by: str | None = None
    """Schemas: the dataset type of a dataset made to use it (import reads the schemas datasets use)."""


def _group(name: str, **extra: Any) -> Case:
    return Case(
        f"dataset-group-{name}", Kind.DATASET_GROUP, "create_dataset_group", lambda a: {"name": name, **extra}
    )


#: API defaults the solution handler always sends explicitly.
SOLUTION_EXPLICIT = {"performHPO": False, "performAutoML": False}


def _solution(name: str, implicit: dict[str, Any] | None = None, **extra: Any) -> Case:
    """`implicit`: performAutoTraining is true when CreateSolution leaves it out; the tool always sends it."""
    return Case(
        f"solution-{name}",
        Kind.SOLUTION,
        "create_solution",
        lambda a: {"name": name, "datasetGroupArn": a[f"group:{PLAIN}"], **extra},
        {**SOLUTION_EXPLICIT, **(implicit if implicit is not None else {"performAutoTraining": True})},
    )


CASES = [
    _group("map-bare"),
    _group(
        "map-kms", roleArn=ROLE, kmsKeyArn="arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef"
    ),
    Case(
        "schema-seed-items",
        Kind.SCHEMA,
        "create_schema",
        lambda a: {"name": "map-items", "schema": SCHEMAS["items"][1]},
        used_by="ITEMS",
    ),
    Case(
        "schema-nullable-textual",
        Kind.SCHEMA,
        "create_schema",
        lambda a: {"name": "map-custom", "schema": CUSTOM_SCHEMA},
        used_by="ITEMS",
    ),
    Case(
        "schema-domain",
        Kind.SCHEMA,
        "create_schema",
        lambda a: {"name": "map-ecomm-users", "schema": SCHEMAS["users"][1], "domain": "ECOMMERCE"},
        used_by="USERS",
    ),
    Case(
        "dataset-users",
        Kind.DATASET,
        "create_dataset",
        lambda a: {
            "name": "map-users",
            "datasetType": "USERS",
            "datasetGroupArn": a["group:map-dataset-only"],
            "schemaArn": a["schema:map-users-schema"],
        },
    ),
    _solution("map-seed", recipeArn="arn:aws:personalize:::recipe/aws-sims"),
    _solution(
        "map-hp",
        recipeArn="arn:aws:personalize:::recipe/aws-sims",
        solutionConfig={"algorithmHyperParameters": {"popularity_discount_factor": "0.7"}},
    ),
    _solution(
        "map-hpo",
        recipeArn="arn:aws:personalize:::recipe/aws-user-personalization",
        performHPO=True,
        solutionConfig={
            "hpoConfig": {
                "hpoObjective": {"type": "Maximize", "metricName": "precision_at_25"},
                "hpoResourceConfig": {"maxNumberOfTrainingJobs": "4", "maxParallelTrainingJobs": "2"},
                "algorithmHyperParameterRanges": {
                    "integerHyperParameterRanges": [{"name": "bptt", "minValue": 2, "maxValue": 32}]
                },
            }
        },
    ),
    _solution(
        "map-no-auto",
        {},
        recipeArn="arn:aws:personalize:::recipe/aws-user-personalization",
        performAutoTraining=False,
        eventType="OrderCompleted",
    ),
    _solution(
        "map-schedule",
        {},
        recipeArn="arn:aws:personalize:::recipe/aws-personalized-ranking",
        performAutoTraining=True,
        solutionConfig={"autoTrainingConfig": {"schedulingExpression": "rate(3 days)"}},
    ),
    _solution(
        "map-automl",
        performAutoML=True,
        solutionConfig={
            "autoMLConfig": {
                "metricName": "precision_at_25",
                "recipeList": ["arn:aws:personalize:::recipe/aws-user-personalization"],
            }
        },
    ),
    Case(
        "campaign-seed",
        Kind.CAMPAIGN,
        "create_campaign",
        lambda a: {
            "name": "map-campaign",
            "solutionVersionArn": a["version:map-trained"],
            "minProvisionedTPS": 1,
        },
    ),
    Case(
        "campaign-config",
        Kind.CAMPAIGN,
        "create_campaign",
        lambda a: {
            "name": "map-campaign-explore",
            "solutionVersionArn": a["version:map-trained-up"],
            "minProvisionedTPS": 3,
            "campaignConfig": {
                "itemExplorationConfig": {"explorationWeight": "0.5", "explorationItemAgeCutOff": "20"}
            },
        },
    ),
    Case(
        "campaign-latest",
        Kind.CAMPAIGN,
        "create_campaign",
        lambda a: {
            "name": "map-campaign-latest",
            "solutionVersionArn": a["version:map-trained"].rsplit("/", 1)[0] + "/$LATEST",
            "minProvisionedTPS": 1,
            "campaignConfig": {"syncWithLatestSolutionVersion": True},
        },
    ),
    Case(
        "filter-seed",
        Kind.FILTER,
        "create_filter",
        lambda a: {
            "name": "map-purchased",
            "datasetGroupArn": a[f"group:{PLAIN}"],
            "filterExpression": 'EXCLUDE itemId WHERE INTERACTIONS.event_type in ("OrderCompleted")',
        },
    ),
    Case(
        "filter-dynamic",
        Kind.FILTER,
        "create_filter",
        lambda a: {
            "name": "map-category",
            "datasetGroupArn": a[f"group:{PLAIN}"],
            "filterExpression": "INCLUDE ItemID WHERE Items.CATEGORY IN ($CATEGORY)",
        },
    ),
    Case(
        "event-tracker",
        Kind.EVENT_TRACKER,
        "create_event_tracker",
        lambda a: {"name": "map-tracker", "datasetGroupArn": a[f"group:{PLAIN}"]},
    ),
    Case(
        "recommender",
        Kind.RECOMMENDER,
        "create_recommender",
        lambda a: {
            "name": "map-for-you",
            "datasetGroupArn": a[f"group:{ECOMM}"],
            "recipeArn": "arn:aws:personalize:::recipe/aws-ecomm-recommended-for-you",
            "recommenderConfig": {"minRecommendationRequestsPerSecond": 3},
        },
    ),
    Case(
        "metric-attribution",
        Kind.METRIC_ATTRIBUTION,
        "create_metric_attribution",
        lambda a: {
            "name": "map-metrics",
            "datasetGroupArn": a[f"group:{PLAIN}"],
            "metrics": [
                {"eventType": "OrderCompleted", "metricName": "ORDERS", "expression": "SAMPLECOUNT()"}
            ],
            "metricsOutputConfig": {
                "roleArn": ROLE,
                "s3DataDestination": {"path": f"s3://{BUCKET}/metrics/"},
            },
        },
    ),
]


@dataclass
class Built:
    result: ImportResult
    requests: dict[str, dict[str, Any]]
    arns: dict[str, str]
    import_requests: dict[str, dict[str, Any]]


def _settle(clock: VirtualClock, hours: float = 3.0) -> None:
    clock.advance(hours * 3600)


def _data_group(
    p: Any, clock: VirtualClock, name: str, arns: dict[str, str], imports: dict[str, Any], **extra: Any
) -> None:
    """A dataset group with the seed's three datasets, filled from S3 (what training needs)."""
    arns[f"group:{name}"] = p.create_dataset_group(name=name, **extra)["datasetGroupArn"]
    _settle(clock, 0.1)
    domain = {"domain": extra["domain"]} if "domain" in extra else {}
    for kind, (_, schema) in SCHEMAS.items():
        schema_arn = p.create_schema(name=f"{name}-{kind}-schema", schema=schema, **domain)["schemaArn"]
        dataset_arn = p.create_dataset(
            name=f"{name}-{kind}",
            datasetType=kind.upper(),
            datasetGroupArn=arns[f"group:{name}"],
            schemaArn=schema_arn,
        )["datasetArn"]
        _settle(clock, 0.1)
        request = {
            "jobName": f"{name}-{kind}-import",
            "datasetArn": dataset_arn,
            "dataSource": {"dataLocation": f"s3://{BUCKET}/{kind}.csv"},
            "roleArn": ROLE,
        }
        imports[f"{name}-{kind}"] = request
        p.create_dataset_import_job(**request)
    _settle(clock)


@pytest.fixture(scope="module")
def built() -> Iterator[Built]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_ACCESS_KEY_ID", "testing")
        mp.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        mp.delenv("AWS_PROFILE", raising=False)
        with mock_aws():
            clock = VirtualClock()
            # more dataset groups than the default quota of 5: one per case that needs a group of its own
            emulator = PersonalizeEmulator(clock=clock, strict=True, quotas={"dataset_groups_per_region": 20})
            target = Target.for_tests(emulator, clock, region=REGION, max_attempts=1)
            p, s3 = target.personalize, target.s3
            s3.create_bucket(Bucket=BUCKET)
            for kind in SCHEMAS:
                s3.put_object(Bucket=BUCKET, Key=f"{kind}.csv", Body=(SAMPLE / f"{kind}.csv").read_bytes())
            grant_personalize_access(s3, target.iam, BUCKET, ROLE)
            arns: dict[str, str] = {}
            imports: dict[str, dict[str, Any]] = {}
            _data_group(p, clock, PLAIN, arns, imports)
            _data_group(p, clock, ECOMM, arns, imports, domain="ECOMMERCE")
            # the dataset case gets a group of its own (one USERS dataset per group)
            arns["schema:map-users-schema"] = p.create_schema(
                name="map-users-schema", schema=SCHEMAS["users"][1]
            )["schemaArn"]
            arns["group:map-dataset-only"] = p.create_dataset_group(name="map-dataset-only")[
                "datasetGroupArn"
            ]
            # two trained solutions for the campaign cases
            for solution, recipe in (
                ("map-trained", "aws-sims"),
                ("map-trained-up", "aws-user-personalization"),
            ):
                arn = p.create_solution(
                    name=solution,
                    datasetGroupArn=arns[f"group:{PLAIN}"],
                    recipeArn=f"arn:aws:personalize:::recipe/{recipe}",
                    performAutoTraining=False,
                )["solutionArn"]
                wait_for(clock, lambda a=arn: p.describe_solution(solutionArn=a), "solution", 15)
                arns[f"version:{solution}"] = p.create_solution_version(solutionArn=arn)["solutionVersionArn"]
            _settle(clock, 6)
            requests: dict[str, dict[str, Any]] = {}
            for case in CASES:
                request = case.request(arns)
                requests[case.id] = request
                response = getattr(p, case.operation)(**request)
                if case.used_by:
                    domain = {"domain": request["domain"]} if "domain" in request else {}
                    group = p.create_dataset_group(name=f"{request['name']}-group", **domain)[
                        "datasetGroupArn"
                    ]
                    _settle(clock, 0.1)
                    p.create_dataset(
                        name=f"{request['name']}-dataset",
                        datasetType=case.used_by,
                        datasetGroupArn=group,
                        schemaArn=response["schemaArn"],
                    )
            _settle(clock, 6)
            result = import_groups(p, groups=None, stack="mapping", region=REGION, account=emulator.account)
            yield Built(result, requests, arns, imports)


def _item(built: Built, kind: Kind, name: str) -> Any:
    found = [r for r in built.result.resources if r.address.kind is kind and r.physical_name == name]
    assert found, f"{kind.value} {name} not imported; skipped: {built.result.skipped}"
    return found[0]


def _without_tool_tags(request: dict[str, Any]) -> dict[str, Any]:
    out = dict(request)
    tags = {t["tagKey"]: t["tagValue"] for t in out.pop("tags", [])}
    user = {k: v for k, v in tags.items() if not k.startswith("personalize-gitops:")}
    if user:
        out["tags"] = [{"tagKey": k, "tagValue": v} for k, v in sorted(user.items())]
    return out


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_create_request_round_trips(built: Built, case: Case) -> None:
    original = built.requests[case.id]
    item = _item(built, case.kind, original["name"])
    assert item.address.name == original["name"]  # no prefix: logical = physical
    handler = REGISTRY[case.kind]
    generated = _without_tool_tags(
        handler.create_request(desired_resource(item, ""), ref_context(built.result))
    )
    expected = {**(case.implicit or {}), **original}
    if case.kind is Kind.SCHEMA:
        assert json.loads(generated.pop("schema")) == json.loads(expected.pop("schema"))
    assert generated == expected


def test_no_check_warnings_and_nothing_skipped(built: Built) -> None:
    """The importer's own comparison (the planner's) finds no difference for any imported resource."""
    assert [w for w in built.result.warnings if "does not reproduce" in w] == []
    assert built.result.skipped == []
    # the other warnings say what plan does after adoption. Every solution case was created without training;
    # those with the service's automatic training have trained by now, map-no-auto has not.
    assert built.result.warnings == [
        "Solution map-no-auto has no ACTIVE version: once adopted, plan trains one (billed)"
    ]


@pytest.mark.parametrize("dataset", [f"{PLAIN}-interactions", f"{PLAIN}-items", f"{ECOMM}-users"])
def test_data_import_round_trips(built: Built, dataset: str) -> None:
    """dataImport holds what the import job was created with (FULL is the default: left out)."""
    item = _item(built, Kind.DATASET, dataset)
    assert isinstance(item.spec, DatasetSpec) and item.spec.dataImport is not None
    job = built.import_requests[dataset]
    source = item.spec.dataImport
    assert (source.dataLocation, source.roleArn, source.importMode) == (
        job["dataSource"]["dataLocation"],
        job["roleArn"],
        job.get("importMode", "FULL"),
    )
    assert source.trigger is None and source.localFile is None


def test_recipe_and_schema_references_are_logical_names(built: Built) -> None:
    dataset = _item(built, Kind.DATASET, f"{PLAIN}-users")
    assert dataset.spec.schema_ == f"{PLAIN}-users-schema" and dataset.spec.datasetGroup == PLAIN
    campaign = _item(built, Kind.CAMPAIGN, "map-campaign")
    assert campaign.spec.solution == "map-trained"
