"""Per dataset group rules: event trackers, recommenders, metric attributions and quotas."""

from __future__ import annotations

import re
from collections import Counter

from reconciler.manifest.avro import field_named, field_types
from reconciler.manifest.context import Context, ParsedResource, article, spec_group
from reconciler.manifest.recipes import (
    GROUP_QUOTAS,
    MAX_METRICS_PER_ATTRIBUTION,
    NUMERIC_TYPES,
    RECIPES,
    recipe_name,
)
from reconciler.manifest.rules.solutions import unknown_recipe_hint
from reconciler.model.address import Kind
from reconciler.model.spec import CampaignSpec, MetricAttributionSpec, RecommenderSpec

METRIC_EXPRESSION = re.compile(
    r"^\s*(?:SUM\(\s*(Items|Interactions)\.([A-Za-z_][A-Za-z0-9_]*)\s*\)|SAMPLECOUNT\(\s*\))\s*$"
)


def check(ctx: Context) -> None:
    _one_per_group(ctx, Kind.EVENT_TRACKER, error=True)
    _one_per_group(ctx, Kind.METRIC_ATTRIBUTION, error=False)
    for res in ctx.of_kind(Kind.EVENT_TRACKER):
        group = spec_group(res.spec)
        if (
            group
            and ctx.get(Kind.DATASET_GROUP, group)
            and "INTERACTIONS" not in ctx.datasets_of_group(group)
            and ctx.missing(res, group, ["INTERACTIONS"])
        ):
            ctx.warning(
                res,
                ("spec", "datasetGroup"),
                f"dataset group '{group}' has no INTERACTIONS dataset to record events into",
            )
    for res in ctx.of_kind(Kind.RECOMMENDER):
        assert isinstance(res.spec, RecommenderSpec)
        _check_recommender(ctx, res, res.spec)
    for res in ctx.of_kind(Kind.METRIC_ATTRIBUTION):
        assert isinstance(res.spec, MetricAttributionSpec)
        _check_metric_attribution(ctx, res, res.spec)
    _check_quotas(ctx)


def _one_per_group(ctx: Context, kind: Kind, *, error: bool) -> None:
    seen: dict[str, ParsedResource] = {}
    for res in ctx.of_kind(kind):
        group = spec_group(res.spec)
        if group is None:
            continue
        if group in seen:
            first = seen[group]
            message = f"dataset group '{group}' already has {article(kind.value)} ({first.address})"
            hint = f"{first.address} is defined at {first.doc.file}:{first.doc.start.line}"
            if error:
                ctx.error(
                    res, ("spec", "datasetGroup"), message, hint + "; only one is allowed per dataset group"
                )
            else:
                ctx.warning(res, ("spec", "datasetGroup"), message, hint + "; usually one per dataset group")
        else:
            seen[group] = res


def _check_recommender(ctx: Context, res: ParsedResource, spec: RecommenderSpec) -> None:
    group = ctx.group_spec(spec.datasetGroup)
    name = recipe_name(spec.recipeArn)
    recipe = RECIPES.get(name) if name else None
    if name is None:
        ctx.warning(res, ("spec", "recipeArn"), "not a service recipe ARN; use-case rules not checked")
    elif recipe is None:
        ctx.error(
            res, ("spec", "recipeArn"), f"unknown recipe '{name}'", unknown_recipe_hint(name, domain=True)
        )
    elif recipe.domain is None:
        ctx.error(
            res,
            ("spec", "recipeArn"),
            f"'{name}' is a custom recipe; recommenders need a domain use case",
            "use a `kind: Solution` with a Campaign for custom recipes",
        )
    if group is None:
        return
    if group.domain is None:
        ctx.error(
            res,
            ("spec", "datasetGroup"),
            f"recommenders need a domain dataset group; '{spec.datasetGroup}' has no domain",
            "set spec.domain (ECOMMERCE or VIDEO_ON_DEMAND) on the DatasetGroup",
        )
    elif recipe is not None and recipe.domain is not None and recipe.domain != group.domain:
        ctx.error(
            res,
            ("spec", "recipeArn"),
            f"'{name}' is a {recipe.domain} use case but dataset group '{spec.datasetGroup}' is "
            f"{group.domain}",
        )
    if "INTERACTIONS" not in ctx.datasets_of_group(spec.datasetGroup) and ctx.missing(
        res, spec.datasetGroup, ["INTERACTIONS"]
    ):
        ctx.error(
            res,
            ("spec", "datasetGroup"),
            f"dataset group '{spec.datasetGroup}' has no INTERACTIONS dataset; recommenders need one",
        )


def _check_metric_attribution(ctx: Context, res: ParsedResource, spec: MetricAttributionSpec) -> None:
    if not spec.metrics:
        ctx.error(res, ("spec", "metrics"), "at least one metric is required")
    if len(spec.metrics) > MAX_METRICS_PER_ATTRIBUTION:
        ctx.error(
            res,
            ("spec", "metrics"),
            f"{len(spec.metrics)} metrics; at most {MAX_METRICS_PER_ATTRIBUTION} are allowed",
        )
    names = Counter(m.metricName for m in spec.metrics)
    datasets = ctx.datasets_of_group(spec.datasetGroup)
    for index, metric in enumerate(spec.metrics):
        base = ("spec", "metrics", index)
        if names[metric.metricName] > 1:
            ctx.error(
                res,
                (*base, "metricName"),
                f"duplicate metric name '{metric.metricName}'",
                "give each metric of the attribution its own metricName",
            )
        match = METRIC_EXPRESSION.match(metric.expression)
        if match is None:
            ctx.error(
                res,
                (*base, "expression"),
                f"invalid metric expression {metric.expression!r}",
                "use SUM(Items.FIELD), SUM(Interactions.FIELD) or SAMPLECOUNT()",
            )
            continue
        if match.group(1):
            dataset_type = match.group(1).upper()
            entry = datasets.get(dataset_type)
            if entry is None:
                if ctx.get(Kind.DATASET_GROUP, spec.datasetGroup) is not None and ctx.missing(
                    res, spec.datasetGroup, [dataset_type]
                ):
                    ctx.error(
                        res,
                        (*base, "expression"),
                        f"dataset group '{spec.datasetGroup}' has no {dataset_type} dataset",
                    )
                continue
            schema = entry[1]
            if schema is None:
                continue
            field = field_named(schema.avro, match.group(2))
            if field is None:
                ctx.error(
                    res,
                    (*base, "expression"),
                    f"'{match.group(2)}' is not a field of the {dataset_type} schema",
                )
            elif not field_types(field)[0] <= NUMERIC_TYPES:
                ctx.error(
                    res, (*base, "expression"), f"SUM needs a numeric field; '{field.name}' is not numeric"
                )


def _check_quotas(ctx: Context) -> None:
    counts: dict[tuple[str, str], list[ParsedResource]] = {}
    for res in ctx.resources:
        kind = res.address.kind
        if kind.value not in GROUP_QUOTAS:
            continue
        group = spec_group(res.spec)
        if kind is Kind.CAMPAIGN and isinstance(res.spec, CampaignSpec):
            solution = ctx.get(Kind.SOLUTION, res.spec.solution)
            group = spec_group(solution.spec) if solution is not None else None
        if group is None:
            continue
        counts.setdefault((group, kind.value), []).append(res)
    for (group, kind_name), members in sorted(counts.items()):
        quota = GROUP_QUOTAS[kind_name]
        if len(members) <= quota.limit:
            continue
        members.sort(key=lambda r: (r.doc.file, r.doc.start.line))
        message = f"dataset group '{group}' has {len(members)} {quota.what}; the quota is {quota.limit}"
        for extra in members[quota.limit :]:
            if quota.adjustable:
                ctx.warning(
                    extra,
                    ("metadata", "name"),
                    message,
                    "this quota is adjustable: request an increase in Service Quotas before applying",
                )
            else:
                ctx.error(extra, ("metadata", "name"), message, "this quota cannot be raised")
