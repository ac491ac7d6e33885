"""Issue 15: the reader takes the newest ACTIVE import's fingerprint tags from the dataset's import record
(`model.state.import_record`, written by apply) when it names that job, and reads the job's tags otherwise.
Against the emulator through real boto3 clients; calls counted with botocore events."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.live.reader import CallCounter, read_live
from reconciler.manifest import load
from reconciler.model.address import Kind
from reconciler.model.state import (
    TAG_SOURCE_ETAG,
    TAG_TRIGGER,
    DesiredState,
    LiveState,
    import_record,
)
from reconciler.plan.planner import PlanOptions, plan
from reconciler.plan.types import Action
from reconciler.resources.base import tag_list, tags_from_list
from tests.live.build import HOURS, build, upload_data
from tests.live.test_reader import clients


@pytest.fixture
def built(emulator_env: Any) -> DesiredState:
    desired = load("manifests")
    upload_data(emulator_env, desired)
    build(emulator_env, desired)
    return desired


def _datasets(env: Any) -> list[str]:
    return [d["datasetArn"] for d in env.personalize.list_datasets()["datasets"]]


def _jobs(env: Any, dataset: str) -> list[dict[str, Any]]:
    jobs = env.personalize.list_dataset_import_jobs(datasetArn=dataset)["datasetImportJobs"]
    return sorted(jobs, key=lambda j: j["creationDateTime"], reverse=True)


def _tags(env: Any, arn: str) -> dict[str, str]:
    return tags_from_list(env.personalize.list_tags_for_resource(resourceArn=arn)["tags"])


def _record(env: Any, dataset: str, job: dict[str, Any]) -> None:
    record = import_record(job["jobName"], _tags(env, job["datasetImportJobArn"]))
    env.personalize.tag_resource(resourceArn=dataset, tags=tag_list(record))


def _read(env: Any, desired: DesiredState) -> tuple[LiveState, list[str], CallCounter]:
    tag_reads: list[str] = []

    def seen(params: dict[str, Any], **_: Any) -> None:
        tag_reads.append(str(params["resourceArn"]))

    env.personalize.meta.events.register("before-parameter-build.personalize.ListTagsForResource", seen)
    counter = CallCounter(env.personalize)
    live = read_live(clients(env), desired, now=env.clock.now())
    env.personalize.meta.events.unregister("before-parameter-build.personalize.ListTagsForResource", seen)
    return live, tag_reads, counter


def _job_reads(tag_reads: list[str]) -> list[str]:
    return sorted(arn for arn in tag_reads if ":dataset-import-job/" in arn)


def _imports(live: LiveState) -> dict[str, dict[str, str]]:
    """Dataset ARN -> the newest import's fingerprint tags as read."""
    return {
        lv.arn: {k: v for k, v in lv.imports[0].tags.items() if k in (TAG_SOURCE_ETAG, TAG_TRIGGER)}
        for lv in live.resources.values()
        if lv.kind is Kind.DATASET
    }


def test_a_record_of_the_newest_active_job_replaces_its_tag_read(emulator_env, built):
    before, reads, counter = _read(emulator_env, built)
    datasets = _datasets(emulator_env)
    assert len(_job_reads(reads)) == len(datasets) > 0  # no record: one tag read per dataset, as before
    calls_before = counter.calls.get("ListTagsForResource", 0)
    for dataset in datasets:
        _record(emulator_env, dataset, _jobs(emulator_env, dataset)[0])
    live, reads, counter = _read(emulator_env, built)
    assert _job_reads(reads) == []
    assert counter.calls["ListTagsForResource"] == calls_before - len(datasets)
    assert _imports(live) == _imports(before) and all(_imports(live).values())
    assert not plan(built, live, PlanOptions(target="test")).has_changes


def test_a_record_of_an_older_job_is_read_past(emulator_env, built):
    """A newer ACTIVE import the record does not name (someone else's, or a crash before the record):
    its tags are read, and they decide (here: a trigger the manifests do not declare)."""
    dataset = _datasets(emulator_env)[0]
    _record(emulator_env, dataset, _jobs(emulator_env, dataset)[0])
    location = emulator_env.personalize.describe_dataset_import_job(
        datasetImportJobArn=_jobs(emulator_env, dataset)[0]["datasetImportJobArn"]
    )["datasetImportJob"]["dataSource"]["dataLocation"]
    newer = emulator_env.personalize.create_dataset_import_job(
        jobName="someone-elses-import",
        datasetArn=dataset,
        dataSource={"dataLocation": location},
        roleArn=f"arn:aws:iam::{emulator_env.account}:role/PersonalizeS3",
        tags=tag_list({TAG_SOURCE_ETAG: "elsewhere", TAG_TRIGGER: "theirs"}),
    )["datasetImportJobArn"]
    emulator_env.clock.advance(3 * HOURS)
    live, reads, _ = _read(emulator_env, built)
    assert newer in _job_reads(reads)
    lv = next(r for r in live.resources.values() if r.arn == dataset)
    assert lv.imports[0].arn == newer and lv.imports[0].tags[TAG_TRIGGER] == "theirs"
    p = plan(built, live, PlanOptions(target="test"))
    assert [c.address for c in p.changes if c.action is Action.IMPORT] == [lv.address]


def test_a_record_is_not_trusted_for_a_running_job(emulator_env, built):
    """Running imports' tags are read as before (plan refuses to delete under someone else's import)."""
    dataset = _datasets(emulator_env)[0]
    recorded = _jobs(emulator_env, dataset)[0]
    _record(emulator_env, dataset, recorded)
    running = emulator_env.personalize.create_dataset_import_job(
        jobName="running-import",
        datasetArn=dataset,
        dataSource={"dataLocation": "s3://elsewhere/data.csv"},
        roleArn=f"arn:aws:iam::{emulator_env.account}:role/PersonalizeS3",
    )["datasetImportJobArn"]
    _, reads, _ = _read(emulator_env, built)
    assert running in _job_reads(reads)
    assert recorded["datasetImportJobArn"] not in reads  # still the newest ACTIVE one: from the record


def test_a_dataset_whose_first_import_is_still_running_is_read(emulator_env):
    """No ACTIVE import yet, one running (a plan during the first apply's import): its tags are read and the
    dataset is read whole (the record check looked at the newest ACTIVE job, which does not exist)."""
    from dataclasses import replace

    desired = load("manifests")
    upload_data(emulator_env, desired)
    no_imports = replace(
        desired,
        resources={
            address: replace(res, spec=res.spec.model_copy(update={"dataImport": None}))
            if address.kind is Kind.DATASET
            else res
            for address, res in desired.resources.items()
        },
    )
    build(emulator_env, no_imports, train=False)
    dataset = _datasets(emulator_env)[0]
    running = emulator_env.personalize.create_dataset_import_job(
        jobName="first-import",
        datasetArn=dataset,
        dataSource={"dataLocation": "s3://elsewhere/data.csv"},
        roleArn=f"arn:aws:iam::{emulator_env.account}:role/PersonalizeS3",
        tags=tag_list({TAG_TRIGGER: "first"}),
    )["datasetImportJobArn"]
    live, reads, _ = _read(emulator_env, desired)
    assert running in _job_reads(reads)
    lv = next(r for r in live.resources.values() if r.arn == dataset)
    assert [(j.arn, j.tags.get(TAG_TRIGGER)) for j in lv.imports] == [(running, "first")]
