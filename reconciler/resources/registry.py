"""The explicit handler registry: one entry per kind, no discovery magic."""

from __future__ import annotations

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

REGISTRY: dict[Kind, ResourceHandler] = {
    Kind.DATASET_GROUP: dataset_group.HANDLER,
    Kind.SCHEMA: schema.HANDLER,
    Kind.DATASET: dataset.HANDLER,
    Kind.SOLUTION: solution.HANDLER,
    Kind.CAMPAIGN: campaign.HANDLER,
    Kind.FILTER: filter.HANDLER,
    Kind.EVENT_TRACKER: event_tracker.HANDLER,
    Kind.RECOMMENDER: recommender.HANDLER,
    Kind.METRIC_ATTRIBUTION: metric_attribution.HANDLER,
}


def handler(kind: Kind) -> ResourceHandler:
    return REGISTRY[kind]
