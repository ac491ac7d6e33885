"""Recommender handler (domain dataset groups).

API ops: CreateRecommender, DescribeRecommender, ListRecommenders(datasetGroupArn), UpdateRecommender,
StartRecommender, StopRecommender, DeleteRecommender; tags via Tag/UntagResource.
Updatable fields: recommenderConfig (UpdateRecommender sends the whole config; changing trainingDataConfig
makes the service retrain), running (Start/StopRecommender). name, datasetGroup and recipeArn force a
replacement.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reconciler.model.address import Kind
from reconciler.model.spec import RecommenderSpec
from reconciler.model.state import DesiredResource, LiveResource
from reconciler.pricing import PriceTable
from reconciler.resources.base import Cost, DataNeed, Ops, RefContext, TableHandler, norm_status

STOPPED = frozenset({"INACTIVE", "STOP PENDING", "STOP IN_PROGRESS"})


@dataclass(frozen=True)
class RecommenderHandler(TableHandler):
    def desired_fields(self, res: DesiredResource, ctx: RefContext) -> dict[str, Any]:
        fields = super().desired_fields(res, ctx)
        assert isinstance(res.spec, RecommenderSpec)
        fields["running"] = res.spec.running
        return fields

    def live_fields(self, live: LiveResource, ctx: RefContext) -> dict[str, Any]:
        fields = super().live_fields(live, ctx)
        fields["running"] = norm_status(live.status) not in STOPPED
        return fields

    def create_request(self, res: DesiredResource, ctx: RefContext) -> dict[str, Any]:
        return super().create_request(res, ctx)

    def create_cost(self, res: DesiredResource, prices: PriceTable) -> Cost:
        assert isinstance(res.spec, RecommenderSpec)
        config = res.spec.recommenderConfig
        rps = config.minRecommendationRequestsPerSecond if config is not None else None
        floor = f"{rps} requests/s" if rps else "1 request/s (the default minRecommendationRequestsPerSecond)"
        return None, (
            f"recommender bills per request, and at least {floor} around the clock while it runs "
            "(no price in the table: not estimated)",
        )

    def update_request_for(
        self, res: DesiredResource, live: LiveResource, paths: frozenset[str], ctx: RefContext
    ) -> dict[str, Any] | None:
        if not any(p.startswith("recommenderConfig") for p in paths):
            return None
        assert isinstance(res.spec, RecommenderSpec)
        config = res.spec.recommenderConfig
        return {
            "recommenderArn": live.arn,
            "recommenderConfig": config.model_dump(exclude_none=True) if config else {},
        }

    def extra_requests_for(
        self, res: DesiredResource, live: LiveResource, paths: frozenset[str], ctx: RefContext
    ) -> list[tuple[str, dict[str, Any]]]:
        if not any(p.startswith("running") for p in paths):
            return []
        assert isinstance(res.spec, RecommenderSpec)
        operation = "start_recommender" if res.spec.running else "stop_recommender"
        return [(operation, {"recommenderArn": live.arn})]


HANDLER = RecommenderHandler(
    kind=Kind.RECOMMENDER,
    spec_model=RecommenderSpec,
    summary_names_parent=True,
    ops=Ops(
        create="create_recommender",
        describe="describe_recommender",
        delete="delete_recommender",
        list="list_recommenders",
        list_key="recommenders",
        arn_key="recommenderArn",
        describe_key="recommender",
        parent_param="datasetGroupArn",
        update="update_recommender",
        update_summary_key="latestRecommenderUpdate",
    ),
    arn_type="recommender",
    typical_create=60 * 60,
    typical_update=30 * 60,
    delete_rank=1,
    data_need=DataNeed.IMPORTS,
    depends_on=(Kind.DATASET_GROUP, Kind.DATASET),
    references={"datasetGroup": Kind.DATASET_GROUP},
    parent_field="datasetGroup",
    updatable_fields=("recommenderConfig", "running"),
    spec_fields=("datasetGroup", "recipeArn", "recommenderConfig"),
    create_fields=("recipeArn", "recommenderConfig"),
    defaults={
        "recommenderConfig.minRecommendationRequestsPerSecond": 1,
        "recommenderConfig.enableMetadataWithRecommendations": False,
    },
    serves_traffic=True,
    waits_for_group_data=True,
    ready=frozenset({"ACTIVE", "INACTIVE"}),
    in_progress=frozenset(
        {
            "CREATE PENDING",
            "CREATE IN_PROGRESS",
            "DELETE PENDING",
            "DELETE IN_PROGRESS",
            "STOP PENDING",
            "STOP IN_PROGRESS",
            "START PENDING",
            "START IN_PROGRESS",
        }
    ),
)
