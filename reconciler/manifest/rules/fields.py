"""Settings that need a dataset field: event type/value settings, domain use cases, semantic similarity.

Sources (AWS Personalize developer guide): "Choosing the item interaction data used for training" (eventType
and eventValueThreshold filter on the EVENT_TYPE / EVENT_VALUE columns), CreateSolution's eventsConfig, the
ECOMMERCE / VIDEO_ON_DEMAND use-case pages (datasets used for training, required event types), metric
attributions (eventType of each metric). A setting whose field is missing validates at the API and then
trains on nothing or fails at training time; here it is an offline error at the setting.
"""

from __future__ import annotations

import csv
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Any

from reconciler.manifest.avro import field_named
from reconciler.manifest.context import Context, ParsedResource
from reconciler.manifest.recipes import Recipe, find_recipe
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
MIN_IMPORT_RECORDS = 1000
"""An interactions import job needs at least this many records (personalize-api.md §2.4)."""
SCAN_LIMIT_BYTES = 64 * 1024 * 1024
"""A local data file is scanned for its event types up to this size (bounded time for validate)."""


@dataclass
class LocalData:
    """What a local interactions CSV holds: row count and event type counts (None: no EVENT_TYPE column)."""

    shown: str
    rows: int
    event_types: Counter[str] | None
    complete: bool


_SCANS: dict[tuple[str, float, int], LocalData | None] = {}


def local_interactions(ctx: Context, group: str) -> tuple[ParsedResource, LocalData] | None:
    """The group's INTERACTIONS dataset and what its `dataImport.localFile` holds, when there is one."""
    entry = ctx.datasets_of_group(group).get("INTERACTIONS")
    if entry is None:
        return None
    dataset = entry[0]
    spec = dataset.spec
    if not isinstance(spec, DatasetSpec) or spec.dataImport is None or spec.dataImport.localFile is None:
        return None
    path = FsPath(spec.dataImport.localFile)
    path = path if path.is_absolute() else ctx.base_dir / path
    try:
        stat = path.stat()
    except OSError:
        return None
    key = (str(path), stat.st_mtime, stat.st_size)
    if key not in _SCANS:
        _SCANS[key] = _scan(path)
    found = _SCANS[key]
    return (dataset, found) if found is not None else None


def _scan(path: FsPath) -> LocalData | None:
    try:
        shown = os.path.relpath(path)
    except ValueError:  # pragma: no cover - another drive on Windows
        shown = str(path)
    try:
        with path.open(encoding="utf-8", errors="replace", newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                return LocalData(shown, 0, None, True)
            names = [h.strip().upper() for h in header]
            column = names.index("EVENT_TYPE") if "EVENT_TYPE" in names else None
            counts: Counter[str] = Counter()
            rows = 0
            for row in reader:
                rows += 1
                if column is not None and column < len(row):
                    counts[row[column]] += 1
                if rows % 10000 == 0 and handle.tell() > SCAN_LIMIT_BYTES:
                    return LocalData(shown, rows, counts if column is not None else None, False)
            return LocalData(shown, rows, counts if column is not None else None, True)
    except (OSError, csv.Error):
        return None


def _data_has(
    ctx: Context, res: ParsedResource, group: str, event_types: tuple[str, ...], path: Path, who: str
) -> None:
    """Warn when the local interactions data lacks an event type a setting trains on."""
    found = local_interactions(ctx, group)
    if found is None or found[1].event_types is None or not found[1].complete:
        return
    data = found[1]
    assert data.event_types is not None
    for event in event_types:
        if data.event_types.get(event):
            continue
        near = [e for e in data.event_types if e.lower() == event.lower()]
        hint = (
            f"the data has '{near[0]}': event types are case-sensitive"
            if near
            else "present: " + ", ".join(sorted(data.event_types)[:8])
        )
        ctx.warning(
            res,
            path,
            f"{who} trains on '{event}' events, but the local interactions data {data.shown} has none",
            hint,
        )


def check(ctx: Context) -> None:
    for res in ctx.of_kind(Kind.SOLUTION):
        assert isinstance(res.spec, SolutionSpec)
        _solution(ctx, res, res.spec)
    for res in ctx.of_kind(Kind.DATASET):
        assert isinstance(res.spec, DatasetSpec)
        _dataset(ctx, res, res.spec)
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
    if spec.eventType is not None and _needs(
        ctx,
        res,
        group,
        "EVENT_TYPE",
        ("spec", "eventType"),
        f"eventType '{spec.eventType}' trains on one event type",
    ):
        _data_has(ctx, res, group, (spec.eventType,), ("spec", "eventType"), f"solution {res.address.name}")
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
            if params.eventType is not None and _needs(
                ctx,
                res,
                group,
                "EVENT_TYPE",
                (*base, "eventType"),
                f"eventsConfig weighs '{params.eventType}' events",
            ):
                _data_has(ctx, res, group, (params.eventType,), (*base, "eventType"), "eventsConfig")
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
    if recipe is not None:
        _context_columns(ctx, res, recipe, spec.solutionConfig, CONFIG)
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
    _context_columns(ctx, res, recipe, spec.recommenderConfig, ("spec", "recommenderConfig"))
    present = ctx.datasets_of_group(spec.datasetGroup)
    missing = sorted(recipe.requires - set(present) - {"INTERACTIONS"})  # interactions: reported elsewhere
    if missing and ctx.missing(res, spec.datasetGroup, missing):
        ctx.error(
            res,
            ("spec", "recipeArn"),
            f"{recipe.name} trains on {' and '.join(sorted(recipe.requires))} data, but dataset group "
            f"'{spec.datasetGroup}' has no {' or '.join(missing)} dataset",
            "add the dataset (with its schema), or choose another use case",
        )
    if recipe.event_types and _needs(
        ctx,
        res,
        spec.datasetGroup,
        "EVENT_TYPE",
        ("spec", "recipeArn"),
        f"{recipe.name} trains on {' and '.join(recipe.event_types)} events",
    ):
        _data_has(ctx, res, spec.datasetGroup, recipe.event_types, ("spec", "recipeArn"), recipe.name)


CONTEXT_USERS = (
    "User-Personalization(-v2), Personalized-Ranking(-v2) and the recommended-for-you / top-picks use cases"
)


def _context_columns(ctx: Context, res: ParsedResource, recipe: Recipe, config: Any, base: Path) -> None:
    """Interaction metadata columns included for training by a recipe that does not use contextual
    metadata are ignored: say so where they are listed."""
    if recipe.uses_context or config is None or config.trainingDataConfig is None:
        return
    included = config.trainingDataConfig.includedDatasetColumns or {}
    for key, columns in included.items():
        if key.upper() != "INTERACTIONS":
            continue
        reserved = {"USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE", "EVENT_VALUE", "IMPRESSION"}
        context = [c for c in columns if str(c).upper() not in reserved]
        if context:
            ctx.warning(
                res,
                (*base, "trainingDataConfig", "includedDatasetColumns", key),
                f"{recipe.name} does not train on interaction metadata (context), so "
                f"{', '.join(context)} {'is' if len(context) == 1 else 'are'} ignored",
                f"contextual metadata is used by {CONTEXT_USERS}",
            )


def _dataset(ctx: Context, res: ParsedResource, spec: DatasetSpec) -> None:
    """A local interactions file smaller than an import job accepts."""
    if spec.datasetType != "INTERACTIONS" or spec.dataImport is None or spec.dataImport.localFile is None:
        return
    found = local_interactions(ctx, spec.datasetGroup)
    if found is None or found[0] is not res or not found[1].complete:
        return
    rows = found[1].rows
    if rows < MIN_IMPORT_RECORDS:
        ctx.warning(
            res,
            ("spec", "dataImport", "localFile"),
            f"{found[1].shown} holds {rows} interaction records; an import job needs at least "
            f"{MIN_IMPORT_RECORDS}",
            "the import would fail: add data (or import it with the event tracker later)",
        )
