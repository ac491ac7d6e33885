"""Physical names, tags and lifecycle settings."""

from __future__ import annotations

import re
import unicodedata

from pydantic import BaseModel

from reconciler.manifest.context import Context, ParsedResource
from reconciler.manifest.kinds import SPEC_MODELS
from reconciler.manifest.problems import Severity
from reconciler.manifest.recipes import MAX_TAGS
from reconciler.model.address import Kind
from reconciler.resources.registry import REGISTRY

NAME_PATTERN = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9\-_]*$")
MAX_NAME = 63
UNTAGGABLE = (Kind.SCHEMA, Kind.METRIC_ATTRIBUTION)


PREFIX_PATTERN = re.compile(r"^([a-zA-Z0-9][a-zA-Z0-9\-_]*)?$")
#: Stack names become GitHub environment, IAM role, SSM and issue names and are written to $GITHUB_OUTPUT:
#: letters, digits and inner hyphens, at most 39 characters (`personalize-gitops-apply-` + 39 = 64 for IAM).
STACK_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,37}[A-Za-z0-9])?")


def check(ctx: Context) -> None:
    if not STACK_NAME.fullmatch(ctx.stack_name):
        _stack_error(
            ctx,
            ("metadata", "name"),
            f"stack name {ctx.stack_name!r} is not a valid stack name",
            "use letters, digits and inner hyphens, at most 39 characters (it names the CI environment, "
            "roles and issues of the stack)",
        )
    prefix = ctx.stack.namePrefix
    prefix_ok = PREFIX_PATTERN.match(prefix) is not None
    if not prefix_ok:
        _stack_error(
            ctx,
            ("spec", "namePrefix"),
            f"namePrefix {prefix!r} would make every physical name invalid",
            "start with a letter or digit and use only letters, digits, '-' and '_'",
        )
    for key, value in ctx.stack.defaultTags.items():
        for message, hint in tag_problems(key, value):
            _stack_error(ctx, ("spec", "defaultTags", key), message, hint)
    for res in ctx.resources:
        physical = prefix + res.address.name
        res.physical_name = physical
        if len(physical) > MAX_NAME:
            ctx.error(
                res,
                ("metadata", "name"),
                f"physical name '{physical}' is {len(physical)} characters long; the limit is {MAX_NAME}",
                f"shorten the name or the stack's namePrefix '{prefix}'" if prefix else "shorten the name",
            )
        elif prefix_ok and not NAME_PATTERN.match(physical):
            ctx.error(
                res,
                ("metadata", "name"),
                f"physical name '{physical}' must match {NAME_PATTERN.pattern}",
                "the stack's namePrefix may only hold letters, digits, '-' and '_'",
            )
        res.tags = {**ctx.stack.defaultTags, **res.metadata.tags}
        _check_tags(ctx, res)
        _check_ignore_changes(ctx, res)


def _stack_error(ctx: Context, path: tuple[str, ...], message: str, hint: str | None) -> None:
    """An error at `path` of the Stack document (none is reported without a stack file)."""
    if ctx.stack_doc is not None:
        ctx.reporter.at(
            Severity.ERROR,
            ctx.stack_doc,
            path,
            message,
            subject=f"Stack/{ctx.stack_name}",
            hint=hint,
            prefer_key=False,
        )


def _check_tags(ctx: Context, res: ParsedResource) -> None:
    if res.metadata.tags and res.address.kind in UNTAGGABLE:
        ctx.warning(
            res,
            ("metadata", "tags"),
            f"{res.address.kind.value} resources cannot be tagged in Personalize; these tags are ignored",
        )
    own = REGISTRY[res.address.kind].tool_tags(res.spec, res.lifecycle)
    limit = MAX_TAGS - own
    if len(res.tags) > limit:
        ctx.error(
            res,
            ("metadata", "tags"),
            f"{len(res.tags)} tags (with the stack's defaultTags); at most {limit} are allowed",
            f"Personalize allows {MAX_TAGS} tags per resource and the tool writes up to {own} of its own "
            f"on this {res.address.kind.value} or the jobs it starts (ownership, spec digest, import and "
            f"training records); remove {len(res.tags) - limit}",
        )
    for key, value in res.metadata.tags.items():
        for message, hint in tag_problems(key, value):
            ctx.error(res, ("metadata", "tags", key), message, hint)


TAG_PUNCTUATION = frozenset("_.:/=+-@")
TAG_CHARACTERS_HINT = "tag keys and values may hold letters, digits, spaces and _ . : / = + - @"


def _bad_tag_character(text: str) -> str | None:
    """The first character the API's tag pattern `^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$` refuses."""
    for character in text:
        if unicodedata.category(character)[0] not in "LZN" and character not in TAG_PUNCTUATION:
            return character
    return None


def tag_problems(key: str, value: str) -> list[tuple[str, str | None]]:
    """(message, hint) for each rule of Personalize's tags that `key: value` breaks."""
    problems: list[tuple[str, str | None]] = []
    if key.lower().startswith("aws:"):
        problems.append((f"tag key '{key}' uses the reserved 'aws:' prefix", "rename the key without 'aws:'"))
    elif key.startswith("personalize-gitops:"):
        problems.append(
            (
                f"tag key '{key}' is reserved for the tool's ownership tags",
                "remove it: the tool sets its personalize-gitops: tags itself",
            )
        )
    if not 1 <= len(key) <= 128:
        problems.append((f"tag keys must be 1-128 characters long (got {len(key)})", None))
    if len(value) > 256:
        problems.append((f"tag values must be at most 256 characters long (got {len(value)})", None))
    for what, text in (("key", key), ("value", value)):
        bad = _bad_tag_character(text)
        if bad is not None:
            problems.append(
                (f"tag {what} {text!r} contains {bad!r}, which Personalize refuses", TAG_CHARACTERS_HINT)
            )
    return problems


def _spec_fields(model: type[BaseModel]) -> list[str]:
    return [info.alias or name for name, info in model.model_fields.items()]


def _check_ignore_changes(ctx: Context, res: ParsedResource) -> None:
    model = SPEC_MODELS[res.address.kind]
    fields = _spec_fields(model)
    for index, entry in enumerate(res.lifecycle.ignoreChanges):
        head = entry.split(".", 1)[0]
        if head not in fields:
            ctx.error(
                res,
                ("lifecycle", "ignoreChanges", index),
                f"'{entry}' is not a field of {res.address.kind.value} spec",
                "fields: " + ", ".join(fields),
            )
