"""Promotion: UpdateCampaign(solutionVersionArn) once the version is ACTIVE and passes the campaign's gate.

A flow module: campaigns serve solution versions, so it names those kinds (also to know, at the start, which
version a campaign created by this apply serves).
"""

from __future__ import annotations

from collections.abc import Callable

from reconciler.apply.crud import UPDATING
from reconciler.apply.data import Data
from reconciler.apply.graph import StepFailed
from reconciler.apply.progress import EventKind
from reconciler.apply.steps import Step
from reconciler.apply.waiter import normalize_status
from reconciler.errors import ApiError
from reconciler.model.address import Kind
from reconciler.model.spec import CampaignSpec, PromotionGate
from reconciler.plan.gate import evaluate_gate, gate_metric_names
from reconciler.plan.types import PromotePayload
from reconciler.resources.registry import handler as handler_for


class Promote(Data):
    def _seed_versions(self) -> None:
        """Which version each solution's campaigns serve next: its newest ACTIVE one, else what a campaign
        of it serves now."""
        for address, res in self.live.resources.items():
            if res.kind is Kind.SOLUTION and not res.status.startswith("DELETE"):
                active = [v for v in res.versions if normalize_status(v.status) == "ACTIVE"]
                if active:
                    self._versions[address.name] = max(active, key=lambda v: v.created).arn
        for address in self.desired.resources:
            if address.kind is Kind.CAMPAIGN and address in self.live.resources:
                serving = self.live.resources[address].fields.get("solutionVersionArn")
                spec = self.desired.resources[address].spec
                if isinstance(spec, CampaignSpec) and serving and spec.solution not in self._versions:
                    self._versions[spec.solution] = str(serving)

    def _metrics(self, version_arn: str, unread: list[str]) -> dict[str, float]:
        """The version's offline metrics; {} when they cannot be read, a failed call's reason appended to
        `unread` (the gate then fails closed: held back, never promoted on metrics nobody saw)."""
        try:
            response = self.api.call("get_solution_metrics", version_arn, solutionVersionArn=version_arn)
        except ApiError as exc:
            if exc.code not in ("ResourceNotFoundException", "ResourceInUseException"):
                short = version_arn.rsplit("/", 1)[-1]
                unread.append(f"the metrics of {short} cannot be read: {exc.message}")
            return {}
        return {str(k): float(v) for k, v in (response.get("metrics") or {}).items()}

    def _promotion_target(self, step: Step, spec: CampaignSpec, planned: PromotePayload) -> str:
        """The version to serve: the one this apply trained (unless the plan pins one), else the planned one,
        else the solution's newest ACTIVE version."""
        with self._lock:
            target = None if planned.pinned else self._trained.get(planned.solution)
        target = target or planned.solution_version_arn
        if target is not None:
            return target
        solution_arn = self._solution_arn(step, spec.solution)
        active = [
            v
            for v in self.api.solution_versions(solution_arn, with_tags=False)
            if normalize_status(v.status) == "ACTIVE"
        ]
        if not active:
            raise StepFailed(
                f"{step.address}: Solution/{spec.solution} has no ACTIVE version to promote; train one "
                f"(apply --retrain {spec.solution}) or wait for its training to finish, then rerun"
            )
        return active[0].arn

    def _held_back(self, step: Step, gate: PromotionGate, serving: str, target: str) -> bool:
        """The gate on fresh metrics; a candidate that fails it, or whose metrics cannot be read, is held back
        (a note, not a failure)."""
        serving_unread: list[str] = []
        current_metrics = self._metrics(serving, serving_unread) if serving else None
        candidate_unread: list[str] = []
        result = evaluate_gate(gate, self._metrics(target, candidate_unread), current_metrics)
        if result.passed and not candidate_unread:
            return False
        text = (
            f"{step.address} keeps serving {serving.rsplit('/', 1)[-1]}; candidate "
            f"{target.rsplit('/', 1)[-1]} held back: "
            + "; ".join([*result.failures, *serving_unread, *candidate_unread])
            + " ["
            + "; ".join(result.side_by_side(gate_metric_names(gate)))
            + "]"
        )
        with self._lock:
            self._held[step.key] = text
        self._emit(step, EventKind.NOTE, message=text)
        return True

    def _promote(self, step: Step) -> str:
        res = self._desired(step)
        spec = res.spec
        assert isinstance(spec, CampaignSpec)
        handler = handler_for(Kind.CAMPAIGN)
        self._mark(step, False)
        arn = self._locate(step, handler, res)
        if arn is None:
            raise StepFailed(f"{step.address}: the campaign does not exist any more; run plan again")
        planned = self._payload(step, PromotePayload)
        target = self._promotion_target(step, spec, planned)
        current = self.api.describe(handler, arn) or {}
        serving = str(current.get("solutionVersionArn") or "")
        update = current.get(handler.ops.update_summary_key or "")
        updating_to = str(update.get("solutionVersionArn") or "") if isinstance(update, dict) else ""
        update_status = handler.update_status(current) or ""
        wait = self._update_waiter(step, arn)
        if updating_to == target and update_status in UPDATING:
            wait()
            return target
        if serving == target:
            return target
        # The gate applies unless the plan says this move is not gated (the manifests replaced the solution:
        # the campaign must follow it); the plan's own check is repeated on fresh metrics.
        if (
            spec.promotion is not None
            and planned.gated
            and self._held_back(step, spec.promotion, serving, target)
        ):
            return serving
        if update_status in UPDATING:  # another update is running: let it finish first
            wait()
        self._mark(step, True)
        self._update_call(
            step, handler, arn, "update_campaign", {"campaignArn": arn, "solutionVersionArn": target}
        )
        wait()
        return target

    def _update_waiter(self, step: Step, arn: str) -> Callable[[], object]:
        """Waits until the campaign's latest update is ACTIVE (CREATE FAILED fails the step)."""
        handler = handler_for(Kind.CAMPAIGN)
        read, failure = self._status_reader(handler, arn, handler.ops.update_summary_key)
        return lambda: self._wait(
            step, read, {"ACTIVE"}, {"CREATE FAILED"}, handler.typical_update, failure=failure
        )
