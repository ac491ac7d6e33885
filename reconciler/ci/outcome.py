"""What an exit code of `apply` means, said once: the apply workflow's job summary, its comment on the merged
pull request and the stack's "apply unfinished" issue all print `apply_status(code)` (`ci apply-status`).

Every exit code `apply` documents (README "Exit codes") has its own line: what happened in the account and
what to do. A code outside the table, or none (the step died before apply ran), says so instead of guessing.
"""

from __future__ import annotations

from reconciler.errors import (
    ACCOUNT_CHANGED_EXIT,
    INTERRUPTED_EXIT,
    ApplyTimeout,
    LockHeldError,
    ReconcilerError,
)

RETRY = "the next scheduled personalize-drift run plans the stack again and applies it after approval"

APPLY_STATUS: dict[int, str] = {
    0: "✅ Apply complete",
    ReconcilerError.exit_code: (
        "❌ Apply failed (a refused stale plan, an API error or a failed step: the log below says which "
        f"and where); {RETRY}, or fix the cause and run personalize-apply by hand"
    ),
    ApplyTimeout.exit_code: (
        "⏳ Apply still running: training, an import or a campaign update did not finish within {timeout} "
        "and keeps running in the account; the next scheduled personalize-drift run continues it (nothing "
        "is started twice)"
    ),
    LockHeldError.exit_code: (
        "❌ Apply refused: another apply holds the stack lock, nothing was changed; the next scheduled "
        "personalize-drift run tries again. If that apply died, run personalize-apply by hand with break-lock"
    ),
    ACCOUNT_CHANGED_EXIT: (
        "⚠️ The account changed since the reviewed plan: apply ran the reviewed plan, but a plan made after "
        "it wants changes the reviewed plan did not contain (listed in the log below), and those were NOT "
        f"made. Review them before they are applied: {RETRY} (its plan is shown before approval), or run "
        "personalize-apply by hand"
    ),
    INTERRUPTED_EXIT: (
        "❌ Apply interrupted (the run was cancelled): the log below says whether the stack lock was "
        "released (if not, it frees itself when its lease expires, or run personalize-apply by hand with "
        "break-lock); work already started (trainings, imports, campaign updates) keeps running in the "
        f"account; {RETRY}"
    ),
}
"""Exit code -> the status line; `{timeout}` is the apply's --timeout."""


def apply_status(code: str, timeout: str = "the timeout") -> str:
    """The one-line status of an apply that exited `code` (text, as the workflow's step output holds it)."""
    text = code.strip()
    if not text:
        # the step records the code after apply returns: a cancelled run or a lost runner leaves none too
        return (
            "❌ Apply did not report an exit code: the apply step failed before `personalize-gitops apply` "
            "ran, or the run was cancelled (or its runner lost) while apply ran, which the log below shows; "
            "then work it started keeps running in the account and the stack lock frees itself when its "
            "lease expires (or run personalize-apply by hand with break-lock). Run personalize-apply by hand "
            "once the cause is fixed"
        )
    if text.isdigit() and int(text) in APPLY_STATUS:
        return APPLY_STATUS[int(text)].replace("{timeout}", timeout)
    return (
        f"❌ Apply exited {text}, which is not one of its documented exit codes (README, Exit codes): see "
        "the log below"
    )
