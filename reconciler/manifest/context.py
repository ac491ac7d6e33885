"""What the validation rules see: the parsed resources of one run plus a reporter."""

from __future__ import annotations

import difflib
import typing
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
    DatasetType,
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
    dropped: tuple[tuple[Path, int], ...] = ()
    """The list items (list path, index then) its repaired spec lacks: a Schema with errors (reported) is
    checked further without the rejected parts (`loader.repair_spec`). Problems at a path of that spec are
    placed at the document's own item (`source_path`); rules of other documents do not read such a spec,
    whose dropped fields they would report as missing (`Context.schema_spec`)."""

    @property
    def subject(self) -> str:
        return str(self.address)

    def source_path(self, path: Path) -> Path:
        """`path` in the spec -> the same place in the document (list indices before dropped items)."""
        out = list(path)
        for prefix, index in reversed(self.dropped):
            n = len(prefix)
            at = out[n] if len(out) > n and tuple(out[:n]) == prefix else None
            if isinstance(at, int) and at >= index:
                out[n] = at + 1
        return tuple(out)


PartialResource = tuple[Address, MarkedDocument, dict[str, Any]]
"""A resource whose spec did not validate: (address, document, raw spec). Its references are still checked."""

DATASET_TYPES: tuple[str, ...] = typing.get_args(DatasetType)


@dataclass(frozen=True, slots=True)
class FailedDataset:
    """A Dataset document with errors of its own (reported), as far as it can be read: a rule that finds a
    dataset missing does not blame another document for what this one may be (one mistake, one error)."""

    doc: MarkedDocument
    subject: str | None
    group: str | None
    """Its dataset group when it names a declared one, or the one a "did you mean" hint names; None: any."""
    dataset_type: str | None
    """Its datasetType, or the one a misspelling nearly spells ('INTERACTION'); None: any type."""

    def could_be(self, group: str, dataset_type: str) -> bool:
        return self.group in (None, group) and self.dataset_type in (None, dataset_type)

    def is_exactly(self, group: str, dataset_type: str) -> bool:
        return self.group == group and self.dataset_type == dataset_type


@dataclass(slots=True)
class Withheld:
    """Problems of other documents held back because `failed` may be the dataset they miss."""

    failed: FailedDataset
    group: str
    dataset_types: set[str] = field(default_factory=set)
    subjects: list[str] = field(default_factory=list)


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
    failed: list[MarkedDocument] = field(default_factory=list)
    """Resource documents that did not validate (their errors are reported), in file order."""
    withheld: list[Withheld] = field(default_factory=list)
    """Missing-dataset problems held back by `missing`; `report_withheld` sums each up in one line."""
    _failed_datasets: list[FailedDataset] | None = None
    _datasets: tuple[int, dict[str, list[ParsedResource]]] = (-1, {})
    """datasets_of_group's index (resource count it was built at, group -> datasets)."""
    _kinds: tuple[int, dict[Kind, list[ParsedResource]]] = (-1, {})
    """of_kind's index (resource count it was built at, kind -> resources in order)."""

    def __post_init__(self) -> None:
        self.by_address = {r.address: r for r in self.resources}

    # --- reporting -----------------------------------------------------------------------------------

    # Problems point at the offending value (or the nearest enclosing node when the value is missing).

    def report(
        self, severity: Severity, res: ParsedResource, path: Path, message: str, hint: str | None = None
    ) -> None:
        self.reporter.at(
            severity,
            res.doc,
            res.source_path(path),
            message,
            subject=res.subject,
            hint=hint,
            prefer_key=False,
        )

    def error(self, res: ParsedResource, path: Path, message: str, hint: str | None = None) -> None:
        self.report(Severity.ERROR, res, path, message, hint)

    def warning(self, res: ParsedResource, path: Path, message: str, hint: str | None = None) -> None:
        self.report(Severity.WARNING, res, path, message, hint)

    def info(self, res: ParsedResource, path: Path, message: str, hint: str | None = None) -> None:
        self.report(Severity.INFO, res, path, message, hint)

    def error_in_value(
        self, res: ParsedResource, path: Path, offset: int, message: str, hint: str | None = None
    ) -> None:
        """An error at character `offset` inside the string value at `path` (exact column when the value is
        written on one line, else the value's start)."""
        path = res.source_path(path)
        mark = res.doc.locate(path, prefer_key=False)
        style = res.doc.scalar_styles.get(path, "multiline")
        if style in ("plain", "'", '"') and path in res.doc.value_marks:
            mark = Mark(mark.line, mark.column + offset + (0 if style == "plain" else 1))
        self.reporter.add(
            Severity.ERROR, res.doc.file, mark, message, subject=res.subject, path=path, hint=hint
        )

    def missing(self, res: ParsedResource, group: str, dataset_types: list[str]) -> bool:
        """Whether to report that dataset group `group` has no dataset of `dataset_types` (a rule of `res`
        found none). Not when Dataset documents with errors of their own could be those datasets: one that
        declares exactly that dataset settles it (as a reference to a declared document is no error); one
        that cannot be read that far holds the problem back, summed up in one line after its own errors
        (`report_withheld`)."""
        matches = [
            [c for c in self.failed_datasets() if c.could_be(group, t)] if t in DATASET_TYPES else []
            for t in dataset_types
        ]
        if not dataset_types or not all(matches):
            return True
        unsure = [
            (t, candidates)
            for t, candidates in zip(dataset_types, matches, strict=True)
            if not any(c.is_exactly(group, t) for c in candidates)
        ]
        if unsure:
            first = unsure[0][1][0]
            entry = next((w for w in self.withheld if w.failed is first and w.group == group), None)
            if entry is None:
                entry = Withheld(first, group)
                self.withheld.append(entry)
            entry.dataset_types.update(t for t, _ in unsure)
            if res.subject not in entry.subjects:
                entry.subjects.append(res.subject)
        return False

    def failed_datasets(self) -> list[FailedDataset]:
        """The Dataset documents that did not validate, and the datasets whose dataset group is not
        declared (its error is reported at the reference): any of them may be the dataset a rule misses."""
        if self._failed_datasets is None:
            found: list[FailedDataset] = []
            for doc in self.failed:
                data = doc.data if isinstance(doc.data, dict) else {}
                kind, spec = data.get("kind"), data.get("spec")
                spec = spec if isinstance(spec, dict) else {}
                if kind != Kind.DATASET.value and (kind in Kind or "datasetType" not in spec):
                    continue
                metadata = data.get("metadata")
                name = metadata.get("name") if isinstance(metadata, dict) else None
                subject = f"{Kind.DATASET.value}/{name}" if isinstance(name, str) and kind in Kind else None
                group = self._declared_group(_field(spec, "datasetGroup"))
                found.append(FailedDataset(doc, subject, group, _dataset_type(spec)))
            for res in self.of_kind(Kind.DATASET):
                spec_ = res.spec
                if isinstance(spec_, DatasetSpec) and Address(Kind.DATASET_GROUP, spec_.datasetGroup) not in (
                    self.declared
                ):
                    group = self._declared_group(spec_.datasetGroup)
                    found.append(FailedDataset(res.doc, res.subject, group, spec_.datasetType))
            self._failed_datasets = found
        return self._failed_datasets

    def _declared_group(self, group: Any) -> str | None:
        """`group` when it names a declared dataset group, else the one its "did you mean" hint names
        (refs.py: the same cutoff); None: unknown."""
        if not isinstance(group, str):
            return None
        if Address(Kind.DATASET_GROUP, group) in self.declared:
            return group
        groups = [a.name for a in self.declared if a.kind is Kind.DATASET_GROUP]
        close = difflib.get_close_matches(group, sorted(groups), n=1, cutoff=0.6)
        return close[0] if close else None

    def report_withheld(self) -> None:
        """One error per Dataset document that held problems back, after its own last error: how many
        checks of which documents wait for it, and for which dataset."""
        for entry in self.withheld:
            doc = entry.failed.doc
            last_line = max(
                (m.line for marks in (doc.value_marks, doc.key_marks) for m in marks.values()),
                default=doc.start.line,
            )
            own = [
                p
                for p in self.reporter.problems
                if p.severity is Severity.ERROR
                and p.file == doc.file
                and doc.start.line <= p.line <= last_line
            ]
            last = max(own, key=lambda p: p.sort_key, default=None)
            mark = Mark(last.line, last.column) if last is not None else doc.start
            count = len(entry.subjects)
            types = " or ".join(article(t) for t in sorted(entry.dataset_types))
            names = entry.subjects[:4] + ([f"{count - 4} more"] if count > 4 else [])
            self.reporter.add(
                Severity.ERROR,
                doc.file,
                mark,
                f"{count} document{'s need' if count != 1 else ' needs'} {types} dataset in dataset group "
                f"'{entry.group}', which this one may be: not checked for it until this one validates",
                hint="fix the error above and validate again; waiting: "
                + (", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]),
                subject=entry.failed.subject,
                rank=1,
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
                out.setdefault(spec.datasetType, (res, self.schema_spec(spec.schema_)))
        return out

    def schema_spec(self, name: str) -> SchemaSpec | None:
        """The spec of Schema `name` when it is declared and valid, or valid but for some attributes: not when
        its errors took whole fields away (`dropped`), which the rules would report missing a second time."""
        schema = self.get(Kind.SCHEMA, name)
        if schema is None or schema.dropped or not isinstance(schema.spec, SchemaSpec):
            return None
        return schema.spec


_DATASET_FIELDS = frozenset(info.alias or name for name, info in DatasetSpec.model_fields.items())


def _field(spec: dict[str, Any], name: str) -> Any:
    """The value of field `name`, or of the one unknown key that misspells it (the error's "did you mean")."""
    if name in spec:
        return spec[name]
    unknown = [k for k in spec if isinstance(k, str) and k not in _DATASET_FIELDS]
    close = difflib.get_close_matches(name, unknown, n=1, cutoff=0.6)
    return spec[close[0]] if close else None


def _dataset_type(spec: dict[str, Any]) -> str | None:
    """The datasetType written, or the one a misspelling of it nearly spells ('INTERACTION'); None: any."""
    value = _field(spec, "datasetType")
    if not isinstance(value, str):
        return None
    close = difflib.get_close_matches(value.upper(), DATASET_TYPES, n=1, cutoff=0.8)
    return close[0] if close else None


def spec_group(spec: Any) -> str | None:
    """The dataset group a spec belongs to, directly (None for schemas, campaigns, groups)."""
    value = getattr(spec, "datasetGroup", None)
    return value if isinstance(value, str) else None


def article(word: str) -> str:
    """'a Solution', 'an INTERACTIONS', 'an EventTracker'."""
    return ("an " if word[:1].upper() in "AEIOU" else "a ") + word
