"""``PersonalizeEmulator``: dispatch, per account+region state, lazy transitions, the call log."""

from __future__ import annotations

import copy
import heapq
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from .clock import Clock, SystemClock
from .data import DEFAULT_MAX_ROWS, DataStore
from .errors import ContractViolation, EmulatorError
from .faults import Control
from .models import ModelStore
from .profile import DEFAULT_QUOTAS, DurationProfile
from .resources import HANDLERS, ON_REMOVE, ON_STATUS, ON_UPDATE_ACTIVE
from .resources.solutions import auto_train
from .s3data import S3ClientFactory
from .shapes import check_shape, declared_errors, operation_model, operation_names, render, undeclared_members
from .state import Context, RegionState
from .validation import COMMON_VALIDATION_ERROR, validate_input

DEFAULT_ACCOUNT = "123456789012"
SNAPSHOT_VERSION = 1
MUTATING_PREFIXES = ("Create", "Delete", "Update", "Tag", "Untag", "Start", "Stop")

#: Errors every AWS API may return although the model does not declare them (AWS "common errors").
COMMON_ERRORS = frozenset({COMMON_VALIDATION_ERROR})

#: Operations of botocore's model that the emulator does not implement (a test keeps this honest).
NOT_IMPLEMENTED: frozenset[str] = frozenset()


class Call(NamedTuple):
    operation: str
    params: dict[str, Any]  # scalar parameters only (names, ARNs, modes)
    timestamp: float  # the emulator clock's time


def is_mutating(operation: str) -> bool:
    return operation.startswith(MUTATING_PREFIXES)


def _default_s3_factory(region: str) -> Any:
    import boto3

    return boto3.client("s3", region_name=region)


def _default_iam_factory(region: str) -> Any:
    import boto3

    return boto3.client("iam", region_name=region)


class PersonalizeEmulator:
    """The Amazon Personalize control plane, in memory. Thread-safe (one RLock around every request).

    ``handle(operation, params, region, account)`` answers one API call with the response dict botocore
    would parse (timestamps as timezone-aware datetimes) or raises ``EmulatorError``. ``strict=True``
    additionally checks every response and error against the service model (``ContractViolation``)."""

    def __init__(
        self,
        clock: Clock | None = None,
        profile: DurationProfile | None = None,
        s3_client_factory: S3ClientFactory | None = None,
        account: str = DEFAULT_ACCOUNT,
        iam_client_factory: S3ClientFactory | None = None,
        *,
        quotas: dict[str, int] | None = None,
        strict: bool = False,
        max_rows: int = DEFAULT_MAX_ROWS,
    ) -> None:
        self.clock: Clock = clock or SystemClock()
        #: How many times faster than documented things happen (a ``ScaledClock``'s scale; 1 otherwise).
        #: Timestamps stay the clock's (host) time; only durations are divided by it.
        self.time_scale = float(getattr(self.clock, "scale", 1.0) or 1.0)
        base = profile or DurationProfile()
        self.profile = base if self.time_scale == 1.0 else base.scaled(1.0 / self.time_scale)
        self.account = account
        self.strict = strict
        self.quotas: dict[str, int] = {**DEFAULT_QUOTAS, **(quotas or {})}
        self.control = Control(self.quotas)
        self._s3_factory: S3ClientFactory = s3_client_factory or _default_s3_factory
        self._s3_clients: dict[str, Any] = {}
        self._iam_factory: S3ClientFactory = iam_client_factory or _default_iam_factory
        self._iam_client: Any = None
        self._lock = threading.RLock()
        self._regions: dict[tuple[str, str], RegionState] = {}
        self.calls: list[Call] = []
        #: imported and streamed rows of every dataset (columnar; see ``reconciler.emulator.data``)
        self.data = DataStore(max_rows=max_rows)
        #: trained models by solution version / recommender ARN (see ``reconciler.emulator.models``)
        self.models = ModelStore()
        self._revision = 0

    @property
    def revision(self) -> int:
        """A counter that moves whenever the emulated account's state may have changed: a mutating call that
        succeeded, or a scheduled transition applied while answering any call (a read that first sees an
        import job ACTIVE ingested its data on that read). Persistence saves when it moved."""
        with self._lock:
            return self._revision

    # ---- public API -------------------------------------------------------------------------------
    def handle(
        self, operation: str, params: dict[str, Any], region: str, account: str | None = None
    ) -> dict[str, Any]:
        account = account or self.account
        with self._lock:
            now = self.clock.now()
            self.calls.append(Call(operation, _summary(params), now))
            self.control.check_fault(operation)
            handler = HANDLERS.get(operation)
            if handler is None:
                raise EmulatorError("UnknownOperationException", f"Unknown operation {operation}.")
            try:
                validate_input(operation, params)
                ctx = Context(self, self._region_state(account, region), region, account, now)
                self._settle(ctx)
                raw = handler(ctx, _private_copy(params))
                if is_mutating(operation):
                    self._revision += 1
            except EmulatorError as exc:
                if self.strict and exc.code not in declared_errors(operation) | COMMON_ERRORS:
                    raise ContractViolation(
                        f"{operation} raised undeclared error {exc.code}: {exc.message}"
                    ) from exc
                raise
            shape = operation_model(operation).output_shape
            if shape is None:
                out: dict[str, Any] = {}
            else:
                if self.strict:
                    self._check(operation, undeclared_members(raw, shape))
                out = render(raw, shape)
            if self.strict:
                self._check(operation, check_shape(out, shape))
            # render() builds fresh dicts/lists and keeps only immutable leaves: ``out`` shares nothing
            # with the stored records, so no defensive copy is needed on this per-request path.
            return out

    def handle_data(
        self, service: str, operation: str, params: dict[str, Any], region: str, account: str | None = None
    ) -> dict[str, Any] | None:
        """Answer one ``personalize-runtime`` / ``personalize-events`` call (see ``dataplane``): the response
        dict (None for the events API's empty answers) or ``EmulatorError``."""
        from . import dataplane

        account = account or self.account
        with self._lock:
            now = self.clock.now()
            self.calls.append(Call(operation, _summary(params), now))
            self.control.check_fault(operation)
            handler = dataplane.DATA_HANDLERS.get((service, operation))
            if handler is None:
                raise EmulatorError("UnknownOperationException", f"Unknown operation {service} {operation}.")
            try:
                dataplane.validate(service, operation, params)
                ctx = Context(self, self._region_state(account, region), region, account, now)
                self._settle(ctx)
                out: dict[str, Any] | None = handler(ctx, params)
                self._revision += 1  # the events API appends rows; runtime reads may train lazily
            except EmulatorError as exc:
                if self.strict and exc.code not in dataplane.declared(service, operation) | COMMON_ERRORS:
                    raise ContractViolation(
                        f"{operation} raised undeclared error {exc.code}: {exc.message}"
                    ) from exc
                raise
            if self.strict:
                self._check(operation, dataplane.check_output(service, operation, out))
            return out

    def reset(self) -> None:
        """Forget every resource and call (control settings and quotas are kept)."""
        with self._lock:
            self._regions.clear()
            self.calls.clear()
            self.data.clear()
            self.models.clear()
            self._revision += 1

    def attach_storage(self, directory: Path) -> None:
        """Keep datasets and trained models as ``.npz`` files in ``directory`` (``emulator serve --state``
        passes ``<state stem>.data/``). ``snapshot()`` writes what changed there before it returns, so the
        arrays on disk always match the records of the snapshot; after a restart they load on first use."""
        with self._lock:
            self.data.attach(Path(directory) / "datasets")
            self.models.attach(Path(directory) / "models")

    def resource_counts(self) -> dict[str, int]:
        """Resources per kind, summed over accounts and regions (read in place, nothing copied)."""
        counts: dict[str, int] = {}
        with self._lock:
            for state in self._regions.values():
                for kind, records in state.resources.items():
                    counts[kind] = counts.get(kind, 0) + len(records)
        return counts

    def snapshot(self) -> dict[str, Any]:
        """The whole emulated account state as JSON-serialisable data (with ``attach_storage``, changed
        datasets and models are written beside it first)."""
        with self._lock:
            self.data.flush()
            self.models.flush()
            return copy.deepcopy(
                {
                    "version": SNAPSHOT_VERSION,
                    "clock": self.clock.now(),
                    "quotas": dict(self.quotas),
                    "regions": [
                        {"account": a, "region": r, "state": s.to_dict()}
                        for (a, r), s in sorted(self._regions.items())
                    ],
                }
            )

    def restore(self, data: dict[str, Any]) -> None:
        if data.get("version") != SNAPSHOT_VERSION:
            raise ValueError(f"unsupported emulator snapshot version {data.get('version')!r}")
        with self._lock:
            self._regions = {
                (entry["account"], entry["region"]): RegionState.from_dict(copy.deepcopy(entry["state"]))
                for entry in data.get("regions", [])
            }
            self.quotas.update(data.get("quotas", {}))
            self._revision += 1
            advance: Callable[[float], None] | None = getattr(self.clock, "ensure_not_before", None)
            if advance is not None and isinstance(data.get("clock"), int | float):
                advance(float(data["clock"]))

    def s3_client(self, region: str) -> Any:
        with self._lock:
            if region not in self._s3_clients:
                self._s3_clients[region] = self._s3_factory(region)
            return self._s3_clients[region]

    def iam_client(self, region: str) -> Any:
        """The IAM client role checks use (IAM is global: one client)."""
        with self._lock:
            if self._iam_client is None:
                self._iam_client = self._iam_factory(region)
            return self._iam_client

    def call_count(self, *, mutating: bool | None = None, prefix: str = "") -> int:
        with self._lock:
            return sum(
                1
                for c in self.calls
                if c.operation.startswith(prefix)
                and (mutating is None or is_mutating(c.operation) == mutating)
            )

    @staticmethod
    def implemented_operations() -> list[str]:
        return sorted(op for op in operation_names() if op in HANDLERS)

    # ---- internals --------------------------------------------------------------------------------
    def _region_state(self, account: str, region: str) -> RegionState:
        state = self._regions.get((account, region))
        if state is None:
            state = self._regions[(account, region)] = RegionState()
        return state

    def _check(self, operation: str, problems: list[str]) -> None:
        if problems:
            more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
            detail = "; ".join(problems[:5]) + more
            raise ContractViolation(f"{operation} response breaks the service model: {detail}")

    def _settle(self, ctx: Context) -> None:
        """Apply every scheduled transition due at or before ``ctx.now``, in time order."""
        events = ctx.state.events
        while events and events[0][0] <= ctx.now:
            at, _, action, arn, payload = heapq.heappop(events)
            self._apply(ctx.at(at), action, arn, payload)
            self._revision += 1

    def _apply(self, ctx: Context, action: str, arn: str, payload: dict[str, Any]) -> None:
        if action == "autotrain":
            auto_train(ctx, arn, payload)
            return
        kind = payload["kind"]
        record = ctx.find(kind, arn)
        if record is None:
            return
        if action == "status" and payload["gen"] == record.get("_gen"):
            status = payload["status"]
            record["status"] = status
            record["lastUpdatedDateTime"] = ctx.now
            if payload.get("failureReason"):
                record["failureReason"] = payload["failureReason"]
            hook = ON_STATUS.get(kind)
            if hook is not None:
                hook(ctx, record, status)
        elif action == "update" and payload["gen"] == record.get("_ugen"):
            update = record.get(payload["field"])
            if update is None:
                return
            update["status"] = payload["status"]
            update["lastUpdatedDateTime"] = ctx.now
            record["lastUpdatedDateTime"] = ctx.now
            if payload["status"] == "ACTIVE":
                activate = ON_UPDATE_ACTIVE.get(kind)
                if activate is not None:
                    activate(ctx, record)
        elif action == "remove" and payload["gen"] == record.get("_gen"):
            removal = ON_REMOVE.get(kind)
            if removal is not None:
                removal(ctx, record)
            ctx.remove(kind, arn)


_SCALARS = (str, int, float, bool, type(None))


def _private_copy(params: dict[str, Any]) -> dict[str, Any]:
    """A copy of the request the handler may change (and keep): a plain copy when every value is a scalar
    (most calls: an ARN, a name, maxResults), a deep copy otherwise."""
    for value in params.values():
        if type(value) not in _SCALARS:
            return copy.deepcopy(params)
    return dict(params)


def _summary(params: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(params, dict):
        return {}
    return {k: v for k, v in params.items() if isinstance(v, str | int | float | bool) and k != "schema"}
