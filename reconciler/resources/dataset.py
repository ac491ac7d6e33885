"""Dataset handler.

API ops: CreateDataset, DescribeDataset, ListDatasets(datasetGroupArn), UpdateDataset, DeleteDataset; imports
through CreateDatasetImportJob / ListDatasetImportJobs; tags via Tag/UntagResource.
Updatable fields: `schema` (UpdateDataset replaces the schema) only for ITEMS and USERS datasets and only with
an additive compatible schema (every old field unchanged, new fields nullable; the planner checks it);
otherwise (and for datasetGroup/datasetType) a replacement, which loses imported data (destructive).
The ARN is `dataset/<group physical name>/<TYPE>` (one dataset per type and group).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reconciler.model.address import Kind
from reconciler.model.spec import DatasetSpec
from reconciler.model.state import DesiredResource, LiveResource
from reconciler.resources.base import Ops, RefContext, TableHandler

SCHEMA_UPDATABLE_TYPES = frozenset({"ITEMS", "USERS"})


@dataclass(frozen=True)
class DatasetHandler(TableHandler):
    def live_fields(self, live: LiveResource, ctx: RefContext) -> dict[str, Any]:
        fields = super().live_fields(live, ctx)
        if isinstance(fields.get("datasetType"), str):
            fields["datasetType"] = fields["datasetType"].upper()
        return fields

    def is_updatable(self, path: str, res: DesiredResource | None = None) -> bool:
        if path == "schema":
            return (
                res is not None
                and isinstance(res.spec, DatasetSpec)
                and res.spec.datasetType in SCHEMA_UPDATABLE_TYPES
            )
        return super().is_updatable(path, res)

    def create_request(self, res: DesiredResource, ctx: RefContext) -> dict[str, Any]:
        request = super().create_request(res, ctx)
        assert isinstance(res.spec, DatasetSpec)
        request["datasetType"] = res.spec.datasetType
        return request

    def update_request_for(
        self, res: DesiredResource, live: LiveResource, paths: frozenset[str], ctx: RefContext
    ) -> dict[str, Any] | None:
        if not {p for p in paths if not p.startswith("tags")}:
            return None
        assert isinstance(res.spec, DatasetSpec)
        return {"datasetArn": live.arn, "schemaArn": ctx.arn(Kind.SCHEMA, res.spec.schema_)}

    def arn_for(
        self,
        physical_name: str,
        region: str,
        account: str,
        *,
        group_name: str | None = None,
        dataset_type: str | None = None,
    ) -> str | None:
        if not group_name or not dataset_type:
            return None
        return f"arn:aws:personalize:{region}:{account}:dataset/{group_name}/{dataset_type.upper()}"


HANDLER = DatasetHandler(
    kind=Kind.DATASET,
    ops=Ops(
        create="create_dataset",
        describe="describe_dataset",
        delete="delete_dataset",
        list="list_datasets",
        list_key="datasets",
        arn_key="datasetArn",
        describe_key="dataset",
        parent_param="datasetGroupArn",
        update="update_dataset",
        update_summary_key="latestDatasetUpdate",
    ),
    arn_type="dataset",
    depends_on=(Kind.DATASET_GROUP, Kind.SCHEMA),
    references={"datasetGroup": Kind.DATASET_GROUP, "schema": Kind.SCHEMA},
    parent_field="datasetGroup",
    updatable_fields=("schema",),
    spec_fields=("datasetGroup", "datasetType", "schema"),
)
