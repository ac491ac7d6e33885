"""Turn pydantic `ValidationError`s into located, human problems."""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from reconciler.manifest.problems import Reporter, Severity
from reconciler.manifest.yamlmarks import MarkedDocument, Path
from reconciler.model.variables import PlainNumber, VariableText


def short(value: Any, limit: int = 60) -> str:
    text = repr(value) if isinstance(value, str) else _yamlish(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _yamlish(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return str(value)


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _models_in(typing.get_args(annotation)[0])
    if origin is not None or isinstance(annotation, types.UnionType):
        for arg in typing.get_args(annotation):
            found.extend(_models_in(arg))
    return found


def field_names(model: type[BaseModel]) -> list[str]:
    return [info.alias or name for name, info in model.model_fields.items()]


def model_at(model: type[BaseModel], loc: Path) -> type[BaseModel] | None:
    """The model class that owns the last element of `loc` (for "did you mean" hints)."""
    current: type[BaseModel] | None = model
    for part in loc:
        if current is None:
            return None
        if isinstance(part, int):
            continue
        field = next(
            (info for name, info in current.model_fields.items() if part in (name, info.alias)),
            None,
        )
        if field is None:
            continue  # union member tags and dict keys
        candidates = _models_in(field.annotation)
        current = candidates[0] if candidates else None
    return current


def _walk_present(data: Any, loc: tuple[Any, ...]) -> tuple[Path, int]:
    """Keep only the loc parts that exist in the data (drops pydantic's union/function tags).

    Also returns how many leading parts of the kept path come before the first dropped tag (the union's
    own path), so several failing union members can be reported once.
    """
    path: list[str | int] = []
    union_at = -1
    current = data
    for i, part in enumerate(loc):
        if (isinstance(current, dict) and part in current) or (
            isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current)
        ):
            current = current[part]
            path.append(part)
        elif i == len(loc) - 1 and isinstance(current, dict) and isinstance(part, str | int):
            path.append(part)  # a missing key: keep it so the message names it
        elif union_at < 0:  # a tag such as 'str', 'list[str]', 'function-before[...]'
            union_at = len(path)
    return tuple(path), union_at


def _number_hint(field: str, value: Any, integer: bool) -> str | None:
    """What to write instead of a boolean, a quoted number or (for an integer) a decimal: spec numbers are
    strict (`model.spec.Int` / `Number`), as the JSON schema says."""
    example = "1" if integer else "0.5"
    if isinstance(value, VariableText):
        # the field is `${name}` and the value written in the Stack is what is wrong
        return (
            f"the field is the Stack variable `${{{value.name}}}`, whose value {value.strip()!r} is not "
            f"{'an integer' if integer else 'a number'}: set it in the Stack's `variables`, e.g. "
            f'`{value.name}: "{example}"`'
        )
    if isinstance(value, PlainNumber):  # `1e3` unquoted: a number, but not written as an integer
        number = float(value)
        whole = f": `{field}: {int(number)}`" if number.is_integer() else f", e.g. `{field}: {example}`"
        return f"write a whole number without an exponent{whole}"
    if isinstance(value, bool):
        return f"true/false is not a number: write one, e.g. `{field}: {example}`"
    if isinstance(value, str):
        text = value.strip()
        try:
            int(text) if integer else float(text)
        except ValueError:
            return f"write a number, e.g. `{field}: {example}`"
        return f"write the number without quotes: `{field}: {text}`"
    if integer and isinstance(value, float) and value.is_integer():
        return f"write a whole number: `{field}: {int(value)}`"
    return None


def describe(error: Any, owner: type[BaseModel] | None) -> tuple[str, str | None]:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    value = error.get("input")
    got = f" (got {short(value)})"
    hint: str | None = None
    if kind == "missing":
        return "required field is missing", None
    if kind == "extra_forbidden":
        name = str(error["loc"][-1])
        known = field_names(owner) if owner is not None else []
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        if close:
            hint = f"did you mean '{close[0]}'?"
        elif known:
            hint = "known fields: " + ", ".join(known)
        return "unknown field", hint
    simple = {
        "greater_than_equal": ("must be >= {ge}", ctx),
        "greater_than": ("must be > {gt}", ctx),
        "less_than_equal": ("must be <= {le}", ctx),
        "less_than": ("must be < {lt}", ctx),
        "string_too_short": ("must be at least {min_length} characters long", ctx),
        "too_short": ("must have at least {min_length} items", ctx),
        "too_long": ("must have at most {max_length} items", ctx),
        "string_pattern_mismatch": ("must match the pattern {pattern}", ctx),
        "literal_error": ("must be one of {expected}", ctx),
    }
    if kind in simple:
        template, values = simple[kind]
        return template.format(**values) + got, None
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters long (got {len(str(value))})", None
    types_ = {
        "string_type": "must be a string",
        "int_type": "must be an integer",
        "int_parsing": "must be an integer",
        "int_from_float": "must be a whole number",
        "float_type": "must be a number",
        "float_parsing": "must be a number",
        "bool_type": "must be true or false",
        "bool_parsing": "must be true or false",
        "dict_type": "must be a mapping",
        "list_type": "must be a list",
        "model_type": "must be a mapping of fields",
        "model_attributes_type": "must be a mapping of fields",
    }
    if kind == "int_type" and isinstance(value, float):
        kind = "int_from_float"  # a strict integer field says int_type for 2.5 too
    if kind in types_:
        message = types_[kind] + got
        if kind == "string_type" and isinstance(value, int | float | bool):
            hint = 'quote the value to make it a string, e.g. "0.7"'
        elif kind in ("int_type", "int_from_float", "float_type"):
            hint = _number_hint(str(error["loc"][-1]), value, kind != "float_type")
        return message, hint
    message = str(error.get("msg", "invalid value"))
    message = message.removeprefix("Value error, ")
    if message.startswith("Input should"):
        message = "must" + message[len("Input should") :]
    return message[:1].lower() + message[1:] + got, None


def report_validation_error(
    exc: ValidationError,
    model: type[BaseModel],
    doc: MarkedDocument,
    prefix: Path,
    data: Any,
    subject: str | None,
    reporter: Reporter,
) -> None:
    """Report every error of `exc` (validation of `model` on `data`, found at `prefix` of `doc`)."""
    unions: set[Path] = set()
    errors = exc.errors()
    renamed = _misspelled_required(errors, model)
    for error in errors:
        loc = tuple(error["loc"])
        if error["type"] == "missing" and loc in renamed.values():
            continue  # the unknown field that spells it nearly is the one mistake: reported there

        present, union_at = _walk_present(data, loc)
        path = (*prefix, *present)
        if union_at >= 0:
            union_path = (*prefix, *present[:union_at])
            if union_path in unions:
                continue  # several union members failed on the same value; one message is enough
            unions.add(union_path)
        owner = model_at(model, loc[:-1]) if error["type"] == "extra_forbidden" else None
        message, hint = describe(error, owner)
        if loc in renamed:
            hint = f"did you mean '{renamed[loc][-1]}'? (a required field, missing)"
        prefer_key = error["type"] in ("extra_forbidden", "missing")
        reporter.at(Severity.ERROR, doc, path, message, subject=subject, hint=hint, prefer_key=prefer_key)


def _misspelled_required(errors: list[Any], model: type[BaseModel]) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    """Unknown field -> the missing required field of the same mapping it nearly spells (`datasetTyp` for
    `datasetType`): one mistake, reported once at the unknown field instead of also as a missing field."""
    missing = {tuple(e["loc"]) for e in errors if e["type"] == "missing"}
    renamed: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    for error in errors:
        loc = tuple(error["loc"])
        if error["type"] != "extra_forbidden" or not loc:
            continue
        owner = model_at(model, loc[:-1])
        wanted = [(*loc[:-1], name) for name in (field_names(owner) if owner is not None else [])]
        candidates = [str(w[-1]) for w in wanted if w in missing and w not in renamed.values()]
        close = difflib.get_close_matches(str(loc[-1]), candidates, n=1, cutoff=0.6)
        if close:
            renamed[loc] = (*loc[:-1], close[0])
    return renamed
