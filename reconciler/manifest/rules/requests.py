"""The create requests built from the manifests must pass botocore's parameter validation.

No client is created and nothing is sent: the Personalize service model is loaded from botocore's data
files, requests are built with placeholder ARNs and checked with `botocore.validate.ParamValidator`
(required members, types, minimums) plus the service-side constraints the model documents (max lengths
and sizes, patterns, enums), which the real service enforces with InvalidInputException.
Tags are left to the names rule, which reports them with clearer messages.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from reconciler.manifest.avro import avro_json
from reconciler.manifest.context import Context, ParsedResource
from reconciler.manifest.yamlmarks import Path
from reconciler.model.spec import (
    CampaignSpec,
    DatasetGroupSpec,
    DatasetSpec,
    EventTrackerSpec,
    FilterSpec,
    MetricAttributionSpec,
    RecommenderSpec,
    SchemaSpec,
    SolutionSpec,
)
from reconciler.model.state import TAG_NAME, TAG_STACK

Request = tuple[str, dict[str, Any], dict[str, Path]]
"""(operation, params, top-level param -> document path)"""


@functools.lru_cache(maxsize=1)
def _service_model() -> Any:
    # The model file alone (what a session would load), without building a botocore session: about 0.1 s
    # less on every `validate`; through the process's one data loader, so the clients a command makes next
    # use the same parsed model (reconciler/aws/models.py).
    from botocore.model import ServiceModel

    from reconciler.aws.models import data_loader

    return ServiceModel(
        data_loader().load_service_model("personalize", "service-2"), service_name="personalize"
    )


def _dump(model: Any) -> Any:
    return model.model_dump(mode="json", by_alias=True, exclude_none=True) if model is not None else None


def _clean(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None}


def build_requests(ctx: Context, res: ParsedResource) -> list[Request]:
    region = ctx.stack.region or "us-east-1"
    account = ctx.stack.accountId or "123456789012"

    def arn(kind: str, name: str) -> str:
        return f"arn:aws:personalize:{region}:{account}:{kind}/{ctx.stack.namePrefix}{name}"

    tags = [{"tagKey": k, "tagValue": v} for k, v in res.tags.items()]
    tags += [
        {"tagKey": TAG_STACK, "tagValue": ctx.stack_name},
        {"tagKey": TAG_NAME, "tagValue": res.address.name},
    ]
    spec = res.spec
    name = res.physical_name or res.address.name
    params: dict[str, Any]
    paths: dict[str, Path] = {"name": ("metadata", "name"), "tags": ("metadata", "tags")}
    if isinstance(spec, DatasetGroupSpec):
        params = {
            "name": name,
            "domain": spec.domain,
            "kmsKeyArn": spec.kmsKeyArn,
            "roleArn": spec.roleArn,
            "tags": tags,
        }
        return [("CreateDatasetGroup", _clean(params), paths)]
    if isinstance(spec, SchemaSpec):
        params = {"name": name, "schema": avro_json(spec.avro), "domain": spec.domain}
        return [("CreateSchema", _clean(params), {**paths, "schema": ("spec", "avro")})]
    if isinstance(spec, DatasetSpec):
        out: list[Request] = [
            (
                "CreateDataset",
                {
                    "name": name,
                    "schemaArn": arn("schema", spec.schema_),
                    "datasetType": spec.datasetType,
                    "datasetGroupArn": arn("dataset-group", spec.datasetGroup),
                    "tags": tags,
                },
                paths,
            )
        ]
        imp = spec.dataImport
        if imp is not None:
            params = {
                "jobName": f"{name}-import"[:63],
                "datasetArn": arn("dataset", spec.datasetGroup + "/" + spec.datasetType),
                "dataSource": {"dataLocation": imp.dataLocation},
                "roleArn": imp.roleArn,
                "importMode": imp.importMode,
                "publishAttributionMetricsToS3": imp.publishAttributionMetricsToS3,
                "tags": tags,
            }
            base: Path = ("spec", "dataImport")
            out.append(
                (
                    "CreateDatasetImportJob",
                    _clean(params),
                    {
                        **paths,
                        "dataSource": (*base, "dataLocation"),
                        "roleArn": (*base, "roleArn"),
                        "importMode": (*base, "importMode"),
                        "jobName": ("metadata", "name"),
                    },
                )
            )
        return out
    if isinstance(spec, SolutionSpec):
        params = {
            "name": name,
            "datasetGroupArn": arn("dataset-group", spec.datasetGroup),
            "recipeArn": spec.recipeArn,
            "performHPO": spec.performHPO,
            "performAutoML": spec.performAutoML,
            "performAutoTraining": spec.performAutoTraining,
            "performIncrementalUpdate": spec.performIncrementalUpdate,
            "eventType": spec.eventType,
            "solutionConfig": _dump(spec.solutionConfig),
            "tags": tags,
        }
        return [("CreateSolution", _clean(params), paths)]
    if isinstance(spec, CampaignSpec):
        params = {
            "name": name,
            "solutionVersionArn": arn("solution", spec.solution) + "/$LATEST",
            "minProvisionedTPS": spec.minProvisionedTPS,
            "campaignConfig": _dump(spec.campaignConfig),
            "tags": tags,
        }
        return [("CreateCampaign", _clean(params), {**paths, "solutionVersionArn": ("spec", "solution")})]
    if isinstance(spec, FilterSpec):
        params = {
            "name": name,
            "datasetGroupArn": arn("dataset-group", spec.datasetGroup),
            "filterExpression": spec.filterExpression,
            "tags": tags,
        }
        return [("CreateFilter", params, paths)]
    if isinstance(spec, EventTrackerSpec):
        params = {"name": name, "datasetGroupArn": arn("dataset-group", spec.datasetGroup), "tags": tags}
        return [("CreateEventTracker", params, paths)]
    if isinstance(spec, RecommenderSpec):
        params = {
            "name": name,
            "datasetGroupArn": arn("dataset-group", spec.datasetGroup),
            "recipeArn": spec.recipeArn,
            "recommenderConfig": _dump(spec.recommenderConfig),
            "tags": tags,
        }
        return [("CreateRecommender", _clean(params), paths)]
    if isinstance(spec, MetricAttributionSpec):
        params = {
            "name": name,
            "datasetGroupArn": arn("dataset-group", spec.datasetGroup),
            "metrics": [_dump(m) for m in spec.metrics],
            "metricsOutputConfig": _dump(spec.metricsOutputConfig),
        }
        return [("CreateMetricAttribution", params, paths)]
    return []  # pragma: no cover - every kind is handled above


def _constraint_problems(
    value: Any, shape: Any, path: tuple[str | int, ...]
) -> list[tuple[tuple[str | int, ...], str]]:
    """Service-side constraints from the model that ParamValidator leaves to the server."""
    found: list[tuple[tuple[str | int, ...], str]] = []
    meta = shape.metadata
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        for key, member in shape.members.items():
            if key not in value:
                continue
            found += _constraint_problems(value[key], member, (*path, key))
    elif kind == "list" and isinstance(value, list):
        if "max" in meta and len(value) > meta["max"]:
            found.append((path, f"at most {meta['max']} items allowed (got {len(value)})"))
        for index, item in enumerate(value):
            found += _constraint_problems(item, shape.member, (*path, index))
    elif kind == "map" and isinstance(value, dict):
        if "max" in meta and len(value) > meta["max"]:
            found.append((path, f"at most {meta['max']} entries allowed (got {len(value)})"))
        for key, item in value.items():
            found += _constraint_problems(key, shape.key, (*path, key))
            found += _constraint_problems(item, shape.value, (*path, key))
    elif kind == "string" and isinstance(value, str):
        if "max" in meta and len(value) > meta["max"]:
            found.append((path, f"at most {meta['max']} characters allowed (got {len(value)})"))
        enum = getattr(shape, "enum", None)
        if enum and value not in enum:
            found.append((path, f"must be one of {', '.join(enum)} (got {value!r})"))
        pattern = meta.get("pattern")
        if pattern and not _matches(pattern, value):
            found.append((path, f"must match {pattern} (got {value!r})"))
    elif isinstance(value, int | float) and kind in ("integer", "long", "double", "float"):
        maximum = meta.get("max")
        if maximum is not None and value > maximum:
            found.append((path, f"must be <= {maximum} (got {value})"))
    return found


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str) -> Any:
    """The model's pattern compiled; the `regex` module (imported only then: ~15 ms) for the Unicode classes
    `re` lacks (`\\p{L}`...), so no pattern is skipped unchecked."""
    try:
        return re.compile(pattern, re.DOTALL)
    except re.error:
        import regex

        try:
            return regex.compile(pattern, regex.DOTALL)
        except regex.error:  # pragma: no cover - every pattern of the model compiles with `regex`
            return None


def _matches(pattern: str, value: str) -> bool:
    compiled = _compiled(pattern)
    return compiled is None or compiled.match(value) is not None


_PARAM_NAME = re.compile(r"[A-Za-z0-9_]+|\[\d+\]")


def _doc_path(param: str, paths: dict[str, Path]) -> Path:
    parts: list[str | int] = []
    for token in _PARAM_NAME.findall(param):
        parts.append(int(token[1:-1]) if token.startswith("[") else token)
    if not parts:
        return ("spec",)
    head = str(parts[0])
    if head in paths:
        return (*paths[head], *parts[1:])
    return ("spec", *parts)


def _already_reported(ctx: Context, res: ParsedResource, path: Path) -> bool:
    """True when another rule already reported an error at this value (with a clearer message)."""
    mark = res.doc.locate(path, prefer_key=False)
    return any(
        p.file == res.doc.file and (p.line, p.column) == (mark.line, mark.column) and p.subject == res.subject
        for p in ctx.reporter.problems
    )


_NAMES_RULE = ("tags", "name", "jobName")
"""Top-level parameters whose service-side constraints the names rule reports (with clearer messages)."""


def check(ctx: Context) -> None:
    from botocore.validate import ParamValidator

    model = _service_model()
    validator = ParamValidator()
    for res in ctx.resources:
        found: list[tuple[Path, str]] = []
        for operation, params, paths in build_requests(ctx, res):
            shape = model.operation_model(operation).input_shape
            # tags are the names rule's (every problem under them is dropped below): validating them was half
            # of this rule's time; an empty list keeps botocore's required and unknown-parameter checks
            report = validator.validate({**params, "tags": []} if "tags" in params else params, shape)
            if report.has_errors():
                for error_type, name, details in getattr(report, "_errors", []):
                    param = str(name).lstrip(".")
                    if not param.startswith("tags"):
                        text = _describe_botocore(error_type, details)
                        found.append(
                            (_doc_path(param, paths), f"{operation} would be rejected: {text} ({param})")
                        )
            checked = {k: v for k, v in params.items() if k not in _NAMES_RULE}  # reported by the names rule
            for path, message in _constraint_problems(checked, shape, ()):
                dotted = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")
                found.append(
                    (_doc_path(dotted, paths), f"{operation} would be rejected: {message} ({dotted})")
                )
        for where, message in found:
            if not _already_reported(ctx, res, where):
                ctx.error(res, where, message)


def _describe_botocore(error_type: str, details: dict[str, Any]) -> str:
    if error_type == "missing required field":
        return f"missing required parameter {details.get('required_name')}"
    if error_type == "invalid length":
        return f"length {details.get('param')} is below the minimum {details.get('min_allowed')}"
    if error_type == "invalid range":
        return f"value {details.get('param')} is below the minimum {details.get('min_allowed')}"
    if error_type == "invalid type":
        valid = ", ".join(str(t) for t in details.get("valid_types", []))
        return f"wrong type {type(details.get('param')).__name__} (expected {valid})"
    if error_type == "unknown field":
        return f"unknown parameter {details.get('unknown_param')}"
    return f"{error_type}"
