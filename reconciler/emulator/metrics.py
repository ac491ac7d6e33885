"""Metric keys and billed training hours. The offline metrics themselves are computed from the data by the
trained models (``reconciler.emulator.models.evaluation``)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

#: The keys every recipe except user segmentation reports (the documented offline metrics).
METRIC_KEYS = (
    "coverage",
    "mean_reciprocal_rank_at_25",
    "normalized_discounted_cumulative_gain_at_5",
    "normalized_discounted_cumulative_gain_at_10",
    "normalized_discounted_cumulative_gain_at_25",
    "precision_at_5",
    "precision_at_10",
    "precision_at_25",
)


def training_hours(material: Any, rows: int) -> float:
    """Billed training hours: grows with data; a small jitter from a hash keeps versions distinct."""
    digest = hashlib.sha256(json.dumps(material, sort_keys=True, default=str).encode()).digest()
    jitter = int.from_bytes(digest[:2], "big") / 65536.0
    return round(0.5 + rows / 2_000_000 + 0.5 * jitter, 3)
