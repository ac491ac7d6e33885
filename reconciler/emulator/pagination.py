"""Opaque, tamper-evident ``nextToken`` values for every List* operation.

A token is base64 of JSON ``{"after": <sequence of the last item returned>, "q": <hash of the request>}``
followed by a hashlib checksum, so it survives process restarts (no ``hash()``), pages stay correct when
items are deleted between calls, and a token used with other parameters is rejected."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from .errors import EmulatorError

T = TypeVar("T")
DEFAULT_MAX_RESULTS = 100


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def _query_key(operation: str, params: dict[str, Any]) -> str:
    rest = {k: v for k, v in params.items() if k not in ("nextToken", "maxResults")}
    return _digest(json.dumps([operation, rest], sort_keys=True, default=str).encode())


def encode_token(operation: str, params: dict[str, Any], after: int) -> str:
    payload = json.dumps({"after": after, "q": _query_key(operation, params)}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(payload + b"." + _digest(payload).encode()).decode()


def decode_token(operation: str, params: dict[str, Any], token: str) -> int:
    bad = EmulatorError("InvalidNextTokenException", "The token is not valid.")
    try:
        raw = base64.urlsafe_b64decode(token.encode())
        payload, _, check = raw.rpartition(b".")
        if not payload or _digest(payload).encode() != check:
            raise bad
        data = json.loads(payload)
    except (binascii.Error, ValueError, UnicodeError) as exc:
        raise bad from exc
    if not isinstance(data, dict) or data.get("q") != _query_key(operation, params):
        raise bad
    after = data.get("after")
    if not isinstance(after, int):
        raise bad
    return after


def paginate(
    operation: str, params: dict[str, Any], items: Sequence[T], seq: Callable[[T], int]
) -> tuple[list[T], str | None]:
    """One page of ``items`` (already in list order; ``seq`` gives each a unique, increasing number)."""
    limit = int(params.get("maxResults") or DEFAULT_MAX_RESULTS)
    token = params.get("nextToken")
    remaining = list(items)
    if token:
        after = decode_token(operation, params, token)
        position = next((i for i, item in enumerate(remaining) if seq(item) == after), None)
        if position is None:
            # the last item returned was deleted meanwhile: continue after the items that sort before it
            remaining = [item for item in remaining if seq(item) > after]
        else:
            remaining = remaining[position + 1 :]
    page = remaining[:limit]
    more = len(remaining) > limit
    return page, encode_token(operation, params, seq(page[-1])) if more and page else None
