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
from itertools import chain
from typing import Any

import yaml

from reconciler.model.variables import PLAIN_EXPONENT, PlainNumber, VariableText

try:  # the C parser is ~10x faster; fall back to the pure Python one when libyaml is missing
    from yaml import CSafeLoader as _BaseLoader

    _LIBYAML = True
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

    _LIBYAML = False

Path = tuple[str | int, ...]

MAX_EXPANDED_NODES = 100_000
"""A document may expand to at most this many YAML values once aliases are followed (a 5,000-field schema
is ~20,000); beyond it the document is rejected before it is built (a "billion laughs" alias bomb)."""
MAX_DEPTH = 100
"""Deepest nesting of collections in a document (manifests need fewer than 10 levels)."""

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


def expand_variables(raw: dict[str, str]) -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
    """Expand `${name}` inside the variables' own values (any depth, in dependency order).

    Returns (expanded values, problems by variable name: (message, hint)). A variable in a cycle or that
    uses an undefined or broken variable is left out of the values (its uses are not reported again).
    """
    values: dict[str, str] = {}
    problems: dict[str, tuple[str, str]] = {}

    def resolve(name: str, chain: tuple[str, ...]) -> str | None:
        if name in values:
            return values[name]
        if name in problems:
            return None
        if name in chain:
            cycle = " -> ".join((*chain[chain.index(name) :], name))
            for member in chain[chain.index(name) :]:
                problems.setdefault(
                    member,
                    (f"variables refer to each other in a cycle: {cycle}", "break the cycle"),
                )
            return None
        failed: list[str] = []

        def replace(match: re.Match[str]) -> str:
            if match.group(1) is None:
                return "${"
            inner = match.group(1).strip()
            if not _NAME.match(inner):
                failed.append(f"invalid variable reference '${{{match.group(1)}}}'")
                return match.group(0)
            if inner not in raw:
                known = ", ".join(sorted(raw)) or "none"
                failed.append(f"undefined variable '${{{inner}}}' (defined: {known})")
                return match.group(0)
            value = resolve(inner, (*chain, name))
            if value is None:
                if name not in problems:
                    failed.append(f"uses variable '{inner}', which cannot be expanded")
                return match.group(0)
            return value

        text = _VARIABLE.sub(replace, raw[name])
        if name in problems:
            return None
        if failed:
            problems[name] = (
                "; ".join(failed),
                "define every variable a value uses under spec.variables; write $${...} for a literal '${'",
            )
            return None
        values[name] = text
        return text

    for name in raw:
        resolve(name, ())
    return values, problems


class Substitution:
    """`${name}` substitution inside string scalars; `$${` writes a literal `${`."""

    def __init__(
        self,
        variables: dict[str, str],
        broken: set[str] | frozenset[str] = frozenset(),
        *,
        undefined_broken: bool = False,
    ) -> None:
        self.variables = dict(variables)
        self.broken = set(broken)
        """Variables whose own value is wrong, or whose definition a Stack error took away (reported there):
        their uses are not reported."""
        self.undefined_broken = undefined_broken
        """Every undefined variable counts as broken (the Stack's `variables` could not be read)."""
        self.broken_uses = 0
        """How many uses of a broken variable were met (a document with one is not checked further)."""
        self.broken_used: set[str] = set()
        """The broken variables those uses named."""
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
            if name in self.broken or (self.undefined_broken and name not in self.variables):
                self.broken_uses += 1
                self.broken_used.add(name)
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

        result = _VARIABLE.sub(replace, text)
        whole = _VARIABLE.fullmatch(text)
        if whole is not None and whole.group(1) is not None and result != text:
            # exactly one variable: a number field may take the number it spells (model/variables.py)
            return VariableText(result, whole.group(1).strip())
        return result


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
        mark = _mark(node)
        self.doc.value_marks.setdefault(path, mark)
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, path, mark)
        if id(node) in self.active:
            self.problems.append(YamlProblem(mark, "recursive YAML alias"))
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

    def construct(self, node: yaml.ScalarNode, mark: Mark) -> tuple[Any, bool]:
        """The scalar's value as the safe loader constructs it, and False when it cannot be (reported)."""
        if node.tag == _STR_TAG:  # what the safe constructor returns for a string, without its bookkeeping
            return node.value, True
        try:
            return self.loader.construct_object(node, deep=True), True
        except yaml.constructor.ConstructorError as exc:
            self.problems.append(YamlProblem(mark, str(exc.problem or exc)))
            return None, False

    def scalar(self, node: yaml.ScalarNode, path: Path, mark: Mark) -> Any:
        if node.tag == _TIMESTAMP_TAG:
            value: Any = node.value  # keep dates as written; no spec field is a datetime
        else:
            value, ok = self.construct(node, mark)
            if not ok:
                return None
        if isinstance(value, str):
            single_line = node.start_mark.line == node.end_mark.line
            if single_line and node.style in (None, "'", '"'):
                self.doc.scalar_styles[path] = node.style or "plain"
            if not node.style and PLAIN_EXPONENT.fullmatch(value):  # plain: None, or "" from libyaml
                return PlainNumber(value)  # `2e-1` unquoted: a number to YAML 1.2 (model/variables.py)
            if self.subst is not None:
                value = self.subst.apply(value, mark, single_line and node.style is None, self.problems, path)
        return value

    def mapping(self, node: yaml.MappingNode, path: Path) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        first_seen: dict[Any, Mark] = {}
        merges: list[yaml.Node] = []
        key_marks = self.doc.key_marks
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merges.append(value_node)
                continue
            mark = _mark(key_node)
            if not isinstance(key_node, yaml.ScalarNode):
                self.problems.append(YamlProblem(mark, "mapping keys must be plain scalars"))
                continue
            key, ok = self.construct(key_node, mark)
            if not ok:
                continue
            if not isinstance(key, str | int | float | bool) and key is not None:
                key = str(key)
            if key in first_seen:
                first = first_seen[key]
                self.problems.append(
                    YamlProblem(
                        mark,
                        f"duplicate key '{key}' (first defined at line {first.line})",
                        hint="YAML keeps only the last value; remove or rename one of them",
                    )
                )
                continue
            first_seen[key] = mark
            child = (*path, key)
            key_marks[child] = mark
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
    unreadable: bool = False
    """From a file that could not be decoded: only its kind and name are used (no knock-on errors)."""

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


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def oversized_node(root: yaml.Node, limit: int = MAX_EXPANDED_NODES) -> tuple[yaml.Node, int] | None:
    """The innermost collection whose size with every alias expanded exceeds `limit`, with its nesting depth
    when the problem is depth instead (`(node, depth)`, depth > MAX_DEPTH), else None.

    Linear in the composed (not expanded) document: each node's expanded size is computed once. A node that
    contains itself (a recursive alias) counts as one value here; building reports it.
    """
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool, int]] = [(root, False, 1)]
    while stack:
        node, done, depth = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            total = 1 + sum(sizes.get(id(child), 1) for child in _children(node))
            sizes[key] = total
            if total > limit:
                return node, 0
            continue
        if key in sizes or key in on_path:
            continue
        if isinstance(node, yaml.ScalarNode):
            sizes[key] = 1
            continue
        if depth > MAX_DEPTH:
            return node, depth
        on_path.add(key)
        stack.append((node, True, depth))
        stack.extend((child, False, depth + 1) for child in _children(node) if id(child) not in sizes)
    return None


def _plainly_bounded(root: yaml.Node, limit: int = MAX_EXPANDED_NODES) -> bool:
    """True when the document has at most `limit` values with every alias expanded and no collection nests
    deeper than MAX_DEPTH: a quick walk, level by level, that visits an aliased node again each time and gives
    up (False) at either bound. When it is True, `oversized_node` finds nothing (every collection's
    expanded size is at most the whole document's); when False, `oversized_node` says what is wrong."""
    level, depth, total = [root], 1, 0
    while level:
        total += len(level)
        if total > limit:
            return False
        collections = [node for node in level if not isinstance(node, yaml.ScalarNode)]
        if collections and depth > MAX_DEPTH:
            return False
        level = []
        for node in collections:
            if isinstance(node, yaml.MappingNode):
                level.extend(chain.from_iterable(node.value))
            else:
                level.extend(node.value)
        depth += 1
    return True


def _bounded(node: yaml.Node, problems: list[YamlProblem]) -> bool:
    if _plainly_bounded(node):
        return True
    found = oversized_node(node)
    if found is None:
        return True
    where, depth = found
    if depth:
        problems.append(
            YamlProblem(
                _mark(where),
                f"YAML nested more than {MAX_DEPTH} levels deep",
                hint="manifests need only a few levels; check for a runaway '[' or '{'",
            )
        )
    else:
        problems.append(
            YamlProblem(
                _mark(where),
                f"YAML aliases expand this value to more than {MAX_EXPANDED_NODES:,} values "
                "(an alias expansion bomb?)",
                hint="write the values out, or use fewer nested '*alias' references; the document is skipped",
            )
        )
    return False


def compose_documents(text: str, file: str) -> tuple[list[RawDocument], list[YamlProblem]]:
    """Split `text` into composed documents. A syntax error stops this file (YAML cannot resync).

    Documents that would expand past MAX_EXPANDED_NODES values through aliases, or nest deeper than
    MAX_DEPTH, are reported and skipped before anything is built from them (bounded time and memory).
    """
    loader = _BaseLoader(text)
    documents: list[RawDocument] = []
    problems: list[YamlProblem] = []
    try:
        index = 0
        while loader.check_node():
            node = loader.get_node()
            if (
                node is not None
                and not (
                    isinstance(node, yaml.ScalarNode)
                    and node.tag != _STR_TAG
                    and node.value in ("", "~", "null")
                )
                and _bounded(node, problems)
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
    except yaml.reader.ReaderError as exc:  # control characters: the position is a character offset
        offset = exc.position
        if _LIBYAML:  # libyaml reports a byte offset into the UTF-8 text
            offset = len(text.encode("utf-8")[:offset].decode("utf-8", errors="ignore"))
        line, column = position_in(text, offset)
        code = ord(exc.character) if isinstance(exc.character, str) else int(exc.character)
        what = f"character U+{code:04X}"
        problems.append(
            YamlProblem(
                Mark(line, column),
                f"YAML cannot contain the {what} ({exc.reason})",
                hint="remove the character, or write it as an escape inside a double-quoted string",
            )
        )
    except yaml.YAMLError as exc:
        problems.append(YamlProblem(Mark(1, 1), f"YAML error: {exc}"))
    except RecursionError:  # the composer recurses per nesting level
        problems.append(
            YamlProblem(
                Mark(1, 1),
                f"YAML nested more than {MAX_DEPTH} levels deep",
                hint="manifests need only a few levels; check for a runaway '[' or '{'",
            )
        )
    return documents, problems


def position_in(text: str, offset: int) -> tuple[int, int]:
    """1-based (line, column) of character `offset` in `text`."""
    before = text[:offset]
    line = before.count("\n") + 1
    return line, offset - (before.rfind("\n") + 1) + 1


def decode_position(data: bytes, offset: int) -> tuple[int, int]:
    """1-based (line, column in characters) of byte `offset` of undecodable `data`."""
    line_start = data.rfind(b"\n", 0, offset) + 1
    column = len(data[line_start:offset].decode("utf-8", errors="replace")) + 1
    return data.count(b"\n", 0, offset) + 1, column


def load_marked(
    text: str, file: str, variables: dict[str, str] | None = None
) -> tuple[list[MarkedDocument], list[YamlProblem]]:
    """Convenience: compose and build every document of `text`."""
    raw, problems = compose_documents(text, file)
    subst = Substitution(variables) if variables is not None else None
    return [doc.build(subst, problems) for doc in raw], problems


BuildHook = Callable[[MarkedDocument], None]
