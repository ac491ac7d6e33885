"""The botocore service model: strict shape checks (inputs and outputs) and shape-driven rendering.

botocore validates only ``required``, ``min`` and types client side; the service validates the rest. This
module checks everything the model states (unknown members, types, enums, patterns, lengths, ranges,
timezone-aware timestamps) and renders stored records into exactly the members an output shape declares.
"""

from __future__ import annotations

import datetime as dt
import functools
import threading
from collections.abc import Callable
from typing import Any

import botocore.session
import regex

SERVICE = "personalize"
TARGET_PREFIX = "AmazonPersonalize"

#: Output members the model types with the Personalize ``Arn`` shape although the service returns IAM role
#: ARNs there (they were given as ``RoleArn`` on input). Their pattern is not checked on output.
MODEL_QUIRKS = frozenset(
    {("DatasetImportJob", "roleArn"), ("DatasetExportJob", "roleArn"), ("Algorithm", "roleArn")}
)


@functools.lru_cache(maxsize=1)
def service_model() -> Any:
    """botocore's ``personalize`` ServiceModel (loaded once per process)."""
    return botocore.session.get_session().get_service_model(SERVICE)


def operation_names() -> list[str]:
    return sorted(service_model().operation_names)


@functools.cache
def operation_model(operation: str) -> Any:
    return service_model().operation_model(operation)


@functools.cache
def declared_errors(operation: str) -> frozenset[str]:
    return frozenset(s.name for s in operation_model(operation).error_shapes)


@functools.cache
def _pattern(text: str) -> Any:
    return regex.compile(text)


def _fmt(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def check_shape(
    value: Any, shape: Any, path: str = "", *, for_input: bool = False, check_pattern: bool = True
) -> list[str]:
    """Every way ``value`` breaks ``shape`` (empty list: it conforms).

    ``shape=None`` (an operation without output) requires an empty dict. Messages name the member path.
    Inputs may carry timestamps as epoch numbers; outputs must carry timezone-aware datetimes."""
    if shape is None:
        return (
            [] if value in ({}, None) else [f"{path or 'response'}: expected no members, got {_fmt(value)}"]
        )
    where = path or shape.name
    kind = shape.type_name
    problems: list[str] = []
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{where}: expected an object, got {type(value).__name__}"]
        for key in value:
            if key not in shape.members:
                problems.append(f"{where}: unknown member {key!r}")
        for key in shape.required_members:
            if value.get(key) is None:
                problems.append(f"{where}: missing required member {key!r}")
        for key, member in shape.members.items():
            if value.get(key) is not None:
                sub = f"{path}.{key}" if path else key
                strict_pattern = for_input or (shape.name, key) not in MODEL_QUIRKS
                problems.extend(
                    check_shape(value[key], member, sub, for_input=for_input, check_pattern=strict_pattern)
                )
        return problems
    if kind == "list":
        if not isinstance(value, list):
            return [f"{where}: expected a list, got {type(value).__name__}"]
        problems.extend(_length(where, len(value), shape, "items"))
        for i, item in enumerate(value):
            problems.extend(check_shape(item, shape.member, f"{where}[{i}]", for_input=for_input))
        return problems
    if kind == "map":
        if not isinstance(value, dict):
            return [f"{where}: expected a map, got {type(value).__name__}"]
        problems.extend(_length(where, len(value), shape, "entries"))
        for k, v in value.items():
            problems.extend(check_shape(k, shape.key, f"{where} key", for_input=for_input))
            problems.extend(check_shape(v, shape.value, f"{where}[{k!r}]", for_input=for_input))
        return problems
    if kind == "string":
        if not isinstance(value, str):
            return [f"{where}: expected a string, got {type(value).__name__}"]
        problems.extend(_length(where, len(value), shape, "characters"))
        enum = shape.metadata.get("enum")
        if enum and value not in enum:
            problems.append(f"{where}: value {_fmt(value)} is not one of {enum}")
        pattern = shape.metadata.get("pattern")
        if pattern and check_pattern and _pattern(pattern).fullmatch(value) is None:
            problems.append(
                f"{where}: value {_fmt(value)} does not satisfy the regular expression pattern: {pattern}"
            )
        return problems
    if kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            return [f"{where}: expected an integer, got {type(value).__name__}"]
        return _range(where, value, shape)
    if kind in ("double", "float"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return [f"{where}: expected a number, got {type(value).__name__}"]
        return _range(where, value, shape)
    if kind == "boolean":
        return [] if isinstance(value, bool) else [f"{where}: expected a boolean, got {type(value).__name__}"]
    if kind == "timestamp":
        if isinstance(value, dt.datetime):
            if value.tzinfo is None or value.utcoffset() is None:
                return [f"{where}: timestamp {value!r} is not timezone-aware"]
            return []
        if for_input and isinstance(value, int | float) and not isinstance(value, bool):
            return []
        return [f"{where}: expected a timestamp, got {type(value).__name__}"]
    if kind == "blob":
        return (
            []
            if isinstance(value, bytes | str)
            else [f"{where}: expected a blob, got {type(value).__name__}"]
        )
    return [f"{where}: unsupported shape type {kind}"]


def _length(where: str, size: int, shape: Any, unit: str) -> list[str]:
    lo, hi = shape.metadata.get("min"), shape.metadata.get("max")
    out = []
    if lo is not None and size < lo:
        out.append(f"{where}: has {size} {unit}, the minimum is {lo}")
    if hi is not None and size > hi:
        out.append(f"{where}: has {size} {unit}, the maximum is {hi}")
    return out


def _range(where: str, value: float, shape: Any) -> list[str]:
    lo, hi = shape.metadata.get("min"), shape.metadata.get("max")
    out = []
    if lo is not None and value < lo:
        out.append(f"{where}: value {value} is less than the minimum {lo}")
    if hi is not None and value > hi:
        out.append(f"{where}: value {value} is greater than the maximum {hi}")
    return out


def to_datetime(epoch: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, tz=dt.UTC)


def render(value: Any, shape: Any) -> Any:
    """Stored data -> output value for ``shape``: drops members the shape does not declare, internal keys
    (leading ``_``) and ``None``; epoch-second floats become UTC datetimes. Dicts and lists are built anew
    (the answer shares nothing with the stored record).

    Each shape's walk is worked out once (:func:`_renderer`); every answer of the server goes through here."""
    renderer = _renderer(shape)
    return value if renderer is None else renderer(value)


Renderer = Callable[[Any], Any]
#: shape object -> its renderer (None: the value itself). botocore caches shapes per operation model.
_RENDERERS: dict[Any, Renderer | None] = {}
_RENDERERS_LOCK = threading.Lock()


def _renderer(shape: Any) -> Renderer | None:
    try:
        return _RENDERERS[shape]
    except KeyError:
        pass
    with _RENDERERS_LOCK:  # published only once complete: readers take them without the lock
        pending: dict[Any, Renderer | None] = {}
        made = _compile(shape, pending)
        for key, value in pending.items():
            _RENDERERS.setdefault(key, value)
        return made


def _compile(shape: Any, pending: dict[Any, Renderer | None]) -> Renderer | None:
    for known in (_RENDERERS, pending):
        if shape in known:
            return known[shape]
    kind = shape.type_name
    made: Renderer | None
    if kind == "structure":
        members: list[tuple[str, Renderer | None]] = []

        def structure(value: Any) -> dict[str, Any]:
            out: dict[str, Any] = {}
            get = value.get
            for key, sub in members:
                item = get(key)
                if item is not None:
                    out[key] = item if sub is None else sub(item)
            return out

        pending[shape] = structure  # before the members: a shape may contain itself
        members.extend((key, _compile(member, pending)) for key, member in shape.members.items())
        return structure
    if kind == "list":
        item = _compile(shape.member, pending)
        made = (lambda value: list(value)) if item is None else (lambda value: [item(v) for v in value])
    elif kind == "map":
        entry = _compile(shape.value, pending)
        made = (lambda value: dict(value.items())) if entry is None else _map_renderer(entry)
    elif kind == "timestamp":
        made = _render_timestamp
    elif kind in ("double", "float"):
        made = _render_float
    else:
        made = None
    pending[shape] = made
    return made


def _map_renderer(entry: Renderer) -> Renderer:
    return lambda value: {k: entry(v) for k, v in value.items()}


def _render_timestamp(value: Any) -> Any:
    return to_datetime(float(value)) if isinstance(value, int | float) else value


def _render_float(value: Any) -> Any:
    return float(value) if isinstance(value, int) and not isinstance(value, bool) else value


def undeclared_keys(record: dict[str, Any], shape: Any) -> list[str]:
    """Public keys of a stored record that its describe shape does not declare (typos in the emulator)."""
    return sorted(k for k in record if not k.startswith("_") and k not in shape.members)


def undeclared_members(value: Any, shape: Any, path: str = "") -> list[str]:
    """Public keys in ``value`` that ``shape`` does not declare (render would drop them silently).

    Lists are not entered: List* responses deliberately project full records onto summary shapes."""
    if shape is None or value is None:
        return []
    kind = shape.type_name
    out: list[str] = []
    if kind == "structure" and isinstance(value, dict):
        for key, item in value.items():
            if key.startswith("_"):
                continue
            if key not in shape.members:
                out.append(f"{path or shape.name}: undeclared member {key!r}")
            else:
                out.extend(undeclared_members(item, shape.members[key], f"{path}.{key}" if path else key))
    elif kind == "map" and isinstance(value, dict):
        for k, item in value.items():
            out.extend(undeclared_members(item, shape.value, f"{path}[{k!r}]"))
    return out
