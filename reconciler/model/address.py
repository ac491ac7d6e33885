"""Resource kinds, addresses and source locations."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar


class _KindType(type):
    """The class itself iterates like an enum: `for kind in Kind`, `len(Kind)`, `"Campaign" in Kind`."""

    _members: dict[str, Kind]

    def __iter__(cls) -> Iterator[Kind]:
        return iter(list(cls._members.values()))

    def __len__(cls) -> int:
        return len(cls._members)

    def __contains__(cls, value: object) -> bool:
        return isinstance(value, str) and value in cls._members


class Kind(str, metaclass=_KindType):
    """Manifest kinds. The value is the `kind:` written in YAML.

    An open set of interned strings with the enum API used everywhere (`Kind.CAMPAIGN`, `Kind("Campaign")`,
    iteration in declaration order, `.value`, `.name`, ordering, hashing and `str` as the value). The built-in
    kinds are declared below; a new kind is declared in its handler file with `Kind.declare("NAME",
    "Value")` and becomes a member (iterated, accepted by `Kind("Value")` and by the manifest loader) when
    its handler is registered (`reconciler.resources.registry.register`).
    """

    __slots__ = ("_name",)
    _members: ClassVar[dict[str, Kind]] = {}
    _declared: ClassVar[dict[str, Kind]] = {}

    DATASET_GROUP: ClassVar[Kind]
    SCHEMA: ClassVar[Kind]
    DATASET: ClassVar[Kind]
    SOLUTION: ClassVar[Kind]
    CAMPAIGN: ClassVar[Kind]
    FILTER: ClassVar[Kind]
    EVENT_TRACKER: ClassVar[Kind]
    RECOMMENDER: ClassVar[Kind]
    METRIC_ATTRIBUTION: ClassVar[Kind]

    _name: str

    def __new__(cls, value: object) -> Kind:
        """The member whose value is `value` (ValueError for an unknown kind, as an enum does)."""
        if isinstance(value, Kind):
            value = value.value
        found = cls._members.get(value) if isinstance(value, str) else None
        if found is None:
            raise ValueError(f"{value!r} is not a valid Kind")
        return found

    @classmethod
    def declare(cls, name: str, value: str) -> Kind:
        """The kind `value` (`Kind.<name>` once it is a member); the same object when declared again."""
        existing = cls._declared.get(value)
        if existing is not None:
            if existing.name != name:
                raise ValueError(f"kind {value!r} is already declared as Kind.{existing.name}")
            return existing
        if not name.isidentifier() or not name.isupper() or not value.isidentifier():
            raise ValueError(f"a kind is declared as Kind.declare('UPPER_NAME', 'CamelValue'), not {name!r}")
        kind = str.__new__(cls, value)
        kind._name = name
        cls._declared[value] = kind
        return kind

    @classmethod
    def enroll(cls, kind: Kind) -> None:
        """Make a declared kind a member (called by the handler registry, nothing else)."""
        other = cls._members.get(kind.value)
        if other is not None and other is not kind:
            raise ValueError(f"another kind is already named {kind.value!r}")
        cls._members[kind.value] = kind
        setattr(cls, kind.name, kind)

    @classmethod
    def retire(cls, kind: Kind) -> None:
        """Undo `enroll` (the registry's `unregister`, for tests that add a kind for a while)."""
        if cls._members.get(kind.value) is kind:
            del cls._members[kind.value]
            if cls.__dict__.get(kind.name) is kind:
                delattr(cls, kind.name)

    @property
    def value(self) -> str:
        return str.__str__(self)

    @property
    def name(self) -> str:
        return self._name

    def __str__(self) -> str:
        return str.__str__(self)

    def __repr__(self) -> str:
        return f"<Kind.{self._name}: {str.__str__(self)!r}>"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Kind, (self.value,))

    def __copy__(self) -> Kind:
        return self

    def __deepcopy__(self, memo: Any) -> Kind:
        return self


for _name, _value in (
    ("DATASET_GROUP", "DatasetGroup"),
    ("SCHEMA", "Schema"),
    ("DATASET", "Dataset"),
    ("SOLUTION", "Solution"),
    ("CAMPAIGN", "Campaign"),
    ("FILTER", "Filter"),
    ("EVENT_TRACKER", "EventTracker"),
    ("RECOMMENDER", "Recommender"),
    ("METRIC_ATTRIBUTION", "MetricAttribution"),
):
    Kind.enroll(Kind.declare(_name, _value))
del _name, _value


@dataclass(frozen=True, order=True, slots=True)
class Address:
    """A resource's identity in the manifests: kind plus logical (manifest) name.

    `str(Address(Kind.CAMPAIGN, "related"))` == "Campaign/related".
    Ordered, so sorted output is deterministic.
    """

    kind: Kind
    name: str

    def __str__(self) -> str:
        return f"{self.kind.value}/{self.name}"

    @classmethod
    def parse(cls, text: str) -> Address:
        kind, _, name = text.partition("/")
        return cls(Kind(kind), name)


@dataclass(frozen=True, slots=True)
class SourceLocation:
    """Where something was written: file path (as given by the user), 1-based line and column."""

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if self.line <= 0:
            return self.file
        return f"{self.file}:{self.line}:{self.column}" if self.column > 0 else f"{self.file}:{self.line}"
