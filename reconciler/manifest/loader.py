"""Read manifest files into a validated `DesiredState`.

Stages (every stage reports all of its problems and the next stage still runs on what is usable):
1. find files (a directory: every *.yaml/*.yml below it, sorted; hidden directories skipped) and read YAML
   with positions (syntax errors, duplicate keys);
2. the stack settings: a `kind: Stack` document in the files, or `--stack FILE`;
3. `${var}` substitution, then the document envelope and the pydantic models (types, unknown fields);
4. cross-document rules (`reconciler.manifest.rules`): references, names, schemas, filters, recipes...
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
import os
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from reconciler.manifest.context import Context, ParsedResource, PartialResource
from reconciler.manifest.kinds import SPEC_MODELS, STACK_KIND, kind_names
from reconciler.manifest.problems import Reporter, Severity
from reconciler.manifest.pydantic_errors import report_validation_error
from reconciler.manifest.yamlmarks import (
    Mark,
    MarkedDocument,
    RawDocument,
    Substitution,
    compose_documents,
    decode_position,
    expand_variables,
)
from reconciler.model.address import Address, Kind, SourceLocation
from reconciler.model.spec import API_VERSION, Lifecycle, Metadata, StackSpec
from reconciler.model.state import DesiredResource, DesiredState, Stack
from reconciler.model.variables import NumberText, integer_from_variable, number_from_variable

DEFAULT_STACK_NAME = "default"
ENVELOPE_KEYS = ("apiVersion", "kind", "metadata", "spec", "lifecycle")


@dataclass
class ValidationReport:
    """The outcome of `validate()`: the state when there are no errors, and every message."""

    state: DesiredState | None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    infos: list[str] = field(default_factory=list)
    resource_count: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


def display_path(path: Path) -> str:
    """A path as users wrote it: relative to the working directory when below it."""
    try:
        rel = os.path.relpath(path)
    except ValueError:  # pragma: no cover - different drive on Windows
        return str(path)
    return str(path) if rel.startswith("..") else rel


def find_manifest_files(path: Path, reporter: Reporter | None = None) -> list[Path]:
    """`path` itself, or every *.yaml/*.yml below it (sorted), skipping hidden files and directories and
    `<env>.stack.yaml` files (alternative stacks, used only with --stack).

    Symbolic links to directories are followed (once per real directory), a *.yaml symbolic link whose
    target is missing is listed (reading it then reports it), and a directory that cannot be read is
    reported to `reporter`: skipping any of them would silently drop its resources from the plan, which
    then destroys them when prune is on."""
    if path.is_file():
        return [path]
    if not path.is_dir():  # a device or pipe: "no manifest documents found" says it
        return []

    def unreadable(exc: OSError) -> None:
        if reporter is not None:
            shown = display_path(Path(exc.filename)) if exc.filename else display_path(path)
            reporter.add(
                Severity.ERROR,
                shown,
                None,
                f"cannot read directory: {exc.strerror or exc}",
                hint="fix its permissions: the manifests in it would be missing from the plan",
            )

    files: list[Path] = []
    seen: set[str] = set()  # real paths of the directories walked: a link back up is not walked again
    for root, dirs, names in os.walk(path, onerror=unreadable, followlinks=True):
        real = os.path.realpath(root)
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in names:
            p = Path(root, name)
            if (
                p.suffix in (".yaml", ".yml")
                and not name.startswith(".")
                and not name.endswith((".stack.yaml", ".stack.yml"))
                and (p.is_file() or (p.is_symlink() and not p.exists()))
            ):
                files.append(p)
    return sorted(files)


# --- stage 1: files --------------------------------------------------------------------------------------


def _read_documents(files: list[Path], reporter: Reporter) -> list[RawDocument]:
    documents: list[RawDocument] = []
    for file in files:
        shown = display_path(file)
        try:
            data = file.read_bytes()
        except OSError as exc:
            broken = file.is_symlink() and not file.exists()
            reporter.add(
                Severity.ERROR,
                shown,
                None,
                f"cannot read file: {exc.strerror or exc}"
                + (f" (a symbolic link to {os.readlink(file)}, which does not exist)" if broken else ""),
                hint="restore the file or remove the link: its resources would be missing from the plan"
                if broken
                else None,
            )
            continue
        unreadable = False
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line, column = decode_position(data, exc.start)
            reporter.add(
                Severity.ERROR,
                shown,
                Mark(line, column),
                f"not UTF-8: byte 0x{data[exc.start]:02x} cannot be decoded ({exc.reason})",
                hint="save the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8`); its resources are not "
                "checked until then",
            )
            # still read it (bad bytes replaced) to learn which resources it declares: no knock-on
            # "not defined" errors for them elsewhere
            text, unreadable = data.decode("utf-8", errors="replace"), True
        if text.startswith("\ufeff"):
            text = text[1:]
        docs, problems = compose_documents(text, shown)
        if unreadable:
            for doc in docs:
                doc.unreadable = True
        else:
            for problem in problems:
                reporter.add(Severity.ERROR, shown, problem.mark, problem.message, hint=problem.hint)
        documents.extend(docs)
    return documents


# --- stage 2: stack settings -----------------------------------------------------------------------------


@dataclass
class _StackInfo:
    name: str = DEFAULT_STACK_NAME
    spec: StackSpec = field(default_factory=StackSpec)
    source: SourceLocation = field(default_factory=lambda: SourceLocation("<none>"))
    doc: MarkedDocument | None = None
    broken: bool = False
    """The Stack document has errors (reported): `spec` holds the part of it that validated, so the other
    documents are still checked with its variables and settings (the run has failed already)."""
    lost: frozenset[str] | None = frozenset()
    """Variables the Stack defines whose definition its errors took away; None: its `variables` could not
    be read at all. Their uses elsewhere follow from the Stack's error and are not reported one by one."""


#: Built-in variables the Stack's own fields define (`_substitution`): variable -> Stack field.
BUILT_IN_VARIABLES = {"region": "region", "account_id": "accountId"}


def _lost_variables(raw_spec: Any, spec: StackSpec | None) -> frozenset[str] | None:
    if not isinstance(raw_spec, dict):
        return None
    kept = spec.variables if spec is not None else {}
    # `accountId: 123456789012` (unquoted: a number) takes `${account_id}` away, as a bad variable would
    built_in = {
        name
        for name, field_name in BUILT_IN_VARIABLES.items()
        if raw_spec.get(field_name) is not None
        and (spec is None or getattr(spec, field_name) is None)
        and name not in kept
    }
    raw_variables = raw_spec.get("variables")
    if raw_variables is None:
        return frozenset(built_in)
    if not isinstance(raw_variables, dict):
        return None
    return frozenset(built_in | {str(name) for name in raw_variables if str(name) not in kept})


def _parse_stack(raw: RawDocument, reporter: Reporter) -> _StackInfo | None:
    """The Stack's settings; when it has errors, the settings that validated (`broken`), so one bad field
    is reported once instead of as an undefined variable at every use of the Stack's variables."""
    problems: list[Any] = []
    doc = raw.build(None, problems)
    for problem in problems:
        reporter.add(Severity.ERROR, raw.file, problem.mark, problem.message, hint=problem.hint)
    data = doc.data
    if not isinstance(data, dict):
        return None
    name = _metadata_name(data)
    subject = f"{STACK_KIND}/{name}" if name else STACK_KIND
    ok = _check_envelope(doc, subject, reporter, allowed=("apiVersion", "kind", "metadata", "spec"))
    ok = ok and not problems
    metadata = data.get("metadata")
    if not isinstance(metadata, dict) or not isinstance(metadata.get("name"), str):
        reporter.at(Severity.ERROR, doc, ("metadata", "name"), "required field is missing", subject=subject)
        ok = False
    else:
        extra = sorted(str(k) for k in metadata if k != "name")
        for key in extra:
            reporter.at(Severity.ERROR, doc, ("metadata", key), "unknown field", subject=subject)
            ok = False
    raw_spec = data.get("spec") or {}
    spec: StackSpec | None
    try:
        spec = validate_model(StackSpec, raw_spec)
    except ValidationError as exc:
        report_validation_error(exc, StackSpec, doc, ("spec",), raw_spec, subject, reporter)
        spec = repair_spec(StackSpec, raw_spec, exc) if isinstance(raw_spec, dict) else None
        ok = False
    lost = _lost_variables(raw_spec, spec)
    return _StackInfo(
        name or DEFAULT_STACK_NAME,
        spec if spec is not None else StackSpec(),
        SourceLocation(raw.file, raw.start.line, raw.start.column),
        doc,
        broken=not ok or not name,
        lost=lost,
    )


def _metadata_name(data: dict[Any, Any]) -> str | None:
    metadata = data.get("metadata")
    if isinstance(metadata, dict) and isinstance(metadata.get("name"), str):
        return str(metadata["name"])
    return None


def _check_envelope(
    doc: MarkedDocument, subject: str | None, reporter: Reporter, allowed: tuple[str, ...] = ENVELOPE_KEYS
) -> bool:
    ok = True
    data = doc.data
    for key in data:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            reporter.at(
                Severity.ERROR,
                doc,
                (key,),
                "unknown top-level field",
                subject=subject,
                hint=f"did you mean '{close[0]}'?" if close else "allowed: " + ", ".join(allowed),
            )
            ok = False
    version = data.get("apiVersion")
    if version is None:
        reporter.at(
            Severity.ERROR,
            doc,
            ("apiVersion",),
            "required field is missing",
            subject=subject,
            hint=f"add 'apiVersion: {API_VERSION}'",
        )
        ok = False
    elif version != API_VERSION:
        reporter.at(
            Severity.ERROR,
            doc,
            ("apiVersion",),
            f"unsupported apiVersion {version!r}",
            subject=subject,
            hint=f"use '{API_VERSION}'",
            prefer_key=False,
        )
        ok = False
    return ok


# --- stage 3: resource documents -------------------------------------------------------------------------


def _parse_resource(
    doc: MarkedDocument,
    reporter: Reporter,
    declared: dict[Address, MarkedDocument],
    partial: list[PartialResource],
) -> Any:
    data = doc.data
    if not isinstance(data, dict):
        reporter.add(
            Severity.ERROR,
            doc.file,
            doc.start,
            "a manifest document must be a mapping with apiVersion, kind, metadata and spec",
        )
        return None
    kind_text = data.get("kind")
    name = _metadata_name(data)
    subject = f"{kind_text}/{name}" if isinstance(kind_text, str) and name else None
    ok = _check_envelope(doc, subject, reporter)
    kind: Kind | None = None
    if kind_text is None:
        reporter.at(
            Severity.ERROR,
            doc,
            ("kind",),
            "required field is missing",
            subject=subject,
            hint="one of: " + ", ".join(kind_names()),
        )
    elif not isinstance(kind_text, str) or kind_text not in Kind:
        close = difflib.get_close_matches(str(kind_text), [*kind_names(), STACK_KIND], n=1)
        reporter.at(
            Severity.ERROR,
            doc,
            ("kind",),
            f"unknown kind {kind_text!r}",
            subject=None,
            prefer_key=False,
            hint=f"did you mean '{close[0]}'?" if close else "one of: " + ", ".join(kind_names()),
        )
    else:
        kind = Kind(kind_text)
    raw_metadata = data.get("metadata")
    metadata: Metadata | None = None
    if raw_metadata is None:
        reporter.at(
            Severity.ERROR,
            doc,
            ("metadata",),
            "required field is missing",
            subject=subject,
            hint="add 'metadata: {name: ...}'",
        )
    else:
        try:
            metadata = Metadata.model_validate(raw_metadata)
        except ValidationError as exc:
            report_validation_error(exc, Metadata, doc, ("metadata",), raw_metadata, subject, reporter)
    if kind is not None and name is not None:
        address = Address(kind, name)
        if address in declared:
            first = declared[address]
            line = first.start.line
            reporter.at(
                Severity.ERROR,
                doc,
                ("metadata", "name"),
                f"duplicate {address}",
                subject=str(address),
                hint=f"also defined at {first.file}:{line}; names are unique per kind",
            )
            reporter.at(
                Severity.ERROR,
                first,
                ("metadata", "name"),
                f"duplicate {address}",
                subject=str(address),
                hint=f"also defined at {doc.file}:{doc.start.line}",
            )
            return None
        declared[address] = doc
    spec: Any = None
    dropped: list[tuple[tuple[Any, ...], int]] = []
    if kind is not None:
        raw_spec = data.get("spec")
        if raw_spec is None:
            raw_spec = {}
        model = SPEC_MODELS[kind]
        try:
            spec = validate_model(model, raw_spec)
        except ValidationError as exc:
            report_validation_error(exc, model, doc, ("spec",), raw_spec, subject, reporter)
            if kind is Kind.SCHEMA and isinstance(raw_spec, dict):
                # check the rest of the schema too (all problems in one run); the run already failed,
                # so the repaired spec never reaches a state
                spec = repair_spec(model, raw_spec, exc, dropped=dropped)
            if spec is None and name is not None and isinstance(raw_spec, dict):
                partial.append((Address(kind, name), doc, raw_spec))
    lifecycle = Lifecycle()
    if data.get("lifecycle") is not None:
        try:
            lifecycle = validate_model(Lifecycle, data["lifecycle"])
        except ValidationError as exc:
            report_validation_error(exc, Lifecycle, doc, ("lifecycle",), data["lifecycle"], subject, reporter)
            ok = False
    if not ok or kind is None or metadata is None or spec is None:
        return None
    removed = tuple((("spec", *where), index) for where, index in dropped)
    return ParsedResource(Address(kind, metadata.name), spec, metadata, lifecycle, doc, dropped=removed)


def _drop(
    data: Any, loc: tuple[Any, ...], missing: bool, dropped: list[tuple[tuple[Any, ...], int]] | None = None
) -> bool:
    """Remove what a validation error at `loc` points at: the deepest existing key, or for a missing
    required key the list item holding it (appended to `dropped` as (the list's path, index)). False when
    nothing sensible can be removed."""
    node: Any = data
    trail: list[tuple[Any, Any]] = []
    for part in loc:
        if (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        ):
            trail.append((node, part))
            node = node[part]
        else:
            break
    if missing or not trail:
        items = [(depth, n, p) for depth, (n, p) in enumerate(trail) if isinstance(n, list)]
        if not items:
            return False
        depth, container, index = items[-1]
        del container[index]
        if dropped is not None:
            dropped.append((tuple(p for _, p in trail[:depth]), index))
        return True
    container, key = trail[-1]
    del container[key]
    return True


_NUMBER_ERRORS = {"int_type": integer_from_variable, "float_type": number_from_variable}


def _set_number(data: Any, loc: tuple[Any, ...], wanted: str, number: Any) -> bool:
    """Put `number` where `loc` finds the variable's text `wanted` (loc parts that are not keys of the data,
    such as a union member's tag, are skipped); False when that place holds something else."""
    node: Any = data
    parent: Any = None
    key: Any = None
    for part in loc:
        if (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        ):
            parent, key, node = node, part, node[part]
    if parent is None or not isinstance(node, NumberText) or node != wanted:
        return False
    parent[key] = number
    return True


def validate_model(model: Any, raw: Any) -> Any:
    """`model.model_validate(raw)`, where a number field may also hold exactly one `${variable}` that spells
    a number (per-environment values, model/variables.py): the places the strict model refused such a string
    are given its number and validated once more. A literal "5" is a plain str and stays refused."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        data = copy.deepcopy(raw)
        converted = False
        for error in exc.errors():
            convert = _NUMBER_ERRORS.get(error["type"])
            wanted = error.get("input")
            if convert is None or not isinstance(wanted, NumberText):
                continue
            number = convert(wanted)
            if number is not wanted:
                converted |= _set_number(data, tuple(error["loc"]), wanted, number)
        if not converted:
            raise
    return model.model_validate(data)


def repair_spec(
    model: Any,
    raw: dict[str, Any],
    error: ValidationError,
    rounds: int = 20,
    dropped: list[tuple[tuple[Any, ...], int]] | None = None,
) -> Any:
    """`raw` minus the parts the model rejected (an unknown key, a mistyped value, a list item without a
    required key), validated; None when the rest does not validate. Used only to report the remaining
    problems of a document in the same run. The list items removed are appended to `dropped` (the list's
    path, its index then), in order."""
    data = copy.deepcopy(raw)
    errors = error.errors()
    for _ in range(rounds):
        if not errors or not _drop(data, tuple(errors[0]["loc"]), errors[0]["type"] == "missing", dropped):
            return None
        try:
            return validate_model(model, data)
        except ValidationError as exc:
            errors = exc.errors()
    return None


# --- entry points ----------------------------------------------------------------------------------------


@dataclass
class _Sources:
    files: list[Path]
    base_dir: Path
    stack: _StackInfo | None
    from_stack_file: bool


def _resolve_sources(path: Path, stack_file: Path | None, reporter: Reporter) -> _Sources | None:
    if stack_file is None:
        if not path.exists():
            reporter.add(
                Severity.ERROR,
                display_path(path),
                None,
                "no such file or directory",
                hint="pass the manifests directory (the default is manifests/ in the working directory)",
            )
            return None
        base = path if path.is_dir() else path.parent
        return _Sources(find_manifest_files(path, reporter), base.resolve(), None, False)
    if not stack_file.is_file():
        reporter.add(Severity.ERROR, display_path(stack_file), None, "stack file not found")
        return None
    stack_docs = [d for d in _read_documents([stack_file], reporter) if d.peek("kind") == STACK_KIND]
    if len(stack_docs) != 1:
        reporter.add(
            Severity.ERROR,
            display_path(stack_file),
            None,
            f"a stack file must hold exactly one 'kind: Stack' document (found {len(stack_docs)})",
        )
        return None
    stack = _parse_stack(stack_docs[0], reporter)
    if stack is None:
        return None
    if stack.spec.resources:
        files: list[Path] = []
        for entry in stack.spec.resources:
            target = (stack_file.parent / entry).resolve()
            if not target.exists():
                index = stack.spec.resources.index(entry)
                assert stack.doc is not None
                reporter.at(
                    Severity.ERROR,
                    stack.doc,
                    ("spec", "resources", index),
                    f"no such file or directory: {entry}",
                    subject=f"Stack/{stack.name}",
                    prefer_key=False,
                )
                continue
            files.extend(find_manifest_files(target, reporter))
        files = sorted(set(files))
        files = [f for f in files if f.resolve() != stack_file.resolve()]
        return _Sources(files, stack_file.parent.resolve(), stack, True)
    base = path if path.is_dir() else path.parent
    files = [f for f in find_manifest_files(path, reporter) if f.resolve() != stack_file.resolve()]
    return _Sources(files, base.resolve(), stack, True)


def _substitution(stack: _StackInfo, reporter: Reporter) -> Substitution:
    """The stack's variables, each expanded (variables may use variables); problems at the variable."""
    values = {"stack": stack.name}
    if stack.spec.region:
        values["region"] = stack.spec.region
    if stack.spec.accountId:
        values["account_id"] = stack.spec.accountId
    values.update(stack.spec.variables)
    expanded, problems = expand_variables(values)
    for name, (message, hint) in problems.items():
        if stack.doc is not None and name in stack.spec.variables:
            reporter.at(
                Severity.ERROR,
                stack.doc,
                ("spec", "variables", name),
                message,
                subject=f"{STACK_KIND}/{stack.name}",
                hint=hint,
                prefer_key=False,
            )
        else:  # pragma: no cover - built-in values (stack name, region, account) hold no ${...}
            reporter.add(Severity.ERROR, stack.source.file, None, f"variable '{name}': {message}", hint=hint)
    return Substitution(
        expanded, broken=set(problems) | (stack.lost or set()), undefined_broken=stack.lost is None
    )


def parse(path: Path, *, stack_file: Path | None = None) -> tuple[Context | None, Reporter]:
    """Stages 1-3: read, substitute and model-validate every document (no cross-document rules)."""
    reporter = Reporter()
    sources = _resolve_sources(Path(path), Path(stack_file) if stack_file else None, reporter)
    if sources is None:
        return None, reporter
    raw_docs = _read_documents(sources.files, reporter)
    stack_raw: list[RawDocument] = []
    resource_raw: list[RawDocument] = []
    for raw_doc in raw_docs:
        (stack_raw if raw_doc.peek("kind") == STACK_KIND else resource_raw).append(raw_doc)
    stack = sources.stack
    if sources.from_stack_file:
        for stack_doc in stack_raw:
            reporter.add(
                Severity.INFO,
                stack_doc.file,
                stack_doc.start,
                "Stack document ignored: settings come from --stack",
            )
    elif len(stack_raw) > 1:
        for stack_doc in stack_raw:
            reporter.add(
                Severity.ERROR,
                stack_doc.file,
                stack_doc.start,
                f"{len(stack_raw)} Stack documents found; a directory holds at most one",
                hint="keep one Stack per directory, or pass --stack FILE",
            )
    elif stack_raw:
        stack = _parse_stack(stack_raw[0], reporter)
        if stack is not None and stack.spec.resources and stack.doc is not None:
            reporter.at(
                Severity.WARNING,
                stack.doc,
                ("spec", "resources"),
                "ignored for a Stack found in the manifests directory",
                subject=f"Stack/{stack.name}",
                hint="it is used when the file is passed with --stack",
            )
        if stack is None:  # not a mapping (reported): none of its settings or variables can be read
            source = SourceLocation(stack_raw[0].file, stack_raw[0].start.line)
            stack = _StackInfo(source=source, broken=True, lost=None)
    if stack is None:
        stack = _StackInfo()
    subst = _substitution(stack, reporter)
    unchecked = 0
    declared: dict[Address, MarkedDocument] = {}
    partial: list[PartialResource] = []
    parsed: list[ParsedResource] = []
    failed: list[MarkedDocument] = []  # documents with errors of their own: rules do not miss them
    found_documents = bool(raw_docs)
    # Each composed tree is dropped once built: holding every file's tree at once was most of load's memory
    # peak at thousands of resources.
    pending = deque(resource_raw)
    del raw_docs, resource_raw
    while pending:
        raw_doc = pending.popleft()
        yaml_problems: list[Any] = []
        broken_before = subst.broken_uses
        doc = raw_doc.build(subst, yaml_problems)
        if raw_doc.unreadable or subst.broken_uses > broken_before:
            # an undecodable file (reported once for the file) or a use of a variable whose value is wrong
            # (reported at the variable): only remember what it declares, no knock-on errors
            data = doc.data if isinstance(doc.data, dict) else {}
            kind, name = data.get("kind"), _metadata_name(data)
            if kind in Kind and name:
                declared.setdefault(Address(Kind(kind), name), doc)
            unchecked += subst.broken_uses > broken_before
            failed.append(doc)
            continue
        if yaml_problems:
            # the model errors that follow would only repeat the unresolved value; still register the name
            data = doc.data if isinstance(doc.data, dict) else {}
            kind, name = data.get("kind"), _metadata_name(data)
            subject = f"{kind}/{name}" if isinstance(kind, str) and name else None
            for problem in yaml_problems:
                reporter.add(
                    Severity.ERROR,
                    raw_doc.file,
                    problem.mark,
                    problem.message,
                    hint=problem.hint,
                    subject=subject,
                    path=problem.path,
                )
            if kind in Kind and name:
                declared.setdefault(Address(Kind(kind), name), doc)
            failed.append(doc)
            continue
        resource = _parse_resource(doc, reporter, declared, partial)
        if resource is not None:
            parsed.append(resource)
        else:
            failed.append(doc)
    if not found_documents and not reporter.has_errors:
        where = display_path(Path(path))
        found = (
            "no *.yaml or *.yml files"
            if not sources.files
            else f"{len(sources.files)} file{'s' if len(sources.files) != 1 else ''} but no YAML documents"
        )
        reporter.add(
            Severity.ERROR,
            where,
            None,
            f"no manifest documents found ({found})",
            hint="check the path: a wrong directory would otherwise plan 'No changes' (or delete everything "
            "with prune on); pass the directory that holds the manifests",
        )
    if unchecked:
        _report_unchecked(stack, subst, unchecked, reporter)
    context = Context(parsed, declared, stack.name, stack.spec, sources.base_dir, reporter, stack.source)
    context.partial = partial
    context.failed = failed
    context.unchecked = unchecked
    context.stack_doc = stack.doc
    return context, reporter


def _report_unchecked(stack: _StackInfo, subst: Substitution, documents: int, reporter: Reporter) -> None:
    """One error after the Stack's own instead of an error at every use of a variable the Stack leaves
    undefined (its error, or its variable's, is the one to fix); the documents using them are not checked."""
    uses = subst.broken_uses
    used = [f"${{{name}}}" for name in sorted(subst.broken_used)]
    names = ", ".join(used[:-1]) + " and " + used[-1] if len(used) > 1 else "".join(used)
    stack_errors = [
        p
        for p in reporter.problems
        if p.severity is Severity.ERROR
        and p.file == stack.source.file
        and (p.subject or "").startswith(STACK_KIND)
    ]
    last = max(stack_errors, key=lambda p: p.sort_key, default=None)
    file, mark = (
        (last.file, Mark(last.line, last.column))
        if last is not None
        else (stack.source.file, Mark(stack.source.line, stack.source.column))
    )
    errors = f"{uses} more error{'s follow' if uses != 1 else ' follows'}"
    docs = f"{documents} document{'s use' if documents != 1 else ' uses'}"
    reporter.add(
        Severity.ERROR,
        file,
        mark,
        f"{errors} from the Stack error above: {docs} {names}, which it leaves undefined, and "
        f"{'were' if documents != 1 else 'was'} not checked",
        subject=f"{STACK_KIND}/{stack.name}",
        hint="fix the Stack and validate again; the cross-document checks also wait for it",
        rank=1,
    )


def address_order(res: DesiredResource) -> tuple[str, str]:
    """Sort key giving the order of `Address` (kind, then name) without its Python-level comparisons."""
    return (res.address.kind, res.address.name)


def digest_of(stack: Stack, resources: list[DesiredResource]) -> str:
    """sha256 of the canonical JSON of the stack settings and every resource (sorted keys, no spaces):
    `{"resources":[...],"stack":{...}}`, hashed one resource at a time (the whole text of thousands of
    resources was a large transient)."""
    digest = hashlib.sha256(b'{"resources":[')
    for i, r in enumerate(sorted(resources, key=address_order)):
        entry = {
            "address": str(r.address),
            "physicalName": r.physical_name,
            "spec": r.spec.model_dump(mode="json", by_alias=True),
            "tags": dict(sorted(r.tags.items())),
            "lifecycle": r.lifecycle.model_dump(mode="json"),
            "dependsOn": [str(a) for a in r.depends_on],
        }
        digest.update((b"," if i else b"") + _canonical(entry))
    settings = {"name": stack.name, "settings": stack.settings.model_dump(mode="json", by_alias=True)}
    digest.update(b'],"stack":' + _canonical(settings) + b"}")
    return digest.hexdigest()


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def build_state(context: Context) -> DesiredState:
    stack = Stack(context.stack_name, context.stack, context.stack_source)
    resources: list[DesiredResource] = []
    for res in context.resources:
        location = SourceLocation(res.doc.file, res.doc.start.line, res.doc.start.column)
        resources.append(
            DesiredResource(
                address=res.address,
                spec=res.spec,
                physical_name=res.physical_name,
                tags=dict(res.tags),
                lifecycle=res.lifecycle,
                source=location,
                depends_on=res.depends_on,
            )
        )
    return DesiredState(
        stack=stack,
        resources={r.address: r for r in sorted(resources, key=address_order)},
        digest=digest_of(stack, resources),
        base_dir=str(context.base_dir),
    )
