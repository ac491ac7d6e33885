"""Dataset group handler.

API ops: CreateDatasetGroup, DescribeDatasetGroup, ListDatasetGroups, DeleteDatasetGroup; tags via
Tag/UntagResource. Updatable fields: none but tags (no UpdateDatasetGroup): domain, kmsKeyArn and roleArn
force a replacement, which deletes every dataset and its imported data (destructive).
"""

from __future__ import annotations

from reconciler.model.address import Kind
from reconciler.model.spec import DatasetGroupSpec
from reconciler.resources.base import Ops, TableHandler

HANDLER = TableHandler(
    kind=Kind.DATASET_GROUP,
    spec_model=DatasetGroupSpec,
    ops=Ops(
        create="create_dataset_group",
        describe="describe_dataset_group",
        delete="delete_dataset_group",
        list="list_dataset_groups",
        list_key="datasetGroups",
        arn_key="datasetGroupArn",
        describe_key="datasetGroup",
    ),
    arn_type="dataset-group",
    delete_rank=7,
    spec_fields=("domain", "kmsKeyArn", "roleArn"),
    create_fields=("domain", "kmsKeyArn", "roleArn"),
    in_progress=frozenset({"CREATE PENDING", "CREATE IN_PROGRESS", "DELETE PENDING", "DELETE IN_PROGRESS"}),
    holds_data=True,
)
