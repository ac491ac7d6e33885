"""Write resources back as manifest YAML (used by `import` and by the round-trip tests).

Key order is apiVersion, kind, metadata, spec, lifecycle; spec fields keep the model's order; fields equal to
their default are omitted; `recipeArn`s of service recipes are shortened to the recipe name; a literal `${`
in a string is written as `$${` so that `load()` does not substitute it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from reconciler.manifest.recipes import RECIPE_PREFIX
from reconciler.model.address import Kind
from reconciler.model.spec import API_VERSION, Lifecycle, Spec
from reconciler.model.state import DesiredResource


class _Dumper(yaml.SafeDumper):
    """Block style for mappings, readable multi-line strings."""


_LINE_BREAKS = frozenset("\x85\u2028\u2029")


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    awkward = any(c in _LINE_BREAKS or (ord(c) < 32 and c != "\n") or 0x7F <= ord(c) < 0xA0 for c in value)
    if awkward:  # unicode line breaks and control characters only survive escaped, in double quotes
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"')
    if "\n" in value and value == value.strip():
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _str_representer)


def _escape(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("${", "$${")
    if isinstance(value, dict):
        return {k: _escape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_escape(v) for v in value]
    return value


def spec_document(spec: Spec) -> dict[str, Any]:
    data: dict[str, Any] = spec.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    arn = data.get("recipeArn")
    if isinstance(arn, str) and arn.startswith(RECIPE_PREFIX):
        data["recipeArn"] = arn[len(RECIPE_PREFIX) :]
    return data


def resource_document(
    kind: Kind,
    name: str,
    spec: Spec,
    *,
    tags: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
    lifecycle: Lifecycle | None = None,
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if tags:
        metadata["tags"] = dict(tags)
    if labels:
        metadata["labels"] = dict(labels)
    document: dict[str, Any] = {"apiVersion": API_VERSION, "kind": kind.value, "metadata": metadata}
    document["spec"] = spec_document(spec)
    if lifecycle is not None:
        life = lifecycle.model_dump(mode="json", exclude_defaults=True)
        if life:
            document["lifecycle"] = life
    return _escape(document)  # type: ignore[no-any-return]


def comment_block(text: str) -> str:
    """`text` as YAML comment lines (`# ...`, no trailing blanks), one per line of `text`."""
    return "".join(f"# {line}".rstrip() + "\n" for line in text.splitlines())


def _yaml(document: dict[str, Any]) -> str:
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def dump_resource(
    kind: Kind,
    name: str,
    spec: Spec,
    *,
    tags: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
    lifecycle: Lifecycle | None = None,
    comment: str | None = None,
) -> str:
    """One manifest document (without the `---` separator)."""
    text = _yaml(resource_document(kind, name, spec, tags=tags, labels=labels, lifecycle=lifecycle))
    if comment:
        text = comment_block(comment) + text
    return text


def dump_documents(
    resources: Iterable[DesiredResource],
    *,
    comments: Mapping[str, str] | None = None,
    header: str | None = None,
) -> str:
    """Manifest YAML for `resources`, one document each, separated by `---`.

    `comments` maps `Kind/name` to a comment written above that document; `header` goes on top of the file.
    """
    parts: list[str] = []
    for resource in resources:
        comment = (comments or {}).get(str(resource.address))
        parts.append(
            dump_resource(
                resource.address.kind,
                resource.address.name,
                resource.spec,
                tags=resource.tags,
                lifecycle=resource.lifecycle,
                comment=comment,
            )
        )
    text = "---\n".join(parts)
    if header:
        text = comment_block(header) + text
    return text
