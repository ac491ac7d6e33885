"""personalize-runtime and personalize-events through real boto3 clients answered in-process."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import REGION, Env
from emu_support import ITEMS_SCHEMA, USERS_SCHEMA, avro, interactions_csv, items_csv, users_csv

from reconciler.emulator import emulated_client

RID = re.compile(r"^RID-[0-9a-f-]{36}$")


def _import(env: Env, group: str, kind: str, schema: str, body: bytes) -> None:
    """A `kind` dataset in `group` with its schema, filled by one import of `body`."""
    schema_arn = env.call("CreateSchema", name=f"s-{kind}", schema=schema)["schemaArn"]
    dataset = env.call(
        "CreateDataset", name=f"d-{kind}", datasetGroupArn=group, schemaArn=schema_arn, datasetType=kind
    )["datasetArn"]
    env.call(
        "CreateDatasetImportJob",
        jobName=f"import-{kind}",
        datasetArn=dataset,
        dataSource={"dataLocation": env.put(f"{kind}.csv", body)},
        roleArn=env.role,
    )


class Shop:
    """A trained dataset group (interactions, items, users) with campaigns and filters."""

    def __init__(self, env: Env) -> None:
        self.env = env
        self.group = env.trainable_group(csv=interactions_csv(users=40, items=60, per_user=30))
        _import(env, self.group, "Items", ITEMS_SCHEMA, items_csv())
        _import(env, self.group, "Users", USERS_SCHEMA, users_csv())
        self.datasets = {
            d["datasetType"]: d["datasetArn"]
            for d in env.call("ListDatasets", datasetGroupArn=self.group)["datasets"]
        }
        self.runtime = emulated_client(env.emulator, REGION, service="personalize-runtime")
        self.events = emulated_client(env.emulator, REGION, service="personalize-events")

    def campaign(self, recipe: str, name: str, **config: Any) -> str:
        sol = self.env.solution(self.group, name=name, recipe=recipe, performAutoTraining=False)
        version = self.env.version(sol)
        extra = {"campaignConfig": config} if config else {}
        return str(
            self.env.call("CreateCampaign", name=name, solutionVersionArn=version, **extra)["campaignArn"]
        )

    def filter(self, name: str, expression: str) -> str:
        return str(
            self.env.call("CreateFilter", name=name, datasetGroupArn=self.group, filterExpression=expression)[
                "filterArn"
            ]
        )

    def tracker(self) -> str:
        return str(self.env.call("CreateEventTracker", name="t", datasetGroupArn=self.group)["trackingId"])


@pytest.fixture
def shop(env: Env) -> Shop:
    return Shop(env)


def _ids(answer: dict[str, Any], key: str = "itemList") -> list[str]:
    return [entry["itemId"] for entry in answer[key]]


def _code(info: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = info.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def test_get_recommendations_answers_with_a_recommendation_id_and_25_items(shop: Shop) -> None:
    campaign = shop.campaign("aws-popularity-count", "popular")
    answer = shop.runtime.get_recommendations(campaignArn=campaign, userId="u1")
    assert RID.match(answer["recommendationId"]) and len(answer["recommendationId"]) == 40
    assert len(answer["itemList"]) == 25 and all("score" not in e for e in answer["itemList"])
    assert (
        len(shop.runtime.get_recommendations(campaignArn=campaign, userId="u1", numResults=5)["itemList"])
        == 5
    )
    # a user nobody has seen gets the cold-start list, not an error
    assert _ids(shop.runtime.get_recommendations(campaignArn=campaign, userId="stranger", numResults=5))
    with pytest.raises(ClientError) as too_many:
        shop.runtime.get_recommendations(campaignArn=campaign, userId="u1", numResults=501)
    assert _code(too_many) == ("InvalidInputException", 400)
    with pytest.raises(ClientError) as no_user:
        shop.runtime.get_recommendations(campaignArn=campaign)
    assert _code(no_user) == ("InvalidInputException", 400)


def test_unknown_or_inactive_campaigns_are_not_found(shop: Shop) -> None:
    missing = f"arn:aws:personalize:{REGION}:{shop.env.emulator.account}:campaign/nope"
    with pytest.raises(ClientError) as info:
        shop.runtime.get_recommendations(campaignArn=missing, userId="u1")
    assert _code(info) == ("ResourceNotFoundException", 404)
    shop.env.emulator.profile.create["campaign"] = 3600.0
    deploying = shop.campaign("aws-popularity-count", "deploying")
    with pytest.raises(ClientError) as pending:
        shop.runtime.get_recommendations(campaignArn=deploying, userId="u1")
    assert _code(pending) == ("ResourceNotFoundException", 404)
    assert "not ACTIVE" in pending.value.response["Error"]["Message"]


def test_the_purchased_items_filter_removes_what_the_user_bought(shop: Shop) -> None:
    campaign = shop.campaign("aws-popularity-count", "popular")
    purchased = shop.filter("purchased", 'EXCLUDE itemId WHERE INTERACTIONS.event_type in ("OrderCompleted")')
    table = shop.env.emulator.data.interactions(shop.group)
    assert table is not None
    bought = {item for item, event, _ in table.user_history("u3") if event == "OrderCompleted"}
    plain = _ids(shop.runtime.get_recommendations(campaignArn=campaign, userId="u3", numResults=60))
    assert bought & set(plain)  # without the filter some purchased items are recommended
    filtered = _ids(
        shop.runtime.get_recommendations(
            campaignArn=campaign, userId="u3", numResults=60, filterArn=purchased
        )
    )
    assert filtered and not bought & set(filtered)
    assert [i for i in plain if i not in bought][: len(filtered)] == filtered  # same order, holes refilled


def test_dynamic_filter_values_are_applied_and_checked(shop: Shop) -> None:
    campaign = shop.campaign("aws-popularity-count", "popular")
    by_category = shop.filter("category", "INCLUDE ItemID WHERE Items.CATEGORY IN ($CATEGORY)")
    answer = shop.runtime.get_recommendations(
        campaignArn=campaign, userId="u1", filterArn=by_category, filterValues={"CATEGORY": '"cat2","cat4"'}
    )
    assert answer["itemList"] and {int(i[1:]) % 5 for i in _ids(answer)} <= {2, 4}
    with pytest.raises(ClientError) as missing:
        shop.runtime.get_recommendations(campaignArn=campaign, userId="u1", filterArn=by_category)
    assert _code(missing) == ("InvalidInputException", 400)
    assert "$CATEGORY" in missing.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as bad:
        shop.runtime.get_recommendations(
            campaignArn=campaign, userId="u1", filterArn=by_category, filterValues={"CATEGORY": 'cat2"'}
        )
    assert _code(bad) == ("InvalidInputException", 400)
    # EXCLUDE without a value drops the condition: nothing is removed
    not_style = shop.filter("style", "EXCLUDE ItemID WHERE Items.STYLE IN ($STYLE)")
    everything = _ids(shop.runtime.get_recommendations(campaignArn=campaign, userId="u1", numResults=10))
    assert (
        _ids(
            shop.runtime.get_recommendations(
                campaignArn=campaign, userId="u1", numResults=10, filterArn=not_style
            )
        )
        == everything
    )


def test_metadata_columns_need_the_campaign_setting(shop: Shop) -> None:
    plain = shop.campaign("aws-popularity-count", "plain")
    with pytest.raises(ClientError) as info:
        shop.runtime.get_recommendations(
            campaignArn=plain, userId="u1", metadataColumns={"ITEMS": ["CATEGORY"]}
        )
    assert _code(info) == ("InvalidInputException", 400)
    rich = shop.campaign("aws-popularity-count", "rich", enableMetadataWithRecommendations=True)
    answer = shop.runtime.get_recommendations(
        campaignArn=rich, userId="u1", numResults=3, metadataColumns={"ITEMS": ["CATEGORY"]}
    )
    for entry in answer["itemList"]:
        assert entry["metadata"] == {"CATEGORY": f"cat{int(entry['itemId'][1:]) % 5}"}
    with pytest.raises(ClientError) as over:
        shop.runtime.get_recommendations(
            campaignArn=rich, userId="u1", numResults=51, metadataColumns={"ITEMS": ["CATEGORY"]}
        )
    assert "at most 50" in over.value.response["Error"]["Message"]


def test_promotions_carry_their_name_and_follow_their_filter(shop: Shop) -> None:
    campaign = shop.campaign("aws-popularity-count", "popular")
    style = shop.filter("style0", 'INCLUDE ItemID WHERE Items.STYLE IN ("style0")')
    answer = shop.runtime.get_recommendations(
        campaignArn=campaign,
        userId="u1",
        numResults=10,
        promotions=[{"name": "house-brand", "percentPromotedItems": 30, "filterArn": style}],
    )
    promoted = [e for e in answer["itemList"] if e.get("promotionName") == "house-brand"]
    assert len(promoted) == 3 and all(int(e["itemId"][1:]) % 3 == 0 for e in promoted)
    assert len(answer["itemList"]) == 10 and len(set(_ids(answer))) == 10


def test_put_items_and_users_reach_filters(shop: Shop) -> None:
    campaign = shop.campaign("aws-popularity-count", "popular")
    only_cat9 = shop.filter("cat9", 'INCLUDE ItemID WHERE Items.CATEGORY IN ("cat9")')
    assert (
        shop.runtime.get_recommendations(campaignArn=campaign, userId="u1", filterArn=only_cat9)["itemList"]
        == []
    )
    top = _ids(shop.runtime.get_recommendations(campaignArn=campaign, userId="u1", numResults=1))[0]
    shop.events.put_items(
        datasetArn=shop.datasets["ITEMS"],
        items=[{"itemId": top, "properties": json.dumps({"category": "cat9", "style": "style1"})}],
    )
    assert _ids(shop.runtime.get_recommendations(campaignArn=campaign, userId="u1", filterArn=only_cat9)) == [
        top
    ]
    shop.events.put_users(
        datasetArn=shop.datasets["USERS"],
        users=[{"userId": "new-user", "properties": '{"age": 33, "gender": "F"}'}],
    )
    users = shop.env.emulator.data.users(shop.group)
    assert users is not None and users.value("new-user", "AGE") == "33"
    with pytest.raises(ClientError) as wrong_type:
        shop.events.put_users(datasetArn=shop.datasets["ITEMS"], users=[{"userId": "x"}])
    assert _code(wrong_type) == ("InvalidInputException", 400)
    with pytest.raises(ClientError) as unknown_field:
        shop.events.put_items(
            datasetArn=shop.datasets["ITEMS"], items=[{"itemId": "x", "properties": '{"color": "red"}'}]
        )
    assert "COLOR" in unknown_field.value.response["Error"]["Message"]


def test_put_events_appends_to_the_interactions_and_checks_the_tracking_id(shop: Shop) -> None:
    tracking = shop.tracker()
    table = shop.env.emulator.data.interactions(shop.group)
    before = len(table) if table is not None else 0
    shop.events.put_events(
        trackingId=tracking,
        userId="u1",
        sessionId="s-1",
        eventList=[
            {
                "eventType": "OrderCompleted",
                "itemId": "i7",
                "sentAt": 1_700_500_000,
                "properties": '{"discount": "No"}',
            }
        ],
    )
    after = shop.env.emulator.data.interactions(shop.group)
    assert after is not None and len(after) == before + 1
    assert ("i7", "OrderCompleted", 1_700_500_000) in after.user_history("u1")
    with pytest.raises(ClientError) as unknown:
        shop.events.put_events(
            trackingId="00000000-0000-0000-0000-000000000000",
            sessionId="s",
            eventList=[{"eventType": "x", "sentAt": 1}],
        )
    assert _code(unknown) == ("InvalidInputException", 400)
    with pytest.raises(ClientError) as forbidden:
        shop.events.put_events(
            trackingId=tracking,
            sessionId="s",
            eventList=[{"eventType": "x", "itemId": "i1", "sentAt": 1, "properties": '{"userId": "u2"}'}],
        )
    assert "USER_ID" in forbidden.value.response["Error"]["Message"]


def test_personalized_ranking_reorders_the_input(shop: Shop) -> None:
    campaign = shop.campaign("aws-personalized-ranking", "ranking")
    inputs = ["i1", "i2", "i3", "never-seen"]
    answer = shop.runtime.get_personalized_ranking(campaignArn=campaign, userId="u1", inputList=inputs)
    assert sorted(_ids(answer, "personalizedRanking")) == sorted(inputs)
    assert _ids(answer, "personalizedRanking")[-1] == "never-seen"
    assert RID.match(answer["recommendationId"])
    popular = shop.campaign("aws-popularity-count", "popular")
    with pytest.raises(ClientError) as info:
        shop.runtime.get_personalized_ranking(campaignArn=popular, userId="u1", inputList=inputs)
    assert _code(info) == ("InvalidInputException", 400)


def test_put_events_change_the_users_next_user_personalization_answer(shop: Shop) -> None:
    campaign = shop.campaign("aws-user-personalization", "personal")
    first = shop.runtime.get_recommendations(campaignArn=campaign, userId="u5", numResults=10)
    assert all(0 < e["score"] <= 1 for e in first["itemList"])  # UP shows softmax scores
    tracking = shop.tracker()
    top = set(_ids(first))
    fresh = [f"i{k}" for k in range(60) if f"i{k}" not in top][:5]
    shop.events.put_events(
        trackingId=tracking,
        userId="u5",
        sessionId="session-u5",
        eventList=[
            {"eventType": "OrderCompleted", "itemId": item, "sentAt": 1_800_000_000 + k}
            for k, item in enumerate(fresh)
        ],
    )
    second = shop.runtime.get_recommendations(campaignArn=campaign, userId="u5", numResults=10)
    assert _ids(second) != _ids(first)
    # another user's answer does not move: the model itself is unchanged until the next training
    other = shop.runtime.get_recommendations(campaignArn=campaign, userId="u6", numResults=10)
    assert _ids(other) == _ids(
        shop.runtime.get_recommendations(campaignArn=campaign, userId="u6", numResults=10)
    )


def test_related_items_need_an_item_and_never_return_it(shop: Shop) -> None:
    campaign = shop.campaign("aws-sims", "related")
    with pytest.raises(ClientError) as info:
        shop.runtime.get_recommendations(campaignArn=campaign, userId="u1")
    assert _code(info) == ("InvalidInputException", 400)
    answer = shop.runtime.get_recommendations(campaignArn=campaign, itemId="i3", numResults=10)
    assert answer["itemList"] and "i3" not in _ids(answer)
    assert all("score" not in e for e in answer["itemList"])  # SIMS shows no scores
    # an item nobody has seen gets popular items
    assert shop.runtime.get_recommendations(campaignArn=campaign, itemId="unknown", numResults=5)["itemList"]


ACTIONS_SCHEMA = avro("Actions", [("ACTION_ID", "string"), {"name": "VALUE", "type": "int"}])
ACTION_INTERACTIONS_SCHEMA = avro(
    "ActionInteractions",
    [("ACTION_ID", "string"), ("USER_ID", "string"), ("EVENT_TYPE", "string"), ("TIMESTAMP", "long")],
)


def _action_data(shop: Shop) -> None:
    """Actions a0-a3 (VALUE 0-3) and their interactions: a0 taken 90 of 150 times, a1 60 of 150, a2 and a3
    too rarely to be scored (the documented 50 TAKEN + 50 other minimum)."""
    counts = {"a0": (90, 60), "a1": (60, 90), "a2": (5, 5), "a3": (5, 5)}
    lines = ["ACTION_ID,USER_ID,EVENT_TYPE,TIMESTAMP"]
    for action, (taken, other) in counts.items():
        kinds = ["TAKEN"] * taken + ["NOT_TAKEN"] * other
        lines += [f"{action},u{k % 40},{kind},{1_700_000_000 + k}" for k, kind in enumerate(kinds)]
    actions = "ACTION_ID,VALUE\n" + "".join(f"a{k},{k}\n" for k in range(4))
    _import(shop.env, shop.group, "Actions", ACTIONS_SCHEMA, actions.encode())
    _import(
        shop.env,
        shop.group,
        "Action_Interactions",
        ACTION_INTERACTIONS_SCHEMA,
        ("\n".join(lines) + "\n").encode(),
    )


def test_next_best_action_campaigns_recommend_the_actions_dataset_not_items(shop: Shop) -> None:
    _action_data(shop)
    campaign = shop.campaign("aws-next-best-action", "next-best")
    answer = shop.runtime.get_action_recommendations(campaignArn=campaign, userId="u1")
    assert RID.match(answer["recommendationId"])
    # propensity = TAKEN / all: a0 0.6, a1 0.4; the unscored ones 0.0, the higher VALUE first
    assert [(a["actionId"], a["score"]) for a in answer["actionList"]] == [
        ("a0", 0.6),
        ("a1", 0.4),
        ("a3", 0.0),
        ("a2", 0.0),
    ]


def test_a_full_promotion_or_zero_results_return_exactly_num_results(shop: Shop) -> None:
    """percentPromotedItems 100 leaves no room for unpromoted items; numResults 0 asks for nothing."""
    style = shop.filter("style0", 'INCLUDE ItemID WHERE Items.STYLE IN ("style0")')
    promotion = {"name": "all", "percentPromotedItems": 100, "filterArn": style}
    for recipe, query in (("aws-popularity-count", {"userId": "u1"}), ("aws-sims", {"itemId": "i3"})):
        campaign = shop.campaign(recipe, recipe[4:])
        answer = shop.runtime.get_recommendations(
            campaignArn=campaign, numResults=4, promotions=[promotion], **query
        )
        assert [e.get("promotionName") for e in answer["itemList"]] == ["all"] * 4, recipe
    _action_data(shop)
    campaign = shop.campaign("aws-next-best-action", "next-best")
    none = shop.runtime.get_action_recommendations(campaignArn=campaign, userId="u1", numResults=0)
    assert none["actionList"] == []


def test_action_filters_test_the_actions_and_action_interactions_datasets(shop: Shop) -> None:
    _action_data(shop)  # a0-a3 with VALUE 0-3; u0 took a0 (and a1, a2, a3) at least once
    campaign = shop.campaign("aws-next-best-action", "next-best")

    def actions(filter_arn: str, user: str = "u1", **values: str) -> list[str]:
        answer = shop.runtime.get_action_recommendations(
            campaignArn=campaign,
            userId=user,
            filterArn=filter_arn,
            **({"filterValues": values} if values else {}),
        )
        return [a["actionId"] for a in answer["actionList"]]

    above = shop.filter("above", "INCLUDE ActionID WHERE Actions.VALUE > 1")
    assert actions(above) == ["a3", "a2"]
    low = shop.filter("low", "EXCLUDE ActionID WHERE Actions.VALUE <= $VALUE")
    assert actions(low, VALUE="0") == ["a1", "a3", "a2"]
    table = shop.env.emulator.data.table(shop.group, "ACTION_INTERACTIONS")
    assert table is not None
    rows = table.user_rows("u7")
    kinds = [table.event_types.strings[e] for e in table.event_type[rows].tolist()]
    codes = table.item[rows].tolist()
    taken_by_u7 = {table.items.strings[c] for c, kind in zip(codes, kinds, strict=True) if kind == "TAKEN"}
    assert taken_by_u7 and taken_by_u7 != {"a0", "a1", "a2", "a3"}
    taken = shop.filter("taken", 'EXCLUDE ActionID WHERE Action_Interactions.EVENT_TYPE IN ("taken")')
    assert actions(taken, user="u7") == [a for a in ["a0", "a1", "a3", "a2"] if a not in taken_by_u7]


def test_action_filters_take_the_documented_parenthesised_placeholder(shop: Shop) -> None:
    """dg/action-recommendation-filter-examples: ``INCLUDE ActionID WHERE Actions.VALUE > ($VALUE)``."""
    _action_data(shop)
    campaign = shop.campaign("aws-next-best-action", "next-best")
    above = shop.filter("above", "INCLUDE ActionID WHERE Actions.VALUE > ($VALUE)")
    answer = shop.runtime.get_action_recommendations(
        campaignArn=campaign, userId="u1", filterArn=above, filterValues={"VALUE": "1"}
    )
    assert [a["actionId"] for a in answer["actionList"]] == ["a3", "a2"]  # VALUE 3 and 2
    below = shop.filter("below", "EXCLUDE ActionID WHERE Actions.VALUE < ($VALUE)")
    answer = shop.runtime.get_action_recommendations(
        campaignArn=campaign, userId="u1", filterArn=below, filterValues={"VALUE": "1"}
    )
    assert [a["actionId"] for a in answer["actionList"]] == ["a1", "a3", "a2"]  # a0 (VALUE 0) excluded


def test_a_null_num_results_means_the_default_not_a_500(shop: Shop) -> None:
    """Raw JSON from a non-boto3 client may send ``"numResults": null`` for an unset member."""
    from reconciler.emulator.dataplane import wire_data_call

    campaign = shop.campaign("aws-popularity-count", "popular")
    _action_data(shop)
    actions = shop.campaign("aws-next-best-action", "next-best")
    for path, body, key, default in (
        ("/recommendations", {"campaignArn": campaign, "userId": "u1"}, "itemList", 25),
        ("/action-recommendations", {"campaignArn": actions, "userId": "u1"}, "actionList", 4),
    ):
        status, _headers, raw = wire_data_call(
            shop.env.emulator,
            "POST",
            path,
            json.dumps({**body, "numResults": None}).encode(),
            REGION,
            shop.env.emulator.account,
        )
        assert status == 200, raw
        assert len(json.loads(raw)[key]) == default


def test_bulk_imports_after_training_leave_real_time_answers_and_events_still_count(shop: Shop) -> None:
    """dg/how-new-data-influences-recommendations: bulk imports (FULL or INCREMENTAL) change nothing before
    the next training; events recorded with PutEvents change the user's next answer."""
    campaign = shop.campaign("aws-user-personalization", "personal")

    def top10() -> list[str]:
        return _ids(shop.runtime.get_recommendations(campaignArn=campaign, userId="u5", numResults=10))

    first = top10()
    dataset = shop.datasets["INTERACTIONS"]
    more = "".join(f"i{k},u5,OrderCompleted,{1_800_000_000 + k},No\n" for k in range(40, 55))
    for mode, body in (
        ("INCREMENTAL", "ITEM_ID,USER_ID,EVENT_TYPE,TIMESTAMP,DISCOUNT\n" + more),
        ("FULL", interactions_csv(users=40, items=60, per_user=10, seed=3).decode()),
    ):
        shop.env.client.create_dataset_import_job(
            jobName=f"after-training-{mode.lower()}",
            datasetArn=dataset,
            importMode=mode,
            dataSource={"dataLocation": shop.env.put(f"{mode}.csv", body.encode())},
            roleArn=shop.env.role,
        )
        assert top10() == first, mode
    shop.events.put_events(
        trackingId=shop.tracker(),
        userId="u5",
        sessionId="s-u5",
        eventList=[
            {"eventType": "OrderCompleted", "itemId": f"i{k}", "sentAt": 1_900_000_000 + k}
            for k in range(50, 55)
        ],
    )
    assert top10() != first


def test_personalized_ranking_v2_leaves_items_without_interactions_unscored(shop: Shop) -> None:
    """dg/native-recipe-personalized-ranking-v2: items without interactions data come back without a score;
    dg/rankings: Personalized-Ranking (v1) scores them 0."""
    inputs = ["i1", "i2", "never-seen"]
    for recipe, unknown in (
        ("aws-personalized-ranking-v2", {"itemId": "never-seen"}),
        ("aws-personalized-ranking", {"itemId": "never-seen", "score": 0.0}),
    ):
        campaign = shop.campaign(recipe, recipe[4:])
        ranking = shop.runtime.get_personalized_ranking(campaignArn=campaign, userId="u1", inputList=inputs)
        rows = ranking["personalizedRanking"]
        assert rows[-1] == unknown, recipe
        assert all(0 < row["score"] <= 1 for row in rows[:-1])


def test_current_item_filters_need_a_related_items_recipe(shop: Shop) -> None:
    """CurrentItem takes its values from the request's item: only related-items recipes and use cases have
    one (personalize-data-plane.md 3, personalize-api.md 9.2 rule 10). A user-personalization campaign
    answered [] with such a filter; it is refused, naming the filter and the recipe."""
    same_category = shop.filter(
        "same-category", "EXCLUDE ItemID WHERE Items.CATEGORY IN CurrentItem.CATEGORY"
    )
    personal = shop.campaign("aws-user-personalization", "personal")
    with pytest.raises(ClientError) as info:
        shop.runtime.get_recommendations(campaignArn=personal, userId="u1", filterArn=same_category)
    assert _code(info) == ("InvalidInputException", 400)
    message = info.value.response["Error"]["Message"]
    assert "CurrentItem" in message and "aws-user-personalization" in message and "same-category" in message
    with pytest.raises(ClientError) as ranking:
        shop.runtime.get_personalized_ranking(
            campaignArn=shop.campaign("aws-personalized-ranking", "ranking"),
            userId="u1",
            inputList=["i1", "i2"],
            filterArn=same_category,
        )
    assert _code(ranking) == ("InvalidInputException", 400)
    # a related-items campaign fills it from itemId: nothing of the query item's category comes back
    related = shop.campaign("aws-sims", "related")
    answer = shop.runtime.get_recommendations(
        campaignArn=related, itemId="i3", numResults=10, filterArn=same_category
    )
    items = shop.env.emulator.data.items(shop.group)
    assert items is not None
    category = items.value("i3", "CATEGORY")
    assert answer["itemList"] and all(items.value(i, "CATEGORY") != category for i in _ids(answer))


# ---- limits beyond botocore's model: metadataColumns <= 10 (dg/limits), a promotion's name/share/filter


def _refused_input(info: pytest.ExceptionInfo[ClientError]) -> str:
    response = info.value.response
    assert (response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]) == (
        "InvalidInputException",
        400,
    )
    return str(response["Error"]["Message"])


def test_metadata_columns_hold_at_most_ten_items_columns(shop: Shop) -> None:
    campaign = shop.campaign("aws-user-personalization", "md", enableMetadataWithRecommendations=True)
    with pytest.raises(ClientError) as info:
        shop.runtime.get_recommendations(
            campaignArn=campaign,
            userId="u1",
            metadataColumns={"ITEMS": ["CATEGORY", "STYLE"] * 5 + ["STYLE"]},
        )
    assert "at most 10" in _refused_input(info) and "got 11" in _refused_input(info)
    answer = shop.runtime.get_recommendations(
        campaignArn=campaign, userId="u1", numResults=3, metadataColumns={"ITEMS": ["CATEGORY", "STYLE"] * 5}
    )
    assert all(set(e["metadata"]) == {"CATEGORY", "STYLE"} for e in answer["itemList"])


@pytest.mark.parametrize("drop", ["name", "percentPromotedItems", "filterArn"])
def test_a_promotion_needs_its_name_share_and_filter(shop: Shop, drop: str) -> None:
    """Before: without percentPromotedItems one item was promoted, without filterArn the top items were
    marked promoted, without name they carried no promotionName."""
    campaign = shop.campaign("aws-user-personalization", "up")
    cheap = shop.filter("cat1", 'INCLUDE ItemID WHERE Items.CATEGORY IN ("cat1")')
    promotion: dict[str, Any] = {"name": "cat1-first", "percentPromotedItems": 40, "filterArn": cheap}
    answer = shop.runtime.get_recommendations(
        campaignArn=campaign, userId="u1", numResults=5, promotions=[promotion]
    )
    assert [e["itemId"] for e in answer["itemList"] if e.get("promotionName") == "cat1-first"]
    del promotion[drop]
    with pytest.raises(ClientError) as info:
        shop.runtime.get_recommendations(
            campaignArn=campaign, userId="u1", numResults=5, promotions=[promotion]
        )
    assert f"promotions[0] needs {drop}" in _refused_input(info)


def test_a_filter_must_select_what_the_operation_returns(shop: Shop) -> None:
    """ItemID filters are for item recommendations and rankings, UserID for user segments, ActionID for action
    recommendations (personalize-api.md 9.2 rule 10). A UserID filter on GetRecommendations, or an ItemID
    filter on GetActionRecommendations, was skipped expression by expression and answered unfiltered."""
    men = shop.filter("men", 'INCLUDE UserID WHERE Users.GENDER IN ("M")')
    personal = shop.campaign("aws-user-personalization", "personal")
    with pytest.raises(ClientError) as info:
        shop.runtime.get_recommendations(campaignArn=personal, userId="u1", filterArn=men)
    message = _refused_input(info)
    assert "Filter men selects UserID" in message and "needs a filter on ItemID" in message
    with pytest.raises(ClientError) as ranking:
        shop.runtime.get_personalized_ranking(
            campaignArn=shop.campaign("aws-personalized-ranking", "ranking"),
            userId="u1",
            inputList=["i1", "i2"],
            filterArn=men,
        )
    assert "needs a filter on ItemID" in _refused_input(ranking)
    cat1 = shop.filter("cat1", 'INCLUDE ItemID WHERE Items.CATEGORY IN ("cat1")')
    with pytest.raises(ClientError) as promoted:
        shop.runtime.get_recommendations(
            campaignArn=personal,
            userId="u1",
            promotions=[{"name": "p", "percentPromotedItems": 20, "filterArn": men}],
        )
    assert "Filter men selects UserID" in _refused_input(promoted)
    _action_data(shop)
    next_best = shop.campaign("aws-next-best-action", "next-best")
    with pytest.raises(ClientError) as actions:
        shop.runtime.get_action_recommendations(campaignArn=next_best, userId="u1", filterArn=cat1)
    assert "Filter cat1 selects ItemID" in _refused_input(actions)
    assert "needs a filter on ActionID" in _refused_input(actions)
    # the right target still filters
    answer = shop.runtime.get_recommendations(campaignArn=personal, userId="u1", numResults=5, filterArn=cat1)
    items = shop.env.emulator.data.items(shop.group)
    assert items is not None and answer["itemList"]
    assert all(items.value(e["itemId"], "CATEGORY") == "cat1" for e in answer["itemList"])
