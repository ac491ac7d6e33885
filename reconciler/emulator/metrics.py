"""Deterministic offline metrics: a hash of the solution configuration, the data statistics and the version's
sequence within its solution picks plausible values (same inputs -> same numbers on every run)."""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

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


def _uniforms(material: Any, count: int) -> list[float]:
    digest = hashlib.sha256(json.dumps(material, sort_keys=True, default=str).encode()).digest()
    return [int.from_bytes(digest[2 * i : 2 * i + 2], "big") / 65536.0 for i in range(count)]


def data_quality(rows: int, users: int) -> float:
    """0..1: grows with the amount of data (more interactions and users -> better offline metrics)."""
    if rows <= 0 or users <= 0:
        return 0.0
    return min(1.0, 0.5 * math.log10(rows) / 7 + 0.5 * math.log10(users) / 5)


def solution_metrics(material: Any, rows: int, users: int, *, with_rewards: bool = False) -> dict[str, float]:
    u = _uniforms(material, 9)
    q = data_quality(rows, users)
    lift = 0.5 + 0.5 * q
    p5 = (0.02 + 0.12 * u[1]) * lift
    p10 = p5 * (0.75 + 0.15 * u[2])
    p25 = p10 * (0.6 + 0.2 * u[3])
    n5 = (0.05 + 0.25 * u[4]) * lift
    n10 = min(1.0, n5 * (1.05 + 0.1 * u[5]))
    n25 = min(1.0, n10 * (1.05 + 0.1 * u[6]))
    out = {
        "coverage": 0.1 + 0.6 * u[0],
        "mean_reciprocal_rank_at_25": (0.05 + 0.3 * u[7]) * lift,
        "normalized_discounted_cumulative_gain_at_5": n5,
        "normalized_discounted_cumulative_gain_at_10": n10,
        "normalized_discounted_cumulative_gain_at_25": n25,
        "precision_at_5": p5,
        "precision_at_10": p10,
        "precision_at_25": p25,
    }
    if with_rewards:
        out["average_rewards_at_k"] = 0.1 + 0.5 * u[8]
    return {k: round(v, 4) for k, v in out.items()}


def training_hours(material: Any, rows: int) -> float:
    """Billed training hours: grows with data; jitter from the hash keeps versions distinct."""
    jitter = _uniforms(material, 1)[0]
    return round(0.5 + rows / 2_000_000 + 0.5 * jitter, 3)
