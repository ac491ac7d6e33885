"""Read the live state the stack needs, through boto3 (the same code for AWS, `--endpoint-url` and `--local`).

What is read (and nothing else):

* `ListDatasetGroups`, `ListSchemas` (account-wide; there is no parent filter);
* per dataset group of the account, whatever its name: `ListTagsForResource` (groups named like the
  stack's are read first); the group is in scope when its tags name this stack or its name is a desired
  one. Identity never depends on `namePrefix`: a stack whose prefix changed is still found. Per group in
  scope: `DescribeDatasetGroup`;
* the children of the groups in scope (datasets, solutions, filters, event trackers, recommenders, metric
  attributions), campaigns per solution and versions per solution: each kind either with one List* per
  parent or with one account-wide List* (no parent ARN), decided by counts in `read_strategy`; an
  account-wide summary is kept only when its parent is in scope, so other groups' children are never
  described or tag-read;
* per child in scope: one Describe* and (taggable kinds) one `ListTagsForResource`; per dataset
  `ListDatasetImportJobs`, the source fingerprints of its newest successful import from the dataset's own
  tags when their import record (written by apply, `model.state.import_record`) names that job, else from the
  job's `ListTagsForResource` (imports made by others, older stacks, a crash before the record), and the tags
  of its running imports; per metric attribution `ListMetricAttributionMetrics`;
* `DescribeSchema` for the schemas the stack uses (referenced by its datasets or named like its schemas);
* `GetSolutionMetrics` only where a promotion decision needs them (the newest ACTIVE version when it is not
  the one a campaign serves, and that serving version), and the tags of a solution's newest version only
  when its manifest declares `training.trigger`;
* `ListObjectsV2` of the declared `dataImport.dataLocation`s (ETag; a missing object is an absent key): one
  listing of the prefix a bucket's keys share, started just before the first (a few pages at most, then
  the keys not reached one by one; one by one as well when that listing is denied); a bucket's only key,
  or keys sharing no prefix, with prefix = key.

Calls run on a bounded thread pool as soon as what they need is known (a list's results start their
describes at once). Paginators are used for every List* botocore has one for. Throttling, 5xx and
connection resets are retried by the clients' botocore retry mode (`reconciler.aws.target`); errors that
retrying does not fix become `ApiError`/`TargetError` with a hint.

Ownership: a resource whose tags name this stack is managed under its `personalize-gitops:name`; one whose
physical name matches a desired resource of the same kind is that address, unmanaged (plan adopts it) - or
managed for kinds that cannot carry tags (schemas, metric attributions). When two managed resources claim the
same address (a create-before-destroy replacement half done), the newest keeps the address and the older is
recorded as `Kind/<name>@<physical name>` so plan can finish the replacement.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from reconciler import s3data
from reconciler.errors import ApiError, ReconcilerError, TargetError
from reconciler.model.address import Address, Kind
from reconciler.model.spec import DatasetSpec, SolutionSpec
from reconciler.model.state import (
    TAG_NAME,
    TAG_STACK,
    DesiredState,
    LiveImportJob,
    LiveResource,
    LiveSolutionVersion,
    LiveState,
    recorded_import,
)
from reconciler.resources.base import TAG_KIND, norm_status, tags_from_list
from reconciler.resources.dataset import IMPORT_IN_PROGRESS
from reconciler.resources.registry import REGISTRY
from reconciler.resources.solution import VERSION_IN_PROGRESS

SUPERSEDED_SEPARATOR = "@"
LOCAL_FILE_PREFIX = "local:"
"""`LiveState.s3_etags[LOCAL_FILE_PREFIX + dataLocation]` holds `sha256:<hex>` of the declared
`dataImport.localFile`, so plan sees a changed local file before apply uploads it (reconciler/s3data.py)."""
_PAGINATED = frozenset(
    {
        "list_dataset_groups",
        "list_schemas",
        "list_datasets",
        "list_solutions",
        "list_filters",
        "list_event_trackers",
        "list_recommenders",
        "list_metric_attributions",
        "list_campaigns",
        "list_solution_versions",
        "list_dataset_import_jobs",
        "list_metric_attribution_metrics",
    }
)


def group_child_kinds() -> tuple[Kind, ...]:
    """The registered kinds whose parent is a dataset group, in registry order (read per group in scope or
    account-wide; a kind registered later is read with no edit here)."""
    return tuple(
        kind
        for kind, handler in REGISTRY.items()
        if handler.parent_field and handler.references.get(handler.parent_field) is Kind.DATASET_GROUP
    )


def lister_of(kind: Kind) -> Kind:
    """The kind whose List* call reads `kind`'s resources: itself, or, for a kind that shares its API with
    an earlier registered kind (`kind_tag`), that kind (one list per API; `_Assembler.kind_of` then assigns
    each resource to its kind by its TAG_KIND tag)."""
    handler = REGISTRY[kind]
    if handler.kind_tag:
        for other, found in REGISTRY.items():
            if not found.kind_tag and (found.ops.list, found.ops.parent_param) == (
                handler.ops.list,
                handler.ops.parent_param,
            ):
                return other
    return kind


def listed_group_child_kinds() -> tuple[Kind, ...]:
    """`group_child_kinds` with one kind per List* operation (the ones the reader lists)."""
    return tuple(kind for kind in group_child_kinds() if lister_of(kind) is kind)


def unattributed_kinds() -> frozenset[Kind]:
    """Kinds whose List* summaries and ARNs do not name their parent (`summary_names_parent` False):
    listed account-wide, each would need a describe to know whose it is, so that is only done when every
    group of the account is in scope."""
    return frozenset(
        kind
        for kind, handler in REGISTRY.items()
        if handler.parent_field and not handler.summary_names_parent
    )


def _paginated(operation: str) -> bool:
    return operation in _PAGINATED or any(h.ops.list == operation for h in REGISTRY.values())


_MISSING = frozenset({"ResourceNotFoundException", "NoSuchKey", "NotFound", "404", "NoSuchBucket"})
_CREDENTIALS = frozenset(
    {
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "ExpiredTokenException",
        "ExpiredToken",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
    }
)
_DENIED = frozenset({"AccessDeniedException", "AccessDenied", "403"})
_THROTTLED = frozenset({"ThrottlingException", "LimitExceededException", "TooManyRequestsException"})


def plain(value: Any) -> Any:
    """boto3 response -> JSON-able data (datetimes become epoch seconds)."""
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def _epoch(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value or 0.0)


def _newest_first(summaries: Iterable[Mapping[str, Any]], arn_key: str) -> list[dict[str, Any]]:
    """List* summaries as plain data, newest first (ties broken by ARN)."""
    return sorted(
        (plain(s) for s in summaries),
        key=lambda s: (s.get("creationDateTime", 0), s[arn_key]),
        reverse=True,
    )


def _data_locations(desired: DesiredState) -> set[str]:
    """The declared `dataImport.dataLocation`s (read per bucket: `_Reader.heads`)."""
    return {
        r.spec.dataImport.dataLocation
        for r in desired.of_kind(Kind.DATASET)
        if isinstance(r.spec, DatasetSpec) and r.spec.dataImport
    }


def translate(exc: Exception, doing: str) -> ReconcilerError:
    """A botocore error -> a user-facing error saying what to do."""
    from botocore.exceptions import (
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
        PartialCredentialsError,
    )

    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return TargetError(
            f"no AWS credentials while trying to {doing}",
            hint="configure credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID...), or use --local / --endpoint-url",
        )
    if isinstance(exc, NoRegionError):
        return TargetError(f"no AWS region while trying to {doing}", hint="pass --region or set AWS_REGION")
    if isinstance(exc, EndpointConnectionError):
        return TargetError(
            f"cannot reach the endpoint while trying to {doing}: {exc}",
            hint="check --region / --endpoint-url (is `personalize-gitops emulator serve` running?)",
        )
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "Unknown"))
        message = str(error.get("Message", "")) or str(exc)
        if code in _CREDENTIALS:
            return TargetError(
                f"AWS rejected the credentials while trying to {doing}: {message}",
                hint="refresh or fix your credentials (aws sts get-caller-identity should work)",
            )
        if code in _DENIED:
            return ApiError(
                f"access denied while trying to {doing}: {message}",
                code=code,
                hint="the plan role needs personalize:Describe*, personalize:List*, "
                "personalize:GetSolutionMetrics and s3:GetObject on the data locations",
            )
        if code in _THROTTLED:
            return ApiError(
                f"throttled while trying to {doing} (retries exhausted): {message}",
                code=code,
                hint="run again later or lower the reader's concurrency",
            )
        return ApiError(f"failed to {doing}: {code}: {message}", code=code)
    return ApiError(f"failed to {doing}: {type(exc).__name__}: {exc}")


def _code(exc: Exception) -> str | None:
    response = getattr(exc, "response", None)
    if isinstance(response, Mapping):
        code = response.get("Error", {}).get("Code")
        return str(code) if code is not None else None
    return None


class CallCounter:
    """Counts API calls made through clients (botocore `before-call`, so retries are not counted twice)."""

    def __init__(self, *clients: Any) -> None:
        self._lock = threading.Lock()
        self.calls: dict[str, int] = {}
        for client in clients:
            client.meta.events.register("before-call", self._count)

    def _count(self, event_name: str = "", **_: Any) -> None:
        operation = event_name.split(".")[-1]
        with self._lock:
            self.calls[operation] = self.calls.get(operation, 0) + 1

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self.calls.values())


PAGE_SIZE = 100
"""maxResults of every List* (the API's maximum)."""
VERSIONS_PER_SOLUTION = 4
"""Assumed versions per solution when estimating the pages of an account-wide ListSolutionVersions."""


@dataclass(frozen=True)
class ReadStrategy:
    """Which List* calls go account-wide (no parent ARN) instead of one per parent."""

    account_wide: frozenset[Kind] = frozenset()
    versions_account_wide: bool = False

    @classmethod
    def per_parent(cls) -> ReadStrategy:
        return cls()


def _pages(items: float) -> int:
    return max(1, math.ceil(items / PAGE_SIZE))


def read_strategy(desired: DesiredState, groups_in_account: int, named_like_ours: int) -> ReadStrategy:
    """Decide by counts (docs/ARCHITECTURE.md, "Reading the account"). Per parent, a kind costs one call
    per parent of the stack; account-wide, its pages for the whole account, estimated as the stack's own
    count scaled by groups in the account / groups of the stack (other groups assumed as full as ours).
    A kind goes account-wide when that estimate is smaller. Kinds whose summaries do not name their parent
    (`unattributed_kinds`) also need every group of the account to be named like ours; the reader checks
    this against the tags and lists them per parent after all if it does not hold."""
    n = _listed_counts(desired)
    groups = n[Kind.DATASET_GROUP]
    if groups == 0:
        return ReadStrategy.per_parent()
    scale = max(1.0, groups_in_account / groups)
    only_ours = groups_in_account == named_like_ours
    unattributed = unattributed_kinds()
    wide: set[Kind] = set()
    for kind in listed_group_child_kinds():
        if _pages(n[kind] * scale) < groups and (kind not in unattributed or only_ours):
            wide.add(kind)
    solutions = n[Kind.SOLUTION]
    if Kind.SOLUTION in wide and _pages(n[Kind.CAMPAIGN] * scale) < solutions:
        wide.add(Kind.CAMPAIGN)
    versions = _pages(solutions * VERSIONS_PER_SOLUTION * scale) < solutions
    return ReadStrategy(frozenset(wide), versions)


def _listed_counts(desired: DesiredState) -> dict[Kind, int]:
    """Desired resources per kind, a kind that shares another's List* (`lister_of`) counted with it."""
    n = dict.fromkeys(Kind, 0)
    for kind in Kind:
        n[lister_of(kind)] += len(desired.of_kind(kind))
    return n


def _group_of(kind: Kind, arn: str, summary: Mapping[str, Any]) -> str | None:
    """The dataset group ARN a List* summary names: kinds with `summary_names_parent` (filters,
    recommenders) carry it, a dataset's ARN holds its group's name (`dataset/<group name>/<TYPE>`); None for
    kinds that do not tell."""
    handler = REGISTRY[kind]
    parent_param = handler.ops.parent_param
    if handler.summary_names_parent and parent_param and summary.get(parent_param):
        return str(summary[parent_param])
    if kind is Kind.DATASET:
        head, _, rest = arn.partition(":dataset/")
        group = rest.rsplit("/", 1)[0]
        return f"{head}:dataset-group/{group}" if rest and group else None
    return None


def _parent_from_fields(kind: Kind, fields: Mapping[str, Any]) -> str | None:
    """The parent ARN a describe names (campaign: the solution of the version it serves)."""
    if kind is Kind.CAMPAIGN:
        version = str(fields.get("solutionVersionArn") or "")
        return version.rsplit("/", 1)[0] if "/" in version else None
    parent_param = REGISTRY[kind].ops.parent_param
    value = fields.get(parent_param) if parent_param else None
    return str(value) if value else None


@dataclass
class _Raw:
    kind: Kind
    arn: str
    name: str
    summary: dict[str, Any]
    parent_arn: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    versions: list[dict[str, Any]] = field(default_factory=list)
    imports: list[dict[str, Any]] = field(default_factory=list)
    import_tags: dict[str, dict[str, str]] = field(default_factory=dict)
    halves: int = 0
    """Datasets: how many of its tag read and its import listing have finished (`_Reader.joined`)."""
    version_tags: dict[str, dict[str, str]] = field(default_factory=dict)
    gone: bool = False


@dataclass
class _Reader:
    personalize: Any
    clients: Any
    """Where `.s3` comes from: asked for only by the data-location reads, so a target that makes its S3
    client on first use does so in a worker thread while the first Personalize calls are in flight."""
    desired: DesiredState
    concurrency: int
    lock: threading.Lock = field(default_factory=threading.Lock)
    futures: set[Future[None]] = field(default_factory=set)
    groups: dict[str, _Raw] = field(default_factory=dict)
    items: dict[str, _Raw] = field(default_factory=dict)
    schemas: dict[str, dict[str, Any]] = field(default_factory=dict)
    schema_fields: dict[str, dict[str, Any]] = field(default_factory=dict)
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    etags: dict[str, str] = field(default_factory=dict)
    pool: ThreadPoolExecutor | None = None
    strategy: ReadStrategy | None = None
    """Which kinds are listed account-wide (decided from the group counts unless given)."""
    scope: dict[str, bool] = field(default_factory=dict)
    """Group ARN -> in scope (ours or adopted), once its tags are read."""
    waiting: dict[str, list[_Raw]] = field(default_factory=dict)
    """Children listed account-wide whose group's tags are not read yet."""
    unattributed: list[_Raw] = field(default_factory=list)
    """Children listed account-wide whose summary does not name the group, until every group is resolved."""
    unresolved: int = 0
    foreign: bool = False
    """A group of the account is not in scope (another stack's or unmanaged)."""
    verified: bool | None = None
    """After every group's tags: True when every group is in scope (unattributed children are ours)."""
    names: dict[Kind, frozenset[str]] = field(default_factory=dict)
    all_versions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Solution ARN -> its versions, newest first, when versions are listed account-wide."""

    # -- plumbing --

    @property
    def s3(self) -> Any:
        return self.clients.s3

    @property
    def stack(self) -> str:
        return self.desired.stack.name

    def spawn(self, fn: Callable[..., None], *args: Any) -> None:
        assert self.pool is not None
        future = self.pool.submit(fn, *args)
        with self.lock:
            self.futures.add(future)

    def drain(self) -> None:
        while True:
            with self.lock:
                pending = {f for f in self.futures if not f.done()}
                finished = self.futures - pending
                self.futures = pending
            for future in finished:
                future.result()  # re-raise the first error
            if not pending:
                return
            done, _ = wait(pending, return_when=FIRST_EXCEPTION)
            for future in done:
                if future.exception() is not None:
                    for other in pending:
                        other.cancel()
                    future.result()

    def call(self, operation: str, doing: str, **kwargs: Any) -> dict[str, Any] | None:
        """One API call; None when the resource is gone (deleted between list and describe)."""
        method = getattr(self.personalize, operation)
        try:
            response: dict[str, Any] = method(**kwargs)
        except Exception as exc:
            if _code(exc) in _MISSING:
                return None
            raise translate(exc, doing) from exc
        return response

    def pages(self, operation: str, key: str, doing: str, **kwargs: Any) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        try:
            if _paginated(operation) and self.personalize.can_paginate(operation):
                paginator = self.personalize.get_paginator(operation)
                for page in paginator.paginate(**kwargs, PaginationConfig={"PageSize": PAGE_SIZE}):
                    out.extend(page.get(key, []))
            else:
                out.extend(getattr(self.personalize, operation)(**kwargs).get(key, []))
        except Exception as exc:
            if _code(exc) in _MISSING:
                return out
            raise translate(exc, doing) from exc
        return out

    def read_tags(self, arn: str) -> dict[str, str] | None:
        response = self.call("list_tags_for_resource", f"read the tags of {arn}", resourceArn=arn)
        return None if response is None else tags_from_list(response.get("tags"))

    # -- scope --

    def desired_names(self, kind: Kind) -> frozenset[str]:
        """Physical names of the desired resources of `kind` (computed once per kind: asked per group)."""
        names = self.names.get(kind)
        if names is None:
            names = frozenset(r.physical_name for r in self.desired.of_kind(kind))
            self.names[kind] = names
        return names

    def likely_ours(self, name: str) -> bool:
        """Named like the stack's groups (a desired name or the namePrefix). Only a cost hint: these
        groups' tags are read first, and the reading strategy counts them; identity comes from tags."""
        prefix = self.desired.stack.settings.namePrefix
        return name in self.desired_names(Kind.DATASET_GROUP) or (bool(prefix) and name.startswith(prefix))

    # -- tasks --

    def list_groups(self) -> None:
        """Every dataset group of the account is a candidate, whatever its name: the stack's groups are the
        ones whose tags name it (or named like a desired group, to adopt). Filtering by namePrefix here
        would lose a stack whose prefix changed (issue 11 finding 4)."""
        summaries = self.pages("list_dataset_groups", "datasetGroups", "list dataset groups")
        raws = [
            _Raw(Kind.DATASET_GROUP, str(s["datasetGroupArn"]), str(s.get("name", "")), plain(s))
            for s in summaries
        ]
        named = sum(1 for r in raws if self.likely_ours(r.name))
        if self.strategy is None:
            self.strategy = read_strategy(self.desired, len(raws), named)
        with self.lock:
            for raw in raws:
                self.groups[raw.arn] = raw
            self.unresolved = len(raws)
        for kind in sorted(self.strategy.account_wide, key=lambda k: k.value):
            self.spawn(self.list_account_wide, kind)
        if self.strategy.versions_account_wide:
            self.spawn(self.list_all_versions)
        for raw in sorted(raws, key=lambda r: not self.likely_ours(r.name)):
            self.spawn(self.group_tags, raw)
        # The data locations' reads (ListObjectsV2) queue behind the group tags (nothing waits for them).
        locations = sorted(_data_locations(self.desired))
        if locations:
            self.spawn(self.heads, locations)
        if not raws:
            self.groups_resolved()

    def group_tags(self, raw: _Raw) -> None:
        try:
            tags = self.read_tags(raw.arn)
        except ApiError as exc:
            if exc.code in _DENIED:
                raise ApiError(
                    exc.message,
                    code=exc.code,
                    hint="the stack is found by its ownership tags whatever its names, so the role needs "
                    "personalize:ListTagsForResource on every dataset group (arn:aws:personalize:*:*:"
                    "dataset-group/*; `personalize-gitops iam-policy` includes it)",
                ) from exc
            raise
        ours = False
        if tags is None:
            raw.gone = True  # deleted since the list: neither ours nor someone else's
        else:
            raw.tags = tags
            ours = raw.name in self.desired_names(Kind.DATASET_GROUP) or tags.get(TAG_STACK) == self.stack
            if not ours:
                raw.gone = True  # someone else's group: out of scope, its children are never read
        with self.lock:
            self.scope[raw.arn] = ours
            self.foreign = self.foreign or (tags is not None and not ours)
            listed = self.waiting.pop(raw.arn, [])
            self.unresolved -= 1
            last = self.unresolved == 0
        if ours:
            self.spawn(self.describe, raw)
            assert self.strategy is not None
            for kind in listed_group_child_kinds():
                if kind not in self.strategy.account_wide:
                    self.spawn(self.list_children, kind, raw.arn)
            for child in listed:
                self.found(child)
        if last:
            self.groups_resolved()

    def groups_resolved(self) -> None:
        """Every group's tags are read. Kinds listed account-wide whose summaries do not name their parent
        (solutions, campaigns, event trackers, metric attributions) were listed on the bet that the account
        holds only this stack's groups: when it does, they are all ours to read; when another group exists,
        the bet is lost and they are listed per parent instead (nothing of theirs was described)."""
        assert self.strategy is not None
        with self.lock:
            self.verified = not self.foreign
            held, self.unattributed = self.unattributed, []
            in_scope = [arn for arn, ours in self.scope.items() if ours]
        if self.verified:
            for raw in held:
                self.found(raw)
            return
        lost = self.strategy.account_wide & unattributed_kinds()
        self.strategy = replace(self.strategy, account_wide=self.strategy.account_wide - lost)
        for arn in in_scope:
            for kind in sorted(lost - {Kind.CAMPAIGN}, key=lambda k: k.value):
                self.spawn(self.list_children, kind, arn)
        if Kind.CAMPAIGN in lost:
            with self.lock:
                solutions = [r.arn for r in self.items.values() if r.kind is Kind.SOLUTION]
            for arn in solutions:
                self.spawn(self.list_children, Kind.CAMPAIGN, arn)

    def list_account_wide(self, kind: Kind) -> None:
        """One List* of `kind` for the whole account (no parent ARN): each summary is kept when its parent
        group is ours, as soon as that is known."""
        handler = REGISTRY[kind]
        ops = handler.ops
        for summary in self.pages(ops.list, ops.list_key, f"list every {kind.value} of the account"):
            arn = str(summary[ops.arn_key])
            parent = _group_of(kind, arn, summary)
            raw = _Raw(kind, arn, str(summary.get("name", "")), plain(summary), parent)
            if parent is None:
                with self.lock:
                    if self.verified is None:
                        self.unattributed.append(raw)
                        continue
                    verified = self.verified
                if verified:
                    self.found(raw)
                continue
            with self.lock:
                ours = self.scope.get(parent)
                if ours is None and parent in self.groups:
                    self.waiting.setdefault(parent, []).append(raw)
            if ours:
                self.found(raw)

    def list_all_versions(self) -> None:
        versions = self.pages(
            "list_solution_versions", "solutionVersions", "list every solution version of the account"
        )
        by_solution: dict[str, list[Mapping[str, Any]]] = {}
        for version in versions:
            arn = str(version["solutionVersionArn"])
            by_solution.setdefault(arn.rsplit("/", 1)[0], []).append(version)
        with self.lock:
            self.all_versions = {k: _newest_first(v, "solutionVersionArn") for k, v in by_solution.items()}

    def describe(self, raw: _Raw) -> None:
        handler = REGISTRY[raw.kind]
        response = self.call(handler.ops.describe, f"describe {raw.arn}", **handler.describe_request(raw.arn))
        if response is None:
            raw.gone = True
            return
        raw.fields = plain(response.get(handler.ops.describe_key, {}))
        if raw.parent_arn is None and raw.kind is not Kind.DATASET_GROUP:
            raw.parent_arn = _parent_from_fields(raw.kind, raw.fields)

    def tags(self, raw: _Raw) -> None:
        tags = self.read_tags(raw.arn)
        if tags is None:
            raw.gone = True
        else:
            raw.tags = tags
        if raw.kind is Kind.DATASET:
            self.joined(raw)

    def list_children(self, kind: Kind, parent_arn: str) -> None:
        ops = REGISTRY[kind].ops
        assert ops.parent_param is not None
        doing = f"list {kind.value} resources of {parent_arn}"
        for summary in self.pages(ops.list, ops.list_key, doing, **{ops.parent_param: parent_arn}):
            raw = _Raw(
                kind, str(summary[ops.arn_key]), str(summary.get("name", "")), plain(summary), parent_arn
            )
            self.found(raw)

    def found(self, raw: _Raw) -> None:
        """A child in scope: describe it, read its tags and what hangs below it (once per ARN)."""
        with self.lock:
            if raw.arn in self.items:
                return
            self.items[raw.arn] = raw
        assert self.strategy is not None
        account_wide = self.strategy.account_wide
        self.spawn(self.describe, raw)
        if REGISTRY[raw.kind].taggable:
            self.spawn(self.tags, raw)
        if raw.kind is Kind.SOLUTION:
            if not self.strategy.versions_account_wide:
                self.spawn(self.list_versions, raw)
            if Kind.CAMPAIGN not in account_wide:
                self.spawn(self.list_children, Kind.CAMPAIGN, raw.arn)
        elif raw.kind is Kind.DATASET:
            self.spawn(self.list_imports, raw)
        elif raw.kind is Kind.METRIC_ATTRIBUTION:
            self.spawn(self.list_attribution_metrics, raw)

    def list_versions(self, raw: _Raw) -> None:
        versions = self.pages(
            "list_solution_versions",
            "solutionVersions",
            f"list the versions of {raw.arn}",
            solutionArn=raw.arn,
        )
        raw.versions = _newest_first(versions, "solutionVersionArn")
        for version in raw.versions:  # whose training runs: plan refuses to delete under someone else's
            if norm_status(version.get("status")) in VERSION_IN_PROGRESS:
                arn = str(version["solutionVersionArn"])
                raw.version_tags[arn] = self.read_tags(arn) or {}

    def list_imports(self, raw: _Raw) -> None:
        jobs = self.pages(
            "list_dataset_import_jobs",
            "datasetImportJobs",
            f"list the imports of {raw.arn}",
            datasetArn=raw.arn,
        )
        raw.imports = _newest_first(jobs, "datasetImportJobArn")
        self.joined(raw)

    def joined(self, raw: _Raw) -> None:
        """A dataset's tag read or its import listing finished (they run concurrently): the second to finish
        reads the import jobs' tags, so no worker waits for the other."""
        needed = 2 if REGISTRY[Kind.DATASET].taggable else 1
        with self.lock:
            raw.halves += 1
            last = raw.halves == needed
        if last:
            self.import_tags(raw)

    def import_tags(self, raw: _Raw) -> None:
        """The tags of the newest ACTIVE import (its source fingerprints) and of the running ones (plan
        refuses to delete under someone else's import). The newest ACTIVE job's come from the dataset's
        import record (`recorded_import`, written by apply) when it names that job; otherwise, and for the
        running jobs, ListTagsForResource of the job."""
        done = [j for j in raw.imports if norm_status(j.get("status")) == "ACTIVE"]
        running = [j for j in raw.imports if norm_status(j.get("status")) in IMPORT_IN_PROGRESS]
        record = recorded_import(raw.tags)
        if done and record is not None and record[0] == done[0].get("jobName"):
            raw.import_tags[str(done[0]["datasetImportJobArn"])] = record[1]
            done = []
        for job in [*done[:1], *running]:
            arn = str(job["datasetImportJobArn"])
            raw.import_tags[arn] = self.read_tags(arn) or {}

    def list_attribution_metrics(self, raw: _Raw) -> None:
        metrics = self.pages(
            "list_metric_attribution_metrics",
            "metrics",
            f"list the metrics of {raw.arn}",
            metricAttributionArn=raw.arn,
        )
        raw.summary["metrics"] = plain(metrics)

    def list_schemas(self) -> None:
        names = self.desired_names(Kind.SCHEMA)
        for summary in self.pages("list_schemas", "schemas", "list schemas"):
            arn = str(summary["schemaArn"])
            with self.lock:
                self.schemas[arn] = plain(summary)
            if _schema_name_match(str(summary.get("name", "")), names):
                self.spawn(self.describe_schema, arn)  # named like ours: read it now, not after the barrier

    def describe_schema(self, arn: str) -> None:
        response = self.call("describe_schema", f"describe {arn}", schemaArn=arn)
        if response is not None:
            with self.lock:
                self.schema_fields[arn] = plain(response.get("schema", {}))

    def solution_metrics(self, version_arn: str) -> None:
        response = self.call(
            "get_solution_metrics", f"get the metrics of {version_arn}", solutionVersionArn=version_arn
        )
        if response is not None:
            with self.lock:
                self.metrics[version_arn] = {k: float(v) for k, v in (response.get("metrics") or {}).items()}

    def version_tags(self, raw: _Raw, version_arn: str) -> None:
        raw.version_tags[version_arn] = self.read_tags(version_arn) or {}

    def heads(self, locations: list[str]) -> None:
        """One worker gets the S3 client (a target makes it on first use: tens of ms of CPU), then queues the
        reads (queued at once, each would hold a worker waiting for that client instead of reading): one
        listing of the prefix a bucket's locations share (`s3data.shared_prefix`), else one ListObjectsV2 per
        location."""
        try:
            self.s3  # noqa: B018 - made here, once
        except ReconcilerError:
            raise
        except Exception as exc:  # as head() would have reported it
            raise translate(exc, f"read {locations[0]}") from exc
        for bucket, keys in sorted(_by_bucket(locations).items()):
            if s3data.shared_prefix(list(keys)) is None:  # one key, or keys sharing no prefix
                for location in keys.values():
                    self.spawn(self.head, location)
            else:
                self.spawn(self.list_bucket, bucket, keys)

    def list_bucket(self, bucket: str, locations: dict[str, str]) -> None:
        """The ETags of a bucket's data locations (key -> location) from one listing
        (`s3data.object_etags`); the keys it did not reach within its page budget are read one by one."""
        try:
            settled, unread = s3data.object_etags(self.s3, bucket, list(locations))
        except Exception as exc:
            if _code(exc) in _DENIED:  # s3:ListBucket granted per key only (an s3:prefix condition)
                settled, unread = {}, list(locations)
            elif _code(exc) in _MISSING:
                return
            else:
                raise translate(exc, f"list s3://{bucket}/") from exc
        with self.lock:
            for key, etag in settled.items():
                if etag is not None:
                    self.etags[locations[key]] = etag
        for key in unread:
            self.spawn(self.head, locations[key])

    def head(self, location: str) -> None:
        try:
            etag = s3data.object_etag(self.s3, location)  # ListObjectsV2: s3:ListBucket is enough
        except Exception as exc:
            if _code(exc) in _MISSING:
                return
            raise translate(exc, f"read {location}") from exc
        if etag is not None:
            with self.lock:
                self.etags[location] = etag

    # -- run --

    def run(self) -> None:
        pool = ThreadPoolExecutor(max_workers=max(1, self.concurrency), thread_name_prefix="live-read")
        self.pool = pool
        try:
            self.spawn(self.list_groups)
            self.spawn(self.list_schemas)
            self.spawn(self.local_files)
            self.drain()
            self.settle()
            for arn in sorted(self.used_schemas() - set(self.schema_fields)):
                self.spawn(self.describe_schema, arn)  # used by our datasets under another name
            self.spawn_follow_ups()
            self.drain()
        except BaseException as exc:
            # Ctrl-C: start no queued read and wait for none in flight (on a slow endpoint each can take
            # read_timeout x retries); the process then exits without them (`cli.fast_exit`)
            interrupted = isinstance(exc, KeyboardInterrupt)
            pool.shutdown(wait=not interrupted, cancel_futures=interrupted)
            raise
        pool.shutdown(wait=True)

    def settle(self) -> None:
        """After the reads: keep only children whose parent is in scope (account-wide lists and the
        describes that named a parent decide it here) and hand account-wide versions to their solutions."""
        groups = {arn for arn, ours in self.scope.items() if ours and not self.groups[arn].gone}
        children = [raw for raw in self.items.values() if raw.kind is not Kind.CAMPAIGN]
        for raw in children:
            raw.gone = raw.gone or raw.parent_arn not in groups
        solutions = {raw.arn for raw in children if raw.kind is Kind.SOLUTION and not raw.gone}
        for raw in self.items.values():
            if raw.kind is Kind.CAMPAIGN:
                raw.gone = raw.gone or raw.parent_arn not in solutions
        if self.strategy is not None and self.strategy.versions_account_wide:
            for raw in self.items.values():
                if raw.kind is Kind.SOLUTION:
                    raw.versions = self.all_versions.get(raw.arn, [])

    def local_files(self) -> None:
        """SHA-256 (and, for imports of earlier versions, MD5) of each declared localFile, resolved as apply
        resolves it."""
        for res in self.desired.of_kind(Kind.DATASET):
            if (
                not isinstance(res.spec, DatasetSpec)
                or not res.spec.dataImport
                or not res.spec.dataImport.localFile
            ):
                continue
            local = Path(res.spec.dataImport.localFile)
            candidates = [local] if local.is_absolute() else []
            if res.source.file:
                candidates.append(Path(res.source.file).parent / local)
            candidates.append(Path(self.desired.base_dir) / local)
            for path in candidates:
                if path.is_file():
                    sha256, md5 = s3data.file_digests(path)  # streamed, one read
                    location = res.spec.dataImport.dataLocation
                    with self.lock:
                        self.etags[LOCAL_FILE_PREFIX + location] = sha256
                        self.etags[s3data.LEGACY_MD5_PREFIX + location] = md5
                    break

    def used_schemas(self) -> set[str]:
        used = {
            str(raw.fields.get("schemaArn"))
            for raw in self.items.values()
            if raw.kind is Kind.DATASET and raw.fields.get("schemaArn") and not raw.gone
        }
        names = self.desired_names(Kind.SCHEMA)
        for arn, summary in self.schemas.items():
            if _schema_name_match(str(summary.get("name", "")), names):
                used.add(arn)
        return used

    def spawn_follow_ups(self) -> None:
        """Metrics for promotion decisions and version tags for trigger checks."""
        serving: dict[str, set[str]] = {}
        for raw in self.items.values():
            if raw.kind is Kind.CAMPAIGN and raw.fields.get("solutionVersionArn"):
                serving.setdefault(str(raw.parent_arn), set()).add(str(raw.fields["solutionVersionArn"]))
        triggers = {
            r.address.name
            for r in self.desired.of_kind(Kind.SOLUTION)
            if isinstance(r.spec, SolutionSpec) and r.spec.training.trigger is not None
        }
        trigger_names = {self.physical(Kind.SOLUTION, t) for t in triggers}
        for raw in list(self.items.values()):
            if raw.kind is not Kind.SOLUTION or raw.gone:
                continue
            active = [v for v in raw.versions if norm_status(v.get("status")) == "ACTIVE"]
            if not active:
                continue
            newest = str(active[0]["solutionVersionArn"])
            served = serving.get(raw.arn, set())
            if served and served != {newest}:
                for arn in sorted({newest} | {a for a in served if not a.endswith("/$LATEST")}):
                    self.spawn(self.solution_metrics, arn)
            logical = raw.tags.get(TAG_NAME) if raw.tags.get(TAG_STACK) == self.stack else None
            if (logical in triggers) or (raw.name in trigger_names):
                self.spawn(self.version_tags, raw, newest)

    def physical(self, kind: Kind, logical: str) -> str:
        res = self.desired.resources.get(Address(kind, logical))
        return res.physical_name if res else ""


_REPLACEMENT_SUFFIX = re.compile(r"(.+)-[0-9a-f]{6}b?")


def _schema_name_match(name: str, desired_names: Iterable[str]) -> bool:
    """`name` is one of `desired_names` or one of them plus a replacement suffix (`-<6 hex>`, optional `b`);
    one set lookup per schema, so listing a big account's schemas stays linear."""
    names = desired_names if isinstance(desired_names, frozenset | set) else set(desired_names)
    if name in names:
        return True
    found = _REPLACEMENT_SUFFIX.fullmatch(name)
    return found is not None and found.group(1) in names


# --- turning raw reads into LiveResources --------------------------------------------------------------


def _versions(raw: _Raw, metrics: Mapping[str, Mapping[str, float]]) -> tuple[LiveSolutionVersion, ...]:
    return tuple(
        LiveSolutionVersion(
            arn=str(v["solutionVersionArn"]),
            status=norm_status(v.get("status")),
            training_mode=v.get("trainingMode"),
            training_type=v.get("trainingType"),
            created=_epoch(v.get("creationDateTime")),
            last_updated=_epoch(v.get("lastUpdatedDateTime")),
            failure_reason=v.get("failureReason"),
            metrics=dict(metrics.get(str(v["solutionVersionArn"]), {})),
            tags=raw.version_tags.get(str(v["solutionVersionArn"]), {}),
        )
        for v in raw.versions
    )


def _imports(raw: _Raw) -> tuple[LiveImportJob, ...]:
    return tuple(
        LiveImportJob(
            arn=str(j["datasetImportJobArn"]),
            name=str(j.get("jobName", "")),
            status=norm_status(j.get("status")),
            created=_epoch(j.get("creationDateTime")),
            last_updated=_epoch(j.get("lastUpdatedDateTime")),
            data_location=str(j.get("dataLocation", "")),
            import_mode=j.get("importMode"),
            failure_reason=j.get("failureReason"),
            tags=raw.import_tags.get(str(j["datasetImportJobArn"]), {}),
        )
        for j in raw.imports
    )


@dataclass
class _Assembler:
    reader: _Reader
    preferred: set[str] = field(default_factory=set)
    """ARNs that keep their address over look-alikes (schemas in use by the stack's datasets)."""

    def assemble(self) -> dict[Address, LiveResource]:
        reader = self.reader
        claims: dict[Address, list[LiveResource]] = {}
        raws = [r for r in list(reader.groups.values()) + list(reader.items.values()) if not r.gone]
        for raw in raws:
            resource = self.resource(raw)
            if resource is not None and resource.address is not None:
                claims.setdefault(resource.address, []).append(resource)
        for resource in self.schema_resources(raws):
            assert resource.address is not None
            claims.setdefault(resource.address, []).append(resource)
        out: dict[Address, LiveResource] = {}
        for address, found in claims.items():
            ordered = sorted(found, key=lambda r: (self.preference(address, r), r.arn))
            out[address] = ordered[0]
            for older in ordered[1:]:
                alias = Address(address.kind, f"{address.name}{SUPERSEDED_SEPARATOR}{older.name}")
                out[alias] = _with_address(older, alias)
        return out

    def preference(self, address: Address, resource: LiveResource) -> tuple[int, int, float]:
        """Sort key: the physically-named or newest resource keeps the address."""
        created = float(resource.fields.get("creationDateTime") or 0.0)
        return (0 if resource.managed else 1, 0 if resource.arn in self.preferred else 1, -created)

    def resource(self, raw: _Raw) -> LiveResource | None:
        reader = self.reader
        raw.kind = _kind_of(raw)
        handler = REGISTRY[raw.kind]
        fields = {**raw.summary, **raw.fields}
        status = norm_status(str(fields.get("status", "")))
        owner = raw.tags.get(TAG_STACK)
        if owner == reader.stack and raw.tags.get(TAG_NAME):
            address: Address | None = Address(raw.kind, raw.tags[TAG_NAME])
            managed = True
        else:
            address = self.name_match(raw)
            managed = address is not None and not handler.taggable
        if address is None:
            return None
        return LiveResource(
            kind=raw.kind,
            arn=raw.arn,
            name=raw.name or str(fields.get("name", "")),
            status=status,
            fields=fields,
            tags=raw.tags,
            address=address,
            managed=managed,
            versions=_versions(raw, reader.metrics) if raw.kind is Kind.SOLUTION else (),
            imports=_imports(raw) if raw.kind is Kind.DATASET else (),
        )

    def name_match(self, raw: _Raw) -> Address | None:
        for kind in _sharing(raw.kind):
            for res in self.reader.desired.of_kind(kind):
                if res.physical_name == raw.name:
                    return res.address
        return None

    def schema_resources(self, raws: list[_Raw]) -> list[LiveResource]:
        reader = self.reader
        desired_schema_of_dataset: dict[str, str] = {}
        managed_refs: set[str] = set()
        for raw in raws:
            if raw.kind is not Kind.DATASET or not raw.fields.get("schemaArn"):
                continue
            resource = self.resource(raw)
            if resource is None or resource.address is None:
                continue
            if resource.managed:
                managed_refs.add(str(raw.fields["schemaArn"]))
            res = reader.desired.resources.get(resource.address)
            if res is not None and isinstance(res.spec, DatasetSpec):
                desired_schema_of_dataset[str(raw.fields["schemaArn"])] = res.spec.schema_
        out: list[LiveResource] = []
        for arn, fields in sorted(reader.schema_fields.items()):
            name = str(fields.get("name", ""))
            logical = desired_schema_of_dataset.get(arn)
            if logical is None:
                for res in reader.desired.of_kind(Kind.SCHEMA):
                    if _schema_name_match(name, [res.physical_name]):
                        logical = res.address.name
                        break
            referenced = arn in managed_refs  # only what this stack's own datasets use may become an orphan
            address = (
                Address(Kind.SCHEMA, logical)
                if logical
                else (Address(Kind.SCHEMA, name) if referenced else None)
            )
            if address is None:
                continue
            if arn in desired_schema_of_dataset:
                self.preferred.add(arn)
            out.append(
                LiveResource(
                    kind=Kind.SCHEMA,
                    arn=arn,
                    name=name,
                    status="ACTIVE",
                    fields=fields,
                    tags={},
                    address=address,
                    managed=True,
                )
            )
        return out


def _sharing(kind: Kind) -> list[Kind]:
    """`kind` and the kinds read by the same List* (`lister_of`), `kind` first."""
    lister = lister_of(kind)
    return [kind, *(k for k in REGISTRY if k is not kind and lister_of(k) is lister)]


def _kind_of(raw: _Raw) -> Kind:
    """The kind a listed resource belongs to: the one its TAG_KIND names among the kinds sharing its API,
    else the kind that lists it."""
    tagged = raw.tags.get(TAG_KIND)
    if tagged:
        for kind in _sharing(raw.kind):
            if kind.value == tagged:
                return kind
    return raw.kind


def _with_address(resource: LiveResource, address: Address) -> LiveResource:
    return replace(resource, address=address)


def read_live(
    clients: Any,
    desired: DesiredState,
    *,
    concurrency: int = 16,
    now: float,
    strategy: ReadStrategy | None = None,
) -> LiveState:
    """Read what the stack needs from the account (see the module docstring). `clients` has `.personalize`
    and `.s3` boto3 clients (a `reconciler.aws.target.Target`); `now` comes from the target's clock.
    `strategy` forces which kinds are listed account-wide (default: decided by counts, `read_strategy`;
    `ReadStrategy.per_parent()` is the one-list-per-parent reading of earlier versions)."""
    reader = _Reader(clients.personalize, clients, desired, concurrency, strategy=strategy)
    reader.run()
    resources = _Assembler(reader).assemble()
    region = getattr(clients.personalize.meta, "region_name", None) or desired.stack.settings.region
    account = _account_of(resources.values())
    if account is None and hasattr(clients, "account_id"):
        try:
            account = str(clients.account_id())
        except ReconcilerError:
            raise
        except Exception as exc:
            raise translate(exc, "identify the AWS account") from exc
    return LiveState(
        resources=dict(sorted(resources.items())),
        s3_etags=dict(sorted(reader.etags.items())),
        account_id=account,
        region=region,
        now=now,
        unmanaged_children=_unmanaged_children(reader, resources.values()),
    )


def _unmanaged_children(reader: _Reader, resources: Iterable[LiveResource]) -> dict[str, tuple[str, ...]]:
    """Children read inside the stack's groups and solutions that the stack does not manage (no address)."""
    known = {r.arn for r in resources}
    found: dict[str, list[str]] = {}
    for raw in list(reader.items.values()):
        if raw.gone or raw.arn in known or raw.parent_arn is None:
            continue
        if norm_status(str(raw.summary.get("status", ""))).startswith("DELETE"):
            continue
        found.setdefault(raw.parent_arn, []).append(f"{raw.kind.value} {raw.name}")
    return {arn: tuple(sorted(names)) for arn, names in sorted(found.items())}


def _account_of(resources: Iterable[LiveResource]) -> str | None:
    for resource in resources:
        parts = resource.arn.split(":")
        if len(parts) > 4 and parts[4]:
            return parts[4]
    return None


def minimal_calls(desired: DesiredState) -> int:
    """The fewest API calls that can read an account that matches `desired` exactly (the yardstick of the
    1.1x budget): one list per kind and parent (account-wide dataset groups and schemas; six child kinds per
    dataset group; versions and campaigns per solution; imports per dataset; metrics per metric
    attribution), one describe per resource, one tag read per taggable resource, one ListObjectsV2 per
    declared data location. Pages beyond the first, import-job tags (none when the datasets' import records
    name their newest successful imports: an account our apply wrote), version tags and metrics are the
    overhead."""
    n = {kind: len(desired.of_kind(kind)) for kind in Kind}
    lists = 2 + len(listed_group_child_kinds()) * n[Kind.DATASET_GROUP] + 2 * n[Kind.SOLUTION]
    lists += n[Kind.DATASET] + n[Kind.METRIC_ATTRIBUTION]
    describes = sum(n.values())
    tags = sum(count for kind, count in n.items() if REGISTRY[kind].taggable)
    return lists + describes + tags + len(_data_locations(desired))


def _by_bucket(locations: Iterable[str]) -> dict[str, dict[str, str]]:
    """Data locations grouped per bucket: bucket -> {key: location} (how `_Reader.heads` reads them)."""
    grouped: dict[str, dict[str, str]] = {}
    for location in locations:
        bucket, key = s3data.split_location(location)
        grouped.setdefault(bucket, {})[key] = location
    return grouped


def _data_reads(desired: DesiredState) -> int:
    """ListObjectsV2 calls for the data locations: a bucket's keys sharing a prefix are listed together (a
    page holds 1,000 keys), others one call each."""
    return sum(
        len(keys) if s3data.shared_prefix(list(keys)) is None else -(-len(keys) // 1000)
        for keys in _by_bucket(_data_locations(desired)).values()
    )


def expected_calls(desired: DesiredState) -> int:
    """The fewest API calls this reader makes for a no-op plan of an account that holds exactly `desired`
    (the strategy `read_strategy` picks for it): `minimal_calls` with each account-wide kind costing its
    pages instead of one list per parent. Import-job tags (none when the datasets record their newest
    successful imports, as apply does), version tags and metrics are the overhead."""
    n = {kind: len(desired.of_kind(kind)) for kind in Kind}
    listed = _listed_counts(desired)
    groups = n[Kind.DATASET_GROUP]
    strategy = read_strategy(desired, groups, groups)
    lists = 2 + n[Kind.DATASET] + n[Kind.METRIC_ATTRIBUTION]
    for kind in listed_group_child_kinds():
        lists += _pages(listed[kind]) if kind in strategy.account_wide else groups
    lists += _pages(n[Kind.CAMPAIGN]) if Kind.CAMPAIGN in strategy.account_wide else n[Kind.SOLUTION]
    lists += _pages(n[Kind.SOLUTION]) if strategy.versions_account_wide else n[Kind.SOLUTION]
    describes = sum(n.values())
    tags = sum(count for kind, count in n.items() if REGISTRY[kind].taggable)
    return lists + describes + tags + _data_reads(desired)
