"""Data steps: import into a dataset (uploading a `localFile` first) and train a solution version.

A flow module: imports are what datasets hold and trainings what solutions make, so it names those kinds.

* import: CreateDatasetImportJob with a deterministic job name (dataset + source fingerprint + trigger),
  reused when it exists; once it is ACTIVE, the dataset is tagged with a record of it (`import_record`: the
  job's name and fingerprint tags) so plans need not read the job's tags.
* retrain: CreateSolutionVersion, unless a version is already training or this same training (same key tag)
  exists. The key is the plan's `continues` (an interrupted apply's `--retrain` training) or derived from
  the plan (`training_key`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from boto3.exceptions import S3UploadFailedError
from botocore.exceptions import BotoCoreError, ClientError

from reconciler import s3data
from reconciler.apply.crud import Crud
from reconciler.apply.graph import StepFailed
from reconciler.apply.runtime import job_name, short_hash
from reconciler.apply.steps import Step
from reconciler.apply.waiter import normalize_status
from reconciler.manifest.recipes import MAX_TAGS
from reconciler.model.address import Address, Kind
from reconciler.model.spec import DatasetSpec
from reconciler.model.state import (
    LAST_IMPORT_TAGS,
    TAG_LAST_IMPORT,
    TAG_NAME,
    TAG_REASON,
    TAG_SOURCE_ETAG,
    TAG_SOURCE_SHA256,
    TAG_STACK,
    TAG_TRIGGER,
    DesiredResource,
    LiveImportJob,
    LiveSolutionVersion,
    LiveState,
    import_record,
)
from reconciler.plan.types import Action, ImportPayload, Plan, TrainPayload
from reconciler.resources.base import JobOps, tag_list
from reconciler.resources.registry import handler as handler_for

T = TypeVar("T")

#: Bookkeeping tag on solution versions: identifies one requested training, so a rerun never starts it twice.
TAG_TRAINING_KEY = "personalize-gitops:training-key"


def training_key(stack: str, address: Address, planned: TrainPayload, live: LiveState) -> str:
    """The key tag of a planned training (`TAG_TRAINING_KEY`): the plan's `continues` (an interrupted
    apply's `--retrain` training), else derived from the request and the newest version the plan read, so a
    rerun of the same plan finds the training it started."""
    if planned.continues:
        return planned.continues
    baseline = live.resources.get(address)
    previous = baseline.versions[0].arn if baseline is not None and baseline.versions else "none"
    return short_hash(stack, address, planned.reason, planned.trigger or "", previous, "", length=16)


def requested_trainings(stack: str, plan: Plan, live: LiveState) -> dict[str, str]:
    """Solution -> training key of each training the plan makes because `--retrain` asked for it."""
    return {
        change.address.name: training_key(stack, change.address, change.payload, live)
        for change in plan.changes
        if change.action is Action.RETRAIN
        and change.address.name in plan.options.retrain
        and isinstance(change.payload, TrainPayload)
    }


def _imports() -> JobOps:
    jobs = handler_for(Kind.DATASET).jobs
    assert jobs is not None
    return jobs


def _versions() -> JobOps:
    jobs = handler_for(Kind.SOLUTION).jobs
    assert jobs is not None
    return jobs


def _planned_sha256(planned: ImportPayload) -> bool:
    """The plan read the local file (its fingerprint is the file's SHA-256, not an S3 ETag)."""
    return (planned.fingerprint or "").startswith(s3data.SHA256_PREFIX)


def _digest(fingerprint: str) -> str:
    """A file's digest as messages show it: `sha256:` and the first 12 hex digits."""
    return fingerprint[: len(s3data.SHA256_PREFIX) + 12] + "..."


def _local_changed(step: Step, local: str, path: Path, planned: ImportPayload, now: str | None) -> StepFailed:
    """The local file is not the one the plan read: changed, deleted, or there when the plan found none."""
    if _planned_sha256(planned):
        what = "was deleted" if now is None else "changed"
        read = f"the plan read {_digest(planned.fingerprint or '')}"
    else:
        what, read = "was added", "the plan found no file there"
    shown = os.path.normpath(path)
    return StepFailed(
        f"{step.address}: dataImport.localFile {local} ({shown}) {what} since the plan: plan again (nothing "
        f"was uploaded or imported; {read}, now {_digest(now) if now else 'no file'})",
        "changed since the plan",
    )


class Data(Crud):
    # -- import ----------------------------------------------------------------------------------------

    def _import(self, step: Step) -> str:
        res = self._desired(step)
        spec = res.spec
        if not isinstance(spec, DatasetSpec) or spec.dataImport is None:
            raise StepFailed(
                f"{step.address}: import planned but the manifest declares no dataImport; run plan again"
            )
        dataset_arn = self._arn(step.address) or step.change.arn
        if dataset_arn is None:
            raise StepFailed(
                f"{step.address}: the dataset does not exist; nothing to import into. Run plan again: "
                "it plans the dataset's creation before the import"
            )
        self._mark(step, False)
        planned = self._payload(step, ImportPayload)
        uploaded = self._upload_if_needed(step, res, planned)  # (S3 ETag, sha256:<hex>) of the localFile
        etag = uploaded[1] if uploaded else (planned.fingerprint or "")
        base = job_name(
            res.physical_name,
            short_hash(planned.data_location, etag, planned.trigger or "", planned.import_mode),
        )
        jobs = self.api.import_jobs(
            dataset_arn, with_tags=False
        )  # names and statuses; the record reads its own
        job_arn, attempt = self._existing_import(jobs, base, self._imported_before(step.address))
        if job_arn is None:
            if uploaded is None:
                self._check_source_unchanged(step, planned)
            name = base if attempt == 1 else job_name(base, f"r{attempt}")[-63:]
            request = self._import_request(step, res, planned, jobs, name, dataset_arn, uploaded, etag)
            job_arn = self._start_import(step, dataset_arn, name, request)
        else:
            name = next(j.name for j in jobs if j.arn == job_arn)
        self._wait_job(step, _imports(), job_arn, _imports().typical_for(None))
        self._record_import(step, dataset_arn, job_arn, name)
        started_on = uploaded[0] if uploaded else planned.fingerprint
        self._check_source_kept(step, planned, started_on, name, uploaded=uploaded is not None)
        return job_arn

    def _record_import(self, step: Step, dataset_arn: str, job_arn: str, name: str) -> None:
        """Tag the dataset with a record of its ACTIVE import `name` (`import_record`), so a plan that finds
        that job newest takes its fingerprints from the dataset's tags instead of reading the job's. The
        record is rewritten so that no moment shows a job name with another job's fingerprints (the reader
        would trust them): record keys the new record lacks are removed together with the job name first,
        then the whole record is written in one TagResource. Without it (a crash before, or no room under
        the 50-tag limit next to the user's tags) plans read the job's tags as before."""
        job_tags = self.api.tags(job_arn)
        if job_tags.get(TAG_STACK) != self.stack:
            return  # only what this stack imported is recorded
        record = import_record(name, job_tags)
        have = self.api.tags(dataset_arn)
        add = {k: v for k, v in record.items() if have.get(k) != v}
        stale = sorted(k for k in have if k in LAST_IMPORT_TAGS and k not in record)
        if not add and not stale:
            return
        if len([k for k in have if k not in LAST_IMPORT_TAGS]) + len(record) > MAX_TAGS:
            return
        self._mark(step, True)
        if stale:
            remove = sorted({TAG_LAST_IMPORT, *stale} & set(have))
            self.api.call("untag_resource", str(step.address), resourceArn=dataset_arn, tagKeys=remove)
            add = record
        self.api.call("tag_resource", str(step.address), resourceArn=dataset_arn, tags=tag_list(add))

    def _check_source_unchanged(self, step: Step, planned: ImportPayload) -> None:
        """The object at the data location is still the one the plan read (its ETag), or the step stops: the
        job is tagged with the planned ETag, so importing a newer object under it would make the next plan
        import (and retrain) again for data already imported."""
        if self.s3 is None or planned.fingerprint is None or planned.local_file:
            return
        try:
            now = s3data.object_etag(self.s3, planned.data_location)
        except (ClientError, BotoCoreError) as exc:
            raise StepFailed(
                f"{step.address}: cannot read {planned.data_location} to check that it is the object the "
                f"plan read ({exc}); nothing was imported. Let the apply role list the data location "
                "(`personalize-gitops iam-policy --role apply`), then rerun"
            ) from exc
        if now != planned.fingerprint:
            what = "was deleted" if now is None else "changed"
            raise StepFailed(
                f"{step.address}: {planned.data_location} {what} since the plan: plan again (nothing was "
                f"imported; the plan read ETag {planned.fingerprint}, now {now or 'no object'})",
                "changed since the plan",
            )

    def _check_source_kept(
        self, step: Step, planned: ImportPayload, started_on: str | None, name: str, *, uploaded: bool
    ) -> None:
        """The object at the data location is still the one import job `name` was started on (`started_on`,
        the ETag it is tagged with), now that the job is done. Personalize reads the object while the job
        runs, not when apply checked it: a replaced object may be what the job imported, under the reviewed
        fingerprint. Then the step fails after the import, so nothing is trained on it (the next plan, seeing
        another ETag than the recorded one, imports the object as it is then). An uploaded localFile's object
        is read with HeadObject (which its upload needs anyway), any other with ListObjectsV2 (as before the
        job started)."""
        if self.s3 is None or not started_on:
            return
        try:
            read = s3data.head_etag if uploaded else s3data.object_etag
            now = read(self.s3, planned.data_location)
        except (ClientError, BotoCoreError) as exc:
            raise StepFailed(
                f"{step.address}: cannot read {planned.data_location} to check that import job {name} read "
                f"the object the plan read ({exc}); nothing is trained on it. Let the apply role read the "
                "data location (`personalize-gitops iam-policy --role apply`), then plan again"
            ) from exc
        if now != started_on:
            raise StepFailed(
                f"{step.address}: {planned.data_location} was replaced since import job {name} started (ETag "
                f"{started_on} then, now {now or 'no object'}): the job may have imported the "
                "new object instead of the one the plan read, so nothing is trained on it. Make sure nothing "
                "else writes there during an apply, then plan again (it imports the object as it is now)",
                "changed since the plan",
            )

    def _imported_before(self, address: Address) -> frozenset[str]:
        """The import jobs already done when this apply read the account: none of them is this plan's import
        (the plan imports again although one of them has the same data location, fingerprint, trigger and
        mode, e.g. because the object it read was replaced while it ran), so none is taken for it."""
        live = self.live.resources.get(address)
        if live is None:
            return frozenset()
        return frozenset(j.arn for j in live.imports if normalize_status(j.status) == "ACTIVE")

    @staticmethod
    def _existing_import(
        jobs: list[LiveImportJob], base: str, done_before: frozenset[str] = frozenset()
    ) -> tuple[str | None, int]:
        """The job of this import already running or done (a rerun), else None and the attempt number.
        Jobs in `done_before` (done before this apply read the account) only count as attempts."""
        attempt = 1
        for job in jobs:
            if job.name == base or job.name.startswith(base + "-r"):
                status = normalize_status(job.status)
                if job.arn not in done_before and (status in _imports().in_progress or status == "ACTIVE"):
                    return job.arn, attempt
                attempt += 1
        return None, attempt

    def _import_request(
        self,
        step: Step,
        res: DesiredResource,
        planned: ImportPayload,
        jobs: list[LiveImportJob],
        name: str,
        dataset_arn: str,
        uploaded: tuple[str, str] | None,
        etag: str,
    ) -> dict[str, Any]:
        has_active = any(normalize_status(j.status) == "ACTIVE" for j in jobs)
        tags = {
            **dict(res.tags),
            TAG_STACK: self.stack,
            TAG_NAME: step.address.name,
            TAG_SOURCE_ETAG: uploaded[0] if uploaded else etag,
            TAG_TRIGGER: planned.trigger or "",
        }
        if uploaded:
            tags[TAG_SOURCE_SHA256] = uploaded[1]
        request: dict[str, Any] = {
            "jobName": name,
            "datasetArn": dataset_arn,
            "dataSource": {"dataLocation": planned.data_location},
            "importMode": planned.import_mode if has_active else "FULL",
            "tags": tag_list(tags),
        }
        if planned.role_arn:
            request["roleArn"] = planned.role_arn
        if planned.publish_attribution_metrics_to_s3 is not None:
            request["publishAttributionMetricsToS3"] = planned.publish_attribution_metrics_to_s3
        return request

    def _start_import(self, step: Step, dataset_arn: str, name: str, request: dict[str, Any]) -> str:
        what = f"{step.address} import {name}"

        def find_job() -> str | None:
            found = [j for j in self.api.import_jobs(dataset_arn, with_tags=False) if j.name == name]
            return found[0].arn if found else None

        def create_job() -> tuple[str, bool]:
            return self.api.create_or_find(
                "create_dataset_import_job", what, request, "datasetImportJobArn", find_job
            )

        job_arn, created = self._call_when_slot_free(step, "import", create_job, _imports().typical_for(None))
        self._mark(step, created)
        return job_arn

    def _local_file(self, step: Step, res: DesiredResource, local: str, planned: ImportPayload) -> Path:
        path = Path(local)
        if not path.is_absolute():
            path = (
                Path(res.source.file).parent / path if res.source.file else Path(self.desired.base_dir) / path
            )
        if not path.exists():
            path = Path(self.desired.base_dir) / local
        if not path.exists():
            if _planned_sha256(planned):
                raise _local_changed(step, local, path, planned, None)
            raise StepFailed(
                f"{step.address}: dataImport.localFile {local} not found ({res.source}); add the file or fix "
                "the path (relative to the manifest file), then rerun"
            )
        return path

    def _upload_if_needed(
        self, step: Step, res: DesiredResource, planned: ImportPayload
    ) -> tuple[str, str] | None:
        """Upload `dataImport.localFile` to `dataLocation` unless the object there is the file the plan read
        (the SHA-256 recorded at upload is the plan's); returns (object ETag, `sha256:<hex>`) - see
        reconciler/s3data.py. The file must still be the one the plan read (`planned.fingerprint`), or
        nothing is uploaded; what is uploaded is a private copy made while hashing (`s3data.snapshot`), so
        the object holds exactly the bytes that were hashed and checked, read once."""
        spec = res.spec
        assert isinstance(spec, DatasetSpec) and spec.dataImport is not None
        local = spec.dataImport.localFile
        if not local or self.s3 is None:
            return None
        path = self._local_file(step, res, local, planned)
        bucket, key = s3data.split_location(spec.dataImport.dataLocation)
        recorded, etag = s3data.uploaded_object(self.s3, bucket, key)
        if recorded is not None and etag and recorded == planned.fingerprint:
            return etag, self._local_sha256(step, local, path, planned)  # already uploaded: check the file
        copy, sha256 = self._local_copy(step, local, path, planned)
        try:
            self._mark(step, True)
            return s3data.upload_file(self.s3, copy, bucket, key, sha256), sha256
        except s3data.ReplacedAfterUpload as exc:
            raise StepFailed(
                f"{step.address}: {spec.dataImport.dataLocation} was replaced right after the upload of "
                f"dataImport.localFile {local} ({exc}, the file's is {_digest(sha256)}): something else "
                "writes there; nothing was imported. Stop the other writer or give this dataset its own "
                "dataLocation, then plan again",
                "changed since the plan",
            ) from exc
        except (ClientError, BotoCoreError, S3UploadFailedError) as exc:
            raise StepFailed(
                f"{step.address}: cannot upload {local} to {spec.dataImport.dataLocation} "
                f"({res.source}): {exc}; create the bucket or fix dataImport.dataLocation, then rerun"
            ) from exc
        finally:
            copy.unlink(missing_ok=True)

    def _local_sha256(self, step: Step, local: str, path: Path, planned: ImportPayload) -> str:
        """`sha256:<hex>` of the local file (streamed: one chunk in memory), when it is the file the plan read
        (the plan's fingerprint of a localFile is its SHA-256); else the step stops before the import: the
        reviewed plan imported another file."""
        sha256 = self._read_local(step, local, path, planned, lambda: s3data.file_digests(path)[0])
        if sha256 != planned.fingerprint:
            raise _local_changed(step, local, path, planned, sha256)
        return sha256

    def _local_copy(self, step: Step, local: str, path: Path, planned: ImportPayload) -> tuple[Path, str]:
        """A private copy of the local file and the SHA-256 of its bytes (`s3data.snapshot`: one read), when
        those bytes are the file the plan read; else the copy is deleted and the step stops before the
        upload (a file written to before or while it is read)."""
        copy, sha256 = self._read_local(step, local, path, planned, lambda: s3data.snapshot(path))
        if sha256 != planned.fingerprint:
            copy.unlink(missing_ok=True)
            raise _local_changed(step, local, path, planned, sha256)
        return copy, sha256

    @staticmethod
    def _read_local(step: Step, local: str, path: Path, planned: ImportPayload, read: Callable[[], T]) -> T:
        try:
            return read()
        except FileNotFoundError:
            raise _local_changed(step, local, path, planned, None) from None
        except s3data.CopyFailed as exc:
            raise StepFailed(
                f"{step.address}: cannot copy dataImport.localFile {os.path.normpath(path)} to a private "
                f"temporary file for the upload ({exc}); nothing was uploaded or imported. Make room there "
                "(the copy is as big as the file) or set TMPDIR to a writable directory with room, then rerun"
            ) from exc
        except OSError as exc:
            raise StepFailed(
                f"{step.address}: cannot read dataImport.localFile {path} ({exc.strerror or exc}); nothing "
                "was uploaded or imported. Make the file readable, then rerun"
            ) from exc

    # -- training --------------------------------------------------------------------------------------

    def _solution_arn(self, step: Step, name: str) -> str:
        arn = self._arn(Address(Kind.SOLUTION, name))
        if arn is None:
            res = self.desired.resources.get(Address(Kind.SOLUTION, name))
            handler = handler_for(Kind.SOLUTION)
            arn = self._find(handler, res, res.physical_name) if res is not None else None
        if arn is None:
            raise StepFailed(
                f"{step.address}: Solution/{name} does not exist; declare it in the manifests (or run plan "
                "again if it was deleted meanwhile), then rerun"
            )
        return arn

    def _train(self, step: Step) -> str:
        res = self._desired(step)
        solution_arn = self._solution_arn(step, step.address.name)
        self._set_arn(step.address, solution_arn)
        self._mark(step, False)
        planned = self._payload(step, TrainPayload)
        versions = self.api.solution_versions(solution_arn)
        mode = planned.training_mode
        if not any(normalize_status(v.status) == "ACTIVE" for v in versions):
            mode = "FULL"  # the first version of a solution is always FULL
        key = training_key(self.stack, step.address, planned, self.live)
        version_arn = self._existing_training(versions, key)
        if version_arn is None:
            request = self._training_request(step, res, planned, versions, key, solution_arn, mode)
            version_arn = self._start_training(step, request, solution_arn, key, mode)
        self._wait_job(step, _versions(), version_arn, _versions().typical_for(mode))
        with self._lock:
            self._versions[step.address.name] = version_arn
            self._trained[step.address.name] = version_arn
        return version_arn

    @staticmethod
    def _existing_training(versions: list[LiveSolutionVersion], key: str) -> str | None:
        for version in versions:
            status = normalize_status(version.status)
            if status in _versions().in_progress:
                return version.arn  # one training at a time: follow the one already running
            if version.tags.get(TAG_TRAINING_KEY) == key and status == "ACTIVE":
                return version.arn  # this very training already finished (rerun after a crash)
        return None

    def _training_request(
        self,
        step: Step,
        res: DesiredResource,
        planned: TrainPayload,
        versions: list[LiveSolutionVersion],
        key: str,
        solution_arn: str,
        mode: str,
    ) -> dict[str, Any]:
        tags = {
            **dict(res.tags),
            TAG_STACK: self.stack,
            TAG_NAME: step.address.name,
            TAG_REASON: planned.reason,
            TAG_TRAINING_KEY: key,
        }
        if planned.trigger:
            tags[TAG_TRIGGER] = planned.trigger
        # A deterministic name: if the response of CreateSolutionVersion is lost and botocore sends the call
        # again, the service answers ResourceAlreadyExists instead of starting a second training. A retry
        # after a failed attempt of the same training gets a new suffix.
        failed_before = sum(
            1
            for v in versions
            if v.tags.get(TAG_TRAINING_KEY) == key and normalize_status(v.status) in _versions().failed
        )
        suffix = key[:12] + (f"-r{failed_before + 1}" if failed_before else "")
        return {
            "name": job_name(res.physical_name, suffix),
            "solutionArn": solution_arn,
            "trainingMode": mode,
            "tags": tag_list(tags),
        }

    def _start_training(
        self, step: Step, request: dict[str, Any], solution_arn: str, key: str, mode: str
    ) -> str:
        def find_version() -> str | None:
            for version in self.api.solution_versions(solution_arn):
                status = normalize_status(version.status)
                if version.tags.get(TAG_TRAINING_KEY) == key and status not in _versions().failed:
                    return version.arn
            return None

        def create_version() -> tuple[str, bool]:
            return self.api.create_or_find(
                "create_solution_version",
                f"{step.address} ({mode})",
                request,
                "solutionVersionArn",
                find_version,
            )

        version_arn, created = self._call_when_slot_free(
            step, "train", create_version, _versions().typical_for(mode)
        )
        self._mark(step, created)
        return version_arn
