"""Exception hierarchy. Imports nothing from the package so every layer can raise these.

Every user-facing error says where (file:line, resource) and what to do. The CLI prints
`ReconcilerError`s as one message plus an optional hint and exits 1; anything else is a bug.
"""

from __future__ import annotations

#: `apply` ran its whole plan, then a new plan wants changes the applied plan did not contain (not made).
ACCOUNT_CHANGED_EXIT = 5
#: Ctrl-C (SIGINT): `plan` stops at once; `apply` releases the stack lock (started work keeps running).
INTERRUPTED_EXIT = 130


class ReconcilerError(Exception):
    """Base class for errors shown to users without a traceback."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def render(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


class ManifestError(ReconcilerError):
    """One or more problems in the manifests. `problems` holds every problem found in one run."""

    def __init__(self, problems: list[str], *, hint: str | None = None) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} found in the manifests"
        super().__init__(head + ":\n" + "\n".join(self.problems), hint=hint)


class TargetError(ReconcilerError):
    """The AWS target (credentials, region, endpoint, account guard) is not usable."""


class ApiError(ReconcilerError):
    """A Personalize/S3/SSM call failed in a way that retrying will not fix."""

    def __init__(self, message: str, *, code: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.code = code


class PlanError(ReconcilerError):
    """The plan cannot be computed or is refused (for example a protected resource would be deleted)."""


class StalePlanError(ReconcilerError):
    """A saved plan no longer matches the manifests or the live account."""


class LockHeldError(ReconcilerError):
    """Another apply holds the stack lock."""

    exit_code = 4


class ApplyTimeout(ReconcilerError):
    """--timeout ran out while work (training, campaign updates) is still in progress; rerun to continue."""

    exit_code = 3
