"""Kind -> spec model, read from the handler registry (`reconciler.resources.registry`), shared by the loader,
the rules, the writer and the JSON Schema. A kind registered there is a manifest kind here, with no edit."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from pydantic import BaseModel

from reconciler.model.address import Kind
from reconciler.resources.registry import REGISTRY


class _SpecModels(Mapping[Kind, type[BaseModel]]):
    """A live view of the registry: kind -> the handler's `spec_model`, in registration order."""

    def __getitem__(self, kind: Kind) -> type[BaseModel]:
        return REGISTRY[kind].spec_model

    def __iter__(self) -> Iterator[Kind]:
        return iter(list(REGISTRY))

    def __len__(self) -> int:
        return len(REGISTRY)


SPEC_MODELS: Mapping[Kind, type[BaseModel]] = _SpecModels()
STACK_KIND = "Stack"


def kind_names() -> list[str]:
    """The `kind:` values a manifest may use for resources (the registered kinds)."""
    return [k.value for k in REGISTRY]


def references(kind: Kind) -> tuple[tuple[str, str, Kind], ...]:
    """(YAML field, python attribute of the spec model, target kind) of each reference `kind` makes, from
    its handler's `references` (the attribute differs from the field where pydantic needs an alias:
    `schema` is `schema_`)."""
    handler = REGISTRY.get(kind)
    if handler is None:
        return ()
    by_alias = {(info.alias or name): name for name, info in handler.spec_model.model_fields.items()}
    return tuple((yaml, by_alias.get(yaml, yaml), target) for yaml, target in handler.references.items())
