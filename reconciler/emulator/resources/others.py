"""Filters, event trackers, metric attributions, batch inference and batch segment jobs."""

from __future__ import annotations

import re
from typing import Any

from ..errors import already_exists, invalid
from ..filtering import uses_current_item, wrong_target
from ..filters import FilterSyntaxError, compile_filter, parse_filter
from ..pagination import paginate
from ..recipes import RECIPES
from ..s3data import ImportFailure, has_input
from ..state import Context
from .datasets import active_group, unique_name
from .registry import HANDLERS, op


# ---- filter -----------------------------------------------------------------------------------------
@op("CreateFilter")
def create_filter(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    name = params["name"]
    unique_name(ctx, "filter", name)
    group = ctx.get("dataset_group", params["datasetGroupArn"], "dataset group")
    if group["status"] != "ACTIVE":
        raise invalid(f"Dataset group {group['datasetGroupArn']} is {group['status']}; it must be ACTIVE.")
    expression = params["filterExpression"]
    try:
        refs = parse_filter(expression)
    except FilterSyntaxError as exc:
        raise invalid(f"Invalid filter expression: {exc}.") from exc
    for ref in refs:
        datasets = ctx.where("dataset", datasetGroupArn=group["datasetGroupArn"], datasetType=ref.dataset)
        if not datasets:
            raise invalid(
                f"The filter references {ref.dataset} but the dataset group has no {ref.dataset} dataset."
            )
        schema = ctx.get("schema", datasets[0]["schemaArn"], "schema")
        if ref.field.upper() not in {f["name"].upper() for f in schema["_fields"]}:
            raise invalid(f"Field {ref.field} is not in the schema of the {ref.dataset} dataset.")
        if ref.dataset in ("INTERACTIONS", "ACTION_INTERACTIONS") and ref.field.upper() != "EVENT_TYPE":
            # "If you are filtering based on item or action interactions data, you can only filter based
            # on event type" (dg/filter-expression-guidelines-requirements)
            name = "Interactions" if ref.dataset == "INTERACTIONS" else "Action_Interactions"
            raise invalid(
                f"Invalid filter expression: {name}.{ref.field} cannot be filtered; filters on interactions "
                "data can use only EVENT_TYPE. Filter items with Items.FIELD (or users with Users.FIELD) "
                "instead."
            )
    siblings = ctx.live("filter", datasetGroupArn=group["datasetGroupArn"])
    ctx.quota("filters_per_dataset_group", len(siblings), "filters in this dataset group")
    arn = ctx.arn("filter", name)
    fields = {"name": name, "datasetGroupArn": group["datasetGroupArn"], "filterExpression": expression}
    record = ctx.insert("filter", arn, fields, params.get("tags", []))
    reason = ctx.emulator.control.take_failure("filter", [name, arn])
    ctx.start_create("filter", record, ctx.emulator.profile.create_seconds("filter"), reason)
    return {"filterArn": arn}


# ---- event tracker ----------------------------------------------------------------------------------
@op("CreateEventTracker")
def create_event_tracker(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    name = params["name"]
    unique_name(ctx, "event_tracker", name)
    group = active_group(ctx, params["datasetGroupArn"])
    if ctx.where("event_tracker", datasetGroupArn=group["datasetGroupArn"]):
        raise already_exists(
            f"Dataset group {group['name']} already has an event tracker; only one is allowed."
        )
    arn = ctx.arn("event_tracker", ctx.short_id("event-tracker", name))
    tracking_id = ctx.uuid("tracking", name)
    fields = {
        "name": name,
        "accountId": ctx.account,
        "trackingId": tracking_id,
        "datasetGroupArn": group["datasetGroupArn"],
    }
    record = ctx.insert("event_tracker", arn, fields, params.get("tags", []))
    reason = ctx.emulator.control.take_failure("event_tracker", [name, arn])
    ctx.start_create("event_tracker", record, ctx.emulator.profile.create_seconds("event_tracker"), reason)
    return {"eventTrackerArn": arn, "trackingId": tracking_id}


# ---- metric attribution -----------------------------------------------------------------------------
_EXPRESSION = re.compile(
    r"SUM\((ITEMS|INTERACTIONS)\.[A-Za-z_][A-Za-z0-9_]*\)|SAMPLECOUNT\(\)", re.IGNORECASE
)
MAX_METRICS = 10


def _check_metrics(metrics: list[dict[str, str]]) -> None:
    names = [m["metricName"] for m in metrics]
    if len(set(names)) != len(names):
        raise invalid("Metric names must be unique within a metric attribution.")
    if len(metrics) > MAX_METRICS:
        raise invalid(f"A metric attribution can have at most {MAX_METRICS} metrics.")
    for m in metrics:
        if not _EXPRESSION.fullmatch(m["expression"]):
            raise invalid(
                f"Invalid metric expression {m['expression']!r}: use SUM(Items.COLUMN), "
                "SUM(Interactions.COLUMN) "
                "or SAMPLECOUNT()."
            )


@op("CreateMetricAttribution")
def create_metric_attribution(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    name = params["name"]
    unique_name(ctx, "metric_attribution", name)
    group = active_group(ctx, params["datasetGroupArn"])
    _check_metrics(params["metrics"])
    siblings = ctx.where("metric_attribution", datasetGroupArn=group["datasetGroupArn"])
    ctx.quota(
        "metric_attributions_per_dataset_group", len(siblings), "metric attributions in this dataset group"
    )
    arn = ctx.arn("metric_attribution", name)
    fields = {
        "name": name,
        "datasetGroupArn": group["datasetGroupArn"],
        "metricsOutputConfig": params["metricsOutputConfig"],
        "_metrics": list(params["metrics"]),
    }
    record = ctx.insert("metric_attribution", arn, fields)
    reason = ctx.emulator.control.take_failure("metric_attribution", [name, arn])
    ctx.start_create(
        "metric_attribution", record, ctx.emulator.profile.create_seconds("metric_attribution"), reason
    )
    return {"metricAttributionArn": arn}


@op("UpdateMetricAttribution")
def update_metric_attribution(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    arn = params.get("metricAttributionArn")
    if not arn:
        raise invalid("metricAttributionArn is required.")
    record = ctx.get_active("metric_attribution", arn, "metric attribution")
    metrics = {m["metricName"]: m for m in record["_metrics"]}
    for name in params.get("removeMetrics", []):
        if name not in metrics:
            raise invalid(f"Metric attribution {record['name']} has no metric named {name}.")
        del metrics[name]
    for metric in params.get("addMetrics", []):
        if metric["metricName"] in metrics:
            raise already_exists(
                f"Metric attribution {record['name']} already has a metric {metric['metricName']}."
            )
        metrics[metric["metricName"]] = metric
    _check_metrics(list(metrics.values()))
    record["_metrics"] = list(metrics.values())
    if params.get("metricsOutputConfig"):
        record["metricsOutputConfig"] = params["metricsOutputConfig"]
    record["lastUpdatedDateTime"] = ctx.now
    return {"metricAttributionArn": arn}


@op("ListMetricAttributionMetrics")
def list_metric_attribution_metrics(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    arn = params.get("metricAttributionArn")
    records = sorted(ctx.records("metric_attribution").values(), key=lambda r: r["_seq"])
    items = [
        (r["_seq"] * 100 + i, m)
        for r in records
        if arn is None or r["metricAttributionArn"] == arn
        for i, m in enumerate(r["_metrics"])
    ]
    page, token = paginate("ListMetricAttributionMetrics", params, items, lambda item: item[0])
    return {"metrics": [m for _, m in page], "nextToken": token}


# ---- batch jobs -------------------------------------------------------------------------------------
def _batch_job(ctx: Context, params: dict[str, Any], kind: str) -> dict[str, Any]:
    name = params["jobName"]
    unique_name(ctx, kind, name)
    version = ctx.get_active("solution_version", params["solutionVersionArn"], "solution version")
    recipe = RECIPES[version["recipeArn"]]
    segment = kind == "batch_segment_job"
    if segment and recipe.recipe_type != "USER_SEGMENTATION":
        raise invalid(
            f"Batch segment jobs need a USER_SEGMENTATION recipe; {recipe.name} is {recipe.recipe_type}."
        )
    if not segment:
        if recipe.recipe_type == "USER_SEGMENTATION":
            raise invalid(f"Recipe {recipe.name} produces user segments; use CreateBatchSegmentJob.")
        if not recipe.batch_inference:
            raise invalid(f"You can't get batch recommendations with the {recipe.name} recipe.")
        mode = params.get("batchInferenceJobMode", "BATCH_INFERENCE")
        if mode == "THEME_GENERATION" and recipe.name != "aws-similar-items":
            raise invalid(
                "THEME_GENERATION batch inference jobs need a solution version of aws-similar-items."
            )
        if mode == "THEME_GENERATION" and not params.get("themeGenerationConfig"):
            raise invalid("themeGenerationConfig is required for THEME_GENERATION jobs.")
    if params.get("filterArn"):
        found = ctx.get("filter", params["filterArn"], "filter")
        # ItemID filters for batch recommendations, UserID for segments (personalize-api.md 9.2 rule 10
        # [DOC]); the InvalidInputException at create is an inference [INF].
        mismatch = wrong_target(
            found["name"],
            found["filterExpression"],
            "USERID" if segment else "ITEMID",
            "a batch segment job" if segment else "a batch inference job",
        )
        if mismatch:
            raise invalid(mismatch)
        # "No Interactions filters with Item-Attribute-Affinity" (personalize-data-plane.md 3 "Targets" [DOC:
        # dg/filter-expressions (2023)]); refusing it at create with InvalidInputException is an inference.
        if recipe.name == "aws-item-attribute-affinity" and any(
            expr.dataset == "INTERACTIONS" for expr in compile_filter(found["filterExpression"])
        ):
            raise invalid(
                f"Filter {found['name']} reads Interactions, which the aws-item-attribute-affinity recipe "
                "does not support in filters. Use a filter on Users fields (INCLUDE or EXCLUDE UserID WHERE "
                "Users.FIELD ...), or an aws-item-affinity solution version."
            )
        # As GetRecommendations refuses it (dataplane._item_filter): CurrentItem.FIELD reads the line's item,
        # "only for related-item recipes and use cases" (personalize-data-plane.md 3 "Targets" [DOC:
        # dg/native-recipe-sims; dg/item-recommendation-filter-examples]; personalize-api.md 9.2 rule 10).
        # Refusing the job at create with InvalidInputException, rather than failing it later, is an
        # inference [INF], as for the other recipe checks above.
        if (
            not segment
            and recipe.recipe_type != "RELATED_ITEMS"
            and uses_current_item(found["filterExpression"])
        ):
            raise invalid(
                f"Filter {found['name']} uses CurrentItem, which only related-items recipes fill (from each "
                f"line's itemId); solution version {version['solutionVersionArn']} is {recipe.name} "
                f"({recipe.recipe_type}). Use a filter without CurrentItem, or a related-items solution "
                "version."
            )
    running = ctx.in_flight(kind)
    ctx.quota(
        f"pending_{kind}s_per_region", len(running), f"pending or in-progress {kind.replace('_', ' ')}s"
    )
    arn = ctx.arn(kind, name)
    failure = ctx.emulator.control.take_failure(kind, [name, arn])
    path = params["jobInput"]["s3DataSource"]["path"]
    if failure is None:
        try:
            if not has_input(ctx.emulator.s3_client(ctx.region), path):
                failure = f"No files found in the S3 location {path}."
        except ImportFailure as exc:
            failure = str(exc)
        except Exception:
            failure = f"Input file not found: {path}."
    fields = {
        k: params.get(k)
        for k in (
            "jobName",
            "solutionVersionArn",
            "filterArn",
            "numResults",
            "jobInput",
            "jobOutput",
            "roleArn",
        )
    }
    if not segment:
        fields["batchInferenceJobConfig"] = params.get("batchInferenceJobConfig")
        fields["batchInferenceJobMode"] = params.get("batchInferenceJobMode", "BATCH_INFERENCE")
        fields["themeGenerationConfig"] = params.get("themeGenerationConfig")
    record = ctx.insert(kind, arn, fields, params.get("tags", []))
    ctx.start_create(kind, record, ctx.emulator.profile.create_seconds(kind), failure)
    return {f"{'batchSegmentJob' if segment else 'batchInferenceJob'}Arn": arn}


HANDLERS["CreateBatchInferenceJob"] = lambda ctx, params: _batch_job(ctx, params, "batch_inference_job")
HANDLERS["CreateBatchSegmentJob"] = lambda ctx, params: _batch_job(ctx, params, "batch_segment_job")
