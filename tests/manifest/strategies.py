"""Hypothesis strategies derived from the spec models' annotations (new fields are covered automatically)."""

from __future__ import annotations

import types
import typing
from typing import Any, Literal

from hypothesis import strategies as st
from pydantic import BaseModel

# Printable text with the characters that trouble YAML writers: quotes, colons, hashes, '${', newlines...
TRICKY = st.one_of(
    st.text(alphabet=st.sampled_from(list("abcXYZ019 _-:#'\"${}[],.|>&*!%@`\n\t~é€")), max_size=12),
    st.sampled_from(["yes", "No", "null", "~", "0.7", "1e3", "2021-03-25", "0x1F", "- a", "${x}", " lead"]),
)
KEYS = st.text(alphabet="abcdefXYZ_0123456789-", min_size=1, max_size=10)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-1000, 1000), TRICKY)


def _pattern_of(metadata: list[Any]) -> str | None:
    for item in metadata:
        pattern = getattr(item, "pattern", None)
        if isinstance(pattern, str):
            return pattern
    return None


def strategy_for(annotation: Any, metadata: list[Any] | None = None) -> st.SearchStrategy[Any]:
    metadata = list(metadata or [])
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        base, *extra = typing.get_args(annotation)
        return strategy_for(base, metadata + extra)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return model_data(annotation)
    if origin in (types.UnionType, typing.Union):
        return st.one_of([strategy_for(arg, metadata) for arg in typing.get_args(annotation)])
    if origin is Literal:
        return st.sampled_from(typing.get_args(annotation))
    if origin is list:
        (item,) = typing.get_args(annotation)
        return st.lists(strategy_for(item), max_size=3)
    if origin is dict:
        _key, value = typing.get_args(annotation)
        return st.dictionaries(KEYS, strategy_for(value), max_size=3)
    if annotation is type(None):
        return st.none()
    if annotation is bool:
        return st.booleans()
    if annotation is int:
        return st.integers(-5, 500)
    if annotation is float:
        return st.floats(-10, 10, allow_nan=False, allow_infinity=False)
    if annotation is str:
        pattern = _pattern_of(metadata)
        if pattern is not None:
            return st.from_regex(pattern, fullmatch=True).filter(lambda s: len(s) <= 63)
        return TRICKY
    if annotation is Any:
        return SCALARS
    raise NotImplementedError(f"no strategy for {annotation!r}")


def model_data(model: type[BaseModel]) -> st.SearchStrategy[dict[str, Any]]:
    """Dicts (YAML-shaped, by alias) for `model`: required fields always, optional ones sometimes."""
    required: dict[str, st.SearchStrategy[Any]] = {}
    optional: dict[str, st.SearchStrategy[Any]] = {}
    for name, info in model.model_fields.items():
        key = info.alias or name
        strategy = strategy_for(info.annotation, info.metadata)
        (required if info.is_required() else optional)[key] = strategy
    return st.fixed_dictionaries(required, optional=optional)
