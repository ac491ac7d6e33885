"""Raw describe output -> manifest specs (pure: no AWS calls, no clock, no I/O).

Per kind, the live resource is turned into the spec a manifest would hold so that `plan` finds nothing to
change: references become logical names (physical name minus the stack's namePrefix), values equal to the
API's defaults are left out, and settings the service applied by default are written explicitly when the
manifest format's default differs (`performAutoTraining: true`). What AWS cannot tell (the tool's training
policy) is inferred from the resource's history and explained in a comment.

Every mapped resource is checked: the handler's comparable fields of the generated spec must equal those of
the live resource (the same comparison `plan` makes). A difference is reported, never hidden.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from reconciler.importer.read import JOB_KINDS, GroupSnapshot, RawResource
from reconciler.model.address import Address, Kind, SourceLocation
from reconciler.model.spec import (
    AvroSchema,
    CampaignSpec,
    DatasetGroupSpec,
    DatasetSpec,
    EventTrackerSpec,
    FilterSpec,
    Lifecycle,
    MetricAttributionSpec,
    RecommenderSpec,
    SchemaSpec,
    SolutionSpec,
    Spec,
    TrainingPolicy,
)
from reconciler.model.state import TAG_NAME, TAG_STACK, DesiredResource, LiveResource
from reconciler.resources.base import (
    DELETING,
    RefContext,
    clean,
    comparable_tags,
    drop_defaults,
    flatten,
    norm_status,
)
from reconciler.resources.campaign import DEFAULTS as CAMPAIGN_DEFAULTS
from reconciler.resources.recommender import STOPPED
from reconciler.resources.registry import REGISTRY

NAME_PATTERN = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9\-_]*$")
TOOL_TAG_PREFIX = "personalize-gitops:"
#: Manifest order of kinds inside a dataset group's file.
KIND_ORDER = (
    Kind.DATASET_GROUP,
    Kind.SCHEMA,
    Kind.DATASET,
    Kind.SOLUTION,
    Kind.CAMPAIGN,
    Kind.FILTER,
    Kind.EVENT_TRACKER,
    Kind.RECOMMENDER,
    Kind.METRIC_ATTRIBUTION,
)


class Unrepresentable(Exception):
    """The resource cannot be written as a manifest (yet); the message says why."""


@dataclass
class Imported:
    """One live resource as a manifest resource."""

    address: Address
    arn: str
    physical_name: str
    spec: Spec
    tags: dict[str, str]
    group: str
    """Logical name of its dataset group (the file it is written to)."""
    comments: list[str] = field(default_factory=list)
    live: LiveResource | None = None


@dataclass(frozen=True)
class Skipped:
    kind: str
    """A `Kind`, or a job kind (`BatchInferenceJob`...)."""
    name: str
    arn: str
    reason: str
    group: str = ""
    """Logical name of the imported dataset group it belongs to ("" when its group is not imported)."""

    def __str__(self) -> str:
        return f"{self.kind} {self.name} ({self.arn}): {self.reason}"


@dataclass
class ImportResult:
    stack: str
    prefix: str
    region: str
    account: str | None
    resources: list[Imported] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    """Logical names of the imported dataset groups, in order."""

    def of_group(self, group: str) -> list[Imported]:
        rank = {k: i for i, k in enumerate(KIND_ORDER)}
        return sorted(
            (r for r in self.resources if r.group == group),
            key=lambda r: (rank[r.address.kind], r.address.name),
        )


def desired_resource(item: Imported, prefix: str, file: str = "<import>") -> DesiredResource:
    return DesiredResource(
        address=item.address,
        spec=item.spec,
        physical_name=prefix + item.address.name
        if item.physical_name.startswith(prefix)
        else item.physical_name,
        tags=dict(item.tags),
        lifecycle=Lifecycle(),
        source=SourceLocation(file),
    )


def when(epoch: Any) -> str:
    if not isinstance(epoch, int | float) or not epoch:
        return "?"
    return datetime.fromtimestamp(float(epoch), tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def short_id(version_arn: str) -> str:
    return version_arn.rsplit("/", 1)[-1]


# --- naming --------------------------------------------------------------------------------------------


def logical_name(raw: RawResource, prefix: str, stack: str) -> str:
    """The manifest name: the ownership tag's name when this stack already manages it, else the physical
    name without the prefix."""
    if raw.tags.get(TAG_STACK) == stack and raw.tags.get(TAG_NAME):
        return raw.tags[TAG_NAME]
    name = raw.name
    if prefix:
        if not name.startswith(prefix):
            if raw.kind is Kind.SCHEMA:
                return name  # found through the dataset that uses it, whatever its name
            raise Unrepresentable(
                f"its name does not start with the name prefix {prefix!r}, so the stack could not find it "
                "by name; import without --name-prefix (or with a prefix all these names share)"
            )
        name = name[len(prefix) :]
    if not name or len(name) > 63 or not NAME_PATTERN.match(name):
        raise Unrepresentable(
            f"{name!r} is not a valid manifest name once the prefix {prefix!r} is removed; "
            "use a prefix that ends with a separator (e.g. 'dev-')"
        )
    return name


# --- per-kind specs --------------------------------------------------------------------------------------

Refs = Callable[[Any], str]
"""ARN -> logical name of an imported resource (raises Unrepresentable for others)."""


@dataclass
class _Context:
    refs: Refs
    snapshot: GroupSnapshot
    solutions: dict[str, RawResource]
    """Solution ARN -> raw solution (for campaigns)."""
    serving: dict[str, list[tuple[str, str]]]
    """Solution ARN -> [(campaign name, serving version ARN)]."""
    warnings: list[str] = field(default_factory=list)
    """What the first plans after adoption will do beyond adopting (shared with ImportResult.warnings)."""


def _validate(model: type[Any], data: Mapping[str, Any]) -> Any:
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'spec'}: {error['msg']}"
            for error in exc.errors()[:3]
        )
        raise Unrepresentable(f"the manifest format cannot hold its settings yet ({problems})") from exc


def _strip(value: Any) -> Any:
    """clean() that also treats empty strings as unset."""
    if isinstance(value, Mapping):
        return clean({k: _strip(v) for k, v in value.items() if v != ""})
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def dataset_group_spec(raw: RawResource, ctx: _Context) -> tuple[Spec, list[str]]:
    f = raw.fields
    spec = _validate(DatasetGroupSpec, _strip({k: f.get(k) for k in ("domain", "kmsKeyArn", "roleArn")}))
    return spec, []


def schema_spec(raw: RawResource, ctx: _Context) -> tuple[Spec, list[str]]:
    text = raw.fields.get("schema")
    try:
        avro = json.loads(text) if isinstance(text, str) else None
    except ValueError as exc:
        raise Unrepresentable("its schema text is not valid JSON") from exc
    if not isinstance(avro, Mapping):
        raise Unrepresentable("its schema is not an Avro record")
    record = _validate(AvroSchema, avro)
    spec = _validate(
        SchemaSpec, _strip({"avro": record.model_dump(exclude_none=True), "domain": raw.fields.get("domain")})
    )
    notes = []
    if any(
        isinstance(f, Mapping) and "default" in f and f["default"] is None for f in avro.get("fields", [])
    ):
        notes.append(
            "`default: null` of nullable fields is not kept by the manifest format (no effect on adoption)"
        )
    return spec, notes


def dataset_spec(raw: RawResource, ctx: _Context) -> tuple[Spec, list[str]]:
    f = raw.fields
    data: dict[str, Any] = {
        "datasetGroup": ctx.refs(f.get("datasetGroupArn")),
        "datasetType": str(f.get("datasetType", "")).upper(),
        "schema": ctx.refs(f.get("schemaArn")),
    }
    notes: list[str] = []
    job = raw.import_job
    if job is None:
        notes.append("no import job: the dataset is empty, so no dataImport is written")
    else:
        source = job.get("dataSource") or {}
        data["dataImport"] = _strip(
            {
                "dataLocation": source.get("dataLocation"),
                "roleArn": job.get("roleArn"),
                "importMode": job.get("importMode"),
                "publishAttributionMetricsToS3": job.get("publishAttributionMetricsToS3") or None,
            }
        )
        status = norm_status(job.get("status"))
        if status in REGISTRY[Kind.DATASET].in_progress:
            notes.append(f"import job {job.get('jobName')} is still running ({status}); plan waits for it")
        elif status != "ACTIVE":
            ctx.warnings.append(
                f"Dataset {raw.name} has no successful import (newest: {status}); once adopted, plan imports "
                f"{source.get('dataLocation')}"
            )
        total = len(raw.imports)
        notes.append(
            f"dataImport: from import job {job.get('jobName')} "
            f"({status}, {when(job.get('creationDateTime'))})"
            + (f"; {total} import jobs in total" if total > 1 else "")
        )
        notes.append(
            "no trigger: adoption imports nothing; change dataImport.trigger (or the S3 object, once "
            "the tool has imported it) to import again"
        )
    spec = _validate(DatasetSpec, data)
    return spec, notes


def _active(versions: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [v for v in versions if norm_status(v.get("status")) == "ACTIVE"]


def _group_imported_after(snapshot: GroupSnapshot, since: float) -> list[str]:
    """Datasets of the group with a successful import that finished after `since`."""
    late = []
    for dataset in snapshot.of_kind(Kind.DATASET):
        for job in dataset.imports:
            done = job.get("lastUpdatedDateTime")
            if norm_status(job.get("status")) == "ACTIVE" and isinstance(done, int | float) and done > since:
                late.append(dataset.name)
                break
    return late


def solution_spec(raw: RawResource, ctx: _Context) -> tuple[Spec, list[str]]:
    f = raw.fields
    automl = bool(f.get("performAutoML"))
    auto_training = bool(f.get("performAutoTraining"))
    config = dict(_strip(f.get("solutionConfig") or {}))
    if not auto_training:
        config.pop("autoTrainingConfig", None)
    data: dict[str, Any] = {
        "datasetGroup": ctx.refs(f.get("datasetGroupArn")),
        "recipeArn": None if automl else f.get("recipeArn"),
        "performHPO": bool(f.get("performHPO")),
        "performAutoML": automl,
        "performAutoTraining": auto_training,
        "performIncrementalUpdate": f.get("performIncrementalUpdate") or None,
        "eventType": f.get("eventType") or None,
        "solutionConfig": config or None,
    }
    notes: list[str] = []
    if auto_training:
        schedule = (config.get("autoTrainingConfig") or {}).get("schedulingExpression")
        notes.append(
            "performAutoTraining: true is what live has (the service turns it on when CreateSolution "
            f"does not say otherwise; it trains {'on ' + schedule if schedule else 'every 7 days'}, "
            "billed). Kept so the plan shows no change; set it to false to retrain only when a plan "
            "says why"
        )
    versions = raw.versions
    active = _active(versions)
    policy: dict[str, Any] = {}
    if active:
        newest = active[0]
        late = _group_imported_after(ctx.snapshot, float(newest.get("creationDateTime") or 0.0))
        if late:
            policy["retrainOnDataChange"] = False
            notes.append(
                "training.retrainOnDataChange: false (inferred): data was imported into "
                + ", ".join(sorted(late))
                + " after the newest version was trained, and true would retrain at the first apply; "
                "set it to true (or use --retrain) when you want that"
            )
        else:
            notes.append(
                "training policy (inferred, AWS does not record one): retrain when new data is imported "
                "(the default); no maxAge, no trigger"
            )
        notes.append(
            f"newest ACTIVE version: {short_id(str(newest['solutionVersionArn']))} "
            f"({newest.get('trainingMode') or 'FULL'}, {newest.get('trainingType') or 'MANUAL'}, "
            f"{when(newest.get('creationDateTime'))}); {len(versions)} version(s) in total"
        )
    else:
        newest_status = norm_status(versions[0].get("status")) if versions else ""
        if newest_status in ("CREATE PENDING", "CREATE IN_PROGRESS"):
            notes.append(f"no ACTIVE version yet; one is training ({newest_status})")
        else:
            shown = f"{len(versions)} version(s), newest {newest_status}" if versions else "no version"
            notes.append(f"no ACTIVE version ({shown})")
            ctx.warnings.append(
                f"Solution {raw.name} has no ACTIVE version: once adopted, plan trains one (billed)"
            )
    for campaign, version in ctx.serving.get(raw.arn, []):
        notes.append(f"serving: campaign {campaign} serves {version}")
    data["training"] = TrainingPolicy(**policy) if policy else None
    spec = _validate(SolutionSpec, {k: v for k, v in data.items() if v is not None})
    return spec, notes


def campaign_spec(raw: RawResource, ctx: _Context) -> tuple[Spec, list[str]]:
    f = raw.fields
    version = str(f.get("solutionVersionArn") or "")
    solution_arn = version.rsplit("/", 1)[0]
    config = drop_defaults({"campaignConfig": _strip(f.get("campaignConfig") or {})}, CAMPAIGN_DEFAULTS)
    data: dict[str, Any] = {
        "solution": ctx.refs(solution_arn),
        "minProvisionedTPS": f.get("minProvisionedTPS") or 1,
        **config,
    }
    notes = [f"serves solution version {version}"]
    solution = ctx.solutions.get(solution_arn)
    if solution is not None and not version.endswith("/$LATEST"):
        served = next((v for v in solution.versions if v.get("solutionVersionArn") == version), None)
        if served is not None:
            notes[0] += (
                f" ({served.get('trainingMode') or 'FULL'}, trained {when(served.get('creationDateTime'))})"
            )
        active = _active(solution.versions)
        if active and active[0].get("solutionVersionArn") != version:
            newer = short_id(str(active[0]["solutionVersionArn"]))
            # Pinned, so that adoption does not move a campaign someone may have rolled back on purpose.
            data["solutionVersion"] = short_id(version)
            ctx.warnings.append(
                f"Campaign {raw.name} serves {short_id(version)} but its solution has a newer ACTIVE version "
                f"{newer}: pinned to {short_id(version)} (solutionVersion) so adoption does not move it"
            )
            notes.append(
                f"pinned (inferred): a newer ACTIVE version ({newer}) exists; remove solutionVersion to let "
                "plan promote new versions (through a promotion gate if you add one)"
            )
    spec = _validate(CampaignSpec, data)
    return spec, notes


def filter_spec(raw: RawResource, ctx: _Context) -> tuple[Spec, list[str]]:
    f = raw.fields
    data = {"datasetGroup": ctx.refs(f.get("datasetGroupArn")), "filterExpression": f.get("filterExpression")}
    return _validate(FilterSpec, data), []


def event_tracker_spec(raw: RawResource, ctx: _Context) -> tuple[Spec, list[str]]:
    spec = _validate(EventTrackerSpec, {"datasetGroup": ctx.refs(raw.fields.get("datasetGroupArn"))})
    return spec, ["trackingId: written to the stack outputs after apply (not to manifests)"]


def recommender_spec(raw: RawResource, ctx: _Context) -> tuple[Spec, list[str]]:
    f = raw.fields
    handler = REGISTRY[Kind.RECOMMENDER]
    config = drop_defaults(
        {"recommenderConfig": _strip(f.get("recommenderConfig") or {})}, getattr(handler, "defaults", {})
    )
    running = norm_status(raw.status) not in STOPPED
    data: dict[str, Any] = {
        "datasetGroup": ctx.refs(f.get("datasetGroupArn")),
        "recipeArn": f.get("recipeArn"),
        **config,
        "running": running,
    }
    notes = [] if running else ["running: false: the recommender is stopped (not billed)"]
    return _validate(RecommenderSpec, data), notes


def metric_attribution_spec(raw: RawResource, ctx: _Context) -> tuple[Spec, list[str]]:
    f = raw.fields
    metrics = [
        {
            "eventType": m.get("eventType"),
            "metricName": m.get("metricName"),
            "expression": m.get("expression"),
        }
        for m in f.get("metrics") or []
    ]
    data = {
        "datasetGroup": ctx.refs(f.get("datasetGroupArn")),
        "metrics": sorted(metrics, key=lambda m: str(m["metricName"])),
        "metricsOutputConfig": _strip(f.get("metricsOutputConfig") or {}),
    }
    return _validate(MetricAttributionSpec, data), []


BUILDERS: dict[Kind, Callable[[RawResource, _Context], tuple[Spec, list[str]]]] = {
    Kind.DATASET_GROUP: dataset_group_spec,
    Kind.SCHEMA: schema_spec,
    Kind.DATASET: dataset_spec,
    Kind.SOLUTION: solution_spec,
    Kind.CAMPAIGN: campaign_spec,
    Kind.FILTER: filter_spec,
    Kind.EVENT_TRACKER: event_tracker_spec,
    Kind.RECOMMENDER: recommender_spec,
    Kind.METRIC_ATTRIBUTION: metric_attribution_spec,
}


# --- the whole import ------------------------------------------------------------------------------------


def user_tags(tags: Mapping[str, str]) -> dict[str, str]:
    """Tags a manifest should carry: everything but the tool's own and AWS-reserved ones."""
    return {k: v for k, v in sorted(comparable_tags(tags).items()) if not k.startswith(TOOL_TAG_PREFIX)}


@dataclass
class _Mapper:
    result: ImportResult
    names: dict[str, Address] = field(default_factory=dict)
    """ARN -> address of every resource that is imported (or about to be)."""
    taken: dict[Address, str] = field(default_factory=dict)
    skipped_arns: dict[str, str] = field(default_factory=dict)
    current_group: str = ""

    def skip(self, raw: RawResource, reason: str) -> None:
        self.result.skipped.append(Skipped(raw.kind, raw.name, raw.arn, reason, self.current_group))
        self.skipped_arns[raw.arn] = reason

    def refs(self, arn: Any) -> str:
        text = str(arn or "")
        address = self.names.get(text)
        if address is None:
            why = self.skipped_arns.get(text)
            target = text.rsplit("/", 1)[-1] or "?"
            raise Unrepresentable(
                f"it refers to {target}, which is not imported" + (f" ({why})" if why else "")
            )
        return address.name

    def claim(self, raw: RawResource) -> Address | None:
        """Give `raw` its logical address, or skip it (bad name, status, or a name taken twice)."""
        status = raw.status
        if status in DELETING:
            self.skip(raw, f"it is being deleted ({status})")
            return None
        if status in REGISTRY[raw.kind].failed:
            self.skip(
                raw,
                f"its creation failed ({status}: {raw.fields.get('failureReason') or 'no reason'}); "
                "delete it, or let the tool create it from a manifest",
            )
            return None
        owner = raw.tags.get(TAG_STACK)
        if owner and owner != self.result.stack:
            self.result.warnings.append(
                f"{raw.kind.value} {raw.name} is managed by stack {owner!r}; plan refuses it under stack "
                f"{self.result.stack!r} (import with --stack-name {owner} to continue that stack)"
            )
        try:
            name = logical_name(raw, self.result.prefix, self.result.stack)
        except Unrepresentable as exc:
            self.skip(raw, str(exc))
            return None
        address = Address(raw.kind, name)
        if address in self.taken and self.taken[address] != raw.arn:
            self.skip(raw, f"its manifest name {name!r} is already used by {self.taken[address]}")
            return None
        self.taken[address] = raw.arn
        self.names[raw.arn] = address
        return address

    def add(self, raw: RawResource, address: Address, group: str, ctx: _Context) -> Imported | None:
        try:
            spec, notes = BUILDERS[raw.kind](raw, ctx)
        except Unrepresentable as exc:
            self.names.pop(raw.arn, None)
            self.taken.pop(address, None)
            self.skip(raw, str(exc))
            return None
        if norm_status(raw.status) in REGISTRY[raw.kind].in_progress:
            self.result.warnings.append(f"{address} is {raw.status}; plan waits for it")
        item = Imported(
            address=address,
            arn=raw.arn,
            physical_name=raw.name,
            spec=spec,
            tags=user_tags(raw.tags) if REGISTRY[raw.kind].taggable else {},
            group=group,
            comments=[f"{raw.kind.value} {raw.name}: {raw.arn}", *notes],
            live=LiveResource(
                kind=raw.kind,
                arn=raw.arn,
                name=raw.name,
                status=raw.status,
                fields=raw.fields,
                tags=raw.tags,
                address=address,
                managed=raw.tags.get(TAG_STACK) == self.result.stack,
            ),
        )
        if raw.kind is Kind.SCHEMA and not raw.name.startswith(self.result.prefix):
            item.comments.append(
                "its name does not carry the stack's prefix: it is found through the datasets that use it"
            )
        self.result.resources.append(item)
        return item

    def group(self, snapshot: GroupSnapshot) -> None:
        self.current_group = ""
        group_address = self.claim(snapshot.group)
        if group_address is None:
            for child in snapshot.children:
                self.skip(child, f"its dataset group {snapshot.group.name} is not imported")
            return
        solutions = {s.arn: s for s in snapshot.of_kind(Kind.SOLUTION)}
        serving: dict[str, list[tuple[str, str]]] = {}
        for campaign in snapshot.of_kind(Kind.CAMPAIGN):
            version = str(campaign.fields.get("solutionVersionArn") or "")
            serving.setdefault(version.rsplit("/", 1)[0], []).append((campaign.name, version))
        ctx = _Context(self.refs, snapshot, solutions, serving, self.result.warnings)
        name = group_address.name
        self.current_group = name
        self.result.groups.append(name)
        self.add(snapshot.group, group_address, name, ctx)
        for arn in sorted(snapshot.schemas, key=lambda a: snapshot.schemas[a].name):
            schema = snapshot.schemas[arn]
            if arn in self.names:
                continue  # shared with a group imported before
            address = self.claim(schema)
            if address is not None:
                self.add(schema, address, name, ctx)
        rank = {k: i for i, k in enumerate(KIND_ORDER)}
        for child in sorted(snapshot.children, key=lambda c: (rank[c.kind], c.name)):
            address = self.claim(child)
            if address is not None:
                self.add(child, address, name, ctx)
        for kind, jobs in snapshot.jobs.items():
            arn_key = JOB_KINDS[kind][2]
            newest = jobs[0]
            self.result.skipped.append(
                Skipped(
                    kind,
                    f"{newest.get('jobName', '?')}" + (f" and {len(jobs) - 1} more" if len(jobs) > 1 else ""),
                    str(newest.get(arn_key, "")),
                    "jobs are one-off runs, not declarative resources: manifests do not manage them "
                    "(their output stays where they wrote it)",
                    name,
                )
            )


def map_snapshots(
    snapshots: Iterable[GroupSnapshot], *, stack: str, prefix: str, region: str, account: str | None
) -> ImportResult:
    """Every resource of `snapshots` as a manifest resource (or a Skipped with a reason), self-checked."""
    result = ImportResult(stack=stack, prefix=prefix, region=region, account=account)
    mapper = _Mapper(result)
    for snapshot in snapshots:
        mapper.group(snapshot)
    self_check(result)
    return result


def ref_context(result: ImportResult) -> RefContext:
    """The ARN <-> logical name context of the imported resources (campaigns serve their live version)."""
    arns = {r.address: r.arn for r in result.resources}
    versions: dict[str, str] = {}
    for item in result.resources:
        if (
            item.address.kind is Kind.CAMPAIGN
            and isinstance(item.spec, CampaignSpec)
            and item.live is not None
        ):
            versions[item.spec.solution] = str(item.live.fields.get("solutionVersionArn") or "")
    return RefContext(
        region=result.region,
        account=result.account or "000000000000",
        stack=result.stack,
        arns=arns,
        addresses={arn: address for address, arn in arns.items()},
        physical_names={
            r.address: desired_resource(r, result.prefix).physical_name for r in result.resources
        },
        solution_versions=versions,
    )


def self_check(result: ImportResult) -> None:
    """Compare each generated spec with its live resource the way `plan` does; report any difference."""
    ctx = ref_context(result)
    for item in result.resources:
        if item.live is None:
            continue
        handler = REGISTRY[item.address.kind]
        res = desired_resource(item, result.prefix)
        want = flatten(handler.desired_fields(res, ctx))
        have = flatten(handler.live_fields(item.live, ctx))
        for path in sorted(set(want) | set(have)):
            if want.get(path) != have.get(path):
                message = (
                    f"{item.address}: the manifest does not reproduce live {path} "
                    f"(live {have.get(path)!r}, manifest {want.get(path)!r}); plan will show a change"
                )
                result.warnings.append(message)
                item.comments.append("CHECK: " + message.split(": ", 1)[1])
