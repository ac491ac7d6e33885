"""One apply per stack at a time, through a lock held in the AWS account itself.

The lock is the SSM parameter `/personalize-gitops/locks/<stack>`, created atomically with
`PutParameter(Overwrite=False)`: exactly one writer succeeds, the others get `ParameterAlreadyExists`. Its
value (JSON) names the holder (`user@host pid N`, plus the CI run when `GITHUB_RUN_ID` is set) and the time
it was taken, so a second apply can say who holds it. `--break-lock` deletes a stale lock explicitly.
A lock whose holder ran on this same host and whose process is gone (an apply killed with kill -9) is stale
beyond doubt: the next apply takes it over by itself and says so. A holder on another host (a CI runner)
cannot be checked from here, so its lock needs `--break-lock`.
The lock is released (deleted, only if it is still ours) on every exit path: use it as a context manager.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import uuid
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from botocore.exceptions import ClientError

from reconciler.errors import ApiError, LockHeldError

LOCK_PREFIX = "/personalize-gitops/locks/"


def lock_parameter_name(stack: str) -> str:
    return f"{LOCK_PREFIX}{stack}"


def default_owner() -> str:
    """`user@host pid N` plus the GitHub Actions run when there is one."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry in some containers
        user = os.environ.get("USER", "unknown")
    owner = f"{user}@{socket.gethostname()} pid {os.getpid()}"
    run_id = os.environ.get("GITHUB_RUN_ID")
    if run_id:
        repo = os.environ.get("GITHUB_REPOSITORY", "")
        owner += f" (GitHub Actions run {run_id}{' of ' + repo if repo else ''})"
    return owner


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class StackLock:
    """The SSM lock of one stack. `acquire()` / `release()`, or `with StackLock(...):`."""

    def __init__(self, ssm: Any, stack: str, *, now: float, owner: str | None = None) -> None:
        self.ssm = ssm
        self.stack = stack
        self.name = lock_parameter_name(stack)
        self.owner = owner or default_owner()
        self.token = uuid.uuid4().hex
        self.taken_at = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.held = False
        self.took_over_from: str | None = None
        """Owner of a stale lock (its process is gone) that acquire() replaced."""

    def _value(self) -> str:
        return json.dumps(
            {
                "owner": self.owner,
                "since": self.taken_at,
                "token": self.token,
                "stack": self.stack,
                "host": socket.gethostname(),
                "pid": os.getpid(),
            },
            sort_keys=True,
        )

    @staticmethod
    def holder_is_gone(holder: dict[str, Any]) -> bool:
        """True only when the holder ran on this host and its process no longer exists."""
        if holder.get("host") != socket.gethostname():
            return False
        pid = holder.get("pid")
        if not isinstance(pid, int) or pid <= 0 or pid == os.getpid():
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except OSError:  # exists but is not ours (EPERM): alive
            return False
        return False

    def holder(self) -> dict[str, Any] | None:
        """The current lock value (owner, since), or None when nobody holds it."""
        try:
            value = self.ssm.get_parameter(Name=self.name)["Parameter"]["Value"]
        except ClientError as exc:
            if _code(exc) == "ParameterNotFound":
                return None
            raise ApiError(f"Could not read the stack lock {self.name}: {exc}", code=_code(exc)) from exc
        try:
            data = json.loads(value)
        except ValueError:
            return {"owner": value, "since": "unknown"}
        return data if isinstance(data, dict) else {"owner": value, "since": "unknown"}

    def break_lock(self) -> dict[str, Any] | None:
        """Delete the lock whoever holds it; returns who held it."""
        previous = self.holder()
        try:
            self.ssm.delete_parameter(Name=self.name)
        except ClientError as exc:
            if _code(exc) != "ParameterNotFound":
                raise ApiError(f"Could not break the stack lock {self.name}: {exc}", code=_code(exc)) from exc
        return previous

    def acquire(self) -> None:
        try:
            self.ssm.put_parameter(
                Name=self.name,
                Value=self._value(),
                Type="String",
                Overwrite=False,
                Description=f"personalize-gitops apply lock of stack {self.stack}",
            )
        except ClientError as exc:
            if _code(exc) != "ParameterAlreadyExists":
                raise ApiError(f"Could not take the stack lock {self.name}: {exc}", code=_code(exc)) from exc
            held_by = self.holder() or {"owner": "unknown", "since": "unknown"}
            if self.holder_is_gone(held_by) and self._take_over(held_by):
                return
            raise LockHeldError(
                f"Stack {self.stack!r} is locked by another apply: {held_by.get('owner')} "
                f"since {held_by.get('since')} (SSM parameter {self.name}). Nothing was changed.",
                hint=(
                    "wait for that apply to finish; "
                    "if it died, rerun with --break-lock to remove the stale lock"
                ),
            ) from exc
        self.held = True

    def _take_over(self, stale: dict[str, Any]) -> bool:
        """Replace a stale lock by ours; True when we hold it afterwards (a concurrent taker may win)."""
        try:
            self.ssm.put_parameter(
                Name=self.name,
                Value=self._value(),
                Type="String",
                Overwrite=True,
                Description=f"personalize-gitops apply lock of stack {self.stack}",
            )
        except ClientError as exc:
            raise ApiError(f"Could not take over the stack lock {self.name}: {exc}", code=_code(exc)) from exc
        current = self.holder() or {}
        if current.get("token") != self.token:
            return False
        self.held = True
        self.took_over_from = str(stale.get("owner", "unknown"))
        return True

    def release(self) -> None:
        """Delete the lock if it is still ours (a --break-lock by someone else may have replaced it)."""
        if not self.held:
            return
        self.held = False
        current = self.holder()
        if current is None or current.get("token") != self.token:
            return
        try:
            self.ssm.delete_parameter(Name=self.name)
        except ClientError as exc:
            if _code(exc) != "ParameterNotFound":
                message = f"Could not release the stack lock {self.name}: {exc}"
                raise ApiError(message, code=_code(exc)) from exc

    def __enter__(self) -> StackLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
