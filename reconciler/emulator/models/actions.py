"""Next-Best-Action (aws-next-best-action): each action's propensity to be taken.

The documented scoring, without the service's per-user model (a documented stand-in): over the action
interactions of the last six weeks before the newest one, an action's score is TAKEN / (TAKEN + NOT_TAKEN +
VIEWED) once it has at least ``MIN_EVENTS`` TAKEN and ``MIN_EVENTS`` NOT_TAKEN/VIEWED events, else 0.0 (the
developer guide: unscored until then). Ties go to the higher ``VALUE`` of the Actions dataset, then to the
order actions first appeared. Actions whose ``EXPIRATION_TIMESTAMP`` is before the newest interaction never
appear. Every user gets the same ranking (``REPEAT_FREQUENCY`` is not applied); event types compare
case-insensitively (``Taken``, ``NOT_TAKEN``, ``Not Taken`` ...)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from ..data import Table
from .base import CandidateFilter, FloatArray, Scored, TrainingConfig, rank_by, top_n

MIN_EVENTS = 50
WINDOW = 42 * 86_400


def _kind(name: str) -> str:
    key = name.replace(" ", "_").upper()
    return {"TAKEN": "taken", "NOT_TAKEN": "other", "VIEWED": "other"}.get(key, "")


class ActionModel:
    family = "actions"
    scored = True
    trained_rows = 0
    trained_puts = 0

    def __init__(self, action_ids: Sequence[str], scores: FloatArray, order: FloatArray) -> None:
        self.item_ids = list(action_ids)
        self.scores = np.asarray(scores, np.float64)
        self.order = np.asarray(order, np.float64)  # tie-break key (value), higher first

    @classmethod
    def train(
        cls,
        table: Table,
        config: TrainingConfig,
        default_event_types: Sequence[str] = (),
        items: Table | None = None,
        **_: Any,
    ) -> ActionModel:
        rows = np.flatnonzero(table.item >= 0)
        return cls.from_rows(table, rows, config, items)

    @classmethod
    def from_rows(
        cls, table: Table, rows: Any, config: TrainingConfig, items: Table | None = None
    ) -> ActionModel:
        newest = int(table.timestamp[rows].max()) if len(rows) else 0
        recent = rows[table.timestamp[rows] >= newest - WINDOW]
        kinds = np.asarray([_kind(s) for s in table.event_types.strings] + [""])
        event_kind = kinds[np.where(table.event_type[recent] < 0, len(kinds) - 1, table.event_type[recent])]
        n = len(table.items)
        taken = np.bincount(table.item[recent][event_kind == "taken"], minlength=n).astype(np.float64)
        other = np.bincount(table.item[recent][event_kind == "other"], minlength=n).astype(np.float64)
        ids = list(table.items.strings[:n])
        values = np.zeros(n)
        expired = np.zeros(n, bool)
        if items is not None:
            for row in items.latest_rows().tolist():
                action = items.ids.strings[items.id_codes[row]]
                if action not in table.items:
                    ids.append(action)
                    taken, other = np.append(taken, 0.0), np.append(other, 0.0)
                    values, expired = np.append(values, 0.0), np.append(expired, False)
                index = ids.index(action) if action not in table.items else table.items.get(action)
                values[index] = _number(items.cell(row, "VALUE"), 0.0)
                expires = _number(items.cell(row, "EXPIRATION_TIMESTAMP"), math.inf)
                expired[index] = newest > 0 and expires < newest
        enough = (taken >= MIN_EVENTS) & (other >= MIN_EVENTS)
        scores = np.where(enough, taken / np.maximum(taken + other, 1.0), 0.0)
        scores[expired] = -1.0  # never recommended
        return cls(ids, scores, values)

    def recommend(
        self,
        user_id: str | None,
        item_id: str | None,
        n: int,
        exclude: Iterable[str] = (),
        candidate_filter: CandidateFilter | None = None,
        **_: Any,
    ) -> Scored:
        # rank by score, then value, then first appearance; report the score itself
        key = self.scores + 1e-9 * (self.order / (np.abs(self.order).max() + 1.0) + 1.0)
        ranked = top_n(key, self.item_ids, n, exclude, candidate_filter, self.scores >= 0)
        index = {a: i for i, a in enumerate(self.item_ids)}
        return [(a, round(float(self.scores[index[a]]), 6)) for a, _ in ranked]

    def rank(self, user_id: str | None, item_ids: Sequence[str], **_: Any) -> Scored:
        return rank_by(np.maximum(self.scores, 0.0), self.item_ids, item_ids)

    def segment(
        self, item_ids: Sequence[str], n: int, candidate_filter: CandidateFilter | None = None
    ) -> Scored:
        return []

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray[Any, Any]], dict[str, list[str]]]:
        arrays: dict[str, np.ndarray[Any, Any]] = {"scores": self.scores, "order": self.order}
        return {}, arrays, {"actions": self.item_ids}

    @classmethod
    def restore(
        cls, meta: dict[str, Any], arrays: dict[str, np.ndarray[Any, Any]], strings: dict[str, list[str]]
    ) -> ActionModel:
        return cls(strings["actions"], arrays["scores"], arrays["order"])


def _number(text: str | None, default: float) -> float:
    try:
        return default if text is None or text == "" else float(text)
    except ValueError:
        return default
