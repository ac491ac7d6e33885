"""Solutions and campaigns: recipes exist and fit the datasets, hyperparameters, training mode, gates."""

from __future__ import annotations

import difflib
import re

from reconciler.manifest.avro import field_named, field_types
from reconciler.manifest.context import Context, ParsedResource, article
from reconciler.manifest.recipes import (
    AUTO_TRAINING_DAYS,
    EXPLORATION_KEYS,
    HPO_MAX_PARALLEL_JOBS,
    HPO_MAX_TRAINING_JOBS,
    METRIC_KEYS,
    NUMERIC_TYPES,
    RANKING_INFLUENCE_KEYS,
    RECIPES,
    HyperParameter,
    Recipe,
    find_recipe,
    recipe_name,
)
from reconciler.manifest.yamlmarks import Path
from reconciler.model.address import Kind
from reconciler.model.spec import CampaignSpec, SolutionConfig, SolutionSpec

CONFIG: Path = ("spec", "solutionConfig")
DATASET_KEYS = {
    "Interactions": "INTERACTIONS",
    "Items": "ITEMS",
    "Users": "USERS",
    "Actions": "ACTIONS",
    "Action_Interactions": "ACTION_INTERACTIONS",
}


def check(ctx: Context) -> None:
    for res in ctx.of_kind(Kind.SOLUTION):
        assert isinstance(res.spec, SolutionSpec)
        _check_solution(ctx, res, res.spec)
    for res in ctx.of_kind(Kind.CAMPAIGN):
        assert isinstance(res.spec, CampaignSpec)
        _check_campaign(ctx, res, res.spec)


def solution_recipe(ctx: Context, name: str) -> Recipe | None:
    solution = ctx.get(Kind.SOLUTION, name)
    if solution is None or not isinstance(solution.spec, SolutionSpec) or solution.spec.recipeArn is None:
        return None
    return find_recipe(solution.spec.recipeArn)


def unknown_recipe_hint(name: str, domain: bool = False) -> str:
    names = [r.name for r in RECIPES.values() if (r.domain is not None) == domain and not r.legacy]
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else "known recipes: " + ", ".join(names)


def _check_solution(ctx: Context, res: ParsedResource, spec: SolutionSpec) -> None:
    if spec.performAutoML:
        if spec.recipeArn is not None:
            ctx.error(res, ("spec", "recipeArn"), "performAutoML chooses the recipe: remove recipeArn")
        ctx.warning(res, ("spec", "performAutoML"), "AWS does not recommend performAutoML")
    elif spec.recipeArn is None:
        ctx.error(
            res, ("spec", "recipeArn"), "required unless performAutoML is true", "e.g. recipeArn: aws-sims"
        )
        return
    recipe: Recipe | None = None
    if spec.recipeArn is not None:
        name = recipe_name(spec.recipeArn)
        if name is None:
            ctx.warning(res, ("spec", "recipeArn"), "not a service recipe ARN; recipe rules not checked")
        elif name not in RECIPES:
            ctx.error(res, ("spec", "recipeArn"), f"unknown recipe '{name}'", unknown_recipe_hint(name))
        else:
            recipe = RECIPES[name]
            if recipe.legacy:
                ctx.error(
                    res,
                    ("spec", "recipeArn"),
                    f"the legacy recipe '{name}' is no longer available",
                    "use aws-user-personalization-v2 or aws-user-personalization",
                )
                recipe = None
            elif recipe.domain is not None:
                ctx.error(
                    res,
                    ("spec", "recipeArn"),
                    f"'{name}' is {article(recipe.domain)} domain use case: use a `kind: Recommender`",
                    "solutions use custom recipes such as aws-user-personalization",
                )
                recipe = None
    if recipe is not None:
        _check_recipe_datasets(ctx, res, spec, recipe)
    if spec.training.mode == "UPDATE" and recipe is not None and not recipe.training_update:
        ctx.error(
            res,
            ("spec", "training", "mode"),
            f"trainingMode UPDATE is not supported by {recipe.name}",
            "UPDATE works with aws-user-personalization(-v2); use mode: FULL",
        )
    if spec.performIncrementalUpdate and (recipe is None or not recipe.incremental_update):
        ctx.error(
            res,
            ("spec", "performIncrementalUpdate"),
            "performIncrementalUpdate is only supported by aws-semantic-similarity",
            "remove performIncrementalUpdate, or use recipeArn: aws-semantic-similarity",
        )
    config = spec.solutionConfig
    if config is not None:
        _check_config(ctx, res, spec, config, recipe)
    if (
        spec.performHPO
        and recipe is not None
        and recipe.hyperparameters
        and not any(h.hpo for h in recipe.hyperparameters)
    ):
        ctx.warning(res, ("spec", "performHPO"), f"{recipe.name} has no tunable hyperparameters")


def _check_recipe_datasets(ctx: Context, res: ParsedResource, spec: SolutionSpec, recipe: Recipe) -> None:
    if ctx.get(Kind.DATASET_GROUP, spec.datasetGroup) is None:
        return
    present = ctx.datasets_of_group(spec.datasetGroup)
    missing = sorted(recipe.requires - set(present))
    if missing and ctx.missing(res, spec.datasetGroup, missing):
        ctx.error(
            res,
            ("spec", "recipeArn"),
            f"{recipe.name} needs {' and '.join(missing)} data, but dataset group '{spec.datasetGroup}' "
            f"has no {' or '.join(missing)} dataset",
            "add the dataset or choose another recipe",
        )


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _check_value(hp: HyperParameter, value: str) -> str | None:
    """A problem with a hyperparameter value, or None."""
    if hp.type == "bool":
        return None if value.lower() in ("true", "false") else f"must be true or false (got {value!r})"
    if hp.type == "choice":
        return None if value in hp.choices else f"must be one of {', '.join(hp.choices)} (got {value!r})"
    number = _number(value)
    if number is None or (hp.type == "int" and not re.fullmatch(r"-?\d+", value.strip())):
        return f"must be {'an integer' if hp.type == 'int' else 'a number'} (got {value!r})"
    if (hp.minimum is not None and number < hp.minimum) or (hp.maximum is not None and number > hp.maximum):
        return f"must be between {_fmt(hp.minimum)} and {_fmt(hp.maximum)} (got {value})"
    return None


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    return str(int(value)) if float(value).is_integer() else str(value)


def _check_config(
    ctx: Context, res: ParsedResource, spec: SolutionSpec, config: SolutionConfig, recipe: Recipe | None
) -> None:
    for section, kind in (
        ("algorithmHyperParameters", "algorithm"),
        ("featureTransformationParameters", "featurization"),
    ):
        values: dict[str, str] | None = getattr(config, section)
        for name, value in (values or {}).items():
            path = (*CONFIG, section, name)
            if recipe is None:
                if spec.recipeArn is not None and recipe_name(spec.recipeArn) is not None:
                    continue  # unknown recipe already reported
                ctx.warning(res, path, "hyperparameter not checked (recipe unknown to this tool)")
                continue
            hp = recipe.hyperparameter(name)
            if hp is None or hp.kind != kind:
                known = [h.name for h in recipe.hyperparameters if h.kind == kind]
                message = f"unknown {kind} hyperparameter '{name}' for {recipe.name}"
                other = (
                    "featureTransformationParameters" if kind == "algorithm" else "algorithmHyperParameters"
                )
                if hp is not None:
                    hint = f"'{name}' belongs in solutionConfig.{other}"
                else:
                    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
                    hint = (
                        f"did you mean '{close[0]}'?"
                        if close
                        else ("known: " + ", ".join(known) if known else f"{recipe.name} documents none")
                    )
                if recipe.hyperparameters_complete or hp is not None:
                    ctx.error(res, path, message, hint)
                else:
                    ctx.warning(res, path, message + " (the documented list may be incomplete)", hint)
                continue
            problem = _check_value(hp, value)
            if problem is not None:
                ctx.error(res, path, problem, f"default {hp.default}")
    _check_hpo(ctx, res, spec, config, recipe)
    if config.eventValueThreshold is not None and _number(config.eventValueThreshold) is None:
        ctx.error(
            res,
            (*CONFIG, "eventValueThreshold"),
            f"must be a number written as a string (got {config.eventValueThreshold!r})",
        )
    if config.autoTrainingConfig is not None:
        match = re.match(r"rate\((\d+)", config.autoTrainingConfig.schedulingExpression)
        days = int(match.group(1)) if match else 0
        low, high = AUTO_TRAINING_DAYS
        if not low <= days <= high:
            ctx.error(
                res,
                (*CONFIG, "autoTrainingConfig", "schedulingExpression"),
                f"automatic training runs every {low} to {high} days (got {days})",
            )
        if not spec.performAutoTraining:
            ctx.warning(
                res,
                (*CONFIG, "autoTrainingConfig"),
                "ignored because performAutoTraining is false",
                "set performAutoTraining: true",
            )
    if config.optimizationObjective is not None and config.optimizationObjective.itemAttribute:
        _check_item_attribute(ctx, res, spec, config.optimizationObjective.itemAttribute)
    if config.trainingDataConfig is not None:
        _check_columns(
            ctx,
            res,
            spec.datasetGroup,
            config.trainingDataConfig.model_dump(),
            (*CONFIG, "trainingDataConfig"),
        )


def _check_hpo(
    ctx: Context, res: ParsedResource, spec: SolutionSpec, config: SolutionConfig, recipe: Recipe | None
) -> None:
    hpo = config.hpoConfig
    if hpo is None:
        return
    base: Path = (*CONFIG, "hpoConfig")
    if not spec.performHPO:
        ctx.warning(res, base, "ignored because performHPO is false", "set performHPO: true")
    if hpo.hpoObjective is not None:
        ctx.warning(res, (*base, "hpoObjective"), "Personalize does not support configuring hpoObjective")
    resources = hpo.hpoResourceConfig
    if resources is not None:
        for name, limit in (
            ("maxNumberOfTrainingJobs", HPO_MAX_TRAINING_JOBS),
            ("maxParallelTrainingJobs", HPO_MAX_PARALLEL_JOBS),
        ):
            value = getattr(resources, name)
            if value is None:
                continue
            if not re.fullmatch(r"\d+", value) or not 1 <= int(value) <= limit:
                ctx.error(
                    res,
                    (*base, "hpoResourceConfig", name),
                    f"must be a whole number from 1 to {limit}, written as a string (got {value!r})",
                )
    ranges = hpo.algorithmHyperParameterRanges
    if ranges is None or recipe is None:
        return
    groups: list[tuple[str, list[tuple[str, float | None, float | None]]]] = [
        (
            "integerHyperParameterRanges",
            [(r.name, r.minValue, r.maxValue) for r in ranges.integerHyperParameterRanges or []],
        ),
        (
            "continuousHyperParameterRanges",
            [(r.name, r.minValue, r.maxValue) for r in ranges.continuousHyperParameterRanges or []],
        ),
        (
            "categoricalHyperParameterRanges",
            [(r.name, None, None) for r in ranges.categoricalHyperParameterRanges or []],
        ),
    ]
    for section, entries in groups:
        for index, (name, low, high) in enumerate(entries):
            path = (*base, "algorithmHyperParameterRanges", section, index, "name")
            hp = recipe.hyperparameter(name)
            if hp is None or not hp.hpo:
                tunable = [h.name for h in recipe.hyperparameters if h.hpo]
                message = f"'{name}' is not a tunable hyperparameter of {recipe.name}"
                hint = "tunable: " + (", ".join(tunable) if tunable else "none")
                if recipe.hyperparameters_complete:
                    ctx.error(res, path, message, hint)
                else:
                    ctx.warning(res, path, message, hint)
                continue
            if low is not None and high is not None:
                if low > high:
                    ctx.error(res, path, f"minValue {_fmt(low)} is greater than maxValue {_fmt(high)}")
                elif (hp.minimum is not None and low < hp.minimum) or (
                    hp.maximum is not None and high > hp.maximum
                ):
                    ctx.error(
                        res,
                        path,
                        f"range {_fmt(low)}..{_fmt(high)} is outside the allowed "
                        f"{_fmt(hp.minimum)}..{_fmt(hp.maximum)}",
                    )


def _check_item_attribute(ctx: Context, res: ParsedResource, spec: SolutionSpec, attribute: str) -> None:
    entry = ctx.datasets_of_group(spec.datasetGroup).get("ITEMS")
    path = (*CONFIG, "optimizationObjective", "itemAttribute")
    if entry is None:
        if ctx.get(Kind.DATASET_GROUP, spec.datasetGroup) is not None and ctx.missing(
            res, spec.datasetGroup, ["ITEMS"]
        ):
            ctx.error(res, path, "an optimization objective needs an ITEMS dataset with that attribute")
        return
    schema = entry[1]
    if schema is None:
        return
    field = field_named(schema.avro, attribute)
    if field is None:
        ctx.error(
            res,
            path,
            f"'{attribute}' is not a field of the ITEMS schema",
            "fields: " + ", ".join(f.name for f in schema.avro.fields),
        )
    elif not field_types(field)[0] <= NUMERIC_TYPES:
        ctx.error(res, path, f"'{attribute}' must be a numeric field to optimize for")


def _check_columns(
    ctx: Context, res: ParsedResource, group: str, config: dict[str, object], base: Path
) -> None:
    datasets = ctx.datasets_of_group(group)
    for section in ("excludedDatasetColumns", "includedDatasetColumns"):
        mapping = config.get(section)
        if not isinstance(mapping, dict):
            continue
        for key, columns in mapping.items():
            dataset_type = DATASET_KEYS.get(key, key.upper())
            path = (*base, section, key)
            if dataset_type not in datasets:
                if ctx.missing(res, group, [dataset_type]):
                    ctx.error(res, path, f"dataset group '{group}' has no {dataset_type} dataset")
                continue
            schema = datasets[dataset_type][1]
            if schema is None or not isinstance(columns, list):
                continue
            for index, column in enumerate(columns):
                if field_named(schema.avro, str(column)) is None:
                    ctx.error(res, (*path, index), f"'{column}' is not a field of the {dataset_type} schema")


def _check_campaign(ctx: Context, res: ParsedResource, spec: CampaignSpec) -> None:
    recipe = solution_recipe(ctx, spec.solution)
    if recipe is not None and not recipe.campaign:
        ctx.error(
            res,
            ("spec", "solution"),
            f"{recipe.name} ({recipe.recipe_type}) makes batch segment jobs only; it cannot have a campaign",
        )
    config = spec.campaignConfig
    if config is not None:
        exploration = config.itemExplorationConfig or {}
        base: Path = ("spec", "campaignConfig", "itemExplorationConfig")
        if exploration and recipe is not None and not recipe.exploration:
            ctx.error(
                res,
                base,
                f"item exploration is only supported by aws-user-personalization (solution "
                f"'{spec.solution}' uses {recipe.name})",
            )
        for key, value in exploration.items():
            if key not in EXPLORATION_KEYS:
                ctx.error(
                    res, (*base, key), "unknown exploration setting", "known: " + ", ".join(EXPLORATION_KEYS)
                )
                continue
            low, high = EXPLORATION_KEYS[key]
            number = _number(value)
            if number is None or number < low or (high is not None and number > high):
                bound = f"between {_fmt(low)} and {_fmt(high)}" if high is not None else f"> {_fmt(low)}"
                ctx.error(res, (*base, key), f"must be a number {bound} (got {value!r})")
        for key, weight in (config.rankingInfluence or {}).items():
            path = ("spec", "campaignConfig", "rankingInfluence", key)
            if key not in RANKING_INFLUENCE_KEYS:
                ctx.error(
                    res, path, "unknown ranking influence", "known: " + ", ".join(RANKING_INFLUENCE_KEYS)
                )
            elif not 0.0 <= weight <= 1.0:
                ctx.error(res, path, f"must be between 0 and 1 (got {weight})")
    if spec.solutionVersion and config is not None and config.syncWithLatestSolutionVersion:
        ctx.error(
            res,
            ("spec", "solutionVersion"),
            "a pinned version contradicts campaignConfig.syncWithLatestSolutionVersion: true",
            "keep one: the pin (serve exactly this version) or the sync (follow every new version)",
        )
    if spec.solutionVersion and spec.solutionVersion.startswith("arn:"):
        solution_part = spec.solutionVersion.split(":solution/", 1)[-1].split("/", 1)[0]
        expected = ctx.stack.namePrefix + spec.solution
        if solution_part != expected:
            ctx.error(
                res,
                ("spec", "solutionVersion"),
                f"the pinned version belongs to solution '{solution_part}', not to '{expected}'",
                "pin a version of the campaign's own solution (or write just its id)",
            )
    gate = spec.promotion
    if gate is not None:
        for section, values in (("minimums", gate.minimums), ("maxRegression", gate.maxRegression)):
            for metric, threshold in values.items():
                path = ("spec", "promotion", section, metric)
                if metric not in METRIC_KEYS:
                    close = difflib.get_close_matches(metric, sorted(METRIC_KEYS), n=1, cutoff=0.6)
                    ctx.error(
                        res,
                        path,
                        f"unknown metric '{metric}'",
                        f"did you mean '{close[0]}'?"
                        if close
                        else "known: " + ", ".join(sorted(METRIC_KEYS)),
                    )
                elif section == "maxRegression" and not 0.0 <= threshold <= 1.0:
                    ctx.error(res, path, f"must be a fraction from 0 to 1 (0.05 = 5% worse), got {threshold}")
                elif section == "minimums" and threshold < 0:
                    ctx.error(res, path, f"metric minimums cannot be negative (got {threshold})")
