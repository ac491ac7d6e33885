"""Done-when of issue 13: the workshop's notebook calls run unchanged through boto3 against `emulator serve`.

Notebook 01 (bucket, bucket policy, role, imports), 02 (solutions, versions, metrics, campaigns, filter) and
03 (related items, user recommendations, personalized ranking, event tracker, PutEvents changing the user's
next answer and the purchased-items filter) over HTTP, with real boto3 clients of `personalize`,
`personalize-runtime` and `personalize-events` pointed at one endpoint. Waits use the control endpoint's
``advance`` (the notebook's ``time.sleep``), never wall-clock sleeps.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from emu_support import (
    PERSONALIZE_TRUST,
    bucket_policy,
    interactions_csv,
    items_csv,
    poll_until_settled,
    run_seed_workshop,
    users_csv,
)
from test_server import control, start_server

from reconciler.emulator.server import EmulatorServer

REGION = "eu-west-1"


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    srv = start_server()
    try:
        yield srv
    finally:
        srv.stop()


def test_workshop_notebooks_run_unchanged_against_emulator_serve(server: EmulatorServer) -> None:
    url = server.url
    session = boto3.session.Session(
        aws_access_key_id="emulator", aws_secret_access_key="emulator", region_name=REGION
    )
    personalize = session.client("personalize", endpoint_url=url)
    personalize_runtime = session.client("personalize-runtime", endpoint_url=url)
    personalize_events = session.client("personalize-events", endpoint_url=url)
    s3, iam = session.client("s3", endpoint_url=url), session.client("iam", endpoint_url=url)

    # ---- 01_Data_Layer: bucket, bucket policy, role, data
    account_id = session.client("sts", endpoint_url=url).get_caller_identity()["Account"]
    bucket = f"{account_id}-{REGION}-personalize-immersionday-retail"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_policy(Bucket=bucket, Policy=bucket_policy(bucket))
    role_arn = iam.create_role(
        RoleName=f"{account_id}-PersonalizeS3", AssumeRolePolicyDocument=json.dumps(PERSONALIZE_TRUST)
    )["Role"]["Arn"]
    for key, body in (
        ("interactions.csv", interactions_csv(users=60, per_user=25)),
        ("items.csv", items_csv()),
        ("users.csv", users_csv(users=60)),
    ):
        s3.put_object(Bucket=bucket, Key=key, Body=body)

    def wait(describe: Any, key: str) -> dict[str, Any]:
        return poll_until_settled(describe, key, lambda s: control(url, "advance", seconds=s))

    # ---- 02_Training_Layer: solutions, versions, metrics, campaigns, filter (+ the 03 event tracker)
    shop = run_seed_workshop(personalize, wait, bucket=bucket, role=role_arn)
    campaigns = {c["name"]: c["campaignArn"] for c in personalize.list_campaigns()["campaigns"]}
    related_campaign_arn = campaigns["personalize-poc-sims"]
    recommend_campaign_arn = campaigns["personalize-poc-userpersonalization"]
    ranking_campaign_arn = campaigns["personalize-poc-rerank"]
    filter_arn = personalize.list_filters()["Filters"][0]["filterArn"]
    tracking_id = shop["event_tracker"]["trackingId"]

    # ---- 03_Inference_Layer
    related = personalize_runtime.get_recommendations(
        campaignArn=related_campaign_arn, itemId="i12", numResults=10
    )
    assert len(related["itemList"]) == 10 and "i12" not in [i["itemId"] for i in related["itemList"]]
    user_recs = personalize_runtime.get_recommendations(
        campaignArn=recommend_campaign_arn, userId="u5", numResults=10
    )
    assert len(user_recs["itemList"]) == 10 and all("score" in i for i in user_recs["itemList"])
    featured = [f"i{k}" for k in range(16)]
    ranked = personalize_runtime.get_personalized_ranking(
        campaignArn=ranking_campaign_arn, inputList=featured, userId="u5"
    )
    assert sorted(i["itemId"] for i in ranked["personalizedRanking"]) == sorted(featured)
    with_context = personalize_runtime.get_recommendations(
        campaignArn=recommend_campaign_arn, userId="u5", numResults=10, context={"DISCOUNT": "Yes"}
    )
    assert len(with_context["itemList"]) == 10

    # the filter test: recommendations for a user, a purchase of the first one, the filter removes it
    before = personalize_runtime.get_recommendations(
        campaignArn=recommend_campaign_arn, userId="u7", numResults=5
    )
    purchased = before["itemList"][0]["itemId"]
    personalize_events.put_events(
        trackingId=tracking_id,
        userId="u7",
        sessionId=str(uuid.uuid4()),
        eventList=[
            {
                "eventId": str(uuid.uuid4()),
                "eventType": "OrderCompleted",
                "itemId": purchased,
                "sentAt": int(shop["group"]["creationDateTime"].timestamp()) + 10**6,
                "properties": '{"discount": "No"}',
            }
        ],
    )
    after = personalize_runtime.get_recommendations(
        campaignArn=recommend_campaign_arn, userId="u7", numResults=5
    )
    assert [i["itemId"] for i in after["itemList"]] != [i["itemId"] for i in before["itemList"]]
    filtered = personalize_runtime.get_recommendations(
        campaignArn=recommend_campaign_arn, userId="u7", numResults=5, filterArn=filter_arn
    )
    assert len(filtered["itemList"]) == 5 and purchased not in [i["itemId"] for i in filtered["itemList"]]
    for answer in (related, user_recs, ranked, before, after, filtered):
        assert answer["recommendationId"].startswith("RID-")

    # errors as the service returns them, over HTTP
    with pytest.raises(personalize_events.exceptions.InvalidInputException):
        personalize_events.put_events(
            trackingId=str(uuid.uuid4()), sessionId="s", eventList=[{"eventType": "x", "sentAt": 1}]
        )
    with pytest.raises(personalize_runtime.exceptions.ResourceNotFoundException):
        personalize_runtime.get_recommendations(campaignArn=related_campaign_arn + "-gone", itemId="i1")
