"""The seed workshop's own boto3 calls, unchanged, against the emulator (realistic virtual durations)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from emu_support import (
    grant_personalize,
    interactions_csv,
    items_csv,
    poll_until_settled,
    run_seed_workshop,
    users_csv,
)

ROLE_NAME = "123456789012-PersonalizeS3"


def test_seed_workshop_runs_unchanged(emulator_env: Any) -> None:
    env = emulator_env
    bucket = "personalize-immersion-day-data"
    env.s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": env.region})
    env.s3.put_object(Bucket=bucket, Key="interactions.csv", Body=interactions_csv(users=60, per_user=25))
    env.s3.put_object(Bucket=bucket, Key="items.csv", Body=items_csv())
    env.s3.put_object(Bucket=bucket, Key="users.csv", Body=users_csv(users=60))
    grant_personalize(env.s3, boto3.client("iam", region_name=env.region), bucket, env.account)

    def wait(describe: Any, key: str) -> dict[str, Any]:
        return poll_until_settled(describe, key, env.clock.advance)

    shop = run_seed_workshop(
        env.personalize, wait, bucket=bucket, role=f"arn:aws:iam::{env.account}:role/{ROLE_NAME}"
    )
    assert shop["datasets"]["interactions"].endswith(":dataset/personalize-immersion-day-retail/INTERACTIONS")
    assert shop["event_tracker"]["accountId"] == env.account
    # the run took realistic virtual time: training (45 min) then campaign deployment (25 min) at least
    assert env.clock.now() - shop["group"]["creationDateTime"].timestamp() > (45 + 25) * 60
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
