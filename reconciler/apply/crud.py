"""Create, update, adopt, delete and wait for one resource of any kind; what differs per kind (typical
durations, child jobs to stop or wait for, what keeps a delete from running, how an update reports progress)
is read from its handler (`resources/`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.apply.graph import StepFailed
from reconciler.apply.report import Phase
from reconciler.apply.retry import DEPENDENTS_GOING, call_with_retry
from reconciler.apply.slots import Slots
from reconciler.apply.steps import Step
from reconciler.apply.waiter import GONE, normalize_status
from reconciler.errors import ApiError
from reconciler.manifest.recipes import MAX_TAGS
from reconciler.model.state import LAST_IMPORT_TAGS, LiveResource
from reconciler.plan.requests import Unresolved, resolve
from reconciler.plan.types import AdoptPayload, CreatePayload, ReplacePayload, UpdatePayload
from reconciler.resources.base import TAG_SPEC_DIGEST, ResourceHandler, tag_list
from reconciler.resources.registry import handler as handler_for

#: Typical seconds of a Start/Stop* call (recommenders) or of stopping a running job.
TYPICAL_STOP = 120.0
#: Update statuses of a `latest*Update` still running.
UPDATING = frozenset({"CREATE PENDING", "CREATE IN_PROGRESS"})
SETTLED = frozenset({"ACTIVE", "CREATE FAILED", "INACTIVE"})


class Crud(Slots):
    # -- create ----------------------------------------------------------------------------------------

    def _create(self, step: Step) -> str:
        res = self._desired(step)
        handler = handler_for(step.address.kind)
        planned = self._planned_request(step)
        name = str(planned.get("name") or self._physical_name(step))
        self._mark(step, False)
        arn = self._find(handler, res, name)
        if arn is not None:
            current = self.api.describe(handler, arn)
            status = normalize_status(str((current or {}).get("status") or "ACTIVE")) if current else GONE
            if status.startswith("DELETE"):
                self._wait_gone(step, handler, arn)
                arn = None
            elif status in {normalize_status(s) for s in handler.failed}:
                # A failed earlier attempt: remove it and create again (the plan recorded the failure).
                self._mark(step, True)
                self.api.delete(handler, arn, f"{step.address} (failed earlier: {arn})")
                self._wait_gone(step, handler, arn)
                arn = None
        if arn is None:
            request = self._resolved(step, planned)
            arn, created = self.api.create(
                handler, request, lambda: self._find(handler, res, name), str(step.address), step.address.name
            )
            self._mark(step, created)
        self._set_arn(step.address, arn)
        self._wait_ready(step, handler, arn, handler.typical_create)
        # Settings applied after creation (Start/StopRecommender for running: false): they compare fields and
        # status only, so no tags, versions or import jobs are read for a resource just created.
        live = self.api.live(handler, arn, step.address, details=False)
        if live is not None:
            self._extra_calls(step, handler, handler.extra_requests(res, live, self.ctx()), live)
        return arn

    def _planned_request(self, step: Step) -> Mapping[str, Any]:
        """The Create* request the plan recorded (a replacement's create half: its `ReplacePayload`)."""
        payload: CreatePayload | ReplacePayload
        if step.phase == Phase.REPLACE_CREATE:
            payload = self._payload(step, ReplacePayload)
        else:
            payload = self._payload(step, CreatePayload)
        planned = payload.request
        if not planned:
            raise StepFailed(
                f"{step.address}: the plan records no create request for this {step.change.action.value}; "
                "nothing was done: plan again with this version of personalize-gitops"
            )
        return planned

    def _resolved(self, step: Step, planned: Mapping[str, Any]) -> dict[str, Any]:
        """The recorded request, its placeholders resolved (ARNs of what this apply created or trained)."""
        try:
            return resolve(planned, self.ctx())
        except Unresolved as exc:
            raise StepFailed(f"{step.address}: {exc}; nothing was created: plan again") from exc

    # -- update / adopt --------------------------------------------------------------------------------

    def _update(self, step: Step) -> str:
        res = self._desired(step)
        handler = handler_for(step.address.kind)
        self._mark(step, False)
        arn = self._locate(step, handler, res)
        if arn is None:
            raise StepFailed(f"{step.address}: not found in the account any more; run plan again")
        live = self.api.live(handler, arn, step.address)
        if live is None:
            raise StepFailed(f"{step.address}: {arn} no longer exists; run plan again")
        self._set_arn(step.address, arn)
        summary_key = handler.ops.update_summary_key
        typical = handler.typical_update
        if handler.update_in_progress(live):
            read, failure = self._status_reader(handler, arn, summary_key)
            self._wait(step, read, {"ACTIVE"}, {"CREATE FAILED"}, typical, failure=failure)
            live = self.api.live(handler, arn, step.address) or live
        if isinstance(step.change.payload, AdoptPayload):  # adoption adds the ownership tags, nothing else
            self._send_tags(step, live, dict(step.change.payload.tags), ())
            return arn
        planned = self._payload(step, UpdatePayload)
        paths, ctx = frozenset(planned.paths), self.ctx()
        request = handler.update_request_for(res, live, paths, ctx) if paths else None
        if request and handler.ops.update:
            self._mark(step, True)
            self._update_call(step, handler, arn, handler.ops.update, request)
            read, failure = self._status_reader(handler, arn, summary_key)
            self._wait(step, read, {"ACTIVE"}, {"CREATE FAILED"}, typical, failure=failure)
            live = self.api.live(handler, arn, step.address) or live
        self._extra_calls(step, handler, handler.extra_requests_for(res, live, paths, ctx), live)
        if handler.taggable:
            wanted = {**planned.tags_set, TAG_SPEC_DIGEST: planned.spec_digest}
            self._send_tags(step, live, wanted, planned.tags_unset)
        return arn

    def _send_tags(
        self, step: Step, live: LiveResource, wanted: Mapping[str, str], unset: tuple[str, ...]
    ) -> None:
        """The planned tag changes (keys already as planned are not sent again: a rerun makes no call). A
        dataset's import record (bookkeeping, `model.state.LAST_IMPORT_TAGS`) never takes room the user's
        tags need: when the result would exceed the 50-tag limit, it is removed first (plans then read the
        import job's tags)."""
        add = {k: v for k, v in wanted.items() if live.tags.get(k) != v}
        remove = sorted(k for k in unset if k in live.tags)
        record = LAST_IMPORT_TAGS & set(live.tags)
        if record and len((set(live.tags) | set(add)) - set(remove)) > MAX_TAGS:
            self._mark(step, True)
            self.api.call("untag_resource", str(step.address), resourceArn=live.arn, tagKeys=sorted(record))
        if add:
            self._mark(step, True)
            self.api.call("tag_resource", str(step.address), resourceArn=live.arn, tags=tag_list(add))
        if remove:
            self._mark(step, True)
            self.api.call("untag_resource", str(step.address), resourceArn=live.arn, tagKeys=remove)

    def _extra_calls(
        self,
        step: Step,
        handler: ResourceHandler,
        calls: list[tuple[str, dict[str, Any]]],
        live: LiveResource,
    ) -> None:
        for operation, kwargs in calls:
            self._mark(step, True)
            self.api.call(operation, str(step.address), **kwargs)
            read, failure = self._status_reader(handler, live.arn)
            self._wait(step, read, handler.ready, handler.failed, TYPICAL_STOP, failure=failure)

    def _update_call(
        self, step: Step, handler: ResourceHandler, arn: str, operation: str, request: Mapping[str, Any]
    ) -> None:
        """Update*; a ResourceInUseException because an update is already running (typically our own call,
        retried by botocore after its answer was lost) is not an error: the caller waits for that update."""
        try:
            self.api.call(operation, str(step.address), **request)
        except ApiError as exc:
            if exc.code != "ResourceInUseException" or not handler.ops.update_summary_key:
                raise
            if handler.update_status(self.api.describe(handler, arn) or {}) not in UPDATING:
                raise

    # -- work an earlier apply left running ------------------------------------------------------------

    def _wait_in_progress(self, step: Step) -> None:
        """Wait for the child jobs (trainings, imports), creates and updates already running on it."""
        handler = handler_for(step.address.kind)
        arn = step.change.arn
        assert arn is not None
        self._mark(step, False)
        self._wait_jobs(step, handler, arn)
        current = self.api.describe(handler, arn)
        if current is not None:
            self._settle(step, handler, arn, current)

    def _running_jobs(self, handler: ResourceHandler, arn: str) -> list[Any]:
        """The resource's child jobs still running, newest first (`handler.jobs`)."""
        jobs = handler.jobs
        if jobs is None:
            return []
        found: list[Any] = getattr(self.api, jobs.lister)(arn, with_tags=False)
        return [job for job in found if normalize_status(job.status) in jobs.in_progress]

    def _wait_jobs(self, step: Step, handler: ResourceHandler, arn: str) -> None:
        """Wait for its running child jobs to finish (a version that finishes is the one campaigns serve)."""
        jobs = handler.jobs
        for job in self._running_jobs(handler, arn):
            assert jobs is not None
            self._wait_job(step, jobs, job.arn, jobs.typical_for(getattr(job, "training_mode", None)))
            if jobs.records_version:
                with self._lock:
                    self._versions[step.address.name] = job.arn

    def _settle(self, step: Step, handler: ResourceHandler, arn: str, current: Mapping[str, Any]) -> None:
        """Wait until the resource is in a settled status with no update running."""
        status = normalize_status(str(current.get("status") or "ACTIVE"))
        updating = handler.update_status(current) in UPDATING
        if status not in SETTLED or updating:
            read, _ = self._status_reader(handler, arn, handler.ops.update_summary_key if updating else None)
            settled = SETTLED | {GONE} | {normalize_status(s) for s in handler.failed}
            self._wait(step, read, settled, set(), handler.typical_create)

    # -- delete ----------------------------------------------------------------------------------------

    def _delete(self, step: Step) -> None:
        handler = handler_for(step.address.kind)
        self._mark(step, False)
        arn = step.change.arn
        if arn is None:
            live = self.live.resources.get(step.address)
            arn = live.arn if live is not None else None
        if arn is None:
            return  # never existed
        current = self.api.describe(handler, arn)
        if current is None:
            return  # already gone
        if not normalize_status(str(current.get("status") or "ACTIVE")).startswith("DELETE"):
            self._refuse_while_used(step, handler, arn)
            self._stop_in_flight(step, handler, arn)
            self._settle(step, handler, arn, current)
            self._send_delete(step, handler, arn)
        self._wait_gone(step, handler, arn)
        with self._lock:
            if self._arns.get(step.address) == arn:
                del self._arns[step.address]

    def _refuse_while_used(self, step: Step, handler: ResourceHandler, arn: str) -> None:
        """Refused while resources of `handler.in_use_by` listed under it exist (a solution's campaigns)."""
        for kind in handler.in_use_by:
            user = handler_for(kind)
            param = user.ops.parent_param or handler.ops.arn_key
            items = self.api.paginate(
                user.ops.list, user.ops.list_key, f"{kind.value} of {arn}", **{param: arn}
            )
            users = sorted(
                str(i.get("name")) for i in items if not str(i.get("status", "")).startswith("DELETE")
            )
            if users:
                raise StepFailed(
                    f"{step.address}: not deleted, {kind.value}(s) {', '.join(users)} still use it; it is "
                    "deleted by a later apply once they moved"
                )

    def _stop_in_flight(self, step: Step, handler: ResourceHandler, arn: str) -> None:
        """Stop its running child jobs (`jobs.stop`: StopSolutionVersionCreation), or wait for them."""
        jobs = handler.jobs
        if jobs is None or jobs.stop is None:
            self._wait_jobs(step, handler, arn)
            return
        for job in self._running_jobs(handler, arn):
            if normalize_status(job.status) != "CREATE STOPPING":
                try:
                    self.api.call(jobs.stop, job.arn, **{jobs.describe_key + "Arn": job.arn})
                except ApiError as exc:
                    if exc.code not in ("ResourceInUseException", "ResourceNotFoundException"):
                        raise
            read, _ = self._job_reader(jobs, job.arn)
            ready = jobs.stopped | {GONE}
            self._wait(step, read, ready, set(), TYPICAL_STOP, long_running=False)

    def _send_delete(self, step: Step, handler: ResourceHandler, arn: str) -> None:
        """Delete*. "In use" while dependents are still going away is retried briefly
        (`retry.DEPENDENTS_GOING`); "in use" because it is already being deleted (a retried call whose first
        answer was lost) is success."""

        def delete() -> None:
            try:
                self._mark(step, True)
                self.api.delete(handler, arn, f"{step.address} ({arn})")
            except ApiError as exc:
                if exc.code == "ResourceInUseException":
                    again = self.api.describe(handler, arn)
                    if again is None or str(again.get("status", "")).startswith("DELETE"):
                        return
                raise

        try:
            call_with_retry(self, step, DEPENDENTS_GOING, delete, handler.typical_delete)
        except ApiError as exc:
            raise StepFailed(f"{step.address}: {exc.message}") from exc
