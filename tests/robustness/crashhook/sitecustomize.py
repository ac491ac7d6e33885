"""Crash injection for the robustness suite's crash matrix (on PYTHONPATH only in those tests).

When `PG_CRASH_AT=<when>:<n>` is set, the process sends itself SIGKILL at the n-th mutating AWS call
(Personalize Create/Update/Delete/Tag/Untag/Start/Stop, SSM PutParameter/DeleteParameter except the
stack lock's lease renewals, whose number depends on real time):

* `after:<n>`  - right after call n returned, once its `after-call` handlers ran (so `apply --local` has saved
  the account, as AWS would have kept the change), before the caller sees the response;
* `before:<n>` - right before call n is sent, i.e. after all the waiting that preceded it.

* `wait:<Operation>:<n>` - inside a wait, not at a call boundary: once the n-th `<Operation>` (a status read
  of a wait, e.g. DescribeSolutionVersion while a training runs) has answered, a timer sends SIGKILL a few
  milliseconds later, while apply sleeps between two polls (or is in its next poll), as a CI runner that
  is cancelled mid-wait would.

`PG_CRASH_LOG=<file>` gets one line per mutating call (`n operation`) as it happens, so a clean run lists the
boundaries. Nothing here changes behaviour when neither variable is set.
"""

from __future__ import annotations

import os

_SPEC = os.environ.get("PG_CRASH_AT", "")
_LOG = os.environ.get("PG_CRASH_LOG", "")

if _SPEC or _LOG:
    import signal
    import threading

    from botocore.client import BaseClient

    _MUTATING = ("Create", "Update", "Delete", "Tag", "Untag", "Start", "Stop")
    _when, _, _n = _SPEC.partition(":")
    _wait_operation, _, _wait_n = _n.partition(":") if _when == "wait" else ("", "", "")
    _at = int(_wait_n or 0) if _when == "wait" else (int(_n) if _n else 0)
    _reads = [0]
    _WAIT_KILL_DELAY = 0.003
    _lock = threading.Lock()
    _count = [0]
    _original = BaseClient._make_api_call

    def _is_mutating(client: object, operation: str) -> bool:
        service = client.meta.service_model.service_name  # type: ignore[attr-defined]
        if service == "personalize":
            return operation.startswith(_MUTATING)
        return service == "ssm" and operation in ("PutParameter", "DeleteParameter")

    def _is_lease_renewal(operation: str, params: dict) -> bool:  # type: ignore[type-arg]
        # the lock's heartbeat renews in real time: not a boundary of the apply (its count varies per run)
        value = str(params.get("Value", ""))
        return operation == "PutParameter" and params.get("Overwrite") is True and '"state": "held"' in value

    def _kill_soon() -> None:
        timer = threading.Timer(_WAIT_KILL_DELAY, os.kill, args=(os.getpid(), signal.SIGKILL))
        timer.daemon = True
        timer.start()

    def _make_api_call(self: BaseClient, operation_name: str, api_params: dict) -> object:  # type: ignore[type-arg]
        if _when == "wait" and operation_name == _wait_operation:
            response = _original(self, operation_name, api_params)
            with _lock:
                _reads[0] += 1
                if _reads[0] == _at:
                    if _LOG:
                        with open(_LOG, "a", encoding="utf-8") as log:
                            log.write(f"{_count[0]} wait:{operation_name}:{_at}\n")
                    _kill_soon()
            return response
        if not _is_mutating(self, operation_name) or _is_lease_renewal(operation_name, api_params):
            return _original(self, operation_name, api_params)
        with _lock:
            _count[0] += 1
            number = _count[0]
            if _LOG:
                with open(_LOG, "a", encoding="utf-8") as log:
                    log.write(f"{number} {operation_name}\n")
            if _when == "before" and number == _at:
                os.kill(os.getpid(), signal.SIGKILL)
        try:
            return _original(self, operation_name, api_params)
        finally:
            if _when == "after" and number == _at:
                os.kill(os.getpid(), signal.SIGKILL)

    BaseClient._make_api_call = _make_api_call  # type: ignore[method-assign]
