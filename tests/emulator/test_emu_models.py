"""Small real models: they learn planted structure, hyperparameters change them, metrics as documented."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import numpy as np
import pytest
from conftest import Env

from reconciler.emulator.models import FAMILIES, TrainingConfig, hpo_candidates, offline_metrics, train
from reconciler.emulator.models.evaluation import ranking_metrics
from reconciler.emulator.models.synthetic import Planted, planted_interactions


@pytest.fixture(scope="module")
def planted() -> Planted:
    return planted_interactions(users=300, items=400, per_user=40, seed=3)


def test_user_personalization_beats_popularity_and_sims_finds_planted_partners(planted: Planted) -> None:
    up = offline_metrics(planted.table, TrainingConfig("aws-user-personalization"))
    pop = offline_metrics(planted.table, TrainingConfig("aws-popularity-count"))
    assert up["precision_at_25"] >= 1.5 * pop["precision_at_25"] > 0
    sims = train(planted.table, TrainingConfig("aws-sims"))
    found = [b in [i for i, _ in sims.recommend(None, a, 10)] for a, b in planted.partners.items()]
    assert len(found) >= 20 and sum(found) / len(found) >= 0.9


def test_sims_hyperparameters_change_the_neighbours(planted: Planted) -> None:
    def neighbours(**params: str) -> list[list[str]]:
        model = train(planted.table, TrainingConfig("aws-sims", hyperparameters=params))
        return [[i for i, _ in model.recommend(None, f"i{k}", 10)] for k in range(0, 400, 7)]

    base = neighbours()
    assert neighbours(popularity_discount_factor="0.0") != base
    assert neighbours(popularity_discount_factor="1.0") != base
    strict = train(
        planted.table, TrainingConfig("aws-sims", hyperparameters={"min_cointeraction_count": "10"})
    )
    loose = train(planted.table, TrainingConfig("aws-sims", hyperparameters={"min_cointeraction_count": "0"}))
    assert int((strict.neighbours >= 0).sum()) < int((loose.neighbours >= 0).sum())


def test_hidden_dimension_sets_the_number_of_factors(planted: Planted) -> None:
    small = train(planted.table, TrainingConfig("aws-user-personalization", {"hidden_dimension": "32"}))
    default = train(planted.table, TrainingConfig("aws-user-personalization"))
    assert small.item_factors.shape[1] == 8 and default.item_factors.shape[1] == 37
    again = train(planted.table, TrainingConfig("aws-user-personalization"))
    assert np.array_equal(default.item_factors, again.item_factors)  # deterministic for the seed


def test_user_model_folds_in_new_events_and_ranks(planted: Planted) -> None:
    model = train(planted.table, TrainingConfig("aws-user-personalization"))
    before = model.recommend("u5", None, 10)
    assert math.isclose(sum(s for _, s in model.recommend("u5", None, 400)), 1.0, rel_tol=1e-6)
    # a burst of events on one cluster (items 3, 13, 23...) pulls the answer toward it
    burst = [f"i{k}" for k in range(3, 400, 10)] * 3
    after = model.recommend("u5", None, 10, history=burst)
    assert before != after and sum(int(i[1:]) % 10 == 3 for i, _ in after) >= 8
    ranked = model.rank("u5", ["i1", "unknown", after[0][0]], history=burst)
    assert ranked[0][0] == after[0][0] and ranked[-1] == ("unknown", 0.0)


def test_item_affinity_segments_users_of_the_items_cluster(planted: Planted) -> None:
    model = train(planted.table, TrainingConfig("aws-item-affinity"))
    users = [u for u, _ in model.segment(["i4", "i14"], 20)]
    table = planted.table
    history = Counter(
        int(table.items.strings[i][1:]) % 10
        for i in table.item[np.isin(table.user, [table.users.get(u) for u in users])]
    )
    assert history.most_common(1)[0][0] == 4


def test_event_value_threshold_event_type_and_weights_change_training() -> None:
    from reconciler.emulator.data import TableBuilder

    builder = TableBuilder("INTERACTIONS", ["USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE", "EVENT_VALUE"])
    rows = [("cheap", "click", "0.1", 5), ("pricey", "click", "0.9", 3), ("bought", "buy", "1.0", 2)]
    for item, event, value, count in rows:
        for k in range(count):
            builder.add(
                {
                    "USER_ID": f"u{k}",
                    "ITEM_ID": item,
                    "TIMESTAMP": str(k),
                    "EVENT_TYPE": event,
                    "EVENT_VALUE": value,
                }
            )
    table = builder.build()

    def top(solution_config: dict[str, Any] | None = None, event_type: str | None = None) -> list[str]:
        config = TrainingConfig.from_solution("aws-popularity-count", solution_config, event_type)
        return [i for i, _ in train(table, config).recommend(None, None, 3)]

    assert top() == ["cheap", "pricey", "bought"]
    assert top({"eventValueThreshold": "0.5"}) == ["pricey", "bought"]
    assert top(event_type="BUY") == ["bought"]  # event types compare case-insensitively
    weights = {
        "eventsConfig": {
            "eventParametersList": [
                {"eventType": "click", "weight": 0.1},
                {"eventType": "buy", "weight": 1.0},
            ]
        }
    }
    assert top(weights) == ["bought", "cheap", "pricey"]


def _plain_split(env: Env, dg: str) -> tuple[list[str], list[tuple[str, list[str], list[str]]], list[str]]:
    """The documented split in plain Python (only the seeded shuffle comes from numpy, like the emulator)."""
    table = env.emulator.data.interactions(dg)
    assert table is not None
    rows: dict[str, list[tuple[int, int, str]]] = {}
    for n, (u, i, t) in enumerate(
        zip(table.user.tolist(), table.item.tolist(), table.timestamp.tolist(), strict=True)
    ):
        rows.setdefault(table.users.strings[u], []).append((t, n, table.items.strings[i]))
    users = sorted(rows, key=table.users.get)
    eligible = [u for u in users if len(rows[u]) >= 2]
    shuffled = np.random.default_rng(0).permutation(len(eligible)).tolist()
    test = {eligible[j] for j in shuffled[: max(1, round(0.1 * len(eligible)))]}
    train_items = [item for u in users if u not in test for _, _, item in rows[u]]
    tests = []
    for u in sorted(test, key=table.users.get):
        ordered = [item for _, _, item in sorted(rows[u])]
        k = max(1, math.floor(0.1 * len(ordered)))
        tests.append((u, ordered[:-k], ordered[-k:]))
    return train_items, tests, [table.items.strings[i] for i in range(len(table.items))]


def test_popularity_metrics_match_an_independent_computation(env: Env) -> None:
    dg = env.trainable_group()
    version = env.version(env.solution(dg, recipe="aws-popularity-count", performAutoTraining=False))
    got = env.client.get_solution_metrics(solutionVersionArn=version)["metrics"]
    train_items, tests, catalogue = _plain_split(env, dg)
    counts = Counter(train_items)
    top = sorted(counts, key=lambda i: (-counts[i], catalogue.index(i)))[:25]
    expected: dict[str, float] = {}
    for _, _, truth in tests:
        relevant = set(truth)
        first_hit = next((p for p, i in enumerate(top, 1) if i in relevant), None)
        values = {"mean_reciprocal_rank_at_25": 1 / first_hit if first_hit else 0.0}
        for k in (5, 10, 25):
            hits = [p for p, i in enumerate(top[:k], 1) if i in relevant]
            ideal = sum(1 / math.log(1 + p) for p in range(1, min(len(relevant), k) + 1))
            values[f"precision_at_{k}"] = len(hits) / k
            values[f"normalized_discounted_cumulative_gain_at_{k}"] = (
                sum(1 / math.log(1 + p) for p in hits) / ideal
            )
        for key, value in values.items():
            expected[key] = expected.get(key, 0.0) + value / len(tests)
    expected["coverage"] = len(top) / len(set(catalogue))
    assert got == pytest.approx({k: round(v, 4) for k, v in expected.items()}, abs=1e-9)


def test_ndcg_matches_the_documented_example() -> None:
    # hits at ranks 2 and 5 of two relevant items: (1/log 3 + 1/log 6) / (1/log 2 + 1/log 3) = 0.6241
    recommended = ["a", "hit1", "c", "d", "hit2"]
    metrics = ranking_metrics(recommended, {"hit1", "hit2"})
    assert round(metrics["normalized_discounted_cumulative_gain_at_5"], 4) == 0.6241
    assert metrics["precision_at_5"] == 0.4 and metrics["mean_reciprocal_rank_at_25"] == 0.5


def test_hpo_searches_the_ranges_and_reports_the_winner(env: Env) -> None:
    dg = env.trainable_group()
    ranges: dict[str, Any] = {
        "integerHyperParameterRanges": [{"name": "min_cointeraction_count", "minValue": 0, "maxValue": 4}],
        "continuousHyperParameterRanges": [
            {"name": "popularity_discount_factor", "minValue": 0.0, "maxValue": 1.0}
        ],
    }
    hpo = {"algorithmHyperParameterRanges": ranges, "hpoResourceConfig": {"maxNumberOfTrainingJobs": "4"}}
    sol = env.solution(
        dg, recipe="aws-sims", performHPO=True, performAutoTraining=False, solutionConfig={"hpoConfig": hpo}
    )
    version = env.version(sol)
    described = env.client.describe_solution_version(solutionVersionArn=version)["solutionVersion"]
    tuned = described["tunedHPOParams"]["algorithmHyperParameters"]
    candidates = hpo_candidates(TrainingConfig("aws-sims"), hpo)
    assert len(candidates) == 4
    winner = {k: tuned[k] for k in ("min_cointeraction_count", "popularity_discount_factor")}
    assert winner in candidates
    table = env.emulator.data.interactions(dg)
    assert table is not None
    scores = [
        offline_metrics(table, TrainingConfig("aws-sims", dict(c)))["precision_at_25"] for c in candidates
    ]
    assert offline_metrics(table, TrainingConfig("aws-sims", winner))["precision_at_25"] == max(scores)
    metrics = env.client.get_solution_metrics(solutionVersionArn=version)["metrics"]
    assert metrics["precision_at_25"] == max(scores)


def test_next_best_action_scores_take_rates_once_there_is_enough_data() -> None:
    from reconciler.emulator.data import TableBuilder

    events = TableBuilder("ACTION_INTERACTIONS", ["USER_ID", "ACTION_ID", "TIMESTAMP", "EVENT_TYPE"])
    for k in range(200):
        # a1: taken 60 of 120 shows; a2: taken 90 of 150 (higher rate); a3: only 10 events (unscored)
        for action, taken, shown in (("a1", 60, 120), ("a2", 90, 150), ("a3", 5, 10)):
            if k < shown:
                events.add(
                    {
                        "USER_ID": f"u{k}",
                        "ACTION_ID": action,
                        "TIMESTAMP": str(1_700_000_000 + k),
                        "EVENT_TYPE": "Taken" if k < taken else "NOT_TAKEN",
                    }
                )
    actions = TableBuilder("ACTIONS", ["ACTION_ID", "VALUE", "EXPIRATION_TIMESTAMP"])
    actions.add({"ACTION_ID": "a3", "VALUE": "5"})
    actions.add({"ACTION_ID": "a4", "VALUE": "9"})
    actions.add({"ACTION_ID": "old", "VALUE": "100", "EXPIRATION_TIMESTAMP": "1600000000"})
    model = train(events.build(), TrainingConfig("aws-next-best-action"), actions.build())
    assert model.recommend("u1", None, 10) == [("a2", 0.6), ("a1", 0.5), ("a4", 0.0), ("a3", 0.0)]


def test_exploration_brings_young_cold_items_and_honours_the_age_cutoff(planted: Planted) -> None:
    from reconciler.emulator.data import TableBuilder

    newest = int(planted.table.timestamp.max())
    items = TableBuilder("ITEMS", ["ITEM_ID", "CREATION_TIMESTAMP"])
    items.add({"ITEM_ID": "fresh", "CREATION_TIMESTAMP": str(newest - 86_400)})  # 1 day old, no events
    items.add({"ITEM_ID": "stale", "CREATION_TIMESTAMP": str(newest - 90 * 86_400)})  # 90 days old
    model = train(planted.table, TrainingConfig("aws-user-personalization"), items.build())
    assert {"fresh", "stale"} <= set(model.cold_items)
    plain = [i for i, _ in model.recommend("u7", None, 10)]
    assert not {"fresh", "stale"} & set(plain)
    explored = [i for i, _ in model.recommend("u7", None, 10, exploration={"explorationWeight": "0.3"})]
    assert "fresh" in explored and "stale" not in explored and len(explored) == 10
    wide = {"explorationWeight": "1.0", "explorationItemAgeCutOff": "365"}
    assert "stale" in [i for i, _ in model.recommend("u7", None, 10, exploration=wide)]
    assert model.recommend("u7", None, 10, exploration={"explorationWeight": "0.0"}) == model.recommend(
        "u7", None, 10
    )


def test_semantic_similarity_without_interactions_uses_item_metadata() -> None:
    from reconciler.emulator.data import TableBuilder
    from reconciler.emulator.models import ModelStore

    items = TableBuilder("ITEMS", ["ITEM_ID", "GENRE", "STUDIO"])
    for item, genre, studio in (
        ("a", "horror", "x"),
        ("b", "horror", "x"),
        ("c", "horror", "y"),
        ("d", "comedy", "y"),
    ):
        items.add({"ITEM_ID": item, "GENRE": genre, "STUDIO": studio})
    store = ModelStore()
    result = store.train("arn:sv", TrainingConfig("aws-semantic-similarity"), None, items.build())
    assert result.model is not None and result.metrics == {}
    assert [i for i, _ in result.model.recommend(None, "a", 3)] == ["b", "c", "d"]


@pytest.mark.parametrize("recipe", sorted(FAMILIES))
def test_every_recipe_answers_the_model_protocol(planted: Planted, recipe: str) -> None:
    model = train(planted.table, TrainingConfig(recipe))
    assert (
        model is not None and model.family == FAMILIES[recipe][0] and model.trained_rows == len(planted.table)
    )
    answer = model.recommend(
        "u1", "i1", 5, exclude={"i2"}, candidate_filter=lambda i: i != "i3", history=["i4"], exploration={}
    )
    assert all(isinstance(i, str) and isinstance(s, float) for i, s in answer)
    assert not {"i2", "i3"} & {i for i, _ in answer}
    if model.family != "actions":  # planted data has no TAKEN / NOT_TAKEN events
        assert len(answer) == 5
    ranked = model.rank("u1", ["i5", "i6", "nope"], history=["i4"])
    assert sorted(i for i, _ in ranked) == ["i5", "i6", "nope"] and ranked[-1] == ("nope", 0.0)
    segment = model.segment(["i5"], 3)
    assert len(segment) == (3 if model.family in ("affinity", "mf", "domain") else 0)
