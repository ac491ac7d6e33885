"""Read one dataset group and everything in it through boto3, as raw describe output (no interpretation).

Calls, per dataset group: DescribeDatasetGroup, ListTagsForResource; one List* per child kind (datasets,
solutions, filters, event trackers, recommenders, metric attributions), then per child Describe* and (taggable
kinds) ListTagsForResource; per dataset ListDatasetImportJobs and DescribeDatasetImportJob of the job whose
source is imported; per solution ListSolutionVersions and ListCampaigns (+ Describe/tags of each campaign);
per metric attribution ListMetricAttributionMetrics; DescribeSchema for each schema a dataset uses.
Sequential on purpose: an import runs once and reads a few dozen resources.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reconciler.errors import ApiError, ReconcilerError
from reconciler.live.reader import listed_group_child_kinds, plain, translate
from reconciler.model.address import Kind
from reconciler.resources.base import norm_status, tags_from_list
from reconciler.resources.registry import REGISTRY


@dataclass
class RawResource:
    """One resource as the API describes it (JSON-able: datetimes are epoch seconds)."""

    kind: Kind
    arn: str
    name: str
    fields: dict[str, Any]
    tags: dict[str, str] = field(default_factory=dict)
    parent_arn: str | None = None
    versions: list[dict[str, Any]] = field(default_factory=list)
    """Solutions: ListSolutionVersions summaries, newest first."""
    imports: list[dict[str, Any]] = field(default_factory=list)
    """Datasets: ListDatasetImportJobs summaries, newest first."""
    import_job: dict[str, Any] | None = None
    """Datasets: DescribeDatasetImportJob of the job the manifest's dataImport is taken from."""

    @property
    def status(self) -> str:
        return norm_status(str(self.fields.get("status") or ""))


#: Job kinds (one-off runs, not declarative resources): List* operation, response key, ARN key, name key.
JOB_KINDS = {
    "BatchInferenceJob": (
        "list_batch_inference_jobs",
        "batchInferenceJobs",
        "batchInferenceJobArn",
        "jobName",
    ),
    "BatchSegmentJob": ("list_batch_segment_jobs", "batchSegmentJobs", "batchSegmentJobArn", "jobName"),
    "DatasetExportJob": ("list_dataset_export_jobs", "datasetExportJobs", "datasetExportJobArn", "jobName"),
    "DataDeletionJob": ("list_data_deletion_jobs", "dataDeletionJobs", "dataDeletionJobArn", "jobName"),
}


@dataclass
class GroupSnapshot:
    group: RawResource
    children: list[RawResource] = field(default_factory=list)
    schemas: dict[str, RawResource] = field(default_factory=dict)
    """Schemas used by the group's datasets, by ARN."""
    jobs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Job kind -> summaries of the group's jobs (batch inference/segment, export, deletion), newest first."""

    def of_kind(self, kind: Kind) -> list[RawResource]:
        return [c for c in self.children if c.kind is kind]


def chosen_import(imports: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The import job a manifest's `dataImport` describes: the newest successful one, else the newest."""
    for job in imports:
        if norm_status(job.get("status")) == "ACTIVE":
            return job
    return imports[0] if imports else None


@dataclass
class Reader:
    personalize: Any
    _batch_jobs: dict[str, list[dict[str, Any]]] | None = None

    def call(self, operation: str, doing: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response: dict[str, Any] = getattr(self.personalize, operation)(**kwargs)
        except ReconcilerError:
            raise
        except Exception as exc:
            raise translate(exc, doing) from exc
        return plain(response)  # type: ignore[no-any-return]

    def pages(self, operation: str, key: str, doing: str, **kwargs: Any) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        try:
            if self.personalize.can_paginate(operation):
                for page in self.personalize.get_paginator(operation).paginate(**kwargs):
                    out.extend(plain(page.get(key, [])))
            else:
                out.extend(plain(getattr(self.personalize, operation)(**kwargs).get(key, [])))
        except Exception as exc:
            raise translate(exc, doing) from exc
        return out

    def tags(self, arn: str) -> dict[str, str]:
        response = self.call("list_tags_for_resource", f"read the tags of {arn}", resourceArn=arn)
        return tags_from_list(response.get("tags"))

    def describe(self, kind: Kind, arn: str) -> dict[str, Any]:
        handler = REGISTRY[kind]
        response = self.call(handler.ops.describe, f"describe {arn}", **handler.describe_request(arn))
        described: dict[str, Any] = dict(response.get(handler.ops.describe_key) or {})
        return described

    # -- public --

    def dataset_groups(self) -> list[dict[str, Any]]:
        """Summaries of every dataset group in the region, sorted by name."""
        groups = self.pages("list_dataset_groups", "datasetGroups", "list dataset groups")
        return sorted(groups, key=lambda g: str(g.get("name", "")))

    def find_group(self, name_or_arn: str) -> str:
        """ARN of the dataset group with this name (or ARN); an error naming the groups that exist."""
        groups = self.dataset_groups()
        for group in groups:
            if name_or_arn in (group.get("name"), group.get("datasetGroupArn")):
                return str(group["datasetGroupArn"])
        names = ", ".join(str(g.get("name")) for g in groups) or "none"
        raise ApiError(
            f"dataset group {name_or_arn!r} not found in this region",
            hint=f"dataset groups here: {names} (check --region / --endpoint-url, or use --all)",
        )

    def snapshot(self, group_arn: str) -> GroupSnapshot:
        fields = self.describe(Kind.DATASET_GROUP, group_arn)
        group = RawResource(Kind.DATASET_GROUP, group_arn, str(fields.get("name", "")), fields)
        group.tags = self.tags(group_arn)
        snap = GroupSnapshot(group)
        for kind in listed_group_child_kinds():
            snap.children.extend(self.children(kind, group_arn))
        for dataset in snap.of_kind(Kind.DATASET):
            schema_arn = dataset.fields.get("schemaArn")
            if isinstance(schema_arn, str) and schema_arn not in snap.schemas:
                described = self.call("describe_schema", f"describe {schema_arn}", schemaArn=schema_arn)
                schema = dict(described.get("schema") or {})
                snap.schemas[schema_arn] = RawResource(
                    Kind.SCHEMA, schema_arn, str(schema.get("name", "")), schema
                )
        self.jobs(snap)
        return snap

    def jobs(self, snap: GroupSnapshot) -> None:
        """The group's jobs, so import can say that they are not managed (never silently dropped)."""
        solutions = tuple(s.arn + "/" for s in snap.of_kind(Kind.SOLUTION))
        for kind in ("BatchInferenceJob", "BatchSegmentJob"):
            operation, key, arn_key, _ = JOB_KINDS[kind]
            if self._batch_jobs is None:
                self._batch_jobs = {}
            if kind not in self._batch_jobs:  # account-wide lists, read once per import
                self._batch_jobs[kind] = self.pages(operation, key, f"list {kind} jobs")
            found = [
                j
                for j in self._batch_jobs[kind]
                if str(j.get("solutionVersionArn", "")).startswith(solutions)
            ]
            if found and solutions:
                snap.jobs[kind] = self.sorted_newest(found, arn_key)
        operation, key, arn_key, _ = JOB_KINDS["DatasetExportJob"]
        exports: list[dict[str, Any]] = []
        for dataset in snap.of_kind(Kind.DATASET):
            exports += self.pages(
                operation, key, f"list the exports of {dataset.arn}", datasetArn=dataset.arn
            )
        if exports:
            snap.jobs["DatasetExportJob"] = self.sorted_newest(exports, arn_key)
        operation, key, arn_key, _ = JOB_KINDS["DataDeletionJob"]
        deletions = self.pages(
            operation, key, f"list the data deletion jobs of {snap.group.arn}", datasetGroupArn=snap.group.arn
        )
        if deletions:
            snap.jobs["DataDeletionJob"] = self.sorted_newest(deletions, arn_key)

    def children(self, kind: Kind, parent_arn: str) -> list[RawResource]:
        handler = REGISTRY[kind]
        ops = handler.ops
        assert ops.parent_param is not None
        summaries = self.pages(
            ops.list,
            ops.list_key,
            f"list {kind.value} resources of {parent_arn}",
            **{ops.parent_param: parent_arn},
        )
        out: list[RawResource] = []
        for summary in sorted(summaries, key=lambda s: str(s.get("name", ""))):
            arn = str(summary[ops.arn_key])
            try:
                described = self.describe(kind, arn)
            except ApiError as exc:
                if exc.code == "ResourceNotFoundException":
                    continue  # deleted between the list and the describe: no longer there to import
                raise
            fields = {**summary, **described}
            raw = RawResource(kind, arn, str(fields.get("name", "")), fields, parent_arn=parent_arn)
            if handler.taggable:
                raw.tags = self.tags(arn)
            out.append(raw)
            if kind is Kind.SOLUTION:
                raw.versions = self.sorted_newest(
                    self.pages(
                        "list_solution_versions",
                        "solutionVersions",
                        f"list the versions of {arn}",
                        solutionArn=arn,
                    ),
                    "solutionVersionArn",
                )
                out.extend(self.children(Kind.CAMPAIGN, arn))
            elif kind is Kind.DATASET:
                raw.imports = self.sorted_newest(
                    self.pages(
                        "list_dataset_import_jobs",
                        "datasetImportJobs",
                        f"list the imports of {arn}",
                        datasetArn=arn,
                    ),
                    "datasetImportJobArn",
                )
                job = chosen_import(raw.imports)
                if job is not None:
                    job_arn = str(job["datasetImportJobArn"])
                    described = self.call(
                        "describe_dataset_import_job", f"describe {job_arn}", datasetImportJobArn=job_arn
                    )
                    raw.import_job = dict(described.get("datasetImportJob") or {})
            elif kind is Kind.METRIC_ATTRIBUTION:
                raw.fields["metrics"] = self.pages(
                    "list_metric_attribution_metrics",
                    "metrics",
                    f"list the metrics of {arn}",
                    metricAttributionArn=arn,
                )
        return out

    @staticmethod
    def sorted_newest(items: list[dict[str, Any]], arn_key: str) -> list[dict[str, Any]]:
        return sorted(items, key=lambda i: (_num(i.get("creationDateTime")), str(i[arn_key])), reverse=True)


def _num(value: Any) -> float:
    return float(value) if isinstance(value, int | float) else 0.0


def account_of(arn: str) -> str | None:
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 and parts[4] else None
