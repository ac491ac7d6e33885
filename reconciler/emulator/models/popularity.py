"""Popularity-Count (and the domain "most popular" / "best sellers" use cases): events per item.

As documented, Popularity-Count ranks items by the count of events in the (event-type / value filtered)
interactions; eventsConfig weights multiply each event. Ties go to the item seen first in the data, so the
ranking is deterministic. Every user gets the same list (scores, an item's share of all counted events, are
not shown by the runtime API for this recipe)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ..data import Table
from .base import (
    CandidateFilter,
    FloatArray,
    Scored,
    TrainingConfig,
    rank_by,
    row_weights,
    top_n,
    training_rows,
)


class PopularityModel:
    family = "popularity"
    scored = False  # the API shows no scores for Popularity-Count / domain popular-items recommenders

    def __init__(self, item_ids: Sequence[str], scores: FloatArray, users: Sequence[str] = ()) -> None:
        self.item_ids = list(item_ids)
        self.scores = np.asarray(scores, np.float64)
        self.users = set(users)

    @classmethod
    def train(
        cls, table: Table, config: TrainingConfig, default_event_types: Sequence[str] = (), **_: Any
    ) -> PopularityModel:
        rows = training_rows(table, config, default_event_types)
        return cls.from_rows(table, rows, config)

    @classmethod
    def from_rows(cls, table: Table, rows: npt.NDArray[np.int64], config: TrainingConfig) -> PopularityModel:
        n_items = len(table.items)
        items = table.item[rows].astype(np.int64)
        events = np.bincount(items, weights=row_weights(table, rows, config), minlength=n_items)
        total = float(events.sum()) or 1.0
        return cls(list(table.items.strings[:n_items]), events / total)

    def recommend(
        self,
        user_id: str | None,
        item_id: str | None,
        n: int,
        exclude: Iterable[str] = (),
        candidate_filter: CandidateFilter | None = None,
        **_: Any,
    ) -> Scored:
        return top_n(self.scores, self.item_ids, n, exclude, candidate_filter, self.scores > 0)

    def rank(self, user_id: str | None, item_ids: Sequence[str], **_: Any) -> Scored:
        return rank_by(self.scores, self.item_ids, item_ids)

    def segment(self, item_ids: Sequence[str], n: int) -> Scored:
        return []

    # ---- persistence ----------------------------------------------------------------------------------
    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray[Any, Any]], dict[str, list[str]]]:
        return {}, {"scores": self.scores}, {"items": self.item_ids}

    @classmethod
    def restore(
        cls, meta: dict[str, Any], arrays: dict[str, np.ndarray[Any, Any]], strings: dict[str, list[str]]
    ) -> PopularityModel:
        return cls(strings["items"], arrays["scores"])
