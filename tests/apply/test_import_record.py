"""Issue 15: once an import apply started is ACTIVE, the dataset records it (`model.state.import_record`), so
a no-op plan reads no tags of the import job. Against the emulator through real boto3 clients."""

from __future__ import annotations

from typing import Any

from reconciler.model.address import Address, Kind
from reconciler.model.state import (
    LAST_IMPORT_COPIES,
    LAST_IMPORT_TAGS,
    TAG_LAST_IMPORT,
    TAG_SOURCE_SHA256,
    TAG_STACK,
)
from reconciler.plan.types import Action
from reconciler.resources.base import tags_from_list

DATASET = Address(Kind.DATASET, "interactions")


def _tags(world: Any, arn: str) -> dict[str, str]:
    return tags_from_list(world.personalize.list_tags_for_resource(resourceArn=arn)["tags"])


def _tag_reads(client: Any) -> list[str]:
    """The ARNs of every ListTagsForResource made through `client` from now on."""
    arns: list[str] = []

    def seen(params: dict[str, Any], **_: Any) -> None:
        arns.append(str(params["resourceArn"]))

    client.meta.events.register("before-parameter-build.personalize.ListTagsForResource", seen)
    return arns


def _dataset_and_jobs(world: Any) -> tuple[str, list[dict[str, Any]]]:
    pz = world.personalize
    dataset = next(
        d["datasetArn"] for d in pz.list_datasets()["datasets"] if "INTERACTIONS" in d["datasetArn"]
    )
    return dataset, pz.list_dataset_import_jobs(datasetArn=dataset)["datasetImportJobs"]


def _converged(world: Any) -> None:
    p = world.plan()
    assert not p.has_changes, [
        f"{c.action} {c.address} {c.reasons}" for c in p.changes if c.action != "no-op"
    ]


def test_apply_records_the_import_on_the_dataset_and_the_next_plan_reads_no_job_tags(mini) -> None:
    assert mini.apply().exit_code == 0
    dataset, jobs = _dataset_and_jobs(mini)
    assert len(jobs) == 1 and jobs[0]["status"] == "ACTIVE"
    job_tags = _tags(mini, jobs[0]["datasetImportJobArn"])
    assert TAG_SOURCE_SHA256 in job_tags  # the mini stack imports a local file: all three fingerprints
    record = {k: v for k, v in _tags(mini, dataset).items() if k in LAST_IMPORT_TAGS}
    assert record == {
        TAG_LAST_IMPORT: jobs[0]["jobName"],
        **{copy: job_tags[key] for key, copy in LAST_IMPORT_COPIES.items()},
    }
    reads = _tag_reads(mini.personalize)
    live = mini.live()
    assert jobs[0]["datasetImportJobArn"] not in reads
    assert all(":dataset-import-job/" not in arn for arn in reads), reads
    newest = live.resources[DATASET].imports[0]
    assert {k: newest.tags[k] for k in LAST_IMPORT_COPIES} == {k: job_tags[k] for k in LAST_IMPORT_COPIES}
    _converged(mini)  # the record is no tag drift


def test_a_missing_record_after_the_job_succeeded_plans_nothing_and_imports_nothing(mini) -> None:
    """A crash between the job becoming ACTIVE and the dataset's TagResource: simulated by failing that
    call. The next plan imports nothing (it reads the job's tags, as before), and apply does not import
    again."""
    failed: list[str] = []

    def crash(params: dict[str, Any], **_: Any) -> None:
        keys = {t["tagKey"] for t in params.get("tags", [])}
        if TAG_LAST_IMPORT in keys and not failed:
            failed.append(str(params["resourceArn"]))
            raise ConnectionResetError("simulated crash before the dataset is tagged")

    mini.personalize.meta.events.register("before-parameter-build.personalize.TagResource", crash)
    first = mini.apply()
    assert failed and first.exit_code != 0
    dataset, jobs = _dataset_and_jobs(mini)
    assert [j["status"] for j in jobs] == ["ACTIVE"]
    assert not LAST_IMPORT_TAGS & set(_tags(mini, dataset))
    reads = _tag_reads(mini.personalize)
    p = mini.plan()
    assert jobs[0]["datasetImportJobArn"] in reads  # no record: the job's tags, as before
    assert not [c for c in p.changes if c.action is Action.IMPORT]
    assert mini.apply().exit_code == 0  # what the failed step held back (training, campaign)
    assert [j["jobName"] for j in _dataset_and_jobs(mini)[1]] == [jobs[0]["jobName"]]
    _converged(mini)
    assert mini.apply().report is None


def test_a_new_import_replaces_the_record_whole(mini) -> None:
    """The stack moves from a local file to S3 with a trigger: the new job has no source-sha256, so the
    record's copy of it goes, removed together with the job name before the new record is written (no
    moment shows the new job's name with the old job's fingerprints)."""
    assert mini.apply().exit_code == 0
    dataset, jobs = _dataset_and_jobs(mini)
    assert LAST_IMPORT_COPIES[TAG_SOURCE_SHA256] in _tags(mini, dataset)
    resources = mini.manifests / "resources.yaml"
    text = resources.read_text(encoding="utf-8")
    resources.write_text(text.replace("localFile: ../data/interactions.csv", "trigger: s3-only"), "utf-8")
    mini.reload()
    untagged: list[list[str]] = []

    def seen(params: dict[str, Any], **_: Any) -> None:
        untagged.append(sorted(params["tagKeys"]))

    mini.personalize.meta.events.register("before-parameter-build.personalize.UntagResource", seen)
    assert [c.action for c in mini.plan().changes if c.action is Action.IMPORT] == [Action.IMPORT]
    assert mini.apply().exit_code == 0
    _, after = _dataset_and_jobs(mini)
    newest = max(after, key=lambda j: j["creationDateTime"])
    assert newest["jobName"] != jobs[0]["jobName"]
    job_tags = _tags(mini, newest["datasetImportJobArn"])
    tags = _tags(mini, dataset)
    assert {k: v for k, v in tags.items() if k in LAST_IMPORT_TAGS} == {
        TAG_LAST_IMPORT: newest["jobName"],
        **{copy: job_tags[key] for key, copy in LAST_IMPORT_COPIES.items() if key in job_tags},
    }
    assert TAG_SOURCE_SHA256 not in job_tags and tags[TAG_STACK] == job_tags[TAG_STACK]
    assert untagged == [sorted([TAG_LAST_IMPORT, LAST_IMPORT_COPIES[TAG_SOURCE_SHA256]])]
    reads = _tag_reads(mini.personalize)
    _converged(mini)
    assert all(":dataset-import-job/" not in arn for arn in reads), reads


def test_an_import_reads_the_tags_of_its_own_job_only(mini) -> None:
    """The import step lists the dataset's jobs for their names and statuses; it reads no tags of earlier
    jobs (one tag read per job the dataset ever had, on every import), only its new job's, for the record."""
    assert mini.apply().exit_code == 0
    _, jobs = _dataset_and_jobs(mini)
    resources = mini.manifests / "resources.yaml"
    text = resources.read_text(encoding="utf-8")
    resources.write_text(text.replace("localFile: ../data/interactions.csv", "trigger: s3-only"), "utf-8")
    mini.reload()
    reads = _tag_reads(mini.personalize)
    assert mini.apply().exit_code == 0
    _, after = _dataset_and_jobs(mini)
    newest = max(after, key=lambda j: j["creationDateTime"])
    assert [a for a in reads if ":dataset-import-job/" in a] == [newest["datasetImportJobArn"]]
    assert jobs[0]["datasetImportJobArn"] != newest["datasetImportJobArn"]


def test_the_record_gives_way_to_user_tags_under_the_50_tag_limit(mini) -> None:
    """45 user tags + the ownership and digest tags leave no room for the record: apply removes it before it
    tags (no TooManyTags), and plans read the job's tags again."""
    assert mini.apply().exit_code == 0
    dataset, jobs = _dataset_and_jobs(mini)
    assert TAG_LAST_IMPORT in _tags(mini, dataset)
    resources = mini.manifests / "resources.yaml"
    many = ", ".join(f"t{i:02d}: v" for i in range(45))
    text = resources.read_text(encoding="utf-8").replace(
        "kind: Dataset\nmetadata: {name: interactions}",
        f"kind: Dataset\nmetadata: {{name: interactions, tags: {{{many}}}}}",
    )
    resources.write_text(text, encoding="utf-8")
    mini.reload()
    result = mini.apply()
    assert result.exit_code == 0, result.summary().details()
    tags = _tags(mini, dataset)
    assert len(tags) <= 50 and not LAST_IMPORT_TAGS & set(tags)
    assert sum(1 for k in tags if k.startswith("t")) == 45
    reads = _tag_reads(mini.personalize)
    _converged(mini)
    assert jobs[0]["datasetImportJobArn"] in reads
