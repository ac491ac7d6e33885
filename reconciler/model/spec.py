"""Manifest specs: one pydantic model per kind, field names as in the Personalize API (camelCase).

References to other resources are logical manifest names (`datasetGroup: retail`), never ARNs.
Models are frozen and forbid unknown fields, so typos in YAML are reported.
Rules that need more than one field or another document (schemas, filter grammar, recipes, quotas) live in
`reconciler.manifest.rules`; the models only check types, ranges and formats.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, Strict, field_validator

API_VERSION = "personalize-gitops/v1alpha1"

RECIPE_ARN_PREFIX = "arn:aws:personalize:::recipe/"


class _Model(BaseModel):
    # defer_build: a model's validator is built the first time it validates, so a command pays only for the
    # kinds its manifests use (building all of them cost ~90 ms of every start: benchmarks/bench_startup.py).
    # The attribute docstrings below are the fields' descriptions, but only the manifest reference and the
    # JSON schema show them: `document_fields()` reads them there (pydantic's use_attribute_docstrings read
    # each class's source at import, 20-40 ms of every start).
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, defer_build=True)


# Every number field of every spec model is one of these two types. Strict: pydantic's lax mode would take
# YAML `true` as 1 and `"5"` (a quoted, i.e. string, value) as 5; a manifest says a number by writing one, as
# the JSON schema editors check against says too. Ints are also numbers (`weight: 1`).
Int = Annotated[int, Strict()]
"""An integer written as a YAML number: not true/false, not a quoted string, not 5.0."""
Number = Annotated[float, Strict()]
"""A number (integer or decimal) written as a YAML number: not true/false, not a quoted string."""

API_INT_MAX = 2**31 - 1
"""The largest value of an API `Integer` (32 bits): a larger one validates nowhere else and fails in apply."""
PositiveApiInt = Annotated[Int, Field(ge=1, le=API_INT_MAX)]

LogicalName = Annotated[str, Field(min_length=1, max_length=63, pattern=r"^[a-zA-Z0-9][a-zA-Z0-9\-_]*$")]
S3Uri = Annotated[str, Field(pattern=r"^s3://[^/]+/.*$", max_length=256)]
RoleArn = Annotated[str, Field(pattern=r"^arn:([a-z\d-]+):iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$")]
Domain = Literal["ECOMMERCE", "VIDEO_ON_DEMAND"]


def normalize_recipe_arn(value: str) -> str:
    """Accept `aws-sims` as short for `arn:aws:personalize:::recipe/aws-sims`."""
    return value if value.startswith("arn:") else RECIPE_ARN_PREFIX + value


# --- lifecycle and metadata -------------------------------------------------------------------------------


class Lifecycle(_Model):
    """Per-resource lifecycle controls (Terraform-like)."""

    deletionProtection: bool = False
    """Never delete or replace this resource; a plan that would is refused."""
    ignoreChanges: list[str] = Field(default_factory=list)
    """Field paths (as in the spec, dotted: `minProvisionedTPS`, `campaignConfig.itemExplorationConfig`) whose
    live value is owned by another system; differences there are not planned."""


class Metadata(_Model):
    name: LogicalName
    tags: dict[str, str] = Field(default_factory=dict)
    labels: dict[str, str] = Field(default_factory=dict)


# --- DatasetGroup ------------------------------------------------------------------------------------------


class DatasetGroupSpec(_Model):
    domain: Domain | None = None
    kmsKeyArn: str | None = None
    roleArn: RoleArn | None = None


# --- Schema ------------------------------------------------------------------------------------------------


class AvroField(_Model):
    name: Annotated[str, Field(min_length=1, max_length=150)]
    type: str | list[str]
    """Avro type: string, int, long, float, double, boolean, null, or a union such as [null, string]."""
    categorical: bool | None = None
    textual: bool | None = None
    default: Any = None
    doc: str | None = None

    @field_validator("type", mode="before")
    @classmethod
    def _null(cls, value: object) -> object:
        # YAML reads an unquoted `null` in `type: [null, string]` as None; Avro means the "null" type.
        if value is None:
            return "null"
        if isinstance(value, list):
            return ["null" if item is None else item for item in value]
        return value


class AvroSchema(_Model):
    type: Literal["record"] = "record"
    name: str
    namespace: str = "com.amazonaws.personalize.schema"
    fields: list[AvroField]
    version: str = "1.0"


class SchemaSpec(_Model):
    avro: AvroSchema
    domain: Domain | None = None


# --- Dataset -----------------------------------------------------------------------------------------------

DatasetType = Literal["INTERACTIONS", "ITEMS", "USERS", "ACTIONS", "ACTION_INTERACTIONS"]


class DataImport(_Model):
    """The data import that fills a dataset (a dataset import job). A new import is planned when none has
    succeeded yet, when the S3 object changed (its ETag differs from the one recorded at the last import),
    when `localFile` changed (its SHA-256 differs from the one recorded then), or when `trigger` changed."""

    dataLocation: S3Uri
    roleArn: RoleArn | None = None
    importMode: Literal["FULL", "INCREMENTAL"] = "FULL"
    publishAttributionMetricsToS3: bool | None = None
    localFile: str | None = None
    """Optional path (relative to the manifest file) uploaded to `dataLocation` before importing."""
    trigger: str | None = None
    """Any string; changing it requests a new import of the same object."""


class DatasetSpec(_Model):
    datasetGroup: LogicalName
    datasetType: DatasetType
    schema_: LogicalName = Field(alias="schema")
    dataImport: DataImport | None = None

    @field_validator("datasetType", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value


# --- Solution ----------------------------------------------------------------------------------------------


class AutoTrainingConfig(_Model):
    schedulingExpression: Annotated[str, Field(pattern=r"^rate\(\d+ days?\)$", max_length=16)]


class HpoObjective(_Model):
    type: str | None = None
    metricName: str | None = None
    metricRegex: str | None = None


class HpoResourceConfig(_Model):
    maxNumberOfTrainingJobs: str | None = None
    maxParallelTrainingJobs: str | None = None


class IntegerRange(_Model):
    name: str
    minValue: Int
    maxValue: Int


class ContinuousRange(_Model):
    name: str
    minValue: Number
    maxValue: Number


class CategoricalRange(_Model):
    name: str
    values: list[str]


class HyperParameterRanges(_Model):
    integerHyperParameterRanges: list[IntegerRange] | None = None
    continuousHyperParameterRanges: list[ContinuousRange] | None = None
    categoricalHyperParameterRanges: list[CategoricalRange] | None = None


class HpoConfig(_Model):
    hpoObjective: HpoObjective | None = None
    hpoResourceConfig: HpoResourceConfig | None = None
    algorithmHyperParameterRanges: HyperParameterRanges | None = None


class EventParameters(_Model):
    eventType: str | None = None
    eventValueThreshold: Number | None = None
    weight: Annotated[Number, Field(ge=0.0, le=1.0)] | None = None


class EventsConfig(_Model):
    eventParametersList: list[EventParameters] | None = None


class OptimizationObjective(_Model):
    itemAttribute: str | None = None
    objectiveSensitivity: Literal["LOW", "MEDIUM", "HIGH", "OFF"] | None = None


class TrainingDataConfig(_Model):
    excludedDatasetColumns: dict[str, list[str]] | None = None
    includedDatasetColumns: dict[str, list[str]] | None = None


class AutoMLConfig(_Model):
    metricName: str | None = None
    recipeList: list[str] | None = None


class SolutionConfig(_Model):
    eventValueThreshold: str | None = None
    hpoConfig: HpoConfig | None = None
    algorithmHyperParameters: dict[str, str] | None = None
    featureTransformationParameters: dict[str, str] | None = None
    autoMLConfig: AutoMLConfig | None = None
    eventsConfig: EventsConfig | None = None
    optimizationObjective: OptimizationObjective | None = None
    trainingDataConfig: TrainingDataConfig | None = None
    autoTrainingConfig: AutoTrainingConfig | None = None

    @field_validator("algorithmHyperParameters", "featureTransformationParameters", mode="before")
    @classmethod
    def _stringify(cls, value: object) -> object:
        # The API types hyperparameters as strings; YAML users write 0.7 or true. Keep YAML friendly.
        if isinstance(value, dict):
            return {k: (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in value.items()}
        return value


class TrainingPolicy(_Model):
    """When the tool creates a new solution version (retrains). Never implicit: every reason is planned."""

    mode: Literal["FULL", "UPDATE"] = "FULL"
    """trainingMode for retraining after the first version (the first version is always FULL)."""
    retrainOnDataChange: bool = True
    """Retrain when a data import of this dataset group finished after the newest version was created."""
    maxAge: Annotated[str, Field(pattern=r"^\d+[dh]$")] | None = None
    """Retrain when the newest version is older than this (`30d`, `12h`)."""
    trigger: str | None = None
    """Any string; changing it requests a retraining (recorded as a tag on the solution version)."""


class SolutionSpec(_Model):
    datasetGroup: LogicalName
    recipeArn: str | None = None
    performHPO: bool = False
    performAutoML: bool = False
    performAutoTraining: bool = False
    """The service's automatic training. Off unless turned on, so nothing retrains behind git's back."""
    performIncrementalUpdate: bool | None = None
    eventType: str | None = None
    solutionConfig: SolutionConfig | None = None
    training: TrainingPolicy = Field(default_factory=TrainingPolicy)

    @field_validator("recipeArn", mode="before")
    @classmethod
    def _recipe(cls, value: object) -> object:
        return normalize_recipe_arn(value) if isinstance(value, str) else value


# --- Campaign ----------------------------------------------------------------------------------------------


class CampaignConfig(_Model):
    itemExplorationConfig: dict[str, str] | None = None
    enableMetadataWithRecommendations: bool | None = None
    syncWithLatestSolutionVersion: bool | None = None
    rankingInfluence: dict[str, Number] | None = None

    @field_validator("itemExplorationConfig", mode="before")
    @classmethod
    def _stringify(cls, value: object) -> object:
        if isinstance(value, dict):
            return {k: str(v) for k, v in value.items()}
        return value


class PromotionGate(_Model):
    """A campaign moves to a new solution version only if the version's offline metrics pass this gate."""

    minimums: dict[str, Number] = Field(default_factory=dict)
    """Absolute minimums, e.g. {precision_at_25: 0.05}."""
    maxRegression: dict[str, Number] = Field(default_factory=dict)
    """Largest allowed drop against the serving version, as a fraction (0.05 = may be at most 5% worse)."""


class VerifySpec(_Model):
    """What `personalize-gitops verify` (and `apply --verify`) asks this campaign or recommender: the
    workshop's "get recommendations" step, automated. Unset fields use a cold (never seen) user or item."""

    userId: Annotated[str, Field(min_length=1, max_length=256)] | None = None
    """The user to recommend for (user-personalization, popular-items and ranking recipes)."""
    itemId: Annotated[str, Field(min_length=1, max_length=256)] | None = None
    """The item to find related items for (related-items recipes such as SIMS)."""
    inputList: Annotated[list[str], Field(min_length=1, max_length=500)] | None = None
    """Items to rank (personalized-ranking recipes); default: items another campaign of the stack returned."""
    filter: LogicalName | None = None
    """A Filter of the stack to apply to the request."""
    filterValues: dict[str, str] | None = None
    """Values of the filter's $PARAMETERS, as the API takes them: `{CATEGORY: '"shoes"'}`."""
    numResults: Annotated[Int, Field(ge=1, le=500)] = 10
    """How many items to ask for."""
    minResults: Annotated[Int, Field(ge=0, le=500)] | None = None
    """The check fails when fewer items come back (default: numResults; with inputList: its length)."""


class CampaignSpec(_Model):
    solution: LogicalName
    minProvisionedTPS: PositiveApiInt = 1
    campaignConfig: CampaignConfig | None = None
    promotion: PromotionGate | None = None
    solutionVersion: (
        Annotated[str, Field(pattern=r"^([0-9a-zA-Z]{1,40}|arn:[a-z\d-]+:personalize:.*:solution/.+/.+)$")]
        | None
    ) = None
    """Pin the campaign to one solution version: its id (the last part of the ARN, `7d83ec97`) or its ARN.
    A pinned campaign is moved to that version and never promoted automatically; retraining still follows
    the solution's training policy. Leave unset to promote each new version that passes `promotion`."""
    verify: VerifySpec | None = None
    """The request `personalize-gitops verify` sends this campaign after apply (read-only)."""


# --- Filter, EventTracker ----------------------------------------------------------------------------------


class FilterSpec(_Model):
    datasetGroup: LogicalName
    filterExpression: Annotated[str, Field(min_length=1, max_length=2500)]


class EventTrackerSpec(_Model):
    datasetGroup: LogicalName


# --- Recommender -------------------------------------------------------------------------------------------


class RecommenderConfig(_Model):
    itemExplorationConfig: dict[str, str] | None = None
    minRecommendationRequestsPerSecond: PositiveApiInt | None = None
    trainingDataConfig: TrainingDataConfig | None = None
    enableMetadataWithRecommendations: bool | None = None

    @field_validator("itemExplorationConfig", mode="before")
    @classmethod
    def _stringify(cls, value: object) -> object:
        if isinstance(value, dict):
            return {k: str(v) for k, v in value.items()}
        return value


class RecommenderSpec(_Model):
    datasetGroup: LogicalName
    recipeArn: str
    recommenderConfig: RecommenderConfig | None = None
    running: bool = True
    """False stops the recommender (StopRecommender) so it is not billed; True starts it again."""
    verify: VerifySpec | None = None
    """The request `personalize-gitops verify` sends this recommender after apply (read-only)."""

    @field_validator("recipeArn", mode="before")
    @classmethod
    def _recipe(cls, value: object) -> object:
        return normalize_recipe_arn(value) if isinstance(value, str) else value


# --- MetricAttribution -------------------------------------------------------------------------------------


class MetricAttributeSpec(_Model):
    eventType: str
    metricName: str
    expression: str


class S3DataConfig(_Model):
    path: S3Uri
    kmsKeyArn: str | None = None


class MetricsOutputConfig(_Model):
    s3DataDestination: S3DataConfig | None = None
    roleArn: RoleArn


class MetricAttributionSpec(_Model):
    datasetGroup: LogicalName
    metrics: list[MetricAttributeSpec]
    metricsOutputConfig: MetricsOutputConfig


Spec = (
    DatasetGroupSpec
    | SchemaSpec
    | DatasetSpec
    | SolutionSpec
    | CampaignSpec
    | FilterSpec
    | EventTrackerSpec
    | RecommenderSpec
    | MetricAttributionSpec
)


# --- Stack settings ----------------------------------------------------------------------------------------


class PrunePolicy(_Model):
    enabled: bool = False
    """Delete managed resources that are no longer in the manifests."""
    allowEmpty: bool = False
    """Allow a plan that deletes every managed resource of the stack."""
    allowDataLoss: bool = False
    """Allow deleting or replacing datasets and dataset groups (imported data is lost)."""


class OutputsConfig(_Model):
    file: str | None = None
    """Path of the outputs JSON written after apply, relative to the manifests directory (default:
    personalize-outputs.<stack>.json in the working directory, when the manifests are below it)."""
    ssmPrefix: str | None = None
    """When set, outputs are also written to SSM Parameter Store under this prefix (/myapp/personalize)."""


class StackSpec(_Model):
    region: Annotated[str, Field(pattern=r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")] | None = None
    """AWS region of the stack (us-east-1); --region, then AWS_REGION, when not set."""
    accountId: Annotated[str, Field(pattern=r"^\d{12}$")] | None = None
    """Expected AWS account id: apply refuses any other account."""
    namePrefix: str = ""
    defaultTags: dict[str, str] = Field(default_factory=dict)
    prune: PrunePolicy = Field(default_factory=PrunePolicy)
    variables: dict[str, str] = Field(default_factory=dict)
    outputs: OutputsConfig = Field(default_factory=OutputsConfig)
    resources: list[str] | None = None
    """Manifest files/directories (relative to the stack file) holding this stack's resources; default: the
    stack file's directory."""


def _attribute_docstrings() -> dict[str, dict[str, str]]:
    """Class name -> field -> the string literal right below the field's annotation (as pydantic's
    `use_attribute_docstrings` reads it: `inspect.cleandoc`)."""
    import ast
    import inspect

    try:
        source = inspect.getsource(sys.modules[__name__])
    except (OSError, TypeError):  # installed without its .py source: the documents go without descriptions
        return {}
    tree = ast.parse(source)
    out: dict[str, dict[str, str]] = {}
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        docs: dict[str, str] = {}
        for statement, following in zip(node.body, node.body[1:], strict=False):
            if (
                isinstance(statement, ast.AnnAssign)
                and isinstance(statement.target, ast.Name)
                and isinstance(following, ast.Expr)
                and isinstance(following.value, ast.Constant)
                and isinstance(following.value.value, str)
            ):
                docs[statement.target.id] = inspect.cleandoc(following.value.value)
        out[node.name] = docs
    return out


_documented = False


def document_fields() -> None:
    """Give every spec model's fields their attribute docstring as description (for the manifest reference
    and the JSON schema; validation never needs them). Idempotent; rebuilds models already built."""
    import inspect

    global _documented
    if _documented:
        return
    docs = _attribute_docstrings()
    models = [
        value
        for value in list(globals().values())
        if isinstance(value, type) and issubclass(value, _Model) and value.__module__ == __name__
    ]
    for model in models:
        for name, info in model.model_fields.items():
            if info.description is not None:
                continue
            # the class whose body declares the field documents it (pydantic's rule)
            owner = next((c for c in model.__mro__ if name in inspect.get_annotations(c)), model)
            info.description = docs.get(owner.__name__, {}).get(name)
    for model in models:
        if model.__pydantic_complete__:
            model.model_rebuild(force=True)
    _documented = True
