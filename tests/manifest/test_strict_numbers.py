"""Every number field of the manifest models is strict (`model.spec.Int` / `Number`): YAML true/false, a
quoted "5" and (for integers) 5.0 are refused, not coerced by pydantic's lax mode. The corpus case
98-numbers-are-yaml-numbers shows the messages; this test keeps a new field from slipping back to plain
`int`/`float`."""

from __future__ import annotations

import types
import typing
from typing import Any

import pytest
from pydantic import BaseModel, Strict, ValidationError

from reconciler.manifest.kinds import SPEC_MODELS
from reconciler.model.spec import CampaignSpec, Lifecycle, Metadata, StackSpec


def _models() -> list[type[BaseModel]]:
    seen: list[type[BaseModel]] = []
    pending: list[Any] = [Metadata, Lifecycle, StackSpec, *SPEC_MODELS.values()]
    while pending:
        model = pending.pop()
        if model in seen:
            continue
        seen.append(model)
        for info in model.model_fields.values():
            pending.extend(_nested_models(info.annotation))
    return seen


def _nested_models(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _nested_models(arg)]


def _loose_numbers(annotation: Any, metadata: list[Any], where: str) -> list[str]:
    """Places under `annotation` where an int or float is accepted without `Strict()`."""
    if annotation in (int, float):
        return [] if any(isinstance(m, Strict) for m in metadata) else [f"{where}: {annotation.__name__}"]
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        base, *extra = typing.get_args(annotation)
        return _loose_numbers(base, extra, where)
    if origin is not None or isinstance(annotation, types.UnionType):
        found: list[str] = []
        for arg in typing.get_args(annotation):
            found.extend(_loose_numbers(arg, [], where))
        return found
    return []


def test_every_number_field_is_strict() -> None:
    loose: list[str] = []
    numbers = 0
    for model in _models():
        for name, info in model.model_fields.items():
            where = f"{model.__name__}.{name}"
            loose.extend(_loose_numbers(info.annotation, list(info.metadata), where))
            numbers += "int" in repr(info.annotation) or "float" in repr(info.annotation)
    assert numbers >= 10  # the walk reaches the number fields (minProvisionedTPS, weight, minimums, ...)
    assert loose == []


@pytest.mark.parametrize("value", [True, False, "5", 5.0])
def test_minprovisionedtps_takes_only_an_integer(value: object) -> None:
    with pytest.raises(ValidationError):
        CampaignSpec.model_validate({"solution": "s", "minProvisionedTPS": value})
    assert CampaignSpec.model_validate({"solution": "s", "minProvisionedTPS": 5}).minProvisionedTPS == 5
