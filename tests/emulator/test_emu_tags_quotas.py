"""Tags (50 per resource) and quotas (a configurable table, documented defaults)."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import Env

from reconciler.emulator import DEFAULT_QUOTAS, EmulatorError

EXPR = 'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("x")'


def tags(n: int, prefix: str = "k") -> list[dict[str, str]]:
    return [{"tagKey": f"{prefix}{i}", "tagValue": str(i)} for i in range(n)]


def code_of(env: Env, operation: str, **params: Any) -> str:
    with pytest.raises(EmulatorError) as info:
        env.call(operation, **params)
    return info.value.code


def test_tag_round_trip_through_boto3(env: Env) -> None:
    arn = env.group(tags=[{"tagKey": "personalize-gitops:stack", "tagValue": "retail"}])
    env.client.tag_resource(resourceArn=arn, tags=[{"tagKey": "team", "tagValue": "ml"}])
    env.client.tag_resource(resourceArn=arn, tags=[{"tagKey": "team", "tagValue": "data"}])  # overwrite
    env.client.untag_resource(resourceArn=arn, tagKeys=["personalize-gitops:stack", "absent"])
    assert env.client.list_tags_for_resource(resourceArn=arn)["tags"] == [
        {"tagKey": "team", "tagValue": "data"}
    ]


def test_fifty_tags_at_most(env: Env) -> None:
    arn = env.group("ok", tags=tags(50))
    assert code_of(env, "CreateDatasetGroup", name="too-many", tags=tags(51)) == "TooManyTagsException"
    assert [g["name"] for g in env.call("ListDatasetGroups")["datasetGroups"]] == [
        "ok"
    ]  # nothing half-created
    assert code_of(env, "TagResource", resourceArn=arn, tags=tags(1, "extra")) == "TooManyTagsException"
    env.call("TagResource", resourceArn=arn, tags=tags(50))  # same keys: still 50
    assert code_of(env, "UntagResource", resourceArn=arn, tagKeys=[f"x{i}" for i in range(51)]) == (
        "TooManyTagKeysException"
    )


def test_tag_errors(env: Env) -> None:
    missing = "arn:aws:personalize:eu-west-1:123456789012:dataset-group/none"
    assert code_of(env, "ListTagsForResource", resourceArn=missing) == "ResourceNotFoundException"
    arn = env.group()
    bad = [{"tagKey": "bad*key", "tagValue": "v"}]
    assert code_of(env, "TagResource", resourceArn=arn, tags=bad) == "InvalidInputException"


def test_dataset_group_quota_is_five_and_adjustable(env: Env) -> None:
    assert DEFAULT_QUOTAS["dataset_groups_per_region"] == 5
    for i in range(5):
        env.group(f"g{i}")
    assert code_of(env, "CreateDatasetGroup", name="g5") == "LimitExceededException"
    env.call(
        "DeleteDatasetGroup",
        datasetGroupArn=env.call("ListDatasetGroups")["datasetGroups"][0]["datasetGroupArn"],
    )
    env.group("g5")  # a group being deleted no longer counts
    env.emulator.control.set_quota("dataset_groups_per_region", 6)
    env.group("g6")
    assert code_of(env, "CreateDatasetGroup", name="g7") == "LimitExceededException"
    with pytest.raises(KeyError):
        env.emulator.control.set_quota("no_such_quota", 1)


@pytest.mark.parametrize(
    ("quota", "create"),
    [
        (
            "filters_per_dataset_group",
            lambda e, dg, i: e.call("CreateFilter", name=f"f{i}", datasetGroupArn=dg, filterExpression=EXPR),
        ),
        ("solutions_per_dataset_group", lambda e, dg, i: e.solution(dg, name=f"s{i}")),
        (
            "campaigns_per_dataset_group",
            lambda e, dg, i: e.call(
                "CreateCampaign", name=f"c{i}", solutionVersionArn=e.version(e.solution(dg, name=f"cs{i}"))
            ),
        ),
    ],
)
def test_per_group_quotas(env: Env, quota: str, create: Any) -> None:
    env.emulator.control.set_quota("solutions_per_dataset_group", 20)
    dg = env.trainable_group()
    limit = 3
    env.emulator.control.set_quota(quota, limit)
    for i in range(limit):
        create(env, dg, i)
    with pytest.raises(EmulatorError) as info:
        create(env, dg, limit)
    assert info.value.code == "LimitExceededException" and quota in info.value.message
    create(env, env.trainable_group("other"), limit + 1)  # the quota is per dataset group


def test_pending_training_quota(env: Env) -> None:
    env.emulator.profile.create["solution_version.FULL"] = 3600.0
    sol = env.solution(env.trainable_group(), performAutoTraining=False)
    env.emulator.control.set_quota("pending_solution_versions_per_region", 2)
    env.version(sol)
    env.version(sol)
    assert code_of(env, "CreateSolutionVersion", solutionArn=sol) == "LimitExceededException"
    env.clock.advance(3600)
    env.version(sol)
