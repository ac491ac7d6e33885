"""List* pagination: maxResults, opaque tokens, bad tokens, deletes between pages, boto3 paginators."""

from __future__ import annotations

import base64
import json

import pytest
from conftest import Env

from reconciler.emulator import EmulatorError


def test_pages_through_boto3_paginator(env: Env) -> None:
    for i in range(5):
        env.call(
            "CreateSchema",
            name=f"s{i}",
            schema='{"type":"record","name":"Users","fields":[{"name":"USER_ID","type":"string"}]}',
        )
    pages = list(env.client.get_paginator("list_schemas").paginate(PaginationConfig={"PageSize": 2}))
    assert [len(p["schemas"]) for p in pages] == [2, 2, 1]
    assert [s["name"] for p in pages for s in p["schemas"]] == [f"s{i}" for i in range(5)]


def test_list_filters_uses_capital_key_and_parent_filter(env: Env) -> None:
    a, b = env.trainable_group("a"), env.trainable_group("b")
    expr = 'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("x")'
    for i in range(3):
        env.call("CreateFilter", name=f"fa{i}", datasetGroupArn=a, filterExpression=expr)
    env.call("CreateFilter", name="fb", datasetGroupArn=b, filterExpression=expr)
    out = env.client.list_filters(datasetGroupArn=a, maxResults=2)
    assert [f["name"] for f in out["Filters"]] == ["fa0", "fa1"] and out["nextToken"]
    rest = env.client.list_filters(datasetGroupArn=a, maxResults=2, nextToken=out["nextToken"])
    assert [f["name"] for f in rest["Filters"]] == ["fa2"] and "nextToken" not in rest
    assert len(env.client.list_filters()["Filters"]) == 4
    summary = rest["Filters"][0]
    assert set(summary) == {
        "name",
        "filterArn",
        "creationDateTime",
        "lastUpdatedDateTime",
        "datasetGroupArn",
        "status",
    }


def test_token_survives_a_delete_between_pages(env: Env) -> None:
    groups = [env.group(f"g{i}") for i in range(4)]
    first = env.call("ListDatasetGroups", maxResults=2)
    env.call("DeleteDatasetGroup", datasetGroupArn=groups[1])
    env.clock.advance(1)
    second = env.call("ListDatasetGroups", maxResults=2, nextToken=first["nextToken"])
    assert [g["name"] for g in second["datasetGroups"]] == ["g2", "g3"]


def _tamper(token: str) -> str:
    raw = base64.urlsafe_b64decode(token)
    payload, _, check = raw.rpartition(b".")
    data = json.loads(payload)
    data["after"] = 0
    return base64.urlsafe_b64encode(json.dumps(data).encode() + b"." + check).decode()


@pytest.mark.parametrize("mangle", ["garbage", "tampered", "other-query"])
def test_bad_tokens_are_rejected(env: Env, mangle: str) -> None:
    dg = env.trainable_group()
    for i in range(3):
        env.solution(dg, name=f"s{i}")
    token = env.call("ListSolutions", datasetGroupArn=dg, maxResults=1)["nextToken"]
    params = {"datasetGroupArn": dg, "maxResults": 1}
    if mangle == "garbage":
        params["nextToken"] = "%%%not-base64%%%"
    elif mangle == "tampered":
        params["nextToken"] = _tamper(token)
    else:
        params = {"maxResults": 1, "nextToken": token}  # same token, different parameters
    with pytest.raises(EmulatorError) as info:
        env.call("ListSolutions", **params)
    assert info.value.code == "InvalidNextTokenException"


def test_data_deletion_jobs_are_listed_newest_first(env: Env) -> None:
    dg = env.group()
    url = env.put("del.csv", b"USER_ID\nu1\n")
    for name in ("first", "second", "third"):
        env.call(
            "CreateDataDeletionJob",
            jobName=name,
            datasetGroupArn=dg,
            roleArn=env.role,
            dataSource={"dataLocation": url},
        )
        env.clock.advance(10)
    names = [j["jobName"] for j in env.call("ListDataDeletionJobs", datasetGroupArn=dg)["dataDeletionJobs"]]
    assert names == ["third", "second", "first"]


def test_recipes_by_domain(env: Env) -> None:
    ecomm = env.client.list_recipes(domain="ECOMMERCE")["recipes"]
    assert {r["domain"] for r in ecomm} == {"ECOMMERCE"} and len(ecomm) == 5
    names = {r["name"] for r in env.client.list_recipes()["recipes"]}
    assert {"aws-sims", "aws-user-personalization", "aws-personalized-ranking", "aws-vod-top-picks"} <= names
    sims = env.client.describe_recipe(recipeArn="arn:aws:personalize:::recipe/aws-sims")["recipe"]
    assert sims["recipeType"] == "RELATED_ITEMS"
    algorithm = env.client.describe_algorithm(algorithmArn=sims["algorithmArn"])["algorithm"]
    assert algorithm["defaultHyperParameters"]["min_cointeraction_count"] == "3"
