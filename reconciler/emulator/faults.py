"""The control surface: forced failures, injected faults and latency, metric overrides, quotas.

Everything here is plain data (``to_dict``) so an HTTP control endpoint can expose it as JSON."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .errors import EmulatorError, InjectedConnectionReset

#: Fault codes with a non-400 HTTP status. ``ConnectionReset`` drops the connection instead of answering.
FAULT_STATUS = {
    "InternalFailure": 500,
    "ServiceUnavailable": 503,
    "ThrottlingException": 400,
    "LimitExceededException": 400,
}
CONNECTION_RESET = "ConnectionReset"
FAULT_MESSAGES = {
    "ThrottlingException": "Rate exceeded",
    "LimitExceededException": "The limit on the number of requests per second has been exceeded.",
    "InternalFailure": "We encountered an internal error. Please try again.",
    "ServiceUnavailable": "Service is unavailable. Please try again later.",
}
DEFAULT_FAILURE = {
    "solution_version": (
        "Training failed: the training job exited with an error. Check your data and try again."
    ),
    "dataset_import_job": "Import failed: one or more records could not be parsed.",
    "recommender": "Recommender creation failed: model training did not complete.",
}

MetricsFn = Callable[[dict[str, Any]], dict[str, float]]


@dataclass
class FaultRule:
    operation: str
    code: str
    rate: float | None = None
    count: int | None = None
    seed: int = 0
    message: str | None = None
    fired: int = 0
    _rng: random.Random = field(default_factory=random.Random, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def applies(self, operation: str) -> bool:
        return self.operation in ("*", operation)

    def fires(self) -> bool:
        if self.count is not None and self.fired >= self.count:
            return False
        if self.rate is not None and self._rng.random() >= self.rate:
            return False
        self.fired += 1
        return True

    def exhausted(self) -> bool:
        return self.count is not None and self.fired >= self.count

    def to_dict(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "code": self.code,
            "rate": self.rate,
            "count": self.count,
            "seed": self.seed,
            "message": self.message,
            "fired": self.fired,
        }


class Control:
    """Test and demo knobs. Thread-safe; methods may be called while requests are served."""

    def __init__(self, quotas: dict[str, int]) -> None:
        self._lock = threading.RLock()
        self.quotas = quotas
        self.metrics: dict[str, dict[str, float]] = {}
        self.default_metrics: MetricsFn | dict[str, float] | None = None
        self.failures: list[dict[str, str | None]] = []
        self.faults: list[FaultRule] = []
        self.latency: dict[str, float] = {}

    # ---- metrics ----------------------------------------------------------------------------------
    def set_metrics(self, solution_version_arn: str, metrics: dict[str, float]) -> None:
        with self._lock:
            self.metrics[solution_version_arn] = {k: float(v) for k, v in metrics.items()}

    def set_default_metrics(self, fn: MetricsFn | dict[str, float] | None) -> None:
        """Metrics for every version without an explicit ``set_metrics``: a dict, or a function of the
        solution version (its describe fields); ``None`` restores the deterministic derived values."""
        with self._lock:
            self.default_metrics = fn

    def metrics_for(self, arn: str, version: dict[str, Any]) -> dict[str, float]:
        with self._lock:
            if arn in self.metrics:
                return dict(self.metrics[arn])
            default = self.default_metrics
        if callable(default):
            public = {k: v for k, v in version.items() if not k.startswith("_")}
            return {k: float(v) for k, v in default(public).items()}
        if isinstance(default, dict):
            return dict(default)
        return dict(version.get("_metrics", {}))

    # ---- forced failures --------------------------------------------------------------------------
    def fail_next(self, kind: str, name_or_arn: str = "*", reason: str | None = None) -> None:
        """The next create of ``kind`` (e.g. ``solution_version``, ``dataset_import_job``) whose name or ARN
        (or, for versions, its solution's) matches ends CREATE FAILED with ``reason``."""
        with self._lock:
            self.failures.append({"kind": kind, "target": name_or_arn, "reason": reason})

    def take_failure(self, kind: str, keys: list[str]) -> str | None:
        with self._lock:
            for i, rule in enumerate(self.failures):
                if rule["kind"] == kind and (rule["target"] == "*" or rule["target"] in keys):
                    del self.failures[i]
                    return rule["reason"] or DEFAULT_FAILURE.get(
                        kind, f"{kind.replace('_', ' ').capitalize()} creation failed."
                    )
        return None

    # ---- faults and latency -----------------------------------------------------------------------
    def inject_fault(
        self,
        operation: str = "*",
        code: str = "ThrottlingException",
        rate: float | None = None,
        count: int | None = None,
        seed: int = 0,
        message: str | None = None,
    ) -> None:
        """Fail matching calls with ``code``: the next ``count`` calls, or each with probability ``rate``
        (seeded), or every call when neither is given."""
        if rate is not None and not 0.0 <= rate <= 1.0:
            raise ValueError("rate must be between 0 and 1")
        with self._lock:
            self.faults.append(FaultRule(operation, code, rate, count, seed, message))

    def set_latency(self, operation: str = "*", seconds: float = 0.0) -> None:
        with self._lock:
            if seconds <= 0:
                self.latency.pop(operation, None)
            else:
                self.latency[operation] = float(seconds)

    def clear_faults(self) -> None:
        """Remove injected faults, latency and forced failures not yet used (metrics and quotas stay)."""
        with self._lock:
            self.faults.clear()
            self.latency.clear()
            self.failures.clear()

    def latency_for(self, operation: str) -> float:
        with self._lock:
            return self.latency.get(operation, self.latency.get("*", 0.0))

    def check_fault(self, operation: str) -> None:
        with self._lock:
            for rule in self.faults:
                if rule.applies(operation) and rule.fires():
                    self.faults = [r for r in self.faults if not r.exhausted()]
                    if rule.code == CONNECTION_RESET:
                        raise InjectedConnectionReset(operation)
                    message = rule.message or FAULT_MESSAGES.get(rule.code, f"Injected {rule.code}.")
                    raise EmulatorError(rule.code, message, FAULT_STATUS.get(rule.code, 400))

    # ---- quotas -----------------------------------------------------------------------------------
    def set_quota(self, name: str, value: int) -> None:
        with self._lock:
            if name not in self.quotas:
                raise KeyError(f"unknown quota {name!r}; known: {', '.join(sorted(self.quotas))}")
            self.quotas[name] = int(value)

    def to_dict(self) -> dict[str, Any]:
        with self._lock:
            return {
                "metrics": {k: dict(v) for k, v in self.metrics.items()},
                "defaultMetrics": self.default_metrics
                if isinstance(self.default_metrics, dict)
                else ("custom function" if self.default_metrics else None),
                "failures": [dict(f) for f in self.failures],
                "faults": [f.to_dict() for f in self.faults],
                "latency": dict(self.latency),
                "quotas": dict(self.quotas),
            }
