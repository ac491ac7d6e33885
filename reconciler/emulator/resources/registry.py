"""Registration tables filled by the resource modules (explicit, import-time, no discovery magic)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..state import Context, Record

Handler = Callable[[Context, dict[str, Any]], dict[str, Any]]
Hook = Callable[[Context, Record], None]

#: operation name -> handler returning the raw (not yet rendered) response.
HANDLERS: dict[str, Handler] = {}
#: kind -> hook run when a record reaches a new status through a scheduled transition.
ON_STATUS: dict[str, Callable[[Context, Record, str], None]] = {}
#: kind -> hook run when a ``latest*Update`` becomes ACTIVE (copy the new values to the top level).
ON_UPDATE_ACTIVE: dict[str, Hook] = {}
#: kind -> hook run just before an asynchronously deleted record disappears.
ON_REMOVE: dict[str, Hook] = {}
#: kind -> check raising ResourceInUseException when the record cannot be deleted now.
DELETE_CHECKS: dict[str, Hook] = {}
#: kind -> the ``latest*Update`` member holding its update sub-status.
UPDATE_FIELDS: dict[str, str] = {}


def op(name: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        if name in HANDLERS:
            raise RuntimeError(f"operation {name} registered twice")
        HANDLERS[name] = fn
        return fn

    return register
