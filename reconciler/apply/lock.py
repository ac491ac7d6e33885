"""One apply per stack at a time: a lease with a fencing token, held in SSM Parameter Store of the account.

Every acquisition of the lock of stack S creates a NEW parameter `/personalize-gitops/locks/S/<epoch>` with
`PutParameter(Overwrite=False)` (create-only: of two writers exactly one succeeds, the other gets
`ParameterAlreadyExists`). The epoch number is the fencing token: it grows by one on every acquisition and is
never reused. The parameter with the highest epoch is the lock; its JSON value names the holder, when it was
taken, when the lease was last renewed and when it expires.

* acquire: read the highest epoch n (one GetParametersByPath). If its lease is held and not expired:
  refuse (exit 4), naming the holder and the lease age. Otherwise create epoch n+1 (create-only). Two takers
  racing for the same expired lease both try to create n+1: exactly one wins, the other is refused. A taker
  whose read was out of date (it created an epoch below the newest) sees the newer one when it reads again
  and backs off.
* renew (the heartbeat, every lease/3 while apply runs): the holder overwrites ITS OWN epoch parameter with a
  later expiry, after checking that no higher epoch exists (else it lost the lock and says so).
* release: the holder marks its own epoch "released". A process that does not hold the newest epoch never
  writes to it: a stale holder (its lease expired and was taken over) or any other process cannot release,
  renew or delete someone else's lock, because each epoch parameter is written only by its creator.
* expiry: a holder that stops renewing (kill -9, a cancelled CI job) loses the lock when its lease runs out;
  the next apply after that takes it over by itself and says whose lease expired and how long ago.
* break-lock: creates epoch n+1 in state "broken" (create-only as well): the old holder is fenced off (its
  next renewal finds a higher epoch) and the lock is free for the apply that broke it.
* clean-up: an acquisition deletes epochs older than the one it replaced (at most a few parameters exist).
* run record: each epoch also says which trainings its apply's plan asked for with `--retrain` (solution ->
  training key, the solution as a 12-digit hash: `solution_id`) and whether that apply ran its whole plan
  (`completed`). An apply takes over the requests of the epoch it replaces while that one did not complete
  (killed, Ctrl-C, failed, timed out, cancelled), so a rerun of `apply --retrain NAME` continues the
  interrupted training instead of paying for a second one; once an apply completes, the next `--retrain`
  trains again. A break-lock epoch keeps the broken record. `plan --retrain` treats a live lease as a
  running apply, not an interrupted one (it warns instead of planning to continue its training).
* size: an epoch's value must fit a Standard SSM parameter (4 KB, `MAX_VALUE_BYTES`). The owner is cut to
  `OWNER_MAX` bytes and each recorded training takes 34 bytes, so 108 trainings fit (at the default
  quotas a stack holds 5 dataset groups x 10 solutions = 50). A `--retrain` of more is refused
  before the plan runs (`RunRecordTooLarge`), never written in part.

Times are read from the injected clock (the account's time: wall time on AWS, virtual time in the emulator),
so tests drive expiry with a virtual clock. Why SSM and not S3 conditional writes or DynamoDB: see
docs/ARCHITECTURE.md ("The stack lock").
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import socket
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from reconciler.errors import ApiError, LockHeldError, ReconcilerError
from reconciler.model.state import InterruptedRun, solution_id

LOCK_PREFIX = "/personalize-gitops/locks/"
#: Seconds a lease lasts without renewal (account clock). A killed apply blocks the stack this long at most.
DEFAULT_LEASE = 120.0
#: Real seconds between two checks of the heartbeat thread (it renews when a third of the lease went by).
HEARTBEAT_POLL = 1.0
EPOCH_DIGITS = 10
#: The most a Standard tier SSM parameter value holds (botocore's ssm model, PutParameter Value: "Standard
#: parameters have a value limit of 4 KB"); moto does not check it, so the lock does.
MAX_VALUE_BYTES = 4096
#: The most an epoch's owner takes in its value (JSON-quoted); a longer one is cut (it is only shown).
OWNER_MAX = 200


class RunRecordTooLarge(ReconcilerError):
    """The `--retrain` trainings of this apply do not fit in the stack lock's run record."""


def _shown_owner(owner: str) -> str:
    """`owner` cut so that it takes at most OWNER_MAX bytes of the lock's JSON value."""
    if len(json.dumps(owner).encode()) <= OWNER_MAX:
        return owner
    cut = owner
    while cut and len(json.dumps(cut + "...").encode()) > OWNER_MAX:
        cut = cut[:-1]
    return cut + "..."


class Clock(Protocol):
    def now(self) -> float: ...


def lock_path(stack: str) -> str:
    """The SSM path under which the epochs of `stack`'s lock live."""
    return f"{LOCK_PREFIX}{stack}"


def epoch_parameter(stack: str, epoch: int) -> str:
    return f"{lock_path(stack)}/{epoch:0{EPOCH_DIGITS}d}"


def default_owner() -> str:
    """`user@host pid N` plus the GitHub Actions run when there is one (shown to others, never relied on)."""
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


def _iso(instant: float) -> str:
    return datetime.fromtimestamp(instant, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _age(seconds: float) -> str:
    seconds = max(seconds, 0.0)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


@dataclass(frozen=True)
class Lease:
    """One epoch of a stack's lock, as stored."""

    epoch: int
    owner: str
    state: str
    """held | released | broken"""
    acquired: float
    renewed: float
    expires: float
    nonce: str = ""
    retrain: Mapping[str, str] = field(default_factory=dict)
    """Run record: `solution_id(solution)` -> training key of each training `--retrain` asked for in the
    applies since the last one that completed (this one's included)."""
    completed: bool = True
    """The apply of this epoch ran its whole plan (True for a record of an earlier version, without it)."""

    def is_held(self, now: float) -> bool:
        return self.state == "held" and now < self.expires

    def describe(self, now: float) -> str:
        """`alice (lock epoch 3, taken 2026-01-01T00:00:00Z, lease renewed 95 s ago, expired 25 s ago)`"""
        if self.state == "held":
            left = self.expires - now
            when = f"expires in {_age(left)}" if left > 0 else f"expired {_age(-left)} ago"
            detail = f"lease renewed {_age(now - self.renewed)} ago, {when}"
        else:
            detail = f"{self.state} {_age(now - self.renewed)} ago"
        return f"{self.owner} (lock epoch {self.epoch}, taken {_iso(self.acquired)}, {detail})"

    def value(self) -> str:
        """The parameter's JSON value (compact: it must fit in MAX_VALUE_BYTES)."""
        return json.dumps(
            {
                "owner": _shown_owner(self.owner),
                "state": self.state,
                "epoch": self.epoch,
                "acquired": self.acquired,
                "renewed": self.renewed,
                "expires": self.expires,
                "nonce": self.nonce,
                "trainings": dict(self.retrain),
                "completed": self.completed,
            },
            sort_keys=True,
            separators=(",", ":"),
        )

    @classmethod
    def parse(cls, epoch: int, value: str) -> Lease:
        try:
            data = json.loads(value)
        except ValueError:
            data = None
        if not isinstance(data, dict):  # unreadable: treat as an expired lease of an unknown holder
            return cls(epoch, f"unreadable lock value {value[:60]!r}", "held", 0.0, 0.0, 0.0)
        return cls(
            epoch=epoch,
            owner=str(data.get("owner", "unknown")),
            state=str(data.get("state", "held")),
            acquired=float(data.get("acquired", 0.0)),
            renewed=float(data.get("renewed", 0.0)),
            expires=float(data.get("expires", 0.0)),
            nonce=str(data.get("nonce", "")),
            retrain=_trainings(data),
            completed=data.get("completed") is not False,
        )

    def interrupted(self, now: float) -> InterruptedRun | None:
        """The `--retrain` trainings this epoch's apply (or one before it) asked for and did not complete."""
        if self.completed or not self.retrain:
            return None
        return InterruptedRun(by=self.describe(now), trainings=dict(self.retrain))


def _trainings(data: Mapping[str, Any]) -> dict[str, str]:
    """The run record of a stored value: `trainings` (solution ids), or a first version's `retrain`
    (solution names, hashed here)."""
    found: dict[str, str] = {}
    old, new = data.get("retrain"), data.get("trainings")
    if isinstance(old, dict):
        found.update({solution_id(str(k)): v for k, v in old.items() if isinstance(v, str)})
    if isinstance(new, dict):
        found.update({str(k): v for k, v in new.items() if isinstance(v, str)})
    return found


class StackLock:
    """The lock of one stack: `acquire()` / `renew()` / `release()`, or `with StackLock(...):` (which also
    runs the heartbeat thread while the block runs)."""

    def __init__(
        self,
        ssm: Any,
        stack: str,
        *,
        clock: Clock,
        owner: str | None = None,
        lease: float = DEFAULT_LEASE,
        heartbeat_poll: float = HEARTBEAT_POLL,
    ) -> None:
        self.ssm = ssm
        self.stack = stack
        self.path = lock_path(stack)
        self.clock = clock
        self.owner = owner or default_owner()
        # A clock with a time scale (the local emulator's: host time, durations shortened) shortens the lease
        # like every other duration of that account.
        self.lease_seconds = lease / float(getattr(clock, "scale", None) or 1.0)
        self.heartbeat_poll = heartbeat_poll
        self.nonce = uuid.uuid4().hex
        self.epoch: int | None = None
        """The fencing token of the lease this process holds (None when it holds none)."""
        self.acquired_at = 0.0
        self.renewed_at = 0.0
        self.took_over: Lease | None = None
        """The expired lease acquire() replaced (its holder stopped renewing: killed, cancelled)."""
        self.lost: Lease | None = None
        """Set when a renewal found that another apply holds a newer epoch (our lease had expired)."""
        self.on_lost: Callable[[Lease], None] | None = None
        self.replaced: Lease | None = None
        """The epoch acquire() replaced (whatever its state): its run record is carried on when incomplete."""
        self.retrain: dict[str, str] = {}
        """This epoch's run record: `--retrain` trainings (solution id -> training key) not yet completed."""
        self.completed = False
        self.trying: int | None = None
        """The epoch acquire() is creating (an interrupt there may or may not have taken the lock)."""
        self.breaking: int | None = None
        """The epoch break_lock() is creating (an interrupt there may or may not have broken the lock)."""
        self.broke: Lease | None = None
        """The lease break_lock() broke (its epoch is fenced off by a `broken` one)."""
        self.released: bool | None = None
        """release() marked our epoch released (True), found it taken over (False), or was not reached."""
        self.release_error: str | None = None
        """Why releasing failed (the lock stays held until its lease expires)."""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._mutex = threading.Lock()

    @property
    def held(self) -> bool:
        return self.epoch is not None and self.lost is None

    # -- reading -----------------------------------------------------------------------------------------

    def leases(self) -> list[Lease]:
        """Every stored epoch of this stack's lock, oldest first."""
        found: list[Lease] = []
        kwargs: dict[str, Any] = {"Path": self.path, "Recursive": False}
        try:
            while True:
                page = self.ssm.get_parameters_by_path(**kwargs)
                for parameter in page.get("Parameters", []):
                    leaf = str(parameter["Name"]).rsplit("/", 1)[-1]
                    if leaf.isdigit():
                        found.append(Lease.parse(int(leaf), str(parameter.get("Value", ""))))
                token = page.get("NextToken")
                if not token:
                    break
                kwargs["NextToken"] = token
        except ClientError as exc:
            raise ApiError(f"Could not read the stack lock {self.path}: {exc}", code=_code(exc)) from exc
        return sorted(found, key=lambda lease: lease.epoch)

    def current(self) -> Lease | None:
        """The newest epoch (whatever its state), or None when the stack was never locked."""
        leases = self.leases()
        return leases[-1] if leases else None

    def holder(self) -> Lease | None:
        """The lease that holds the lock now, or None when it is free (released, broken or expired)."""
        newest = self.current()
        return newest if newest is not None and newest.is_held(self.clock.now()) else None

    # -- writing -----------------------------------------------------------------------------------------

    def _create(self, lease: Lease) -> bool:
        """Create-only write of epoch `lease.epoch`; False when that epoch exists already (another writer)."""
        try:
            self.ssm.put_parameter(
                Name=epoch_parameter(self.stack, lease.epoch),
                Value=lease.value(),
                Type="String",
                Overwrite=False,
                Description=f"personalize-gitops apply lock of stack {self.stack} (epoch {lease.epoch})",
            )
        except ClientError as exc:
            if _code(exc) == "ParameterAlreadyExists":
                return False
            raise ApiError(f"Could not write the stack lock {self.path}: {exc}", code=_code(exc)) from exc
        return True

    def _overwrite_own(self, lease: Lease) -> None:
        """Write our own epoch parameter (nobody else ever writes it)."""
        try:
            self.ssm.put_parameter(
                Name=epoch_parameter(self.stack, lease.epoch),
                Value=lease.value(),
                Type="String",
                Overwrite=True,
            )
        except ClientError as exc:
            raise ApiError(f"Could not write the stack lock {self.path}: {exc}", code=_code(exc)) from exc

    def _mine(self, state: str, now: float) -> Lease:
        assert self.epoch is not None
        expires = now + self.lease_seconds if state == "held" else now
        return Lease(
            self.epoch,
            self.owner,
            state,
            self.acquired_at,
            now,
            expires,
            self.nonce,
            dict(self.retrain),
            self.completed,
        )

    def _refuse(self, holder: Lease, now: float) -> LockHeldError:
        return LockHeldError(
            f"Stack {self.stack!r} is locked by another apply: {holder.describe(now)} "
            f"(SSM parameter {epoch_parameter(self.stack, holder.epoch)}). Nothing was changed.",
            hint=(
                "wait for that apply to finish (an apply that died frees the lock when its lease expires, "
                f"{_age(self.lease_seconds)} after its last renewal); to take it now, make sure that apply "
                "is gone and rerun with --break-lock"
            ),
        )

    def acquire(self) -> None:
        """Take the lock (a new epoch) or raise LockHeldError naming the holder and its lease age."""
        if self.held:
            return
        for _ in range(5):
            leases = self.leases()
            newest = leases[-1] if leases else None
            now = self.clock.now()
            if newest is not None and newest.is_held(now):
                raise self._refuse(newest, now)
            epoch = newest.epoch + 1 if newest is not None else 1
            carried = dict(newest.retrain) if newest is not None and not newest.completed else {}
            mine = Lease(
                epoch, self.owner, "held", now, now, now + self.lease_seconds, self.nonce, carried, False
            )
            self.trying = epoch
            if not self._create(mine):
                self.trying = None
                continue  # another taker created this epoch first: read again (it holds it now)
            after = self.leases()
            if after and after[-1].epoch > epoch:  # our read was out of date: a newer epoch exists
                self._delete([epoch])
                self.trying = None
                continue
            self.epoch, self.acquired_at, self.renewed_at, self.lost = epoch, now, now, None
            self.trying, self.replaced, self.retrain, self.completed = None, newest, carried, False
            if newest is not None and newest.state == "held":
                self.took_over = newest
            self._delete([lease.epoch for lease in leases if lease.epoch < epoch - 1])
            return
        self.trying = None
        holder = self.current()
        now = self.clock.now()
        if holder is not None and holder.is_held(now):
            raise self._refuse(holder, now)
        raise ApiError(f"Could not take the stack lock {self.path}: too many concurrent takers; try again")

    def renew(self) -> bool:
        """Extend our lease; False (and `lost` set) when another apply holds a newer epoch."""
        with self._mutex:
            if not self.held:
                return False
            newest = self.current()
            assert self.epoch is not None
            if newest is not None and newest.epoch > self.epoch:
                self.lost = newest
                if self.on_lost is not None:
                    self.on_lost(newest)
                return False
            now = self.clock.now()
            self._overwrite_own(self._mine("held", now))
            self.renewed_at = now
            return True

    def renew_if_due(self) -> bool:
        """Renew when a third of the lease went by since the last renewal (the heartbeat's tick)."""
        if self.held and self.clock.now() - self.renewed_at >= self.lease_seconds / 3:
            return self.renew()
        return self.held

    def interrupted(self) -> InterruptedRun | None:
        """The `--retrain` trainings of the applies before this one since the last that completed (from the
        epoch acquire() replaced), or None."""
        if self.replaced is None:
            return None
        return replace(self.replaced, retrain=self.retrain).interrupted(self.clock.now())

    def record_run(self, retrain: Mapping[str, str]) -> None:
        """Add the trainings this apply's plan asks for with `--retrain` (solution -> training key) to our
        epoch's run record, before the plan runs (an interrupted run leaves them for the next apply to
        continue). RunRecordTooLarge, with nothing written, when the record would not fit in the parameter."""
        ids = {solution_id(name): key for name, key in retrain.items()}
        if ids.items() <= self.retrain.items():
            return  # nothing new to record (most applies: no `--retrain`): no call
        record = {**self.retrain, **ids}
        self._check_fits(record, list(retrain))
        self.retrain = record
        self._write_record()

    def _check_fits(self, record: Mapping[str, str], asked: list[str]) -> None:
        """Refuse a run record that some later write of it (released, broken by a longest owner) would not
        fit in a Standard parameter."""
        late = 9_999_999_999.999999  # the longest time a value holds (the year 2286)
        worst = Lease(
            10**EPOCH_DIGITS - 1, "x" * OWNER_MAX, "released", late, late, late, self.nonce, record, False
        )
        size = len(worst.value().encode())
        if size <= MAX_VALUE_BYTES:
            return
        empty = len(replace(worst, retrain={}).value().encode())
        each = (size - empty) / max(len(record), 1)
        fits = int((MAX_VALUE_BYTES - empty) // each)
        carried = len(record) - len(asked)
        where = epoch_parameter(self.stack, self.epoch or 0)
        raise RunRecordTooLarge(
            f"apply --retrain asks for {len(asked)} trainings"
            + (f" (plus {carried} an earlier apply that did not complete asked for)" if carried > 0 else "")
            + f"; the stack lock's run record ({where}, a Standard SSM parameter of at most "
            f"{MAX_VALUE_BYTES} bytes) holds at most {fits}. Nothing was changed: the plan did not run.",
            hint=f"retrain at most {fits} solutions per apply: run apply with the first {fits} --retrain "
            "names, then again with the others",
        )

    def complete(self) -> None:
        """Record that this apply ran its whole plan: the next `--retrain` trains again. Written at once
        only when there are trainings to forget (release writes it anyway)."""
        self.completed = True
        if self.retrain:
            self._write_record()

    def _write_record(self) -> None:
        with self._mutex:
            if self.held:
                self._overwrite_own(self._mine("held", self.clock.now()))

    def release(self) -> bool:
        """Mark our epoch released; False when we do not hold the newest epoch (nothing is written then)."""
        self._stop_heartbeat()
        with self._mutex:
            if not self.held:
                self.epoch = None
                self.released = False
                return False
            newest = self.current()
            assert self.epoch is not None
            if newest is not None and newest.epoch > self.epoch:
                self.lost, self.epoch = newest, None
                self.released = False
                return False
            self._overwrite_own(self._mine("released", self.clock.now()))
            self.epoch = None
            self.released = True
            return True

    def break_lock(self) -> Lease | None:
        """Free the lock whoever holds it and fence that holder off; returns the lease that was broken."""
        try:
            return self._break()
        finally:
            self.breaking = None

    def _break(self) -> Lease | None:
        for _ in range(5):
            newest = self.current()
            if newest is None or newest.state != "held":
                return None
            now = self.clock.now()
            # the broken apply's run record is kept: the next apply continues its `--retrain` trainings
            broken = Lease(
                newest.epoch + 1,
                f"broken by {self.owner}",
                "broken",
                now,
                now,
                now,
                self.nonce,
                newest.retrain,
                newest.completed,
            )
            self.breaking = broken.epoch
            if self._create(broken):
                self.broke = newest
                return newest
        raise ApiError(f"Could not break the stack lock {self.path}: it keeps changing; try again")

    def _delete(self, epochs: list[int]) -> None:
        names = [epoch_parameter(self.stack, e) for e in epochs]
        for start in range(0, len(names), 10):
            # clean-up only: an old epoch left behind is ignored (the newest epoch rules)
            with contextlib.suppress(ClientError):
                self.ssm.delete_parameters(Names=names[start : start + 10])

    # -- heartbeat ---------------------------------------------------------------------------------------

    def start_heartbeat(self) -> None:
        """Renew the lease in a background thread until release()."""
        if self._thread is not None:
            return
        self._stop.clear()

        def beat() -> None:
            while not self._stop.wait(self.heartbeat_poll):
                try:
                    if not self.renew_if_due():
                        return
                except (ApiError, BotoCoreError):
                    # a failed renewal (an error answer, or botocore giving up on the connection) is retried
                    # at the next tick: the lease has slack, and a stopped heartbeat would let it run out
                    continue

        self._thread = threading.Thread(target=beat, name=f"lock-heartbeat-{self.stack}", daemon=True)
        self._thread.start()

    def _stop_heartbeat(self) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=30)

    def __enter__(self) -> StackLock:
        self.acquire()
        self.start_heartbeat()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        interrupted = isinstance(exc, KeyboardInterrupt)
        try:  # after Ctrl-C: release if we can, and let the interrupt (not a lock error) end the apply
            self.release()
        except (ApiError, BotoCoreError) as error:
            if not interrupted:
                raise
            self.release_error = str(error)
        except KeyboardInterrupt:  # Ctrl-C while releasing (again, or for the first time at the end)
            self.release_error = f"interrupted {'again ' if interrupted else ''}while releasing it"
            if not interrupted:
                raise


def lost_lock_note(newer: Lease, now: float) -> str:
    """What apply says when a renewal found that another apply took the lock over."""
    return (
        f"The stack lock was taken over during this apply by {newer.describe(now)}: this apply could not "
        "renew its lease in time and stopped (nothing new was started). Let the other apply finish, then "
        "plan again."
    )


def interrupted_note(lock: StackLock | None) -> str:
    """What apply says after Ctrl-C about the stack lock: never taken (or only broken), released, taken over,
    or still held."""
    if lock is None or (lock.epoch is None and lock.trying is None and lock.released is None):
        return _not_taken_note(lock)
    keeps = "work already started (trainings, imports, campaign updates) keeps running in the account"
    if lock.released:
        return f"Interrupted. The stack lock was released; {keeps}. Run apply again to continue."
    if lock.released is False and lock.lost is not None:
        holder = lock.lost.describe(lock.clock.now())
        return (
            f"Interrupted. Another apply had taken the stack lock over ({holder}); this one had nothing to "
            f"release. {keeps.capitalize()}. Let that apply finish, then plan again."
        )
    epoch = lock.epoch if lock.epoch is not None else lock.trying
    where = f"SSM parameter {epoch_parameter(lock.stack, epoch)}" if epoch is not None else lock.path
    if lock.release_error:
        why = f"the stack lock could not be released ({lock.release_error})"
    elif lock.epoch is not None and lock.trying is None:
        why = "the stack lock was taken and not released"
    else:
        why = "the stack lock may have been taken (interrupted while taking it) and was not released"
    return (
        f"Interrupted: {why}; {where} stays held until its lease expires "
        f"({_age(lock.lease_seconds)} after its last renewal). {keeps.capitalize()}. Run apply again after "
        "that, or now "
        "with --break-lock once you are sure no other apply of this stack is running."
    )


def _not_taken_note(lock: StackLock | None) -> str:
    """Ctrl-C before this apply took the lock: nothing changed, unless --break-lock broke (or was breaking)
    the lock of another apply."""
    if lock is not None and lock.broke is not None:
        broken = epoch_parameter(lock.stack, lock.broke.epoch + 1)
        holder = lock.broke.describe(lock.clock.now())
        return (
            f"Interrupted after --break-lock broke the stack lock of {holder}: {broken} now fences that "
            "apply off (its next renewal stops it) and the lock is free. This apply took no lock of its own "
            "and changed nothing in Personalize. Run apply again (without --break-lock)."
        )
    if lock is not None and lock.breaking is not None:
        breaking = epoch_parameter(lock.stack, lock.breaking)
        return (
            "Interrupted while --break-lock was breaking the stack lock: it may have been broken (if "
            f"{breaking} exists, the apply that held it is fenced off and the lock is free). This apply took "
            "no lock of its own and changed nothing in Personalize. Run apply again."
        )
    return "Interrupted before the stack lock was taken: nothing was changed. Run apply again."
