"""The promotion gate: one pure evaluation used by the planner (plan time) and by apply (when the candidate
version finishes training after the plan was made).

A candidate version passes when every `minimums` metric is at least its minimum and every `maxRegression`
metric is at most that fraction worse than the serving version's (higher is better for every metric
Personalize reports). A metric the gate names but the candidate lacks fails the gate. The gate fails closed:
a regression check passes without a serving value only when nothing is served yet (`serving` is None, the
first promotion); when a version is served but its metrics cannot be read (`{}` or the metric missing) the
candidate is held back, with that reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from reconciler.model.spec import PromotionGate


@dataclass(frozen=True, slots=True)
class GateResult:
    passed: bool
    failures: tuple[str, ...] = ()
    candidate: Mapping[str, float] = field(default_factory=dict)
    serving: Mapping[str, float] = field(default_factory=dict)

    def side_by_side(self, names: tuple[str, ...] | None = None) -> list[str]:
        """`metric: serving X / candidate Y` lines for the metrics the gate looks at (all when none named)."""
        keys = names or tuple(sorted(set(self.candidate) | set(self.serving)))
        lines = []
        for key in keys:
            old = self.serving.get(key)
            new = self.candidate.get(key)
            lines.append(
                f"{key}: serving {'-' if old is None else f'{old:.4f}'} / candidate "
                f"{'-' if new is None else f'{new:.4f}'}"
            )
        return lines


def evaluate_gate(
    gate: PromotionGate | None, candidate: Mapping[str, float], serving: Mapping[str, float] | None
) -> GateResult:
    if gate is None:
        return GateResult(True, candidate=candidate, serving=serving or {})
    failures: list[str] = []
    for metric, minimum in sorted(gate.minimums.items()):
        value = candidate.get(metric)
        if value is None:
            failures.append(f"{metric} missing from the candidate's metrics (minimum {minimum})")
        elif value < minimum:
            failures.append(f"{metric} {value:.4f} is below the minimum {minimum}")
    for metric, tolerance in sorted(gate.maxRegression.items()):
        old = (serving or {}).get(metric)
        new = candidate.get(metric)
        if old is None and serving is None:
            continue  # nothing served yet: no regression to measure
        if old is None:
            failures.append(
                f"{metric}: the serving version's metrics cannot be read, so a regression cannot be ruled "
                "out "
                "(the gate fails closed; check get-solution-metrics of the serving version)"
            )
            continue
        if new is None:
            failures.append(f"{metric} missing from the candidate's metrics")
        elif new < old * (1.0 - tolerance):
            drop = (old - new) / old if old else 0.0
            failures.append(
                f"{metric} {new:.4f} is {drop:.1%} worse than the serving {old:.4f} "
                f"(at most {tolerance:.1%} allowed)"
            )
    return GateResult(not failures, tuple(failures), candidate, serving or {})


def gate_metric_names(gate: PromotionGate | None) -> tuple[str, ...]:
    if gate is None:
        return ()
    return tuple(sorted(set(gate.minimums) | set(gate.maxRegression)))
