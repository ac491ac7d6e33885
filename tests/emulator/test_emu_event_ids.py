"""PutEvents / PutActionInteractions ``eventId``: botocore's personalize-events model (Event.eventId and
ActionInteraction.eventId) says "Amazon Personalize uses the event ID to distinguish unique events. Any
subsequent events after the first with the same event ID are not used in model training." A client that
retries a call must not count its events twice. Through real boto3 clients."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conftest import REGION, Env
from emu_support import avro

from reconciler.emulator import DurationProfile, PersonalizeEmulator, VirtualClock, emulated_client
from reconciler.emulator.data import DataStore


def _settle(env: Env) -> None:
    env.client.list_dataset_groups()


def _event(item: str, sent_at: int, event_id: str | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {"eventType": "ProductViewed", "itemId": item, "sentAt": sent_at}
    if event_id is not None:
        event["eventId"] = event_id
    return event


def _tracker(env: Env, dg: str, name: str = "t") -> str:
    tracking_id = env.client.create_event_tracker(name=name, datasetGroupArn=dg)["trackingId"]
    _settle(env)
    return str(tracking_id)


def _popular(env: Env, dg: str, name: str) -> list[str]:
    """Items of a Popularity-Count version trained now, most popular first (through a campaign)."""
    solution = env.client.create_solution(
        name=name, datasetGroupArn=dg, recipeArn="arn:aws:personalize:::recipe/aws-popularity-count"
    )["solutionArn"]
    version = env.client.create_solution_version(solutionArn=solution)["solutionVersionArn"]
    _settle(env)
    campaign = env.client.create_campaign(name=name, solutionVersionArn=version)["campaignArn"]
    _settle(env)
    runtime = emulated_client(env.emulator, REGION, service="personalize-runtime")
    answer = runtime.get_recommendations(campaignArn=campaign, userId="u1", numResults=100)
    return [entry["itemId"] for entry in answer["itemList"]]


def test_a_retried_event_id_counts_once_at_the_next_training(env: Env) -> None:
    dg = env.trainable_group()
    _settle(env)
    tracking_id = _tracker(env, dg)
    events = emulated_client(env.emulator, REGION, service="personalize-events")
    rows_before = len(env.emulator.data.interactions(dg))  # type: ignore[arg-type]
    # a client retrying one call four times (same eventId each time) ...
    for _ in range(4):
        events.put_events(
            trackingId=tracking_id,
            userId="u1",
            sessionId="s1",
            eventList=[_event("retried", 1_800_000_000, "evt-1")],
        )
    # ... two events of one call sharing an eventId, two distinct ones, three without eventId
    events.put_events(
        trackingId=tracking_id,
        userId="u2",
        sessionId="s2",
        eventList=[
            _event("twice", 1_800_000_001, "evt-2"),
            _event("twice", 1_800_000_002, "evt-2"),
            _event("fresh", 1_800_000_003, "evt-3"),
            _event("fresh", 1_800_000_004, "evt-4"),
            _event("plain", 1_800_000_005),
            _event("plain", 1_800_000_006),
            _event("plain", 1_800_000_007),
        ],
    )
    table = env.emulator.data.interactions(dg)
    assert table is not None and len(table) - rows_before == 1 + 1 + 2 + 3
    ranked = _popular(env, dg, "popular")
    position = {item: ranked.index(item) for item in ("plain", "fresh", "retried", "twice")}
    assert position["plain"] < position["fresh"] < position["retried"]
    assert position["plain"] < position["fresh"] < position["twice"]


def test_event_ids_are_kept_per_dataset_and_survive_a_restart(env: Env, tmp_path: Path) -> None:
    env.emulator.attach_storage(tmp_path / "state.data")
    first, second = env.trainable_group("one"), env.trainable_group("two")
    _settle(env)
    trackers = {dg: _tracker(env, dg, f"t{k}") for k, dg in enumerate((first, second))}
    events = emulated_client(env.emulator, REGION, service="personalize-events")

    def put(emulator: PersonalizeEmulator, dg: str, event_id: str) -> int:
        before = len(emulator.data.interactions(dg))  # type: ignore[arg-type]
        client = (
            events
            if emulator is env.emulator
            else emulated_client(emulator, REGION, service="personalize-events")
        )
        client.put_events(
            trackingId=trackers[dg],
            userId="u1",
            sessionId="s1",
            eventList=[_event("i1", 1_800_000_000, event_id)],
        )
        return len(emulator.data.interactions(dg)) - before  # type: ignore[arg-type]

    assert put(env.emulator, first, "evt-1") == 1
    assert put(env.emulator, second, "evt-1") == 1  # another dataset group's dataset: its own ids
    assert put(env.emulator, first, "evt-1") == 0
    saved = env.emulator.snapshot()

    again = PersonalizeEmulator(clock=VirtualClock(), profile=DurationProfile.instant(), strict=True)
    again.attach_storage(tmp_path / "state.data")
    again.restore(saved)
    assert put(again, first, "evt-1") == 0  # the retry after a restart still does not count
    assert put(again, first, "evt-2") == 1
    again.snapshot()
    third = PersonalizeEmulator(clock=VirtualClock(), profile=DurationProfile.instant(), strict=True)
    third.attach_storage(tmp_path / "state.data")
    third.restore(saved)
    assert put(third, first, "evt-2") == 0 and put(third, second, "evt-1") == 0


def test_action_interactions_with_a_seen_event_id_count_once(env: Env) -> None:
    dg = env.client.create_dataset_group(name="actions")["datasetGroupArn"]
    schema = env.client.create_schema(
        name="action-interactions",
        schema=avro(
            "ActionInteractions",
            [("ACTION_ID", "string"), ("USER_ID", "string"), ("EVENT_TYPE", "string"), ("TIMESTAMP", "long")],
        ),
    )["schemaArn"]
    dataset = env.client.create_dataset(
        name="action-interactions", datasetGroupArn=dg, schemaArn=schema, datasetType="Action_Interactions"
    )["datasetArn"]
    _settle(env)
    tracking_id = env.client.describe_dataset(datasetArn=dataset)["dataset"]["trackingId"]
    events = emulated_client(env.emulator, REGION, service="personalize-events")
    for _ in range(3):
        events.put_action_interactions(
            trackingId=tracking_id,
            actionInteractions=[
                {
                    "actionId": "a1",
                    "userId": "u1",
                    "sessionId": "s1",
                    "timestamp": 1_800_000_000,
                    "eventType": "Taken",
                    "eventId": "act-1",
                },
                {
                    "actionId": "a2",
                    "userId": "u1",
                    "sessionId": "s1",
                    "timestamp": 1_800_000_001,
                    "eventType": "Viewed",
                },
            ],
        )
    table = env.emulator.data.table(dg, "ACTION_INTERACTIONS")
    assert table is not None and len(table) == 1 + 3  # act-1 once, the events without eventId each time


def test_the_event_id_store_takes_8_bytes_an_id() -> None:
    """100,000 distinct eventIds of one dataset take about 800 KB (64-bit hashes in a sorted numpy array),
    not the ~10 MB of a Python set of the strings."""
    store = DataStore()
    for k in range(100_000):
        assert store.first_event("dg", "INTERACTIONS", f"2b1c4e9a-{k:08d}-4f7e-9d21-7c0a5e3f1b6d")
    assert not store.first_event("dg", "INTERACTIONS", "2b1c4e9a-00000042-4f7e-9d21-7c0a5e3f1b6d")
    assert store.event_id_bytes("dg", "INTERACTIONS") <= 100_000 * 8 + 200_000


def test_the_event_id_store_is_bounded_by_max_rows() -> None:
    """At most max_rows hashes per dataset: past it the oldest are forgotten, the newest kept."""
    store = DataStore(max_rows=10_000)
    for k in range(50_000):
        store.first_event("dg", "INTERACTIONS", f"evt-{k}")
    assert store.event_id_bytes("dg", "INTERACTIONS") <= 10_000 * 8 + 100_000
    assert not store.first_event("dg", "INTERACTIONS", "evt-49999")
    assert store.first_event("dg", "INTERACTIONS", "evt-0")  # forgotten: counts again


def test_event_ids_seen_since_the_last_base_file_go_to_a_delta_file(tmp_path: Path) -> None:
    store = DataStore()
    store.attach(tmp_path)
    for k in range(10):
        store.first_event("dg", "INTERACTIONS", f"evt-{k}")
    store.flush()
    for k in range(10, 13):
        store.first_event("dg", "INTERACTIONS", f"evt-{k}")
    store.flush()
    assert len(list(tmp_path.glob("*.ids.npz"))) == 1 and len(list(tmp_path.glob("*.ids-delta.npz"))) == 1
    again = DataStore()
    again.attach(tmp_path)
    assert not any(again.first_event("dg", "INTERACTIONS", f"evt-{k}") for k in range(13))
    assert again.first_event("dg", "INTERACTIONS", "evt-13")
    again.drop_dataset("dg", "INTERACTIONS")  # DeleteDataset: its ids go with it
    again.flush()
    assert not list(tmp_path.glob("*.ids*.npz"))
    assert again.first_event("dg", "INTERACTIONS", "evt-1")
