"""Solution handler.

API ops: CreateSolution, DescribeSolution, ListSolutions(datasetGroupArn), UpdateSolution, DeleteSolution
(deletes its versions); versions through CreateSolutionVersion, ListSolutionVersions(solutionArn),
GetSolutionMetrics; tags via Tag/UntagResource.
Updatable fields (UpdateSolution): performAutoTraining, performIncrementalUpdate,
solutionConfig.autoTrainingConfig, solutionConfig.eventsConfig (replaced as a whole). Everything else
(recipe, hyperparameters, HPO, featureTransformationParameters, trainingDataConfig, eventType, ...) forces a
replacement. `performAutoTraining` is always sent explicitly: the API defaults it to true, the manifests to
false, so nothing trains behind git's back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reconciler.model.address import Kind
from reconciler.model.spec import SolutionSpec
from reconciler.model.state import DesiredResource, LiveResource
from reconciler.resources.base import READY, Ops, RefContext, TableHandler, clean

#: Solution version statuses.
VERSION_READY = READY
VERSION_IN_PROGRESS = frozenset({"CREATE PENDING", "CREATE IN_PROGRESS", "CREATE STOPPING"})
VERSION_FAILED = frozenset({"CREATE FAILED", "CREATE STOPPED"})


def _normalise(fields: dict[str, Any]) -> dict[str, Any]:
    # Automatic training settings mean nothing while automatic training is off.
    if not fields.get("performAutoTraining"):
        config = fields.get("solutionConfig")
        if isinstance(config, dict):
            config.pop("autoTrainingConfig", None)
    # With AutoML the service picks the recipe.
    if fields.get("performAutoML"):
        fields.pop("recipeArn", None)
    cleaned: dict[str, Any] = clean(fields)
    cleaned.setdefault("performAutoTraining", False)
    return cleaned


@dataclass(frozen=True)
class SolutionHandler(TableHandler):
    def desired_fields(self, res: DesiredResource, ctx: RefContext) -> dict[str, Any]:
        return _normalise(super().desired_fields(res, ctx))

    def live_fields(self, live: LiveResource, ctx: RefContext) -> dict[str, Any]:
        return _normalise(super().live_fields(live, ctx))

    def create_request(self, res: DesiredResource, ctx: RefContext) -> dict[str, Any]:
        request = super().create_request(res, ctx)
        spec = res.spec
        assert isinstance(spec, SolutionSpec)
        request["performAutoTraining"] = spec.performAutoTraining
        if spec.performAutoML:
            request.pop("recipeArn", None)
        return request

    def update_request_for(
        self, res: DesiredResource, live: LiveResource, paths: frozenset[str], ctx: RefContext
    ) -> dict[str, Any] | None:
        if not {p for p in paths if not p.startswith("tags")}:
            return None
        spec = res.spec
        assert isinstance(spec, SolutionSpec)
        request: dict[str, Any] = {"solutionArn": live.arn, "performAutoTraining": spec.performAutoTraining}
        if spec.performIncrementalUpdate is not None:
            request["performIncrementalUpdate"] = spec.performIncrementalUpdate
        config = spec.solutionConfig
        update_config: dict[str, Any] = {}
        if config is not None and config.autoTrainingConfig is not None and spec.performAutoTraining:
            update_config["autoTrainingConfig"] = config.autoTrainingConfig.model_dump(exclude_none=True)
        if config is not None and config.eventsConfig is not None:
            update_config["eventsConfig"] = config.eventsConfig.model_dump(exclude_none=True)
        if update_config:
            request["solutionUpdateConfig"] = update_config
        return request


HANDLER = SolutionHandler(
    kind=Kind.SOLUTION,
    ops=Ops(
        create="create_solution",
        describe="describe_solution",
        delete="delete_solution",
        list="list_solutions",
        list_key="solutions",
        arn_key="solutionArn",
        describe_key="solution",
        parent_param="datasetGroupArn",
        update="update_solution",
        update_summary_key="latestSolutionUpdate",
    ),
    arn_type="solution",
    depends_on=(Kind.DATASET_GROUP, Kind.DATASET),
    references={"datasetGroup": Kind.DATASET_GROUP},
    parent_field="datasetGroup",
    updatable_fields=(
        "performAutoTraining",
        "performIncrementalUpdate",
        "solutionConfig.autoTrainingConfig",
        "solutionConfig.eventsConfig",
    ),
    spec_fields=(
        "datasetGroup",
        "recipeArn",
        "performHPO",
        "performAutoML",
        "performAutoTraining",
        "performIncrementalUpdate",
        "eventType",
        "solutionConfig",
    ),
    create_fields=(
        "recipeArn",
        "performHPO",
        "performAutoML",
        "performIncrementalUpdate",
        "eventType",
        "solutionConfig",
    ),
    defaults={"performHPO": False, "performAutoML": False, "performIncrementalUpdate": False},
)
