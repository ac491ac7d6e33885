"""The emulator keeps imported data (columnar, persisted) and trains real models from it (issue 13)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
from conftest import REGION, Env
from emu_support import ITEMS_SCHEMA, interactions_csv, items_csv

from reconciler.emulator import DurationProfile, PersonalizeEmulator, VirtualClock
from reconciler.emulator.data import DataStore, TableBuilder, canonical_field
from reconciler.emulator.models import realtime_history


def _settle(env: Env) -> None:
    """Any request applies the transitions that are due (the instant profile makes them due at once)."""
    env.call("ListDatasetGroups")


def _popular(csv: bytes, event_type: str | None = None) -> list[str]:
    counts: Counter[str] = Counter()
    first: dict[str, int] = {}
    for n, line in enumerate(csv.decode().splitlines()[1:]):
        item, _user, event, *_ = line.split(",")
        first.setdefault(item, n)
        if event_type is None or event == event_type:
            counts[item] += 1
    return sorted(counts, key=lambda i: (-counts[i], first[i]))


def test_import_keeps_every_row_and_popularity_is_trained_from_it(env: Env) -> None:
    csv = interactions_csv()
    dg = env.trainable_group(csv=csv)
    _settle(env)
    table = env.emulator.data.interactions(dg)
    assert table is not None and len(table) == 40 * 30
    assert table.users.strings[0] == "u0" and table.event_types.get("ProductViewed") >= 0
    assert table.user_history("u3")[0][0] == csv.decode().splitlines()[1 + 3 * 30].split(",")[0]
    assert table.column_values("DISCOUNT")[0] in ("Yes", "No")

    version = env.version(env.solution(dg, recipe="aws-popularity-count"))
    _settle(env)
    model = env.emulator.models.for_version(version)
    assert model is not None and model.family == "popularity" and not model.scored
    got = [item for item, _ in model.recommend("u1", None, 10)]
    assert got == _popular(csv)[:10]
    # eventType in the solution changes what it learns from (about 300 rows: lower the training minimum)
    env.emulator.quotas["min_interactions_for_training"] = 100
    typed = env.version(
        env.solution(dg, name="typed", recipe="aws-popularity-count", eventType="OrderCompleted")
    )
    _settle(env)
    typed_model = env.emulator.models.for_version(typed)
    assert typed_model is not None
    assert [i for i, _ in typed_model.recommend(None, None, 10)] == _popular(csv, "OrderCompleted")[:10]
    # exclusions and lazy candidate filters
    top = got[0]
    filtered = model.recommend("u1", None, 5, exclude={top}, candidate_filter=lambda i: i != got[1])
    assert [i for i, _ in filtered] == [i for i in got if i not in (top, got[1])][:5]


def test_full_import_replaces_bulk_rows_keeps_put_rows_and_incremental_appends(env: Env) -> None:
    dg = env.trainable_group(csv=interactions_csv(users=5, items=10, per_user=4))
    _settle(env)
    store = env.emulator.data
    store.append_events(
        dg, [{"USER_ID": "u9", "ITEM_ID": "new", "TIMESTAMP": "1800000000", "EVENT_TYPE": "Buy"}]
    )
    table = store.interactions(dg)
    assert table is not None and len(table) == 21 and table.user_history("u9") == [("new", "Buy", 1800000000)]
    ds = env.call("ListDatasets", datasetGroupArn=dg)["datasets"][0]["datasetArn"]
    url = env.put("dg/second.csv", interactions_csv(users=2, items=3, per_user=3, seed=1))
    env.call(
        "CreateDatasetImportJob",
        jobName="full2",
        datasetArn=ds,
        dataSource={"dataLocation": url},
        roleArn=env.role,
    )
    _settle(env)
    table = store.interactions(dg)
    assert table is not None and len(table) == 2 * 3 + 1  # bulk replaced, the PUT row kept
    env.call(
        "CreateDatasetImportJob",
        jobName="inc",
        datasetArn=ds,
        dataSource={"dataLocation": url},
        roleArn=env.role,
        importMode="INCREMENTAL",
    )
    _settle(env)
    table = store.interactions(dg)
    assert table is not None and len(table) == 2 * 6 + 1


def test_items_are_looked_up_by_id_and_put_records_replace(env: Env) -> None:
    dg = env.group("items")
    schema = env.call("CreateSchema", name="items", schema=ITEMS_SCHEMA)["schemaArn"]
    ds = env.call("CreateDataset", name="items", datasetGroupArn=dg, schemaArn=schema, datasetType="Items")[
        "datasetArn"
    ]
    url = env.put("items.csv", items_csv(20))
    env.call(
        "CreateDatasetImportJob",
        jobName="items",
        datasetArn=ds,
        dataSource={"dataLocation": url},
        roleArn=env.role,
    )
    _settle(env)
    store = env.emulator.data
    table = store.items(dg)
    assert (
        table is not None
        and table.value("i7", "category") == "cat2"
        and table.record("i7")["STYLE"] == "style1"
    )
    store.put_records(dg, "ITEMS", [{"ITEM_ID": "i7", canonical_field("category"): "shoes"}])
    table = store.items(dg)
    assert table is not None and table.value("i7", "CATEGORY") == "shoes" and len(table.record_ids()) == 20
    assert table.value("missing", "CATEGORY") is None


def test_data_and_models_survive_a_restart(tmp_path: Path, env: Env) -> None:
    emulator = env.emulator
    emulator.attach_storage(tmp_path / "state.data")
    dg = env.trainable_group()
    _settle(env)
    version = env.version(env.solution(dg, recipe="aws-popularity-count"))
    _settle(env)
    model = emulator.models.for_version(version)
    assert model is not None
    before = model.recommend(None, None, 10)
    saved = emulator.snapshot()
    assert list((tmp_path / "state.data" / "datasets").glob("*.npz"))

    again = PersonalizeEmulator(clock=VirtualClock(), profile=DurationProfile.instant())
    again.attach_storage(tmp_path / "state.data")
    again.restore(saved)
    restored = again.models.for_version(version)
    assert restored is not None and restored.recommend(None, None, 10) == before
    table = again.data.interactions(dg)
    assert (
        table is not None
        and len(table) == 40 * 30
        and table.user_history("u1")
        == (
            emulator.data.interactions(dg).user_history("u1")  # type: ignore[union-attr]
        )
    )
    assert REGION in dg


def test_store_concat_recodes_columns_of_independent_builders() -> None:
    first = TableBuilder("INTERACTIONS", ["USER_ID", "ITEM_ID", "TIMESTAMP", "DEVICE"])
    first.add({"USER_ID": "a", "ITEM_ID": "x", "TIMESTAMP": "5", "DEVICE": "phone"})
    store = DataStore()
    store.stage("job1", first.build())
    store.commit("job1", "dg", "INTERACTIONS", "FULL")
    second = TableBuilder("INTERACTIONS", ["USER_ID", "ITEM_ID", "TIMESTAMP", "DEVICE"])  # own vocabularies
    second.add({"USER_ID": "b", "ITEM_ID": "x", "TIMESTAMP": "6", "DEVICE": "tv"})
    second.add({"USER_ID": "a", "ITEM_ID": "y", "TIMESTAMP": "7", "DEVICE": "phone"})
    store.stage("job2", second.build())
    store.commit("job2", "dg", "INTERACTIONS", "INCREMENTAL")
    table = store.interactions("dg")
    assert table is not None
    assert [table.users.strings[u] for u in table.user.tolist()] == ["a", "b", "a"]
    assert [table.items.strings[i] for i in table.item.tolist()] == ["x", "x", "y"]
    assert table.column_values("DEVICE") == ["phone", "tv", "phone"]
    assert np.array_equal(table.timestamp, [5, 6, 7])
    assert list(table.rows_as_text(["USER_ID", "ITEM_ID", "TIMESTAMP", "DEVICE"]))[1] == ["b", "x", "6", "tv"]


def test_put_events_count_toward_the_training_minimum(env: Env) -> None:
    dg = env.trainable_group(csv=interactions_csv(users=30, per_user=30)[:-1].rsplit(b"\n", 150)[0] + b"\n")
    _settle(env)
    table = env.emulator.data.interactions(dg)
    assert table is not None and len(table) == 900 - 150
    failed = env.version(
        env.solution(dg, name="early", recipe="aws-popularity-count", performAutoTraining=False)
    )
    _settle(env)
    described = env.call("DescribeSolutionVersion", solutionVersionArn=failed)["solutionVersion"]
    assert described["status"] == "CREATE FAILED" and "found 750 interactions" in described["failureReason"]
    events = [
        {
            "USER_ID": f"u{k % 30}",
            "ITEM_ID": f"i{k % 50}",
            "TIMESTAMP": str(1_800_000_000 + k),
            "EVENT_TYPE": "Click",
        }
        for k in range(300)
    ]
    env.emulator.data.append_events(dg, events)
    version = env.version(
        env.solution(dg, name="later", recipe="aws-popularity-count", performAutoTraining=False)
    )
    _settle(env)
    assert (
        env.call("DescribeSolutionVersion", solutionVersionArn=version)["solutionVersion"]["status"]
        == "ACTIVE"
    )
    model = env.emulator.models.for_version(version)
    assert model is not None and model.trained_rows == 1050
    store = env.emulator.data
    store.append_events(
        dg, [{"USER_ID": "u3", "ITEM_ID": "i9", "TIMESTAMP": "1900000001", "EVENT_TYPE": "Click"}]
    )
    store.append_events(
        dg, [{"USER_ID": "u3", "ITEM_ID": "i8", "TIMESTAMP": "1900000000", "EVENT_TYPE": "Click"}]
    )
    assert model.trained_puts == 300
    assert store.user_puts_after(dg, "u3", model.trained_puts) == ["i8", "i9"]  # waiting rows, by time
    assert store.user_puts_after(dg, "u3", 250) == ["i23", "i8", "i9"]  # event k=273 is PUT row 273
    assert realtime_history(store.interactions(dg), model, "u3") == ["i8", "i9"]  # rebuilt table: the same
    assert store.user_puts_after(dg, "u3", model.trained_puts) == ["i8", "i9"]


def test_an_import_beyond_the_memory_bound_fails_with_a_reason(env: Env) -> None:
    env.emulator.data.max_rows = 500
    dg = env.trainable_group()
    _settle(env)
    ds = env.call("ListDatasets", datasetGroupArn=dg)["datasets"][0]["datasetArn"]
    (job,) = env.call("ListDatasetImportJobs", datasetArn=ds)["datasetImportJobs"]
    described = env.call("DescribeDatasetImportJob", datasetImportJobArn=job["datasetImportJobArn"])
    assert described["datasetImportJob"]["status"] == "CREATE FAILED"
    assert "1,200 rows" in described["datasetImportJob"]["failureReason"]
    assert "at most 500 rows per dataset" in described["datasetImportJob"]["failureReason"]
    assert env.emulator.data.interactions(dg) is None


def test_appended_events_are_saved_as_a_small_delta_beside_the_unchanged_table(tmp_path: Path) -> None:
    builder = TableBuilder("INTERACTIONS", ["USER_ID", "ITEM_ID", "TIMESTAMP"])
    for k in range(100):
        builder.add({"USER_ID": f"u{k % 7}", "ITEM_ID": f"i{k % 11}", "TIMESTAMP": str(k)})
    store = DataStore()
    store.attach(tmp_path)
    store.stage("job", builder.build())
    store.commit("job", "dg", "INTERACTIONS", "FULL")
    store.flush()
    (base,) = [p for p in tmp_path.glob("*.npz")]
    written = base.stat().st_mtime_ns
    for k in range(3):
        store.append_events("dg", [{"USER_ID": "new", "ITEM_ID": f"i{k}", "TIMESTAMP": str(200 + k)}])
        store.flush()
    deltas = list(tmp_path.glob("*.delta.npz"))
    assert len(deltas) == 1 and base.stat().st_mtime_ns == written  # the 100 rows were not rewritten

    again = DataStore()
    again.attach(tmp_path)
    table = again.interactions("dg")
    assert table is not None and len(table) == 103
    assert table.user_history("new") == [("i0", "", 200), ("i1", "", 201), ("i2", "", 202)]
    assert again.user_puts_after("dg", "new", 0) == ["i0", "i1", "i2"]  # the delta's rows are PUT rows
    # another restart, more events, then a change that is not an append: one full file again
    again.append_events("dg", [{"USER_ID": "new", "ITEM_ID": "i9", "TIMESTAMP": "300"}])
    again.flush()
    third = DataStore()
    third.attach(tmp_path)
    assert len(third.interactions("dg") or []) == 104
    third.remove_users("dg", ["new"])
    third.flush()
    assert not list(tmp_path.glob("*.delta.npz")) and len(list(tmp_path.glob("*.npz"))) == 1
    fourth = DataStore()
    fourth.attach(tmp_path)
    assert len(fourth.interactions("dg") or []) == 100
