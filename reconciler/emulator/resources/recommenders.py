"""Recommenders of domain dataset groups: create, update, start, stop."""

from __future__ import annotations

from typing import Any

from ..errors import invalid, not_found
from ..recipes import RECIPES
from ..state import Context, Record, require, update_in_progress
from .datasets import active_group, unique_name
from .registry import ON_REMOVE, ON_STATUS, ON_UPDATE_ACTIVE, UPDATE_FIELDS, op
from .solutions import train_model, training_failure

UPDATE_FIELDS["recommender"] = "latestRecommenderUpdate"


@op("CreateRecommender")
def create_recommender(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    name = params["name"]
    unique_name(ctx, "recommender", name)
    group = active_group(ctx, params["datasetGroupArn"])
    recipe = RECIPES.get(params["recipeArn"])
    if recipe is None:
        raise not_found(f"Could not find recipe with ARN {params['recipeArn']}.")
    if not group.get("domain"):
        raise invalid(
            f"Dataset group {group['name']} has no domain; recommenders need a Domain dataset group."
        )
    if recipe.domain != group["domain"]:
        raise invalid(f"Recipe {recipe.name} is not a {group['domain']} use case.")
    siblings = ctx.live("recommender", datasetGroupArn=group["datasetGroupArn"])
    ctx.quota("recommenders_per_dataset_group", len(siblings), "recommenders in this dataset group")
    arn = ctx.arn("recommender", name)
    config = {"minRecommendationRequestsPerSecond": 1, **(params.get("recommenderConfig") or {})}
    fields = {
        "name": name,
        "datasetGroupArn": group["datasetGroupArn"],
        "recipeArn": recipe.arn,
        "recommenderConfig": config,
        "_recipeArn": recipe.arn,
    }
    record = ctx.insert("recommender", arn, fields, params.get("tags", []))
    reason = ctx.emulator.control.take_failure("recommender", [name, arn]) or training_failure(ctx, record)
    ctx.start_create("recommender", record, ctx.emulator.profile.create_seconds("recommender"), reason)
    return {"recommenderArn": arn}


def _recommender_status(ctx: Context, record: Record, status: str) -> None:
    if status == "ACTIVE" and ctx.emulator.models.for_recommender(record["recommenderArn"]) is None:
        record["modelMetrics"] = train_model(ctx, record["recommenderArn"], record["recipeArn"], record)


ON_STATUS["recommender"] = _recommender_status


def _recommender_removed(ctx: Context, record: Record) -> None:
    ctx.emulator.models.drop(record["recommenderArn"])


ON_REMOVE["recommender"] = _recommender_removed


@op("UpdateRecommender")
def update_recommender(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    record = ctx.get_active("recommender", params["recommenderArn"], "recommender")
    arn = record["recommenderArn"]
    require(
        not update_in_progress(record, "latestRecommenderUpdate"),
        f"Recommender {arn} already has an update in progress.",
    )
    config = {"minRecommendationRequestsPerSecond": 1, **params["recommenderConfig"]}
    ctx.start_update("recommender", record, "latestRecommenderUpdate", {"recommenderConfig": config})
    return {"recommenderArn": arn}


def _recommender_update_active(ctx: Context, record: Record) -> None:
    record["recommenderConfig"] = record["latestRecommenderUpdate"]["recommenderConfig"]


ON_UPDATE_ACTIVE["recommender"] = _recommender_update_active


@op("StopRecommender")
def stop_recommender(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    record = ctx.get("recommender", params["recommenderArn"], "recommender")
    arn = record["recommenderArn"]
    require(
        record["status"] == "ACTIVE", f"Recommender {arn} is {record['status']}; only an ACTIVE one can stop."
    )
    p = ctx.emulator.profile
    ctx.transition(
        "recommender",
        record,
        [(0.0, "STOP PENDING"), (p.pending, "STOP IN_PROGRESS"), (p.pending + p.stop, "INACTIVE")],
    )
    return {"recommenderArn": arn}


@op("StartRecommender")
def start_recommender(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    record = ctx.get("recommender", params["recommenderArn"], "recommender")
    arn = record["recommenderArn"]
    require(
        record["status"] == "INACTIVE",
        f"Recommender {arn} is {record['status']}; only an INACTIVE one can start.",
    )
    p = ctx.emulator.profile
    ctx.transition(
        "recommender",
        record,
        [(0.0, "START PENDING"), (p.pending, "START IN_PROGRESS"), (p.pending + p.start, "ACTIVE")],
    )
    return {"recommenderArn": arn}
