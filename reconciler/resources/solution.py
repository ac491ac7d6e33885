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

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from reconciler.model.address import Address, Kind
from reconciler.model.spec import Lifecycle, SolutionSpec
from reconciler.model.state import TAG_STACK, DesiredResource, LiveResource
from reconciler.pricing import PriceTable, money
from reconciler.resources.base import (
    READY,
    Cost,
    DataNeed,
    JobOps,
    Ops,
    RefContext,
    StateView,
    TableHandler,
    clean,
    norm_status,
)

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


def auto_training_note(spec: SolutionSpec, prices: PriceTable) -> str:
    every = 7
    config = spec.solutionConfig
    if config and config.autoTrainingConfig:
        found = re.search(r"\d+", config.autoTrainingConfig.schedulingExpression)
        every = int(found.group(0)) if found else 7
    monthly = prices.auto_training_monthly(every)
    return (
        f"automatic training is on: a billed training every {every} days, ~{money(monthly)}/month (estimate)"
    )


VERSION_TOOL_TAGS = 4
"""Tags apply writes on a solution version next to the solution's user tags (`apply/data.py`): stack, name,
reason, training key; one more (the trigger) when `training.trigger` is set."""


@dataclass(frozen=True)
class SolutionHandler(TableHandler):
    def tool_tags(self, spec: BaseModel, lifecycle: Lifecycle) -> int:
        """Its create's, or its trainings' (versions carry the solution's user tags)."""
        trigger = isinstance(spec, SolutionSpec) and bool(spec.training.trigger)
        return max(super().tool_tags(spec, lifecycle), VERSION_TOOL_TAGS + (1 if trigger else 0))

    def desired_fields(self, res: DesiredResource, ctx: RefContext) -> dict[str, Any]:
        return _normalise(super().desired_fields(res, ctx))

    def live_fields(self, live: LiveResource, ctx: RefContext) -> dict[str, Any]:
        return _normalise(super().live_fields(live, ctx))

    # -- plan rules --

    def served_from(self, live: LiveResource, view: StateView) -> tuple[Address, ...]:
        """Campaigns serving one of its versions (`solutionVersionArn` is `<solution ARN>/<version id>`)."""
        prefix = live.arn + "/"
        return tuple(
            sorted(
                address
                for address, other in view.live.resources.items()
                if address.kind is Kind.CAMPAIGN
                and str(other.fields.get("solutionVersionArn") or "").startswith(prefix)
            )
        )

    def replaces_first(self, live: LiveResource, view: StateView) -> bool:
        """While an ACTIVE campaign serves from it: the new one is trained and promoted to first."""
        serving = view.live.resources
        return any(norm_status(serving[a].status) == "ACTIVE" for a in self.served_from(live, view))

    def delete_blockers(self, live: LiveResource, view: StateView) -> tuple[str, ...]:
        """Trainings started outside this stack (apply stops only its own and automatic ones)."""
        owner = live.tags.get(TAG_STACK)
        running = tuple(
            f"cannot be deleted: solution version {v.arn.rsplit('/', 1)[-1]} ({v.status}) is training, "
            "started outside this stack; wait until it has finished or stop it (aws personalize "
            f"stop-solution-version-creation --solution-version-arn {v.arn}), then plan again"
            for v in live.versions
            if norm_status(v.status) in VERSION_IN_PROGRESS
            and v.training_type != "AUTOMATIC"
            and (not owner or v.tags.get(TAG_STACK) != owner)
        )
        return super().delete_blockers(live, view) + running

    def create_cost(self, res: DesiredResource, prices: PriceTable) -> Cost:
        spec = res.spec
        assert isinstance(spec, SolutionSpec)
        return None, ((auto_training_note(spec, prices),) if spec.performAutoTraining else ())

    def change_cost(
        self, res: DesiredResource, have: Mapping[str, Any], paths: tuple[str, ...], prices: PriceTable
    ) -> Cost:
        return self.create_cost(res, prices)

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
    spec_model=SolutionSpec,
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
    typical_update=5 * 60,
    delete_rank=2,
    jobs=JobOps(
        lister="solution_versions",
        live_field="versions",
        describe="describe_solution_version",
        describe_key="solutionVersion",
        in_progress=VERSION_IN_PROGRESS,
        failed=VERSION_FAILED,
        typical={"FULL": 45 * 60, "UPDATE": 15 * 60, "AUTOTRAIN": 45 * 60, "": 45 * 60},
        stop="stop_solution_version_creation",
        stopped=frozenset({"CREATE STOPPED", "ACTIVE", "CREATE FAILED"}),
        records_version=True,
    ),
    in_use_by=(Kind.CAMPAIGN,),
    data_need=DataNeed.DATASETS,
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
    waits_for_group_data=True,
    data_flow="train",
)
