"""The ``eventId``s each dataset has seen (PutEvents, PutActionInteractions): a repeat is not counted.

botocore's personalize-events model, ``Event.eventId`` and ``ActionInteraction.eventId``: "An ID associated
with the event. If an event ID is not provided, Amazon Personalize generates a unique ID for the event. An
event ID is not used as an input to the model. Amazon Personalize uses the event ID to distinguish unique
events. Any subsequent events after the first with the same event ID are not used in model training."

Storage choice (memory): an id is kept as its 64-bit BLAKE2b hash, 8 bytes, never as the string (a Python
set of 36-character UUID strings costs about 127 bytes an id). Per dataset:

* ``levels``: sorted ``uint64`` arrays (``searchsorted`` lookups), each at least twice the size of the next,
  so an id is re-merged O(log n) times and a lookup reads about log2(n / ``MERGE_AT``) arrays;
* ``recent``: a Python set of fewer than ``MERGE_AT`` (1024) hashes, the newest, not yet sorted in.

So the store grows by 8 bytes per distinct eventId: 100,000 UUIDs take 0.84 MB (2.9 MB at peak while
merging) against 12.7 MB for a Python set of the strings, at about 30 us an event (tracemalloc, a quick
script; ``tests/emulator/test_emu_event_ids.py`` checks the 8 bytes). That is less than a third of what the
row itself takes in the dataset's ``Table``. Bound: at most ``max_rows`` hashes per dataset (the
DataStore's, default 5,000,000: 40 MB); beyond it the oldest run, at least half the ids, is forgotten (a
retry comes soon after the original; a repeat of a forgotten id counts again). The ids go with the dataset
(DeleteDataset). Two different ids share a hash with probability about n^2 / 2^65 (5 million ids: 7e-7);
the later event would then be taken for a repeat and not recorded, which is accepted.

Persistence mirrors the tables': ``<key hash>.<generation>.ids.npz`` holds the ids when it was written, an
``.ids-delta.npz`` beside it those seen since; ``flush`` rewrites only the delta until it outgrows the base
(or the base run changed in memory), and the index ``event-ids.json`` names the files. Files are read
lazily on a dataset's first eventId after a restart."""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

U64 = npt.NDArray[np.uint64]
MERGE_AT = 1024  # hashes kept in the Python set before they are merged into the sorted array
_SET_ENTRY_BYTES = 72  # a Python int (32) plus its share of the set's table


def event_hash(event_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(event_id.encode("utf-8"), digest_size=8).digest(), "little")


def _contains(array: U64, value: int) -> bool:
    if not len(array):
        return False
    at = int(np.searchsorted(array, np.uint64(value)))
    return at < len(array) and int(array[at]) == value


class _Ids:
    """One dataset's hashes: ``levels``, sorted arrays whose sizes at least halve from one to the next (a
    merged run joins the one before it once it reaches half its size, so an id is merged O(log n) times
    and a lookup searches at most about log2(n / MERGE_AT) arrays), and ``recent``, the unsorted newest.
    ``saved`` is the array last written as the base file (``levels[0]`` while it is unchanged)."""

    __slots__ = ("cap", "levels", "recent", "saved")

    def __init__(self, cap: int, base: U64 | None = None, delta: U64 | None = None) -> None:
        self.cap = cap
        self.levels: list[U64] = [a for a in (base, delta) if a is not None and len(a)]
        self.saved: U64 | None = base
        self.recent: set[int] = set()

    def __len__(self) -> int:
        return sum(len(level) for level in self.levels) + len(self.recent)

    def first(self, value: int) -> bool:
        if value in self.recent or any(_contains(level, value) for level in self.levels):
            return False
        self.recent.add(value)
        if len(self.recent) >= MERGE_AT:
            self.settle()
        return True

    def settle(self) -> None:
        if self.recent:
            self.levels.append(np.sort(np.fromiter(self.recent, np.uint64, len(self.recent))))
            self.recent = set()
        while len(self.levels) >= 2 and 2 * len(self.levels[-1]) >= len(self.levels[-2]):
            last = self.levels.pop()
            self.levels[-1] = np.union1d(self.levels[-1], last)
        while self.levels and len(self) > self.cap:
            # the bound: forget the oldest run (at least half of the ids; the newest are kept)
            self.levels.pop(0)

    def delta(self) -> U64 | None:
        """The hashes not in the saved base file, or None when the base must be written again (it changed,
        or what came since outgrew it)."""
        self.settle()
        if self.saved is None or not self.levels or self.levels[0] is not self.saved:
            return None
        rest = self.levels[1:]
        merged = (
            rest[0] if len(rest) == 1 else np.unique(np.concatenate(rest)) if rest else self.levels[0][:0]
        )
        return merged if len(merged) <= len(self.saved) else None

    def rebase(self) -> U64:
        """Everything as one array, the new base file."""
        self.settle()
        merged = np.unique(np.concatenate(self.levels)) if self.levels else np.zeros(0, np.uint64)
        self.levels = [merged] if len(merged) else []
        self.settle()  # keeps the bound
        self.saved = merged
        return merged

    def nbytes(self) -> int:
        return sum(int(level.nbytes) for level in self.levels) + _SET_ENTRY_BYTES * len(self.recent)


class EventIdStore:
    """eventId hashes per dataset key (``DataStore.dataset_key``). Thread-safe."""

    INDEX = "event-ids.json"

    def __init__(self, cap: int) -> None:
        self.cap = cap  # hashes kept per dataset at most (the DataStore's max_rows)
        self._lock = threading.RLock()
        self._ids: dict[str, _Ids] = {}
        self._on_disk: dict[str, tuple[str, str | None]] = {}  # key -> (base file, delta file or None)
        self._dirty: set[str] = set()
        self._generation = 0
        self.root: Path | None = None

    def first(self, key: str, event_id: str) -> bool:
        """Whether ``event_id`` is new for this dataset (it is remembered from now on)."""
        with self._lock:
            found = self._load(key)
            if found is None:
                found = self._ids[key] = _Ids(self.cap)
            new = found.first(event_hash(event_id))
            if new:
                self._dirty.add(key)
            return new

    def nbytes(self, key: str) -> int:
        with self._lock:
            found = self._load(key)
            return 0 if found is None else found.nbytes()

    def drop(self, key: str) -> None:
        with self._lock:
            if self._ids.pop(key, None) is not None or key in self._on_disk:
                self._dirty.add(key)

    def clear(self) -> None:
        with self._lock:
            self._dirty |= set(self._ids) | set(self._on_disk)
            self._ids.clear()

    def _load(self, key: str) -> _Ids | None:
        found = self._ids.get(key)
        if found is None and key in self._on_disk and key not in self._dirty and self.root is not None:
            base_name, delta_name = self._on_disk[key]
            found = self._ids[key] = _Ids(
                self.cap, _read(self.root / base_name), _read(self.root / delta_name) if delta_name else None
            )
        return found

    # ---- persistence --------------------------------------------------------------------------------
    def attach(self, root: Path) -> None:
        with self._lock:
            self.root = Path(root)
            self._on_disk = {}
            index = self.root / self.INDEX
            if index.exists():
                saved = json.loads(index.read_text(encoding="utf-8"))
                self._on_disk = {k: (v[0], v[1]) for k, v in (saved.get("files") or {}).items()}
                self._generation = int(saved.get("generation", 0))

    def flush(self, file_stem: Any) -> None:
        """Write what changed (``file_stem(key)`` names a dataset's files), then the index."""
        with self._lock:
            if self.root is None or not self._dirty:
                return
            obsolete: list[str] = []
            for key in sorted(self._dirty):
                old = self._on_disk.get(key)
                found = self._ids.get(key)
                if found is None:  # dropped
                    self._on_disk.pop(key, None)
                    obsolete += [n for n in (old or ()) if n]
                    continue
                self._generation += 1
                stem = f"{file_stem(key)}.{self._generation}"
                delta = found.delta() if old is not None else None
                if old is not None and delta is not None:
                    name = f"{stem}.ids-delta.npz"
                    _write(self.root / name, delta)
                    self._on_disk[key] = (old[0], name)
                    obsolete += [old[1]] if old[1] else []
                    continue
                name = f"{stem}.ids.npz"
                _write(self.root / name, found.rebase())
                self._on_disk[key] = (name, None)
                obsolete += [n for n in (old or ()) if n]
            self.root.mkdir(parents=True, exist_ok=True)
            from . import commit_index

            text = json.dumps(
                {"files": {k: list(v) for k, v in self._on_disk.items()}, "generation": self._generation},
                sort_keys=True,
            )
            commit_index(self.root / self.INDEX, text, obsolete)
            self._dirty.clear()


def _write(path: Path, hashes: U64) -> None:
    from . import atomic_savez

    atomic_savez(path, {"hashes": hashes})


def _read(path: Path) -> U64:
    with np.load(path, allow_pickle=False) as data:
        return np.asarray(data["hashes"], np.uint64)
