"""Kind -> spec model table, shared by the loader, the rules, the writer and the JSON Schema."""

from __future__ import annotations

from pydantic import BaseModel

from reconciler.model.address import Kind
from reconciler.model.spec import (
    CampaignSpec,
    DatasetGroupSpec,
    DatasetSpec,
    EventTrackerSpec,
    FilterSpec,
    MetricAttributionSpec,
    RecommenderSpec,
    SchemaSpec,
    SolutionSpec,
)

SPEC_MODELS: dict[Kind, type[BaseModel]] = {
    Kind.DATASET_GROUP: DatasetGroupSpec,
    Kind.SCHEMA: SchemaSpec,
    Kind.DATASET: DatasetSpec,
    Kind.SOLUTION: SolutionSpec,
    Kind.CAMPAIGN: CampaignSpec,
    Kind.FILTER: FilterSpec,
    Kind.EVENT_TRACKER: EventTrackerSpec,
    Kind.RECOMMENDER: RecommenderSpec,
    Kind.METRIC_ATTRIBUTION: MetricAttributionSpec,
}
KIND_NAMES = [k.value for k in Kind]
STACK_KIND = "Stack"
