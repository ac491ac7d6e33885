"""Filter handler.

API ops: CreateFilter, DescribeFilter, ListFilters (response key `Filters`), DeleteFilter; tags via
Tag/UntagResource. Updatable fields: tags only (no UpdateFilter): filterExpression and datasetGroup force a
replacement (campaigns are not affected; clients keep using the same ARN once it is recreated).
"""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.model.address import Kind
from reconciler.model.spec import FilterSpec
from reconciler.resources.base import DataNeed, Ops, StateView, TableHandler, norm_status

#: What a filter filters: deleting or replacing it stops traffic once one of them serves.
FILTERED = frozenset({Kind.CAMPAIGN, Kind.RECOMMENDER})


@dataclass(frozen=True)
class FilterHandler(TableHandler):
    def stops_traffic(self, view: StateView) -> bool:
        """In use once the stack serves (an ACTIVE campaign or recommender): its callers pass its ARN."""
        return any(
            a.kind in FILTERED and norm_status(live.status) == "ACTIVE"
            for a, live in view.live.resources.items()
        )


HANDLER = FilterHandler(
    kind=Kind.FILTER,
    spec_model=FilterSpec,
    summary_names_parent=True,
    ops=Ops(
        create="create_filter",
        describe="describe_filter",
        delete="delete_filter",
        list="list_filters",
        list_key="Filters",
        arn_key="filterArn",
        describe_key="filter",
        parent_param="datasetGroupArn",
    ),
    arn_type="filter",
    typical_create=120,
    delete_rank=3,
    data_need=DataNeed.DATASETS,
    depends_on=(Kind.DATASET_GROUP, Kind.DATASET),
    references={"datasetGroup": Kind.DATASET_GROUP},
    parent_field="datasetGroup",
    spec_fields=("datasetGroup", "filterExpression"),
    create_fields=("filterExpression",),
    serves_traffic=True,
    waits_for_group_data=True,
)
