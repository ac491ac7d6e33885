"""AWS JSON 1.1 wire format: request target + body in, status + headers + body out."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from typing import TYPE_CHECKING, Any

from .errors import EmulatorError, InjectedConnectionReset
from .shapes import TARGET_PREFIX

if TYPE_CHECKING:
    from .core import PersonalizeEmulator

log = logging.getLogger(__name__)
CONTENT_TYPE = "application/x-amz-json-1.1"


def _encode(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.timestamp()
    raise TypeError(f"cannot encode {type(value).__name__}")


def _request_id(target: str, body: bytes, seq: int) -> str:
    digest = hashlib.sha256(target.encode() + body + str(seq).encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def error_body(code: str, message: str) -> bytes:
    return json.dumps({"__type": code, "message": message}).encode()


def wire_call(
    emulator: PersonalizeEmulator, target_header: str, body: bytes, region: str, account: str
) -> tuple[int, dict[str, str], bytes]:
    """Answer one AWS JSON 1.1 request. Raises ``InjectedConnectionReset`` when that fault fires (the
    transport then drops the connection); every other failure becomes an error envelope."""
    headers = {
        "Content-Type": CONTENT_TYPE,
        "x-amzn-RequestId": _request_id(target_header, body, len(emulator.calls)),
    }
    prefix, dot, operation = target_header.partition(".")
    if prefix != TARGET_PREFIX or not dot or not operation:
        msg = f"Unknown target {target_header!r}; expected {TARGET_PREFIX}.<Operation>."
        return 400, headers, error_body("UnknownOperationException", msg)
    try:
        params = json.loads(body.decode("utf-8")) if body else {}
    except (UnicodeDecodeError, ValueError) as exc:
        return 400, headers, error_body("SerializationException", f"Request body is not valid JSON: {exc}")
    if not isinstance(params, dict):
        return 400, headers, error_body("SerializationException", "Request body must be a JSON object.")
    try:
        out = emulator.handle(operation, params, region, account)
    except EmulatorError as exc:
        return exc.status, headers, error_body(exc.code, exc.message)
    except (AssertionError, InjectedConnectionReset):
        raise  # contract violations fail the test that caused them; resets are the transport's to perform
    except Exception as exc:  # a bug in the emulator: answer like the service would, keep the trace in logs
        if getattr(emulator, "strict", False):
            raise
        log.exception("emulator failure in %s", operation)
        return (
            500,
            headers,
            error_body("InternalFailure", f"Emulator internal error: {type(exc).__name__}: {exc}"),
        )
    return 200, headers, json.dumps(out, default=_encode).encode()
