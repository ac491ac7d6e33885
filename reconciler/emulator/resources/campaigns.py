"""Campaigns: deployment of a solution version, UpdateCampaign with ``latestCampaignUpdate``."""

from __future__ import annotations

from typing import Any

from ..errors import invalid, not_found
from ..recipes import RECIPES
from ..state import Context, Record, require, update_in_progress
from .datasets import unique_name
from .registry import ON_UPDATE_ACTIVE, UPDATE_FIELDS, op

LATEST = "/$LATEST"
UPDATE_FIELDS["campaign"] = "latestCampaignUpdate"


def resolve_version(ctx: Context, arn: str) -> Record:
    """An ACTIVE solution version for ``arn`` (a version ARN, or ``SOLUTION_ARN/$LATEST``)."""
    if arn.endswith(LATEST):
        solution_arn = arn[: -len(LATEST)]
        if ctx.find("solution", solution_arn) is None:
            raise not_found(f"Could not find solution with ARN {solution_arn}.")
        active = [
            v for v in ctx.where("solution_version", solutionArn=solution_arn) if v["status"] == "ACTIVE"
        ]
        require(bool(active), f"Solution {solution_arn} has no ACTIVE solution version to deploy yet.")
        return max(active, key=lambda v: v["_seq"])
    version = ctx.get_active("solution_version", arn, "solution version")
    return version


def _check_config(config: dict[str, Any], version: Record, requested: str) -> None:
    if config.get("syncWithLatestSolutionVersion") and not requested.endswith(LATEST):
        raise invalid(
            "syncWithLatestSolutionVersion requires solutionVersionArn in the form SOLUTION_ARN/$LATEST."
        )
    exploration = config.get("itemExplorationConfig")
    if exploration:
        recipe = RECIPES[version["recipeArn"]]
        if recipe.recipe_type != "USER_PERSONALIZATION":
            raise invalid(
                f"itemExplorationConfig is supported only by User-Personalization recipes, not {recipe.name}."
            )
        unknown = sorted(set(exploration) - {"explorationWeight", "explorationItemAgeCutOff"})
        if unknown:
            raise invalid(f"Unknown itemExplorationConfig key(s): {', '.join(unknown)}.")
        weight = exploration.get("explorationWeight")
        if weight is not None and not _in_range(weight, 0.0, 1.0):
            raise invalid("itemExplorationConfig.explorationWeight must be a number between 0.0 and 1.0.")


def _in_range(text: str, low: float, high: float) -> bool:
    try:
        return low <= float(text) <= high
    except ValueError:
        return False


@op("CreateCampaign")
def create_campaign(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    name = params["name"]
    unique_name(ctx, "campaign", name)
    requested = params["solutionVersionArn"]
    version = resolve_version(ctx, requested)
    config = params.get("campaignConfig") or {}
    _check_config(config, version, requested)
    group = version["datasetGroupArn"]
    siblings = ctx.live("campaign", _datasetGroupArn=group)
    ctx.quota("campaigns_per_dataset_group", len(siblings), "campaigns in this dataset group")
    arn = ctx.arn("campaign", name)
    fields = {
        "name": name,
        "solutionVersionArn": version["solutionVersionArn"],
        "minProvisionedTPS": params.get("minProvisionedTPS", 1),
        "campaignConfig": config or None,  # omitted when not given, like the other optional members
        "_solutionArn": version["solutionArn"],
        "_datasetGroupArn": group,
    }
    record = ctx.insert("campaign", arn, fields, params.get("tags", []))
    reason = ctx.emulator.control.take_failure("campaign", [name, arn])
    ctx.start_create("campaign", record, ctx.emulator.profile.create_seconds("campaign"), reason)
    return {"campaignArn": arn}


@op("UpdateCampaign")
def update_campaign(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    campaign = ctx.get("campaign", params["campaignArn"], "campaign")
    arn = campaign["campaignArn"]
    require(
        campaign["status"] in ("ACTIVE", "CREATE FAILED"),
        f"Campaign {arn} is {campaign['status']}; it must be ACTIVE or CREATE FAILED to be updated.",
    )
    require(
        not update_in_progress(campaign, "latestCampaignUpdate"),
        f"Campaign {arn} already has an update in progress.",
    )
    config: dict[str, Any] = params.get("campaignConfig") or campaign.get("campaignConfig") or {}
    requested: str = params.get("solutionVersionArn") or (
        campaign["_solutionArn"] + LATEST
        if config.get("syncWithLatestSolutionVersion")
        else campaign["solutionVersionArn"]
    )
    version = resolve_version(ctx, requested)
    _check_config(config, version, requested)
    summary = {
        "solutionVersionArn": version["solutionVersionArn"],
        "minProvisionedTPS": params.get("minProvisionedTPS", campaign.get("minProvisionedTPS")),
        "campaignConfig": config or None,
    }
    ctx.start_update("campaign", campaign, "latestCampaignUpdate", summary)
    return {"campaignArn": arn}


def _campaign_update_active(ctx: Context, campaign: Record) -> None:
    update = campaign["latestCampaignUpdate"]
    for key in ("solutionVersionArn", "minProvisionedTPS", "campaignConfig"):
        if key in update:
            campaign[key] = update[key]
    version = ctx.find("solution_version", campaign["solutionVersionArn"])
    if version is not None:
        campaign["_solutionArn"] = version["solutionArn"]
    if campaign["status"] == "CREATE FAILED":
        campaign["status"] = "ACTIVE"
        campaign.pop("failureReason", None)


ON_UPDATE_ACTIVE["campaign"] = _campaign_update_active
