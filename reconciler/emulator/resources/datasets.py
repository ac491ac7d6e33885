"""Dataset groups, schemas, datasets and the data jobs (import, export, deletion)."""

from __future__ import annotations

import json
from typing import Any

from ..access import INSUFFICIENT, import_failure, read_access_problem
from ..data import DataLimitExceeded
from ..errors import already_exists, invalid
from ..kinds import IN_FLIGHT
from ..s3data import DataStats, ImportFailure, parse_csv, read_objects, split_s3_url
from ..state import Context, Record, require, update_in_progress
from .registry import DELETE_CHECKS, ON_REMOVE, ON_STATUS, ON_UPDATE_ACTIVE, UPDATE_FIELDS, op

DATASET_TYPES = {t.upper(): t for t in ("INTERACTIONS", "ITEMS", "USERS", "ACTIONS", "ACTION_INTERACTIONS")}
REQUIRED_FIELDS = {
    "INTERACTIONS": ("USER_ID", "ITEM_ID", "TIMESTAMP"),
    "ITEMS": ("ITEM_ID",),
    "USERS": ("USER_ID",),
    "ACTIONS": ("ACTION_ID",),
    "ACTION_INTERACTIONS": ("USER_ID", "ACTION_ID", "TIMESTAMP", "EVENT_TYPE"),
}
UPDATE_FIELDS["dataset"] = "latestDatasetUpdate"


def unique_name(ctx: Context, kind: str, name: str, **scope: Any) -> None:
    field = "jobName" if kind.endswith("_job") else "name"
    if ctx.where(kind, **{field: name}, **scope):
        raise already_exists(f"A {kind.replace('_', ' ')} named {name} already exists.")


def active_group(ctx: Context, arn: str) -> Record:
    group = ctx.get_active("dataset_group", arn, "dataset group")
    return group


def parse_avro(text: str) -> list[dict[str, Any]]:
    """The fields of an Avro record schema (``[{"name", "type", "nullable"}]``); InvalidInput when bad."""
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise invalid(f"The schema is not valid JSON: {exc}.") from exc
    if not isinstance(doc, dict) or doc.get("type") != "record":
        raise invalid('The schema must be an Avro record: {"type": "record", "name": ..., "fields": [...]}.')
    fields = doc.get("fields")
    if not isinstance(fields, list) or not fields:
        raise invalid("The schema must declare a non-empty list of fields.")
    out = []
    for i, f in enumerate(fields):
        if not isinstance(f, dict) or not isinstance(f.get("name"), str) or "type" not in f:
            raise invalid(f"Schema field {i} must be an object with a name and a type.")
        ftype = f["type"]
        nullable = isinstance(ftype, list) and "null" in ftype
        out.append({"name": f["name"], "type": ftype, "nullable": nullable})
    names = [f["name"].upper() for f in out]
    if len(set(names)) != len(names):
        raise invalid("The schema declares a field more than once.")
    return out


def data_generation(ctx: Context, group_arn: str) -> int:
    """How many times data arrived in a dataset group (completed imports, Put* calls)."""
    group = ctx.find("dataset_group", group_arn)
    return int((group or {}).get("_dataGeneration", 0))


def note_new_data(ctx: Context, group_arn: str) -> None:
    """Data arrived in a dataset group: the next automatic training has something new to learn from."""
    group = ctx.find("dataset_group", group_arn)
    if group is not None:
        group["_dataGeneration"] = int(group.get("_dataGeneration", 0)) + 1


# ---- dataset group ----------------------------------------------------------------------------------
@op("CreateDatasetGroup")
def create_dataset_group(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    name = params["name"]
    unique_name(ctx, "dataset_group", name)
    if params.get("kmsKeyArn") and not params.get("roleArn"):
        raise invalid("A roleArn is required when you specify a kmsKeyArn.")
    ctx.quota(
        "dataset_groups_per_region", len(ctx.live("dataset_group")), "active dataset groups in this region"
    )
    arn = ctx.arn("dataset_group", name)
    fields = {k: params.get(k) for k in ("name", "roleArn", "kmsKeyArn", "domain")}
    record = ctx.insert("dataset_group", arn, fields, params.get("tags", []))
    reason = ctx.emulator.control.take_failure("dataset_group", [name, arn])
    ctx.start_create("dataset_group", record, ctx.emulator.profile.create_seconds("dataset_group"), reason)
    return {"datasetGroupArn": arn, "domain": params.get("domain")}


def _group_children(ctx: Context, record: Record) -> None:
    arn = record["datasetGroupArn"]
    for kind in ("dataset", "solution", "event_tracker", "recommender", "filter", "metric_attribution"):
        children = ctx.where(kind, datasetGroupArn=arn)
        require(
            not children,
            f"Dataset group {arn} still has {len(children)} {kind.replace('_', ' ')}(s); delete them first "
            "(event trackers, solutions, recommenders, filters, metric attributions, then datasets).",
        )


DELETE_CHECKS["dataset_group"] = _group_children


# ---- schema -----------------------------------------------------------------------------------------
@op("CreateSchema")
def create_schema(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    name = params["name"]
    unique_name(ctx, "schema", name)
    fields = parse_avro(params["schema"])
    ctx.quota("schemas_per_region", len(ctx.records("schema")), "schemas in this region")
    arn = ctx.arn("schema", name)
    ctx.insert(
        "schema",
        arn,
        {"name": name, "schema": params["schema"], "domain": params.get("domain"), "_fields": fields},
    )
    return {"schemaArn": arn}


def _schema_in_use(ctx: Context, record: Record) -> None:
    arn = record["schemaArn"]
    users = [
        d["datasetArn"]
        for d in ctx.records("dataset").values()
        if d.get("schemaArn") == arn or (d.get("latestDatasetUpdate") or {}).get("schemaArn") == arn
    ]
    require(not users, f"Schema {arn} is used by dataset(s) {', '.join(users)}; delete those datasets first.")


DELETE_CHECKS["schema"] = _schema_in_use


# ---- dataset ----------------------------------------------------------------------------------------
def _check_schema_fits(schema: Record, dataset_type: str) -> None:
    names = {f["name"].upper() for f in schema["_fields"]}
    missing = [f for f in REQUIRED_FIELDS[dataset_type] if f not in names]
    if missing:
        raise invalid(
            f"Schema {schema['schemaArn']} cannot be used for a {dataset_type} dataset: "
            f"missing required field(s) {', '.join(missing)}."
        )


@op("CreateDataset")
def create_dataset(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    name = params["name"]
    dataset_type = params["datasetType"].upper()
    if dataset_type not in DATASET_TYPES:
        raise invalid(
            f"Invalid datasetType {params['datasetType']!r}; use one of Interactions, Items, Users, Actions, "
            "Action_Interactions."
        )
    group = active_group(ctx, params["datasetGroupArn"])
    schema = ctx.get("schema", params["schemaArn"], "schema")
    unique_name(ctx, "dataset", name, datasetGroupArn=group["datasetGroupArn"])
    if ctx.where("dataset", datasetGroupArn=group["datasetGroupArn"], datasetType=dataset_type):
        raise already_exists(
            f"Dataset group {group['name']} already has a {dataset_type} dataset; "
            "a group holds one dataset of each type."
        )
    _check_schema_fits(schema, dataset_type)
    if schema.get("domain") != group.get("domain"):
        raise invalid(
            f"Schema domain {schema.get('domain') or 'custom'} does not match dataset group domain "
            f"{group.get('domain') or 'custom'}."
        )
    arn = ctx.arn("dataset", f"{group['name']}/{dataset_type}")
    fields = {
        "name": name,
        "datasetGroupArn": group["datasetGroupArn"],
        "datasetType": dataset_type,
        "schemaArn": schema["schemaArn"],
        "trackingId": ctx.uuid("tracking", arn) if dataset_type == "ACTION_INTERACTIONS" else None,
        "_data": DataStats().to_dict(),
        "_imported": False,
    }
    record = ctx.insert("dataset", arn, fields, params.get("tags", []))
    reason = ctx.emulator.control.take_failure("dataset", [name, arn])
    ctx.start_create("dataset", record, ctx.emulator.profile.create_seconds("dataset"), reason)
    return {"datasetArn": arn}


@op("UpdateDataset")
def update_dataset(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    record = ctx.get_active("dataset", params["datasetArn"], "dataset")
    arn = record["datasetArn"]
    require(
        not update_in_progress(record, "latestDatasetUpdate"),
        f"Dataset {arn} already has an update in progress.",
    )
    if record["datasetType"] not in ("ITEMS", "USERS"):
        raise invalid(
            f"You can replace the schema only of Items and Users datasets, not {record['datasetType']}."
        )
    new = ctx.get("schema", params["schemaArn"], "schema")
    old = ctx.get("schema", record["schemaArn"], "schema")
    new_fields = {f["name"].upper(): f for f in new["_fields"]}
    for field in old["_fields"]:
        match = new_fields.get(field["name"].upper())
        if match is None or match["type"] != field["type"]:
            raise invalid(
                f"The new schema must keep field {field['name']} with the same type; you can only add fields."
            )
    old_names = {f["name"].upper() for f in old["_fields"]}
    added = [f["name"] for f in new["_fields"] if f["name"].upper() not in old_names and not f["nullable"]]
    if added:
        raise invalid(f"Fields added by an update must allow null: {', '.join(added)}.")
    ctx.start_update("dataset", record, "latestDatasetUpdate", {"schemaArn": new["schemaArn"]})
    return {"datasetArn": arn}


def _dataset_update_active(ctx: Context, record: Record) -> None:
    record["schemaArn"] = record["latestDatasetUpdate"]["schemaArn"]


ON_UPDATE_ACTIVE["dataset"] = _dataset_update_active


def _dataset_in_use(ctx: Context, record: Record) -> None:
    arn, group = record["datasetArn"], record["datasetGroupArn"]
    blockers: list[str] = []
    if ctx.where("filter", datasetGroupArn=group):
        blockers.append("filters in its dataset group (delete all filters before any dataset)")
    if record["datasetType"] == "INTERACTIONS" and ctx.where("event_tracker", datasetGroupArn=group):
        blockers.append("an event tracker")
    if ctx.where("metric_attribution", datasetGroupArn=group):
        blockers.append("a metric attribution")
    if any(j["status"] in IN_FLIGHT for j in ctx.where("dataset_import_job", datasetArn=arn)):
        blockers.append("an import job in progress")
    if any(v["status"] in IN_FLIGHT for v in ctx.where("solution_version", datasetGroupArn=group)):
        blockers.append("a solution version in training")
    if any(r["status"] in IN_FLIGHT for r in ctx.where("recommender", datasetGroupArn=group)):
        blockers.append("a recommender being created")
    require(not blockers, f"Dataset {arn} is in use: {'; '.join(blockers)}.")


DELETE_CHECKS["dataset"] = _dataset_in_use


def _dataset_removed(ctx: Context, record: Record) -> None:
    ctx.emulator.data.drop_dataset(record["datasetGroupArn"], record["datasetType"])


ON_REMOVE["dataset"] = _dataset_removed


# ---- import job -------------------------------------------------------------------------------------
def _load(ctx: Context, url: str) -> list[tuple[str, bytes]]:
    return read_objects(ctx.emulator.s3_client(ctx.region), url)


def _access_problem(ctx: Context, role_arn: str | None, url: str) -> str | None:
    """Why Personalize could not read ``url`` with ``role_arn`` (role trust, bucket policy), or None."""
    try:
        bucket, key = split_s3_url(url)
    except ImportFailure:
        return None  # reading reports the bad location
    folder = key == "" or key.endswith("/")
    return read_access_problem(
        ctx.emulator.s3_client(ctx.region),
        ctx.emulator.iam_client(ctx.region),
        role_arn,
        bucket,
        [key + "*" if folder else key],
        list_bucket=folder,
    )


def import_seconds(ctx: Context, rows: int) -> float:
    """Import time grows with the data: the profile's time for a small file, twice that from 1M rows."""
    return ctx.emulator.profile.create_seconds("dataset_import_job") * (1.0 + min(1.0, rows / 1_000_000))


@op("CreateDatasetImportJob")
def create_dataset_import_job(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    name = params["jobName"]
    unique_name(ctx, "dataset_import_job", name)
    dataset = ctx.get_active("dataset", params["datasetArn"], "dataset")
    mode = params.get("importMode", "FULL")
    if mode == "INCREMENTAL" and not dataset.get("_imported"):
        raise invalid("INCREMENTAL import requires a previous successful FULL import into the dataset.")
    running = ctx.in_flight("dataset_import_job")
    ctx.quota("pending_dataset_import_jobs_per_region", len(running), "pending or in-progress import jobs")
    arn = ctx.arn("dataset_import_job", name)
    url = params["dataSource"].get("dataLocation", "")
    schema = ctx.get("schema", dataset["schemaArn"], "schema")
    failure = ctx.emulator.control.take_failure("dataset_import_job", [name, arn, dataset["datasetArn"]])
    stats = DataStats()
    if failure is None:
        problem = _access_problem(ctx, params.get("roleArn"), url)
        if problem:
            failure = import_failure(dataset["datasetType"], problem)
    if failure is None:
        store = ctx.emulator.data
        builder = store.builder(
            dataset["datasetGroupArn"], dataset["datasetType"], [f["name"] for f in schema["_fields"]]
        )
        try:
            for key, body in _load(ctx, url):
                stats.merge(parse_csv(key, body, schema["_fields"], builder))
            if builder.rows > store.max_rows:
                raise ImportFailure(
                    f"The file(s) at {url} hold {builder.rows:,} rows; the emulator keeps at most "
                    f"{store.max_rows:,} rows per dataset (PersonalizeEmulator(max_rows=...) raises it)."
                )
            store.stage(arn, builder.build())
        except ImportFailure as exc:
            failure = str(exc)
    fields = {
        "jobName": name,
        "datasetArn": dataset["datasetArn"],
        "dataSource": {"dataLocation": url},
        "roleArn": params.get("roleArn"),
        "importMode": mode,
        "publishAttributionMetricsToS3": params.get("publishAttributionMetricsToS3"),
        "_stats": stats.to_dict(),
    }
    record = ctx.insert("dataset_import_job", arn, fields, params.get("tags", []))
    ctx.start_create("dataset_import_job", record, import_seconds(ctx, stats.rows), failure)
    return {"datasetImportJobArn": arn}


def _import_done(ctx: Context, record: Record, status: str) -> None:
    store = ctx.emulator.data
    if status not in ("ACTIVE", "CREATE FAILED"):
        return
    dataset = ctx.find("dataset", record["datasetArn"])
    if dataset is None or status != "ACTIVE":
        store.drop(store.staged_key(record["datasetImportJobArn"]))
        return
    try:
        store.commit(
            record["datasetImportJobArn"],
            dataset["datasetGroupArn"],
            dataset["datasetType"],
            record.get("importMode") or "FULL",
        )
    except DataLimitExceeded as exc:
        record["status"] = "CREATE FAILED"
        record["failureReason"] = str(exc)
        return
    incoming = DataStats.from_dict(record["_stats"])
    if record.get("importMode") == "INCREMENTAL":
        merged = DataStats.from_dict(dataset["_data"])
        merged.merge(incoming)
        incoming = merged
    dataset["_data"] = incoming.to_dict()
    dataset["_imported"] = True
    note_new_data(ctx, dataset["datasetGroupArn"])


ON_STATUS["dataset_import_job"] = _import_done


# ---- export job -------------------------------------------------------------------------------------
@op("CreateDatasetExportJob")
def create_dataset_export_job(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    name = params["jobName"]
    unique_name(ctx, "dataset_export_job", name)
    dataset = ctx.get_active("dataset", params["datasetArn"], "dataset")
    arn = ctx.arn("dataset_export_job", name)
    path = params["jobOutput"]["s3DataDestination"]["path"]
    failure = ctx.emulator.control.take_failure("dataset_export_job", [name, arn])
    if failure is None:
        try:
            bucket, _ = split_s3_url(path)
            ctx.emulator.s3_client(ctx.region).head_bucket(Bucket=bucket)
        except ImportFailure as exc:
            failure = str(exc)
        except Exception:
            failure = f"Output bucket for {path} does not exist or is not accessible."
    fields = {
        "jobName": name,
        "datasetArn": dataset["datasetArn"],
        "ingestionMode": params.get("ingestionMode", "PUT"),
        "roleArn": params["roleArn"],
        "jobOutput": params["jobOutput"],
    }
    record = ctx.insert("dataset_export_job", arn, fields, params.get("tags", []))
    ctx.start_create(
        "dataset_export_job", record, ctx.emulator.profile.create_seconds("dataset_export_job"), failure
    )
    return {"datasetExportJobArn": arn}


# ---- data deletion job ------------------------------------------------------------------------------
@op("CreateDataDeletionJob")
def create_data_deletion_job(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    name = params["jobName"]
    unique_name(ctx, "data_deletion_job", name)
    group = ctx.get("dataset_group", params["datasetGroupArn"], "dataset group")
    arn = ctx.arn("data_deletion_job", name)
    url = params["dataSource"].get("dataLocation", "")
    failure = ctx.emulator.control.take_failure("data_deletion_job", [name, arn])
    users: list[str] = []
    if failure is None:
        problem = _access_problem(ctx, params["roleArn"], url)
        if problem:
            failure = f"{INSUFFICIENT} {problem}"
    if failure is None:
        try:
            for key, body in _load(ctx, url):
                stats = parse_csv(key, body, [{"name": "USER_ID", "nullable": False}])
                users.extend(stats.users)
        except ImportFailure as exc:
            failure = str(exc)
    fields = {
        "jobName": name,
        "datasetGroupArn": group["datasetGroupArn"],
        "dataSource": {"dataLocation": url},
        "roleArn": params["roleArn"],
        "_users": sorted(set(users)),
    }
    record = ctx.insert("data_deletion_job", arn, fields, params.get("tags", []))
    ctx.start_create(
        "data_deletion_job", record, ctx.emulator.profile.create_seconds("data_deletion_job"), failure
    )
    return {"dataDeletionJobArn": arn}


def _deletion_done(ctx: Context, record: Record, status: str) -> None:
    if status != "COMPLETED":
        return
    deleted = 0
    doomed = set(record.get("_users", []))
    for dataset in ctx.where("dataset", datasetGroupArn=record["datasetGroupArn"]):
        stats = DataStats.from_dict(dataset["_data"])
        removed = doomed & set(stats.users)
        deleted += sum(stats.users[user] for user in removed)  # records (rows), not users
        for user in removed:
            stats.rows -= stats.users.pop(user)
        dataset["_data"] = stats.to_dict()
    record["numDeleted"] = deleted
    ctx.emulator.data.remove_users(record["datasetGroupArn"], doomed)  # the kept rows go too


ON_STATUS["data_deletion_job"] = _deletion_done
