"""Offline metrics computed the way the Personalize developer guide documents them.

Split ("Evaluating a solution version"): the users with at least two training interactions are shuffled with
``numpy.random.default_rng(seed)``; 10 % of them (at least one) are test users, the others train the model.
For a test user, interactions are ordered by timestamp (ties keep file order): the newest 10 % (at least one)
are the ground truth, the older 90 % the query. The query reaches the model as the user's history (the
user-personalization family folds it in; related-items recipes are asked about the newest query item;
popularity and trending answer the same list for everyone). Nothing is excluded from the 25 recommendations.

Per test user, with relevant = the distinct truth items and rank 1 = the top:

* ``precision_at_K`` = relevant items in the top K / K;
* ``mean_reciprocal_rank_at_25`` = 1 / rank of the first relevant item in the top 25 (0 without one);
* ``normalized_discounted_cumulative_gain_at_K`` = sum over hits of 1/log(1 + rank), divided by the same sum
  for min(|relevant|, K) hits at the top;
* ``coverage`` = distinct items recommended over all test users / distinct items in the Interactions and
  Items datasets.

Every metric is the mean over test users, rounded to 4 decimals. With ``eventsConfig`` weights,
``normalized_discounted_cumulative_gain_with_event_weights_at_25`` weighs each hit by the largest weight among
its truth events (weights rescaled to mean 1). User-segmentation recipes use the documented 80/20 split of
each user's interactions and report ``hit`` / ``recall`` at 1 % (the users predicted for each
test item among the top 1 % of users, compared with the users who interacted with it in the test part).
Not computed (keys absent): trend prediction accuracy (Trending-Now), average_rewards_at_k, and the
Next-Best-Action metrics.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from ..data import Table
from .base import TrainingConfig, training_rows

TEST_SHARE = 0.1
TRUTH_SHARE = 0.1
KS = (5, 10, 25)


def split(
    table: Table, rows: npt.NDArray[np.int64], seed: int
) -> tuple[npt.NDArray[np.int64], list[tuple[int, list[int], list[int]]]]:
    """(training rows, [(user code, query rows oldest first, truth rows)]) for the documented split."""
    users = table.user[rows]
    order = np.lexsort((np.arange(len(rows)), table.timestamp[rows], users))
    ordered = rows[order]
    ordered_users = users[order]
    starts = np.flatnonzero(np.r_[True, ordered_users[1:] != ordered_users[:-1]])
    ends = np.r_[starts[1:], len(ordered)]
    eligible = [k for k in range(len(starts)) if ends[k] - starts[k] >= 2]
    rng = np.random.default_rng(seed)
    shuffled = rng.permutation(len(eligible))
    n_test = max(1, round(TEST_SHARE * len(eligible))) if eligible else 0
    test_groups = sorted(eligible[j] for j in shuffled[:n_test].tolist())
    test_mask = np.zeros(len(ordered), bool)
    tests: list[tuple[int, list[int], list[int]]] = []
    for k in test_groups:
        start, end = int(starts[k]), int(ends[k])
        test_mask[start:end] = True
        n_truth = max(1, math.floor(TRUTH_SHARE * (end - start)))
        group = ordered[start:end].tolist()
        tests.append(
            (int(ordered_users[start]), group[: len(group) - n_truth], group[len(group) - n_truth :])
        )
    return np.sort(ordered[~test_mask]), tests


def ranking_metrics(recommended: list[str], relevant: set[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    rr = 0.0
    for position, item in enumerate(recommended[:25], start=1):
        if item in relevant:
            rr = 1.0 / position
            break
    out["mean_reciprocal_rank_at_25"] = rr
    for k in KS:
        top = recommended[:k]
        hits = [p for p, item in enumerate(top, start=1) if item in relevant]
        out[f"precision_at_{k}"] = len(hits) / k
        ideal = sum(1.0 / math.log(1 + p) for p in range(1, min(len(relevant), k) + 1))
        out[f"normalized_discounted_cumulative_gain_at_{k}"] = (
            sum(1.0 / math.log(1 + p) for p in hits) / ideal if ideal else 0.0
        )
    return out


def evaluate(
    table: Table,
    config: TrainingConfig,
    fit: Any,
    default_event_types: tuple[str, ...] = (),
    items: Table | None = None,
) -> dict[str, float]:
    """Offline metrics of the model ``fit(table, training_rows, config, items)`` builds (see module doc)."""
    rows = training_rows(table, config, default_event_types)
    train_rows, tests = split(table, rows, config.seed)
    if not tests:
        return {}
    model = fit(table, train_rows, config, items)
    family = getattr(model, "family", "")
    weights = _event_weights(config, table)
    totals: dict[str, float] = {}
    recommended_items: set[str] = set()
    weighted_ndcg = 0.0
    for user_code, query_rows, truth_rows in tests:
        user_id = table.users.strings[user_code]
        history = [table.items.strings[i] for i in table.item[query_rows].tolist()]
        if family == "cooccurrence":
            answer = model.recommend(None, history[-1] if history else None, 25)
        else:
            answer = model.recommend(user_id, None, 25, history=history)
        recommended = [item for item, _ in answer]
        recommended_items.update(recommended)
        truth_items = [table.items.strings[i] for i in table.item[truth_rows].tolist()]
        for key, value in ranking_metrics(recommended, set(truth_items)).items():
            totals[key] = totals.get(key, 0.0) + value
        if weights is not None:
            best: dict[str, float] = {}
            for item, etype in zip(truth_items, table.event_type[truth_rows].tolist(), strict=True):
                best[item] = max(best.get(item, 0.0), float(weights[etype]) if etype >= 0 else 1.0)
            gains = [
                best[item] / math.log(1 + p) for p, item in enumerate(recommended[:25], 1) if item in best
            ]
            ideal_gains = sorted(best.values(), reverse=True)[:25]
            ideal = sum(g / math.log(1 + p) for p, g in enumerate(ideal_gains, 1))
            weighted_ndcg += sum(gains) / ideal if ideal else 0.0
    n = len(tests)
    out = {key: value / n for key, value in totals.items()}
    catalogue = set(table.items.strings[i] for i in np.unique(table.item[table.item >= 0]).tolist())
    if items is not None:
        catalogue |= set(items.record_ids())
    out["coverage"] = len(recommended_items) / len(catalogue) if catalogue else 0.0
    if weights is not None:
        out["normalized_discounted_cumulative_gain_with_event_weights_at_25"] = weighted_ndcg / n
    return {key: round(value, 4) for key, value in sorted(out.items())}


def _event_weights(config: TrainingConfig, table: Table) -> npt.NDArray[np.float64] | None:
    if not config.event_weights:
        return None
    raw = np.ones(len(table.event_types))
    for i, name in enumerate(table.event_types.strings):
        for wanted, weight in config.event_weights.items():
            if name.lower() == wanted.lower():
                raw[i] = weight
    mean = float(np.mean(list(config.event_weights.values()))) or 1.0
    return raw / mean


def evaluate_segments(table: Table, config: TrainingConfig, fit: Any) -> dict[str, float]:
    """USER_SEGMENTATION: 80 % of each user's interactions (oldest) train, 20 % test."""
    rows = training_rows(table, config)
    users = table.user[rows]
    order = np.lexsort((np.arange(len(rows)), table.timestamp[rows], users))
    ordered, ordered_users = rows[order], users[order]
    starts = np.flatnonzero(np.r_[True, ordered_users[1:] != ordered_users[:-1]])
    ends = np.r_[starts[1:], len(ordered)]
    test = np.zeros(len(ordered), bool)
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        n_test = math.floor(0.2 * (end - start))
        if n_test:
            test[end - n_test : end] = True
    model = fit(table, np.sort(ordered[~test]), config, None)
    test_rows = ordered[test]
    if not len(test_rows):
        return {}
    k = max(1, round(0.01 * len(np.unique(users))))
    actual: dict[int, set[str]] = {}
    for item, user in zip(table.item[test_rows].tolist(), table.user[test_rows].tolist(), strict=True):
        actual.setdefault(item, set()).add(table.users.strings[user])
    hits = recall = 0.0
    for item, wanted in sorted(actual.items()):
        predicted = {u for u, _ in model.segment([table.items.strings[item]], k)}
        found = len(predicted & wanted)
        hits += 1.0 if found else 0.0
        recall += found / min(len(wanted), k)
    n = len(actual)
    return {"hit": round(hits / n, 4), "recall": round(recall / n, 4)}
