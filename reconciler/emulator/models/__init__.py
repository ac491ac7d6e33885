"""Small real models behind the emulator's solution versions and recommenders (one family per recipe).

The interface the runtime API, batch jobs and metrics code against
-------------------------------------------------------------------

``Model`` (a Protocol) — every trained model answers with ``(id, score)`` lists, best first:

* ``recommend(user_id, item_id, n, exclude=(), candidate_filter=None, *, history=(), exploration=None)``:
  GetRecommendations / batch inference. ``user_id`` for user recipes (an unknown user gets the cold-start
  list), ``item_id`` for related-item recipes (an unknown item gets popular items). ``exclude``: ids never
  returned. ``candidate_filter(item_id) -> bool``: called lazily in score order, only until ``n`` items pass
  (apply filter expressions here). ``history``: item ids the user interacted with *after* training (PutEvents
  rows since ``trained_rows``, see ``realtime_history``); the user-personalization family folds them into the
  user's vector at once, the others ignore them, as the service does. ``exploration``: the campaign's
  ``itemExplorationConfig`` (``explorationWeight``, ``explorationItemAgeCutOff``), used by that family.
* ``rank(user_id, item_ids, *, history=())``: GetPersonalizedRanking; every input item, best first; items the
  model never saw get score 0.0 and go last.
* ``segment(item_ids, n)``: batch segment jobs; users most likely to interact with any of the items.
* attributes: ``family`` (see ``FAMILIES``), ``scored`` (whether the API shows scores for this recipe),
  ``trained_rows`` (interaction rows of the snapshot it was trained on; PUT rows beyond it are "new").

Getting the model of a resource: ``emulator.models.for_version(solution_version_arn)`` or
``emulator.models.for_recommender(recommender_arn)`` (``None`` until training finished or when it failed).
A campaign serves ``for_version(campaign["solutionVersionArn"])``. The data behind it:
``emulator.data`` (a ``reconciler.emulator.data.DataStore``).

Families (``family_of(recipe_name)``):

* ``popularity``: aws-popularity-count; domain most-popular / popular-by-views / popular-by-purchases.
* (more families land in the following steps: trending, cooccurrence, mf, affinity.)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ..data import Table, atomic_savez, pack_strings, unpack_strings
from .base import CandidateFilter, Scored, TrainingConfig
from .popularity import PopularityModel

__all__ = [
    "FAMILIES",
    "CandidateFilter",
    "Model",
    "ModelStore",
    "Scored",
    "TrainingConfig",
    "family_of",
    "realtime_history",
]


class Model(Protocol):
    family: str
    scored: bool
    trained_rows: int

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

    def segment(self, item_ids: Sequence[str], n: int) -> Scored: ...


#: recipe name -> (family, documented default event types for domain use cases)
FAMILIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "aws-popularity-count": ("popularity", ()),
    "aws-ecomm-popular-items-by-views": ("popularity", ("View",)),
    "aws-ecomm-popular-items-by-purchases": ("popularity", ("Purchase",)),
    "aws-vod-most-popular": ("popularity", ("Watch",)),
}

_TRAINERS: dict[str, Callable[..., Any]] = {
    "popularity": PopularityModel.train,
}


def family_of(recipe_name: str) -> str | None:
    entry = FAMILIES.get(recipe_name)
    return entry[0] if entry else None


def realtime_history(table: Table | None, model: Model, user_id: str) -> list[str]:
    """Items ``user_id`` interacted with after the model's training snapshot (PUT rows), oldest first."""
    if table is None or len(table) <= model.trained_rows:
        return []
    code = table.users.get(user_id)
    if code < 0:
        return []
    tail = np.flatnonzero(table.user[model.trained_rows :] == code) + model.trained_rows
    tail = tail[np.argsort(table.timestamp[tail], kind="stable")]
    return [table.items.strings[i] for i in table.item[tail].tolist() if i >= 0]


def train(table: Table, config: TrainingConfig, items: Table | None = None) -> Any:
    """Train the model of ``config.recipe`` on ``table`` (None when the recipe has no model yet)."""
    entry = FAMILIES.get(config.recipe)
    if entry is None:
        return None
    family, default_types = entry
    model = _TRAINERS[family](table, config, default_event_types=default_types, items=items)
    model.trained_rows = len(table)
    return model


_CLASSES: dict[str, Any] = {"popularity": PopularityModel}


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

    def train(
        self,
        arn: str,
        config: TrainingConfig,
        interactions: Table | None = None,
        items: Table | None = None,
    ) -> Any:
        """Train ``arn``'s model on the captured snapshot (else the tables given) and keep it."""
        with self._lock:
            captured = self._inputs.pop(arn, None)
        if captured is not None:
            interactions, items = captured
        if interactions is None:
            return None
        config.seed = self.seed
        model = train(interactions, config, items)
        if model is not None:
            self.put(arn, model)
        return model

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
    return model
