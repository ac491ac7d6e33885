"""Finding 9 of issue 11: data fingerprints without the MD5 assumption, against the emulator and moto through
real boto3 clients.

An S3 ETag is the MD5 of the data only for single-part uploads without SSE-KMS. With SSE-KMS (simulated
here: S3 answers an ETag that is not the MD5, as AWS does) or a multipart upload, a second plan after a
complete apply must plan no IMPORT and no RETRAIN (each would start a billed training)."""

from __future__ import annotations

import hashlib
from typing import Any

from apply_support import write_mini
from typer.testing import CliRunner

from reconciler import s3data
from reconciler.cli import app
from reconciler.demo import seed_local_account
from reconciler.manifest import load
from reconciler.plan import planfile
from reconciler.plan.types import Action

COSTLY = {Action.IMPORT, Action.RETRAIN, Action.PROMOTE}


def _kms_like(etag: str) -> str:
    """An ETag as S3 gives it for an SSE-KMS object: stable per object version, not the MD5 of the data."""
    return '"' + hashlib.sha256(etag.strip('"').encode()).hexdigest()[:32] + '"'


def _answer_kms_etags(s3: Any) -> None:
    def rewrite(parsed: dict[str, Any], **_: object) -> None:
        if "ETag" in parsed:
            parsed["ETag"] = _kms_like(parsed["ETag"])
        for item in parsed.get("Contents", []) or []:
            if "ETag" in item:
                item["ETag"] = _kms_like(item["ETag"])

    s3.meta.events.register("after-call.s3", rewrite)


def _costly(plan) -> list[str]:
    return [f"{c.action.value} {c.address}" for c in plan.changes if c.action in COSTLY]


def test_sse_kms_objects_whose_etag_is_not_the_md5_plan_nothing_after_apply(world) -> None:
    _answer_kms_etags(world.target.s3)
    first = world.apply()
    assert first.exit_code == 0, first.summary().details() if first.summary() else first
    data_key = world.desired.stack.settings.variables["bucket"]
    listed = world.target.s3.list_objects_v2(Bucket=data_key)["Contents"]
    body = world.target.s3.get_object(Bucket=data_key, Key="interactions.csv")["Body"].read()
    etag = next(o["ETag"] for o in listed if o["Key"] == "interactions.csv").strip('"')
    assert etag != hashlib.md5(body).hexdigest()  # the premise: the ETag is not the MD5 of the data
    assert _costly(world.plan()) == []
    second = world.apply()
    assert second.exit_code == 0 and second.report is None  # nothing to apply, no training started


def test_multipart_upload_of_local_file_plans_nothing_after_apply(world, monkeypatch) -> None:
    monkeypatch.setattr(s3data, "MULTIPART_THRESHOLD", 64 * 1024)  # interactions.csv (150 KB) goes in parts
    first = world.apply()
    assert first.exit_code == 0
    bucket = world.desired.stack.settings.variables["bucket"]
    head = world.target.s3.head_object(Bucket=bucket, Key="interactions.csv", ChecksumMode="ENABLED")
    assert head["ETag"].strip('"').endswith("-1")  # a multipart object: its ETag is not its MD5
    assert head["Metadata"][s3data.SHA256_METADATA].startswith("sha256:")
    assert _costly(world.plan()) == []
    # the local file changes: plan re-imports (and uploads first), then is quiet again
    local = world.manifests.parent / "data" / "sample" / "interactions.csv"
    local.write_bytes(local.read_bytes() + local.read_bytes().splitlines(keepends=True)[-1])
    changed = world.plan()
    assert [c.action for c in changed.changes if c.action is Action.IMPORT] == [Action.IMPORT]
    assert world.apply().exit_code == 0
    assert _costly(world.plan()) == []


def test_data_replaced_between_plan_and_apply_is_not_imported_under_the_planned_etag(mini) -> None:
    """A dataset read from S3 only (no localFile): the plan imports the object it read (ETag A). When the
    object is replaced again before apply (ETag B), apply must not import B recorded as A (the next plan would
    import and retrain once more for data already imported): the step stops, "changed since the plan"."""
    assert mini.apply().exit_code == 0
    resources = mini.manifests / "resources.yaml"
    text = resources.read_text(encoding="utf-8")
    resources.write_text(text.replace("    localFile: ../data/interactions.csv\n", ""), encoding="utf-8")
    mini.reload()
    assert _costly(mini.plan()) == []
    s3 = mini.target.s3
    body = s3.get_object(Bucket="mini-data", Key="interactions.csv")["Body"].read()
    s3.put_object(Bucket="mini-data", Key="interactions.csv", Body=body + body.splitlines(keepends=True)[-1])
    reviewed = mini.plan()
    assert [c.action for c in reviewed.changes if c.action is Action.IMPORT] == [Action.IMPORT]
    s3.put_object(Bucket="mini-data", Key="interactions.csv", Body=body + body.splitlines(keepends=True)[1])
    jobs_before = len(mini.personalize.list_dataset_import_jobs()["datasetImportJobs"])
    result = mini.apply(saved_plan=reviewed)
    assert result.exit_code == 1
    assert "changed since the plan" in "\n".join(result.summary().details())
    assert len(mini.personalize.list_dataset_import_jobs()["datasetImportJobs"]) == jobs_before
    # plan again: the object as it is now is imported once, and then nothing more is planned
    assert mini.apply().exit_code == 0
    assert _costly(mini.plan()) == []


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def _saved(plan):
    """The plan as `plan --out` saves it and `apply PLANFILE` reads it back."""
    return planfile.loads(planfile.dumps(plan))


def _counts(world) -> tuple[int, int]:
    pz = world.personalize
    return (
        len(pz.list_dataset_import_jobs()["datasetImportJobs"]),
        len(pz.list_solution_versions()["solutionVersions"]),
    )


def test_local_file_edited_between_plan_and_apply_is_neither_uploaded_nor_imported(mini) -> None:
    """`plan --out` read the localFile (its SHA-256 is the import's fingerprint) and the reviewer approved
    that file. Edited again before `apply PLANFILE`, the new file must not be uploaded and imported in its
    place: the step stops, "changed since the plan", as for a replaced S3 object; nothing is trained."""
    assert mini.apply().exit_code == 0
    local = mini.root / "data" / "interactions.csv"
    original = local.read_bytes()
    lines = original.splitlines(keepends=True)
    local.write_bytes(original + lines[-1])
    reviewed = _saved(mini.plan())
    assert [c.action for c in reviewed.changes if c.action is Action.IMPORT] == [Action.IMPORT]
    planned = next(c.payload.fingerprint for c in reviewed.changes if c.action is Action.IMPORT)
    local.write_bytes(original + lines[1])  # edited after the review
    now = s3data.file_digests(local)[0]
    before = _counts(mini)
    s3 = mini.target.s3
    result = mini.apply(saved_plan=reviewed)
    assert result.exit_code == 1
    details = "\n".join(result.summary().details())
    assert "changed since the plan: plan again" in details
    assert "interactions.csv" in details and planned[:19] in details and now[:19] in details
    assert _counts(mini) == before  # nothing imported, nothing trained
    uploaded = s3.get_object(Bucket="mini-data", Key="interactions.csv")["Body"].read()
    assert uploaded == original  # the edited file was not uploaded
    # plan again: the file as it is now is uploaded and imported once, then nothing more is planned
    assert mini.apply().exit_code == 0
    assert s3.get_object(Bucket="mini-data", Key="interactions.csv")["Body"].read() == original + lines[1]
    assert _costly(mini.plan()) == []


def test_local_file_deleted_between_plan_and_apply_stops_the_import_with_a_clear_error(mini) -> None:
    assert mini.apply().exit_code == 0
    local = mini.root / "data" / "interactions.csv"
    original = local.read_bytes()
    local.write_bytes(original + original.splitlines(keepends=True)[-1])
    reviewed = _saved(mini.plan())
    local.unlink()
    before = _counts(mini)
    result = mini.apply(saved_plan=reviewed)
    assert result.exit_code == 1
    details = "\n".join(result.summary().details())
    assert "interactions.csv" in details and "was deleted since the plan: plan again" in details
    assert "now no file" in details
    assert _counts(mini) == before
    assert mini.target.s3.get_object(Bucket="mini-data", Key="interactions.csv")["Body"].read() == original


def test_apply_planfile_through_the_cli_refuses_a_local_file_deleted_since_the_plan(
    tmp_path, monkeypatch
) -> None:
    """`plan --out` then `apply PLANFILE` on the embedded emulator: the deleted file is one error line and
    exit code 1 (as for a replaced S3 object), no traceback."""
    write_mini(tmp_path)
    seed_local_account(tmp_path, tmp_path / "data", load(tmp_path / "mini"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    fast = ["--local", "--time-scale", "1000000"]
    assert _cli("apply", "mini", "--auto-approve", *fast)[0] == 0
    local = tmp_path / "data" / "interactions.csv"
    local.write_bytes(local.read_bytes() + local.read_bytes().splitlines(keepends=True)[-1])
    assert _cli("plan", "mini", "--out", "plan.json", "--local")[0] == 0
    local.unlink()
    code, output = _cli("apply", "plan.json", "--manifests", "mini", "--auto-approve", *fast)
    assert code == 1, output
    assert "data/interactions.csv" in output and "was deleted since the plan: plan again" in output
    assert "Traceback" not in output


def test_local_file_added_after_a_plan_that_found_none_is_not_uploaded(mini) -> None:
    """The plan found no localFile (a warning; it imports the object in S3 by its ETag). A file put there
    before apply is not the data the plan read: the step stops before the upload, as for an edited file."""
    assert mini.apply().exit_code == 0
    local = mini.root / "data" / "interactions.csv"
    original = local.read_bytes()
    local.unlink()
    resources = mini.manifests / "resources.yaml"
    text = resources.read_text(encoding="utf-8")
    resources.write_text(
        text.replace("    localFile:", "    trigger: again\n    localFile:"), encoding="utf-8"
    )
    mini.reload()
    reviewed = _saved(mini.plan())
    assert [c.action for c in reviewed.changes if c.action is Action.IMPORT] == [Action.IMPORT]
    local.write_bytes(original + original.splitlines(keepends=True)[-1])
    before = _counts(mini)
    result = mini.apply(saved_plan=reviewed)
    assert result.exit_code == 1
    details = "\n".join(result.summary().details())
    assert "was added since the plan: plan again" in details and "the plan found no file there" in details
    assert _counts(mini) == before


def test_data_replaced_while_the_import_job_runs_stops_before_training_on_it(mini) -> None:
    """Personalize reads the data location while the import job runs, not when apply checks its ETag: an
    object replaced after the check (here right after CreateDatasetImportJob) may be what the job imported,
    recorded under the planned ETag. Apply re-reads the ETag once the job is done and, when it changed,
    fails the step: nothing is trained on data nobody reviewed, and the next plan imports the object again."""
    assert mini.apply().exit_code == 0
    resources = mini.manifests / "resources.yaml"
    text = resources.read_text(encoding="utf-8")
    resources.write_text(text.replace("    localFile: ../data/interactions.csv\n", ""), encoding="utf-8")
    mini.reload()
    s3 = mini.target.s3
    body = s3.get_object(Bucket="mini-data", Key="interactions.csv")["Body"].read()
    lines = body.splitlines(keepends=True)
    s3.put_object(Bucket="mini-data", Key="interactions.csv", Body=body + lines[-1])
    reviewed = _saved(mini.plan())
    planned = next(c.payload.fingerprint for c in reviewed.changes if c.action is Action.IMPORT)
    replaced: list[str] = []

    def replace_object(**_: object) -> None:
        if not replaced:
            put = s3.put_object(Bucket="mini-data", Key="interactions.csv", Body=body + lines[1])
            replaced.append(put["ETag"].strip('"'))

    mini.personalize.meta.events.register("after-call.personalize.CreateDatasetImportJob", replace_object)
    imports, versions = _counts(mini)
    result = mini.apply(saved_plan=reviewed)
    assert replaced and result.exit_code == 1
    details = "\n".join(result.summary().details())
    assert "s3://mini-data/interactions.csv was replaced since import job" in details
    assert f"ETag {planned} then, now {replaced[0]}" in details
    assert "nothing is trained on it" in details and "plan again" in details
    assert _counts(mini) == (imports + 1, versions)  # imported (maybe the new object), not trained
    # plan again: the object as it is now is imported and trained on, then nothing more is planned
    assert [c.action for c in mini.plan().changes if c.action is Action.IMPORT] == [Action.IMPORT]
    assert mini.apply().exit_code == 0
    assert _costly(mini.plan()) == []


def test_uploaded_object_replaced_by_another_writer_before_the_import_is_not_imported(mini) -> None:
    """Something else writes the data location right after apply uploaded the localFile: the object there
    is not the upload (its recorded SHA-256 is not the file's), so it is not imported under the file's
    SHA-256 and that object's ETag; the step stops before CreateDatasetImportJob."""
    assert mini.apply().exit_code == 0
    local = mini.root / "data" / "interactions.csv"
    original = local.read_bytes()
    local.write_bytes(original + original.splitlines(keepends=True)[-1])
    reviewed = _saved(mini.plan())
    s3 = mini.target.s3
    other: list[bytes] = []

    def overwrite(**_: object) -> None:
        if not other:
            other.append(original + original.splitlines(keepends=True)[1])
            s3.put_object(Bucket="mini-data", Key="interactions.csv", Body=other[0])

    for operation in ("PutObject", "CompleteMultipartUpload"):
        s3.meta.events.register(f"after-call.s3.{operation}", overwrite)
    before = _counts(mini)
    result = mini.apply(saved_plan=reviewed)
    assert other and result.exit_code == 1
    details = "\n".join(result.summary().details())
    assert "s3://mini-data/interactions.csv was replaced right after the upload" in details
    assert "nothing was imported" in details and "plan again" in details
    assert _counts(mini) == before


def _replace_during_the_import_job(mini, body: bytes) -> list[str]:
    """Right after CreateDatasetImportJob (once), another writer puts `body` at the data location."""
    s3 = mini.target.s3
    replaced: list[str] = []

    def replace_object(**_: object) -> None:
        if not replaced:
            put = s3.put_object(Bucket="mini-data", Key="interactions.csv", Body=body)
            replaced.append(put["ETag"].strip('"'))

    mini.personalize.meta.events.register("after-call.personalize.CreateDatasetImportJob", replace_object)
    return replaced


def test_uploaded_local_file_replaced_while_the_import_job_runs_is_imported_again_by_the_next_plan(
    mini,
) -> None:
    """The localFile variant of the test above: the upload (a single part, so its ETag is the file's MD5)
    is replaced while the import job runs. The step fails ("plan again: it imports the object as it is
    now"), and the next plan must indeed import again (upload the file first): the job is tagged with the
    file's SHA-256 and MD5-like ETag, but the object there now has another ETag."""
    assert mini.apply().exit_code == 0
    local = mini.root / "data" / "interactions.csv"
    original = local.read_bytes()
    local.write_bytes(original + original.splitlines(keepends=True)[-1])
    reviewed = _saved(mini.plan())
    replaced = _replace_during_the_import_job(mini, original + original.splitlines(keepends=True)[1])
    imports, versions = _counts(mini)
    result = mini.apply(saved_plan=reviewed)
    assert replaced and result.exit_code == 1
    assert "was replaced since import job" in "\n".join(result.summary().details())
    assert _counts(mini) == (imports + 1, versions)
    again = mini.plan()
    assert [c.action for c in again.changes if c.action is Action.IMPORT] == [Action.IMPORT]
    # a new import job reads the file uploaded again (the done job, same file and fingerprint, may have
    # read the other object: it is not "this import, already done"), and the training follows it
    assert mini.apply().exit_code == 0
    assert _counts(mini)[0] == imports + 2
    assert _costly(mini.plan()) == []
