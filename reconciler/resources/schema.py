"""Schema handler.

API ops: CreateSchema (synchronous, no status), DescribeSchema, ListSchemas (account-wide), DeleteSchema.
No tags and no update: every change is a new schema. Managed schemas are recognised by name (the stack's
namePrefix + logical name, or that name plus a content suffix after a replacement) and by being referenced by
a managed dataset. A changed schema is replaced create-before-destroy under a new physical name so datasets
can be repointed (UpdateDataset) before the old one is deleted.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from reconciler.model.address import Kind
from reconciler.model.spec import AvroSchema, SchemaSpec
from reconciler.model.state import DesiredResource, LiveResource
from reconciler.resources.base import Ops, RefContext, StateView, TableHandler, clean


def normalise_avro(data: Mapping[str, Any]) -> dict[str, Any]:
    """Canonical dict of an Avro schema (defaults filled in) so equal schemas compare equal."""
    try:
        model = AvroSchema.model_validate(dict(data))
    except ValidationError:
        raw: dict[str, Any] = clean(dict(data))
        return raw
    dumped: dict[str, Any] = clean(model.model_dump(exclude_none=True))
    return dumped


def parse_schema_text(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        return {"unparsable": text}
    return normalise_avro(data) if isinstance(data, Mapping) else {"unparsable": text}


def _nullable(field: Mapping[str, Any]) -> bool:
    kind = field.get("type")
    return (isinstance(kind, list) and "null" in kind) or kind == "null"


def is_additive(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """True when `new` keeps every field of `old` unchanged and only adds nullable fields
    (the rule UpdateDataset enforces for ITEMS/USERS datasets)."""
    old_fields = {f["name"]: f for f in old.get("fields", []) if isinstance(f, Mapping)}
    new_fields = {f["name"]: f for f in new.get("fields", []) if isinstance(f, Mapping)}
    if not old_fields or not set(old_fields) <= set(new_fields):
        return False
    for name, field in old_fields.items():
        if dict(field) != dict(new_fields[name]):
            return False
    return all(_nullable(new_fields[n]) for n in set(new_fields) - set(old_fields))


@dataclass(frozen=True)
class SchemaHandler(TableHandler):
    def desired_fields(self, res: DesiredResource, ctx: RefContext) -> dict[str, Any]:
        spec = res.spec
        assert isinstance(spec, SchemaSpec)
        fields: dict[str, Any] = clean(
            {"schema": normalise_avro(spec.avro.model_dump()), "domain": spec.domain}
        )
        return fields

    def live_fields(self, live: LiveResource, ctx: RefContext) -> dict[str, Any]:
        raw = live.fields.get("schema")
        fields: dict[str, Any] = clean(
            {
                "schema": parse_schema_text(raw if isinstance(raw, str) else None),
                "domain": live.fields.get("domain"),
            }
        )
        return fields

    def replaces_first(self, live: LiveResource, view: StateView) -> bool:
        """Always: the datasets are repointed to the new schema before the old one is deleted."""
        return True

    def create_request(self, res: DesiredResource, ctx: RefContext) -> dict[str, Any]:
        spec = res.spec
        assert isinstance(spec, SchemaSpec)
        request: dict[str, Any] = {
            "name": res.physical_name,
            "schema": json.dumps(spec.avro.model_dump(exclude_none=True), separators=(",", ":")),
        }
        if spec.domain:
            request["domain"] = spec.domain
        return request


HANDLER = SchemaHandler(
    kind=Kind.SCHEMA,
    spec_model=SchemaSpec,
    ops=Ops(
        create="create_schema",
        describe="describe_schema",
        delete="delete_schema",
        list="list_schemas",
        list_key="schemas",
        arn_key="schemaArn",
        describe_key="schema",
    ),
    arn_type="schema",
    typical_create=1,
    delete_rank=8,
    taggable=False,
    spec_fields=("schema", "domain"),
)
