"""Training outcomes from data statistics, deterministic metrics, automatic training, campaign sync."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from conftest import REGION, Env, shared_iam, shared_s3
from emu_support import grant_personalize, interactions_csv
from moto import mock_aws

from reconciler.emulator import DurationProfile, PersonalizeEmulator, VirtualClock
from reconciler.emulator.metrics import METRIC_KEYS

HOUR, DAY = 3600.0, 86400.0


def describe_version(env: Env, arn: str) -> dict[str, Any]:
    return dict(env.call("DescribeSolutionVersion", solutionVersionArn=arn)["solutionVersion"])


@pytest.mark.parametrize(
    ("csv", "extra", "message"),
    [
        (interactions_csv(users=30, per_user=20), {}, "found 600 interactions"),
        (interactions_csv(users=20, per_user=60), {}, "found 20 users with at least 2 interactions"),
        (
            interactions_csv(users=40, per_user=30),
            {"eventType": "OrderCompleted"},
            "of event type OrderCompleted",
        ),
    ],
    ids=["too-few-interactions", "too-few-users", "event-type-filter"],
)
def test_training_fails_realistically_on_too_little_data(
    env: Env, csv: bytes, extra: dict[str, Any], message: str
) -> None:
    dg = env.trainable_group(csv=csv)
    version = describe_version(env, env.version(env.solution(dg, performAutoTraining=False, **extra)))
    assert version["status"] == "CREATE FAILED"
    assert (
        "Insufficient data for training" in version["failureReason"] and message in version["failureReason"]
    )
    assert "trainingHours" not in version


def test_training_needs_the_recipes_datasets(env: Env) -> None:
    dg = env.group()
    sol = env.solution(dg, recipe="aws-item-attribute-affinity", performAutoTraining=False)
    version = describe_version(env, env.version(sol))
    assert version["status"] == "CREATE FAILED"
    assert "INTERACTIONS dataset with imported data" in version["failureReason"]


def _metrics_of_fresh_run(config: dict[str, Any]) -> list[dict[str, float]]:
    with mock_aws():
        s3, iam = shared_s3(), shared_iam()
        s3.create_bucket(Bucket="emu-data", CreateBucketConfiguration={"LocationConstraint": REGION})
        emu = PersonalizeEmulator(
            clock=VirtualClock(),
            profile=DurationProfile.instant(),
            s3_client_factory=lambda _: s3,
            iam_client_factory=lambda _: iam,
        )
        grant_personalize(s3, iam, "emu-data", emu.account)
        env = Env(emu, emu.clock, None, s3)  # type: ignore[arg-type]
        sol = env.solution(env.trainable_group(), performAutoTraining=False, **config)
        arns = [env.version(sol), env.version(sol)]
        return [env.call("GetSolutionMetrics", solutionVersionArn=a)["metrics"] for a in arns]


def test_metrics_are_deterministic_and_depend_on_inputs() -> None:
    first = _metrics_of_fresh_run({})
    assert first == _metrics_of_fresh_run({})  # same inputs, same numbers, in a new emulator
    assert first[0] == first[1]  # same data and configuration: the same model, so the same metrics
    assert set(first[0]) == set(METRIC_KEYS)
    other = _metrics_of_fresh_run(
        {"solutionConfig": {"algorithmHyperParameters": {"hidden_dimension": "32"}}}
    )
    assert other[0] != first[0]  # 8 factors instead of 37: another model
    for m in first:
        assert all(0.0 <= value <= 1.0 for value in m.values())
        assert m["coverage"] > 0 and m["precision_at_25"] > 0


def test_metrics_can_be_set_per_version_and_by_default(env: Env) -> None:
    sol = env.solution(env.trainable_group(), performAutoTraining=False)
    a, b = env.version(sol), env.version(sol)
    env.emulator.control.set_metrics(a, {"coverage": 0.5, "precision_at_5": 0.25})
    assert env.call("GetSolutionMetrics", solutionVersionArn=a)["metrics"] == {
        "coverage": 0.5,
        "precision_at_5": 0.25,
    }
    env.emulator.control.set_default_metrics(
        lambda v: {"coverage": 0.1 if v["trainingMode"] == "FULL" else 0.2}
    )
    assert env.client.get_solution_metrics(solutionVersionArn=b)["metrics"] == {"coverage": 0.1}
    env.emulator.control.set_default_metrics(None)
    assert set(env.call("GetSolutionMetrics", solutionVersionArn=b)["metrics"]) == set(METRIC_KEYS)


def test_fail_next_forces_a_training_failure_once(env: Env) -> None:
    sol = env.solution(env.trainable_group(), name="doomed", performAutoTraining=False)
    env.emulator.control.fail_next("solution_version", "doomed", "Out of memory")
    failed = describe_version(env, env.version(sol))
    assert (failed["status"], failed["failureReason"]) == ("CREATE FAILED", "Out of memory")
    assert describe_version(env, env.version(sol))["status"] == "ACTIVE"


def test_training_modes_and_hours(env: Env) -> None:
    sol = env.solution(env.trainable_group(), performAutoTraining=False, performHPO=True)
    full = describe_version(env, env.version(sol))
    update = describe_version(env, env.version(sol, trainingMode="UPDATE"))
    assert (full["trainingMode"], update["trainingMode"]) == ("FULL", "UPDATE")
    assert (
        full["trainingHours"] > 0 and full["tunedHPOParams"]["algorithmHyperParameters"]["hidden_dimension"]
    )
    assert (
        full["solutionVersionArn"].split("/")[-2:][0] == "sol"
        and len(full["solutionVersionArn"].split("/")[-1]) == 8
    )


@pytest.fixture
def timed() -> Iterator[Env]:
    """Instant creates but real schedules: automatic training runs on virtual days."""
    with mock_aws():
        s3, iam = shared_s3(), shared_iam()
        s3.create_bucket(Bucket="emu-data", CreateBucketConfiguration={"LocationConstraint": REGION})
        clock = VirtualClock()
        emu = PersonalizeEmulator(
            clock=clock,
            profile=DurationProfile.instant(),
            strict=True,
            s3_client_factory=lambda _: s3,
            iam_client_factory=lambda _: iam,
        )
        grant_personalize(s3, iam, "emu-data", emu.account)
        yield Env(emu, clock, None, s3)


def versions(env: Env, sol: str) -> list[dict[str, Any]]:
    return list(env.call("ListSolutionVersions", solutionArn=sol)["solutionVersions"])


def new_data(env: Env, dg: str) -> None:
    """Another (instant) FULL import into the group's interactions dataset: data arrived."""
    ds = env.call("ListDatasets", datasetGroupArn=dg)["datasets"][0]["datasetArn"]
    name = f"more-{len(env.call('ListDatasetImportJobs', datasetArn=ds)['datasetImportJobs'])}"
    url = env.put(f"{name}.csv", interactions_csv(seed=len(name)))
    env.call(
        "CreateDatasetImportJob",
        jobName=name,
        datasetArn=ds,
        dataSource={"dataLocation": url},
        roleArn=env.role,
    )


def test_automatic_training_within_an_hour_then_weekly_when_data_arrived(timed: Env) -> None:
    dg = timed.trainable_group()
    sol = timed.solution(dg)
    assert timed.call("DescribeSolution", solutionArn=sol)["solution"]["performAutoTraining"] is True
    timed.clock.advance(HOUR - 1)
    assert versions(timed, sol) == []
    timed.clock.advance(1)
    auto = versions(timed, sol)
    assert [(v["trainingType"], v["trainingMode"]) for v in auto] == [("AUTOMATIC", "AUTOTRAIN")]
    timed.clock.advance(7 * DAY)  # no data imported since: "training runs only if data was imported"
    assert len(versions(timed, sol)) == 1
    new_data(timed, dg)
    timed.clock.advance(7 * DAY)
    assert len(versions(timed, sol)) == 2
    new_data(timed, dg)
    timed.clock.advance(21 * DAY)  # three more weeks, one of them with new data, settled in one request
    assert len(versions(timed, sol)) == 3


def test_manual_version_in_the_first_hour_skips_the_first_automatic_one(timed: Env) -> None:
    dg = timed.trainable_group()
    sol = timed.solution(dg)
    timed.clock.advance(600)
    timed.version(sol)
    timed.clock.advance(HOUR)
    assert [v["trainingType"] for v in versions(timed, sol)] == ["MANUAL"]
    timed.clock.advance(7 * DAY)  # the manual version saw all the data: nothing new to train on
    assert [v["trainingType"] for v in versions(timed, sol)] == ["MANUAL"]
    new_data(timed, dg)
    timed.clock.advance(7 * DAY)
    assert [v["trainingType"] for v in versions(timed, sol)] == ["MANUAL", "AUTOMATIC"]


def test_schedule_and_switching_auto_training_off(timed: Env) -> None:
    dg = timed.trainable_group()
    sol = timed.solution(dg, solutionConfig={"autoTrainingConfig": {"schedulingExpression": "rate(2 days)"}})
    timed.clock.advance(HOUR)
    for _ in range(2):
        new_data(timed, dg)
        timed.clock.advance(2 * DAY)
    assert len(versions(timed, sol)) == 3
    timed.call("UpdateSolution", solutionArn=sol, performAutoTraining=False)
    new_data(timed, dg)
    timed.clock.advance(30 * DAY)
    assert len(versions(timed, sol)) == 3
    timed.call("UpdateSolution", solutionArn=sol, performAutoTraining=True)
    timed.clock.advance(HOUR)
    assert len(versions(timed, sol)) == 4


def test_campaign_with_sync_follows_new_active_versions(timed: Env) -> None:
    sol = timed.solution(timed.trainable_group(), performAutoTraining=False)
    first = timed.version(sol)
    synced = timed.call(
        "CreateCampaign",
        name="synced",
        solutionVersionArn=f"{sol}/$LATEST",
        campaignConfig={"syncWithLatestSolutionVersion": True},
    )["campaignArn"]
    pinned = timed.call("CreateCampaign", name="pinned", solutionVersionArn=first)["campaignArn"]
    assert timed.call("DescribeCampaign", campaignArn=synced)["campaign"]["solutionVersionArn"] == first
    second = timed.version(sol)
    timed.clock.advance(1)
    assert timed.call("DescribeCampaign", campaignArn=synced)["campaign"]["solutionVersionArn"] == second
    assert timed.call("DescribeCampaign", campaignArn=pinned)["campaign"]["solutionVersionArn"] == first
    assert timed.call("ListCampaigns", solutionArn=sol)["campaigns"][0]["name"] == "synced"
