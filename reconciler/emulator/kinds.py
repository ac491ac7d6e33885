"""The table of resource kinds: how each is named, addressed, described and listed."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    key: str  # internal name, e.g. "dataset_group"
    noun: str  # operation suffix, e.g. "DatasetGroup"
    plural: str  # List* suffix, e.g. "DatasetGroups"
    arn_type: str  # ARN resource type, e.g. "dataset-group"
    describe_key: str  # member of the Describe* output
    list_key: str  # member of the List* output
    list_filter: str | None = None  # optional parent ARN parameter of List*
    name_field: str = "name"
    taggable: bool = True
    newest_first: bool = False
    vocabulary: str = (
        "create"  # status vocabulary: "create", "job" (PENDING/IN_PROGRESS/COMPLETED) or "batch"
    )
    has_delete: bool = True

    @property
    def arn_key(self) -> str:
        return self.describe_key + "Arn"

    @property
    def title(self) -> str:
        return self.key.replace("_", " ").capitalize()


KINDS: dict[str, Kind] = {
    k.key: k
    for k in (
        Kind(
            "dataset_group", "DatasetGroup", "DatasetGroups", "dataset-group", "datasetGroup", "datasetGroups"
        ),
        Kind("schema", "Schema", "Schemas", "schema", "schema", "schemas", taggable=False),
        Kind("dataset", "Dataset", "Datasets", "dataset", "dataset", "datasets", "datasetGroupArn"),
        Kind(
            "dataset_import_job",
            "DatasetImportJob",
            "DatasetImportJobs",
            "dataset-import-job",
            "datasetImportJob",
            "datasetImportJobs",
            "datasetArn",
            name_field="jobName",
            has_delete=False,
        ),
        Kind(
            "dataset_export_job",
            "DatasetExportJob",
            "DatasetExportJobs",
            "dataset-export-job",
            "datasetExportJob",
            "datasetExportJobs",
            "datasetArn",
            name_field="jobName",
            has_delete=False,
        ),
        Kind("solution", "Solution", "Solutions", "solution", "solution", "solutions", "datasetGroupArn"),
        Kind(
            "solution_version",
            "SolutionVersion",
            "SolutionVersions",
            "solution",
            "solutionVersion",
            "solutionVersions",
            "solutionArn",
            has_delete=False,
        ),
        Kind("campaign", "Campaign", "Campaigns", "campaign", "campaign", "campaigns", "solutionArn"),
        Kind("filter", "Filter", "Filters", "filter", "filter", "Filters", "datasetGroupArn"),
        Kind(
            "event_tracker",
            "EventTracker",
            "EventTrackers",
            "event-tracker",
            "eventTracker",
            "eventTrackers",
            "datasetGroupArn",
        ),
        Kind(
            "recommender",
            "Recommender",
            "Recommenders",
            "recommender",
            "recommender",
            "recommenders",
            "datasetGroupArn",
        ),
        Kind(
            "batch_inference_job",
            "BatchInferenceJob",
            "BatchInferenceJobs",
            "batch-inference-job",
            "batchInferenceJob",
            "batchInferenceJobs",
            "solutionVersionArn",
            name_field="jobName",
            vocabulary="batch",
            has_delete=False,
        ),
        Kind(
            "batch_segment_job",
            "BatchSegmentJob",
            "BatchSegmentJobs",
            "batch-segment-job",
            "batchSegmentJob",
            "batchSegmentJobs",
            "solutionVersionArn",
            name_field="jobName",
            vocabulary="batch",
            has_delete=False,
        ),
        Kind(
            "metric_attribution",
            "MetricAttribution",
            "MetricAttributions",
            "metric-attribution",
            "metricAttribution",
            "metricAttributions",
            "datasetGroupArn",
            taggable=False,
        ),
        Kind(
            "data_deletion_job",
            "DataDeletionJob",
            "DataDeletionJobs",
            "data-deletion-job",
            "dataDeletionJob",
            "dataDeletionJobs",
            "datasetGroupArn",
            name_field="jobName",
            newest_first=True,
            vocabulary="job",
            has_delete=False,
        ),
    )
}

#: Status words per vocabulary.
VOCABULARY: dict[str, dict[str, str]] = {
    "create": {
        "pending": "CREATE PENDING",
        "in_progress": "CREATE IN_PROGRESS",
        "done": "ACTIVE",
        "failed": "CREATE FAILED",
    },
    "job": {"pending": "PENDING", "in_progress": "IN_PROGRESS", "done": "COMPLETED", "failed": "FAILED"},
    # batch inference and batch segment jobs (botocore: "PENDING, IN PROGRESS, ACTIVE, CREATE FAILED")
    "batch": {
        "pending": "PENDING",
        "in_progress": "IN PROGRESS",
        "done": "ACTIVE",
        "failed": "CREATE FAILED",
    },
}

#: Statuses in which a resource is settled (updates and deletes are allowed).
TERMINAL = frozenset({"ACTIVE", "CREATE FAILED", "INACTIVE", "COMPLETED", "FAILED", "CREATE STOPPED"})
IN_FLIGHT = frozenset(
    {"CREATE PENDING", "CREATE IN_PROGRESS", "CREATE STOPPING", "PENDING", "IN_PROGRESS", "IN PROGRESS"}
)
DELETING = frozenset({"DELETE PENDING", "DELETE IN_PROGRESS"})

#: Every status each kind may report (asserted by tests; the model leaves ``status`` free-form).
STATUSES: dict[str, frozenset[str]] = {
    key: frozenset(VOCABULARY[kind.vocabulary].values()) | (DELETING if kind.has_delete else frozenset())
    for key, kind in KINDS.items()
    if key != "schema"
}
STATUSES["solution_version"] = STATUSES["solution_version"] | {"CREATE STOPPING", "CREATE STOPPED"}
STATUSES["recommender"] = STATUSES["recommender"] | {
    "STOP PENDING",
    "STOP IN_PROGRESS",
    "INACTIVE",
    "START PENDING",
    "START IN_PROGRESS",
}
STATUSES["dataset_group"] = STATUSES["dataset_group"] - {"DELETE IN_PROGRESS"}
