"""Resource kinds, addresses and source locations."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    """Manifest kinds. The value is the `kind:` written in YAML."""

    DATASET_GROUP = "DatasetGroup"
    SCHEMA = "Schema"
    DATASET = "Dataset"
    SOLUTION = "Solution"
    CAMPAIGN = "Campaign"
    FILTER = "Filter"
    EVENT_TRACKER = "EventTracker"
    RECOMMENDER = "Recommender"
    METRIC_ATTRIBUTION = "MetricAttribution"


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
