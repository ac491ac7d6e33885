"""Desired state (from manifests) and live state (from the account): plain frozen data, no I/O."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.model.address import Address, Kind, SourceLocation
from reconciler.model.spec import Lifecycle, Spec, StackSpec

#: Ownership tags put on every taggable resource the tool creates or adopts.
TAG_STACK = "personalize-gitops:stack"
TAG_NAME = "personalize-gitops:name"
#: Extra bookkeeping tags (on import jobs and solution versions) that let plan explain why work was done.
TAG_SOURCE_ETAG = "personalize-gitops:source-etag"
TAG_SOURCE_SHA256 = "personalize-gitops:source-sha256"
TAG_TRIGGER = "personalize-gitops:trigger"
TAG_REASON = "personalize-gitops:reason"
#: The import record on a dataset (written by apply once an import it started is ACTIVE): the job's name and
#: copies of the job's fingerprint tags, so a plan that finds that job newest reads no tags of the job.
TAG_LAST_IMPORT = "personalize-gitops:last-import"
TAG_LAST_IMPORT_SOURCE_ETAG = "personalize-gitops:last-import-source-etag"
TAG_LAST_IMPORT_SOURCE_SHA256 = "personalize-gitops:last-import-source-sha256"
TAG_LAST_IMPORT_TRIGGER = "personalize-gitops:last-import-trigger"
#: Fingerprint tag of an import job -> the dataset tag that records it.
LAST_IMPORT_COPIES: Mapping[str, str] = {
    TAG_SOURCE_ETAG: TAG_LAST_IMPORT_SOURCE_ETAG,
    TAG_SOURCE_SHA256: TAG_LAST_IMPORT_SOURCE_SHA256,
    TAG_TRIGGER: TAG_LAST_IMPORT_TRIGGER,
}
LAST_IMPORT_TAGS = frozenset({TAG_LAST_IMPORT, *LAST_IMPORT_COPIES.values()})


def import_record(job_name: str, job_tags: Mapping[str, str]) -> dict[str, str]:
    """The dataset tags that record the import job `job_name` (its fingerprint tags that are present)."""
    record = {TAG_LAST_IMPORT: job_name}
    record.update({copy: job_tags[key] for key, copy in LAST_IMPORT_COPIES.items() if key in job_tags})
    return record


def recorded_import(dataset_tags: Mapping[str, str]) -> tuple[str, dict[str, str]] | None:
    """(job name, the job's fingerprint tags) as a dataset's import record holds them; None without one."""
    name = dataset_tags.get(TAG_LAST_IMPORT)
    if not name:
        return None
    copies = LAST_IMPORT_COPIES.items()
    return name, {key: dataset_tags[copy] for key, copy in copies if copy in dataset_tags}


@dataclass(frozen=True, slots=True)
class Stack:
    name: str
    settings: StackSpec
    source: SourceLocation


@dataclass(frozen=True, slots=True)
class DesiredResource:
    address: Address
    spec: Spec
    physical_name: str
    """Name used in AWS: the stack's namePrefix + the logical name."""
    tags: Mapping[str, str]
    """User tags merged over the stack's defaultTags (ownership tags are added by the planner)."""
    lifecycle: Lifecycle
    source: SourceLocation
    depends_on: tuple[Address, ...] = ()
    """Addresses this resource references (dataset group, schema, solution...)."""


@dataclass(frozen=True, slots=True)
class DesiredState:
    stack: Stack
    resources: Mapping[Address, DesiredResource]
    digest: str
    """sha256 over the manifests' normalised content; recorded in saved plans."""
    base_dir: str = "."
    """Directory manifest-relative paths (dataImport.localFile) are resolved against."""
    _by_kind: dict[Kind, tuple[DesiredResource, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    """of_kind's index, built on first use (sorting on every call made planning quadratic)."""

    def of_kind(self, kind: Kind) -> list[DesiredResource]:
        """The resources of one kind, sorted by address."""
        if not self._by_kind:
            grouped: dict[Kind, list[DesiredResource]] = {k: [] for k in Kind}
            for resource in self.resources.values():
                grouped[resource.address.kind].append(resource)
            self._by_kind.update({k: tuple(sorted(v, key=lambda r: r.address)) for k, v in grouped.items()})
        return list(self._by_kind.get(kind, ()))  # a kind registered after the index was built: none


@dataclass(frozen=True, slots=True)
class LiveSolutionVersion:
    arn: str
    status: str
    training_mode: str | None
    training_type: str | None
    created: float
    """epoch seconds"""
    last_updated: float
    failure_reason: str | None = None
    metrics: Mapping[str, float] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LiveImportJob:
    arn: str
    name: str
    status: str
    created: float
    last_updated: float
    data_location: str
    import_mode: str | None
    failure_reason: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LiveResource:
    """One live Personalize resource as read from the account.

    `fields` holds the describe output of the resource (JSON-able: datetimes as epoch seconds), unchanged;
    handlers turn it into comparable spec fields.
    """

    kind: Kind
    arn: str
    name: str
    status: str
    fields: Mapping[str, Any]
    tags: Mapping[str, str]
    address: Address | None
    """Logical address: from the ownership tags, or by physical name match for unmanaged resources."""
    managed: bool
    """True when the ownership tags name this stack."""
    versions: tuple[LiveSolutionVersion, ...] = ()
    """Solutions: every solution version, newest first."""
    imports: tuple[LiveImportJob, ...] = ()
    """Datasets: every dataset import job, newest first."""

    @property
    def fingerprint(self) -> str:
        """Changes whenever the resource changes; saved plans record it to detect staleness."""
        updated = self.fields.get("lastUpdatedDateTime", "")
        newest = self.versions[0].arn + self.versions[0].status if self.versions else ""
        newest_import = self.imports[0].arn + self.imports[0].status if self.imports else ""
        return f"{self.arn}|{self.status}|{updated}|{newest}|{newest_import}|{sorted(self.tags.items())}"


@dataclass(frozen=True, slots=True)
class InterruptedRun:
    """What an apply of this stack that did not complete (killed, interrupted, failed, timed out) asked to
    train with `--retrain`, from the stack lock's run record (reconciler/apply/lock.py)."""

    by: str
    """Which apply: its holder and lock epoch, as the lock describes it."""
    trainings: Mapping[str, str]
    """`solution_id(solution)` -> the training key apply tagged that training with (the record stores the
    solution as a short hash so that it fits in the lock's SSM value whatever the names' lengths)."""

    def training(self, solution: str) -> str | None:
        """The training key recorded for `solution` (its logical name), or None."""
        return self.trainings.get(solution_id(solution))


def solution_id(solution: str) -> str:
    """A solution's logical name in the stack lock's run record: 12 hex digits of its SHA-256 (48 bits: a
    stack's few dozen names do not collide), 12 characters whatever the name's length (up to 63)."""
    return hashlib.sha256(solution.encode()).hexdigest()[:12]


@dataclass(frozen=True, slots=True)
class LiveState:
    resources: Mapping[Address, LiveResource]
    """Live resources that correspond to a desired address (managed or name-matched) or that carry this
    stack's ownership tags (orphans: in the account, no longer in the manifests)."""
    s3_etags: Mapping[str, str] = field(default_factory=dict)
    """ETag of each dataImport.dataLocation object the stack declares (missing key: object not found)."""
    account_id: str | None = None
    region: str | None = None
    now: float = 0.0
    """When the state was read (epoch seconds, from the injected clock); the planner uses it for maxAge."""
    unmanaged_children: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Parent ARN -> what it holds that this stack does not manage (`EventTracker x`): blocks a delete."""
    interrupted: InterruptedRun | None = None
    """`--retrain` trainings of an apply that did not complete: a new `--retrain` of them continues those."""
