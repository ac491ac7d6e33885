"""A marked YAML reader: every node keeps its line and column, duplicate keys are rejected.

PyYAML's composer gives nodes with start marks; this module turns them into plain Python values (dicts, lists,
scalars as the safe loader would construct them) and records where every mapping key and every value was
written, keyed by its path (`("spec", "avro", "fields", 2, "type")`). The rest of the manifest package only
sees `MarkedDocument`s and never a YAML node.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml

try:  # the C parser is ~10x faster; fall back to the pure Python one when libyaml is missing
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

Path = tuple[str | int, ...]

_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"


@dataclass(frozen=True, slots=True)
class Mark:
    """1-based line and column."""

    line: int
    column: int


@dataclass(frozen=True, slots=True)
class YamlProblem:
    """A problem found while reading YAML (syntax, duplicate key, undefined variable)."""

    mark: Mark
    message: str
    hint: str | None = None
    path: Path = ()


@dataclass(slots=True)
class MarkedDocument:
    """One YAML document: its value plus the position of every key and value, by path."""

    file: str
    index: int
    """0-based position of the document in its file."""
    start: Mark
    data: Any
    value_marks: dict[Path, Mark] = field(default_factory=dict)
    key_marks: dict[Path, Mark] = field(default_factory=dict)
    scalar_styles: dict[Path, str] = field(default_factory=dict)
    """For single-line string scalars: 'plain', "'" or '"' (used to point inside a value)."""

    def locate(self, path: Path, *, prefer_key: bool = True) -> Mark:
        """Best position for `path`: the key (or value) itself, else the nearest enclosing node."""
        probe = tuple(path)
        while True:
            if prefer_key and probe in self.key_marks:
                return self.key_marks[probe]
            if probe in self.value_marks:
                return self.value_marks[probe]
            if probe in self.key_marks:
                return self.key_marks[probe]
            if not probe:
                return self.start
            probe = probe[:-1]


def _mark(node: yaml.Node) -> Mark:
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1)


_VARIABLE = re.compile(r"\$\$\{|\$\{([^}]*)\}")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")


class Substitution:
    """`${name}` substitution inside string scalars; `$${` writes a literal `${`."""

    def __init__(self, variables: dict[str, str]) -> None:
        self.variables = dict(variables)
        self.used: set[str] = set()

    def apply(
        self, text: str, mark: Mark, offset_ok: bool, problems: list[YamlProblem], path: Path = ()
    ) -> str:
        if "${" not in text:
            return text

        def replace(match: re.Match[str]) -> str:
            if match.group(1) is None:  # "$${" -> a literal "${"
                return "${"
            name = match.group(1).strip()
            column = mark.column + match.start() if offset_ok else mark.column
            where = Mark(mark.line, column)
            if not _NAME.match(name):
                problems.append(
                    YamlProblem(where, f"invalid variable reference '${{{match.group(1)}}}'", path=path)
                )
                return match.group(0)
            if name not in self.variables:
                known = ", ".join(sorted(self.variables)) or "none"
                problems.append(
                    YamlProblem(
                        where,
                        f"undefined variable '${{{name}}}'",
                        hint=f"define it under spec.variables of the Stack (defined: {known}); "
                        "write $${...} for a literal '${'",
                        path=path,
                    )
                )
                return match.group(0)
            self.used.add(name)
            return self.variables[name]

        return _VARIABLE.sub(replace, text)


class _Builder:
    def __init__(
        self, loader: Any, doc: MarkedDocument, subst: Substitution | None, problems: list[YamlProblem]
    ) -> None:
        self.loader = loader
        self.doc = doc
        self.subst = subst
        self.problems = problems
        self.active: set[int] = set()

    def build(self, node: yaml.Node, path: Path) -> Any:
        self.doc.value_marks.setdefault(path, _mark(node))
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, path)
        if id(node) in self.active:
            self.problems.append(YamlProblem(_mark(node), "recursive YAML alias"))
            return None
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
            if isinstance(node, yaml.MappingNode):
                return self.mapping(node, path)
        finally:
            self.active.discard(id(node))
        return None  # pragma: no cover - PyYAML has only these three node kinds

    def scalar(self, node: yaml.ScalarNode, path: Path) -> Any:
        if node.tag == _TIMESTAMP_TAG:
            value: Any = node.value  # keep dates as written; no spec field is a datetime
        else:
            try:
                value = self.loader.construct_object(node, deep=True)
            except yaml.constructor.ConstructorError as exc:
                self.problems.append(YamlProblem(_mark(node), str(exc.problem or exc)))
                return None
        single_line = node.start_mark.line == node.end_mark.line
        if isinstance(value, str) and single_line and node.style in (None, "'", '"'):
            self.doc.scalar_styles[path] = node.style or "plain"
        if isinstance(value, str) and self.subst is not None:
            offset_ok = single_line and node.style is None
            value = self.subst.apply(value, _mark(node), offset_ok, self.problems, path)
        return value

    def mapping(self, node: yaml.MappingNode, path: Path) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        first_seen: dict[Any, Mark] = {}
        merges: list[yaml.Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merges.append(value_node)
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self.problems.append(YamlProblem(_mark(key_node), "mapping keys must be plain scalars"))
                continue
            try:
                key = self.loader.construct_object(key_node, deep=True)
            except yaml.constructor.ConstructorError as exc:
                self.problems.append(YamlProblem(_mark(key_node), str(exc.problem or exc)))
                continue
            if not isinstance(key, str | int | float | bool) and key is not None:
                key = str(key)
            if key in first_seen:
                first = first_seen[key]
                self.problems.append(
                    YamlProblem(
                        _mark(key_node),
                        f"duplicate key '{key}' (first defined at line {first.line})",
                        hint="YAML keeps only the last value; remove or rename one of them",
                    )
                )
                continue
            first_seen[key] = _mark(key_node)
            child = (*path, key)
            self.doc.key_marks[child] = _mark(key_node)
            result[key] = self.build(value_node, child)
        for merge in merges:  # `<<: *anchor` - keys written here win over merged ones
            sources = merge.value if isinstance(merge, yaml.SequenceNode) else [merge]
            for source in sources:
                merged = self.build(source, path) if isinstance(source, yaml.MappingNode) else None
                if not isinstance(merged, dict):
                    self.problems.append(YamlProblem(_mark(source), "'<<' must merge a mapping"))
                    continue
                for key, value in merged.items():
                    result.setdefault(key, value)
        return result


@dataclass(slots=True)
class RawDocument:
    """A composed but not yet constructed document (so stack variables can be applied later)."""

    file: str
    index: int
    node: yaml.Node
    loader: Any

    def peek(self, key: str) -> str | None:
        """The plain string value of a top-level key, without constructing the document."""
        if isinstance(self.node, yaml.MappingNode):
            for key_node, value_node in self.node.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
                    return value_node.value if isinstance(value_node, yaml.ScalarNode) else None
        return None

    @property
    def start(self) -> Mark:
        return _mark(self.node)

    def build(self, subst: Substitution | None, problems: list[YamlProblem]) -> MarkedDocument:
        doc = MarkedDocument(self.file, self.index, _mark(self.node), None)
        doc.data = _Builder(self.loader, doc, subst, problems).build(self.node, ())
        return doc


def compose_documents(text: str, file: str) -> tuple[list[RawDocument], list[YamlProblem]]:
    """Split `text` into composed documents. A syntax error stops this file (YAML cannot resync)."""
    loader = _BaseLoader(text)
    documents: list[RawDocument] = []
    problems: list[YamlProblem] = []
    try:
        index = 0
        while loader.check_node():
            node = loader.get_node()
            if node is not None and not (
                isinstance(node, yaml.ScalarNode) and node.tag != _STR_TAG and node.value in ("", "~", "null")
            ):
                documents.append(RawDocument(file, index, node, loader))
            index += 1
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = Mark(mark.line + 1, mark.column + 1) if mark is not None else Mark(1, 1)
        message = "YAML syntax error: " + (exc.problem or "invalid YAML")
        if exc.context:
            message += f" ({exc.context}"
            if exc.context_mark is not None and exc.context_mark is not mark:
                message += f" at line {exc.context_mark.line + 1}"
            message += ")"
        problems.append(YamlProblem(where, message, hint="check indentation, quoting and ':' separators"))
    except yaml.YAMLError as exc:  # e.g. reader errors (control characters)
        problems.append(YamlProblem(Mark(1, 1), f"YAML error: {exc}"))
    return documents, problems


def load_marked(
    text: str, file: str, variables: dict[str, str] | None = None
) -> tuple[list[MarkedDocument], list[YamlProblem]]:
    """Convenience: compose and build every document of `text`."""
    raw, problems = compose_documents(text, file)
    subst = Substitution(variables) if variables is not None else None
    return [doc.build(subst, problems) for doc in raw], problems


BuildHook = Callable[[MarkedDocument], None]
