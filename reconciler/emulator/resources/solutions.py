"""Solutions (automatic training, updates), solution versions (training, stop, metrics)."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from ..data import Table
from ..errors import already_exists, invalid, not_found
from ..metrics import training_hours
from ..models import TrainingConfig, training_datasets
from ..recipes import ALGORITHMS, RECIPES, Recipe, algorithm_record
from ..s3data import DataStats
from ..state import Context, Record, require, update_in_progress
from .datasets import active_group, data_generation, unique_name
from .registry import DELETE_CHECKS, ON_REMOVE, ON_STATUS, ON_UPDATE_ACTIVE, UPDATE_FIELDS, op

HOUR = 3600.0
DAY = 86400.0
DEFAULT_SCHEDULE = "rate(7 days)"
UPDATE_FIELDS["solution"] = "latestSolutionUpdate"


def schedule_days(expression: str) -> int:
    match = re.fullmatch(r"rate\((\d+) days?\)", expression)
    days = int(match.group(1)) if match else 0
    if not 1 <= days <= 30:
        raise invalid(
            f"Invalid schedulingExpression {expression!r}: use rate(N days) with N between 1 and 30."
        )
    return days


def custom_recipe(arn: str) -> Recipe:
    recipe = RECIPES.get(arn)
    if recipe is None:
        raise not_found(f"Could not find recipe with ARN {arn}.")
    if recipe.domain is not None:
        raise invalid(f"Recipe {arn} is a {recipe.domain} use case; use it with CreateRecommender.")
    return recipe


def _check_config(config: dict[str, Any]) -> None:
    hpo = (config.get("hpoConfig") or {}).get("hpoResourceConfig") or {}
    for key, top in (("maxNumberOfTrainingJobs", 40), ("maxParallelTrainingJobs", 10)):
        if key in hpo and (not hpo[key].isdigit() or not 1 <= int(hpo[key]) <= top):
            raise invalid(f"hpoResourceConfig.{key} must be an integer between 1 and {top}.")
    auto = config.get("autoTrainingConfig") or {}
    if auto.get("schedulingExpression"):
        schedule_days(auto["schedulingExpression"])


@op("CreateSolution")
def create_solution(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    name = params["name"]
    unique_name(ctx, "solution", name)
    group = active_group(ctx, params["datasetGroupArn"])
    automl = params.get("performAutoML", False)
    config = params.get("solutionConfig") or {}
    recipe_arn = params.get("recipeArn")
    if automl and recipe_arn:
        raise invalid("Omit recipeArn when performAutoML is true.")
    if not automl and not recipe_arn:
        raise invalid("recipeArn is required unless performAutoML is true.")
    if automl:
        candidates = (config.get("autoMLConfig") or {}).get("recipeList") or [
            "arn:aws:personalize:::recipe/aws-user-personalization"
        ]
        recipe = custom_recipe(candidates[0])
    else:
        recipe = custom_recipe(recipe_arn or "")
    if params.get("performIncrementalUpdate") and not recipe.incremental_update:
        raise invalid("performIncrementalUpdate is supported only by the aws-semantic-similarity recipe.")
    _check_config(config)
    siblings = ctx.live("solution", datasetGroupArn=group["datasetGroupArn"])
    ctx.quota("solutions_per_dataset_group", len(siblings), "solutions in this dataset group")
    arn = ctx.arn("solution", name)
    fields = {
        "name": name,
        "performHPO": params.get("performHPO", False),
        "performAutoML": automl,
        "performAutoTraining": params.get("performAutoTraining", True),
        "performIncrementalUpdate": params.get("performIncrementalUpdate"),
        "recipeArn": recipe.arn if not automl else None,
        "datasetGroupArn": group["datasetGroupArn"],
        "eventType": params.get("eventType"),
        "solutionConfig": config or None,
        "autoMLResult": {"bestRecipeArn": recipe.arn} if automl else None,
        "_recipeArn": recipe.arn,
        "_atgen": 0,
        "_versions": 0,
    }
    record = ctx.insert("solution", arn, fields, params.get("tags", []))
    reason = ctx.emulator.control.take_failure("solution", [name, arn])
    ctx.start_create("solution", record, ctx.emulator.profile.create_seconds("solution"), reason)
    return {"solutionArn": arn}


def _plan_auto_training(ctx: Context, solution: Record) -> None:
    """(Re)start the automatic-training schedule: the first run within an hour of ``ctx.now``."""
    solution["_atgen"] = solution.get("_atgen", 0) + 1
    solution["_atStart"] = ctx.now
    if solution.get("performAutoTraining"):
        ctx.schedule(
            ctx.now + HOUR / ctx.emulator.time_scale,
            "autotrain",
            solution["solutionArn"],
            gen=solution["_atgen"],
            first=True,
        )


def _solution_status(ctx: Context, record: Record, status: str) -> None:
    if status == "ACTIVE":
        _plan_auto_training(ctx, record)


ON_STATUS["solution"] = _solution_status


def auto_train(ctx: Context, arn: str, payload: dict[str, Any]) -> None:
    """A due automatic-training tick: create an AUTOMATIC version unless skipped, then schedule the next."""
    solution = ctx.find("solution", arn)
    if (
        solution is None
        or payload.get("gen") != solution.get("_atgen")
        or not solution.get("performAutoTraining")
    ):
        return
    if solution["status"] != "ACTIVE":
        return
    manual_at = solution.get("_manualAt")
    skip = (
        payload.get("first")
        and manual_at is not None
        and manual_at > ctx.now - HOUR / ctx.emulator.time_scale
    )
    if not skip and not new_data_since_last_version(ctx, solution):
        skip = True  # "scheduled training runs only if data was imported since the last one"
    if not skip:
        running = ctx.in_flight("solution_version")
        if len(running) < ctx.emulator.quotas["pending_solution_versions_per_region"]:
            _new_version(ctx, solution, None, "AUTOTRAIN", "AUTOMATIC", [])
    schedule = ((solution.get("solutionConfig") or {}).get("autoTrainingConfig") or {}).get(
        "schedulingExpression", DEFAULT_SCHEDULE
    )
    ctx.schedule(
        ctx.now + schedule_days(schedule) * DAY / ctx.emulator.time_scale,
        "autotrain",
        arn,
        gen=solution["_atgen"],
        first=False,
    )


def new_data_since_last_version(ctx: Context, solution: Record) -> bool:
    current = data_generation(ctx, solution["datasetGroupArn"])
    if current == 0:
        return False
    trained = [
        v
        for v in ctx.where("solution_version", solutionArn=solution["solutionArn"])
        if v.get("status") not in ("CREATE FAILED", "CREATE STOPPED", "CREATE STOPPING")
    ]
    if not trained:
        return True
    latest = max(trained, key=lambda v: v["_seq"])
    return int(latest.get("_dataGeneration", 0)) < current


@op("UpdateSolution")
def update_solution(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    solution = ctx.get_active("solution", params["solutionArn"], "solution")
    arn = solution["solutionArn"]
    require(
        not update_in_progress(solution, "latestSolutionUpdate"),
        f"Solution {arn} already has an update in progress.",
    )
    update_config = params.get("solutionUpdateConfig") or {}
    _check_config(update_config)
    if params.get("performIncrementalUpdate") and not RECIPES[solution["_recipeArn"]].incremental_update:
        raise invalid("performIncrementalUpdate is supported only by the aws-semantic-similarity recipe.")
    summary = {
        "solutionUpdateConfig": update_config,
        "performAutoTraining": params.get("performAutoTraining", solution.get("performAutoTraining")),
        "performIncrementalUpdate": params.get(
            "performIncrementalUpdate", solution.get("performIncrementalUpdate")
        ),
    }
    ctx.start_update("solution", solution, "latestSolutionUpdate", summary)
    return {"solutionArn": arn}


def _solution_update_active(ctx: Context, solution: Record) -> None:
    update = solution["latestSolutionUpdate"]
    before = (solution.get("performAutoTraining"), _schedule_of(solution))
    solution["performAutoTraining"] = update.get("performAutoTraining")
    if update.get("performIncrementalUpdate") is not None:
        solution["performIncrementalUpdate"] = update["performIncrementalUpdate"]
    config = dict(solution.get("solutionConfig") or {})
    for key in ("autoTrainingConfig", "eventsConfig"):
        if key in update.get("solutionUpdateConfig", {}):
            config[key] = update["solutionUpdateConfig"][key]
    solution["solutionConfig"] = config or None
    if (solution.get("performAutoTraining"), _schedule_of(solution)) != before:
        _plan_auto_training(ctx, solution)


def _schedule_of(solution: Record) -> str:
    config = solution.get("solutionConfig") or {}
    return str((config.get("autoTrainingConfig") or {}).get("schedulingExpression", DEFAULT_SCHEDULE))


ON_UPDATE_ACTIVE["solution"] = _solution_update_active


def _solution_in_use(ctx: Context, solution: Record) -> None:
    arn = solution["solutionArn"]
    campaigns = [c["campaignArn"] for c in ctx.records("campaign").values() if c.get("_solutionArn") == arn]
    require(
        not campaigns, f"Solution {arn} is deployed by campaign(s) {', '.join(campaigns)}; delete them first."
    )
    training = ctx.in_flight("solution_version", solutionArn=arn)
    require(not training, f"Solution {arn} has a solution version in training; wait or stop it first.")


DELETE_CHECKS["solution"] = _solution_in_use


def _solution_removed(ctx: Context, solution: Record) -> None:
    for version in ctx.where("solution_version", solutionArn=solution["solutionArn"]):
        ctx.remove("solution_version", version["solutionVersionArn"])
        ctx.emulator.models.drop(version["solutionVersionArn"])


ON_REMOVE["solution"] = _solution_removed


# ---- solution versions ------------------------------------------------------------------------------
def interaction_stats(ctx: Context, group_arn: str) -> DataStats | None:
    found = ctx.where("dataset", datasetGroupArn=group_arn, datasetType="INTERACTIONS")
    return DataStats.from_dict(found[0]["_data"]) if found and found[0].get("_imported") else None


def training_failure(ctx: Context, solution: Record) -> str | None:
    recipe = RECIPES[solution["_recipeArn"]]
    group = solution["datasetGroupArn"]
    for dataset_type in recipe.requires:
        datasets = ctx.where("dataset", datasetGroupArn=group, datasetType=dataset_type)
        if not datasets or not datasets[0].get("_imported"):
            return (
                f"The dataset group has no {dataset_type} dataset with imported data, which recipe "
                f"{recipe.name} requires. Import data and try again."
            )
    if "INTERACTIONS" not in recipe.requires:
        return None
    quotas = ctx.emulator.quotas
    table = ctx.emulator.data.interactions(group)
    if table is not None:  # the kept rows: bulk imports and PutEvents alike
        event_type = solution.get("eventType")
        kept = (table.user >= 0) & (table.item >= 0)
        if event_type:
            kept &= table.event_type == table.event_types.get(event_type)
        rows = int(kept.sum())
        per_user = np.bincount(table.user[kept], minlength=len(table.users))
        active_users = int((per_user >= 2).sum())
    else:
        stats = interaction_stats(ctx, group) or DataStats()
        rows = stats.rows
        if solution.get("eventType"):
            rows = stats.event_types.get(solution["eventType"], 0)
        active_users = sum(1 for n in stats.users.values() if n >= 2)
    if rows < quotas["min_interactions_for_training"]:
        scope = f" of event type {solution['eventType']}" if solution.get("eventType") else ""
        return (
            f"Insufficient data for training: found {rows} interactions{scope}, but at least "
            f"{quotas['min_interactions_for_training']} are required."
        )
    if active_users < quotas["min_users_with_two_interactions"]:
        return (
            f"Insufficient data for training: found {active_users} users with at least 2 interactions, "
            "but at "
            f"least {quotas['min_users_with_two_interactions']} are required."
        )
    return None


def _summary(version: Record) -> dict[str, Any]:
    keys = ("solutionVersionArn", "status", "trainingMode", "trainingType", "creationDateTime")
    out = {k: version.get(k) for k in (*keys, "lastUpdatedDateTime", "failureReason")}
    return {k: v for k, v in out.items() if v is not None}


def _new_version(
    ctx: Context,
    solution: Record,
    name: str | None,
    mode: str,
    training_type: str,
    tags: list[dict[str, str]],
) -> Record:
    solution["_versions"] = sequence = solution.get("_versions", 0) + 1
    version_id = ctx.short_id("solution-version", solution["solutionArn"])
    arn = f"{solution['solutionArn']}/{version_id}"
    fields = {
        "name": name,
        "solutionArn": solution["solutionArn"],
        "performHPO": solution.get("performHPO"),
        "performAutoML": solution.get("performAutoML"),
        "performIncrementalUpdate": solution.get("performIncrementalUpdate"),
        "recipeArn": solution["_recipeArn"],
        "eventType": solution.get("eventType"),
        "datasetGroupArn": solution["datasetGroupArn"],
        "solutionConfig": solution.get("solutionConfig"),
        "trainingMode": mode,
        "trainingType": training_type,
        "_sequence": sequence,
        "_dataGeneration": data_generation(ctx, solution["datasetGroupArn"]),
    }
    version = ctx.insert("solution_version", arn, fields, tags)
    group_arn = solution["datasetGroupArn"]
    ctx.emulator.models.capture(arn, *_training_tables(ctx, group_arn, solution["_recipeArn"]))
    keys = [k for k in (name, arn, solution["name"], solution["solutionArn"]) if k]
    failure = ctx.emulator.control.take_failure("solution_version", keys) or training_failure(ctx, solution)
    seconds = ctx.emulator.profile.create_seconds("solution_version", mode)
    ctx.start_create("solution_version", version, seconds, failure)
    solution["latestSolutionVersion"] = _summary(version)
    return version


@op("CreateSolutionVersion")
def create_solution_version(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    solution = ctx.get_active("solution", params["solutionArn"], "solution")
    arn = solution["solutionArn"]
    name = params.get("name")
    if name and ctx.where("solution_version", solutionArn=arn, name=name):
        raise already_exists(f"Solution {solution['name']} already has a version named {name}.")
    mode = params.get("trainingMode", "FULL")
    if mode == "UPDATE":
        recipe = RECIPES[solution["_recipeArn"]]
        if not recipe.update_training:
            raise invalid(f"trainingMode UPDATE is not supported by recipe {recipe.name}.")
        fulls = [
            v
            for v in ctx.where("solution_version", solutionArn=arn, trainingMode="FULL")
            if v["status"] == "ACTIVE"
        ]
        if not fulls:
            raise invalid(
                "trainingMode UPDATE requires an ACTIVE solution version trained with trainingMode FULL."
            )
    running = ctx.in_flight("solution_version")
    ctx.quota(
        "pending_solution_versions_per_region", len(running), "pending or in-progress solution versions"
    )
    solution["_manualAt"] = ctx.now
    version = _new_version(ctx, solution, name, mode, "MANUAL", params.get("tags", []))
    return {"solutionVersionArn": version["solutionVersionArn"]}


def _version_status(ctx: Context, version: Record, status: str) -> None:
    solution = ctx.find("solution", version["solutionArn"])
    if status in ("CREATE FAILED", "CREATE STOPPED"):
        ctx.emulator.models.release(version["solutionVersionArn"])
    if status == "ACTIVE":
        stats = interaction_stats(ctx, version["datasetGroupArn"]) or DataStats()
        version["_metrics"] = train_model(ctx, version["solutionVersionArn"], version["recipeArn"], version)
        material = {"recipe": version["recipeArn"], "config": version.get("solutionConfig")}
        version["trainingHours"] = training_hours(material, stats.rows)
        _follow_latest(ctx, version)
    if solution is not None:
        latest = solution.get("latestSolutionVersion") or {}
        if latest.get("solutionVersionArn") == version["solutionVersionArn"]:
            solution["latestSolutionVersion"] = _summary(version)


def _training_tables(ctx: Context, group: str, recipe_arn: str) -> tuple[Table | None, Table | None]:
    interactions, items = training_datasets(RECIPES[recipe_arn].name)
    return ctx.emulator.data.table(group, interactions), ctx.emulator.data.table(group, items)


def train_model(ctx: Context, arn: str, recipe_arn: str, record: Record) -> dict[str, float]:
    """Train the small real model behind a solution version or recommender (``emulator.models``); returns
    its offline metrics."""
    group = record["datasetGroupArn"]
    config = TrainingConfig.from_solution(
        RECIPES[recipe_arn].name, record.get("solutionConfig"), record.get("eventType")
    )
    hpo = None
    if record.get("performHPO"):
        hpo = dict((record.get("solutionConfig") or {}).get("hpoConfig") or {})
        if not hpo.get("algorithmHyperParameterRanges"):  # the algorithm's documented default ranges
            algorithm = ALGORITHMS[RECIPES[recipe_arn].algorithm]
            hpo["algorithmHyperParameterRanges"] = algorithm_record(algorithm)["defaultHyperParameterRanges"]
    result = ctx.emulator.models.train(arn, config, *_training_tables(ctx, group, recipe_arn), hpo=hpo)
    if result.tuned is not None:
        tuned = {**_default_hyperparameters(recipe_arn), **result.tuned}
        record["tunedHPOParams"] = {"algorithmHyperParameters": tuned}
    return result.metrics


def _default_hyperparameters(recipe_arn: str) -> dict[str, str]:
    return dict(ALGORITHMS[RECIPES[recipe_arn].algorithm].hyperparameters)


def _follow_latest(ctx: Context, version: Record) -> None:
    """Campaigns with syncWithLatestSolutionVersion deploy every new ACTIVE version of their solution."""
    for campaign in ctx.records("campaign").values():
        if campaign.get("_solutionArn") != version["solutionArn"] or campaign["status"] != "ACTIVE":
            continue
        if (campaign.get("campaignConfig") or {}).get("syncWithLatestSolutionVersion"):
            campaign["solutionVersionArn"] = version["solutionVersionArn"]
            campaign["lastUpdatedDateTime"] = ctx.now


ON_STATUS["solution_version"] = _version_status


@op("StopSolutionVersionCreation")
def stop_solution_version_creation(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    version = ctx.get("solution_version", params["solutionVersionArn"], "solution version")
    status = version["status"]
    if status == "CREATE PENDING":
        ctx.transition("solution_version", version, [(0.0, "CREATE STOPPED")])
    elif status == "CREATE IN_PROGRESS":
        ctx.transition(
            "solution_version",
            version,
            [(0.0, "CREATE STOPPING"), (ctx.emulator.profile.stop, "CREATE STOPPED")],
        )
    else:
        require(
            False,
            f"Solution version {version['solutionVersionArn']} is {status}; only a version in "
            "CREATE PENDING or CREATE IN_PROGRESS can be stopped.",
        )
    _version_status(ctx, version, version["status"])
    return {}


@op("GetSolutionMetrics")
def get_solution_metrics(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    version = ctx.get("solution_version", params["solutionVersionArn"], "solution version")
    arn = version["solutionVersionArn"]
    require(
        version["status"] == "ACTIVE",
        f"Solution version {arn} is {version['status']}; metrics exist once ACTIVE.",
    )
    metrics = ctx.emulator.control.metrics_for(arn, version)
    return {"solutionVersionArn": arn, "metrics": metrics}
