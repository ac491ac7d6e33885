"""Item-to-item co-occurrence (SIMS) for the related-items recipes.

Serves aws-sims and the domain use cases "customers who viewed X also viewed", "because you watched X" and
"frequently bought together" (the latter on Purchase events). Two items co-occur when one user interacted
with both (each user's newest ``MAX_HISTORY`` distinct items count). For a query item i the candidates j are
scored ``cooc(i, j) / pop(j) ** popularity_discount_factor`` (0: raw co-occurrence, which favours popular
items; 1: fully popularity-normalised), keeping pairs with at least ``min_cointeraction_count`` co-occurring
users. The best ``NEIGHBOURS`` per item are kept; when fewer than asked remain, or the item is unknown, the
list is filled with popular items (as the service does for items without data).

Documented stand-in: aws-similar-items and aws-vod-more-like-x (the service combines interactions with item
metadata) and aws-semantic-similarity (the service embeds item text) use the same co-occurrence model; items
of the Items dataset with no interactions get neighbours sharing the most categorical values with them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ..data import Table
from .base import CandidateFilter, Scored, TrainingConfig, rank_by, top_n, training_rows

NEIGHBOURS = 100
MAX_HISTORY = 200
BLOCK_CELLS = 8_000_000  # dense co-occurrence block size (cells): bounds memory


class CooccurrenceModel:
    family = "cooccurrence"
    scored = False  # no scores for SIMS / Similar-Items / related-items recommenders
    trained_rows = 0
    trained_puts = 0

    def __init__(
        self,
        item_ids: Sequence[str],
        neighbours: npt.NDArray[np.int32],
        neighbour_scores: npt.NDArray[np.float32],
        popularity: npt.NDArray[np.float64],
    ) -> None:
        self.item_ids = list(item_ids)
        self.item_index = {v: i for i, v in enumerate(self.item_ids)}
        self.neighbours = neighbours
        self.neighbour_scores = neighbour_scores
        self.popularity = popularity

    @classmethod
    def train(
        cls,
        table: Table,
        config: TrainingConfig,
        default_event_types: Sequence[str] = (),
        items: Table | None = None,
        **_: Any,
    ) -> CooccurrenceModel:
        rows = training_rows(table, config, default_event_types)
        return cls.from_rows(table, rows, config, items)

    @classmethod
    def from_rows(
        cls, table: Table, rows: npt.NDArray[np.int64], config: TrainingConfig, items: Table | None = None
    ) -> CooccurrenceModel:
        import scipy.sparse as sp  # loaded on first training, not when the emulator is imported

        discount = min(1.0, max(0.0, config.number("popularity_discount_factor", 0.5)))
        min_count = max(0.0, config.number("min_cointeraction_count", 3))
        n_users, n_items = len(table.users), len(table.items)
        users = table.user[rows].astype(np.int64)
        item_codes = table.item[rows].astype(np.int64)
        # newest MAX_HISTORY distinct items per user
        order = np.lexsort((-table.timestamp[rows], users))
        pairs = users[order] * max(n_items, 1) + item_codes[order]
        _, first = np.unique(pairs, return_index=True)
        first.sort()
        u, i = users[order][first], item_codes[order][first]
        rank = np.arange(len(u)) - np.searchsorted(u, u)  # position within each user's newest-first list
        keep = rank < MAX_HISTORY
        binary = sp.csr_matrix((np.ones(int(keep.sum())), (u[keep], i[keep])), shape=(n_users, n_items))
        popularity = np.asarray(binary.sum(axis=0)).ravel()
        discounted = np.power(np.maximum(popularity, 1.0), discount)
        k = min(NEIGHBOURS, max(n_items - 1, 1))
        neighbours = np.full((n_items, k), -1, np.int32)
        scores = np.zeros((n_items, k), np.float32)
        item_user = binary.T.tocsr()
        step = max(1, BLOCK_CELLS // max(n_items, 1))
        for start in range(0, n_items, step):
            stop = min(n_items, start + step)
            block = (item_user[start:stop] @ binary).toarray()  # co-occurrence counts
            block[np.arange(stop - start), np.arange(start, stop)] = 0.0
            block[block < max(min_count, 1.0)] = 0.0
            weighted = block / discounted[None, :]
            top = np.argsort(-weighted, axis=1, kind="stable")[:, :k]
            values = np.take_along_axis(weighted, top, axis=1)
            neighbours[start:stop] = np.where(values > 0, top, -1)
            scores[start:stop] = values
        model = cls(table.items.strings[:n_items], neighbours, scores, popularity)
        if items is not None:
            model.add_metadata_neighbours(items)
        return model

    def add_metadata_neighbours(self, items: Table) -> None:
        """Items only in the Items dataset: neighbours = the other items sharing most metadata values (ties:
        the more popular, then the earlier record)."""
        rows = items.latest_rows()
        if not len(rows) or not items.columns:
            return
        record_items = [items.ids.strings[c] for c in items.id_codes[rows].tolist()]
        features = np.stack([codes[rows] for codes, _ in items.columns.values()], axis=1)
        cold = [k for k, item in enumerate(record_items) if item not in self.item_index]
        if not cold:
            return
        for k in cold:
            self.item_index[record_items[k]] = len(self.item_ids)
            self.item_ids.append(record_items[k])
        self.popularity = np.concatenate([self.popularity, np.zeros(len(cold))])
        pool = np.asarray([self.item_index[item] for item in record_items])
        pool_popularity = self.popularity[pool]
        width = max(self.neighbours.shape[1], min(NEIGHBOURS, len(record_items) - 1))
        pad_n = np.full((len(cold), width), -1, np.int32)
        pad_s = np.zeros((len(cold), width), np.float32)
        for r, k in enumerate(cold):
            same = ((features == features[k]) & (features[k] >= 0)).sum(axis=1).astype(np.float64)
            key = same + 1e-6 * pool_popularity / (pool_popularity.max() + 1.0)
            key[k] = -np.inf  # never the item itself
            order = np.argsort(-key, kind="stable")[:width]
            order = order[np.isfinite(key[order])]
            pad_n[r, : len(order)] = pool[order]
            pad_s[r, : len(order)] = same[order]
        if width > self.neighbours.shape[1]:
            extra = width - self.neighbours.shape[1]
            self.neighbours = np.hstack(
                [self.neighbours, np.full((len(self.neighbours), extra), -1, np.int32)]
            )
            self.neighbour_scores = np.hstack(
                [self.neighbour_scores, np.zeros((len(self.neighbour_scores), extra), np.float32)]
            )
        self.neighbours = np.vstack([self.neighbours, pad_n])
        self.neighbour_scores = np.vstack([self.neighbour_scores, pad_s])

    def recommend(
        self,
        user_id: str | None,
        item_id: str | None,
        n: int,
        exclude: Iterable[str] = (),
        candidate_filter: CandidateFilter | None = None,
        **_: Any,
    ) -> Scored:
        if n <= 0:
            return []
        excluded = set(exclude)
        out: Scored = []
        query = self.item_index.get(item_id) if item_id is not None else None
        if query is not None:
            excluded.add(self.item_ids[query])
            for j, score in zip(
                self.neighbours[query].tolist(), self.neighbour_scores[query].tolist(), strict=True
            ):
                if j < 0:
                    break
                item = self.item_ids[j]
                if item in excluded or (candidate_filter is not None and not candidate_filter(item)):
                    continue
                out.append((item, float(score)))
                excluded.add(item)
                if len(out) >= n:
                    return out
        # fill with popular items (unknown query item, or not enough neighbours)
        fill = top_n(
            self.popularity, self.item_ids, n - len(out), excluded, candidate_filter, self.popularity > 0
        )
        return out + [(item, 0.0) for item, _ in fill]

    def rank(self, user_id: str | None, item_ids: Sequence[str], **_: Any) -> Scored:
        return rank_by(self.popularity, self.item_ids, item_ids)

    def segment(
        self, item_ids: Sequence[str], n: int, candidate_filter: CandidateFilter | None = None
    ) -> Scored:
        return []

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray[Any, Any]], dict[str, list[str]]]:
        arrays: dict[str, np.ndarray[Any, Any]] = {
            "neighbours": self.neighbours,
            "scores": self.neighbour_scores,
            "popularity": self.popularity,
        }
        return {}, arrays, {"items": self.item_ids}

    @classmethod
    def restore(
        cls, meta: dict[str, Any], arrays: dict[str, np.ndarray[Any, Any]], strings: dict[str, list[str]]
    ) -> CooccurrenceModel:
        return cls(strings["items"], arrays["neighbours"], arrays["scores"], arrays["popularity"])
