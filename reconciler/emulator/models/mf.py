"""Implicit-feedback matrix factorisation (ALS, Hu/Koren/Volinsky 2008) for the user-personalization family.

Serves aws-user-personalization(-v2), aws-personalized-ranking(-v2), the domain "recommended for you" / "top
picks" use cases and the user-segmentation recipes (item-affinity, item-attribute-affinity: users ranked by
their affinity to the queried items). It is a small stand-in for the service's neural models, trained for
real on the dataset:

* preference p_ui = 1 for every (user, item) pair with an event; confidence c_ui = 1 + ``ALPHA`` x (weighted
  event count, eventsConfig weights applied); with ``recency_mask``/``apply_recency_bias`` true (the default)
  newer events weigh more (half-life: a tenth of the data's time span);
* factors: ``hidden_dimension`` / 4, clamped to [4, 64] (the default 149 gives 37); ``ITERATIONS`` ALS
  sweeps, each user/item solved by ``CG_STEPS`` conjugate-gradient steps vectorised over all users (numpy +
  scipy sparse), initial factors from ``numpy.random.default_rng(seed)``: same data and seed, same model;
* scores: a softmax of user . item over the catalogue (UP semantics: they sum to 1); ranking: the softmax
  over the input list; unknown items score 0 and go last;
* real-time events: ``history`` (items since training) is folded into the user's vector at query time
  (one least-squares solve with the item factors fixed), so PutEvents changes the next answer;
* cold users (no history) get the mean user vector, which favours items most users engage with;
* exploration: with ``explorationWeight`` w > 0, round(w x n / 2) slots (at evenly spaced positions) go to
  cold items — items with fewer than ``COLD_MAX_EVENTS`` training events, or in the Items dataset only —
  younger than ``explorationItemAgeCutOff`` days (item CREATION_TIMESTAMP, else first event) measured from the
  newest training event; newest first. ``bptt`` has no counterpart here and is ignored.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ..data import Table
from .base import (
    CandidateFilter,
    FloatArray,
    Scored,
    TrainingConfig,
    row_weights,
    softmax,
    top_n,
    training_rows,
)

if TYPE_CHECKING:  # scipy loads on first training, not when the emulator is imported
    import scipy.sparse as sp

ALPHA = 10.0
REGULARIZATION = 0.05
ITERATIONS = 10
CG_STEPS = 3
COLD_MAX_EVENTS = 2
DAY = 86_400.0


def _weighted(probabilities: FloatArray, weights: FloatArray | None) -> FloatArray:
    """``probabilities`` times per-item ``weights`` (the request's context, aligned with them), summing to 1
    again; unchanged without weights."""
    if weights is None or not len(probabilities):
        return probabilities
    out = probabilities * weights
    total = float(out.sum())
    return out / total if total > 0 else probabilities


def factors_for(config: TrainingConfig) -> int:
    return int(min(64, max(4, round(config.number("hidden_dimension", 149) / 4))))


def interaction_matrix(
    table: Table, rows: npt.NDArray[np.int64], config: TrainingConfig, recency: bool
) -> sp.csr_matrix:
    """users x items confidence-less weights (sum of event weights per pair), CSR sorted by user."""
    import scipy.sparse as sp

    weights = row_weights(table, rows, config)
    if recency and len(rows):
        ts = table.timestamp[rows].astype(np.float64)
        span = float(ts.max() - ts.min())
        if span > 0:
            half_life = span / 10.0
            weights = weights * np.power(0.5, (ts.max() - ts) / half_life) * 2.0
    shape = (len(table.users), len(table.items))
    matrix = sp.csr_matrix((weights, (table.user[rows], table.item[rows])), shape=shape, dtype=np.float64)
    matrix.sum_duplicates()
    return matrix


def _cg_solve(x: FloatArray, other: FloatArray, matrix: sp.csr_matrix, reg: float, steps: int) -> FloatArray:
    """One ALS half-step: for every row u of ``matrix`` (weights r_ui), minimise
    sum_i c_ui (p_ui - x_u . y_i)^2 + reg |x_u|^2 with c = 1 + ALPHA r, by conjugate gradient from ``x``."""
    import scipy.sparse as sp

    gram = other.T @ other + reg * np.eye(other.shape[1])
    confidence = matrix.copy()
    confidence.data = ALPHA * confidence.data  # c_ui - 1
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    cols = matrix.indices

    def apply(v: FloatArray) -> FloatArray:
        out = v @ gram
        if len(cols):
            dots = np.einsum("ij,ij->i", v[rows], other[cols])
            weighted = sp.csr_matrix((confidence.data * dots, cols, matrix.indptr), shape=matrix.shape)
            out = out + weighted @ other
        return np.asarray(out)

    b = np.asarray(sp.csr_matrix((1.0 + confidence.data, cols, matrix.indptr), shape=matrix.shape) @ other)
    r = b - apply(x)
    p = r.copy()
    rs_old = np.einsum("ij,ij->i", r, r)
    for _ in range(steps):
        ap = apply(p)
        denom = np.einsum("ij,ij->i", p, ap)
        alpha = np.divide(rs_old, denom, out=np.zeros_like(rs_old), where=denom > 1e-12)
        x = x + alpha[:, None] * p
        r = r - alpha[:, None] * ap
        rs_new = np.einsum("ij,ij->i", r, r)
        beta = np.divide(rs_new, rs_old, out=np.zeros_like(rs_new), where=rs_old > 1e-20)
        p = r + beta[:, None] * p
        rs_old = rs_new
    return x


def als(matrix: sp.csr_matrix, factors: int, seed: int) -> tuple[FloatArray, FloatArray]:
    rng = np.random.default_rng(seed)
    users = rng.normal(0, 0.01, (matrix.shape[0], factors))
    items = rng.normal(0, 0.01, (matrix.shape[1], factors))
    transposed = matrix.T.tocsr()
    for _ in range(ITERATIONS):
        users = _cg_solve(users, items, matrix, REGULARIZATION, CG_STEPS)
        items = _cg_solve(items, users, transposed, REGULARIZATION, CG_STEPS)
    return users, items


class FactorModel:
    scored = True
    trained_rows = 0
    trained_puts = 0

    def __init__(
        self,
        family: str,
        user_ids: Sequence[str],
        item_ids: Sequence[str],
        user_factors: FloatArray,
        item_factors: FloatArray,
        matrix: sp.csr_matrix,
        cold_items: Sequence[str] = (),
        cold_ages: Sequence[float] = (),
    ) -> None:
        self.family = family
        self.user_ids = list(user_ids)
        self.item_ids = list(item_ids)
        self.user_index = {u: i for i, u in enumerate(self.user_ids)}
        self.item_index = {v: i for i, v in enumerate(self.item_ids)}
        self.user_factors = user_factors
        self.item_factors = item_factors
        self.matrix = matrix
        self.cold_items = list(cold_items)
        self.cold_ages = np.asarray(cold_ages, np.float64)  # days old at training time
        known = np.diff(matrix.indptr) > 0
        self.mean_user = user_factors[known].mean(axis=0) if known.any() else np.zeros(item_factors.shape[1])
        self.scored = family != "domain"

    # ---- training -------------------------------------------------------------------------------------
    @classmethod
    def train(
        cls,
        table: Table,
        config: TrainingConfig,
        default_event_types: Sequence[str] = (),
        items: Table | None = None,
        family: str = "mf",
        **_: Any,
    ) -> FactorModel:
        rows = training_rows(table, config, default_event_types)
        return cls.from_rows(table, rows, config, items, family)

    @classmethod
    def from_rows(
        cls,
        table: Table,
        rows: npt.NDArray[np.int64],
        config: TrainingConfig,
        items: Table | None = None,
        family: str = "mf",
    ) -> FactorModel:
        recency = config.flag("recency_mask", True) and config.flag("apply_recency_bias", True)
        matrix = interaction_matrix(table, rows, config, recency)
        user_factors, item_factors = als(matrix, factors_for(config), config.seed)
        cold, ages = _cold_items(table, rows, items)
        model = cls(
            family,
            table.users.strings[: matrix.shape[0]],
            table.items.strings[: matrix.shape[1]],
            user_factors,
            item_factors,
            matrix,
            cold,
            ages,
        )
        return model

    # ---- scoring --------------------------------------------------------------------------------------
    def user_vector(self, user_id: str | None, history: Sequence[str] = ()) -> FloatArray:
        known = self.user_index.get(user_id) if user_id is not None else None
        new = [self.item_index[i] for i in history if i in self.item_index]
        if not new:
            return self.user_factors[known] if known is not None else self.mean_user
        weights: dict[int, float] = {}
        if known is not None:
            start, end = self.matrix.indptr[known], self.matrix.indptr[known + 1]
            for i, w in zip(
                self.matrix.indices[start:end].tolist(), self.matrix.data[start:end].tolist(), strict=True
            ):
                weights[i] = w
        for i in new:
            weights[i] = weights.get(i, 0.0) + 1.0
        index = np.fromiter(weights, np.int64)
        conf = 1.0 + ALPHA * np.fromiter(weights.values(), np.float64)
        y = self.item_factors[index]
        a = self.item_factors.T @ self.item_factors + (y.T * (conf - 1.0)) @ y
        a += REGULARIZATION * np.eye(y.shape[1])
        return np.asarray(np.linalg.solve(a, y.T @ conf))

    def scores(self, user_id: str | None, history: Sequence[str] = ()) -> FloatArray:
        return np.asarray(self.item_factors @ self.user_vector(user_id, history))

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
        context_weights: FloatArray | None = None,
        **_: Any,
    ) -> Scored:
        probabilities = _weighted(softmax(self.scores(user_id, history)), context_weights)
        best = top_n(probabilities, self.item_ids, n, exclude, candidate_filter)
        weight = _float((exploration or {}).get("explorationWeight"), 0.0)
        if weight <= 0 or not self.cold_items:
            return best
        cutoff = _float((exploration or {}).get("explorationItemAgeCutOff"), 30.0)
        taken = {i for i, _ in best} | set(exclude)
        young = [
            item
            for age, item in sorted(zip(self.cold_ages.tolist(), self.cold_items, strict=True))
            if age <= cutoff and item not in taken and (candidate_filter is None or candidate_filter(item))
        ]
        slots = min(len(young), round(weight * n / 2))
        if slots == 0:
            return best
        out = list(best[: n - slots])
        step = n / slots
        for k, item in enumerate(young[:slots]):
            index = self.item_index.get(item)
            score = float(probabilities[index]) if index is not None else 0.0
            out.insert(min(len(out), int(k * step + step / 2)), (item, score))
        return out[:n]

    def rank(
        self,
        user_id: str | None,
        item_ids: Sequence[str],
        *,
        history: Sequence[str] = (),
        context_weights: FloatArray | None = None,
        **_: Any,
    ) -> Scored:
        raw = self.scores(user_id, history)
        known = [i for i in item_ids if i in self.item_index]
        index = [self.item_index[i] for i in known]
        probabilities = _weighted(
            softmax(np.asarray([raw[i] for i in index], np.float64)),
            None if context_weights is None else context_weights[index],
        )
        ranked = sorted(zip(known, probabilities.tolist(), strict=True), key=lambda pair: -pair[1])
        return ranked + [(i, 0.0) for i in item_ids if i not in self.item_index]

    def segment(
        self, item_ids: Sequence[str], n: int, candidate_filter: CandidateFilter | None = None
    ) -> Scored:
        """Users most likely to interact with any of ``item_ids``: mean softmax-free affinity u . i. Users
        ``candidate_filter`` rejects (a job's UserID filter) are skipped before the top ``n`` are taken."""
        index = [self.item_index[i] for i in item_ids if i in self.item_index]
        if not index:
            return []
        affinity = self.user_factors @ self.item_factors[index].mean(axis=0)
        known = np.diff(self.matrix.indptr) > 0
        return top_n(affinity, self.user_ids, n, candidate_filter=candidate_filter, eligible=known)

    # ---- persistence ----------------------------------------------------------------------------------
    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray[Any, Any]], dict[str, list[str]]]:
        arrays = {
            "users": self.user_factors,
            "items": self.item_factors,
            "indptr": self.matrix.indptr,
            "indices": self.matrix.indices,
            "data": self.matrix.data,
            "cold_ages": self.cold_ages,
        }
        return (
            {"family": self.family, "shape": list(self.matrix.shape)},
            arrays,
            {"users": self.user_ids, "items": self.item_ids, "cold": self.cold_items},
        )

    @classmethod
    def restore(
        cls, meta: dict[str, Any], arrays: dict[str, np.ndarray[Any, Any]], strings: dict[str, list[str]]
    ) -> FactorModel:
        import scipy.sparse as sp

        matrix = sp.csr_matrix(
            (arrays["data"], arrays["indices"], arrays["indptr"]), shape=tuple(meta["shape"])
        )
        return cls(
            meta["family"],
            strings["users"],
            strings["items"],
            arrays["users"],
            arrays["items"],
            matrix,
            strings["cold"],
            arrays["cold_ages"].tolist(),
        )


def _float(value: Any, default: float) -> float:
    try:
        return default if value in (None, "") else float(value)
    except (TypeError, ValueError):
        return default


def _cold_items(
    table: Table, rows: npt.NDArray[np.int64], items: Table | None
) -> tuple[list[str], list[float]]:
    """Items with few training events (or only in the Items dataset) and their age in days."""
    if not len(rows):
        return [], []
    newest = float(table.timestamp[rows].max())
    counts = np.bincount(table.item[rows], minlength=len(table.items))
    first = np.full(len(table.items), np.inf)
    np.minimum.at(first, table.item[rows], table.timestamp[rows].astype(np.float64))
    ages: dict[str, float] = {}
    for index in np.flatnonzero((counts > 0) & (counts <= COLD_MAX_EVENTS)).tolist():
        ages[table.items.strings[index]] = (newest - first[index]) / DAY
    if items is not None:
        created = items.columns.get("CREATION_TIMESTAMP")
        for row in items.latest_rows().tolist():
            item = items.ids.strings[items.id_codes[row]]
            code = table.items.get(item)
            if code >= 0 and code < len(counts) and counts[code] > COLD_MAX_EVENTS:
                continue
            stamp = None
            if created is not None and created[0][row] >= 0:
                stamp = _float(created[1].strings[created[0][row]], math.nan)
            if stamp is not None and not math.isnan(stamp):
                ages[item] = max(0.0, (newest - stamp) / DAY)
            elif item not in ages:
                ages[item] = 0.0 if code < 0 else ages.get(item, 0.0)
    names = sorted(ages)
    return names, [ages[n] for n in names]


#: Pseudo-count of the context lift: an item with few interactions keeps a weight near 1 (little evidence).
CONTEXT_PRIOR = 10.0


def context_lift(model: FactorModel, table: Table, context: Mapping[str, str]) -> FloatArray:
    """Per-item weights (aligned with ``model.item_ids``) for a request's ``context``: each item's lift under
    the given values, ``P(value | item) / P(value)`` over ``table``'s interactions (the product over the
    context's fields), smoothed towards 1 by ``CONTEXT_PRIOR`` pseudo-interactions. A field the table lacks,
    or a value no interaction has (never seen, or its interactions were all deleted since), carries no
    evidence and weighs 1, as does any context when the table has no interaction. A stand-in for the
    service's contextual model [INF]."""
    rows = table.item >= 0
    size = len(table.items)
    total = np.bincount(table.item[rows], minlength=size).astype(np.float64)
    lift = np.ones(size, np.float64)
    interactions = int(rows.sum())
    for key, value in context.items():
        column = table.columns.get(key.upper())
        code = column[1].get(value) if column is not None else -1
        if column is None or code < 0:
            continue
        match = rows & (column[0] == code)
        # the vocabulary keeps values whose rows are gone (a data deletion job): no rows, no evidence
        matched = int(match.sum())
        if not matched:
            continue
        share = matched / interactions
        hits = np.bincount(table.item[match], minlength=size).astype(np.float64)
        lift *= (hits + CONTEXT_PRIOR * share) / (total + CONTEXT_PRIOR) / share
    weights = np.ones(len(model.item_ids), np.float64)
    for code, item in enumerate(table.items.strings):
        at = model.item_index.get(item)
        if at is not None:
            weights[at] = lift[code]
    return weights
