"""Import jobs read S3 through boto3 (moto here): existence, CSV header vs schema, row statistics."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import Env
from emu_support import INTERACTIONS_SCHEMA, interactions_csv


def _dataset(env: Env) -> str:
    dg = env.group()
    schema = env.call("CreateSchema", name="s", schema=INTERACTIONS_SCHEMA)["schemaArn"]
    return str(
        env.call("CreateDataset", name="d", datasetGroupArn=dg, schemaArn=schema, datasetType="Interactions")[
            "datasetArn"
        ]
    )


def _import(env: Env, ds: str, url: str, name: str = "j", mode: str = "FULL") -> dict[str, Any]:
    arn = env.call(
        "CreateDatasetImportJob",
        jobName=name,
        datasetArn=ds,
        roleArn=env.role,
        importMode=mode,
        dataSource={"dataLocation": url},
    )["datasetImportJobArn"]
    return dict(env.call("DescribeDatasetImportJob", datasetImportJobArn=arn)["datasetImportJob"])


def _stats(env: Env, ds: str) -> dict[str, Any]:
    return dict(env.emulator._regions[(env.emulator.account, "eu-west-1")].resources["dataset"][ds]["_data"])


@pytest.mark.parametrize(
    ("url", "body", "reason"),
    [
        ("s3://no-such-bucket/x.csv", None, "Input bucket no-such-bucket does not exist"),
        ("s3://emu-data/missing.csv", None, "Input file not found: s3://emu-data/missing.csv"),
        ("s3://emu-data/empty/", None, "No files found in the S3 location s3://emu-data/empty/"),
        (
            "s3://emu-data/x.csv",
            b"USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,DISCOUNT,COLOR\n",
            "not in the schema: COLOR",
        ),
        (
            "s3://emu-data/x.csv",
            b"user_id,item_id,event_type\nu,i,e\n",
            "missing required columns: TIMESTAMP, DISCOUNT",
        ),
        (
            "s3://emu-data/x.csv",
            b"USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,DISCOUNT\nu,i\n",
            "line 2 has 2 values",
        ),
        ("s3://emu-data/x.csv", b"", "is empty"),
        (
            "s3://emu-data/x.csv",
            b"USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,DISCOUNT\nu,i,2024-01-01,click,No\n",
            "line 2: TIMESTAMP value '2024-01-01' is not a valid long",
        ),
        (
            "s3://emu-data/x.csv",
            b"USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,DISCOUNT\nu,,1,click,No\n",
            "ITEM_ID value '' is empty but the field does not allow null",
        ),
    ],
    ids=[
        "no-bucket",
        "no-object",
        "empty-folder",
        "unknown-column",
        "missing-column",
        "short-row",
        "empty-file",
        "bad-long",
        "null-in-required",
    ],
)
def test_import_fails_realistically(env: Env, url: str, body: bytes | None, reason: str) -> None:
    if body is not None:
        env.put(url.split("/", 3)[3], body)
    job = _import(env, _dataset(env), url)
    assert job["status"] == "CREATE FAILED"
    assert reason in job["failureReason"]


def test_header_is_case_insensitive_and_rows_are_counted(env: Env) -> None:
    ds = _dataset(env)
    body = b"item_id,User_Id,EVENT_TYPE,timestamp,discount\ni1,u1,click,1,No\ni2,u1,buy,2,Yes\n"
    body += b"i1,u2,click,3,No\n"
    assert _import(env, ds, env.put("x.csv", body))["status"] == "ACTIVE"
    stats = _stats(env, ds)
    assert stats["rows"] == 3 and stats["users"] == {"u1": 2, "u2": 1}
    assert stats["items"] == ["i1", "i2"] and stats["eventTypes"] == {"click": 2, "buy": 1}


def test_folder_prefix_imports_every_object_and_incremental_appends(env: Env) -> None:
    ds = _dataset(env)
    env.put("batch/part-1.csv", interactions_csv(users=10, per_user=10, seed=1))
    env.put("batch/part-2.csv", interactions_csv(users=10, per_user=5, seed=2))
    assert _import(env, ds, "s3://emu-data/batch/")["status"] == "ACTIVE"
    assert _stats(env, ds)["rows"] == 150
    more = env.put("more.csv", interactions_csv(users=5, per_user=4, seed=3))
    assert _import(env, ds, more, "inc", "INCREMENTAL")["importMode"] == "INCREMENTAL"
    assert _stats(env, ds)["rows"] == 170
    assert _import(env, ds, more, "full-again")["status"] == "ACTIVE"  # FULL replaces the bulk data
    assert _stats(env, ds)["rows"] == 20


def test_failed_import_leaves_data_untouched_and_fail_next(env: Env) -> None:
    ds = _dataset(env)
    _import(env, ds, env.put("x.csv", interactions_csv(users=5, per_user=5)))
    env.emulator.control.fail_next("dataset_import_job", "forced", "Access denied to the KMS key.")
    job = _import(env, ds, env.put("y.csv", interactions_csv(users=9, per_user=9)), "forced")
    assert (job["status"], job["failureReason"]) == ("CREATE FAILED", "Access denied to the KMS key.")
    assert _stats(env, ds)["rows"] == 25


def test_data_deletion_job_removes_users_and_counts_records(env: Env) -> None:
    ds = _dataset(env)
    _import(env, ds, env.put("x.csv", interactions_csv(users=10, per_user=3)))
    dg = env.call("DescribeDataset", datasetArn=ds)["dataset"]["datasetGroupArn"]
    arn = env.call(
        "CreateDataDeletionJob",
        jobName="gdpr",
        datasetGroupArn=dg,
        roleArn=env.role,
        dataSource={"dataLocation": env.put("del.csv", b"USER_ID\nu1\nu2\nnobody\n")},
    )["dataDeletionJobArn"]
    job = env.call("DescribeDataDeletionJob", dataDeletionJobArn=arn)["dataDeletionJob"]
    # numDeleted is "the number of records deleted": two users with three interactions each
    assert (job["status"], job["numDeleted"]) == ("COMPLETED", 6)
    assert _stats(env, ds)["rows"] == 24
    assert _stats(env, ds)["rows"] == 24
    table = env.emulator.data.interactions(dg)  # the kept rows of those users are gone as well
    assert table is not None and len(table) == 24
    assert not {"u1", "u2"} & {table.users.strings[u] for u in table.user.tolist()}


def test_export_and_batch_jobs_check_their_s3_locations(env: Env) -> None:
    ds = _dataset(env)
    _import(env, ds, env.put("x.csv", interactions_csv()))
    arn = env.call(
        "CreateDatasetExportJob",
        jobName="e",
        datasetArn=ds,
        roleArn=env.role,
        jobOutput={"s3DataDestination": {"path": "s3://missing-bucket/out/"}},
    )["datasetExportJobArn"]
    job = env.call("DescribeDatasetExportJob", datasetExportJobArn=arn)["datasetExportJob"]
    assert job["status"] == "CREATE FAILED" and "missing-bucket" in job["failureReason"]
    assert job["ingestionMode"] == "PUT"  # the documented default
    group = env.call("DescribeDataset", datasetArn=ds)["dataset"]["datasetGroupArn"]
    version = env.version(env.solution(group, performAutoTraining=False))
    arn = env.call(
        "CreateBatchInferenceJob",
        jobName="b",
        solutionVersionArn=version,
        roleArn=env.role,
        jobInput={"s3DataSource": {"path": "s3://emu-data/not-uploaded.json"}},
        jobOutput={"s3DataDestination": {"path": "s3://emu-data/out/"}},
    )["batchInferenceJobArn"]
    job = env.call("DescribeBatchInferenceJob", batchInferenceJobArn=arn)["batchInferenceJob"]
    assert job["status"] == "CREATE FAILED" and "not-uploaded.json" in job["failureReason"]
    assert job["batchInferenceJobMode"] == "BATCH_INFERENCE"
