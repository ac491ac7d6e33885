"""Job slots: this apply keeps its own pending jobs within the service quotas (imports 5, trainings 20 per
region, `ApplyOptions.slots`), and waits for the account's quota when jobs it did not start fill it."""

from __future__ import annotations

from collections.abc import Callable

from reconciler.apply import cancel as cancellation
from reconciler.apply.graph import StillRunning
from reconciler.apply.progress import EventKind
from reconciler.apply.retry import QUOTA_FULL, call_with_retry
from reconciler.apply.runtime import Runtime
from reconciler.apply.steps import Step


class Slots(Runtime):
    def _acquire_slot(self, step: Step, slot: str, typical: float) -> None:
        """Keep this apply's own pending jobs within the service quota (imports 5, trainings 20 per region):
        wait (in clock time) for one of its jobs to finish instead of being refused."""
        limit = self.options.slots.get(slot)
        with self._lock:
            if step.key in self._slots_held:
                return  # a retried step keeps its slot
        waited = False
        while limit is not None:
            with self._lock:
                if self._slots_used.get(slot, 0) < limit:
                    self._slots_used[slot] = self._slots_used.get(slot, 0) + 1
                    self._slots_held[step.key] = slot
                    return
            if self.options.no_wait or (self.deadline is not None and self.clock.now() >= self.deadline):
                raise StillRunning(f"waiting for a free {slot} slot")
            if not waited:
                self._emit(
                    step, EventKind.NOTE, message=f"{limit} {slot} jobs already running; waiting for a slot"
                )
                waited = True
            pause = min(typical / 20, 120.0)
            if self.deadline is not None:
                pause = min(pause, max(self.deadline - self.clock.now(), 0.0))
            cancellation.pause(self.clock, self.cancel, pause, f"waiting for a free {slot} slot")

    def _release_slot(self, step: Step) -> None:
        with self._lock:
            slot = self._slots_held.pop(step.key, None)
            if slot is not None:
                self._slots_used[slot] -= 1

    def _call_when_slot_free(
        self, step: Step, slot: str, call: Callable[[], tuple[str, bool]], typical: float
    ) -> tuple[str, bool]:
        """`call()` within a slot; while the account's "pending or in progress" quota is still full (jobs not
        started by this apply) it waits for that too (`retry.QUOTA_FULL`), until the deadline."""
        self._acquire_slot(step, slot, typical)
        cancellation.check(self.cancel, f"waiting for a free {slot} slot")
        return call_with_retry(self, step, QUOTA_FULL, call, typical)
