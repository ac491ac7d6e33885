"""Generated interactions with planted structure, to check that the models learn (tests and ``make bench``).

* user clusters prefer item clusters: a user's event is, with probability ``affinity``, on an item of the
  user's cluster (popularity inside the cluster follows a Zipf law), else on any item (global Zipf);
* planted co-purchase pairs: ``pairs`` items each get a partner in another cluster; every event on the item
  is followed (one second later, probability ``pair_rate``) by an event of the same user on the partner.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data import Table, TableBuilder, Vocab


@dataclass
class Planted:
    table: Table
    partners: dict[str, str]  # planted item -> its partner


def planted_interactions(
    users: int = 1000,
    items: int = 1700,
    per_user: int = 100,
    clusters: int = 10,
    pairs: int = 50,
    affinity: float = 0.8,
    pair_rate: float = 0.9,
    seed: int = 0,
) -> Planted:
    rng = np.random.default_rng(seed)
    user_cluster = rng.integers(0, clusters, users)
    item_cluster = np.arange(items) % clusters
    members = [np.flatnonzero(item_cluster == c) for c in range(clusters)]
    zipf_global = 1.0 / np.arange(1, items + 1) ** 0.8
    cdf_global = np.cumsum(zipf_global) / zipf_global.sum()
    n = users * per_user
    event_user = np.repeat(np.arange(users), per_user)
    in_cluster = rng.random(n) < affinity
    chosen = np.searchsorted(cdf_global, rng.random(n))
    chosen = np.minimum(chosen, items - 1)
    for c in range(clusters):
        wanted = in_cluster & (user_cluster[event_user] == c)
        size = len(members[c])
        zipf = 1.0 / np.arange(1, size + 1) ** 0.8
        cdf = np.cumsum(zipf) / zipf.sum()
        picks = np.minimum(np.searchsorted(cdf, rng.random(int(wanted.sum()))), size - 1)
        chosen[wanted] = members[c][picks]
    timestamps = 1_700_000_000 + np.arange(n, dtype=np.int64) * 60  # in order, one minute apart
    # planted pairs: mid-popularity items, partners in the next cluster
    planted = rng.choice(np.arange(items // 10, items // 2), size=min(pairs, items // 4), replace=False)
    partner = {
        int(a): int(members[(item_cluster[a] + 1) % clusters][rng.integers(len(members[0]) // 2)])
        for a in planted.tolist()
    }
    partner = {a: b for a, b in partner.items() if b not in partner and b != a}
    source = np.isin(chosen, list(partner))
    follow = source & (rng.random(n) < pair_rate)
    extra_items = np.asarray([partner[int(a)] for a in chosen[follow].tolist()], np.int64)
    all_users = np.concatenate([event_user, event_user[follow]])
    all_items = np.concatenate([chosen, extra_items])
    all_ts = np.concatenate([timestamps, timestamps[follow] + 1])
    order = np.lexsort((all_ts,))
    user_vocab = Vocab(f"u{u}" for u in range(users))
    item_vocab = Vocab(f"i{i}" for i in range(items))
    builder = TableBuilder("INTERACTIONS", ["USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE"])
    event_types = Vocab(["click"])
    table = Table(
        "INTERACTIONS",
        users=user_vocab,
        items=item_vocab,
        event_types=event_types,
        arrays={
            "user": all_users[order].astype(np.int32),
            "item": all_items[order].astype(np.int32),
            "timestamp": all_ts[order],
            "event_type": np.zeros(len(order), np.int16),
            "event_value": np.full(len(order), np.nan, np.float32),
            "source": np.zeros(len(order), np.int8),
            "id": np.full(len(order), -1, np.int32),
        },
        field_names=builder.field_names,
    )
    return Planted(table, {f"i{a}": f"i{b}" for a, b in partner.items()})
