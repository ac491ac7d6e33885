"""GetRecommendations with a recommenderArn (the 2022+ workshop's ECOMMERCE recommenders), through the
`personalize-runtime` client a `--local` target makes (issue 13: campaignArn or recommenderArn)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from .conftest import Account
from .workshop import build_domain_group


def test_recommenders_answer_and_a_stopped_one_is_not_found(acct: Account) -> None:
    shop = build_domain_group(acct.personalize, acct.target.s3, acct.clock, account=acct.account, name="shop")
    runtime = acct.target.client("personalize-runtime")
    rfy = shop.recommender_arns["recommended-for-you"]
    answer = runtime.get_recommendations(recommenderArn=rfy, userId="1", numResults=5)
    assert len(answer["itemList"]) == 5 and answer["recommendationId"].startswith("RID-")
    assert all("score" not in entry for entry in answer["itemList"])  # domain recommenders show no scores
    with pytest.raises(ClientError) as both:
        runtime.get_recommendations(recommenderArn=rfy, campaignArn=rfy.replace("recommender", "campaign"))
    assert both.value.response["Error"]["Code"] == "InvalidInputException"
    stopped = shop.recommender_arns["customers-who-viewed-x-also-viewed"]  # stopped by the builder: INACTIVE
    with pytest.raises(ClientError) as inactive:
        runtime.get_recommendations(recommenderArn=stopped, userId="1", itemId="x")
    assert inactive.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert inactive.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
