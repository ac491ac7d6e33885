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

from pydantic import BaseModel

from reconciler.model.address import Address, Kind
from reconciler.model.spec import DatasetSpec, Lifecycle
from reconciler.model.state import TAG_STACK, DesiredResource, LiveResource
from reconciler.resources import schema
from reconciler.resources.base import JobOps, Ops, RefContext, StateView, TableHandler, norm_status

SCHEMA_UPDATABLE_TYPES = frozenset({"ITEMS", "USERS"})
IMPORT_IN_PROGRESS = frozenset({"CREATE PENDING", "CREATE IN_PROGRESS"})
"""Statuses of an import job still running (it cannot be stopped; the dataset cannot be deleted meanwhile)."""


IMPORT_JOB_TOOL_TAGS = 4
"""Tags apply writes on an import job next to the dataset's user tags (`apply/data.py`): stack, name, source
ETag, trigger; one more (the source SHA-256) for a `localFile`."""


@dataclass(frozen=True)
class DatasetHandler(TableHandler):
    def tool_tags(self, spec: BaseModel, lifecycle: Lifecycle) -> int:
        """Its create's, or its import jobs' (they carry the dataset's user tags) when it imports data."""
        own = super().tool_tags(spec, lifecycle)
        if not isinstance(spec, DatasetSpec) or spec.dataImport is None:
            return own
        return max(own, IMPORT_JOB_TOOL_TAGS + (1 if spec.dataImport.localFile else 0))

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

    # -- plan rules --

    def updates_in_place(self, path: str, res: DesiredResource, live: LiveResource, view: StateView) -> bool:
        if path == "schema":
            return self.schema_updatable(res, live, view)
        return super().updates_in_place(path, res, live, view)

    def repoints_in_place(self, ref: str, res: DesiredResource, live: LiveResource, view: StateView) -> bool:
        return ref == "schema" and self.schema_updatable(res, live, view)

    def schema_updatable(self, res: DesiredResource, live: LiveResource, view: StateView) -> bool:
        """UpdateDataset takes it: an ITEMS/USERS dataset and an additive change of its live schema."""
        spec = res.spec
        assert isinstance(spec, DatasetSpec)
        if spec.datasetType not in SCHEMA_UPDATABLE_TYPES:
            return False
        old = _live_schema(str(live.fields.get("schemaArn") or ""), view)
        new_res = view.desired.resources.get(Address(Kind.SCHEMA, spec.schema_))
        new = schema.HANDLER.desired_fields(new_res, view.ctx).get("schema") if new_res else None
        return isinstance(old, dict) and isinstance(new, dict) and schema.is_additive(old, new)

    def delete_blockers(self, live: LiveResource, view: StateView) -> tuple[str, ...]:
        owner = live.tags.get(TAG_STACK)
        running = tuple(
            f"cannot be deleted: import job {job.name} ({norm_status(job.status)}) was started outside this "
            "stack and Personalize cannot stop it; wait until it has finished, then plan again"
            for job in live.imports
            if norm_status(job.status) in IMPORT_IN_PROGRESS
            and (not owner or job.tags.get(TAG_STACK) != owner)
        )
        return super().delete_blockers(live, view) + running

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
    spec_model=DatasetSpec,
    summary_names_parent=True,  # its ARN holds the group's name (`dataset/<group>/<TYPE>`)
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
    delete_rank=6,
    jobs=JobOps(
        lister="import_jobs",
        live_field="imports",
        describe="describe_dataset_import_job",
        describe_key="datasetImportJob",
        in_progress=frozenset({"CREATE PENDING", "CREATE IN_PROGRESS"}),
        failed=frozenset({"CREATE FAILED"}),
        typical={"": 10 * 60},  # a small file; large ones take up to twice that
    ),
    depends_on=(Kind.DATASET_GROUP, Kind.SCHEMA),
    references={"datasetGroup": Kind.DATASET_GROUP, "schema": Kind.SCHEMA},
    parent_field="datasetGroup",
    updatable_fields=("schema",),
    spec_fields=("datasetGroup", "datasetType", "schema"),
    holds_data=True,
    data_flow="import",
)


def _live_schema(arn: str, view: StateView) -> Any:
    """The comparable content of the live schema `arn` (None when it is not read)."""
    for address, live in view.live.resources.items():
        if address.kind is Kind.SCHEMA and arn and live.arn == arn:
            return schema.HANDLER.live_fields(live, view.ctx).get("schema")
    return None
