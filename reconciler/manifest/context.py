"""What the validation rules see: the parsed resources of one run plus a reporter."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any

from reconciler.manifest.problems import Reporter, Severity
from reconciler.manifest.yamlmarks import Mark, MarkedDocument, Path
from reconciler.model.address import Address, Kind, SourceLocation
from reconciler.model.spec import (
    DatasetGroupSpec,
    DatasetSpec,
    Lifecycle,
    Metadata,
    SchemaSpec,
    Spec,
    StackSpec,
)


@dataclass(slots=True)
class ParsedResource:
    """A document whose apiVersion/kind/metadata/spec/lifecycle passed the models."""

    address: Address
    spec: Spec
    metadata: Metadata
    lifecycle: Lifecycle
    doc: MarkedDocument
    physical_name: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    depends_on: tuple[Address, ...] = ()

    @property
    def subject(self) -> str:
        return str(self.address)


PartialResource = tuple[Address, MarkedDocument, dict[str, Any]]
"""A resource whose spec did not validate: (address, document, raw spec). Its references are still checked."""


@dataclass(slots=True)
class Context:
    resources: list[ParsedResource]
    declared: dict[Address, MarkedDocument]
    """Every (kind, name) written in the manifests, even when its spec did not validate (no cascades)."""
    stack_name: str
    stack: StackSpec
    base_dir: FsPath
    reporter: Reporter
    stack_source: SourceLocation = field(default_factory=lambda: SourceLocation("<none>"))
    stack_doc: MarkedDocument | None = None
    """The Stack document (None for the default stack)."""
    by_address: dict[Address, ParsedResource] = field(default_factory=dict)
    partial: list[PartialResource] = field(default_factory=list)
    unchecked: int = 0
    """Documents not checked because they use variables the Stack leaves undefined (its error is reported):
    the cross-document rules, which would miss them, are not run."""
    _datasets: tuple[int, dict[str, list[ParsedResource]]] = (-1, {})
    """datasets_of_group's index (resource count it was built at, group -> datasets)."""
    _kinds: tuple[int, dict[Kind, list[ParsedResource]]] = (-1, {})
    """of_kind's index (resource count it was built at, kind -> resources in order)."""

    def __post_init__(self) -> None:
        self.by_address = {r.address: r for r in self.resources}

    # --- reporting -----------------------------------------------------------------------------------

    # Problems point at the offending value (or the nearest enclosing node when the value is missing).

    def error(self, res: ParsedResource, path: Path, message: str, hint: str | None = None) -> None:
        self.reporter.at(
            Severity.ERROR, res.doc, path, message, subject=res.subject, hint=hint, prefer_key=False
        )

    def warning(self, res: ParsedResource, path: Path, message: str, hint: str | None = None) -> None:
        self.reporter.at(
            Severity.WARNING, res.doc, path, message, subject=res.subject, hint=hint, prefer_key=False
        )

    def info(self, res: ParsedResource, path: Path, message: str, hint: str | None = None) -> None:
        self.reporter.at(
            Severity.INFO, res.doc, path, message, subject=res.subject, hint=hint, prefer_key=False
        )

    def error_in_value(
        self, res: ParsedResource, path: Path, offset: int, message: str, hint: str | None = None
    ) -> None:
        """An error at character `offset` inside the string value at `path` (exact column when the value is
        written on one line, else the value's start)."""
        mark = res.doc.locate(path, prefer_key=False)
        style = res.doc.scalar_styles.get(path, "multiline")
        if style in ("plain", "'", '"') and path in res.doc.value_marks:
            mark = Mark(mark.line, mark.column + offset + (0 if style == "plain" else 1))
        self.reporter.add(
            Severity.ERROR, res.doc.file, mark, message, subject=res.subject, path=path, hint=hint
        )

    # --- lookups -------------------------------------------------------------------------------------

    def of_kind(self, kind: Kind) -> Iterator[ParsedResource]:
        if self._kinds[0] != len(self.resources):  # the rules ask 16 times: one pass instead of 16
            index: dict[Kind, list[ParsedResource]] = {}
            for res in self.resources:
                index.setdefault(res.address.kind, []).append(res)
            self._kinds = (len(self.resources), index)
        return iter(self._kinds[1].get(kind, ()))

    def get(self, kind: Kind, name: str) -> ParsedResource | None:
        return self.by_address.get(Address(kind, name))

    def group_spec(self, name: str) -> DatasetGroupSpec | None:
        res = self.get(Kind.DATASET_GROUP, name)
        return res.spec if res is not None and isinstance(res.spec, DatasetGroupSpec) else None

    def datasets_of_group(self, group: str) -> dict[str, tuple[ParsedResource, SchemaSpec | None]]:
        """Dataset type -> (dataset, its schema spec if declared and valid), for one dataset group."""
        if self._datasets[0] != len(self.resources):  # scanning every dataset per group was quadratic
            index: dict[str, list[ParsedResource]] = {}
            for res in self.of_kind(Kind.DATASET):
                if isinstance(res.spec, DatasetSpec):
                    index.setdefault(res.spec.datasetGroup, []).append(res)
            self._datasets = (len(self.resources), index)
        out: dict[str, tuple[ParsedResource, SchemaSpec | None]] = {}
        for res in self._datasets[1].get(group, ()):
            spec = res.spec
            if isinstance(spec, DatasetSpec):
                schema = self.get(Kind.SCHEMA, spec.schema_)
                schema_spec = (
                    schema.spec if schema is not None and isinstance(schema.spec, SchemaSpec) else None
                )
                out.setdefault(spec.datasetType, (res, schema_spec))
        return out


def spec_group(spec: Any) -> str | None:
    """The dataset group a spec belongs to, directly (None for schemas, campaigns, groups)."""
    value = getattr(spec, "datasetGroup", None)
    return value if isinstance(value, str) else None


def article(word: str) -> str:
    """'a Solution', 'an INTERACTIONS', 'an EventTracker'."""
    return ("an " if word[:1].upper() in "AEIOU" else "a ") + word
