"""Small real models behind the emulator's solution versions and recommenders (one family per recipe).

The interface the runtime API, batch jobs and metrics code against
-------------------------------------------------------------------

``Model`` (a Protocol) — every trained model answers with ``(id, score)`` lists, best first:

* ``recommend(user_id, item_id, n, exclude=(), candidate_filter=None, *, history=(), exploration=None)``:
  GetRecommendations / batch inference. ``user_id`` for user recipes (an unknown user gets the cold-start
  list), ``item_id`` for related-item recipes (an unknown item gets popular items). ``exclude``: ids never
  returned. ``candidate_filter(item_id) -> bool``: called lazily in score order, only until ``n`` items pass
  (apply filter expressions here). ``history``: item ids the user interacted with *after* training (PutEvents
  rows beyond the ``trained_puts`` the snapshot held, see ``realtime_history``; rows of later bulk imports
  never count); the user-personalization family folds them into the
  user's vector at once, the others ignore them, as the service does. ``exploration``: the campaign's
  ``itemExplorationConfig`` (``explorationWeight``, ``explorationItemAgeCutOff``), used by that family.
* ``rank(user_id, item_ids, *, history=())``: GetPersonalizedRanking; every input item, best first; items the
  model never saw get score 0.0 and go last.
* ``segment(item_ids, n, candidate_filter)``: batch segment jobs; users most likely to interact with any of
  the items (users the job's UserID filter rejects are skipped before truncation).
* attributes: ``family`` (see ``FAMILIES``), ``scored`` (whether the API shows scores for this recipe),
  ``trained_rows`` (interaction rows of the snapshot it was trained on) and ``trained_puts`` (how many of them
  came from the events API: PUT rows keep their order across imports, so the ones beyond it are "new").

Getting the model of a resource: ``emulator.models.for_version(solution_version_arn)`` or
``emulator.models.for_recommender(recommender_arn)`` (``None`` until training finished or when it failed).
A campaign serves ``for_version(campaign["solutionVersionArn"])``. The data behind it:
``emulator.data`` (a ``reconciler.emulator.data.DataStore``).

Families (``family_of(recipe_name)``):

* ``popularity`` (``popularity.py``): aws-popularity-count; domain most-popular / popular-by-views /
  popular-by-purchases.
* ``trending`` (``trending.py``): aws-trending-now, aws-vod-trending-now.
* ``cooccurrence`` (``cooccurrence.py``): aws-sims; customers-who-viewed-x, because-you-watched-x,
  frequently-bought-together; documented stand-in for aws-similar-items, aws-vod-more-like-x and
  aws-semantic-similarity.
* ``mf`` (``mf.py``, implicit ALS): aws-user-personalization(-v2), aws-personalized-ranking(-v2),
  aws-ecomm-recommended-for-you, aws-vod-top-picks; ``affinity``: the same model answering ``segment`` for
  aws-item-affinity and aws-item-attribute-affinity.
* ``actions`` (``actions.py``): aws-next-best-action (trained on the Action interactions dataset, with the
  Actions dataset as ``items``; a documented stand-in: global propensities). No offline metrics.

Hyperparameters that change them: ``hidden_dimension`` (factors = hidden_dimension / 4, in [4, 64]),
``recency_mask`` / ``apply_recency_bias``, SIMS ``popularity_discount_factor`` and
``min_cointeraction_count``, ``trend_discovery_frequency``, and the solution's ``eventType``,
``solutionConfig.eventValueThreshold`` and ``eventsConfig`` (see ``base.training_rows``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ..data import Table, TableBuilder, atomic_savez, pack_strings, unpack_strings
from .actions import ActionModel
from .base import CandidateFilter, FloatArray, Scored, TrainingConfig
from .cooccurrence import CooccurrenceModel
from .evaluation import evaluate, evaluate_segments
from .mf import FactorModel, context_lift
from .popularity import PopularityModel
from .trending import TrendingModel

__all__ = [
    "FAMILIES",
    "CandidateFilter",
    "Model",
    "ModelStore",
    "Scored",
    "TrainingConfig",
    "context_weights",
    "family_of",
    "hpo_candidates",
    "offline_metrics",
    "realtime_history",
    "train",
    "training_datasets",
]


class Model(Protocol):
    family: str
    scored: bool
    trained_rows: int
    trained_puts: int

    def recommend(
        self,
        user_id: str | None,
        item_id: str | None,
        n: int,
        exclude: Iterable[str] = (),
        candidate_filter: CandidateFilter | None = None,
        *,
        history: Sequence[str] = (),
        exploration: dict[str, str] | None = None,
    ) -> Scored: ...

    def rank(
        self, user_id: str | None, item_ids: Sequence[str], *, history: Sequence[str] = ()
    ) -> Scored: ...

    def segment(
        self, item_ids: Sequence[str], n: int, candidate_filter: CandidateFilter | None = None
    ) -> Scored: ...


#: recipe name -> (family, documented default event types for domain use cases)
FAMILIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "aws-popularity-count": ("popularity", ()),
    "aws-ecomm-popular-items-by-views": ("popularity", ("View",)),
    "aws-ecomm-popular-items-by-purchases": ("popularity", ("Purchase",)),
    "aws-vod-most-popular": ("popularity", ("Watch",)),
    "aws-trending-now": ("trending", ()),
    "aws-vod-trending-now": ("trending", ("Watch",)),
    "aws-sims": ("cooccurrence", ()),
    "aws-similar-items": ("cooccurrence", ()),
    "aws-semantic-similarity": ("cooccurrence", ()),
    "aws-ecomm-customers-who-viewed-x-also-viewed": ("cooccurrence", ("View",)),
    "aws-ecomm-frequently-bought-together": ("cooccurrence", ("Purchase",)),
    "aws-vod-because-you-watched-x": ("cooccurrence", ("Watch",)),
    "aws-vod-more-like-x": ("cooccurrence", ("Watch",)),
    "aws-user-personalization": ("mf", ()),
    "aws-user-personalization-v2": ("mf", ()),
    "aws-personalized-ranking": ("mf", ()),
    "aws-personalized-ranking-v2": ("mf", ()),
    "aws-ecomm-recommended-for-you": ("domain", ()),
    "aws-vod-top-picks": ("domain", ()),
    "aws-item-affinity": ("affinity", ()),
    "aws-item-attribute-affinity": ("affinity", ()),
    "aws-next-best-action": ("actions", ()),
}

#: dataset types a family trains on: (interactions, items)
TRAINING_DATASETS = {"actions": ("ACTION_INTERACTIONS", "ACTIONS")}

_TRAINERS: dict[str, Callable[..., Any]] = {
    "popularity": PopularityModel.train,
    "trending": TrendingModel.train,
    "cooccurrence": CooccurrenceModel.train,
    "mf": FactorModel.train,
    "domain": FactorModel.train,
    "affinity": FactorModel.train,
    "actions": ActionModel.train,
}


def training_datasets(recipe_name: str) -> tuple[str, str]:
    """(dataset type trained on, dataset type passed as ``items``) for a recipe."""
    return TRAINING_DATASETS.get(family_of(recipe_name) or "", ("INTERACTIONS", "ITEMS"))


def family_of(recipe_name: str) -> str | None:
    entry = FAMILIES.get(recipe_name)
    return entry[0] if entry else None


#: Families whose answers a request's ``context`` changes: "only USER_PERSONALIZATION and
#: PERSONALIZED_RANKING recipes use it" (personalize-data-plane.md 1.1 "context" [DOC: dg/contextual-metadata
#: (2023)]), here the ALS stand-in of UP, UP-v2, PR and PR-v2.
CONTEXT_FAMILIES = frozenset({"mf"})


def context_weights(
    recipe_name: str, model: Model, table: Table, context: Mapping[str, str]
) -> FloatArray | None:
    """Per-item weights for ``model.recommend`` / ``rank`` (``context_weights=``) from a request's
    ``context`` (``mf.context_lift``), or None when the recipe does not use context."""
    if family_of(recipe_name) not in CONTEXT_FAMILIES or not isinstance(model, FactorModel):
        return None
    return context_lift(model, table, context)


def realtime_history(table: Table | None, model: Model, user_id: str) -> list[str]:
    """Items ``user_id`` interacted with after the model's training snapshot (PUT rows beyond the
    ``trained_puts`` it held; bulk rows never count), oldest first. On the request path prefer
    ``DataStore.user_puts_after(group, user_id, model.trained_puts)``: the same answer without rebuilding the
    table after each PutEvents."""
    if table is None:
        return []
    code = table.users.get(user_id)
    if code < 0:
        return []
    puts = table.put_rows()[model.trained_puts :]
    tail = puts[table.user[puts] == code]
    tail = tail[np.argsort(table.timestamp[tail], kind="stable")]
    return [table.items.strings[i] for i in table.item[tail].tolist() if i >= 0]


def train(table: Table, config: TrainingConfig, items: Table | None = None) -> Any:
    """Train the model of ``config.recipe`` on ``table`` (None when the recipe has no model)."""
    entry = FAMILIES.get(config.recipe)
    if entry is None:
        return None
    family, default_types = entry
    extra = {"family": family} if _CLASSES[family] is FactorModel else {}
    model = _TRAINERS[family](table, config, default_event_types=default_types, items=items, **extra)
    model.trained_rows = len(table)
    model.trained_puts = len(table.put_rows())
    return model


def fitter(family: str) -> Callable[[Table, Any, TrainingConfig, Table | None], Any]:
    """``fit(table, rows, config, items)``: the family's model trained on the given rows only."""
    cls = _CLASSES[family]
    if cls is FactorModel:
        return lambda table, rows, config, items: FactorModel.from_rows(table, rows, config, items, family)
    if cls is CooccurrenceModel:
        return lambda table, rows, config, items: CooccurrenceModel.from_rows(table, rows, config, items)
    return lambda table, rows, config, items: cls.from_rows(table, rows, config)


def offline_metrics(table: Table, config: TrainingConfig, items: Table | None = None) -> dict[str, float]:
    """The documented offline metrics of ``config.recipe`` on ``table`` (see ``evaluation``)."""
    entry = FAMILIES.get(config.recipe)
    if entry is None:
        return {}
    family, default_types = entry
    if family == "actions":
        return {}
    if family == "affinity":
        return evaluate_segments(table, config, fitter(family))
    return evaluate(table, config, fitter(family), default_types, items)


_CLASSES: dict[str, Any] = {
    "popularity": PopularityModel,
    "trending": TrendingModel,
    "cooccurrence": CooccurrenceModel,
    "mf": FactorModel,
    "domain": FactorModel,
    "affinity": FactorModel,
    "actions": ActionModel,
}


@dataclass
class Trained:
    model: Any
    metrics: dict[str, float]
    tuned: dict[str, str] | None  # the HPO winner's hyperparameters (performHPO only)


def hpo_candidates(config: TrainingConfig, hpo: dict[str, Any]) -> list[dict[str, str]]:
    """Candidate hyperparameters from the solution's ranges: each range's low, middle and high value (every
    categorical value), combined; at most ``maxNumberOfTrainingJobs`` (default 4, capped at 8) of them,
    picked deterministically with the seed (the caller passes the algorithm's default ranges when the
    solution gives none)."""
    ranges = hpo.get("algorithmHyperParameterRanges") or {}
    axes: list[tuple[str, list[str]]] = []
    for r in ranges.get("integerHyperParameterRanges") or []:
        lo, hi = int(r["minValue"]), int(r["maxValue"])
        axes.append((r["name"], sorted({str(lo), str((lo + hi) // 2), str(hi)}, key=int)))
    for r in ranges.get("continuousHyperParameterRanges") or []:
        lo_f, hi_f = float(r["minValue"]), float(r["maxValue"])
        axes.append((r["name"], [repr(v) for v in sorted({lo_f, (lo_f + hi_f) / 2, hi_f})]))
    for r in ranges.get("categoricalHyperParameterRanges") or []:
        axes.append((r["name"], [str(v) for v in r.get("values") or []]))
    axes = [(name, values) for name, values in axes if values]
    grid: list[dict[str, str]] = [{}]
    for name, values in axes:
        grid = [{**g, name: v} for g in grid for v in values]
    limit = (hpo.get("hpoResourceConfig") or {}).get("maxNumberOfTrainingJobs")
    try:
        count = min(8, max(1, int(limit))) if limit is not None else 4
    except ValueError:
        count = 4
    if len(grid) > count:
        picks = np.random.default_rng(config.seed).choice(len(grid), size=count, replace=False)
        grid = [grid[i] for i in sorted(picks.tolist())]
    return grid


HPO_OBJECTIVE = "precision_at_25"


def tune(
    table: Table, config: TrainingConfig, hpo: dict[str, Any], items: Table | None = None
) -> tuple[dict[str, str], dict[str, float]]:
    """A small real search: every candidate is trained on the metrics split and scored on
    ``hpoObjective.metricName`` when it is one of the offline metrics (else precision_at_25; ties: the first
    candidate). Returns the winner's hyperparameters and metrics."""
    objective = (hpo.get("hpoObjective") or {}).get("metricName") or HPO_OBJECTIVE
    best: tuple[float, dict[str, str], dict[str, float]] | None = None
    for candidate in hpo_candidates(config, hpo):
        trial = TrainingConfig(
            **{**config.__dict__, "hyperparameters": {**config.hyperparameters, **candidate}}
        )
        metrics = offline_metrics(table, trial, items)
        value = metrics.get(objective, metrics.get(HPO_OBJECTIVE, 0.0))
        if (hpo.get("hpoObjective") or {}).get("type") == "Minimize":
            value = -value
        if best is None or value > best[0]:
            best = (value, candidate, metrics)
    if best is None:
        return {}, offline_metrics(table, config, items)
    return best[1], best[2]


class ModelStore:
    """Trained models by resource ARN (solution version or recommender). Thread-safe.

    With ``attach(directory)`` every model is also kept as an ``.npz`` file (no pickles): ``flush()`` writes
    new ones and removes dropped ones, and after a restart a model loads on its first lookup."""

    INDEX = "index.json"

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self._lock = threading.RLock()
        self._models: dict[str, Any] = {}
        self._inputs: dict[str, tuple[Table | None, Table | None]] = {}
        self._dirty: set[str] = set()
        self._on_disk: dict[str, str] = {}
        self.root: Path | None = None

    def put(self, arn: str, model: Any) -> None:
        with self._lock:
            self._models[arn] = model
            self._dirty.add(arn)

    def capture(self, arn: str, interactions: Table | None, items: Table | None) -> None:
        """Remember the data a training started with (tables are immutable snapshots)."""
        with self._lock:
            self._inputs[arn] = (interactions, items)

    def release(self, arn: str) -> None:
        """Forget a captured snapshot (the training failed or was stopped)."""
        with self._lock:
            self._inputs.pop(arn, None)

    def train(
        self,
        arn: str,
        config: TrainingConfig,
        interactions: Table | None = None,
        items: Table | None = None,
        *,
        hpo: dict[str, Any] | None = None,
    ) -> Trained:
        """Train ``arn``'s model on the captured snapshot (else the tables given) and keep it; with ``hpo``
        (the solution's hpoConfig, performHPO true) first search its ranges (``tune``)."""
        with self._lock:
            captured = self._inputs.pop(arn, None)
        if captured is not None:
            interactions, items = captured
        if interactions is None and items is not None and family_of(config.recipe) == "cooccurrence":
            # aws-semantic-similarity trains on the Items dataset alone: metadata neighbours only
            interactions = TableBuilder("INTERACTIONS", ["USER_ID", "ITEM_ID", "TIMESTAMP"]).build()
        if interactions is None or config.recipe not in FAMILIES:
            return Trained(None, {}, None)
        config.seed = self.seed
        tuned: dict[str, str] | None = None
        if hpo is not None:
            tuned, metrics = tune(interactions, config, hpo, items)
            config.hyperparameters.update(tuned)
        else:
            metrics = offline_metrics(interactions, config, items)
        model = train(interactions, config, items)
        self.put(arn, model)
        return Trained(model, metrics, tuned)

    def for_version(self, solution_version_arn: str) -> Model | None:
        """The trained model of a solution version (None while training, after a failure, or unknown)."""
        with self._lock:
            found: Model | None = self._models.get(solution_version_arn)
            if found is None and solution_version_arn in self._on_disk and self.root is not None:
                found = self._models[solution_version_arn] = _load_model(
                    self.root / self._on_disk[solution_version_arn]
                )
            return found

    def for_recommender(self, recommender_arn: str) -> Model | None:
        return self.for_version(recommender_arn)

    def drop(self, arn: str) -> None:
        with self._lock:
            self._models.pop(arn, None)
            self._dirty.add(arn)

    def clear(self) -> None:
        with self._lock:
            self._dirty |= set(self._models) | set(self._on_disk)
            self._models.clear()

    def attach(self, root: Path) -> None:
        with self._lock:
            self.root = Path(root)
            index = self.root / self.INDEX
            self._on_disk = dict(json.loads(index.read_text(encoding="utf-8"))) if index.exists() else {}

    def flush(self) -> None:
        with self._lock:
            if self.root is None or not self._dirty:
                return
            for arn in sorted(self._dirty):
                model = self._models.get(arn)
                if model is None:
                    old = self._on_disk.pop(arn, None)
                    if old:
                        with contextlib.suppress(OSError):
                            (self.root / old).unlink()
                    continue
                name = hashlib.sha256(arn.encode()).hexdigest()[:32] + ".npz"
                _save_model(self.root / name, model)
                self._on_disk[arn] = name
            self.root.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".index.", suffix=".tmp", dir=self.root)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(json.dumps(self._on_disk, sort_keys=True, indent=0))
            os.replace(tmp, self.root / self.INDEX)
            self._dirty.clear()


def _save_model(path: Path, model: Any) -> None:
    meta, arrays, strings = model.state()
    out: dict[str, np.ndarray[Any, Any]] = {f"a:{k}": v for k, v in arrays.items()}
    for name, values in strings.items():
        out[f"s:{name}:data"], out[f"s:{name}:off"] = pack_strings(values)
    document = {
        "family": model.family,
        "trainedRows": model.trained_rows,
        "trainedPuts": model.trained_puts,
        "meta": meta,
        "strings": list(strings),
    }
    out["meta"] = np.frombuffer(json.dumps(document).encode(), np.uint8).copy()
    atomic_savez(path, out)


def _load_model(path: Path) -> Any:
    with np.load(path, allow_pickle=False) as data:
        document = json.loads(data["meta"].tobytes().decode())
        arrays = {k[2:]: data[k] for k in data.files if k.startswith("a:")}
        strings = {n: unpack_strings(data[f"s:{n}:data"], data[f"s:{n}:off"]) for n in document["strings"]}
    model = _CLASSES[document["family"]].restore(document["meta"], arrays, strings)
    model.trained_rows = int(document["trainedRows"])
    model.trained_puts = int(document.get("trainedPuts", 0))  # saved before it was kept: every event counts
    return model
