"""Thin access to Personalize for apply: reads by name, and the ONE place where "already done" is success.

* `create()` turns `ResourceAlreadyExistsException` into "re-read it by name and continue if it is ours"
  (a rerun after a crash between the create call and its response lands here);
* `delete()` turns `ResourceNotFoundException` into "already gone";
* `describe()` returns None for a resource that does not exist.

Every other API error becomes an `ApiError` naming the operation and the resource. Throttling, 5xx and
connection resets are retried by botocore (the target configures its retry mode, `retry.py`); what still
fails here is reported, never swallowed, and never called again by apply.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from reconciler.errors import ApiError
from reconciler.model.address import Address
from reconciler.model.state import (
    TAG_NAME,
    TAG_STACK,
    LiveImportJob,
    LiveResource,
    LiveSolutionVersion,
)
from reconciler.resources.base import ResourceHandler, contract_fingerprint, tags_from_list

#: Read operations (everything else the reconciler calls on Personalize mutates the account).
READ_PREFIXES = ("describe_", "list_", "get_")


def error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, Mapping):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


class PersonalizeApi:
    """Wraps the boto3 Personalize client; counts calls (reads spent waiting, mutations)."""

    def __init__(self, client: Any, *, stack: str) -> None:
        self.client = client
        self.stack = stack
        self._lock = threading.Lock()
        self.calls: dict[str, int] = {}

    # -- raw calls -------------------------------------------------------------------------------------

    def call(self, operation: str, what: str, **kwargs: Any) -> dict[str, Any]:
        """Call `operation`; errors become `ApiError("<operation> <what>: <message>")`."""
        with self._lock:
            self.calls[operation] = self.calls.get(operation, 0) + 1
        try:
            response: dict[str, Any] = getattr(self.client, operation)(**kwargs)
        except ClientError as exc:
            message = exc.response.get("Error", {}).get("Message", str(exc))
            retried = exc.response.get("ResponseMetadata", {}).get("RetryAttempts", 0)
            if retried:  # botocore's retry policy (aws/target.py) gave up: the step does not retry again
                message += f" (still failing after {retried} retries: rerun apply to continue)"
            raise ApiError(f"{operation} {what}: {message}", code=error_code(exc)) from exc
        except BotoCoreError as exc:
            raise ApiError(
                f"{operation} {what}: {exc}", hint="the endpoint did not answer; rerun apply to continue"
            ) from exc
        return _jsonable(response)  # type: ignore[no-any-return]

    @property
    def mutating_calls(self) -> int:
        with self._lock:
            return sum(n for op, n in self.calls.items() if not op.startswith(READ_PREFIXES))

    # -- reads -----------------------------------------------------------------------------------------

    def paginate(self, operation: str, key: str, what: str, **kwargs: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            page_args = dict(kwargs)
            if token:
                page_args["nextToken"] = token
            page = self.call(operation, what, **page_args)
            items.extend(page.get(key) or [])
            token = page.get("nextToken")
            if not token:
                return items

    def describe(self, handler: ResourceHandler, arn: str) -> dict[str, Any] | None:
        try:
            response = self.call(handler.ops.describe, arn, **handler.describe_request(arn))
        except ApiError as exc:
            if exc.code == "ResourceNotFoundException":
                return None
            raise
        found: dict[str, Any] = response.get(handler.ops.describe_key) or {}
        return found

    def find_arn(self, handler: ResourceHandler, physical_name: str, parent_arn: str | None) -> str | None:
        """ARN of the resource of this kind named `physical_name` (under `parent_arn` when given)."""
        kwargs: dict[str, Any] = {}
        if handler.ops.parent_param and parent_arn:
            kwargs[handler.ops.parent_param] = parent_arn
        what = f"{handler.kind.value} named {physical_name}"
        for item in self.paginate(handler.ops.list, handler.ops.list_key, what, **kwargs):
            if item.get("name") == physical_name and not str(item.get("status", "")).startswith("DELETE"):
                return str(item[handler.ops.arn_key])
        return None

    def tags(self, arn: str) -> dict[str, str]:
        try:
            response = self.call("list_tags_for_resource", arn, resourceArn=arn)
        except ApiError as exc:
            if exc.code == "ResourceNotFoundException":
                return {}
            raise
        return tags_from_list(response.get("tags"))

    def live(
        self, handler: ResourceHandler, arn: str, address: Address | None, *, details: bool = True
    ) -> LiveResource | None:
        """Describe (plus tags, versions or imports) as a `LiveResource`; None when it does not exist.

        `details=False`: the describe only (no tags, versions or import jobs), for callers that read fields
        and status alone; saves a ListTagsForResource, and for a solution a listing plus one call per version.
        """
        fields = self.describe(handler, arn)
        if fields is None:
            return None
        tags = self.tags(arn) if handler.taggable and details else {}
        return LiveResource(
            kind=handler.kind,
            arn=arn,
            name=str(fields.get("name", "")),
            status=str(fields.get("status", "ACTIVE")),
            fields=fields,
            tags=tags,
            address=address,
            managed=tags.get(TAG_STACK) == self.stack,
            **(self._jobs(handler, arn) if details else {}),
        )

    def contract_fingerprint(self, handler: ResourceHandler, arn: str) -> str | None:
        """`resources.base.contract_fingerprint` of the resource as it is now (None: it does not exist)."""
        fields = self.describe(handler, arn)
        if fields is None:
            return None
        resource = LiveResource(
            kind=handler.kind,
            arn=arn,
            name=str(fields.get("name", "")),
            status=str(fields.get("status", "ACTIVE")),
            fields=fields,
            tags=self.tags(arn) if handler.taggable else {},
            address=None,
            managed=False,
            **self._jobs(handler, arn, with_tags=False, newest_only=True),
        )
        return contract_fingerprint(resource)

    def _jobs(
        self, handler: ResourceHandler, arn: str, *, with_tags: bool = True, newest_only: bool = False
    ) -> dict[str, Any]:
        """The child jobs (`handler.jobs`: versions, import jobs) as `LiveResource` keyword arguments."""
        if handler.jobs is None:
            return {}
        found = getattr(self, handler.jobs.lister)(arn, with_tags=with_tags)
        return {handler.jobs.live_field: tuple(found[:1] if newest_only else found)}

    def solution_versions(self, solution_arn: str, *, with_tags: bool = True) -> list[LiveSolutionVersion]:
        """Every version of a solution, newest first (describe of each, tags when asked)."""
        summaries = self.paginate(
            "list_solution_versions",
            "solutionVersions",
            f"versions of {solution_arn}",
            solutionArn=solution_arn,
        )
        versions: list[LiveSolutionVersion] = []
        for summary in summaries:
            arn = str(summary["solutionVersionArn"])
            try:
                detail = self.call("describe_solution_version", arn, solutionVersionArn=arn)[
                    "solutionVersion"
                ]
            except ApiError as exc:
                if exc.code == "ResourceNotFoundException":
                    continue
                raise
            versions.append(
                LiveSolutionVersion(
                    arn=arn,
                    status=str(detail.get("status", "")),
                    training_mode=detail.get("trainingMode"),
                    training_type=detail.get("trainingType"),
                    created=float(detail.get("creationDateTime") or 0.0),
                    last_updated=float(detail.get("lastUpdatedDateTime") or 0.0),
                    failure_reason=detail.get("failureReason"),
                    tags=self.tags(arn) if with_tags else {},
                )
            )
        versions.sort(key=lambda v: (v.created, v.arn), reverse=True)
        return versions

    def import_jobs(self, dataset_arn: str, *, with_tags: bool = True) -> list[LiveImportJob]:
        summaries = self.paginate(
            "list_dataset_import_jobs",
            "datasetImportJobs",
            f"imports of {dataset_arn}",
            datasetArn=dataset_arn,
        )
        jobs: list[LiveImportJob] = []
        for summary in summaries:
            arn = str(summary["datasetImportJobArn"])
            jobs.append(
                LiveImportJob(
                    arn=arn,
                    name=str(summary.get("jobName", "")),
                    status=str(summary.get("status", "")),
                    created=float(summary.get("creationDateTime") or 0.0),
                    last_updated=float(summary.get("lastUpdatedDateTime") or 0.0),
                    data_location="",
                    import_mode=summary.get("importMode"),
                    failure_reason=summary.get("failureReason"),
                    tags=self.tags(arn) if with_tags else {},
                )
            )
        jobs.sort(key=lambda j: (j.created, j.arn), reverse=True)
        return jobs

    # -- writes: "already done" is success, here and only here ----------------------------------------

    def create_or_find(
        self,
        operation: str,
        what: str,
        request: Mapping[str, Any],
        arn_key: str,
        find_existing: Callable[[], str | None],
        check_owner: Callable[[str], str | None] | None = None,
    ) -> tuple[str, bool]:
        """THE place where "already exists" is success. Calls `operation`; returns (arn, created).

        On `ResourceAlreadyExistsException` (typically a rerun after a crash between the call and its
        response) the resource is found again with `find_existing` and returned, unless `check_owner(arn)`
        returns a reason why it is not ours (then an ApiError saying so)."""
        try:
            response = self.call(operation, what, **request)
        except ApiError as exc:
            if exc.code != "ResourceAlreadyExistsException":
                raise
            arn = find_existing()
            if arn is None:
                raise
            problem = check_owner(arn) if check_owner is not None else None
            if problem:
                raise ApiError(
                    f"{what}: {problem} ({arn})",
                    code=exc.code,
                    hint="rename the resource in the manifests, or delete or adopt the existing one",
                ) from exc
            return arn, False
        return str(response[arn_key]), True

    def create(
        self,
        handler: ResourceHandler,
        request: Mapping[str, Any],
        find_existing: Callable[[], str | None],
        what: str,
        logical_name: str,
    ) -> tuple[str, bool]:
        """Create a resource of a handler's kind (see `create_or_find`): an existing one of that name is ours
        when it carries this stack's ownership tags for the same logical name (or the kind has no tags)."""

        def check_owner(arn: str) -> str | None:
            if not handler.taggable:
                return None
            tags = self.tags(arn)
            if tags.get(TAG_STACK) != self.stack or tags.get(TAG_NAME, logical_name) != logical_name:
                return f"a resource with this name already exists and is not managed by stack {self.stack!r}"
            return None

        return self.create_or_find(
            handler.ops.create, what, request, handler.ops.arn_key, find_existing, check_owner
        )

    def delete(self, handler: ResourceHandler, arn: str, what: str) -> bool:
        """Delete; False when it was already gone."""
        try:
            self.call(handler.ops.delete, what, **handler.delete_request(arn))
        except ApiError as exc:
            if exc.code == "ResourceNotFoundException":
                return False
            raise
        return True
