"""Metric attribution handler.

API ops: CreateMetricAttribution, DescribeMetricAttribution, ListMetricAttributions(datasetGroupArn),
ListMetricAttributionMetrics(metricAttributionArn), UpdateMetricAttribution (addMetrics, removeMetrics,
metricsOutputConfig), DeleteMetricAttribution. Not taggable (CreateMetricAttribution has no tags), so managed
ones are recognised by name. Updatable fields: metrics, metricsOutputConfig; name and datasetGroup force a
replacement. The live reader stores the ListMetricAttributionMetrics result under `fields["metrics"]`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reconciler.model.address import Kind
from reconciler.model.spec import MetricAttributionSpec
from reconciler.model.state import DesiredResource, LiveResource
from reconciler.resources.base import DataNeed, Ops, RefContext, TableHandler


def _sorted_metrics(metrics: Any) -> list[dict[str, Any]]:
    items = [dict(m) for m in metrics or []]
    return sorted(items, key=lambda m: str(m.get("metricName")))


@dataclass(frozen=True)
class MetricAttributionHandler(TableHandler):
    def desired_fields(self, res: DesiredResource, ctx: RefContext) -> dict[str, Any]:
        fields = super().desired_fields(res, ctx)
        fields["metrics"] = _sorted_metrics(fields.get("metrics"))
        return fields

    def live_fields(self, live: LiveResource, ctx: RefContext) -> dict[str, Any]:
        fields = super().live_fields(live, ctx)
        fields["metrics"] = _sorted_metrics(fields.get("metrics"))
        return fields

    def update_request_for(
        self, res: DesiredResource, live: LiveResource, paths: frozenset[str], ctx: RefContext
    ) -> dict[str, Any] | None:
        changed = {p for p in paths if not p.startswith("tags")}
        if not changed:
            return None
        spec = res.spec
        assert isinstance(spec, MetricAttributionSpec)
        request: dict[str, Any] = {"metricAttributionArn": live.arn}
        if "metrics" in changed:
            want = {m.metricName: m.model_dump() for m in spec.metrics}
            have = {str(m.get("metricName")): dict(m) for m in live.fields.get("metrics") or []}
            add = [want[n] for n in sorted(want) if have.get(n) != want[n]]
            remove = sorted(n for n in have if n not in want or have[n] != want[n])
            if add:
                request["addMetrics"] = add
            if remove:
                request["removeMetrics"] = remove
        if any(p.startswith("metricsOutputConfig") for p in changed):
            request["metricsOutputConfig"] = spec.metricsOutputConfig.model_dump(exclude_none=True)
        return request


HANDLER = MetricAttributionHandler(
    kind=Kind.METRIC_ATTRIBUTION,
    spec_model=MetricAttributionSpec,
    ops=Ops(
        create="create_metric_attribution",
        describe="describe_metric_attribution",
        delete="delete_metric_attribution",
        list="list_metric_attributions",
        list_key="metricAttributions",
        arn_key="metricAttributionArn",
        describe_key="metricAttribution",
        parent_param="datasetGroupArn",
        update="update_metric_attribution",
    ),
    arn_type="metric-attribution",
    typical_create=120,
    delete_rank=4,
    data_need=DataNeed.DATASETS,
    taggable=False,
    depends_on=(Kind.DATASET_GROUP, Kind.DATASET),
    references={"datasetGroup": Kind.DATASET_GROUP},
    parent_field="datasetGroup",
    updatable_fields=("metrics", "metricsOutputConfig"),
    spec_fields=("datasetGroup", "metrics", "metricsOutputConfig"),
    create_fields=("metrics", "metricsOutputConfig"),
    waits_for_group_data=True,
)
