"""Describe*, List*, Delete* for every kind (table-driven) plus tags and the AWS-owned catalogue."""

from __future__ import annotations

from typing import Any

from ..errors import EmulatorError, invalid, not_found
from ..kinds import DELETING, IN_FLIGHT, KINDS, Kind
from ..pagination import paginate
from ..recipes import (
    ALGORITHMS,
    FEATURE_TRANSFORMATIONS,
    RECIPES,
    algorithm_record,
    feature_transformation_record,
    recipe_record,
)
from ..state import Context, Record, require, update_in_progress
from .registry import DELETE_CHECKS, HANDLERS, UPDATE_FIELDS, op


def _describe(kind: Kind) -> Any:
    def handler(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
        return {kind.describe_key: ctx.get(kind.key, params[kind.arn_key])}

    return handler


def _list(kind: Kind) -> Any:
    def handler(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
        items = sorted(ctx.records(kind.key).values(), key=lambda r: r["_seq"], reverse=kind.newest_first)
        parent = params.get(kind.list_filter) if kind.list_filter else None
        if parent is not None and kind.list_filter is not None:
            if kind.key == "solution_version" and ctx.find("solution", parent) is None:
                raise not_found(f"Could not find solution with ARN {parent}.")
            field = "_solutionArn" if kind.key == "campaign" else kind.list_filter
            items = [r for r in items if r.get(field) == parent]
        page, token = paginate(f"List{kind.plural}", params, items, lambda r: r["_seq"])
        return {kind.list_key: page, "nextToken": token}

    return handler


def _delete(kind: Kind) -> Any:
    def handler(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
        record = ctx.get(kind.key, params[kind.arn_key])
        status = record.get("status")
        title = kind.title
        require(status not in DELETING, f"{title} {record[kind.arn_key]} is already being deleted.")
        require(
            status not in IN_FLIGHT and not str(status).startswith(("STOP ", "START ")),
            f"{title} {record[kind.arn_key]} is in status {status}; wait until it settles, then delete it.",
        )
        field = UPDATE_FIELDS.get(kind.key)
        require(
            field is None or not update_in_progress(record, field),
            f"{title} {record[kind.arn_key]} has an update in progress; wait until it completes.",
        )
        check = DELETE_CHECKS.get(kind.key)
        if check is not None:
            check(ctx, record)
        if kind.key == "schema":
            ctx.remove("schema", record["schemaArn"])
        elif kind.key == "dataset_group":
            ctx.start_delete(kind.key, record, ("DELETE PENDING",))
        else:
            ctx.start_delete(kind.key, record)
        return {}

    return handler


for _kind in KINDS.values():
    HANDLERS[f"Describe{_kind.noun}"] = _describe(_kind)
    HANDLERS[f"List{_kind.plural}"] = _list(_kind)
    if _kind.has_delete:
        HANDLERS[f"Delete{_kind.noun}"] = _delete(_kind)


# ---- tags -------------------------------------------------------------------------------------------
def _taggable(ctx: Context, arn: str) -> Record:
    key = ctx.kind_of(arn)
    if key is None:
        raise not_found(f"Could not find resource with ARN {arn}.")
    if not KINDS[key].taggable:
        raise invalid(f"Resource {arn} of type {KINDS[key].arn_type} does not support tags.")
    return ctx.records(key)[arn]


@op("ListTagsForResource")
def list_tags(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    arn = params["resourceArn"]
    _taggable(ctx, arn)
    return {"tags": [{"tagKey": k, "tagValue": v} for k, v in ctx.state.tags.get(arn, {}).items()]}


@op("TagResource")
def tag_resource(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    arn = params["resourceArn"]
    _taggable(ctx, arn)
    merged = dict(ctx.state.tags.get(arn, {}))
    merged.update({t["tagKey"]: t.get("tagValue", "") for t in params["tags"]})
    ctx.check_tag_count(arn, len(merged))
    ctx.state.tags[arn] = merged
    return {}


@op("UntagResource")
def untag_resource(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    arn = params["resourceArn"]
    _taggable(ctx, arn)
    keys = params["tagKeys"]
    limit = ctx.emulator.quotas["tags_per_resource"]
    if len(keys) > limit:
        raise EmulatorError(
            "TooManyTagKeysException",
            f"The request contains {len(keys)} tag keys; at most {limit} can be associated with a resource.",
        )
    current = ctx.state.tags.get(arn, {})
    for key in keys:
        current.pop(key, None)
    return {}


# ---- AWS-owned catalogue ----------------------------------------------------------------------------
_RECIPE_RECORDS = [recipe_record(r, i) for i, r in enumerate(RECIPES.values(), start=1)]


@op("ListRecipes")
def list_recipes(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    items = _RECIPE_RECORDS
    if params.get("domain"):
        items = [r for r in items if r.get("domain") == params["domain"]]
    page, token = paginate("ListRecipes", params, items, lambda r: r["_seq"])
    return {"recipes": page, "nextToken": token}


@op("DescribeRecipe")
def describe_recipe(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    arn = params["recipeArn"]
    for record in _RECIPE_RECORDS:
        if record["recipeArn"] == arn:  # Recipe (unlike RecipeSummary) has no domain member
            return {"recipe": {k: v for k, v in record.items() if k != "domain"}}
    raise not_found(f"Could not find recipe with ARN {arn}.")


@op("DescribeAlgorithm")
def describe_algorithm(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    arn = params["algorithmArn"]
    for algorithm in ALGORITHMS.values():
        if algorithm.arn == arn:
            return {"algorithm": algorithm_record(algorithm)}
    raise not_found(f"Could not find algorithm with ARN {arn}.")


@op("DescribeFeatureTransformation")
def describe_feature_transformation(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    arn = params["featureTransformationArn"]
    name = arn.rpartition("feature-transformation/")[2]
    if name not in FEATURE_TRANSFORMATIONS or not arn.startswith(
        "arn:aws:personalize:::feature-transformation/"
    ):
        raise not_found(f"Could not find feature transformation with ARN {arn}.")
    return {"featureTransformation": feature_transformation_record(name)}
