"""Lifecycle fidelity: host-time timestamps under a scaled clock, DeleteDataset blockers as documented."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from conftest import REGION, Env, shared_iam, shared_s3
from emu_support import grant_personalize
from moto import mock_aws

from reconciler.emulator import EmulatorError, PersonalizeEmulator, ScaledClock


@pytest.fixture
def scaled() -> Iterator[tuple[Env, list[float]]]:
    """The ``emulator serve`` / ``--local`` set-up: a 600x ScaledClock whose wall clock the test moves."""
    with mock_aws():
        wall = [time.time()]
        clock = ScaledClock(600, wall=lambda: wall[0])
        s3, iam = shared_s3(), shared_iam()
        emulator = PersonalizeEmulator(
            clock=clock, strict=True, s3_client_factory=lambda _: s3, iam_client_factory=lambda _: iam
        )
        s3.create_bucket(Bucket="emu-data", CreateBucketConfiguration={"LocationConstraint": REGION})
        grant_personalize(s3, iam, "emu-data", emulator.account)
        yield Env(emulator, clock, None, s3), wall  # type: ignore[arg-type]


def test_scaled_clock_stamps_host_time_and_only_shortens_durations(scaled: tuple[Env, list[float]]) -> None:
    env, wall = scaled
    started = wall[0]
    group = env.call("CreateDatasetGroup", name="g")["datasetGroupArn"]
    created = env.call("DescribeDatasetGroup", datasetGroupArn=group)["datasetGroup"]
    assert created["status"] == "CREATE PENDING"
    assert created["creationDateTime"].timestamp() == pytest.approx(started)
    # S3 stamps the host's time too: the two agree to the second
    env.s3.put_object(Bucket="emu-data", Key="x.csv", Body=b"x")
    modified = env.s3.head_object(Bucket="emu-data", Key="x.csv")["LastModified"].timestamp()
    assert abs(modified - created["creationDateTime"].timestamp()) < 2.0
    # the documented 70 s (10 s pending + 60 s) take 70/600 s of host time
    wall[0] += 70 / 600 + 0.001
    done = env.call("DescribeDatasetGroup", datasetGroupArn=group)["datasetGroup"]
    assert done["status"] == "ACTIVE"
    assert done["lastUpdatedDateTime"].timestamp() == pytest.approx(started + 70 / 600, abs=0.01)
    assert done["lastUpdatedDateTime"].timestamp() <= wall[0]  # never in the host's future
    # only an explicit advance moves the clock ahead of the host
    env.clock.advance(3600)
    later = env.call("CreateDatasetGroup", name="h")["datasetGroupArn"]
    stamp = env.call("DescribeDatasetGroup", datasetGroupArn=later)["datasetGroup"]["creationDateTime"]
    assert stamp.timestamp() == pytest.approx(wall[0] + 3600)


def test_restored_state_does_not_run_into_the_future(scaled: tuple[Env, list[float]]) -> None:
    env, wall = scaled
    env.call("CreateDatasetGroup", name="g")
    saved = env.emulator.snapshot()
    wall[0] += 60  # a minute later the server restarts with the state file
    restarted = PersonalizeEmulator(clock=ScaledClock(600, wall=lambda: wall[0]))
    restarted.restore(saved)
    assert restarted.clock.now() == pytest.approx(wall[0])
    group = restarted.handle("ListDatasetGroups", {}, REGION)["datasetGroups"][0]
    assert group["creationDateTime"].timestamp() <= wall[0]


def _interactions_dataset(env: Env, dg: str) -> str:
    return str(env.call("ListDatasets", datasetGroupArn=dg)["datasets"][0]["datasetArn"])


def test_an_active_campaign_does_not_block_deleting_a_dataset(env: Env) -> None:
    dg = env.trainable_group()
    sol = env.solution(dg, performAutoTraining=False)
    env.call("CreateCampaign", name="c", solutionVersionArn=env.version(sol))
    env.call("DeleteDataset", datasetArn=_interactions_dataset(env, dg))
    assert env.call("ListDatasets", datasetGroupArn=dg)["datasets"] == []


def test_running_imports_and_trainings_block_deleting_a_dataset(env: Env) -> None:
    dg = env.trainable_group()
    dataset = _interactions_dataset(env, dg)
    env.emulator.profile.create["solution_version.FULL"] = 3600.0
    sol = env.solution(dg, performAutoTraining=False)
    env.version(sol)
    with pytest.raises(EmulatorError) as training:
        env.call("DeleteDataset", datasetArn=dataset)
    assert training.value.code == "ResourceInUseException"
    assert "a solution version in training" in training.value.message
    env.clock.advance(3600)
    env.emulator.profile.create["dataset_import_job"] = 3600.0
    env.call(
        "CreateDatasetImportJob",
        jobName="again",
        datasetArn=dataset,
        dataSource={"dataLocation": env.put("again.csv", b"x")},
        roleArn=env.role,
    )
    with pytest.raises(EmulatorError) as importing:
        env.call("DeleteDataset", datasetArn=dataset)
    assert "an import job in progress" in importing.value.message
