"""The explicit handler registry: one entry per kind, no discovery magic.

This is the one place a kind is declared to the rest of the tool: the manifest loader maps `kind:` to the
handler's `spec_model` through it, validation checks the handler's `references`, the live reader lists a
kind under its `parent_field`, and the planner and executor look the handler up here. A new kind is one
file in this package (its `HANDLER`, and `Kind.declare(...)` for its kind) plus one entry in `_BUILT_IN`
(docs/ARCHITECTURE.md, "Adding a kind").
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from reconciler.model.address import Kind
from reconciler.resources import (
    campaign,
    dataset,
    dataset_group,
    event_tracker,
    filter,
    metric_attribution,
    recommender,
    schema,
    solution,
)
from reconciler.resources.base import ResourceHandler

_BUILT_IN: tuple[ResourceHandler, ...] = (
    dataset_group.HANDLER,
    schema.HANDLER,
    dataset.HANDLER,
    solution.HANDLER,
    campaign.HANDLER,
    filter.HANDLER,
    event_tracker.HANDLER,
    recommender.HANDLER,
    metric_attribution.HANDLER,
)

REGISTRY: dict[Kind, ResourceHandler] = {}
"""Kind -> handler, in registration order (the order `Kind` iterates in)."""


def register(handler: ResourceHandler) -> ResourceHandler:
    """Add a kind: its handler here, its `Kind` a member (iterated, accepted by `Kind(value)` and by the
    manifest loader). Refused when another handler already serves that kind."""
    kind = handler.kind
    if kind in REGISTRY and REGISTRY[kind] is not handler:
        raise ValueError(f"kind {kind.value} is already registered")
    missing = [k.value for k in handler.references.values() if k not in REGISTRY and k is not kind]
    if missing:
        raise ValueError(f"{kind.value} references unregistered kinds: {', '.join(missing)}")
    Kind.enroll(kind)
    REGISTRY[kind] = handler
    return handler


def unregister(kind: Kind) -> None:
    """Remove a kind registered with `register` (tests that add a kind for a while)."""
    if REGISTRY.pop(kind, None) is not None:
        Kind.retire(kind)


@contextmanager
def registered(handler: ResourceHandler) -> Iterator[ResourceHandler]:
    """`register(handler)` for the duration of a `with` block."""
    register(handler)
    try:
        yield handler
    finally:
        unregister(handler.kind)


for _handler in _BUILT_IN:
    register(_handler)


def handler(kind: Kind) -> ResourceHandler:
    return REGISTRY[kind]


def parent_kind(kind: Kind) -> Kind | None:
    """The kind whose ARN filters `kind`'s List* call (the dataset group for most kinds), or None."""
    found = REGISTRY[kind]
    return found.references.get(found.parent_field) if found.parent_field else None
