"""What every model family shares: training input (filtered interactions), ranking with filters, packing."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Self

import numpy as np
import numpy.typing as npt

from ..data import Table, Vocab

FloatArray = npt.NDArray[np.float64]
CandidateFilter = Callable[[str], bool]
Scored = list[tuple[str, float]]


@dataclass
class TrainingConfig:
    """What a solution version (or recommender) trains with. ``hyperparameters`` are strings, as the API
    carries them; ``seed`` makes every random choice (initial factors, the metrics split) reproducible."""

    recipe: str  # recipe name, e.g. "aws-sims"
    hyperparameters: dict[str, str] = field(default_factory=dict)
    event_type: str | None = None  # the solution's eventType: train on this type only
    event_value_threshold: float | None = None  # solutionConfig.eventValueThreshold: keep values >= it
    event_weights: dict[str, float] = field(default_factory=dict)  # eventsConfig.eventParametersList
    event_thresholds: dict[str, float] = field(default_factory=dict)
    seed: int = 0

    def number(self, name: str, default: float) -> float:
        raw = self.hyperparameters.get(name)
        try:
            return float(raw) if raw is not None else default
        except ValueError:
            return default

    def flag(self, name: str, default: bool) -> bool:
        raw = self.hyperparameters.get(name)
        return default if raw is None else raw.strip().lower() == "true"

    @classmethod
    def from_solution(
        cls, recipe: str, solution_config: Mapping[str, Any] | None, event_type: str | None, seed: int = 0
    ) -> TrainingConfig:
        config = dict(solution_config or {})
        params = {str(k): str(v) for k, v in (config.get("featureTransformationParameters") or {}).items()}
        params.update({str(k): str(v) for k, v in (config.get("algorithmHyperParameters") or {}).items()})
        threshold = config.get("eventValueThreshold")
        weights: dict[str, float] = {}
        thresholds: dict[str, float] = {}
        for entry in (config.get("eventsConfig") or {}).get("eventParametersList") or []:
            name = str(entry.get("eventType", ""))
            if entry.get("weight") is not None:
                weights[name] = float(entry["weight"])
            if entry.get("eventValueThreshold") is not None:
                thresholds[name] = float(entry["eventValueThreshold"])
        return cls(
            recipe=recipe,
            hyperparameters=params,
            event_type=event_type or None,
            event_value_threshold=_float(threshold),
            event_weights=weights,
            event_thresholds=thresholds,
            seed=seed,
        )


def _float(value: Any) -> float | None:
    try:
        return None if value in (None, "") else float(value)
    except (TypeError, ValueError):
        return None


def training_rows(
    table: Table, config: TrainingConfig, default_event_types: Sequence[str] = ()
) -> npt.NDArray[np.int64]:
    """Rows of ``table`` a model trains on: eventType / eventValueThreshold / eventsConfig applied (event
    types compare case-insensitively, as the service does). ``default_event_types``: a domain recipe's
    documented event types (used when present in the data)."""
    keep = (table.user >= 0) & (table.item >= 0)
    wanted = (
        [config.event_type] if config.event_type else [t for t in default_event_types if _has_type(table, t)]
    )
    if wanted:
        codes = [
            i for i, s in enumerate(table.event_types.strings) if s.lower() in {w.lower() for w in wanted}
        ]
        keep &= np.isin(table.event_type, codes)
    if config.event_value_threshold is not None:
        keep &= ~(table.event_value < config.event_value_threshold)  # NaN (no value) stays
    for name, threshold in config.event_thresholds.items():
        codes = [i for i, s in enumerate(table.event_types.strings) if s.lower() == name.lower()]
        keep &= ~(np.isin(table.event_type, codes) & (table.event_value < threshold))
    return np.flatnonzero(keep)


def _has_type(table: Table, name: str) -> bool:
    return any(s.lower() == name.lower() for s in table.event_types.strings)


def row_weights(table: Table, rows: npt.NDArray[np.int64], config: TrainingConfig) -> FloatArray:
    """Per-row weight: eventsConfig weights by event type (1 when not configured)."""
    weights = np.ones(len(rows))
    if config.event_weights:
        by_code = np.ones(len(table.event_types) + 1)
        for i, s in enumerate(table.event_types.strings):
            for name, w in config.event_weights.items():
                if s.lower() == name.lower():
                    by_code[i] = w
        codes = table.event_type[rows].astype(np.int64)
        weights = by_code[np.where(codes < 0, len(table.event_types), codes)]
    return weights


def top_n(
    scores: FloatArray,
    ids: Sequence[str],
    n: int,
    exclude: Iterable[str] = (),
    candidate_filter: CandidateFilter | None = None,
    eligible: npt.NDArray[np.bool_] | None = None,
) -> Scored:
    """The ``n`` best ``(id, score)`` by descending score (ties: lower index first), skipping ``exclude``,
    ids ``candidate_filter`` rejects and indices where ``eligible`` is False. The filter is called lazily,
    only until ``n`` ids are found."""
    if n <= 0:
        return []
    excluded = set(exclude)
    order = np.argsort(-scores, kind="stable")
    if eligible is not None:
        order = order[eligible[order]]
    out: Scored = []
    for index in order.tolist():
        item = ids[index]
        if item in excluded or (candidate_filter is not None and not candidate_filter(item)):
            continue
        out.append((item, float(scores[index])))
        if len(out) >= n:
            break
    return out


def rank_by(scores: FloatArray, ids: Sequence[str], item_ids: Sequence[str]) -> Scored:
    """``item_ids`` by descending score (ties keep the input order); ids the model never saw go last, 0.0."""
    index = {item: i for i, item in enumerate(ids)}
    known = sorted(
        ((item, float(scores[index[item]])) for item in item_ids if item in index), key=lambda pair: -pair[1]
    )
    return known + [(item, 0.0) for item in item_ids if item not in index]


def softmax(values: FloatArray) -> FloatArray:
    if not len(values):
        return values
    shifted = np.exp(values - values.max())
    total = float(shifted.sum())
    return shifted / total if total > 0 else np.full(len(values), 1.0 / len(values))


def vocab_list(vocab: Vocab) -> list[str]:
    return list(vocab.strings)


def is_finite(value: float) -> bool:
    return not (math.isnan(value) or math.isinf(value))


class ItemScoresModel:
    """A model that is one score per item, the same for every user (popularity, trending).

    Subclasses compute the scores in `from_rows`; recommending, ranking, saving and restoring are shared.
    `eligible` says which items may be recommended (all by default)."""

    family = ""
    scored = False

    def __init__(self, item_ids: Sequence[str], scores: FloatArray) -> None:
        self.item_ids = list(item_ids)
        self.scores = np.asarray(scores, np.float64)

    def eligible(self) -> npt.NDArray[np.bool_] | None:
        return None

    def recommend(
        self,
        user_id: str | None,
        item_id: str | None,
        n: int,
        exclude: Iterable[str] = (),
        candidate_filter: CandidateFilter | None = None,
        **_: Any,
    ) -> Scored:
        return top_n(self.scores, self.item_ids, n, exclude, candidate_filter, self.eligible())

    def rank(self, user_id: str | None, item_ids: Sequence[str], **_: Any) -> Scored:
        return rank_by(self.scores, self.item_ids, item_ids)

    def segment(
        self, item_ids: Sequence[str], n: int, candidate_filter: CandidateFilter | None = None
    ) -> Scored:
        return []

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray[Any, Any]], dict[str, list[str]]]:
        return {}, {"scores": self.scores}, {"items": self.item_ids}

    @classmethod
    def restore(
        cls, meta: dict[str, Any], arrays: dict[str, np.ndarray[Any, Any]], strings: dict[str, list[str]]
    ) -> Self:
        return cls(strings["items"], arrays["scores"])
