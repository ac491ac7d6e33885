"""Reading import data from S3 (through an injected boto3 S3 client) and summarising it.

Values are checked against the schema's Avro types (numbers, booleans, non-null fields). The records keep
statistics (row count, per-user interaction counts, distinct items and event types) for the training
preconditions; the rows themselves go to the columnar ``DataStore`` through a ``TableBuilder``."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .data import TableBuilder

S3ClientFactory = Callable[[str], Any]


class ImportFailure(Exception):
    """The job ends CREATE FAILED with this message as ``failureReason``."""


def split_s3_url(url: str) -> tuple[str, str]:
    if not url.startswith("s3://"):
        raise ImportFailure(f"Only s3:// data locations are supported by the emulator, got {url}.")
    bucket, _, key = url[len("s3://") :].partition("/")
    if not bucket:
        raise ImportFailure(f"The data location {url} does not name a bucket.")
    return bucket, key


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", type(exc).__name__))
    return type(exc).__name__


def has_input(s3: Any, url: str) -> bool:
    """Whether ``url`` names an object, or a folder prefix ending in ``/`` with at least one file under it.
    S3 errors (no bucket, access denied) propagate."""
    bucket, key = split_s3_url(url)
    if key == "" or key.endswith("/"):
        paginator = s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket, Prefix=key):
            if any(not o["Key"].endswith("/") for o in page.get("Contents", [])):
                return True
        return False
    s3.head_object(Bucket=bucket, Key=key)
    return True


def read_objects(s3: Any, url: str) -> list[tuple[str, bytes]]:
    """Objects at ``url``: one object, or every object under a folder prefix ending in ``/``."""
    bucket, key = split_s3_url(url)
    try:
        if key == "" or key.endswith("/"):
            keys: list[str] = []
            paginator = s3.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=bucket, Prefix=key):
                keys.extend(o["Key"] for o in page.get("Contents", []) if not o["Key"].endswith("/"))
            if not keys:
                raise ImportFailure(f"No files found in the S3 location {url}.")
            return [(k, s3.get_object(Bucket=bucket, Key=k)["Body"].read()) for k in sorted(keys)]
        return [(key, s3.get_object(Bucket=bucket, Key=key)["Body"].read())]
    except ImportFailure:
        raise
    except Exception as exc:  # botocore ClientError and friends, from a real or moto-backed client
        code = _error_code(exc)
        if code in ("NoSuchBucket",):
            raise ImportFailure(f"Input bucket {bucket} does not exist (s3://{bucket}).") from exc
        if code in ("NoSuchKey", "404", "NotFound"):
            raise ImportFailure(f"Input file not found: {url}.") from exc
        if code in ("AccessDenied", "403"):
            raise ImportFailure(
                f"Insufficient privileges for accessing data in S3 ({url}). "
                "Check the bucket policy and the role."
            ) from exc
        raise ImportFailure(f"Failed to read {url}: {code}.") from exc


@dataclass
class DataStats:
    rows: int = 0
    users: dict[str, int] = field(default_factory=dict)  # USER_ID -> interactions
    items: set[str] = field(default_factory=set)
    event_types: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "users": dict(self.users),
            "items": sorted(self.items),
            "eventTypes": dict(self.event_types),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> DataStats:
        data = data or {}
        return cls(
            int(data.get("rows", 0)),
            dict(data.get("users", {})),
            set(data.get("items", [])),
            dict(data.get("eventTypes", {})),
        )

    def merge(self, other: DataStats) -> None:
        self.rows += other.rows
        for user, n in other.users.items():
            self.users[user] = self.users.get(user, 0) + n
        self.items |= other.items
        for event, n in other.event_types.items():
            self.event_types[event] = self.event_types.get(event, 0) + n


_NUMERIC = {"int": int, "long": int, "float": float, "double": float}
#: Avro's integer types: 32- and 64-bit signed.
_INTEGER_BITS = {"int": 32, "long": 64}


def _integer_problem(number: int, base: str) -> str | None:
    """Whether ``number`` fits Avro ``int`` / ``long``."""
    bits = _INTEGER_BITS[base]
    if -(2 ** (bits - 1)) <= number < 2 ** (bits - 1):
        return None
    return f"is out of range for a {base} ({bits}-bit signed integer)"


def _avro_base(ftype: Any) -> str | None:
    """The non-null Avro primitive of a field type (``"long"``, ``["null", "string"]`` -> ``"string"``)."""
    if isinstance(ftype, list):
        rest = [t for t in ftype if t != "null"]
        return rest[0] if len(rest) == 1 and isinstance(rest[0], str) else None
    return ftype if isinstance(ftype, str) else None


def _value_problem(value: str, field: dict[str, Any]) -> str | None:
    if value == "":
        return None if field.get("nullable") else "is empty but the field does not allow null"
    base = _avro_base(field.get("type"))
    if base in _NUMERIC:
        try:
            number = _NUMERIC[base](value)
        except ValueError:
            return f"is not a valid {base}"
        if base in _INTEGER_BITS:
            return _integer_problem(number, base)
    elif base == "boolean" and value.lower() not in ("true", "false"):
        return "is not a valid boolean"
    return None


def property_problem(value: Any, field: dict[str, Any]) -> str | None:
    """What is wrong with a Put* ``properties`` value (JSON) for ``field`` of the dataset's schema, or None.

    The rules of an imported CSV value (``_value_problem``) apply to strings, so a number may come as
    ``"12"``; JSON ``true``/``false`` and numbers must fit the type, lists (``|``-joined categorical values)
    only a string field, and null only a union with "null". Personalize's guide says only that properties
    carry the schema's fields; that it refuses a value its type cannot hold with InvalidInputException is an
    inference (personalize-data-plane.md 2.2; the same rule as its imports)."""
    base = _avro_base(field.get("type"))
    if value is None:
        return None if field.get("nullable") else 'is null, but its type is not a union with "null"'
    if isinstance(value, str):
        return _value_problem(value, field)
    if isinstance(value, bool):
        return None if base in ("boolean", "string") else f"is a boolean, not a valid {base}"
    if isinstance(value, int | float):
        if base in _INTEGER_BITS:
            # an int is whole already (float() of a 400-digit one would overflow); a float must be whole
            if isinstance(value, float) and not value.is_integer():
                return f"is not a valid {base}"
            return _integer_problem(int(value), base)
        return None if base in _NUMERIC or base == "string" else f"is a number, not a valid {base}"
    if isinstance(value, list):
        return None if base == "string" else f"is a list, not a valid {base}"
    return f"is a JSON object, not a valid {base}"


def parse_csv(
    name: str, body: bytes, fields: list[dict[str, Any]], builder: TableBuilder | None = None
) -> DataStats:
    """Check the header against the schema fields (case-insensitive) and summarise the rows; with a
    ``builder``, every row is also kept (columnar, see ``reconciler.emulator.data``)."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFailure(f"File {name} is not valid UTF-8 text.") from exc
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header:
        raise ImportFailure(f"File {name} is empty; a CSV header row is required.")
    columns = [h.strip().upper() for h in header]
    known = {f["name"].upper(): f for f in fields}
    unknown = [h for h, c in zip(header, columns, strict=True) if c not in known]
    if unknown:
        raise ImportFailure(
            f"Input CSV {name} has columns that are not in the schema: {', '.join(unknown)}. "
            f"Schema fields: {', '.join(f['name'] for f in fields)}."
        )
    missing = [f["name"] for f in fields if not f.get("nullable") and f["name"].upper() not in columns]
    if missing:
        raise ImportFailure(f"Input CSV {name} is missing required columns: {', '.join(missing)}.")
    index = {c: i for i, c in enumerate(columns)}
    stats = DataStats()
    for line, row in enumerate(reader, start=2):
        if not row:
            continue
        if len(row) != len(columns):
            raise ImportFailure(
                f"Input CSV {name} line {line} has {len(row)} values, expected {len(columns)}."
            )
        for column, value in zip(columns, row, strict=True):
            problem = _value_problem(value, known[column])
            if problem:
                raise ImportFailure(f"Input CSV {name} line {line}: {column} value {value!r} {problem}.")
        stats.rows += 1
        if builder is not None:
            builder.add(dict(zip(columns, row, strict=True)))
        if "USER_ID" in index:
            user = row[index["USER_ID"]]
            stats.users[user] = stats.users.get(user, 0) + 1
        if "ITEM_ID" in index:
            stats.items.add(row[index["ITEM_ID"]])
        if "EVENT_TYPE" in index:
            event = row[index["EVENT_TYPE"]]
            stats.event_types[event] = stats.event_types.get(event, 0) + 1
    return stats
