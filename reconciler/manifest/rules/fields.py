"""Settings that need a dataset field: event type/value settings, domain use cases, semantic similarity.

Sources (AWS Personalize developer guide): "Choosing the item interaction data used for training" (eventType
and eventValueThreshold filter on the EVENT_TYPE / EVENT_VALUE columns), CreateSolution's eventsConfig, the
ECOMMERCE / VIDEO_ON_DEMAND use-case pages (datasets used for training, required event types), metric
attributions (eventType of each metric). A setting whose field is missing validates at the API and then
trains on nothing or fails at training time; here it is an offline error at the setting.
"""

from __future__ import annotations

from reconciler.manifest.avro import field_named
from reconciler.manifest.context import Context, ParsedResource
from reconciler.manifest.recipes import find_recipe
from reconciler.manifest.yamlmarks import Path
from reconciler.model.address import Kind
from reconciler.model.spec import (
    DatasetSpec,
    MetricAttributionSpec,
    RecommenderSpec,
    SchemaSpec,
    SolutionSpec,
)

CONFIG: Path = ("spec", "solutionConfig")
FIELD_TYPES = {"EVENT_TYPE": "string", "EVENT_VALUE": "float"}


def check(ctx: Context) -> None:
    for res in ctx.of_kind(Kind.SOLUTION):
        assert isinstance(res.spec, SolutionSpec)
        _solution(ctx, res, res.spec)
    for res in ctx.of_kind(Kind.RECOMMENDER):
        assert isinstance(res.spec, RecommenderSpec)
        _recommender(ctx, res, res.spec)
    for res in ctx.of_kind(Kind.METRIC_ATTRIBUTION):
        assert isinstance(res.spec, MetricAttributionSpec)
        for index, metric in enumerate(res.spec.metrics):
            _needs(
                ctx,
                res,
                res.spec.datasetGroup,
                "EVENT_TYPE",
                ("spec", "metrics", index, "eventType"),
                f"metric '{metric.metricName}' counts '{metric.eventType}' events",
            )


def _interactions(ctx: Context, group: str) -> tuple[ParsedResource, SchemaSpec] | None:
    """The INTERACTIONS dataset of `group` with its (valid) schema, when both are declared."""
    entry = ctx.datasets_of_group(group).get("INTERACTIONS")
    if entry is None or entry[1] is None:
        return None
    return entry[0], entry[1]


def _needs(ctx: Context, res: ParsedResource, group: str, field: str, path: Path, why: str) -> bool:
    """Report at `path` when the group's INTERACTIONS schema lacks `field`; True when it is there."""
    found = _interactions(ctx, group)
    if found is None:
        return True  # no interactions dataset or schema: reported by the dataset and recipe rules
    dataset, schema = found
    if field_named(schema.avro, field) is not None:
        return True
    name = dataset.spec.schema_ if isinstance(dataset.spec, DatasetSpec) else "?"
    ctx.error(
        res,
        path,
        f"{why}, but the INTERACTIONS schema '{name}' of dataset group '{group}' has no {field} field",
        f"add `- {{name: {field}, type: {FIELD_TYPES[field]}}}` to schema '{name}' (a new schema version), "
        "or remove this setting",
    )
    return False


def _solution(ctx: Context, res: ParsedResource, spec: SolutionSpec) -> None:
    group = spec.datasetGroup
    if spec.eventType is not None:
        _needs(
            ctx,
            res,
            group,
            "EVENT_TYPE",
            ("spec", "eventType"),
            f"eventType '{spec.eventType}' trains on one event type",
        )
    config = spec.solutionConfig
    if config is not None:
        if config.eventValueThreshold is not None:
            _needs(
                ctx,
                res,
                group,
                "EVENT_VALUE",
                (*CONFIG, "eventValueThreshold"),
                f"eventValueThreshold {config.eventValueThreshold} keeps events by their value",
            )
        events = config.eventsConfig.eventParametersList if config.eventsConfig else None
        for index, params in enumerate(events or []):
            base: Path = (*CONFIG, "eventsConfig", "eventParametersList", index)
            if params.eventType is not None:
                _needs(
                    ctx,
                    res,
                    group,
                    "EVENT_TYPE",
                    (*base, "eventType"),
                    f"eventsConfig weighs '{params.eventType}' events",
                )
            if params.eventValueThreshold is not None:
                _needs(
                    ctx,
                    res,
                    group,
                    "EVENT_VALUE",
                    (*base, "eventValueThreshold"),
                    f"eventsConfig keeps events by value (threshold {params.eventValueThreshold:g})",
                )
    recipe = find_recipe(spec.recipeArn) if spec.recipeArn else None
    if recipe is not None and recipe.name == "aws-semantic-similarity":
        entry = ctx.datasets_of_group(group).get("ITEMS")
        schema = entry[1] if entry is not None else None
        if schema is not None and not any(f.textual for f in schema.avro.fields):
            ctx.warning(
                res,
                ("spec", "recipeArn"),
                "aws-semantic-similarity learns from item text, but the ITEMS schema has no textual field",
                "mark a string field `textual: true` (e.g. a description)",
            )


def _recommender(ctx: Context, res: ParsedResource, spec: RecommenderSpec) -> None:
    recipe = find_recipe(spec.recipeArn)
    if recipe is None or recipe.domain is None or ctx.get(Kind.DATASET_GROUP, spec.datasetGroup) is None:
        return
    present = ctx.datasets_of_group(spec.datasetGroup)
    missing = sorted(recipe.requires - set(present) - {"INTERACTIONS"})  # interactions: reported elsewhere
    if missing:
        ctx.error(
            res,
            ("spec", "recipeArn"),
            f"{recipe.name} trains on {' and '.join(sorted(recipe.requires))} data, but dataset group "
            f"'{spec.datasetGroup}' has no {' or '.join(missing)} dataset",
            "add the dataset (with its schema), or choose another use case",
        )
    if recipe.event_types:
        _needs(
            ctx,
            res,
            spec.datasetGroup,
            "EVENT_TYPE",
            ("spec", "recipeArn"),
            f"{recipe.name} trains on {' and '.join(recipe.event_types)} events",
        )
