"""Schemas and datasets: Avro rules per dataset type, one dataset per type per group, domains, imports."""

from __future__ import annotations

import os
from pathlib import Path

from reconciler.manifest.avro import check_for_type, check_generic
from reconciler.manifest.context import Context, ParsedResource, article
from reconciler.model.address import Kind
from reconciler.model.spec import DatasetSpec, SchemaSpec


def check(ctx: Context) -> None:
    used: set[str] = set()
    for res in ctx.of_kind(Kind.SCHEMA):
        assert isinstance(res.spec, SchemaSpec)
        for path, message, hint in check_generic(res.spec.avro):
            ctx.error(res, path, message, hint)
    first_of_type: dict[tuple[str, str], ParsedResource] = {}
    for res in list(ctx.of_kind(Kind.DATASET)):
        spec = res.spec
        assert isinstance(spec, DatasetSpec)
        used.add(spec.schema_)
        key = (spec.datasetGroup, spec.datasetType)
        if key in first_of_type:
            other = first_of_type[key]
            ctx.error(
                res,
                ("spec", "datasetType"),
                f"dataset group '{spec.datasetGroup}' already has {article(spec.datasetType)} dataset "
                f"({other.address})",
                f"{other.address} is defined at {other.doc.file}:{other.doc.start.line}; "
                "a dataset group holds at most one dataset per type",
            )
        else:
            first_of_type[key] = res
        _check_schema_fit(ctx, res, spec)
        _check_domain(ctx, res, spec)
        _check_import(ctx, res, spec)
    for res in ctx.of_kind(Kind.SCHEMA):
        if res.address.name not in used:
            ctx.info(res, ("metadata", "name"), "not used by any dataset (dataset-type rules not checked)")


def _check_schema_fit(ctx: Context, res: ParsedResource, spec: DatasetSpec) -> None:
    schema = ctx.get(Kind.SCHEMA, spec.schema_)
    schema_spec = ctx.schema_spec(spec.schema_)
    if schema is None or schema_spec is None:
        return
    findings = check_for_type(schema_spec.avro, spec.datasetType, schema_spec.domain)
    for path, message, hint in findings:
        ctx.error(schema, path, f"{message} (used by {res.address})", hint)
    if findings:
        first = schema.doc.locate(findings[0][0], prefer_key=False)
        ctx.error(
            res,
            ("spec", "schema"),
            f"schema '{spec.schema_}' does not fit datasetType {spec.datasetType} "
            f"({len(findings)} problem{'s' if len(findings) != 1 else ''} reported at "
            f"{schema.doc.file}:{first.line}:{first.column})",
        )


def _check_domain(ctx: Context, res: ParsedResource, spec: DatasetSpec) -> None:
    group = ctx.group_spec(spec.datasetGroup)
    schema = ctx.schema_spec(spec.schema_)
    if group is None or schema is None:
        return
    if group.domain != schema.domain:
        group_domain = group.domain or "none (custom)"
        schema_domain = schema.domain or "none"
        ctx.error(
            res,
            ("spec", "schema"),
            f"schema '{spec.schema_}' has domain {schema_domain} but dataset group '{spec.datasetGroup}' has "
            f"domain {group_domain}",
            "a dataset's schema must declare the same domain as its dataset group",
        )


def _check_import(ctx: Context, res: ParsedResource, spec: DatasetSpec) -> None:
    imp = spec.dataImport
    if imp is None:
        return
    if imp.roleArn is None:
        ctx.warning(
            res,
            ("spec", "dataImport"),
            "no roleArn: Personalize needs a role that can read the S3 location",
            "set dataImport.roleArn (arn:aws:iam::<account>:role/<name>)",
        )
    if imp.importMode == "INCREMENTAL":
        ctx.info(
            res,
            ("spec", "dataImport", "importMode"),
            "INCREMENTAL imports append to a previous FULL import; the first import must be FULL",
        )
    if imp.localFile is not None:
        written = Path(imp.localFile)
        absolute = written if written.is_absolute() else Path(res.doc.file).parent / written
        if not absolute.is_file():
            ctx.warning(
                res,
                ("spec", "dataImport", "localFile"),
                f"local file not found: {_shown(absolute)}",
                "generate the sample data with `python -m reconciler.sampledata data/sample`",
            )
        # keep localFile relative to DesiredState.base_dir, which is what consumers resolve it against
        relative = Path(os.path.relpath(absolute, ctx.base_dir)).as_posix()
        if relative != imp.localFile:
            new_import = imp.model_copy(update={"localFile": relative})
            res.spec = spec.model_copy(update={"dataImport": new_import})


def _shown(path: Path) -> str:
    """`path` relative to the working directory when below it (as the user would type it)."""
    try:
        rel = os.path.relpath(path)
    except ValueError:  # pragma: no cover - another drive on Windows
        return str(path)
    return str(path) if rel.startswith("..") else rel
