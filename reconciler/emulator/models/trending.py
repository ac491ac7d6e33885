"""Trending-Now (custom recipe and the VOD "trending now" use case): items gaining popularity fastest.

Each event counts ``0.5 ** (age / half_life)`` where the age is measured from the newest training event and
the half-life is the trend discovery frequency (``trend_discovery_frequency`` / the documented 30 min, 1 h,
3 h (default) or 1 day), stretched to a twentieth of the data's time span when that is longer (otherwise data
older than a few days would all weigh zero). An item's trend is its recency-weighted count minus what its
share of all-time events predicts: items whose recent activity outgrows their history rank first. Everyone
gets the same list; no scores are shown."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ..data import Table
from .base import ItemScoresModel, TrainingConfig, row_weights, training_rows

_UNITS = {"min": 60.0, "h": 3600.0, "hour": 3600.0, "d": 86_400.0, "day": 86_400.0}


def frequency_seconds(text: str | None) -> float:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(min|h|hour|d|day)s?\s*", (text or "3h").lower())
    return float(match.group(1)) * _UNITS[match.group(2)] if match else 3 * 3600.0


class TrendingModel(ItemScoresModel):
    family = "trending"
    scored = False
    trained_rows = 0
    trained_puts = 0

    @classmethod
    def train(
        cls, table: Table, config: TrainingConfig, default_event_types: Sequence[str] = (), **_: Any
    ) -> TrendingModel:
        return cls.from_rows(table, training_rows(table, config, default_event_types), config)

    @classmethod
    def from_rows(cls, table: Table, rows: npt.NDArray[np.int64], config: TrainingConfig) -> TrendingModel:
        n_items = len(table.items)
        if not len(rows):
            return cls(table.items.strings[:n_items], np.zeros(n_items))
        ts = table.timestamp[rows].astype(np.float64)
        span = float(ts.max() - ts.min())
        half_life = max(
            frequency_seconds(config.hyperparameters.get("trend_discovery_frequency")), span / 20.0
        )
        weights = row_weights(table, rows, config)
        recent = weights * np.power(0.5, (ts.max() - ts) / half_life)
        items = table.item[rows]
        recent_counts = np.bincount(items, weights=recent, minlength=n_items)
        all_counts = np.bincount(items, weights=weights, minlength=n_items)
        expected = all_counts / max(all_counts.sum(), 1e-12) * recent_counts.sum()
        # growth first; a tiny popularity term orders items without growth deterministically
        score = recent_counts - expected + 1e-9 * all_counts
        return cls(table.items.strings[:n_items], score)
