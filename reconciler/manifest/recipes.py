"""Data tables about Amazon Personalize used by validation: recipes, hyperparameters, metrics, quotas.

Sources: ../shared/reference/personalize-api.md §5 (quotas), §7 (recipes, hyperparameters), §8 (metrics).
Keep facts here, not in the rules, so a new recipe or a changed range is a one-line edit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

RECIPE_PREFIX = "arn:aws:personalize:::recipe/"


@dataclass(frozen=True, slots=True)
class HyperParameter:
    name: str
    kind: str
    """'algorithm' (solutionConfig.algorithmHyperParameters) or 'featurization'
    (solutionConfig.featureTransformationParameters)."""
    type: str
    """'int', 'float', 'bool' or 'choice'."""
    default: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    hpo: bool = False
    """Tunable through hpoConfig.algorithmHyperParameterRanges."""


@dataclass(frozen=True, slots=True)
class Recipe:
    name: str
    recipe_type: str
    requires: frozenset[str] = frozenset({"INTERACTIONS"})
    """Dataset types the dataset group must have."""
    domain: str | None = None
    """ECOMMERCE / VIDEO_ON_DEMAND for domain use-case recipes (Recommender only)."""
    training_update: bool = False
    """trainingMode UPDATE allowed."""
    incremental_update: bool = False
    """performIncrementalUpdate allowed."""
    exploration: bool = False
    """campaignConfig.itemExplorationConfig allowed."""
    campaign: bool = True
    """Can be deployed in a campaign (USER_SEGMENTATION recipes are batch segment only)."""
    legacy: bool = False
    uses_context: bool = False
    """Trains on interaction metadata (contextual metadata such as DEVICE; AWS guide "Increasing
    recommendation relevance with contextual metadata")."""
    event_types: tuple[str, ...] = ()
    """Event types a domain use case trains on (its interactions need an EVENT_TYPE field with them)."""
    hyperparameters: tuple[HyperParameter, ...] = ()
    hyperparameters_complete: bool = True
    """False when the documented table is incomplete: unknown names are warnings, not errors."""

    @property
    def arn(self) -> str:
        return RECIPE_PREFIX + self.name

    def hyperparameter(self, name: str) -> HyperParameter | None:
        return next((h for h in self.hyperparameters if h.name == name), None)


def _pct(name: str, default: str) -> HyperParameter:
    return HyperParameter(name, "featurization", "float", default, 0.0, 1.0)


_HRNN_LIKE = (
    HyperParameter("hidden_dimension", "algorithm", "int", "149", 32, 256, hpo=True),
    HyperParameter("bptt", "algorithm", "int", "32", 2, 32, hpo=True),
    HyperParameter("recency_mask", "algorithm", "bool", "true", hpo=True),
    _pct("min_user_history_length_percentile", "0.0"),
    _pct("max_user_history_length_percentile", "0.99"),
)

_RECIPES: tuple[Recipe, ...] = (
    Recipe(
        "aws-user-personalization-v2",
        "USER_PERSONALIZATION",
        uses_context=True,
        training_update=True,
        exploration=False,
        hyperparameters=(HyperParameter("apply_recency_bias", "algorithm", "bool", "true"),),
        hyperparameters_complete=False,
    ),
    Recipe(
        "aws-user-personalization",
        "USER_PERSONALIZATION",
        uses_context=True,
        training_update=True,
        exploration=True,
        hyperparameters=_HRNN_LIKE,
    ),
    Recipe(
        "aws-trending-now",
        "POPULAR_ITEMS",
        hyperparameters=(
            HyperParameter(
                "trend_discovery_frequency",
                "featurization",
                "choice",
                "3h",
                choices=("30min", "1h", "3h", "1d"),
            ),
        ),
        hyperparameters_complete=False,
    ),
    Recipe("aws-popularity-count", "POPULAR_ITEMS"),
    Recipe(
        "aws-personalized-ranking-v2",
        "PERSONALIZED_RANKING",
        uses_context=True,
        hyperparameters=(HyperParameter("apply_recency_bias", "algorithm", "bool", "true"),),
        hyperparameters_complete=False,
    ),
    Recipe("aws-personalized-ranking", "PERSONALIZED_RANKING", uses_context=True, hyperparameters=_HRNN_LIKE),
    Recipe(
        "aws-semantic-similarity",
        "RELATED_ITEMS",
        requires=frozenset({"ITEMS"}),
        incremental_update=True,
        hyperparameters_complete=False,
    ),
    Recipe(
        "aws-similar-items",
        "RELATED_ITEMS",
        hyperparameters=(
            HyperParameter("item_id_hidden_dim", "algorithm", "int", "100", 30, 200, hpo=True),
            HyperParameter("item_metadata_hidden_dim", "algorithm", "int", "100", 30, 200, hpo=True),
        ),
    ),
    Recipe(
        "aws-sims",
        "RELATED_ITEMS",
        hyperparameters=(
            HyperParameter("popularity_discount_factor", "algorithm", "float", "0.5", 0.0, 1.0, hpo=True),
            HyperParameter("min_cointeraction_count", "algorithm", "int", "3", 0, 10, hpo=True),
            _pct("min_user_history_length_percentile", "0.005"),
            _pct("max_user_history_length_percentile", "0.995"),
            _pct("min_item_interaction_count_percentile", "0.01"),
            _pct("max_item_interaction_count_percentile", "0.9"),
        ),
    ),
    Recipe(
        "aws-next-best-action",
        "PERSONALIZED_ACTIONS",
        requires=frozenset({"ACTIONS", "ACTION_INTERACTIONS"}),
        hyperparameters_complete=False,
    ),
    Recipe("aws-item-affinity", "USER_SEGMENTATION", campaign=False),
    Recipe(
        "aws-item-attribute-affinity",
        "USER_SEGMENTATION",
        requires=frozenset({"INTERACTIONS", "ITEMS"}),
        campaign=False,
    ),
    Recipe("aws-hrnn", "USER_PERSONALIZATION", legacy=True),
    Recipe("aws-hrnn-metadata", "USER_PERSONALIZATION", legacy=True),
    Recipe("aws-hrnn-coldstart", "USER_PERSONALIZATION", legacy=True, training_update=True),
    # Domain use cases: datasets used for training and required event types from the AWS guide's
    # "ECOMMERCE use cases" / "VIDEO_ON_DEMAND use cases" pages (interactions always required).
    *(
        Recipe(
            f"aws-ecomm-{use_case}",
            "DOMAIN",
            domain="ECOMMERCE",
            event_types=events,
            uses_context=use_case == "recommended-for-you",
        )
        for use_case, events in (
            ("customers-who-viewed-x-also-viewed", ("View",)),
            ("frequently-bought-together", ("Purchase",)),
            ("popular-items-by-purchases", ("Purchase",)),
            ("popular-items-by-views", ("View",)),
            ("recommended-for-you", ("View",)),
        )
    ),
    *(
        Recipe(
            f"aws-vod-{use_case}",
            "DOMAIN",
            domain="VIDEO_ON_DEMAND",
            requires=needs,
            event_types=events,
            uses_context=use_case == "top-picks",
        )
        for use_case, needs, events in (
            ("because-you-watched-x", frozenset({"INTERACTIONS"}), ("Watch",)),
            ("more-like-x", frozenset({"INTERACTIONS", "ITEMS"}), ()),
            ("most-popular", frozenset({"INTERACTIONS"}), ("Watch",)),
            ("trending-now", frozenset({"INTERACTIONS"}), ()),
            ("top-picks", frozenset({"INTERACTIONS"}), ("Watch", "Click")),
        )
    ),
)

RECIPES: dict[str, Recipe] = {r.name: r for r in _RECIPES}


def recipe_name(arn: str) -> str | None:
    """`arn:aws:personalize:::recipe/aws-sims` -> `aws-sims`; None for other ARNs (custom recipes)."""
    return arn[len(RECIPE_PREFIX) :] if arn.startswith(RECIPE_PREFIX) else None


def find_recipe(arn: str) -> Recipe | None:
    name = recipe_name(arn)
    return RECIPES.get(name) if name is not None else None


#: Offline metric keys returned by GetSolutionMetrics (personalize-api.md §8).
METRIC_KEYS: frozenset[str] = frozenset(
    {
        "coverage",
        "mean_reciprocal_rank_at_25",
        "normalized_discounted_cumulative_gain_at_5",
        "normalized_discounted_cumulative_gain_at_10",
        "normalized_discounted_cumulative_gain_at_25",
        "precision_at_5",
        "precision_at_10",
        "precision_at_25",
        "average_rewards_at_k",
        "trend_prediction_accuracy",
        "hit",
        "recall",
    }
)

#: campaignConfig.itemExplorationConfig keys -> (minimum, maximum or None).
EXPLORATION_KEYS: dict[str, tuple[float, float | None]] = {
    "explorationWeight": (0.0, 1.0),
    "explorationItemAgeCutOff": (0.0, None),
}
RANKING_INFLUENCE_KEYS = ("POPULARITY", "FRESHNESS")

HPO_MAX_TRAINING_JOBS = 40
HPO_MAX_PARALLEL_JOBS = 10
AUTO_TRAINING_DAYS = (1, 30)


@dataclass(frozen=True, slots=True)
class Quota:
    limit: int
    adjustable: bool
    what: str


#: Per dataset group quotas (personalize-api.md §5; filters and their fields: the current figures of
#: personalize-data-plane.md §3, 30 filters, 10 fields per filter, 20 per group; the 2023 10/5/10 are
#: obsolete).
GROUP_QUOTAS: dict[str, Quota] = {
    "Solution": Quota(10, True, "active solutions"),
    "Campaign": Quota(5, True, "active campaigns"),
    "Filter": Quota(30, True, "filters"),
    "Recommender": Quota(5, False, "recommenders"),
}
FILTER_FIELDS_PER_FILTER = 10
FILTER_FIELDS_PER_GROUP = 20
MAX_TAGS = 50
MAX_METRICS_PER_ATTRIBUTION = 10


@dataclass(frozen=True, slots=True)
class FieldRule:
    name: str
    types: frozenset[str]
    """Allowed non-null Avro types."""
    nullable: bool
    categorical: bool = False
    """The field must be declared `categorical: true`."""


def _f(name: str, *types: str, nullable: bool = False, categorical: bool = False) -> FieldRule:
    return FieldRule(name, frozenset(types), nullable, categorical)


@dataclass(frozen=True, slots=True)
class DatasetTypeRules:
    required: tuple[FieldRule, ...]
    reserved: tuple[FieldRule, ...] = ()
    needs_metadata: bool = False
    max_metadata: int | None = None
    textual_allowed: bool = False
    id_field: str = "ITEM_ID"
    extra: dict[str, str] = field(default_factory=dict)


#: Avro schema rules per dataset type (custom dataset groups; AWS "Custom datasets and schemas").
DATASET_TYPES: dict[str, DatasetTypeRules] = {
    "INTERACTIONS": DatasetTypeRules(
        required=(_f("USER_ID", "string"), _f("ITEM_ID", "string"), _f("TIMESTAMP", "long")),
        reserved=(
            _f("EVENT_TYPE", "string"),
            _f("EVENT_VALUE", "float", "double", nullable=True),
            _f("IMPRESSION", "string", nullable=True),
            _f("RECOMMENDATION_ID", "string", nullable=True),
            _f("EVENT_ATTRIBUTION_SOURCE", "string", nullable=True),
        ),
        max_metadata=5,
    ),
    "ITEMS": DatasetTypeRules(
        required=(_f("ITEM_ID", "string"),),
        reserved=(_f("CREATION_TIMESTAMP", "long"),),
        needs_metadata=True,
        max_metadata=100,  # current quota (the 2023 guide: 50)
        textual_allowed=True,
    ),
    "USERS": DatasetTypeRules(
        required=(_f("USER_ID", "string"),),
        needs_metadata=True,
        max_metadata=25,  # current quota (the 2023 guide: 5)
        id_field="USER_ID",
    ),
    "ACTIONS": DatasetTypeRules(
        required=(_f("ACTION_ID", "string"),),
        reserved=(
            _f("CREATION_TIMESTAMP", "long"),
            _f("VALUE", "long", nullable=True),
            _f("TYPE", "string", nullable=True),
            _f("EXPIRATION_TIMESTAMP", "long", nullable=True),
            _f("REPEAT_FREQUENCY", "long", nullable=True),
        ),
        needs_metadata=True,
        max_metadata=10,
        id_field="ACTION_ID",
    ),
    "ACTION_INTERACTIONS": DatasetTypeRules(
        required=(
            _f("USER_ID", "string"),
            _f("ACTION_ID", "string"),
            _f("EVENT_TYPE", "string"),
            _f("TIMESTAMP", "long"),
        ),
        reserved=(
            _f("IMPRESSION", "string", nullable=True),
            _f("RECOMMENDATION_ID", "string", nullable=True),
        ),
        max_metadata=5,
    ),
}

#: Fields a Domain dataset group's schemas need on top of DATASET_TYPES (AWS guide: "ECOMMERCE datasets and
#: schemas", "VIDEO_ON_DEMAND datasets and schemas": required fields per dataset type).
DOMAIN_FIELDS: dict[tuple[str, str], tuple[FieldRule, ...]] = {
    ("ECOMMERCE", "INTERACTIONS"): (_f("EVENT_TYPE", "string"),),
    ("ECOMMERCE", "ITEMS"): (_f("PRICE", "float"), _f("CATEGORY_L1", "string", categorical=True)),
    ("VIDEO_ON_DEMAND", "INTERACTIONS"): (_f("EVENT_TYPE", "string"),),
    ("VIDEO_ON_DEMAND", "ITEMS"): (
        _f("GENRES", "string", categorical=True),
        _f("CREATION_TIMESTAMP", "long"),
    ),
}

AVRO_TYPES = frozenset({"string", "int", "long", "float", "double", "boolean", "null"})
NUMERIC_TYPES = frozenset({"int", "long", "float", "double"})
MAX_SCHEMA_CHARS = 20000
