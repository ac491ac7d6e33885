"""Per account+region state (plain JSON-able data) and the request context the resource modules use."""

from __future__ import annotations

import hashlib
import heapq
import uuid
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from .errors import EmulatorError, in_use, limit_exceeded, not_found
from .kinds import DELETING, IN_FLIGHT, KINDS, VOCABULARY, Kind

if TYPE_CHECKING:
    from .core import PersonalizeEmulator

Record = dict[str, Any]


class RegionState:
    """Everything one emulated account+region holds. Records are dicts whose public keys are API members;
    internal bookkeeping keys start with ``_``. Pending transitions are data in the ``events`` heap."""

    def __init__(self) -> None:
        self.resources: dict[str, dict[str, Record]] = {k: {} for k in KINDS}
        self.tags: dict[str, dict[str, str]] = {}
        self.events: list[list[Any]] = []  # heap of [at, seq, action, arn, payload]
        self.seq = 0

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def to_dict(self) -> dict[str, Any]:
        return {
            "resources": self.resources,
            "tags": self.tags,
            "events": sorted(self.events),
            "seq": self.seq,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RegionState:
        out = cls()
        for key, records in data.get("resources", {}).items():
            if key in out.resources:
                out.resources[key] = dict(records)
        out.tags = {k: dict(v) for k, v in data.get("tags", {}).items()}
        out.events = [list(e) for e in data.get("events", [])]
        heapq.heapify(out.events)
        out.seq = int(data.get("seq", 0))
        return out


class Context:
    """One request (or one due event) against one account+region at virtual time ``now``."""

    def __init__(
        self, emulator: PersonalizeEmulator, state: RegionState, region: str, account: str, now: float
    ):
        self.emulator = emulator
        self.state = state
        self.region = region
        self.account = account
        self.now = now

    def at(self, now: float) -> Context:
        return Context(self.emulator, self.state, self.region, self.account, now)

    # ---- identity ---------------------------------------------------------------------------------
    def arn(self, kind: str, suffix: str) -> str:
        return f"arn:aws:personalize:{self.region}:{self.account}:{KINDS[kind].arn_type}/{suffix}"

    def short_id(self, *parts: str) -> str:
        """A deterministic 8-hex id (same calls in the same order give the same ids on every run)."""
        text = "/".join((self.account, self.region, str(self.state.seq + 1), *parts))
        return hashlib.sha256(text.encode()).hexdigest()[:8]

    def uuid(self, *parts: str) -> str:
        text = "/".join((self.account, self.region, str(self.state.seq + 1), *parts))
        return str(uuid.UUID(hashlib.sha256(text.encode()).hexdigest()[:32]))

    # ---- lookup -----------------------------------------------------------------------------------
    def records(self, kind: str) -> dict[str, Record]:
        return self.state.resources[kind]

    def find(self, kind: str, arn: str | None) -> Record | None:
        return self.state.resources[kind].get(arn) if arn else None

    def get(self, kind: str, arn: str, what: str | None = None) -> Record:
        record = self.find(kind, arn)
        if record is None:
            raise not_found(f"Could not find {what or KINDS[kind].title.lower()} with ARN {arn}.")
        return record

    def get_active(self, kind: str, arn: str, what: str) -> Record:
        """``get``, then refuse (ResourceInUseException) unless the record is ACTIVE."""
        record = self.get(kind, arn, what)
        require(
            record["status"] == "ACTIVE",
            f"{what.capitalize()} {arn} is in status {record['status']}; it must be ACTIVE.",
        )
        return record

    def where(self, kind: str, **match: Any) -> list[Record]:
        return [
            r for r in self.state.resources[kind].values() if all(r.get(k) == v for k, v in match.items())
        ]

    def live(self, kind: str, **match: Any) -> list[Record]:
        """Matching records that are not being deleted (what quotas count)."""
        return [r for r in self.where(kind, **match) if r.get("status") not in DELETING]

    def in_flight(self, kind: str, **match: Any) -> list[Record]:
        """Matching records still being created (pending or in progress)."""
        return [r for r in self.where(kind, **match) if r.get("status") in IN_FLIGHT]

    def kind_of(self, arn: str) -> str | None:
        for key, records in self.state.resources.items():
            if arn in records:
                return key
        return None

    # ---- creation ---------------------------------------------------------------------------------
    def insert(
        self, kind: str, arn: str, fields: dict[str, Any], tags: Iterable[dict[str, str]] = ()
    ) -> Record:
        spec: Kind = KINDS[kind]
        tag_map = {t["tagKey"]: t.get("tagValue", "") for t in tags}
        if spec.taggable:
            self.check_tag_count(
                arn, len(tag_map)
            )  # before anything is stored: a rejected create leaves nothing
        record: Record = {k: v for k, v in fields.items() if v is not None}
        record[spec.arn_key] = arn
        record.setdefault("creationDateTime", self.now)
        record.setdefault("lastUpdatedDateTime", self.now)
        record["_seq"] = self.state.next_seq()
        record["_gen"] = 0
        self.state.resources[kind][arn] = record
        if spec.taggable:
            self.state.tags[arn] = tag_map
        return record

    def check_tag_count(self, arn: str, count: int) -> None:
        limit = self.emulator.quotas["tags_per_resource"]
        if count > limit:
            raise EmulatorError(
                "TooManyTagsException",
                f"Resource {arn} would have {count} tags; a resource can have at most {limit} tags.",
            )

    def quota(self, name: str, used: int, what: str) -> None:
        limit = self.emulator.quotas[name]
        if used >= limit:
            raise limit_exceeded(f"You have reached the limit of {limit} {what} ({name}).")

    # ---- lifecycle --------------------------------------------------------------------------------
    def schedule(self, at: float, action: str, arn: str, **payload: Any) -> None:
        heapq.heappush(self.state.events, [at, self.state.next_seq(), action, arn, payload])

    def start_create(
        self,
        kind: str,
        record: Record,
        seconds: float,
        failure: str | None = None,
        first: str | None = None,
    ) -> None:
        """PENDING now, IN_PROGRESS after the profile's pending time, then done/failed ``seconds`` later."""
        words = VOCABULARY[KINDS[kind].vocabulary]
        arn = record[KINDS[kind].arn_key]
        record["_gen"] = gen = record.get("_gen", 0) + 1
        record["status"] = first or words["pending"]
        record["lastUpdatedDateTime"] = self.now
        record.pop("failureReason", None)
        begin = self.now + self.emulator.profile.pending
        self.schedule(begin, "status", arn, kind=kind, gen=gen, status=words["in_progress"])
        final = words["failed"] if failure else words["done"]
        self.schedule(begin + seconds, "status", arn, kind=kind, gen=gen, status=final, failureReason=failure)

    def transition(self, kind: str, record: Record, steps: list[tuple[float, str]]) -> None:
        """Set the first status now and schedule the rest at the given offsets (cancels earlier plans)."""
        arn = record[KINDS[kind].arn_key]
        record["_gen"] = gen = record.get("_gen", 0) + 1
        record["status"] = steps[0][1]
        record["lastUpdatedDateTime"] = self.now
        for offset, status in steps[1:]:
            self.schedule(self.now + offset, "status", arn, kind=kind, gen=gen, status=status)

    def start_delete(
        self, kind: str, record: Record, steps: tuple[str, ...] = ("DELETE PENDING", "DELETE IN_PROGRESS")
    ) -> None:
        profile = self.emulator.profile
        arn = record[KINDS[kind].arn_key]
        offsets = [0.0, profile.pending][: len(steps)]
        self.transition(kind, record, list(zip(offsets, steps, strict=True)))
        self.schedule(
            self.now + profile.pending + profile.delete, "remove", arn, kind=kind, gen=record["_gen"]
        )

    def start_update(self, kind: str, record: Record, field: str, summary: dict[str, Any]) -> None:
        """Begin a ``latest*Update``: top-level values switch when the update becomes ACTIVE."""
        arn = record[KINDS[kind].arn_key]
        gen = record.get("_ugen", 0) + 1
        record["_ugen"] = gen
        summary = {k: v for k, v in summary.items() if v is not None}
        summary.update(status="CREATE PENDING", creationDateTime=self.now, lastUpdatedDateTime=self.now)
        record[field] = summary
        record["lastUpdatedDateTime"] = self.now
        begin = self.now + self.emulator.profile.pending
        done = begin + self.emulator.profile.update_seconds(kind)
        self.schedule(begin, "update", arn, kind=kind, gen=gen, field=field, status="CREATE IN_PROGRESS")
        self.schedule(done, "update", arn, kind=kind, gen=gen, field=field, status="ACTIVE")

    def remove(self, kind: str, arn: str) -> None:
        self.state.resources[kind].pop(arn, None)
        self.state.tags.pop(arn, None)


def require(condition: bool, message: str, factory: Callable[[str], EmulatorError] = in_use) -> None:
    if not condition:
        raise factory(message)


def update_in_progress(record: Record, field: str) -> bool:
    update = record.get(field) or {}
    return update.get("status") in ("CREATE PENDING", "CREATE IN_PROGRESS")
