"""Contract suite: every operation of botocore's model is implemented or listed, every response of a tour
through all of them validates against the output shape, and every error raised is declared for its op."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.validate import ParamValidator
from emu_support import (
    INTERACTIONS_SCHEMA,
    ITEMS_SCHEMA,
    avro,
    grant_personalize,
    interactions_csv,
    items_csv,
)
from moto import mock_aws

from reconciler.emulator import (
    NOT_IMPLEMENTED,
    DurationProfile,
    EmulatorError,
    PersonalizeEmulator,
    VirtualClock,
    check_shape,
    service_model,
)
from reconciler.emulator.kinds import STATUSES
from reconciler.emulator.resources import HANDLERS
from reconciler.emulator.shapes import declared_errors, render

MODEL = service_model()
OPERATIONS = sorted(MODEL.operation_names)
REGION = "us-west-2"
RECIPE = "arn:aws:personalize:::recipe/"


def test_model_has_71_operations() -> None:
    assert len(OPERATIONS) == 71


@pytest.mark.parametrize("operation", OPERATIONS)
def test_every_operation_is_implemented_or_listed(operation: str) -> None:
    implemented = operation in HANDLERS
    listed = operation in NOT_IMPLEMENTED
    assert implemented != listed, f"{operation}: implemented={implemented}, on NOT_IMPLEMENTED={listed}"


def test_not_implemented_list_names_only_model_operations() -> None:
    assert set(NOT_IMPLEMENTED) <= set(OPERATIONS)
    assert set(HANDLERS) <= set(OPERATIONS)


# ---- the checker must be able to fail ------------------------------------------------------------------
def _shape(name: str) -> Any:
    return MODEL.shape_for(name)


NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
GOOD_GROUP = {
    "name": "dg",
    "datasetGroupArn": "arn:aws:personalize:us-east-1:123456789012:dataset-group/dg",
    "status": "ACTIVE",
    "creationDateTime": NOW,
    "domain": "ECOMMERCE",
}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"datasetGroupARN": "typo"}, "unknown member"),
        ({"status": 7}, "expected a string"),
        ({"domain": "RETAIL"}, "is not one of"),
        ({"name": "bad name!"}, "regular expression"),
        ({"name": "x" * 64}, "maximum is 63"),
        ({"creationDateTime": dt.datetime(2026, 1, 1)}, "not timezone-aware"),
        ({"creationDateTime": 1767225600.0}, "expected a timestamp"),
        ({"datasetGroupArn": "arn:aws:s3:::bucket"}, "regular expression"),
    ],
)
def test_checker_catches(change: dict[str, Any], expected: str) -> None:
    assert check_shape(GOOD_GROUP, _shape("DatasetGroup")) == []
    problems = check_shape({**GOOD_GROUP, **change}, _shape("DatasetGroup"))
    assert any(expected in p for p in problems), problems


def test_checker_ranges_lists_maps_and_empty_outputs() -> None:
    campaign = {"minProvisionedTPS": 0, "campaignConfig": {"rankingInfluence": {"POPULARITY": 1.5, "X": 0.1}}}
    problems = check_shape(campaign, _shape("Campaign"))
    assert any("less than the minimum 1" in p for p in problems)
    assert any("greater than the maximum 1" in p for p in problems)
    assert any("'X' is not one of" in p for p in problems)
    assert check_shape({"tags": [{"tagKey": "k"}] * 201}, _shape("TagResourceRequest"))
    assert check_shape({"unexpected": 1}, None) and check_shape({}, None) == []
    assert check_shape(True, _shape("Campaign").members["minProvisionedTPS"])  # bool is not an int


def _walk_render(value: Any, shape: Any) -> Any:
    """The straightforward recursive walk ``render`` replaced (kept here as the reference)."""
    kind = shape.type_name
    if kind == "structure":
        return {k: _walk_render(value[k], m) for k, m in shape.members.items() if value.get(k) is not None}
    if kind == "list":
        return [_walk_render(v, shape.member) for v in value]
    if kind == "map":
        return {k: _walk_render(v, shape.value) for k, v in value.items()}
    if kind == "timestamp" and isinstance(value, int | float):
        return dt.datetime.fromtimestamp(float(value), tz=dt.UTC)
    if kind in ("double", "float") and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _stored(shape: Any, depth: int = 0) -> Any:
    """A stored-record-like value for ``shape``: every member, plus internal, undeclared and None keys."""
    kind = shape.type_name
    if kind == "structure":
        out: dict[str, Any] = {"_internal": 1, "undeclared": "x"}
        for i, (key, member) in enumerate(shape.members.items()):
            out[key] = None if i % 5 == 4 or depth > 4 else _stored(member, depth + 1)
        return out
    if kind == "list":
        return [_stored(shape.member, depth + 1) for _ in range(2)]
    if kind == "map":
        return {"a": _stored(shape.value, depth + 1), "b": _stored(shape.value, depth + 1)}
    return {
        "timestamp": 1700000000.25,
        "double": 3,
        "float": 2,
        "integer": 7,
        "long": 8,
        "boolean": True,
    }.get(kind, "s")


def _typed(value: Any) -> Any:
    """``value`` with every leaf paired with its type (3 == 3.0, but the wire shows 3 or 3.0)."""
    if isinstance(value, dict):
        return {k: _typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_typed(v) for v in value]
    return (type(value), value)


def _containers(value: Any) -> list[int]:
    if isinstance(value, dict):
        return [id(value), *(i for v in value.values() for i in _containers(v))]
    if isinstance(value, list):
        return [id(value), *(i for v in value for i in _containers(v))]
    return []


@pytest.mark.parametrize("operation", OPERATIONS)
def test_render_matches_the_plain_walk_and_shares_nothing(operation: str) -> None:
    shape = MODEL.operation_model(operation).output_shape
    if shape is None:
        return
    stored = _stored(shape)
    out = render(stored, shape)
    assert _typed(out) == _typed(_walk_render(stored, shape))
    assert not set(_containers(out)) & set(_containers(stored))


# ---- a tour through all 71 operations ------------------------------------------------------------------
class Tour:
    def __init__(self, emulator: PersonalizeEmulator, clock: VirtualClock) -> None:
        self.emulator = emulator
        self.clock = clock
        self.outputs: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.errors: dict[str, list[str]] = defaultdict(list)

    def __call__(self, operation: str, **params: Any) -> dict[str, Any]:
        op = MODEL.operation_model(operation)
        ParamValidator().validate(params, op.input_shape)  # the tour itself sends valid botocore input
        out = self.emulator.handle(operation, params, REGION, self.emulator.account)
        self.outputs[operation].append(out)
        return out

    def expect_error(self, code: str, operation: str, **params: Any) -> None:
        with pytest.raises(EmulatorError) as info:
            self.emulator.handle(operation, params, REGION, self.emulator.account)
        assert info.value.code == code, info.value.message
        self.errors[operation].append(info.value.code)

    def settle(self, seconds: float = 1.0) -> None:
        self.clock.advance(seconds)


def _run_tour(t: Tour, s3: Any) -> None:
    bucket = "tour"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket=bucket, Key="interactions.csv", Body=interactions_csv())
    s3.put_object(Bucket=bucket, Key="items.csv", Body=items_csv())
    s3.put_object(Bucket=bucket, Key="delete-users.csv", Body=b"USER_ID\nu1\nu2\n")
    s3.put_object(Bucket=bucket, Key="batch/input.json", Body=b'{"userId": "u1"}\n')
    role = grant_personalize(s3, boto3.client("iam", region_name=REGION), bucket, t.emulator.account)

    # catalogue
    recipes = t("ListRecipes", recipeProvider="SERVICE")["recipes"]
    t("ListRecipes", domain="ECOMMERCE", maxResults=2)
    recipe = t("DescribeRecipe", recipeArn=RECIPE + "aws-sims")["recipe"]
    t("DescribeAlgorithm", algorithmArn=recipe["algorithmArn"])
    t("DescribeFeatureTransformation", featureTransformationArn=recipe["featureTransformationArn"])
    assert len(recipes) >= 20

    # custom dataset group with data
    dg = t("CreateDatasetGroup", name="tour", tags=[{"tagKey": "team", "tagValue": "ml"}])["datasetGroupArn"]
    t.settle()
    t("DescribeDatasetGroup", datasetGroupArn=dg)
    t("ListDatasetGroups")
    s_int = t("CreateSchema", name="tour-int", schema=INTERACTIONS_SCHEMA)["schemaArn"]
    s_items = t("CreateSchema", name="tour-items", schema=ITEMS_SCHEMA)["schemaArn"]
    items_v2 = avro(
        "Items",
        [*__import__("json").loads(ITEMS_SCHEMA)["fields"], {"name": "COLOR", "type": ["null", "string"]}],
    )
    s_items2 = t("CreateSchema", name="tour-items-v2", schema=items_v2)["schemaArn"]
    s_spare = t("CreateSchema", name="tour-spare", schema=ITEMS_SCHEMA)["schemaArn"]
    t("DescribeSchema", schemaArn=s_int)
    t("ListSchemas", maxResults=2)
    t("DeleteSchema", schemaArn=s_spare)
    ds_int = t(
        "CreateDataset", name="tour-int", datasetGroupArn=dg, schemaArn=s_int, datasetType="Interactions"
    )["datasetArn"]
    ds_items = t(
        "CreateDataset", name="tour-items", datasetGroupArn=dg, schemaArn=s_items, datasetType="ITEMS"
    )["datasetArn"]
    t.settle()
    t("DescribeDataset", datasetArn=ds_int)
    t("ListDatasets", datasetGroupArn=dg)
    for ds, key in ((ds_int, "interactions.csv"), (ds_items, "items.csv")):
        t(
            "CreateDatasetImportJob",
            jobName=f"import-{key.split('.')[0]}",
            datasetArn=ds,
            dataSource={"dataLocation": f"s3://{bucket}/{key}"},
            roleArn=role,
            importMode="FULL",
        )
    t.settle()
    job = t("ListDatasetImportJobs", datasetArn=ds_int)["datasetImportJobs"][0]
    assert (
        t("DescribeDatasetImportJob", datasetImportJobArn=job["datasetImportJobArn"])["datasetImportJob"][
            "status"
        ]
        == "ACTIVE"
    )
    t("UpdateDataset", datasetArn=ds_items, schemaArn=s_items2)
    t.settle()
    assert t("DescribeDataset", datasetArn=ds_items)["dataset"]["schemaArn"] == s_items2
    export = t(
        "CreateDatasetExportJob",
        jobName="export",
        datasetArn=ds_int,
        roleArn=role,
        jobOutput={"s3DataDestination": {"path": f"s3://{bucket}/export/"}},
    )["datasetExportJobArn"]
    t.settle()
    t("DescribeDatasetExportJob", datasetExportJobArn=export)
    t("ListDatasetExportJobs", datasetArn=ds_int)

    # solutions, versions, metrics
    sol = t(
        "CreateSolution",
        name="tour-up",
        datasetGroupArn=dg,
        recipeArn=RECIPE + "aws-user-personalization",
        performAutoTraining=False,
        tags=[{"tagKey": "a", "tagValue": "b"}],
    )["solutionArn"]
    seg = t(
        "CreateSolution",
        name="tour-seg",
        datasetGroupArn=dg,
        recipeArn=RECIPE + "aws-item-affinity",
        performAutoTraining=False,
    )["solutionArn"]
    t.settle()
    t("DescribeSolution", solutionArn=sol)
    t("ListSolutions", datasetGroupArn=dg)
    t(
        "UpdateSolution",
        solutionArn=sol,
        performAutoTraining=True,
        solutionUpdateConfig={"autoTrainingConfig": {"schedulingExpression": "rate(3 days)"}},
    )
    sv = t("CreateSolutionVersion", solutionArn=sol, name="v1", trainingMode="FULL")["solutionVersionArn"]
    sv_seg = t("CreateSolutionVersion", solutionArn=seg)["solutionVersionArn"]
    t.settle()
    assert t("DescribeSolution", solutionArn=sol)["solution"]["latestSolutionUpdate"]["status"] == "ACTIVE"
    assert t("DescribeSolutionVersion", solutionVersionArn=sv)["solutionVersion"]["status"] == "ACTIVE"
    t("ListSolutionVersions", solutionArn=sol)
    t("GetSolutionMetrics", solutionVersionArn=sv)
    t.emulator.profile.create["solution_version.UPDATE"] = 600.0  # long enough to be stopped
    sv_update = t("CreateSolutionVersion", solutionArn=sol, trainingMode="UPDATE")["solutionVersionArn"]
    t("StopSolutionVersionCreation", solutionVersionArn=sv_update)
    assert (
        t("DescribeSolutionVersion", solutionVersionArn=sv_update)["solutionVersion"]["status"]
        == "CREATE STOPPED"
    )

    # campaign, filter, event tracker, metric attribution, batch jobs
    camp = t(
        "CreateCampaign",
        name="tour-camp",
        solutionVersionArn=sv,
        minProvisionedTPS=1,
        campaignConfig={"itemExplorationConfig": {"explorationWeight": "0.3"}},
    )["campaignArn"]
    t.settle()
    t("DescribeCampaign", campaignArn=camp)
    t("ListCampaigns", solutionArn=sol)
    t("UpdateCampaign", campaignArn=camp, minProvisionedTPS=2)
    t.settle()
    assert t("DescribeCampaign", campaignArn=camp)["campaign"]["minProvisionedTPS"] == 2
    flt = t(
        "CreateFilter",
        name="tour-filter",
        datasetGroupArn=dg,
        filterExpression='EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("OrderCompleted")',
    )["filterArn"]
    et = t("CreateEventTracker", name="tour-tracker", datasetGroupArn=dg)["eventTrackerArn"]
    ma = t(
        "CreateMetricAttribution",
        name="tour-ma",
        datasetGroupArn=dg,
        metrics=[{"eventType": "OrderCompleted", "metricName": "orders", "expression": "SAMPLECOUNT()"}],
        metricsOutputConfig={"roleArn": role, "s3DataDestination": {"path": f"s3://{bucket}/ma/"}},
    )["metricAttributionArn"]
    t.settle()
    t("DescribeFilter", filterArn=flt)
    t("ListFilters", datasetGroupArn=dg)
    t("DescribeEventTracker", eventTrackerArn=et)
    t("ListEventTrackers", datasetGroupArn=dg)
    t("DescribeMetricAttribution", metricAttributionArn=ma)
    t("ListMetricAttributions", datasetGroupArn=dg)
    t(
        "UpdateMetricAttribution",
        metricAttributionArn=ma,
        removeMetrics=["orders"],
        addMetrics=[{"eventType": "ProductViewed", "metricName": "views", "expression": "SAMPLECOUNT()"}],
    )
    assert [
        m["metricName"] for m in t("ListMetricAttributionMetrics", metricAttributionArn=ma)["metrics"]
    ] == ["views"]
    bij = t(
        "CreateBatchInferenceJob",
        jobName="tour-bij",
        solutionVersionArn=sv,
        roleArn=role,
        numResults=10,
        filterArn=flt,
        jobInput={"s3DataSource": {"path": f"s3://{bucket}/batch/input.json"}},
        jobOutput={"s3DataDestination": {"path": f"s3://{bucket}/batch/out/"}},
        tags=[{"tagKey": "k", "tagValue": "v"}],
    )["batchInferenceJobArn"]
    bsj = t(
        "CreateBatchSegmentJob",
        jobName="tour-bsj",
        solutionVersionArn=sv_seg,
        roleArn=role,
        jobInput={"s3DataSource": {"path": f"s3://{bucket}/batch/input.json"}},
        jobOutput={"s3DataDestination": {"path": f"s3://{bucket}/segments/"}},
    )["batchSegmentJobArn"]
    t.settle()
    t("DescribeBatchInferenceJob", batchInferenceJobArn=bij)
    t("ListBatchInferenceJobs", solutionVersionArn=sv)
    t("DescribeBatchSegmentJob", batchSegmentJobArn=bsj)
    t("ListBatchSegmentJobs")
    ddj = t(
        "CreateDataDeletionJob",
        jobName="tour-ddj",
        datasetGroupArn=dg,
        roleArn=role,
        dataSource={"dataLocation": f"s3://{bucket}/delete-users.csv"},
    )["dataDeletionJobArn"]
    t.settle()
    assert t("DescribeDataDeletionJob", dataDeletionJobArn=ddj)["dataDeletionJob"]["status"] == "COMPLETED"
    t("ListDataDeletionJobs", datasetGroupArn=dg)

    # tags
    t("TagResource", resourceArn=dg, tags=[{"tagKey": "env", "tagValue": "test"}])
    t("UntagResource", resourceArn=dg, tagKeys=["team"])
    assert t("ListTagsForResource", resourceArn=dg)["tags"] == [{"tagKey": "env", "tagValue": "test"}]

    # domain group + recommender lifecycle
    ddg = t("CreateDatasetGroup", name="tour-domain", domain="ECOMMERCE")["datasetGroupArn"]
    s_dom = t("CreateSchema", name="tour-dom-int", schema=INTERACTIONS_SCHEMA, domain="ECOMMERCE")[
        "schemaArn"
    ]
    t.settle()
    dds = t(
        "CreateDataset", name="tour-dom-int", datasetGroupArn=ddg, schemaArn=s_dom, datasetType="Interactions"
    )["datasetArn"]
    t.settle()
    t(
        "CreateDatasetImportJob",
        jobName="tour-dom-import",
        datasetArn=dds,
        roleArn=role,
        dataSource={"dataLocation": f"s3://{bucket}/interactions.csv"},
    )
    t.settle()
    rec = t(
        "CreateRecommender",
        name="tour-rec",
        datasetGroupArn=ddg,
        recipeArn=RECIPE + "aws-ecomm-recommended-for-you",
    )["recommenderArn"]
    t.settle()
    assert t("DescribeRecommender", recommenderArn=rec)["recommender"]["status"] == "ACTIVE"
    t("ListRecommenders", datasetGroupArn=ddg)
    t("UpdateRecommender", recommenderArn=rec, recommenderConfig={"minRecommendationRequestsPerSecond": 2})
    t.settle()
    t("StopRecommender", recommenderArn=rec)
    t.settle()
    assert t("DescribeRecommender", recommenderArn=rec)["recommender"]["status"] == "INACTIVE"
    t("StartRecommender", recommenderArn=rec)
    t.settle()
    t("DeleteRecommender", recommenderArn=rec)

    # tear down in the documented order
    t("DeleteCampaign", campaignArn=camp)
    t.settle()
    t("DeleteSolution", solutionArn=sol)
    t("DeleteFilter", filterArn=flt)
    t("DeleteMetricAttribution", metricAttributionArn=ma)
    t("DeleteEventTracker", eventTrackerArn=et)
    t.settle()
    t("DeleteDataset", datasetArn=ds_items)
    t.settle()
    t.expect_error(
        "ResourceInUseException", "DeleteDatasetGroup", datasetGroupArn=dg
    )  # interactions still there
    t("DeleteDataset", datasetArn=ds_int)
    t("DeleteSolution", solutionArn=seg)
    t.settle()
    t("DeleteDatasetGroup", datasetGroupArn=dg)
    t.settle()
    t.expect_error("ResourceNotFoundException", "DescribeDatasetGroup", datasetGroupArn=dg)


@pytest.fixture(scope="module")
def tour() -> Iterator[Tour]:
    with mock_aws():
        clock = VirtualClock()
        emulator = PersonalizeEmulator(clock=clock, profile=DurationProfile.instant(), strict=True)
        t = Tour(emulator, clock)
        _run_tour(t, boto3.client("s3", region_name=REGION))
        yield t


@pytest.mark.parametrize("operation", sorted(HANDLERS))
def test_tour_response_validates_against_output_shape(tour: Tour, operation: str) -> None:
    outputs = tour.outputs.get(operation)
    assert outputs, f"the tour never called {operation} successfully"
    shape = MODEL.operation_model(operation).output_shape
    for out in outputs:
        assert check_shape(out, shape) == [], out


def test_tour_statuses_come_from_the_documented_tables(tour: Tour) -> None:
    for operation, outputs in tour.outputs.items():
        if not operation.startswith("Describe") or operation in (
            "DescribeSchema",
            "DescribeRecipe",
            "DescribeAlgorithm",
            "DescribeFeatureTransformation",
        ):
            continue
        kind = next(k for k in STATUSES if "".join(w.capitalize() for w in k.split("_")) == operation[8:])
        for out in outputs:
            (resource,) = out.values()
            assert resource["status"] in STATUSES[kind], (operation, resource["status"])


ERROR_CASES = (
    [
        (op, "ResourceNotFoundException", {MODEL.operation_model(op).input_shape.required_members[0]: arn})
        for op, arn in (
            (op, "arn:aws:personalize:us-west-2:123456789012:nothing/missing")
            for op in OPERATIONS
            if op.startswith(("Describe", "Delete", "Start", "Stop", "GetSolution", "ListTagsFor"))
        )
    ]
    + [
        (op, "InvalidNextTokenException", {"nextToken": "bm90LWEtdG9rZW4="})
        for op in OPERATIONS
        if op.startswith("List") and op != "ListTagsForResource"
    ]
    + [
        (
            op,
            "InvalidInputException",
            {m: "bad name!" for m in MODEL.operation_model(op).input_shape.required_members},
        )
        for op in OPERATIONS
        if op.startswith("Create")
    ]
)


@pytest.mark.parametrize(
    ("operation", "code", "params"), ERROR_CASES, ids=[f"{c[0]}-{c[1]}" for c in ERROR_CASES]
)
def test_error_codes_are_declared_for_their_operation(
    operation: str, code: str, params: dict[str, Any]
) -> None:
    assert code in declared_errors(operation)
    emulator = PersonalizeEmulator(clock=VirtualClock(), profile=DurationProfile.instant(), strict=True)
    with pytest.raises(EmulatorError) as info:
        emulator.handle(operation, params, REGION, emulator.account)
    assert info.value.code == code, info.value.message


CORE_MEMBERS = ("name", "jobName", "status", "creationDateTime", "lastUpdatedDateTime")


def test_tour_describe_responses_carry_the_core_members(tour: Tour) -> None:
    """Rendering drops what a record lacks, so check the members every resource must report are there."""
    for operation, outputs in tour.outputs.items():
        if not operation.startswith("Describe"):
            continue
        (member,) = MODEL.operation_model(operation).output_shape.members.values()
        expected = [m for m in CORE_MEMBERS if m in member.members]
        own_arn = operation[8:9].lower() + operation[9:] + "Arn"
        expected += [m for m in member.members if m == own_arn]
        for out in outputs:
            (resource,) = out.values()
            optional = (
                {"name"} if operation == "DescribeSolutionVersion" else set()
            )  # CreateSolutionVersion: optional
            missing = [m for m in expected if m not in resource and m not in optional]
            assert not missing, (operation, missing)
