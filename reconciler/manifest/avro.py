"""Avro schema rules of Amazon Personalize (pure functions over `AvroSchema`).

Problems are returned as (path inside the Schema document, message, hint) so the caller can locate them.
"""

from __future__ import annotations

import json
import re

from reconciler.manifest.recipes import AVRO_TYPES, DATASET_TYPES, DOMAIN_FIELDS, MAX_SCHEMA_CHARS, FieldRule
from reconciler.manifest.yamlmarks import Path
from reconciler.model.spec import AvroField, AvroSchema

AVRO_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
Finding = tuple[Path, str, str | None]
FIELDS: Path = ("spec", "avro", "fields")


def field_types(field: AvroField) -> tuple[frozenset[str], bool]:
    """(non-null types, nullable): `string` -> ({string}, False); [null, long] -> ({long}, True)."""
    types = [field.type] if isinstance(field.type, str) else list(field.type)
    return frozenset(t for t in types if t != "null"), "null" in types


def is_string(field: AvroField) -> bool:
    return field_types(field)[0] == {"string"}


def avro_json(schema: AvroSchema) -> str:
    """The schema as the JSON string CreateSchema receives (None-valued attributes omitted)."""
    return json.dumps(schema.model_dump(mode="json", exclude_none=True), separators=(",", ":"))


def check_generic(schema: AvroSchema) -> list[Finding]:
    """Rules that hold whatever dataset type uses the schema."""
    found: list[Finding] = []
    if not AVRO_NAME.match(schema.name):
        found.append(
            (("spec", "avro", "name"), f"record name {schema.name!r} is not a valid Avro name", None)
        )
    if not schema.fields:
        found.append((FIELDS, "a schema needs at least one field", None))
    seen: dict[str, int] = {}
    for index, field in enumerate(schema.fields):
        here: Path = (*FIELDS, index)
        if not AVRO_NAME.match(field.name):
            found.append(
                (
                    (*here, "name"),
                    f"field name {field.name!r} is not a valid Avro name",
                    "use [A-Za-z_][A-Za-z0-9_]*",
                )
            )
        key = field.name.upper()
        if key in seen:
            found.append(
                ((*here, "name"), f"duplicate field {field.name!r} (also fields[{seen[key]}])", None)
            )
        seen.setdefault(key, index)
        raw = [field.type] if isinstance(field.type, str) else list(field.type)
        unknown = [t for t in raw if t not in AVRO_TYPES]
        if unknown:
            found.append(
                (
                    (*here, "type"),
                    f"unsupported type {unknown[0]!r}",
                    "supported: string, int, long, float, double, boolean, null (and unions with null)",
                )
            )
            continue
        types, _nullable = field_types(field)
        if len(types) != 1:
            found.append(
                ((*here, "type"), "a field must have exactly one non-null type (e.g. [null, string])", None)
            )
            continue
        if field.categorical and not is_string(field):
            found.append(
                (
                    (*here, "categorical"),
                    f"categorical is only allowed on string fields ({field.name} is {next(iter(types))})",
                    "remove `categorical: true` or make the field a string",
                )
            )
        if field.textual and not is_string(field):
            found.append(
                (
                    (*here, "textual"),
                    f"textual is only allowed on string fields ({field.name} is {next(iter(types))})",
                    None,
                )
            )
        if field.categorical and field.textual:
            found.append(((*here, "textual"), "a field cannot be both categorical and textual", None))
    if len(avro_json(schema)) > MAX_SCHEMA_CHARS:
        found.append((("spec", "avro"), f"the schema JSON exceeds {MAX_SCHEMA_CHARS} characters", None))
    return found


def _type_text(rule: FieldRule) -> str:
    text = " or ".join(sorted(rule.types))
    return f"{text} (nullable)" if rule.nullable else text


def check_for_type(schema: AvroSchema, dataset_type: str, domain: str | None = None) -> list[Finding]:
    """Required and reserved fields, metadata counts and textual use for one dataset type (and the extra
    required fields of a domain's schemas)."""
    rules = DATASET_TYPES.get(dataset_type)
    if rules is None:
        return []
    found: list[Finding] = []
    by_name = {f.name.upper(): (i, f) for i, f in enumerate(schema.fields)}
    domain_rules = DOMAIN_FIELDS.get((domain, dataset_type), ()) if domain else ()
    required = (*rules.required, *(r for r in domain_rules if r.name not in {q.name for q in rules.required}))
    reserved = tuple(r for r in rules.reserved if r.name not in {q.name for q in domain_rules})
    for rule in required:
        if rule.name not in by_name:
            whose = f"{domain} {dataset_type}" if rule in domain_rules else dataset_type
            extra = ", categorical: true" if rule.categorical else ""
            found.append(
                (
                    FIELDS,
                    f"{whose} schemas need {'an' if rule.name[0] in 'AEIOU' else 'a'} {rule.name} field "
                    f"of type {_type_text(rule)}" + (" (categorical)" if rule.categorical else ""),
                    f"add `- {{name: {rule.name}, type: {sorted(rule.types)[0]}{extra}}}`",
                )
            )
    for rule in (*required, *reserved):
        if rule.name not in by_name:
            continue
        index, field = by_name[rule.name]
        if any(t not in AVRO_TYPES for t in ([field.type] if isinstance(field.type, str) else field.type)):
            continue  # an unsupported type: check_generic reports it, once
        types, nullable = field_types(field)
        if not types <= rule.types or (nullable and not rule.nullable):
            kind = "required" if rule in required else "reserved"
            found.append(
                (
                    (*FIELDS, index, "type"),
                    f"{rule.name} is a {kind} field of {dataset_type} schemas and must be {_type_text(rule)} "
                    f"(got {field.type if isinstance(field.type, str) else list(field.type)})",
                    None,
                )
            )
        elif rule.categorical and not field.categorical:
            found.append(
                (
                    (*FIELDS, index, "name"),
                    f"{rule.name} must be categorical in {domain} {dataset_type} schemas",
                    "add `categorical: true`",
                )
            )
    special = {r.name for r in (*rules.required, *rules.reserved)}  # domain fields count as metadata
    metadata = [(i, f) for i, f in enumerate(schema.fields) if f.name.upper() not in special]
    if rules.needs_metadata and not metadata:
        found.append(
            (
                FIELDS,
                f"{dataset_type} schemas need at least one metadata field besides {rules.required[0].name}",
                "add a categorical string or a numeric field",
            )
        )
    if rules.max_metadata is not None and len(metadata) > rules.max_metadata:
        found.append(
            (
                FIELDS,
                f"{len(metadata)} metadata fields; {dataset_type} allows at most {rules.max_metadata}",
                None,
            )
        )
    if not rules.textual_allowed:
        for index, field in enumerate(schema.fields):
            if field.textual:
                found.append(
                    (
                        (*FIELDS, index, "textual"),
                        f"textual fields are only allowed in ITEMS schemas (used here for {dataset_type})",
                        None,
                    )
                )
    return found


def field_named(schema: AvroSchema, name: str) -> AvroField | None:
    """Case-insensitive field lookup (filter expressions write `event_type` for EVENT_TYPE)."""
    upper = name.upper()
    return next((f for f in schema.fields if f.name.upper() == upper), None)
