"""Filter expressions: grammar (filter_grammar) plus the offline semantic rules of personalize-api.md §9.2."""

from __future__ import annotations

from collections.abc import Callable

from reconciler.manifest.avro import field_named, field_types
from reconciler.manifest.context import Context, ParsedResource
from reconciler.manifest.filter_grammar import (
    DATASET_TYPE,
    Condition,
    Expression,
    FieldRef,
    FilterSyntaxError,
    parse_filter,
)
from reconciler.manifest.recipes import FILTER_FIELDS_PER_FILTER, FILTER_FIELDS_PER_GROUP, NUMERIC_TYPES
from reconciler.model.address import Kind
from reconciler.model.spec import FilterSpec, SchemaSpec

EXPR = ("spec", "filterExpression")
ErrorFn = Callable[..., None]


def _caret(text: str, position: int) -> str:
    return f"{text}\n        {' ' * position}^"


def check(ctx: Context) -> None:
    fields_per_group: dict[str, dict[str, ParsedResource]] = {}
    for res in ctx.of_kind(Kind.FILTER):
        spec = res.spec
        assert isinstance(spec, FilterSpec)
        text = spec.filterExpression
        try:
            parsed = parse_filter(text)
        except FilterSyntaxError as exc:
            ctx.error_in_value(
                res,
                EXPR,
                exc.position,
                f"syntax error at character {exc.position + 1}: {exc.message}",
                _caret(text, exc.position) if "\n" not in text else None,
            )
            continue
        fields: set[str] = set()
        for expression in parsed.expressions:
            _check_expression(ctx, res, spec, text, expression, fields)
        if len(fields) > FILTER_FIELDS_PER_FILTER:
            ctx.error(
                res,
                EXPR,
                f"uses {len(fields)} distinct dataset fields ({', '.join(sorted(fields))}); "
                f"a filter may use at most {FILTER_FIELDS_PER_FILTER}",
            )
        for name in fields:
            fields_per_group.setdefault(spec.datasetGroup, {}).setdefault(name, res)
        uses_current_item = any(
            value.kind == "current" and value.ref is not None and value.ref.dataset == "CurrentItem"
            for expression in parsed.expressions
            for condition in expression.conditions
            for value in condition.values
        )
        if uses_current_item:
            ctx.info(
                res,
                EXPR,
                "CurrentItem filters work only with related-items recipes and use cases "
                "(aws-sims, aws-similar-items, aws-semantic-similarity, more-like-x...)",
            )
        if parsed.parameters:
            names = ", ".join("$" + p for p in parsed.parameters)
            includes = any(e.action == "INCLUDE" for e in parsed.expressions)
            ctx.info(
                res,
                EXPR,
                f"placeholders {names}: pass filterValues at request time"
                + (" (INCLUDE expressions need every value)" if includes else ""),
            )
    for group, group_fields in fields_per_group.items():
        if len(group_fields) > FILTER_FIELDS_PER_GROUP:
            res = sorted(group_fields.values(), key=lambda r: r.address)[-1]
            ctx.error(
                res,
                EXPR,
                f"the filters of dataset group '{group}' use {len(group_fields)} distinct dataset fields; "
                f"at most {FILTER_FIELDS_PER_GROUP} are allowed per dataset group",
            )


def _check_expression(
    ctx: Context, res: ParsedResource, spec: FilterSpec, text: str, expression: Expression, fields: set[str]
) -> None:
    datasets = ctx.datasets_of_group(spec.datasetGroup)
    group_known = ctx.get(Kind.DATASET_GROUP, spec.datasetGroup) is not None

    def missing(dataset_type: str) -> bool:
        """Report the group's lack of a `dataset_type` dataset (see `Context.missing`)."""
        return group_known and ctx.missing(res, spec.datasetGroup, [dataset_type])

    def error(message: str, position: int | None = None, hint: str | None = None) -> None:
        if position is None:
            ctx.error(res, EXPR, message, hint)
            return
        if hint is None and "\n" not in text:
            hint = _caret(text, position)
        ctx.error_in_value(res, EXPR, position, message, hint)

    where = list(expression.conditions)
    first_dataset = where[0].field.dataset if where else None
    for condition in where:
        ref = condition.field
        if ref.dataset == "CurrentUser":
            error("CurrentUser fields can only be used in the IF clause at the end", ref.position)
            continue
        if ref.dataset == "CurrentItem":
            error("CurrentItem can only appear on the right-hand side of a condition", ref.position)
            continue
        if first_dataset not in (None, "CurrentUser", "CurrentItem") and ref.dataset != first_dataset:
            error(
                f"conditions joined with AND/OR must use one dataset ({first_dataset}), found {ref.dataset}",
                ref.position,
                "combine expressions over different datasets with '|'",
            )
    for condition in expression.if_conditions:
        if condition.field.dataset != "CurrentUser":
            error("IF conditions must use CurrentUser.FIELD", condition.field.position)
    if expression.target == "ActionID" and "ACTIONS" not in datasets and missing("ACTIONS"):
        error(f"ActionID filters need an ACTIONS dataset in dataset group '{spec.datasetGroup}'")
    checked = [c for c in where if c.field.dataset not in ("CurrentUser", "CurrentItem")]
    for condition in (*checked, *expression.if_conditions):
        _check_condition(ctx, error, datasets, condition, fields, missing, spec.datasetGroup)


def _schema_for(
    datasets: dict[str, tuple[ParsedResource, SchemaSpec | None]], dataset: str
) -> SchemaSpec | None:
    entry = datasets.get(DATASET_TYPE.get(dataset, "USERS" if dataset == "CurrentUser" else "ITEMS"))
    return entry[1] if entry is not None else None


def _check_field(
    error: ErrorFn,
    datasets: dict[str, tuple[ParsedResource, SchemaSpec | None]],
    ref: FieldRef,
    fields: set[str],
    missing: Callable[[str], bool],
    group: str,
) -> tuple[frozenset[str], bool] | None:
    """(types, is_textual) of a referenced field, or None when unknown (already reported)."""
    dataset_type = DATASET_TYPE.get(ref.dataset, "USERS" if ref.dataset == "CurrentUser" else "ITEMS")
    if dataset_type not in datasets:
        if missing(dataset_type):
            error(
                f"dataset group '{group}' has no {dataset_type} dataset (used by {ref.dataset}.{ref.field})",
                ref.position,
            )
        return None
    schema = _schema_for(datasets, ref.dataset)
    if schema is None:
        return None
    field = field_named(schema.avro, ref.field)
    if field is None:
        known = ", ".join(f.name for f in schema.avro.fields)
        error(
            f"{ref.dataset}.{ref.field}: no such field in the {dataset_type} schema",
            ref.position,
            f"fields of the {dataset_type} schema: {known}",
        )
        return None
    fields.add(f"{dataset_type}.{field.name}")
    types, _ = field_types(field)
    if "boolean" in types:
        error(
            f"{ref.dataset}.{ref.field} is a boolean field; filters cannot use boolean fields",
            ref.position,
            'store it as a string ("True"/"False") or an int (0/1)',
        )
    if field.textual:
        error(
            f"{ref.dataset}.{ref.field} is a textual field; filters cannot use textual fields", ref.position
        )
    return types, bool(field.textual)


#: Datasets whose filter conditions may only name EVENT_TYPE.
INTERACTION_DATASETS = frozenset({"Interactions", "Action_Interactions"})


def _check_condition(
    ctx: Context,
    error: ErrorFn,
    datasets: dict[str, tuple[ParsedResource, SchemaSpec | None]],
    condition: Condition,
    fields: set[str],
    missing: Callable[[str], bool],
    group: str,
) -> None:
    ref = condition.field
    if ref.dataset == "CurrentItem":
        return
    info = _check_field(error, datasets, ref, fields, missing, group)
    if ref.dataset in INTERACTION_DATASETS and ref.field.upper() != "EVENT_TYPE" and info is not None:
        error(
            f"{ref.dataset}.{ref.field}: filters on interactions data can only use EVENT_TYPE",
            ref.position,
            'the service refuses other Interactions fields (ITEM_ID, contextual metadata): "If you are '
            'filtering based on item or action interactions data, you can only filter based on event type" '
            "(dg/filter-expression-guidelines-requirements); filter items with Items.FIELD instead",
        )
        return
    for value in condition.values:
        is_event_type = ref.dataset == "Interactions" and ref.field.upper() == "EVENT_TYPE"
        if value.kind == "string" and value.text == "*" and not is_event_type:
            error('"*" is only allowed with Interactions.EVENT_TYPE', value.position)
        if value.kind == "current" and value.ref is not None:
            if value.ref.dataset != "CurrentItem":
                error("only CurrentItem.FIELD can be compared with a dataset field", value.position)
            else:
                _check_field(error, datasets, value.ref, fields, missing, group)
    if info is None:
        return
    types, _textual = info
    if condition.operator not in ("IN", "NOT IN") and not types <= NUMERIC_TYPES:
        error(
            f"{ref.dataset}.{ref.field} is {'/'.join(sorted(types))}; comparison operators "
            f"({condition.operator}) need a numeric field",
            ref.position,
            "use IN / NOT IN for string fields",
        )
