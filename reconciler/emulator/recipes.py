"""The AWS-owned catalogue: public recipes, their algorithms and feature transformations.

Source: the Personalize developer guide ("Choosing a recipe", domain use cases, documented hyperparameters).
Legacy HRNN recipes are no longer available and are not listed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Publication date used for every catalogue entry (2019-06-10T00:00:00Z, the service's GA month).
CATALOGUE_TIME = 1_560_124_800.0
_PREFIX = "arn:aws:personalize:::"


@dataclass(frozen=True)
class Recipe:
    name: str
    recipe_type: str
    description: str
    algorithm: str
    feature_transformation: str | None = None
    domain: str | None = None
    requires: tuple[str, ...] = ("INTERACTIONS",)  # dataset types needed to train
    batch_inference: bool = True
    incremental_update: bool = False
    update_training: bool = False  # trainingMode UPDATE allowed

    @property
    def arn(self) -> str:
        return f"{_PREFIX}recipe/{self.name}"


@dataclass(frozen=True)
class Algorithm:
    name: str
    hyperparameters: dict[str, str] = field(default_factory=dict)
    integer_ranges: tuple[tuple[str, int, int, bool], ...] = ()
    continuous_ranges: tuple[tuple[str, float, float, bool], ...] = ()
    categorical_ranges: tuple[tuple[str, tuple[str, ...], bool], ...] = ()

    @property
    def arn(self) -> str:
        return f"{_PREFIX}algorithm/{self.name}"


_RNN_PARAMS = {"hidden_dimension": "149", "bptt": "32", "recency_mask": "true"}
_RNN_RANGES_INT = (("hidden_dimension", 32, 256, True), ("bptt", 2, 32, True))
_RNN_RANGES_CAT = (("recency_mask", ("true", "false"), True),)

ALGORITHMS: dict[str, Algorithm] = {
    a.name: a
    for a in (
        Algorithm("aws-user-personalization", _RNN_PARAMS, _RNN_RANGES_INT, (), _RNN_RANGES_CAT),
        Algorithm("aws-user-personalization-v2", {"apply_recency_bias": "true"}),
        Algorithm("aws-personalized-ranking", _RNN_PARAMS, _RNN_RANGES_INT, (), _RNN_RANGES_CAT),
        Algorithm("aws-personalized-ranking-v2", {"apply_recency_bias": "true"}),
        Algorithm(
            "aws-sims",
            {"popularity_discount_factor": "0.5", "min_cointeraction_count": "3"},
            (("min_cointeraction_count", 0, 10, True),),
            (("popularity_discount_factor", 0.0, 1.0, True),),
        ),
        Algorithm(
            "aws-similar-items",
            {"item_id_hidden_dim": "100", "item_metadata_hidden_dim": "100"},
            (("item_id_hidden_dim", 30, 200, True), ("item_metadata_hidden_dim", 30, 200, True)),
        ),
        Algorithm("aws-popularity-count"),
        Algorithm("aws-trending-now-custom"),
        Algorithm("aws-semantic-similarity"),
        Algorithm("aws-next-best-action"),
        Algorithm("aws-item-affinity"),
        Algorithm("aws-item-attribute-affinity"),
        Algorithm("aws-domain-use-case"),
    )
}

#: Feature transformation name -> default parameters.
FEATURE_TRANSFORMATIONS: dict[str, dict[str, str]] = {
    "sims": {
        "min_user_history_length_percentile": "0.005",
        "max_user_history_length_percentile": "0.995",
        "min_item_interaction_count_percentile": "0.01",
        "max_item_interaction_count_percentile": "0.9",
    },
    "JSON-percentile-filtering": {
        "min_user_history_length_percentile": "0.0",
        "max_user_history_length_percentile": "0.99",
    },
    "user-personalization": {
        "min_user_history_length_percentile": "0.0",
        "max_user_history_length_percentile": "0.99",
    },
    "trending-now": {"trend_discovery_frequency": "3h"},
}

_CUSTOM = (
    Recipe(
        "aws-user-personalization-v2",
        "USER_PERSONALIZATION",
        "Transformer-based recommendations for each user; trains on up to 5 million items.",
        "aws-user-personalization-v2",
        "user-personalization",
    ),
    Recipe(
        "aws-user-personalization",
        "USER_PERSONALIZATION",
        "Personalized recommendations with item exploration and automatic updates.",
        "aws-user-personalization",
        "user-personalization",
        update_training=True,
    ),
    Recipe(
        "aws-trending-now",
        "POPULAR_ITEMS",
        "Items gaining popularity most rapidly among your users.",
        "aws-trending-now-custom",
        "trending-now",
        batch_inference=False,
    ),
    Recipe(
        "aws-popularity-count",
        "POPULAR_ITEMS",
        "The most popular items, by count of events.",
        "aws-popularity-count",
        "sims",
    ),
    Recipe(
        "aws-personalized-ranking-v2",
        "PERSONALIZED_RANKING",
        "Transformer-based ranking of a list of items for a user.",
        "aws-personalized-ranking-v2",
        "JSON-percentile-filtering",
    ),
    Recipe(
        "aws-personalized-ranking",
        "PERSONALIZED_RANKING",
        "Ranks a collection of items for a user.",
        "aws-personalized-ranking",
        "JSON-percentile-filtering",
    ),
    Recipe(
        "aws-semantic-similarity",
        "RELATED_ITEMS",
        "Items semantically similar to a given item, from item text.",
        "aws-semantic-similarity",
        requires=("ITEMS",),
        incremental_update=True,
    ),
    Recipe(
        "aws-similar-items",
        "RELATED_ITEMS",
        "Items similar to a given item, from interactions and item metadata.",
        "aws-similar-items",
    ),
    Recipe("aws-sims", "RELATED_ITEMS", "Item-to-item collaborative filtering.", "aws-sims", "sims"),
    Recipe(
        "aws-next-best-action",
        "PERSONALIZED_ACTIONS",
        "The next best actions for a user.",
        "aws-next-best-action",
        requires=("ACTIONS", "ACTION_INTERACTIONS"),
        batch_inference=False,
    ),
    Recipe(
        "aws-item-affinity",
        "USER_SEGMENTATION",
        "Segments of users most likely to interact with given items.",
        "aws-item-affinity",
    ),
    Recipe(
        "aws-item-attribute-affinity",
        "USER_SEGMENTATION",
        "Segments of users most likely to interact with items having given attributes.",
        "aws-item-attribute-affinity",
        requires=("INTERACTIONS", "ITEMS"),
    ),
)

_DOMAIN_USE_CASES = {
    "ECOMMERCE": (
        ("aws-ecomm-customers-who-viewed-x-also-viewed", "RELATED_ITEMS"),
        ("aws-ecomm-frequently-bought-together", "RELATED_ITEMS"),
        ("aws-ecomm-popular-items-by-purchases", "POPULAR_ITEMS"),
        ("aws-ecomm-popular-items-by-views", "POPULAR_ITEMS"),
        ("aws-ecomm-recommended-for-you", "USER_PERSONALIZATION"),
    ),
    "VIDEO_ON_DEMAND": (
        ("aws-vod-because-you-watched-x", "RELATED_ITEMS"),
        ("aws-vod-more-like-x", "RELATED_ITEMS"),
        ("aws-vod-most-popular", "POPULAR_ITEMS"),
        ("aws-vod-trending-now", "POPULAR_ITEMS"),
        ("aws-vod-top-picks", "USER_PERSONALIZATION"),
    ),
}

RECIPES: dict[str, Recipe] = {r.arn: r for r in _CUSTOM}
for _domain, _cases in _DOMAIN_USE_CASES.items():
    for _name, _type in _cases:
        _r = Recipe(
            _name,
            _type,
            f"{_domain} use case {_name}.",
            "aws-domain-use-case",
            domain=_domain,
        )
        RECIPES[_r.arn] = _r


def algorithm_arn(name: str) -> str:
    return ALGORITHMS[name].arn


def feature_transformation_arn(name: str) -> str:
    return f"{_PREFIX}feature-transformation/{name}"


def recipe_record(recipe: Recipe, seq: int) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": recipe.name,
        "recipeArn": recipe.arn,
        "algorithmArn": algorithm_arn(recipe.algorithm),
        "status": "ACTIVE",
        "description": recipe.description,
        "creationDateTime": CATALOGUE_TIME,
        "lastUpdatedDateTime": CATALOGUE_TIME,
        "recipeType": recipe.recipe_type,
        "domain": recipe.domain,
        "_seq": seq,
    }
    if recipe.feature_transformation:
        out["featureTransformationArn"] = feature_transformation_arn(recipe.feature_transformation)
    return out


def algorithm_record(algorithm: Algorithm) -> dict[str, Any]:
    ranges: dict[str, Any] = {}
    if algorithm.integer_ranges:
        ranges["integerHyperParameterRanges"] = [
            {"name": n, "minValue": lo, "maxValue": hi, "isTunable": t}
            for n, lo, hi, t in algorithm.integer_ranges
        ]
    if algorithm.continuous_ranges:
        ranges["continuousHyperParameterRanges"] = [
            {"name": n, "minValue": lo, "maxValue": hi, "isTunable": t}
            for n, lo, hi, t in algorithm.continuous_ranges
        ]
    if algorithm.categorical_ranges:
        ranges["categoricalHyperParameterRanges"] = [
            {"name": n, "values": list(v), "isTunable": t} for n, v, t in algorithm.categorical_ranges
        ]
    return {
        "name": algorithm.name,
        "algorithmArn": algorithm.arn,
        "algorithmImage": {
            "name": algorithm.name,
            "dockerURI": f"emulated.personalize.local/{algorithm.name}:latest",
        },
        "defaultHyperParameters": dict(algorithm.hyperparameters),
        "defaultHyperParameterRanges": ranges,
        "defaultResourceConfig": {"instanceType": "ml.c5.xlarge", "instanceCount": "1"},
        "trainingInputMode": "File",
        "creationDateTime": CATALOGUE_TIME,
        "lastUpdatedDateTime": CATALOGUE_TIME,
    }


def feature_transformation_record(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "featureTransformationArn": feature_transformation_arn(name),
        "defaultParameters": dict(FEATURE_TRANSFORMATIONS[name]),
        "creationDateTime": CATALOGUE_TIME,
        "lastUpdatedDateTime": CATALOGUE_TIME,
        "status": "ACTIVE",
    }
