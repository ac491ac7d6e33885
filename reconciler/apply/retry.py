"""The one retry rule of apply.

* Throttling, 5xx and dropped connections: botocore's standard retry mode, configured once where every client
  is created (`aws/target.py` `CLIENT_CONFIG`). A call that still fails after it fails its step; apply never
  repeats a call botocore gave up on (rerun apply: every step is level-based and continues).
* `WaitAndRetry`: the conditions botocore cannot know will pass, each named here: a delete refused while its
  dependents are still going away (`DEPENDENTS_GOING`), a job refused while the account's quota of pending
  jobs is full (`QUOTA_FULL`). The pauses are in clock time, end at the apply deadline and on cancellation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from reconciler.apply import cancel as cancellation
from reconciler.apply.graph import StepFailed, StillRunning
from reconciler.apply.progress import EventKind
from reconciler.errors import ApiError

if TYPE_CHECKING:
    from reconciler.apply.runtime import Runtime
    from reconciler.apply.steps import Step

T = TypeVar("T")


@dataclass(frozen=True)
class WaitAndRetry:
    """Call again after a pause while the service refuses with `code` (and one of `message_has`)."""

    code: str
    waiting_for: str
    """What the step waits for (its status while it waits, and the StillRunning status at the deadline)."""
    message_has: tuple[str, ...] = ()
    """Only refusals whose message contains one of these (lower case); empty: every refusal with `code`."""
    attempts: int | None = None
    """Further calls after the first refusal (then the step fails); None: until the apply deadline."""
    share: float = 0.25
    """Pause after the n-th refusal: n x share x the step's typical duration, at most `cap` seconds."""
    cap: float = 300.0
    stop_on_no_wait: bool = False
    """With --no-wait the step ends RUNNING at the first refusal instead of waiting."""
    note: str = ""
    """Shown once, at the first refusal."""
    gave_up: str = "still refused"
    """What the step says when `attempts` ran out, followed by `advice` (what to do next)."""
    advice: str = "rerun apply"

    def matches(self, exc: ApiError) -> bool:
        text = exc.message.lower()
        return exc.code == self.code and (not self.message_has or any(m in text for m in self.message_has))


#: Delete* answered "in use": children still going away. Blockers that do not go away by themselves
#: (unmanaged children, serving campaigns) are found at plan time and refused there, so this is brief.
DEPENDENTS_GOING = WaitAndRetry(
    code="ResourceInUseException",
    waiting_for="waiting for dependents to go",
    attempts=4,
    share=0.25,
    cap=300.0,
    gave_up="still in use",
    advice="plan again: the plan names what blocks the delete and what to do",
)
#: Create*Job answered LimitExceeded "pending or in progress": jobs not started by this apply fill the quota.
QUOTA_FULL = WaitAndRetry(
    code="LimitExceededException",
    waiting_for="waiting for a free slot (quota of pending jobs)",
    message_has=("pending", "in progress"),
    share=0.1,
    cap=600.0,
    stop_on_no_wait=True,
    note="quota full, waiting for a slot",
)


def call_with_retry(
    rt: Runtime, step: Step, policy: WaitAndRetry, call: Callable[[], T], typical: float
) -> T:
    """`call()`, again after pauses while `policy` matches the refusal (see the module docstring)."""
    attempt = 0
    while True:
        try:
            return call()
        except ApiError as exc:
            if not policy.matches(exc):
                raise
            attempt += 1
            if policy.attempts is not None and attempt > policy.attempts:
                what = f"{policy.gave_up} after {attempt} attempts ({exc.message})"
                raise StepFailed(f"{step.address}: {what}; {policy.advice}") from exc
            now = rt.clock.now()
            if (policy.stop_on_no_wait and rt.options.no_wait) or (
                rt.deadline is not None and now >= rt.deadline
            ):
                raise StillRunning(policy.waiting_for) from exc
            if attempt == 1 and policy.note:
                rt._emit(step, EventKind.NOTE, message=f"{policy.note}: {exc.message}")
            pause = min(typical * policy.share * attempt, policy.cap)
            if rt.deadline is not None:
                pause = min(pause, max(rt.deadline - now, 0.0))
            cancellation.pause(rt.clock, rt.cancel, pause, policy.waiting_for)
