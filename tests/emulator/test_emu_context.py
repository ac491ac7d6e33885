"""GetRecommendations / GetPersonalizedRanking ``context`` through a real boto3 client: its keys are metadata
fields of the Interactions schema and it changes the answer of user-personalization and ranking campaigns at
once (personalize-data-plane.md 1.1 "context"; the workshop compares userId 555 with and without
``context={"DISCOUNT": "Yes"}``). Before, any key was taken and the answer never changed."""

from __future__ import annotations

import random

import pytest
from botocore.exceptions import ClientError
from conftest import REGION, Env
from emu_support import EVENT_TYPES

from reconciler.emulator import emulated_client

#: items i0..i29 were only ever bought with a discount, i30..i59 only without
DISCOUNTED = {f"i{i}" for i in range(30)}


def _csv() -> bytes:
    rng = random.Random(11)
    lines = ["ITEM_ID,USER_ID,EVENT_TYPE,TIMESTAMP,DISCOUNT"]
    for u in range(40):
        for i in range(30):
            item = rng.randrange(60)
            discount = "Yes" if f"i{item}" in DISCOUNTED else "No"
            lines.append(f"i{item},u{u},{rng.choice(EVENT_TYPES)},{1_700_000_000 + u * 1000 + i},{discount}")
    return ("\n".join(lines) + "\n").encode()


class Contextual:
    def __init__(self, env: Env) -> None:
        self.env = env
        self.group = env.trainable_group("ctx", csv=_csv())
        self.runtime = emulated_client(env.emulator, REGION, service="personalize-runtime")

    def campaign(self, recipe: str) -> str:
        solution = self.env.solution(self.group, name=recipe, recipe=recipe, performAutoTraining=False)
        version = self.env.version(solution)
        return str(self.env.call("CreateCampaign", name=recipe, solutionVersionArn=version)["campaignArn"])


@pytest.fixture
def contextual(env: Env) -> Contextual:
    return Contextual(env)


def _items(answer: dict[str, object], key: str = "itemList") -> list[str]:
    return [str(entry["itemId"]) for entry in answer[key]]  # type: ignore[attr-defined]


@pytest.mark.parametrize("recipe", ["aws-user-personalization", "aws-user-personalization-v2"])
def test_context_moves_the_items_of_that_context_up(contextual: Contextual, recipe: str) -> None:
    campaign = contextual.campaign(recipe)

    def top(**extra: object) -> list[str]:
        return _items(
            contextual.runtime.get_recommendations(campaignArn=campaign, userId="u3", numResults=10, **extra)
        )

    plain, yes, no = top(), top(context={"DISCOUNT": "Yes"}), top(context={"DISCOUNT": "No"})
    assert set(yes) <= DISCOUNTED, yes
    assert not set(no) & DISCOUNTED, no
    assert plain not in (yes, no)
    answer = contextual.runtime.get_recommendations(
        campaignArn=campaign, userId="u3", numResults=10, context={"DISCOUNT": "Yes"}
    )
    scores = [entry["score"] for entry in answer["itemList"]]
    assert scores == sorted(scores, reverse=True) and all(0 < s <= 1 for s in scores)
    # a value no interaction has carries no evidence: the answer stays the plain one
    assert top(context={"DISCOUNT": "Maybe"}) == plain


def test_context_reorders_a_personalized_ranking(contextual: Contextual) -> None:
    campaign = contextual.campaign("aws-personalized-ranking")
    inputs = [f"i{i}" for i in range(22, 38)]  # 8 discounted, 8 not

    def ranking(**extra: object) -> list[str]:
        answer = contextual.runtime.get_personalized_ranking(
            campaignArn=campaign, userId="u3", inputList=inputs, **extra
        )
        assert abs(sum(e["score"] for e in answer["personalizedRanking"]) - 1.0) < 1e-6
        return _items(answer, "personalizedRanking")

    assert set(ranking(context={"DISCOUNT": "Yes"})[:8]) == DISCOUNTED & set(inputs)
    assert set(ranking(context={"DISCOUNT": "No"})[:8]) == set(inputs) - DISCOUNTED


@pytest.mark.parametrize("key", ["NOPE", "discont", "USER_ID", "EVENT_TYPE"])
def test_a_context_key_that_is_no_interactions_metadata_field_is_refused(
    contextual: Contextual, key: str
) -> None:
    campaign = contextual.campaign("aws-user-personalization")
    with pytest.raises(ClientError) as info:
        contextual.runtime.get_recommendations(campaignArn=campaign, userId="u3", context={key: "Yes"})
    error = info.value.response["Error"]
    assert error["Code"] == "InvalidInputException"
    assert f"context key {key} " in error["Message"] and "DISCOUNT" in error["Message"]
    # the schema's spelling in any case is the field
    answer = contextual.runtime.get_recommendations(
        campaignArn=campaign, userId="u3", numResults=10, context={"discount": "Yes"}
    )
    assert set(_items(answer)) <= DISCOUNTED


def test_the_docs_no_longer_say_context_is_ignored() -> None:
    """The cases above show context changing answers (c75bbfb); the emulator's list of what it does not
    emulate, and README's pointer to it, still named `context` as accepted but not used."""
    from pathlib import Path

    import reconciler.emulator as emulator

    doc = " ".join((emulator.__doc__ or "").split())
    assert "``context`` is accepted but not used" not in doc
    assert "``context`` moves user-personalization and ranking answers by a stand-in" in doc
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert "What it does not emulate (runtime details such as `context`" not in readme


def test_a_context_value_whose_interactions_were_all_deleted_weighs_like_one_never_seen(env: Env) -> None:
    """A value the data once had but no interaction has any more (a data deletion job removed its user)
    carries no evidence, like a value never seen: the answer is the plain one, and no numpy warning (0/0)
    reaches the caller's terminal or the ``emulator serve`` log. Before, the lift was NaN (RuntimeWarning:
    invalid value) and the scoring fell back to the plain answer only because NaN is not > 0."""
    import warnings

    csv = _csv() + b"".join(f"i{i},gone,click,{1_700_100_000 + i},Maybe\n".encode() for i in range(5))
    contextual = Contextual.__new__(Contextual)
    contextual.env = env
    contextual.group = env.trainable_group("ctx", csv=csv)
    contextual.runtime = emulated_client(env.emulator, REGION, service="personalize-runtime")
    campaign = contextual.campaign("aws-user-personalization")
    ranking = contextual.campaign("aws-personalized-ranking")
    job = env.client.create_data_deletion_job(
        jobName="forget",
        datasetGroupArn=contextual.group,
        roleArn=env.role,
        dataSource={"dataLocation": env.put("forget.csv", b"USER_ID\ngone\n")},
    )
    described = env.client.describe_data_deletion_job(dataDeletionJobArn=job["dataDeletionJobArn"])
    assert described["dataDeletionJob"]["status"] == "COMPLETED"

    def top(**extra: object) -> list[str]:
        return _items(
            contextual.runtime.get_recommendations(campaignArn=campaign, userId="u3", numResults=10, **extra)
        )

    def ranked(**extra: object) -> list[str]:
        answer = contextual.runtime.get_personalized_ranking(
            campaignArn=ranking, userId="u3", inputList=[f"i{i}" for i in range(20, 40)], **extra
        )
        return _items(answer, "personalizedRanking")

    plain, plain_ranking = top(), ranked()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        deleted, never = top(context={"DISCOUNT": "Maybe"}), top(context={"DISCOUNT": "Never"})
        deleted_ranking = ranked(context={"DISCOUNT": "Maybe"})
    assert [str(w.message) for w in caught] == []
    assert deleted == never == plain
    assert deleted_ranking == plain_ranking
