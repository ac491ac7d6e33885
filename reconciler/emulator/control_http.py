"""The emulator's control endpoint: the Python ``emulator.control`` surface over HTTP, for ``emulator serve``.

Everything lives under the reserved path prefix ``/_emulator/`` (no AWS API uses it, so it cannot clash with
S3 bucket names: bucket names cannot start with ``_``). Bodies are JSON; answers are JSON.

``GET /_emulator/status``
    ``{"ok": true, "now": <epoch seconds: host time + explicit advances>, "nowIso": "...", "timeScale": <x>,
    "resources": {<kind>: <count>}, "control": <faults, latency, forced failures, metrics, quotas>,
    "stateFile": <path or null>, "regions": [...], "requests": <n>, "peakInFlight": <most requests answered
    at once>, "connections": {"open": <n>, "accepted": <n>}, "moto": true}``

``POST /_emulator/control`` with ``{"action": ACTION, ...arguments}``; the answer is
``{"ok": true, "action": ACTION, "result": ...}`` or, for a bad request, HTTP 400 with
``{"ok": false, "error": "<what is wrong and what to send instead>"}``. Actions:

``status``
    Same document as ``GET /_emulator/status``.
``advance`` ``{"seconds": S}``
    Move the clock ahead of the host by ``S`` seconds now (trainings, imports, deployments progress).
``set_metrics`` ``{"solution_version_arn": ARN, "metrics": {"coverage": 0.3, ...}}``
    Fix the numbers ``GetSolutionMetrics`` returns for one solution version.
``fail_next`` ``{"kind": "solution_version" | "dataset_import_job" | ..., "name_or_arn": "*",
"reason": null}``
    Make the next matching create end ``CREATE FAILED`` with ``reason`` (a realistic default otherwise).
``inject_fault`` ``{"operation": "*", "code": "ThrottlingException", "rate": null, "count": null, "seed": 0,
"message": null}``
    Fail matching calls with ``code`` (ThrottlingException, LimitExceededException, InternalFailure (500),
    ServiceUnavailable (503), or ConnectionReset, which drops the connection): the next ``count`` calls,
    or each with probability ``rate`` (seeded), or every call when neither is given.
``set_latency`` ``{"operation": "*", "seconds": S}``
    Add ``S`` seconds of wall-time latency to every answer of an operation (``"*"``: all); ``0`` removes it.
``set_quota`` ``{"name": QUOTA, "value": N}``
    Change one of the service quotas the emulator enforces.
``clear_faults`` ``{}``
    Remove every injected fault, latency and pending forced failure.
``reset`` ``{"services": "all" | "personalize"}``
    Empty the account: Personalize resources, and with ``"all"`` (the default) moto's S3/IAM/SSM/STS too.

Arguments of ``set_metrics``, ``fail_next``, ``inject_fault``, ``set_latency``, ``set_quota`` and
``clear_faults`` are passed as keyword arguments to the method of the same name on ``emulator.control``
(camelCase spellings such as ``solutionVersionArn`` are accepted too), so the HTTP and Python surfaces
cannot drift apart; unknown or missing arguments are answered with the method's signature.

With ``--state``, ``advance``, ``reset`` and ``set_quota`` are saved like any other change; injected faults,
latency, forced failures and metric overrides belong to the running server and are not saved.

Example::

    curl -s -X POST http://127.0.0.1:4566/_emulator/control \\
         -d '{"action": "advance", "seconds": 3600}'
"""

from __future__ import annotations

import datetime as _dt
import inspect
import json
import re
from collections.abc import Callable, Iterable
from typing import Any

CONTROL_PREFIX = "/_emulator/"
PASS_THROUGH_ACTIONS = (
    "set_metrics",
    "fail_next",
    "inject_fault",
    "set_latency",
    "set_quota",
    "clear_faults",
)
ACTIONS = ("status", "advance", "reset", *PASS_THROUGH_ACTIONS)

StartResponse = Callable[..., Any]


class ControlError(Exception):
    """A bad control request: becomes HTTP 400 with the message."""


class ControlEndpoint:
    """WSGI app for ``/_emulator/*``.

    ``status_extra`` adds fields to the status document (the server adds the state file, regions, request
    count); ``reset_moto`` empties moto's backends; ``on_change`` runs after every action that changed state
    (the server persists then).
    """

    def __init__(
        self,
        emulator: Any,
        clock: Any,
        *,
        status_extra: Callable[[], dict[str, Any]] | None = None,
        reset_moto: Callable[[], None] | None = None,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.emulator = emulator
        self.clock = clock
        self._status_extra = status_extra
        self._reset_moto = reset_moto
        self._on_change = on_change

    # ------------------------------------------------------------------------------------ actions

    def status(self) -> dict[str, Any]:
        now = float(self.clock.now())
        doc: dict[str, Any] = {
            "ok": True,
            "now": now,
            "nowIso": _dt.datetime.fromtimestamp(now, tz=_dt.UTC).isoformat(),
            "timeScale": getattr(self.clock, "scale", None),
            "resources": resource_counts(self.emulator),
            "control": _plain(self.emulator.control.to_dict()),
        }
        if self._status_extra is not None:
            doc.update(self._status_extra())
        return doc

    def run(self, action: str, args: dict[str, Any]) -> Any:
        """Perform one control action (also usable from Python). Raises ControlError for bad requests."""
        if action == "status":
            _no_args(action, args)
            return self.status()
        if action == "advance":
            seconds = args.get("seconds")
            if set(args) - {"seconds"} or not isinstance(seconds, int | float) or isinstance(seconds, bool):
                raise ControlError('advance takes {"seconds": <number >= 0>}')
            if seconds < 0:
                raise ControlError("advance: seconds must be >= 0 (virtual time cannot go backwards)")
            advance = getattr(self.clock, "advance", None)
            if advance is None:
                raise ControlError(f"advance: the emulator's clock ({type(self.clock).__name__}) cannot jump")
            advance(float(seconds))
            self._changed()
            return {"now": float(self.clock.now())}
        if action == "reset":
            services = args.get("services", "all")
            if set(args) - {"services"} or services not in ("all", "personalize"):
                raise ControlError('reset takes {"services": "all" | "personalize"} (default "all")')
            self.emulator.reset()
            if services == "all" and self._reset_moto is not None:
                self._reset_moto()
            self._changed()
            return {"services": services}
        if action in PASS_THROUGH_ACTIONS:
            method = getattr(self.emulator.control, action)
            args = {_snake(k): v for k, v in args.items()}
            try:
                inspect.signature(method).bind(**args)
            except TypeError as exc:
                raise ControlError(f"{action}{inspect.signature(method)}: {exc}") from exc
            try:
                result = method(**args)
            except (ValueError, KeyError, LookupError) as exc:
                raise ControlError(f"{action}: {exc}") from exc
            if action == "set_quota":  # quotas are part of the saved account; faults and metrics are not
                self._changed()
            return _plain(result)
        raise ControlError(f"unknown action {action!r}; known actions: {', '.join(ACTIONS)}")

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change()

    # --------------------------------------------------------------------------------------- WSGI

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        try:
            if path == CONTROL_PREFIX + "status" and method in ("GET", "HEAD"):
                return _json(start_response, 200, self.status())
            if path == CONTROL_PREFIX + "control" and method == "POST":
                body = read_body(environ)
                try:
                    payload = json.loads(body or b"{}")
                except ValueError as exc:
                    raise ControlError(f"the body is not JSON: {exc}") from exc
                if not isinstance(payload, dict) or not isinstance(payload.get("action"), str):
                    raise ControlError(f'send a JSON object {{"action": ...}}; actions: {", ".join(ACTIONS)}')
                action = payload.pop("action")
                result = self.run(action, payload)
                return _json(start_response, 200, {"ok": True, "action": action, "result": result})
            return _json(
                start_response,
                404,
                {
                    "ok": False,
                    "error": f"no control resource {method} {path}; use GET {CONTROL_PREFIX}status or "
                    f"POST {CONTROL_PREFIX}control",
                },
            )
        except ControlError as exc:
            return _json(start_response, 400, {"ok": False, "error": str(exc)})


def resource_counts(emulator: Any) -> dict[str, int]:
    """Number of Personalize resources per kind, summed over accounts and regions. Counted in place, not
    from a snapshot: every `--endpoint-url` command asks for the status (its clock) when it starts, and a
    deep copy of a 5,000-resource account held the emulator's lock for 0.1-0.2 s each time."""
    counts: dict[str, int] = {}
    for kind, count in emulator.resource_counts().items():
        if count:
            counts[kind] = counts.get(kind, 0) + count
    return dict(sorted(counts.items()))


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", lambda m: "_" + m.group(1).lower(), name)


def _no_args(action: str, args: dict[str, Any]) -> None:
    if args:
        raise ControlError(f"{action} takes no arguments, got {', '.join(sorted(args))}")


def _plain(value: Any) -> Any:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)
    return value


def read_body(environ: dict[str, Any]) -> bytes:
    """The request body (``CONTENT_LENGTH`` bytes of ``wsgi.input``; empty when absent or malformed)."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    stream = environ.get("wsgi.input")
    if stream is None or length <= 0:
        return b""
    data: bytes = stream.read(length)
    return data


def _json(start_response: StartResponse, status: int, doc: Any) -> list[bytes]:
    body = json.dumps(doc, indent=1, sort_keys=True).encode("utf-8")
    reason = {200: "OK", 400: "Bad Request", 404: "Not Found"}.get(status, "Error")
    start_response(
        f"{status} {reason}",
        [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
    )
    return [body]
