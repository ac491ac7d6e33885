"""The contract every resource handler fulfils, plus the shared table-driven implementation.

A handler knows one Personalize resource kind: which boto3 operations read and write it, which spec fields
the API updates in place (everything else forces a replacement), how to turn a manifest spec and a describe
response into *comparable* dicts in spec terms, and how to build boto3 request kwargs. Handlers are pure:
no AWS calls, no clock, no I/O. The planner diffs `desired_fields` against `live_fields`; apply sends the
requests built here; the live reader uses the operation table.

Comparable dicts: keys are spec field names (camelCase, as in the API); references to other resources are
logical manifest names (ARNs are mapped back through `RefContext`); values equal to the API default are
dropped on both sides, so "equal" really means "nothing to do".
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel

from reconciler.model.address import Address, Kind
from reconciler.model.spec import Lifecycle
from reconciler.model.state import (
    LAST_IMPORT_TAGS,
    TAG_NAME,
    TAG_REASON,
    TAG_SOURCE_ETAG,
    TAG_SOURCE_SHA256,
    TAG_STACK,
    TAG_TRIGGER,
    DesiredResource,
    DesiredState,
    LiveResource,
    LiveState,
)
from reconciler.pricing import PriceTable

Cost = tuple[float | None, tuple[str, ...]]
"""(monthly minimum in USD or None when not estimated, notes for the plan)."""

#: Digest of the comparable desired fields the tool last applied (written on every create and update).
#: plan uses it to tell drift (live changed, manifests did not) from a manifest change.
TAG_SPEC_DIGEST = "personalize-gitops:spec-digest"

#: The manifest kind of a resource whose API another kind shares (written only by handlers with `kind_tag`):
#: the reader tells such kinds apart by it.
TAG_KIND = "personalize-gitops:kind"

#: Tags the tool writes for its own bookkeeping; they are not compared as user tags.
BOOKKEEPING_TAGS = frozenset(
    {TAG_SPEC_DIGEST, TAG_SOURCE_ETAG, TAG_SOURCE_SHA256, TAG_TRIGGER, TAG_REASON, TAG_KIND}
    | LAST_IMPORT_TAGS  # a dataset's import record (apply/data.py)
)

READY = frozenset({"ACTIVE"})
FAILED = frozenset({"CREATE FAILED", "DELETE FAILED"})
IN_PROGRESS = frozenset(
    {
        "CREATE PENDING",
        "CREATE IN_PROGRESS",
        "DELETE PENDING",
        "DELETE IN_PROGRESS",
        "UPDATE PENDING",
        "UPDATE IN_PROGRESS",
    }
)
DELETING = frozenset({"DELETE PENDING", "DELETE IN_PROGRESS"})


def norm_status(status: str | None) -> str:
    """`CREATE_PENDING` and `CREATE PENDING` are the same status (the docs use both spellings)."""
    if not status:
        return ""
    if status == "ACTIVE":  # most resources: the loop below would return it unchanged
        return status
    text = status.strip().upper()
    # Keep the single underscore in IN_PROGRESS: normalise the separator after the verb only.
    for verb in ("CREATE", "DELETE", "UPDATE", "STOP", "START"):
        if text.startswith(verb + "_"):
            return verb + " " + text[len(verb) + 1 :]
    return text


@dataclass(frozen=True, slots=True)
class Ops:
    """boto3 operation names and response keys for one kind."""

    create: str
    describe: str
    delete: str
    list: str
    list_key: str
    """Member of the List* response holding the summaries (`Filters` for list_filters)."""
    arn_key: str
    """ARN member in summaries, describe output and the describe/delete request (`campaignArn`)."""
    describe_key: str
    """Member of the Describe* response holding the resource (`campaign`)."""
    parent_param: str | None = None
    """Optional parent ARN parameter of List* (`datasetGroupArn`, `solutionArn`)."""
    update: str | None = None
    update_summary_key: str | None = None
    """Describe member holding the progress of the last Update* call (`latestCampaignUpdate`)."""


@dataclass(frozen=True, slots=True)
class JobOps:
    """A kind's asynchronous child jobs (solution versions, dataset import jobs) as apply waits for them."""

    lister: str
    """The `PersonalizeApi` reader of the jobs of one resource, newest first (`solution_versions`)."""
    live_field: str
    """The `LiveResource` member that holds them (`versions`)."""
    describe: str
    """Describe* of one job (`describe_solution_version`)."""
    describe_key: str
    """Member of that response holding the job (`solutionVersion`; its ARN parameter adds `Arn`)."""
    in_progress: frozenset[str]
    failed: frozenset[str]
    typical: Mapping[str, float]
    """Typical seconds per training mode; `""` for jobs without one (and the fallback)."""
    stop: str | None = None
    """Stop* of a running job, sent before the resource is deleted (None: wait for the jobs instead)."""
    stopped: frozenset[str] = frozenset()
    """Statuses a job ends in once stopped (with `stop`)."""
    records_version: bool = False
    """A job that finishes is the resource's newest version (what a campaign created next serves)."""

    def typical_for(self, mode: str | None) -> float:
        return self.typical.get(mode or "", self.typical.get("", 600.0))


class DataNeed(StrEnum):
    """What a kind's forward steps wait for in its dataset group's data (the datasets' own steps)."""

    NONE = "none"
    DATASETS = "datasets"
    """The group's datasets exist (created / updated / replaced)."""
    IMPORTS = "imports"
    """...and the imports this apply runs into them finished (a recommender trains when it is created)."""


@dataclass(frozen=True)
class RefContext:
    """ARN <-> logical name resolution, pure data. Built from the desired and live state by the planner,
    and again by apply after it re-reads resources (new ARNs, freshly trained versions)."""

    region: str
    account: str
    stack: str
    arns: Mapping[Address, str] = field(default_factory=dict)
    """Known (live) or predicted (deterministic ARN of a resource to be created) ARNs."""
    addresses: Mapping[str, Address] = field(default_factory=dict)
    """ARN -> address, for mapping describe output back to logical names."""
    physical_names: Mapping[Address, str] = field(default_factory=dict)
    solution_versions: Mapping[str, str] = field(default_factory=dict)
    """Solution logical name -> the solution version ARN a campaign created now should serve."""

    def arn(self, kind: Kind, name: str) -> str:
        """ARN of the resource with this logical name; a predicted ARN when it does not exist yet."""
        found = self.arns.get(Address(kind, name))
        if found is None:
            from reconciler.errors import PlanError

            raise PlanError(
                f"{kind.value}/{name}: its ARN is not known yet",
                hint="it is created by this plan; apply re-reads it before it is referenced",
            )
        return found

    def name_of(self, arn: str | None) -> str | None:
        """Logical name for an ARN; unknown ARNs map to their last path segment (the physical name)."""
        if not arn:
            return None
        address = self.addresses.get(arn)
        if address is not None:
            return address.name
        return arn.rsplit("/", 1)[-1]

    def solution_of_version(self, version_arn: str | None) -> str | None:
        """`…:solution/NAME/VERSION_ID` (or `/$LATEST`) -> logical name of the solution."""
        if not version_arn:
            return None
        return self.name_of(version_arn.rsplit("/", 1)[0])


@dataclass(frozen=True)
class StateView:
    """What a plan rule may read, pure data: the manifests, the account as read, ARN <-> name resolution."""

    desired: DesiredState
    live: LiveState
    ctx: RefContext


# --- comparable-dict helpers ----------------------------------------------------------------------------


_SCALARS = (str, int, float)


def clean(value: Any) -> Any:
    """Drop None values and empty containers, recursively. False and 0 are kept (they are values)."""
    if value is None or isinstance(value, _SCALARS):  # most values: answered before the slower ABC check
        return value
    if isinstance(value, Mapping):
        out: dict[Any, Any] = {}
        for key, item in value.items():
            kept = clean(item)
            if kept is not None and kept != {} and kept != []:
                out[key] = kept
        return out
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    return value


def drop_defaults(fields: dict[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """Remove dotted paths whose value equals the API default, then clean empty parents."""
    result = json_copy(fields)
    for path, default in defaults.items():
        parts = path.split(".")
        node = result
        for part in parts[:-1]:
            node = node.get(part) if isinstance(node, dict) else None
            if node is None:
                break
        if isinstance(node, dict) and parts[-1] in node and node[parts[-1]] == default:
            del node[parts[-1]]
    cleaned: dict[str, Any] = clean(result)
    return cleaned


def json_copy(value: Any) -> Any:
    """`json.loads(json.dumps(value))` without the text in between for the plain values comparable fields
    hold (dicts with string keys, lists, tuples, exact str/int/float/bool/None); anything else (a str
    subclass, a non-string key, another type) takes the round trip, so the result is always the same."""
    kind = type(value)
    if kind is str or kind is int or kind is float or kind is bool or value is None:
        return value
    if kind is dict and all(type(key) is str for key in value):
        return {key: json_copy(item) for key, item in value.items()}
    if kind is list or kind is tuple:
        return [json_copy(item) for item in value]
    return json.loads(json.dumps(value))


def flatten(fields: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts -> dotted paths. Lists are leaves (compared as a whole)."""
    out: dict[str, Any] = {}
    for key, value in fields.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(flatten(value, path + "."))
        else:
            out[path] = value
    return out


def field_differences(want: Mapping[str, Any], have: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """(path, live value, desired value) of every dotted leaf path (lists whole, as `flatten` spells them)
    whose comparable value differs, sorted by path. deepdiff finds where the two trees differ; each place it
    reports is cut at its first list index and expanded to the leaf paths around it."""
    if want == have:
        return []
    # imported here: deepdiff brings numpy and asyncio (0.15-0.2 s), which a no-op plan never needs
    from deepdiff import DeepDiff

    roots: set[str] = set()
    for items in DeepDiff(dict(have), dict(want), view="tree").values():
        for item in items:
            keys: list[str] = []
            for key in item.path(output_format="list"):
                if not isinstance(key, str):
                    break
                keys.append(key)
            roots.add(".".join(keys))
    flat_want, flat_have = flatten(want), flatten(have)
    found: list[tuple[str, Any, Any]] = []
    for path in sorted(set(flat_want) | set(flat_have)):
        before, after = flat_have.get(path), flat_want.get(path)
        if before != after and any(_related(path, root) for root in roots):
            found.append((path, before, after))
    return found


def _related(path: str, root: str) -> bool:
    """`path` is `root`, lies below it, or is a leaf above it (a value that became a dict)."""
    return not root or path == root or path.startswith(root + ".") or root.startswith(path + ".")


def spec_digest(fields: Mapping[str, Any]) -> str:
    """Short stable digest of comparable fields (recorded in TAG_SPEC_DIGEST)."""
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def contract_fingerprint(live: LiveResource) -> str:
    """What the plan read of a resource, as apply's precondition compares it: ARN, status, last update time,
    tags, newest solution version and newest import job (their ARNs: a training or import already running
    may finish meanwhile; a new one started by someone else is a change). The planner records it per
    change (`Change.read_fingerprint`); apply computes it again from a fresh read before the first step on
    the resource, and a difference stops that step ("changed since the plan: plan again")."""
    version = live.versions[0] if live.versions else None
    job = live.imports[0] if live.imports else None
    updated = live.fields.get("lastUpdatedDateTime")
    parts = [
        live.arn,
        norm_status(live.status) or "ACTIVE",
        f"{float(updated or 0.0):.3f}" if isinstance(updated, int | float | str) else "",
        json.dumps(sorted(live.tags.items())),
        version.arn if version else "",
        job.arn if job else "",
    ]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:20]


def tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"tagKey": k, "tagValue": v} for k, v in sorted(tags.items())]


def tags_from_list(items: list[Mapping[str, str]] | None) -> dict[str, str]:
    return {str(t["tagKey"]): str(t.get("tagValue", "")) for t in items or []}


def ownership_tags(res: DesiredResource, stack: str) -> dict[str, str]:
    return {TAG_STACK: stack, TAG_NAME: res.address.name}


OWNERSHIP_TAGS = 2
"""How many tags `ownership_tags` writes."""


#: Recorded on the live resource while its manifest sets `lifecycle.deletionProtection`: removing the manifest
#: alone cannot delete it (plan refuses); lifting protection is an explicit manifest change, applied first.
TAG_DELETION_PROTECTION = "personalize-gitops:deletion-protection"


def desired_tags(res: DesiredResource, stack: str) -> dict[str, str]:
    """User tags (stack defaults merged) plus the ownership tags (and the deletion-protection tag)."""
    tags = {**dict(res.tags), **ownership_tags(res, stack)}
    if res.lifecycle.deletionProtection:
        tags[TAG_DELETION_PROTECTION] = "true"
    return tags


def comparable_tags(tags: Mapping[str, str]) -> dict[str, str]:
    """Live tags without the tool's bookkeeping tags and AWS-reserved `aws:` tags."""
    return {k: v for k, v in tags.items() if k not in BOOKKEEPING_TAGS and not k.startswith("aws:")}


# --- the Protocol -----------------------------------------------------------------------------------------


@runtime_checkable
class ResourceHandler(Protocol):
    """Everything plan, live and apply need to know about one kind."""

    # -- kind declaration (what the manifest loader, validation and the live reader take from the registry) --

    @property
    def kind(self) -> Kind:
        """The manifest `kind:` (declared in the handler's file for a kind outside the built-in ones)."""
        ...

    @property
    def spec_model(self) -> type[BaseModel]:
        """The pydantic model of `spec:` (API camelCase names; references are logical names)."""
        ...

    @property
    def arn_type(self) -> str:
        """The ARN's resource type (`arn:aws:personalize:REGION:ACCOUNT:<arn_type>/<name>`)."""
        ...

    @property
    def summary_names_parent(self) -> bool:
        """Its List* summaries carry the parent's ARN (`parent_param`), so an account-wide list is filtered
        without a describe per item; False (the safe default) lists it account-wide only when every group
        of the account is the stack's."""
        ...

    @property
    def kind_tag(self) -> bool:
        """Another kind shares its API (e.g. both are Personalize filters): created resources carry
        TAG_KIND, and the reader assigns each listed resource to the kind its tag names."""
        ...

    @property
    def ops(self) -> Ops: ...

    @property
    def taggable(self) -> bool:
        """Accepts `tags` on create and Tag/UntagResource (schemas and metric attributions do not)."""
        ...

    def tool_tags(self, spec: BaseModel, lifecycle: Lifecycle) -> int:
        """The most `personalize-gitops:` tags the tool writes next to the user's tags on one request for a
        resource of this spec (its create, or a job it starts with the user's tags: imports, trainings):
        validation keeps that room under Personalize's 50 tags per resource."""
        ...

    @property
    def depends_on(self) -> tuple[Kind, ...]:
        """Kinds this kind references (create order)."""
        ...

    @property
    def references(self) -> Mapping[str, Kind]:
        """Spec field -> kind it names (`datasetGroup` -> DatasetGroup)."""
        ...

    @property
    def parent_field(self) -> str | None:
        """The reference whose ARN filters this kind's List* call (None: listed account-wide)."""
        ...

    @property
    def updatable_fields(self) -> tuple[str, ...]:
        """Dotted spec paths (prefixes) the API changes in place; `tags` is updatable for taggable kinds."""
        ...

    @property
    def ready(self) -> frozenset[str]: ...

    @property
    def failed(self) -> frozenset[str]: ...

    @property
    def in_progress(self) -> frozenset[str]: ...

    def desired_fields(self, res: DesiredResource, ctx: RefContext) -> dict[str, Any]:
        """Comparable fields of the manifest spec."""
        ...

    def live_fields(self, live: LiveResource, ctx: RefContext) -> dict[str, Any]:
        """Comparable fields of the describe output (same shape as desired_fields)."""
        ...

    def is_updatable(self, path: str, res: DesiredResource | None = None) -> bool:
        """True when a difference at `path` is applied in place."""
        ...

    def create_request(self, res: DesiredResource, ctx: RefContext) -> dict[str, Any]:
        """boto3 kwargs for the Create* call, incl. ownership and digest tags when the op accepts tags."""
        ...

    def update_request(
        self, res: DesiredResource, live: LiveResource, ctx: RefContext
    ) -> dict[str, Any] | None:
        """boto3 kwargs for the Update* call, or None when nothing updatable differs (or no Update* op)."""
        ...

    def update_request_for(
        self, res: DesiredResource, live: LiveResource, paths: frozenset[str], ctx: RefContext
    ) -> dict[str, Any] | None:
        """The Update* kwargs that apply exactly the planned updatable `paths` (None: nothing to send)."""
        ...

    def extra_requests(
        self, res: DesiredResource, live: LiveResource, ctx: RefContext
    ) -> list[tuple[str, dict[str, Any]]]:
        """Other in-place calls (Start/StopRecommender) as (operation, kwargs)."""
        ...

    def extra_requests_for(
        self, res: DesiredResource, live: LiveResource, paths: frozenset[str], ctx: RefContext
    ) -> list[tuple[str, dict[str, Any]]]:
        """The other in-place calls for exactly the planned `paths`."""
        ...

    def delete_request(self, arn: str) -> dict[str, Any]: ...

    def describe_request(self, arn: str) -> dict[str, Any]: ...

    def arn_for(
        self,
        physical_name: str,
        region: str,
        account: str,
        *,
        group_name: str | None = None,
        dataset_type: str | None = None,
    ) -> str | None:
        """The deterministic ARN (None where the service generates an id, e.g. event trackers)."""
        ...

    def update_in_progress(self, live: LiveResource) -> str | None:
        """Status of an Update* still running (from `latest*Update`), or None."""
        ...

    # -- plan rules --

    @property
    def holds_data(self) -> bool:
        """Deleting or replacing it deletes imported data, so it needs allowDataLoss."""
        ...

    @property
    def waits_for_group_data(self) -> bool:
        """Planned after the datasets of its dataset group and their imports (it uses their data)."""
        ...

    @property
    def data_flow(self) -> str | None:
        """The planner's data-lifecycle flow after the fields: "import", "train", "promote" or None."""
        ...

    @property
    def follows_new_parent(self) -> bool:
        """Moved to a parent replaced create-before-destroy by its own flow (promotion), not as a field."""
        ...

    def stops_traffic(self, view: StateView) -> bool:
        """Deleting or replacing it stops traffic that clients send to it (flagged destructive)."""
        ...

    def served_from(self, live: LiveResource, view: StateView) -> tuple[Address, ...]:
        """Live resources serving traffic from `live` (campaigns on one of its versions), sorted."""
        ...

    def users_of(self, live: LiveResource, view: StateView) -> set[Address]:
        """Live resources using `live`: naming its ARN in their describe output, or serving from it."""
        ...

    def delete_blockers(self, live: LiveResource, view: StateView) -> tuple[str, ...]:
        """What makes deleting `live` fail for good, read at plan time; each says what to do about it."""
        ...

    def replaces_first(self, live: LiveResource, view: StateView) -> bool:
        """A replacement creates the new one under a new name before the old one is deleted."""
        ...

    def updates_in_place(self, path: str, res: DesiredResource, live: LiveResource, view: StateView) -> bool:
        """A difference at `path` between `res` and `live` is applied in place (else it forces a replace)."""
        ...

    def repoints_in_place(self, ref: str, res: DesiredResource, live: LiveResource, view: StateView) -> bool:
        """The reference field `ref` moves in place to its replaced target (else `res` is replaced too)."""
        ...

    def create_cost(self, res: DesiredResource, prices: PriceTable) -> Cost:
        """Monthly minimum (None: not estimated) and cost notes of creating `res`."""
        ...

    def change_cost(
        self, res: DesiredResource, have: Mapping[str, Any], paths: tuple[str, ...], prices: PriceTable
    ) -> Cost:
        """Monthly minimum and cost notes of `res` after changing `paths` (none: it stays as it is)."""
        ...

    # -- apply rules --

    @property
    def typical_create(self) -> float:
        """Seconds a Create* usually takes to settle (paces polling; shown next to the elapsed time)."""
        ...

    @property
    def typical_update(self) -> float:
        """Seconds an Update* (the `latest*Update` it starts) usually takes."""
        ...

    @property
    def typical_delete(self) -> float:
        """Seconds a Delete* usually takes until the resource is gone."""
        ...

    @property
    def delete_rank(self) -> int:
        """Place in the reverse dependency order of deletes: every delete waits for those of lower rank."""
        ...

    @property
    def jobs(self) -> JobOps | None:
        """Child jobs apply waits for before the resource counts as settled (stopped first on delete)."""
        ...

    @property
    def in_use_by(self) -> tuple[Kind, ...]:
        """Kinds listed by this resource's ARN whose members keep apply from deleting it (its campaigns)."""
        ...

    @property
    def data_need(self) -> DataNeed:
        """What its apply steps wait for in its group's data (`holds_data` kinds; a training: the imports)."""
        ...

    def update_status(self, fields: Mapping[str, Any]) -> str | None:
        """Normalised status of the last Update* in a describe response (None: the kind has none)."""
        ...


# --- shared implementation ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableHandler:
    """A handler built from tables. Kind modules instantiate it (or subclass for special fields).

    `spec_fields` lists the spec attributes compared; `live_map` maps comparable keys to describe keys
    (default: same name); `defaults` lists dotted paths whose API default equals "not set".
    """

    kind: Kind
    ops: Ops
    arn_type: str
    spec_model: type[BaseModel] = field(kw_only=True)
    summary_names_parent: bool = False
    kind_tag: bool = False
    taggable: bool = True
    depends_on: tuple[Kind, ...] = ()
    references: Mapping[str, Kind] = field(default_factory=dict)
    parent_field: str | None = None
    updatable_fields: tuple[str, ...] = ()
    spec_fields: tuple[str, ...] = ()
    defaults: Mapping[str, Any] = field(default_factory=dict)
    ready: frozenset[str] = READY
    failed: frozenset[str] = FAILED
    in_progress: frozenset[str] = IN_PROGRESS
    create_fields: tuple[str, ...] = ()
    """Spec fields passed unchanged to Create* (references are resolved separately)."""
    # -- plan rules --
    holds_data: bool = False
    waits_for_group_data: bool = False
    data_flow: str | None = None
    follows_new_parent: bool = False
    serves_traffic: bool = False
    """Clients call it by ARN (campaigns, recommenders, event trackers, filters): see `stops_traffic`."""
    # -- apply rules (documented on the Protocol) --
    typical_create: float = 60.0
    typical_update: float = 300.0
    typical_delete: float = 60.0
    delete_rank: int = 0
    jobs: JobOps | None = None
    in_use_by: tuple[Kind, ...] = ()
    data_need: DataNeed = DataNeed.NONE

    # -- comparable fields --

    def _spec_dict(self, res: DesiredResource) -> dict[str, Any]:
        data: dict[str, Any] = res.spec.model_dump(by_alias=True, exclude_none=True)
        return data

    def desired_fields(self, res: DesiredResource, ctx: RefContext) -> dict[str, Any]:
        data = self._spec_dict(res)
        fields = {k: data.get(k) for k in self.spec_fields}
        return drop_defaults(fields, self.defaults)

    def live_fields(self, live: LiveResource, ctx: RefContext) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        for key in self.spec_fields:
            if key in self.references:
                fields[key] = ctx.name_of(live.fields.get(self.references_arn_key(key)))
            else:
                fields[key] = live.fields.get(key)
        return drop_defaults(fields, self.defaults)

    @staticmethod
    def references_arn_key(field_name: str) -> str:
        return field_name + "Arn"

    def is_updatable(self, path: str, res: DesiredResource | None = None) -> bool:
        if path == "tags" or path.startswith("tags."):
            return self.taggable
        return any(path == p or path.startswith(p + ".") for p in self.updatable_fields)

    # -- requests --

    def tool_tags(self, spec: BaseModel, lifecycle: Lifecycle) -> int:
        """Ownership (stack, name) and the spec digest; the kind where another kind shares the API; the
        deletion-protection marker when the manifest sets it (`tags_for_create`)."""
        return OWNERSHIP_TAGS + 1 + (1 if self.kind_tag else 0) + (1 if lifecycle.deletionProtection else 0)

    def tags_for_create(self, res: DesiredResource, ctx: RefContext) -> dict[str, str]:
        tags = {**desired_tags(res, ctx.stack), TAG_SPEC_DIGEST: spec_digest(self.desired_fields(res, ctx))}
        if self.kind_tag:
            tags[TAG_KIND] = self.kind.value
        return tags

    def create_request(self, res: DesiredResource, ctx: RefContext) -> dict[str, Any]:
        data = self._spec_dict(res)
        request: dict[str, Any] = {"name": res.physical_name}
        for ref, kind in self.references.items():
            request[self.references_arn_key(ref)] = ctx.arn(kind, str(data[ref]))
        for key in self.create_fields:
            if data.get(key) is not None:
                request[key] = data[key]
        if self.taggable:
            request["tags"] = tag_list(self.tags_for_create(res, ctx))
        return request

    def update_request(
        self, res: DesiredResource, live: LiveResource, ctx: RefContext
    ) -> dict[str, Any] | None:
        paths = frozenset(changed_updatable(self, res, live, ctx))
        return self.update_request_for(res, live, paths, ctx) if paths else None

    def update_request_for(
        self, res: DesiredResource, live: LiveResource, paths: frozenset[str], ctx: RefContext
    ) -> dict[str, Any] | None:
        return None

    def extra_requests(
        self, res: DesiredResource, live: LiveResource, ctx: RefContext
    ) -> list[tuple[str, dict[str, Any]]]:
        paths = frozenset(changed_updatable(self, res, live, ctx))
        return self.extra_requests_for(res, live, paths, ctx) if paths else []

    def extra_requests_for(
        self, res: DesiredResource, live: LiveResource, paths: frozenset[str], ctx: RefContext
    ) -> list[tuple[str, dict[str, Any]]]:
        return []

    def delete_request(self, arn: str) -> dict[str, Any]:
        return {self.ops.arn_key: arn}

    def describe_request(self, arn: str) -> dict[str, Any]:
        return {self.ops.arn_key: arn}

    def arn_for(
        self,
        physical_name: str,
        region: str,
        account: str,
        *,
        group_name: str | None = None,
        dataset_type: str | None = None,
    ) -> str | None:
        return f"arn:aws:personalize:{region}:{account}:{self.arn_type}/{physical_name}"

    # -- plan rules --

    def stops_traffic(self, view: StateView) -> bool:
        return self.serves_traffic

    def served_from(self, live: LiveResource, view: StateView) -> tuple[Address, ...]:
        return ()

    def users_of(self, live: LiveResource, view: StateView) -> set[Address]:
        users = set(self.served_from(live, view))
        for address, other in view.live.resources.items():
            if other.arn != live.arn and any(value == live.arn for value in other.fields.values()):
                users.add(address)
        return users

    def delete_blockers(self, live: LiveResource, view: StateView) -> tuple[str, ...]:
        children = view.live.unmanaged_children.get(live.arn, ())
        if not children:
            return ()
        return (
            f"cannot be deleted: it holds {', '.join(children)}, which this stack does not manage; delete "
            "them in the account (or add them to the manifests so the stack deletes them), then plan again",
        )

    def replaces_first(self, live: LiveResource, view: StateView) -> bool:
        return False

    def updates_in_place(self, path: str, res: DesiredResource, live: LiveResource, view: StateView) -> bool:
        return self.is_updatable(path, res)

    def repoints_in_place(self, ref: str, res: DesiredResource, live: LiveResource, view: StateView) -> bool:
        return False

    def create_cost(self, res: DesiredResource, prices: PriceTable) -> Cost:
        return None, ()

    def change_cost(
        self, res: DesiredResource, have: Mapping[str, Any], paths: tuple[str, ...], prices: PriceTable
    ) -> Cost:
        return None, ()

    def update_in_progress(self, live: LiveResource) -> str | None:
        key = self.ops.update_summary_key
        if not key:
            return None
        summary = live.fields.get(key)
        if not isinstance(summary, Mapping):
            return None
        status = norm_status(summary.get("status"))
        return f"update {status}" if status in self.in_progress else None

    def update_status(self, fields: Mapping[str, Any]) -> str | None:
        key = self.ops.update_summary_key
        summary = fields.get(key) if key else None
        return norm_status(str(summary.get("status"))) if isinstance(summary, Mapping) else None


def changed_updatable(
    handler: ResourceHandler,
    res: DesiredResource,
    live: LiveResource,
    ctx: RefContext,
    prefixes: tuple[str, ...] | None = None,
) -> set[str]:
    """Top-level updatable spec fields whose comparable value differs (ignoreChanges applied)."""
    desired = handler.desired_fields(res, ctx)
    current = handler.live_fields(live, ctx)
    ignored = tuple(res.lifecycle.ignoreChanges)
    changed: set[str] = set()
    for path, _before, _after in field_differences(desired, current):
        if any(path == i or path.startswith(i + ".") for i in ignored):
            continue
        if handler.is_updatable(path, res) and (
            prefixes is None or any(path.startswith(p) for p in prefixes)
        ):
            changed.add(path)
    return changed


def tag_requests(
    res: DesiredResource, live: LiveResource, ctx: RefContext, digest: str | None
) -> list[tuple[str, dict[str, Any]]]:
    """TagResource / UntagResource calls that make the live tags match the desired ones (plus the digest)."""
    want = desired_tags(res, ctx.stack)
    if digest is not None:
        want[TAG_SPEC_DIGEST] = digest
    have = dict(live.tags)
    add = {k: v for k, v in want.items() if have.get(k) != v}
    remove = sorted(k for k in comparable_tags(have) if k not in want)
    calls: list[tuple[str, dict[str, Any]]] = []
    if add:
        calls.append(("tag_resource", {"resourceArn": live.arn, "tags": tag_list(add)}))
    if remove:
        calls.append(("untag_resource", {"resourceArn": live.arn, "tagKeys": remove}))
    return calls


Normaliser = Callable[[dict[str, Any]], dict[str, Any]]
