"""The emulator's data plane storage: imported and streamed datasets as compact columnar arrays.

Every dataset the emulator knows (one per dataset group and type) is a ``Table``: one id column, coded string
columns (``Vocab`` + ``int32`` codes, ``-1`` for null) and, for interactions, the typed columns training
needs (``user``/``item`` codes, ``timestamp`` seconds, ``event_type`` code, ``event_value`` float32 with NaN
for none, ``source`` 0 = bulk import / 1 = PUT API). Vocabularies only grow, so a ``Table`` handed out by
``snapshot()`` stays valid while new rows arrive: a model trained on a snapshot keeps seeing exactly the data
it was trained on.

``DataStore`` holds the tables of every account/region, keyed by dataset group ARN and dataset type
(``"INTERACTIONS"``, ``"ITEMS"``, ``"USERS"``, ``"ACTIONS"``, ``"ACTION_INTERACTIONS"``). It is used by

* import jobs (``stage`` at job creation, ``commit`` when the job becomes ACTIVE: FULL replaces the bulk rows
  and keeps the PUT rows, INCREMENTAL appends; items/users with an existing id are replaced);
* the events API (``append_events``, ``put_records``; ``first_event`` remembers each dataset's ``eventId``s
  so a repeated one is not recorded again: ``event_ids.py``, 64-bit hashes, 8 bytes an id);
* training (``snapshot``), filters (``table(...).value(id, column)``, ``user_history``) and exports.

Memory bound: ``max_rows`` (default 5,000,000 rows per dataset); an import that would exceed it fails with a
clear ``failureReason`` instead of exhausting memory.

Persistence: ``attach(directory)`` keeps every table (and every dataset's eventId hashes) as ``.npz`` files
(no pickles) in ``directory``;
changed tables are written by ``flush()`` (the emulator calls it from ``snapshot()``, so the server's state
file and the arrays beside it are saved together) and read back lazily on first use after a restart.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import tempfile
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .event_ids import EventIdStore

DATASET_TYPES = ("INTERACTIONS", "ITEMS", "USERS", "ACTIONS", "ACTION_INTERACTIONS")
ID_COLUMN = {
    "INTERACTIONS": None,
    "ACTION_INTERACTIONS": None,
    "ITEMS": "ITEM_ID",
    "USERS": "USER_ID",
    "ACTIONS": "ACTION_ID",
}
#: Interactions columns stored in typed arrays (everything else is a coded string column).
TYPED = ("USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE", "EVENT_VALUE")
BULK, PUT = 0, 1
DEFAULT_MAX_ROWS = 5_000_000

IntArray = npt.NDArray[np.int32]


class DataLimitExceeded(Exception):
    """A dataset would exceed the emulator's memory bound (the message says what to do)."""


class Vocab:
    """An append-only string <-> int code mapping."""

    __slots__ = ("_codes", "strings")

    def __init__(self, strings: Iterable[str] = ()) -> None:
        self.strings: list[str] = []
        self._codes: dict[str, int] = {}
        for s in strings:
            self.code(s)

    def __len__(self) -> int:
        return len(self.strings)

    def __contains__(self, value: object) -> bool:
        return value in self._codes

    def code(self, value: str) -> int:
        """The code of ``value``, adding it when new."""
        found = self._codes.get(value)
        if found is None:
            found = self._codes[value] = len(self.strings)
            self.strings.append(value)
        return found

    def get(self, value: str) -> int:
        """The code of ``value`` or -1."""
        return self._codes.get(value, -1)

    def codes(self, values: Iterable[str | None]) -> IntArray:
        return np.fromiter((-1 if v is None else self.code(v) for v in values), dtype=np.int32)


def canonical_field(name: str) -> str:
    """Schema field name for an events-API property key: ``numRatings`` -> ``NUM_RATINGS``."""
    if "_" in name or name.isupper():
        return name.upper()
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).upper()


class Table:
    """One dataset's rows, column-wise (immutable once returned by ``DataStore.snapshot``/``table``).

    ``ids``/``id_codes``: for items, users and actions, the record id column (``ids`` is the vocabulary,
    ``id_codes[row]`` its code). Interactions: ``users``/``items`` vocabularies and the typed arrays
    ``user``, ``item``, ``timestamp`` (int64 epoch seconds), ``event_type`` (int16 code into ``event_types``,
    -1 when the dataset has no EVENT_TYPE), ``event_value`` (float32, NaN when absent), ``source`` (int8,
    ``BULK``/``PUT``). ``columns``: every other schema column as (codes int32 with -1 = null, its Vocab)."""

    def __init__(
        self,
        dataset_type: str,
        *,
        users: Vocab | None = None,
        items: Vocab | None = None,
        event_types: Vocab | None = None,
        ids: Vocab | None = None,
        arrays: Mapping[str, np.ndarray[Any, Any]] | None = None,
        columns: Mapping[str, tuple[IntArray, Vocab]] | None = None,
        field_names: Sequence[str] = (),
    ) -> None:
        self.dataset_type = dataset_type
        self.users = users if users is not None else Vocab()
        self.items = items if items is not None else Vocab()
        self.event_types = event_types if event_types is not None else Vocab()
        self.ids = ids if ids is not None else Vocab()
        arrays = dict(arrays or {})
        n = len(next(iter(arrays.values()))) if arrays else 0
        self.user: IntArray = arrays.get("user", np.full(n, -1, np.int32)).astype(np.int32, copy=False)
        self.item: IntArray = arrays.get("item", np.full(n, -1, np.int32)).astype(np.int32, copy=False)
        self.timestamp: npt.NDArray[np.int64] = arrays.get("timestamp", np.zeros(n, np.int64)).astype(
            np.int64, copy=False
        )
        self.event_type: npt.NDArray[np.int16] = arrays.get("event_type", np.full(n, -1, np.int16)).astype(
            np.int16, copy=False
        )
        self.event_value: npt.NDArray[np.float32] = arrays.get(
            "event_value", np.full(n, np.nan, np.float32)
        ).astype(np.float32, copy=False)
        self.source: npt.NDArray[np.int8] = arrays.get("source", np.zeros(n, np.int8)).astype(
            np.int8, copy=False
        )
        self.id_codes: IntArray = arrays.get("id", np.full(n, -1, np.int32)).astype(np.int32, copy=False)
        self.columns: dict[str, tuple[IntArray, Vocab]] = dict(columns or {})
        self.field_names: list[str] = [f.upper() for f in field_names]
        self._index: dict[int, int] | None = None

    # ---- size ---------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.timestamp)

    @property
    def interactions(self) -> bool:
        return ID_COLUMN.get(self.dataset_type) is None

    def nbytes(self) -> int:
        arrays = (self.user, self.item, self.timestamp, self.event_type, self.event_value, self.source)
        return (
            sum(a.nbytes for a in arrays)
            + self.id_codes.nbytes
            + sum(c.nbytes for c, _ in self.columns.values())
        )

    # ---- record lookups (items, users, actions) ------------------------------------------------------
    def row_of(self, record_id: str) -> int:
        """The row of a record id (the newest row when the id was written more than once), or -1."""
        code = self.ids.get(record_id)
        if code < 0:
            return -1
        if self._index is None:
            index: dict[int, int] = {}
            for row, c in enumerate(self.id_codes.tolist()):
                index[c] = row
            self._index = index
        return self._index.get(code, -1)

    def value(self, record_id: str, column: str) -> str | None:
        """The raw string value of ``column`` (schema name, any case) for a record id, or None."""
        row = self.row_of(record_id)
        return None if row < 0 else self.cell(row, column)

    def cell(self, row: int, column: str) -> str | None:
        col = self.columns.get(column.upper())
        if col is None:
            return None
        code = int(col[0][row])
        return None if code < 0 else col[1].strings[code]

    def record(self, record_id: str) -> dict[str, str]:
        """Every non-null column of a record (schema names, upper case) as strings."""
        row = self.row_of(record_id)
        if row < 0:
            return {}
        out = {}
        for name in self.columns:
            v = self.cell(row, name)
            if v is not None:
                out[name] = v
        return out

    def record_ids(self) -> list[str]:
        """Distinct record ids, in order of first appearance."""
        seen = np.unique(self.id_codes[self.id_codes >= 0])
        return [self.ids.strings[c] for c in seen.tolist()]

    def column_values(self, column: str) -> list[str | None]:
        """``column`` for every row (aligned with the rows)."""
        col = self.columns.get(column.upper())
        if col is None:
            return [None] * len(self)
        strings = col[1].strings
        return [None if c < 0 else strings[c] for c in col[0].tolist()]

    def latest_rows(self) -> IntArray:
        """Rows holding the current version of every record id (a later write of an id replaces it)."""
        if not len(self):
            return np.zeros(0, np.int32)
        reversed_codes = self.id_codes[::-1]
        _, first = np.unique(reversed_codes, return_index=True)
        rows = (len(self) - 1 - first).astype(np.int32)
        rows.sort()
        return rows

    # ---- interactions lookups ------------------------------------------------------------------------
    def put_rows(self) -> npt.NDArray[np.int64]:
        """Indices of the rows that came from the events API (``source == PUT``), in order (cached: a table
        is immutable)."""
        found: npt.NDArray[np.int64] | None = self.__dict__.get("_put_rows")
        if found is None:
            found = self.__dict__["_put_rows"] = np.flatnonzero(self.source == PUT)
        return found

    def user_rows(self, user_id: str) -> IntArray:
        code = self.users.get(user_id)
        if code < 0:
            return np.zeros(0, np.int32)
        return np.flatnonzero(self.user == code).astype(np.int32)

    def user_history(
        self, user_id: str, event_types: Iterable[str] | None = None
    ) -> list[tuple[str, str, int]]:
        """``(item_id, event_type, timestamp)`` of a user's interactions, oldest first."""
        rows = self.user_rows(user_id)
        if event_types is not None:
            wanted = {self.event_types.get(e) for e in event_types} - {-1}
            rows = rows[np.isin(self.event_type[rows], list(wanted))]
        rows = rows[np.argsort(self.timestamp[rows], kind="stable")]
        types = self.event_types.strings
        return [
            (self.items.strings[i], types[e] if e >= 0 else "", int(t))
            for i, e, t in zip(
                self.item[rows].tolist(),
                self.event_type[rows].tolist(),
                self.timestamp[rows].tolist(),
                strict=True,
            )
        ]

    def select(self, rows: npt.NDArray[Any]) -> Table:
        """A table of the given rows (shares the vocabularies)."""
        arrays = {
            "user": self.user[rows],
            "item": self.item[rows],
            "timestamp": self.timestamp[rows],
            "event_type": self.event_type[rows],
            "event_value": self.event_value[rows],
            "source": self.source[rows],
            "id": self.id_codes[rows],
        }
        return Table(
            self.dataset_type,
            users=self.users,
            items=self.items,
            event_types=self.event_types,
            ids=self.ids,
            arrays=arrays,
            columns={k: (c[rows], v) for k, (c, v) in self.columns.items()},
            field_names=self.field_names,
        )

    # ---- rows as text (exports) ------------------------------------------------------------------
    def rows_as_text(self, field_names: Sequence[str]) -> Iterator[list[str]]:
        """Each row as strings in the order of ``field_names`` (schema names), for CSV export."""
        cols: list[list[str]] = []
        n = len(self)
        for name in field_names:
            upper = name.upper()
            if upper == "USER_ID" and self.interactions:
                cols.append([self.users.strings[c] for c in self.user.tolist()])
            elif upper == "ITEM_ID" and self.interactions:
                cols.append([self.items.strings[c] for c in self.item.tolist()])
            elif upper == "TIMESTAMP" and self.interactions:
                cols.append([str(t) for t in self.timestamp.tolist()])
            elif upper == "EVENT_TYPE" and self.interactions:
                types = self.event_types.strings
                cols.append([types[c] if c >= 0 else "" for c in self.event_type.tolist()])
            elif upper == "EVENT_VALUE" and self.interactions:
                cols.append(["" if math.isnan(v) else _num(v) for v in self.event_value.tolist()])
            elif ID_COLUMN.get(self.dataset_type) == upper:
                cols.append([self.ids.strings[c] for c in self.id_codes.tolist()])
            else:
                cols.append([v or "" for v in self.column_values(upper)])
        for row in range(n):
            yield [c[row] for c in cols]


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


class TableBuilder:
    """Accumulates rows (from CSV or the events API) and builds a ``Table`` sharing a base's vocabularies."""

    def __init__(self, dataset_type: str, field_names: Sequence[str], base: Table | None = None) -> None:
        self.dataset_type = dataset_type
        self.field_names = [f.upper() for f in field_names]
        self.users = base.users if base is not None else Vocab()
        self.items = base.items if base is not None else Vocab()
        self.event_types = base.event_types if base is not None else Vocab()
        self.ids = base.ids if base is not None else Vocab()
        self._col_vocab: dict[str, Vocab] = {k: v for k, (_, v) in (base.columns.items() if base else [])}
        self._user: list[int] = []
        self._item: list[int] = []
        self._ts: list[int] = []
        self._etype: list[int] = []
        self._evalue: list[float] = []
        self._source: list[int] = []
        self._id: list[int] = []
        self._cols: dict[str, list[int]] = {}
        self.rows = 0

    def add(self, values: Mapping[str, str | None], source: int = BULK) -> None:
        """One row: ``values`` maps upper-case schema names to raw strings (None/"" = null)."""
        inter = ID_COLUMN.get(self.dataset_type) is None
        idcol = ID_COLUMN.get(self.dataset_type)
        row_cols = dict(values)
        if inter:
            user = row_cols.pop("USER_ID", None) or ""
            item = row_cols.pop("ITEM_ID", None) or row_cols.pop("ACTION_ID", None) or ""
            self._user.append(self.users.code(user) if user else -1)
            self._item.append(self.items.code(item) if item else -1)
            ts = row_cols.pop("TIMESTAMP", None)
            self._ts.append(int(float(ts)) if ts else 0)
            et = row_cols.pop("EVENT_TYPE", None)
            self._etype.append(self.event_types.code(et) if et else -1)
            ev = row_cols.pop("EVENT_VALUE", None)
            self._evalue.append(float(ev) if ev not in (None, "") else math.nan)
        else:
            rid = row_cols.pop(idcol or "", None) or ""
            self._id.append(self.ids.code(rid))
            self._ts.append(0)
        self._source.append(source)
        for name in self._cols:
            if name not in row_cols:
                self._cols[name].append(-1)
        for name, value in row_cols.items():
            if name not in self._cols:
                self._cols[name] = [-1] * self.rows
            vocab = self._col_vocab.setdefault(name, Vocab())
            self._cols[name].append(-1 if value in (None, "") else vocab.code(str(value)))
        self.rows += 1

    def build(self) -> Table:
        n = self.rows
        arrays: dict[str, np.ndarray[Any, Any]] = {
            "timestamp": np.asarray(self._ts, np.int64),
            "source": np.asarray(self._source, np.int8),
        }
        if ID_COLUMN.get(self.dataset_type) is None:
            arrays.update(
                user=np.asarray(self._user, np.int32),
                item=np.asarray(self._item, np.int32),
                event_type=np.asarray(self._etype, np.int16),
                event_value=np.asarray(self._evalue, np.float32),
                id=np.full(n, -1, np.int32),
            )
        else:
            arrays["id"] = np.asarray(self._id, np.int32)
        columns = {k: (np.asarray(v, np.int32), self._col_vocab[k]) for k, v in self._cols.items()}
        return Table(
            self.dataset_type,
            users=self.users,
            items=self.items,
            event_types=self.event_types,
            ids=self.ids,
            arrays=arrays,
            columns=columns,
            field_names=self.field_names,
        )


def concat(first: Table, second: Table) -> Table:
    """Rows of ``first`` then ``second`` (``second`` is re-coded into ``first``'s vocabularies if needed)."""
    second = _rebase(second, first)
    names = list(dict.fromkeys([*first.columns, *second.columns]))
    columns: dict[str, tuple[IntArray, Vocab]] = {}
    for name in names:
        vocab = (first.columns.get(name) or second.columns[name])[1]
        a = first.columns[name][0] if name in first.columns else np.full(len(first), -1, np.int32)
        b = second.columns[name][0] if name in second.columns else np.full(len(second), -1, np.int32)
        if (
            name in first.columns
            and name in second.columns
            and first.columns[name][1] is not second.columns[name][1]
        ):
            b = _recode(b, second.columns[name][1], vocab)
        columns[name] = (np.concatenate([a, b]), vocab)
    event_types = first.event_types
    etype_b = second.event_type
    if second.event_types is not event_types:
        etype_b = _recode(second.event_type.astype(np.int32), second.event_types, event_types).astype(
            np.int16
        )
    arrays = {
        "user": np.concatenate([first.user, second.user]),
        "item": np.concatenate([first.item, second.item]),
        "timestamp": np.concatenate([first.timestamp, second.timestamp]),
        "event_type": np.concatenate([first.event_type, etype_b]),
        "event_value": np.concatenate([first.event_value, second.event_value]),
        "source": np.concatenate([first.source, second.source]),
        "id": np.concatenate([first.id_codes, second.id_codes]),
    }
    fields = list(dict.fromkeys([*first.field_names, *second.field_names]))
    return Table(
        first.dataset_type,
        users=first.users,
        items=first.items,
        event_types=event_types,
        ids=first.ids,
        arrays=arrays,
        columns=columns,
        field_names=fields,
    )


def _recode(codes: IntArray, source: Vocab, target: Vocab) -> IntArray:
    mapping = np.asarray([target.code(s) for s in source.strings] + [-1], np.int32)
    return mapping[codes]  # -1 indexes the trailing -1


# ---- persistence helpers ----------------------------------------------------------------------------
def pack_strings(strings: Sequence[str]) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    encoded = [s.encode("utf-8") for s in strings]
    offsets = np.zeros(len(encoded) + 1, np.int64)
    if encoded:
        np.cumsum([len(b) for b in encoded], out=offsets[1:])
    return np.frombuffer(b"".join(encoded), np.uint8).copy(), offsets


def unpack_strings(data: npt.NDArray[np.uint8], offsets: npt.NDArray[np.int64]) -> list[str]:
    raw = data.tobytes()
    bounds = offsets.tolist()
    return [raw[bounds[i] : bounds[i + 1]].decode("utf-8") for i in range(len(bounds) - 1)]


def save_table(path: Path, table: Table) -> None:
    arrays: dict[str, np.ndarray[Any, Any]] = {
        "user": table.user,
        "item": table.item,
        "timestamp": table.timestamp,
        "event_type": table.event_type,
        "event_value": table.event_value,
        "source": table.source,
        "id": table.id_codes,
    }
    vocabs = {"users": table.users, "items": table.items, "event_types": table.event_types, "ids": table.ids}
    for name, vocab in vocabs.items():
        arrays[f"v:{name}:data"], arrays[f"v:{name}:off"] = pack_strings(vocab.strings)
    for i, (codes, vocab) in enumerate(table.columns.values()):
        arrays[f"c{i}:codes"] = codes
        arrays[f"c{i}:data"], arrays[f"c{i}:off"] = pack_strings(vocab.strings)
    meta = {
        "datasetType": table.dataset_type,
        "fields": table.field_names,
        "columns": list(table.columns),
    }
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8).copy()
    atomic_savez(path, arrays)


def commit_index(index: Path, text: str, obsolete: Iterable[str]) -> None:
    """Replace the JSON `index` of a directory of array files atomically (a crash leaves the old or the new
    one), then remove the files the new index no longer names (`obsolete`, names in the same directory)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{index.stem}.", suffix=".tmp", dir=index.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, index)
    for name in obsolete:
        with contextlib.suppress(OSError):
            (index.parent / name).unlink()


def atomic_savez(path: Path, arrays: Mapping[str, np.ndarray[Any, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, **arrays)  # type: ignore[arg-type]
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def load_table(path: Path) -> Table:
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(data["meta"].tobytes().decode())
        vocabs = {
            name: Vocab(unpack_strings(data[f"v:{name}:data"], data[f"v:{name}:off"]))
            for name in ("users", "items", "event_types", "ids")
        }
        columns = {
            name: (data[f"c{i}:codes"], Vocab(unpack_strings(data[f"c{i}:data"], data[f"c{i}:off"])))
            for i, name in enumerate(meta["columns"])
        }
        arrays = {
            k: data[k] for k in ("user", "item", "timestamp", "event_type", "event_value", "source", "id")
        }
    return Table(
        meta["datasetType"],
        users=vocabs["users"],
        items=vocabs["items"],
        event_types=vocabs["event_types"],
        ids=vocabs["ids"],
        arrays=arrays,
        columns=columns,
        field_names=meta["fields"],
    )


def _file_name(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:32] + ".npz"


class DataStore:
    """Every dataset's rows, plus staged import rows, for all accounts and regions. Thread-safe.

    Keys: ``(dataset_group_arn, dataset_type)`` for datasets; ``stage``/``commit`` use the import job ARN."""

    INDEX = "index.json"

    def __init__(self, max_rows: int = DEFAULT_MAX_ROWS) -> None:
        self.max_rows = max_rows
        self._lock = threading.RLock()
        self._tables: dict[str, Table] = {}
        self._pending: dict[str, TableBuilder] = {}  # rows appended by the events API, not yet merged
        self._dirty: set[str] = set()
        self._on_disk: dict[str, str] = {}  # key -> file name (loaded lazily)
        self._deltas: dict[str, tuple[str, int]] = {}  # key -> (delta file, rows in the base file)
        self._rewrite: set[str] = set()  # changed other than by appending rows: write the whole table
        self._saved_rows: dict[str, int] = {}  # rows of each base file
        self._generation = 0  # file names never repeat, so the index always names complete files
        self.root: Path | None = None
        self.event_ids = EventIdStore(max_rows)

    # ---- keys ---------------------------------------------------------------------------------------
    @staticmethod
    def dataset_key(dataset_group_arn: str, dataset_type: str) -> str:
        return f"dataset|{dataset_group_arn}|{dataset_type.upper()}"

    @staticmethod
    def staged_key(job_arn: str) -> str:
        return f"staged|{job_arn}"

    # ---- reading ------------------------------------------------------------------------------------
    def table(self, dataset_group_arn: str, dataset_type: str) -> Table | None:
        """The dataset's current rows (bulk + PUT), or None when it holds none."""
        return self._get(self.dataset_key(dataset_group_arn, dataset_type))

    def interactions(self, dataset_group_arn: str) -> Table | None:
        return self.table(dataset_group_arn, "INTERACTIONS")

    def items(self, dataset_group_arn: str) -> Table | None:
        return self.table(dataset_group_arn, "ITEMS")

    def users(self, dataset_group_arn: str) -> Table | None:
        return self.table(dataset_group_arn, "USERS")

    def actions(self, dataset_group_arn: str) -> Table | None:
        return self.table(dataset_group_arn, "ACTIONS")

    def snapshot(self, dataset_group_arn: str, dataset_type: str = "INTERACTIONS") -> Table | None:
        """Same as ``table``: tables are immutable, so the result is a consistent snapshot for training."""
        return self.table(dataset_group_arn, dataset_type)

    def user_puts_after(self, dataset_group_arn: str, user_id: str, start_put: int) -> list[str]:
        """Items of ``user_id``'s events-API interactions beyond the first ``start_put`` PUT rows (a model's
        ``trained_puts``: the events since its training), oldest first. PUT rows keep their order when an
        import replaces or extends the bulk rows, so later imports neither add to this nor hide events. Rows
        appended by the events API are read where they wait, without rebuilding the table."""
        key = self.dataset_key(dataset_group_arn, "INTERACTIONS")
        with self._lock:
            table = self._tables.get(key)
            if table is None and key in self._on_disk:
                table = self._get(key)
            found: list[tuple[int, int, str]] = []
            seen = 0
            if table is not None:
                puts = table.put_rows()
                seen = len(puts)
                code = table.users.get(user_id)
                if code >= 0 and seen > start_put:
                    tail = puts[start_put:]
                    rows = tail[table.user[tail] == code]
                    for row, item, ts in zip(
                        rows.tolist(), table.item[rows].tolist(), table.timestamp[rows].tolist(), strict=True
                    ):
                        if item >= 0:
                            found.append((ts, row, table.items.strings[item]))
            pending = self._pending.get(key)
            if pending is not None:
                offset = len(table) if table is not None else 0
                code = pending.users.get(user_id)
                if code >= 0:
                    for k, (user, item) in enumerate(zip(pending._user, pending._item, strict=True)):
                        if user == code and item >= 0 and seen + k >= start_put:
                            found.append((pending._ts[k], offset + k, pending.items.strings[item]))
            return [item for _, _, item in sorted(found)]

    def _get(self, key: str) -> Table | None:
        with self._lock:
            pending = self._pending.pop(key, None)
            table = self._tables.get(key)
            if table is None and key in self._on_disk and self.root is not None:
                table = load_table(self.root / self._on_disk[key])
                if key in self._deltas:  # rows appended since the base file was written
                    table = concat(table, load_table(self.root / self._deltas[key][0]))
                self._tables[key] = table
            if pending is not None and pending.rows:
                built = pending.build()
                table = built if table is None else concat(table, built)
                self._tables[key] = table
                self._dirty.add(key)
            return table

    # ---- writing ------------------------------------------------------------------------------------
    def stage(self, job_arn: str, table: Table) -> None:
        """Rows parsed by an import job, kept until the job ends (``commit``) or is dropped."""
        with self._lock:
            key = self.staged_key(job_arn)
            self._tables[key] = table
            self._dirty.add(key)
            self._rewrite.add(key)

    def staged(self, job_arn: str) -> Table | None:
        return self._get(self.staged_key(job_arn))

    def commit(self, job_arn: str, dataset_group_arn: str, dataset_type: str, mode: str) -> int:
        """Apply a finished import job's rows: FULL replaces the bulk rows (PUT rows stay), INCREMENTAL
        appends. Returns the dataset's row count afterwards."""
        with self._lock:
            staged = self.staged(job_arn)
            self.drop(self.staged_key(job_arn))
            key = self.dataset_key(dataset_group_arn, dataset_type)
            current = self._get(key)
            incoming = staged if staged is not None else TableBuilder(dataset_type, []).build()
            if current is None:
                result = incoming
            else:
                keep = (
                    current
                    if mode == "INCREMENTAL"
                    else current.select(np.flatnonzero(current.source == PUT))
                )
                result = concat(keep, incoming)
            self._check_size(result, dataset_type)
            self._tables[key] = result
            self._dirty.add(key)
            self._rewrite.add(key)
            return len(result)

    def builder(self, dataset_group_arn: str, dataset_type: str, field_names: Sequence[str]) -> TableBuilder:
        """A builder for rows to stage (vocabularies shared with the dataset, so committing is cheap)."""
        base = self.table(dataset_group_arn, dataset_type)
        return TableBuilder(dataset_type, field_names, base)

    def append(
        self,
        dataset_group_arn: str,
        dataset_type: str,
        rows: Iterable[Mapping[str, str | None]],
        field_names: Sequence[str] = (),
    ) -> int:
        """Append PUT rows (events API): upper-case schema names -> raw strings. Returns rows appended."""
        key = self.dataset_key(dataset_group_arn, dataset_type)
        with self._lock:
            pending = self._pending.get(key)
            if pending is None:
                base = self._tables.get(key)
                if base is None and key in self._on_disk:
                    base = self._get(key)
                pending = self._pending[key] = TableBuilder(dataset_type, field_names, base)
            count = 0
            for row in rows:
                pending.add(row, PUT)
                count += 1
            self._dirty.add(key)
            return count

    def append_events(self, dataset_group_arn: str, events: Iterable[Mapping[str, str | None]]) -> int:
        """PutEvents: rows with USER_ID, ITEM_ID, TIMESTAMP (epoch seconds), EVENT_TYPE, EVENT_VALUE and any
        Interactions metadata columns (upper-case schema names)."""
        return self.append(dataset_group_arn, "INTERACTIONS", events)

    def put_records(
        self, dataset_group_arn: str, dataset_type: str, records: Iterable[Mapping[str, str | None]]
    ) -> int:
        """PutItems/PutUsers/PutActions: each record carries its id column (ITEM_ID/USER_ID/ACTION_ID); a
        record with an existing id replaces it (``Table.value``/``record`` return the newest row)."""
        return self.append(dataset_group_arn, dataset_type, records)

    def first_event(self, dataset_group_arn: str, dataset_type: str, event_id: str) -> bool:
        """Whether ``event_id`` is the first event with this id in the dataset (PutEvents: INTERACTIONS,
        PutActionInteractions: ACTION_INTERACTIONS); it is remembered, persisted and dropped with the
        dataset."""
        return self.event_ids.first(self.dataset_key(dataset_group_arn, dataset_type), event_id)

    def event_id_bytes(self, dataset_group_arn: str, dataset_type: str) -> int:
        """Memory the dataset's remembered eventIds take."""
        return self.event_ids.nbytes(self.dataset_key(dataset_group_arn, dataset_type))

    def remove_users(self, dataset_group_arn: str, user_ids: Iterable[str]) -> int:
        """Data deletion job: drop every row of these users from all datasets of the group; returns the
        number of records deleted."""
        wanted = set(user_ids)
        removed = 0
        with self._lock:
            for dataset_type in DATASET_TYPES:
                key = self.dataset_key(dataset_group_arn, dataset_type)
                table = self._get(key)
                if table is None:
                    continue
                if table.interactions:
                    codes = [table.users.get(u) for u in wanted]
                    doomed = np.isin(table.user, [c for c in codes if c >= 0])
                elif dataset_type == "USERS":
                    codes = [table.ids.get(u) for u in wanted]
                    doomed = np.isin(table.id_codes, [c for c in codes if c >= 0])
                else:
                    continue
                count = int(doomed.sum())
                if count:
                    self._tables[key] = table.select(np.flatnonzero(~doomed))
                    self._dirty.add(key)
                    self._rewrite.add(key)
                    removed += count
        return removed

    def drop(self, key: str) -> None:
        with self._lock:
            self._tables.pop(key, None)
            self._pending.pop(key, None)
            self._dirty.add(key)
            self._rewrite.add(key)
            self.event_ids.drop(key)

    def drop_dataset(self, dataset_group_arn: str, dataset_type: str) -> None:
        self.drop(self.dataset_key(dataset_group_arn, dataset_type))

    def clear(self) -> None:
        with self._lock:
            self._dirty |= set(self._tables) | set(self._on_disk) | set(self._pending)
            self._rewrite |= self._dirty
            self._tables.clear()
            self._pending.clear()
            self.event_ids.clear()

    def _check_size(self, table: Table, dataset_type: str) -> None:
        if len(table) > self.max_rows:
            raise DataLimitExceeded(
                f"The {dataset_type} dataset would hold {len(table):,} rows; the emulator keeps at most "
                f"{self.max_rows:,} rows per dataset (PersonalizeEmulator(max_rows=...) raises the bound)."
            )

    # ---- persistence --------------------------------------------------------------------------------
    def attach(self, root: Path) -> None:
        """Keep tables in ``root`` (created when needed); tables saved there before are loaded lazily."""
        with self._lock:
            self.root = Path(root)
            index = self.root / self.INDEX
            self._on_disk, self._deltas = {}, {}
            if index.exists():
                saved = json.loads(index.read_text(encoding="utf-8"))
                tables = saved.get("tables", saved) if isinstance(saved, dict) else {}
                self._on_disk = {k: v for k, v in tables.items() if isinstance(v, str)}
                self._deltas = {k: (v[0], int(v[1])) for k, v in (saved.get("deltas") or {}).items()}
                self._saved_rows = {k: int(v) for k, v in (saved.get("rows") or {}).items()}
                self._generation = int(saved.get("generation", 0)) if isinstance(saved, dict) else 0
            self.event_ids.attach(self.root)

    def flush(self) -> None:
        """Write changed tables (and the index) to ``root``; remove files of dropped tables."""
        with self._lock:
            if self.root is None:
                return
            self.event_ids.flush(lambda key: _file_name(key)[:-4])
            for key in list(self._pending):
                self._get(key)
            if not self._dirty:
                return
            obsolete: list[str] = []  # removed once the new index is in place (crash-safe)
            for key in sorted(self._dirty):
                table = self._tables.get(key)
                delta = self._deltas.get(key)
                old = self._on_disk.get(key)
                if table is None:
                    self._on_disk.pop(key, None)
                    self._deltas.pop(key, None)
                    obsolete += [n for n in (old, delta[0] if delta else None) if n]
                    continue
                base_rows = delta[1] if delta else self._saved_rows.get(key, -1)
                appended = len(table) - base_rows
                if (
                    key not in self._rewrite
                    and old is not None
                    and base_rows >= 0
                    and 0 < appended <= base_rows
                ):
                    # only rows were appended (the events API): write them alone, beside the unchanged base
                    self._generation += 1
                    delta_name = f"{_file_name(key)[:-4]}.{self._generation}.delta.npz"
                    save_table(self.root / delta_name, table.select(np.arange(base_rows, len(table))))
                    self._deltas[key] = (delta_name, base_rows)
                    obsolete += [delta[0]] if delta else []
                    continue
                self._generation += 1
                name = f"{_file_name(key)[:-4]}.{self._generation}.npz"
                save_table(self.root / name, table)
                self._on_disk[key] = name
                self._saved_rows[key] = len(table)
                self._deltas.pop(key, None)
                obsolete += [n for n in (old, delta[0] if delta else None) if n]
            self.root.mkdir(parents=True, exist_ok=True)
            document = {
                "tables": self._on_disk,
                "rows": {k: v for k, v in self._saved_rows.items() if k in self._on_disk},
                "deltas": {k: list(v) for k, v in self._deltas.items()},
                "generation": self._generation,
            }
            commit_index(self.root / self.INDEX, json.dumps(document, sort_keys=True, indent=0), obsolete)
            self._rewrite.clear()
            self._dirty.clear()


def _rebase(table: Table, onto: Table) -> Table:
    """``table`` with codes re-expressed in ``onto``'s vocabularies (no-op when they are shared)."""
    same_columns = all(onto.columns.get(k, (None, v))[1] is v for k, (_, v) in table.columns.items())
    mine = (table.users, table.items, table.ids, table.event_types)
    theirs = (onto.users, onto.items, onto.ids, onto.event_types)
    if same_columns and all(a is b for a, b in zip(mine, theirs, strict=True)):
        return table
    arrays: dict[str, np.ndarray[Any, Any]] = {
        "user": _recode(table.user, table.users, onto.users),
        "item": _recode(table.item, table.items, onto.items),
        "timestamp": table.timestamp,
        "event_type": _recode(table.event_type.astype(np.int32), table.event_types, onto.event_types).astype(
            np.int16
        ),
        "event_value": table.event_value,
        "source": table.source,
        "id": _recode(table.id_codes, table.ids, onto.ids),
    }
    columns = {}
    for name, (codes, vocab) in table.columns.items():
        target = onto.columns[name][1] if name in onto.columns else vocab
        columns[name] = (_recode(codes, vocab, target) if target is not vocab else codes, target)
    return Table(
        table.dataset_type,
        users=onto.users,
        items=onto.items,
        event_types=onto.event_types,
        ids=onto.ids,
        arrays=arrays,
        columns=columns,
        field_names=table.field_names,
    )
