"""personalize-events Put* check each property against its field's type in the dataset's schema (through a
real boto3 client): a number field refuses "abc" or true, a boolean field refuses "maybe", null needs a union
with "null". Before, PutItems/PutUsers stored any value as a string."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import REGION, Env
from emu_support import avro

from reconciler.emulator import emulated_client

ITEMS = avro(
    "Items",
    [
        ("ITEM_ID", "string"),
        ("PRICE", "double"),
        ("STOCK", ["null", "int"]),
        ("PREMIUM", "boolean"),
        {"name": "CATEGORY", "type": "string", "categorical": True},
        {"name": "BRAND", "type": ["null", "string"], "categorical": True},
    ],
)
USERS = avro("Users", [("USER_ID", "string"), ("AGE", "int"), ("SCORE", "float"), ("SINCE", "long")])


class Datasets:
    def __init__(self, env: Env) -> None:
        group = env.group("typed")
        self.arns: dict[str, str] = {}
        for kind, schema in (("Items", ITEMS), ("Users", USERS)):
            schema_arn = env.call("CreateSchema", name=f"typed-{kind}", schema=schema)["schemaArn"]
            self.arns[kind] = env.call(
                "CreateDataset",
                name=f"typed-{kind}",
                datasetGroupArn=group,
                schemaArn=schema_arn,
                datasetType=kind,
            )["datasetArn"]
        self.group = group
        self.env = env
        self.events = emulated_client(env.emulator, REGION, service="personalize-events")

    def put_item(self, **properties: Any) -> None:
        self.events.put_items(
            datasetArn=self.arns["Items"], items=[{"itemId": "i1", "properties": json.dumps(properties)}]
        )

    def put_user(self, **properties: Any) -> None:
        self.events.put_users(
            datasetArn=self.arns["Users"], users=[{"userId": "u1", "properties": json.dumps(properties)}]
        )


@pytest.fixture
def typed(env: Env) -> Datasets:
    return Datasets(env)


def _refused(info: pytest.ExceptionInfo[ClientError]) -> str:
    error = info.value.response["Error"]
    assert (error["Code"], info.value.response["ResponseMetadata"]["HTTPStatusCode"]) == (
        "InvalidInputException",
        400,
    )
    return str(error["Message"])


@pytest.mark.parametrize(
    ("properties", "field"),
    [
        ({"price": "abc"}, "price"),
        ({"price": True}, "price"),
        ({"price": ["1", "2"]}, "price"),
        ({"stock": "lots"}, "stock"),
        ({"stock": 2.5}, "stock"),
        ({"premium": "maybe"}, "premium"),
        ({"premium": 1}, "premium"),
        ({"price": None}, "price"),
        ({"premium": None}, "premium"),
        ({"category": None}, "category"),
    ],
)
def test_put_items_refuses_a_value_its_schema_type_does_not_hold(
    typed: Datasets, properties: dict[str, Any], field: str
) -> None:
    with pytest.raises(ClientError) as info:
        typed.put_item(**properties)
    message = _refused(info)
    assert f"items[0]: properties.{field}" in message
    assert field.upper() in message  # the schema field and its type are named
    items = typed.env.emulator.data.items(typed.group)
    assert items is None or items.row_of("i1") < 0  # nothing was stored


def test_put_items_takes_values_of_the_schema_types(typed: Datasets) -> None:
    typed.put_item(price=9.5, stock=None, premium=True, category="shoes|boots", brand=None)
    typed.put_item(price="10", stock="3", premium="false", category="shoes")  # numbers may come as strings
    typed.put_item(price=10, stock=4)
    items = typed.env.emulator.data.items(typed.group)
    assert items is not None
    assert (items.value("i1", "PRICE"), items.value("i1", "STOCK")) == ("10", "4")


@pytest.mark.parametrize(
    "properties",
    [
        {"age": "abc"},
        {"age": "33.5"},
        {"age": False},
        {"score": "high"},
        {"since": "yesterday"},
        {"age": None},
    ],
)
def test_put_users_refuses_non_numbers_in_number_fields(typed: Datasets, properties: dict[str, Any]) -> None:
    with pytest.raises(ClientError) as info:
        typed.put_user(**properties)
    (key,) = properties
    message = _refused(info)
    assert f"users[0]: properties.{key}" in message and key.upper() in message


def test_put_users_takes_numbers(typed: Datasets) -> None:
    typed.put_user(age=33, score=0.5, since=1_700_000_000)
    typed.put_user(age="34", score="1e-3", since="1700000001")
    users = typed.env.emulator.data.users(typed.group)
    assert users is not None and users.value("u1", "AGE") == "34"


# ---- PutEvents, PutActions, PutActionInteractions: the same check (s3data.property_problem), own tests ----

INTERACTIONS = avro(
    "Interactions",
    [
        ("ITEM_ID", "string"),
        ("USER_ID", "string"),
        ("EVENT_TYPE", "string"),
        ("TIMESTAMP", "long"),
        ("DWELL", "int"),
        {"name": "DEVICE", "type": ["null", "string"], "categorical": True},
    ],
)
ACTIONS = avro("Actions", [("ACTION_ID", "string"), ("VALUE", "int"), ("REPEAT_FREQUENCY", ["null", "int"])])
ACTION_INTERACTIONS = avro(
    "ActionInteractions",
    [
        ("ACTION_ID", "string"),
        ("USER_ID", "string"),
        ("EVENT_TYPE", "string"),
        ("TIMESTAMP", "long"),
        {"name": "CHANNEL", "type": "string", "categorical": True},
    ],
)


class Streams:
    """A dataset group with typed Interactions, Actions and Action interactions datasets and a tracker."""

    def __init__(self, env: Env) -> None:
        self.env = env
        self.group = env.group("streams")
        self.arns: dict[str, str] = {}
        for kind, schema in (
            ("Interactions", INTERACTIONS),
            ("Actions", ACTIONS),
            ("Action_Interactions", ACTION_INTERACTIONS),
        ):
            schema_arn = env.call("CreateSchema", name=f"streams-{kind}", schema=schema)["schemaArn"]
            self.arns[kind] = env.call(
                "CreateDataset",
                name=f"streams-{kind}",
                datasetGroupArn=self.group,
                schemaArn=schema_arn,
                datasetType=kind,
            )["datasetArn"]
        self.tracking_id = env.call("CreateEventTracker", name="streams", datasetGroupArn=self.group)[
            "trackingId"
        ]
        self.action_tracking_id = env.call("DescribeDataset", datasetArn=self.arns["Action_Interactions"])[
            "dataset"
        ]["trackingId"]
        self.events = emulated_client(env.emulator, REGION, service="personalize-events")

    def put_event(self, **properties: Any) -> None:
        self.events.put_events(
            trackingId=self.tracking_id,
            userId="u1",
            sessionId="s1",
            eventList=[
                {
                    "eventType": "click",
                    "itemId": "i1",
                    "sentAt": 1_700_000_000,
                    "properties": json.dumps(properties),
                }
            ],
        )

    def put_action(self, **properties: Any) -> None:
        self.events.put_actions(
            datasetArn=self.arns["Actions"],
            actions=[{"actionId": "a1", "properties": json.dumps(properties)}],
        )

    def put_action_interaction(self, **properties: Any) -> None:
        self.events.put_action_interactions(
            trackingId=self.action_tracking_id,
            actionInteractions=[
                {
                    "actionId": "a1",
                    "userId": "u1",
                    "sessionId": "s1",
                    "timestamp": 1_700_000_000,
                    "eventType": "Taken",
                    "properties": json.dumps(properties),
                }
            ],
        )


@pytest.fixture
def streams(env: Env) -> Streams:
    return Streams(env)


@pytest.mark.parametrize(
    ("call", "where", "properties"),
    [
        ("put_event", "eventList[0]", {"dwell": "long"}),
        ("put_event", "eventList[0]", {"dwell": 2.5}),
        ("put_event", "eventList[0]", {"dwell": True}),
        ("put_event", "eventList[0]", {"dwell": None}),
        ("put_event", "eventList[0]", {"device": {"os": "ios"}}),
        ("put_action", "actions[0]", {"value": "high"}),
        ("put_action", "actions[0]", {"value": False}),
        ("put_action", "actions[0]", {"value": None}),
        ("put_action", "actions[0]", {"repeatFrequency": "weekly"}),
        ("put_action_interaction", "actionInteractions[0]", {"channel": None}),
        ("put_action_interaction", "actionInteractions[0]", {"channel": {"a": 1}}),
    ],
)
def test_events_actions_and_action_interactions_refuse_values_their_type_does_not_hold(
    streams: Streams, call: str, where: str, properties: dict[str, Any]
) -> None:
    with pytest.raises(ClientError) as info:
        getattr(streams, call)(**properties)
    (key,) = properties
    message = _refused(info)
    assert f"{where}: properties.{key}" in message
    from reconciler.emulator.data import canonical_field

    assert canonical_field(key) in message  # the schema field and its type are named
    data = streams.env.emulator.data
    for kind in ("INTERACTIONS", "ACTIONS", "ACTION_INTERACTIONS"):
        table = data.table(streams.group, kind)
        assert table is None or len(table) == 0  # nothing was stored


def test_events_actions_and_action_interactions_take_values_of_their_types(streams: Streams) -> None:
    streams.put_event(dwell=12, device="phone")
    streams.put_event(dwell="13", device=None)  # a number may come as a string; DEVICE is a union with null
    streams.put_action(value=3, repeatFrequency=None)
    streams.put_action(value="4", repeatFrequency=7)
    streams.put_action_interaction(channel="email")
    data = streams.env.emulator.data
    interactions = data.table(streams.group, "INTERACTIONS")
    assert interactions is not None and interactions.column_values("DWELL") == ["12", "13"]
    actions = data.table(streams.group, "ACTIONS")
    assert actions is not None and (
        actions.value("a1", "VALUE"),
        actions.value("a1", "REPEAT_FREQUENCY"),
    ) == (
        "4",
        "7",
    )
    action_interactions = data.table(streams.group, "ACTION_INTERACTIONS")
    assert action_interactions is not None and action_interactions.column_values("CHANNEL") == ["email"]


def test_put_users_answers_a_huge_integer_with_an_error_not_a_crash(typed: Datasets) -> None:
    """A JSON integer of 400 digits: float() of it overflowed inside the type check (a 500 instead of
    InvalidInputException); an int field holds 32 bits, a long 64, so it is refused naming the field."""
    for field in ("AGE", "SINCE"):
        with pytest.raises(ClientError) as info:
            typed.put_user(**{field: 10**400})
        assert info.value.response["Error"]["Code"] == "InvalidInputException", info.value.response
        assert f"properties.{field}" in str(info.value)
    typed.put_user(AGE=2**31 - 1, SCORE=1.5, SINCE=2**63 - 1)
    for field, value in (("AGE", 2**31), ("AGE", -(2**31) - 1), ("SINCE", 2**63)):
        with pytest.raises(ClientError) as info:
            typed.put_user(**{field: value})
        assert info.value.response["Error"]["Code"] == "InvalidInputException", (field, value)


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_properties_with_a_nan_or_infinity_token_are_not_json_and_are_refused(
    typed: Datasets, token: str
) -> None:
    """``properties`` is a JSON string, and JSON (RFC 8259) has no NaN or Infinity: Python's json.loads takes
    them (and json.dumps writes them for float("nan")), so the emulator stored "nan" / "inf" in a double
    field where the service's JSON parser refuses the string. Now InvalidInputException names the token."""
    for call, arn, key, record in (
        (typed.events.put_items, typed.arns["Items"], "items", {"itemId": "i1"}),
        (typed.events.put_users, typed.arns["Users"], "users", {"userId": "u1"}),
    ):
        field = "price" if key == "items" else "score"
        with pytest.raises(ClientError) as info:
            call(datasetArn=arn, **{key: [{**record, "properties": f'{{"{field}": {token}}}'}]})
        message = _refused(info)
        assert f"{key}[0]: properties" in message and token in message and "not JSON" in message
    data = typed.env.emulator.data
    assert all(t is None or not len(t) for t in (data.items(typed.group), data.users(typed.group)))
    typed.put_item(price=1e308)  # the largest doubles are numbers
    typed.put_user(score="1e-3")
