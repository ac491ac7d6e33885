"""Popularity-Count (and the domain "most popular" / "best sellers" use cases): events per item.

As documented, Popularity-Count ranks items by the count of events in the (event-type / value filtered)
interactions; eventsConfig weights multiply each event. Ties go to the item seen first in the data, so the
ranking is deterministic. Every user gets the same list (scores, an item's share of all counted events, are
not shown by the runtime API for this recipe)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ..data import Table
from .base import ItemScoresModel, TrainingConfig, row_weights, training_rows


class PopularityModel(ItemScoresModel):
    family = "popularity"
    trained_rows = 0
    trained_puts = 0
    scored = False  # the API shows no scores for Popularity-Count / domain popular-items recommenders

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

    def eligible(self) -> npt.NDArray[np.bool_]:
        return self.scores > 0  # an item nobody interacted with is never "popular"
