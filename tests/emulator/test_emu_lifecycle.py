"""Lifecycles in virtual time (realistic profile): create, delete, updates, stop/start — table-driven."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from conftest import REGION, Env, shared_iam, shared_s3
from emu_support import INTERACTIONS_SCHEMA, grant_personalize
from moto import mock_aws

from reconciler.emulator import DurationProfile, EmulatorError, PersonalizeEmulator, VirtualClock

PROFILE = DurationProfile()
BATCH_WORDS = ("PENDING", "IN PROGRESS")
P = PROFILE.pending


@pytest.fixture
def slow() -> Iterator[Env]:
    """Realistic durations; ``settle`` helpers below move the virtual clock explicitly."""
    with mock_aws():
        clock = VirtualClock()
        s3, iam = shared_s3(), shared_iam()
        emulator = PersonalizeEmulator(
            clock=clock,
            profile=PROFILE,
            strict=True,
            s3_client_factory=lambda _: s3,
            iam_client_factory=lambda _: iam,
        )
        s3.create_bucket(Bucket="emu-data", CreateBucketConfiguration={"LocationConstraint": REGION})
        grant_personalize(s3, iam, "emu-data", emulator.account)
        yield Env(emulator, clock, None, s3)


def run_until_active(
    env: Env, describe: Callable[[], dict[str, Any]], limit: float = 86400
) -> dict[str, Any]:
    start = env.clock.now()
    while (resource := describe())["status"] != "ACTIVE":
        assert resource["status"] != "CREATE FAILED", resource.get("failureReason")
        assert env.clock.now() - start < limit
        env.clock.advance(30)
    return resource


def ready_group(env: Env) -> str:
    dg = env.trainable_group(wait=600)
    env.clock.advance(3600)  # group, dataset and import all finish within the hour
    return dg


def ready_version(env: Env, dg: str) -> str:
    sol = env.solution(dg, performAutoTraining=False)
    env.clock.advance(120)
    sv = env.version(sol)
    env.clock.advance(3600)
    return sv


def _describe(env: Env, kind_op: str, key: str, arn_key: str, arn: str) -> dict[str, Any]:
    return dict(env.call(f"Describe{kind_op}", **{arn_key: arn})[key])


# (kind, create -> arn, describe op suffix, response key, ARN parameter, seconds to ACTIVE after PENDING)
CREATES: list[tuple[str, Callable[[Env], str], str, str, str, float]] = [
    ("dataset_group", lambda e: e.group(), "DatasetGroup", "datasetGroup", "datasetGroupArn", 60),
    (
        "solution",
        lambda e: e.solution(ready_group(e)),
        "Solution",
        "solution",
        "solutionArn",
        60,
    ),
    (
        "solution_version",
        lambda e: _new_version(e),
        "SolutionVersion",
        "solutionVersion",
        "solutionVersionArn",
        45 * 60,
    ),
    (
        "campaign",
        lambda e: e.call("CreateCampaign", name="c", solutionVersionArn=ready_version(e, ready_group(e)))[
            "campaignArn"
        ],
        "Campaign",
        "campaign",
        "campaignArn",
        25 * 60,
    ),
    (
        "filter",
        lambda e: e.call(
            "CreateFilter",
            name="f",
            datasetGroupArn=ready_group(e),
            filterExpression='EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("x")',
        )["filterArn"],
        "Filter",
        "filter",
        "filterArn",
        120,
    ),
    (
        "event_tracker",
        lambda e: e.call("CreateEventTracker", name="t", datasetGroupArn=ready_group(e))["eventTrackerArn"],
        "EventTracker",
        "eventTracker",
        "eventTrackerArn",
        60,
    ),
]


CREATES += [
    (
        "metric_attribution",
        lambda e: e.call(
            "CreateMetricAttribution",
            name="m",
            datasetGroupArn=ready_group(e),
            metrics=[{"eventType": "click", "metricName": "clicks", "expression": "SAMPLECOUNT()"}],
            metricsOutputConfig={"roleArn": e.role},
        )["metricAttributionArn"],
        "MetricAttribution",
        "metricAttribution",
        "metricAttributionArn",
        120,
    ),
    (
        "batch_inference_job",
        lambda e: e.call(
            "CreateBatchInferenceJob",
            jobName="b",
            solutionVersionArn=ready_version(e, ready_group(e)),
            roleArn=e.role,
            jobInput={"s3DataSource": {"path": e.put("in.json", b"{}")}},
            jobOutput={"s3DataDestination": {"path": "s3://emu-data/out/"}},
        )["batchInferenceJobArn"],
        "BatchInferenceJob",
        "batchInferenceJob",
        "batchInferenceJobArn",
        30 * 60,
    ),
]


def test_data_deletion_job_uses_the_job_vocabulary(slow: Env) -> None:
    dg = slow.group()
    arn = slow.call(
        "CreateDataDeletionJob",
        jobName="gdpr",
        datasetGroupArn=dg,
        roleArn=slow.role,
        dataSource={"dataLocation": slow.put("u.csv", b"USER_ID\nu1\n")},
    )["dataDeletionJobArn"]
    seen = []
    for _ in range(8):
        status = slow.call("DescribeDataDeletionJob", dataDeletionJobArn=arn)["dataDeletionJob"]["status"]
        if not seen or seen[-1] != status:
            seen.append(status)
        slow.clock.advance(PROFILE.create["data_deletion_job"] / 4)
    assert seen == ["PENDING", "IN_PROGRESS", "COMPLETED"]


def _new_version(env: Env) -> str:
    sol = env.solution(ready_group(env), performAutoTraining=False)
    env.clock.advance(120)
    return env.version(sol)


@pytest.mark.parametrize(
    ("kind", "create", "noun", "key", "arn_key", "seconds"), CREATES, ids=[c[0] for c in CREATES]
)
def test_create_lifecycle(
    slow: Env, kind: str, create: Callable[[Env], str], noun: str, key: str, arn_key: str, seconds: float
) -> None:
    # botocore documents batch jobs as "PENDING, IN PROGRESS, ACTIVE, CREATE FAILED"; the others CREATE ...
    pending, running = BATCH_WORDS if kind.startswith("batch_") else ("CREATE PENDING", "CREATE IN_PROGRESS")
    arn = create(slow)
    t0 = slow.clock.now()
    observed = _describe(slow, noun, key, arn_key, arn)
    assert observed["status"] == pending
    slow.clock.advance(P)
    assert _describe(slow, noun, key, arn_key, arn)["status"] == running
    slow.clock.advance(seconds - 1)
    assert _describe(slow, noun, key, arn_key, arn)["status"] == running
    slow.clock.advance(1)
    done = _describe(slow, noun, key, arn_key, arn)
    assert done["status"] == "ACTIVE"
    assert done["lastUpdatedDateTime"].timestamp() == pytest.approx(t0 + P + seconds)
    assert done["creationDateTime"].timestamp() == pytest.approx(t0)


def test_import_job_lifecycle_and_arn(slow: Env) -> None:
    dg = slow.group()
    slow.clock.advance(600)
    schema = slow.call("CreateSchema", name="s", schema=INTERACTIONS_SCHEMA)["schemaArn"]
    ds = slow.call(
        "CreateDataset", name="d", datasetGroupArn=dg, schemaArn=schema, datasetType="Interactions"
    )
    with pytest.raises(EmulatorError) as info:  # the dataset is still CREATE PENDING
        slow.call(
            "CreateDatasetImportJob",
            jobName="j",
            datasetArn=ds["datasetArn"],
            dataSource={"dataLocation": "s3://emu-data/x.csv"},
            roleArn=slow.role,
        )
    assert info.value.code == "ResourceInUseException"
    slow.clock.advance(600)
    url = slow.put("x.csv", b"USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,DISCOUNT\nu1,i1,1,click,No\n")
    arn = slow.call(
        "CreateDatasetImportJob",
        jobName="j",
        datasetArn=ds["datasetArn"],
        dataSource={"dataLocation": url},
        roleArn=slow.role,
    )["datasetImportJobArn"]
    assert arn == f"arn:aws:personalize:{REGION}:123456789012:dataset-import-job/j"
    statuses = []
    for _ in range(40):
        statuses.append(
            slow.call("DescribeDatasetImportJob", datasetImportJobArn=arn)["datasetImportJob"]["status"]
        )
        slow.clock.advance(60)
    assert statuses[0] == "CREATE PENDING" and statuses[-1] == "ACTIVE"
    assert "CREATE IN_PROGRESS" in statuses
    assert statuses.index("ACTIVE") * 60 >= PROFILE.create["dataset_import_job"]


@pytest.mark.parametrize(
    ("noun", "key", "steps"),
    [
        ("DatasetGroup", "datasetGroup", ["DELETE PENDING"]),
        ("Solution", "solution", ["DELETE PENDING", "DELETE IN_PROGRESS"]),
    ],
)
def test_delete_is_asynchronous(slow: Env, noun: str, key: str, steps: list[str]) -> None:
    dg = slow.group()
    slow.clock.advance(600)
    arn = dg if noun == "DatasetGroup" else slow.solution(dg, performAutoTraining=False)
    slow.clock.advance(600)
    arn_key = key + "Arn"
    slow.call(f"Delete{noun}", **{arn_key: arn})
    seen = [_describe(slow, noun, key, arn_key, arn)["status"]]
    with pytest.raises(EmulatorError) as again:
        slow.call(f"Delete{noun}", **{arn_key: arn})
    assert again.value.code == "ResourceInUseException"
    while True:
        slow.clock.advance(P)
        try:
            status = _describe(slow, noun, key, arn_key, arn)["status"]
        except EmulatorError as exc:
            assert exc.code == "ResourceNotFoundException"
            break
        if status != seen[-1]:
            seen.append(status)
    assert seen == steps


def test_campaign_update_switches_top_level_values_only_when_active(slow: Env) -> None:
    sv = ready_version(slow, ready_group(slow))
    camp = slow.call("CreateCampaign", name="c", solutionVersionArn=sv, minProvisionedTPS=1)["campaignArn"]
    slow.clock.advance(3600)
    assert "latestCampaignUpdate" not in slow.call("DescribeCampaign", campaignArn=camp)["campaign"]
    slow.call("UpdateCampaign", campaignArn=camp, minProvisionedTPS=5)
    with pytest.raises(EmulatorError) as busy:
        slow.call("UpdateCampaign", campaignArn=camp, minProvisionedTPS=6)
    assert busy.value.code == "ResourceInUseException"
    with pytest.raises(EmulatorError) as busy_delete:
        slow.call("DeleteCampaign", campaignArn=camp)
    assert busy_delete.value.code == "ResourceInUseException"
    slow.clock.advance(P + 60)
    campaign = slow.call("DescribeCampaign", campaignArn=camp)["campaign"]
    assert campaign["status"] == "ACTIVE" and campaign["minProvisionedTPS"] == 1
    assert campaign["latestCampaignUpdate"]["status"] == "CREATE IN_PROGRESS"
    assert campaign["latestCampaignUpdate"]["minProvisionedTPS"] == 5
    slow.clock.advance(PROFILE.update["campaign"])
    campaign = slow.call("DescribeCampaign", campaignArn=camp)["campaign"]
    assert campaign["minProvisionedTPS"] == 5 and campaign["latestCampaignUpdate"]["status"] == "ACTIVE"


def test_solution_update_and_dataset_update_sub_status(slow: Env) -> None:
    dg = ready_group(slow)
    sol = slow.solution(dg)
    slow.clock.advance(120)
    slow.call("UpdateSolution", solutionArn=sol, performAutoTraining=False)
    solution = slow.call("DescribeSolution", solutionArn=sol)["solution"]
    assert solution["performAutoTraining"] is True
    assert solution["latestSolutionUpdate"]["performAutoTraining"] is False
    with pytest.raises(EmulatorError) as busy:
        slow.call("DeleteSolution", solutionArn=sol)
    assert busy.value.code == "ResourceInUseException"
    slow.clock.advance(P + PROFILE.update["solution"])
    solution = slow.call("DescribeSolution", solutionArn=sol)["solution"]
    assert solution["performAutoTraining"] is False and solution["latestSolutionUpdate"]["status"] == "ACTIVE"


def test_stop_solution_version_from_in_progress_and_pending(slow: Env) -> None:
    dg = ready_group(slow)
    sol = slow.solution(dg, performAutoTraining=False)
    slow.clock.advance(120)
    pending = slow.version(sol)
    slow.call("StopSolutionVersionCreation", solutionVersionArn=pending)
    assert slow.call("DescribeSolutionVersion", solutionVersionArn=pending)["solutionVersion"]["status"] == (
        "CREATE STOPPED"
    )
    running = slow.version(sol)
    slow.clock.advance(P + 60)
    slow.call("StopSolutionVersionCreation", solutionVersionArn=running)
    assert slow.call("DescribeSolutionVersion", solutionVersionArn=running)["solutionVersion"]["status"] == (
        "CREATE STOPPING"
    )
    slow.clock.advance(PROFILE.stop)
    slow.clock.advance(3600)  # the cancelled training never completes
    version = slow.call("DescribeSolutionVersion", solutionVersionArn=running)["solutionVersion"]
    assert version["status"] == "CREATE STOPPED"
    with pytest.raises(EmulatorError) as info:
        slow.call("StopSolutionVersionCreation", solutionVersionArn=running)
    assert info.value.code == "ResourceInUseException"
    with pytest.raises(EmulatorError) as metrics:
        slow.call("GetSolutionMetrics", solutionVersionArn=running)
    assert metrics.value.code == "ResourceInUseException"
    latest = slow.call("DescribeSolution", solutionArn=sol)["solution"]["latestSolutionVersion"]
    assert latest == {k: version[k] for k in latest}


def test_recommender_stop_start_cycle(slow: Env) -> None:
    dg = slow.group("dom", domain="ECOMMERCE")
    schema = slow.call("CreateSchema", name="dom", schema=INTERACTIONS_SCHEMA, domain="ECOMMERCE")[
        "schemaArn"
    ]
    slow.clock.advance(600)
    ds = slow.call(
        "CreateDataset", name="d", datasetGroupArn=dg, schemaArn=schema, datasetType="Interactions"
    )
    slow.clock.advance(600)
    from emu_support import interactions_csv

    slow.call(
        "CreateDatasetImportJob",
        jobName="j",
        datasetArn=ds["datasetArn"],
        roleArn=slow.role,
        dataSource={"dataLocation": slow.put("i.csv", interactions_csv())},
    )
    slow.clock.advance(3600)
    rec = slow.call(
        "CreateRecommender",
        name="r",
        datasetGroupArn=dg,
        recipeArn="arn:aws:personalize:::recipe/aws-ecomm-recommended-for-you",
    )["recommenderArn"]
    with pytest.raises(EmulatorError) as info:
        slow.call("StopRecommender", recommenderArn=rec)
    assert info.value.code == "ResourceInUseException"
    describe = lambda: slow.call("DescribeRecommender", recommenderArn=rec)["recommender"]  # noqa: E731
    assert "modelMetrics" not in describe()
    assert set(run_until_active(slow, describe)["modelMetrics"]) >= {"coverage", "precision_at_25"}
    seen = []
    slow.call("StopRecommender", recommenderArn=rec)
    for _ in range(20):
        status = describe()["status"]
        if not seen or seen[-1] != status:
            seen.append(status)
        slow.clock.advance(30)
    with pytest.raises(EmulatorError):
        slow.call("StopRecommender", recommenderArn=rec)
    slow.call("StartRecommender", recommenderArn=rec)
    for _ in range(20):
        status = describe()["status"]
        if seen[-1] != status:
            seen.append(status)
        slow.clock.advance(30)
    assert seen == [
        "STOP PENDING",
        "STOP IN_PROGRESS",
        "INACTIVE",
        "START PENDING",
        "START IN_PROGRESS",
        "ACTIVE",
    ]


def test_import_time_grows_with_rows(slow: Env) -> None:
    from emu_support import interactions_csv

    durations = []
    for users in (10, 400):
        dg = slow.trainable_group(f"g{users}", csv=interactions_csv(users=users, per_user=100), wait=600)
        job = slow.call("ListDatasetImportJobs")["datasetImportJobs"][-1]
        slow.clock.advance(2 * PROFILE.create["dataset_import_job"] + P)
        done = slow.call("DescribeDatasetImportJob", datasetImportJobArn=job["datasetImportJobArn"])[
            "datasetImportJob"
        ]
        assert done["status"] == "ACTIVE" and dg
        durations.append((done["lastUpdatedDateTime"] - done["creationDateTime"]).total_seconds() - P)
    base = PROFILE.create["dataset_import_job"]
    assert durations == [pytest.approx(base * 1.001), pytest.approx(base * 1.04)]
