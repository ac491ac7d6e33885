"""``emulator serve``: Personalize, S3, IAM, STS and SSM on ONE local HTTP endpoint.

Routing (one WSGI app, :func:`make_app`):

* ``X-Amz-Target: AmazonPersonalize.*`` -> the Personalize emulator (AWS JSON 1.1 through ``wire_call``).
* requests signed for ``personalize`` without a target -> ``personalize-runtime`` / ``personalize-events``
  (REST-JSON, routed by method and path through ``dataplane.wire_data_call``).
  The region comes from the SigV4 credential scope of the ``Authorization`` header (the host is 127.0.0.1,
  so it cannot come from the URL); the account is ``123456789012`` (moto's default, or ``MOTO_ACCOUNT_ID``)
  so ARNs of IAM roles created through the same endpoint line up.
* ``/_emulator/*`` -> the control endpoint (:mod:`reconciler.emulator.control_http` documents it).
* everything else -> moto's own server app (``DomainDispatcherApplication(create_backend_app)``), which picks
  the service from the credential scope: S3 (path-style), IAM, STS, SSM, ...

Using it::

    personalize-gitops emulator serve --port 4566 --state demo-account.json

    import boto3
    session = boto3.Session(aws_access_key_id="emulator", aws_secret_access_key="emulator",
                            region_name="us-east-1")
    personalize = session.client("personalize", endpoint_url="http://127.0.0.1:4566")
    s3 = session.client("s3", endpoint_url="http://127.0.0.1:4566")

    AWS_ACCESS_KEY_ID=emulator AWS_SECRET_ACCESS_KEY=emulator AWS_DEFAULT_REGION=us-east-1 \\
        aws personalize list-dataset-groups --endpoint-url http://127.0.0.1:4566

The emulator reads import data through ``s3_client_factory(region)``; here that factory returns boto3 S3
clients bridged in-process to the same moto app (:class:`MotoBridge`), so objects uploaded through the
endpoint are what import jobs see, without a network round trip to ourselves.

The server binds to loopback addresses only: it has no authentication (any credentials are accepted).
"""

from __future__ import annotations

import contextlib
import http
import io
import ipaddress
import json
import logging
import os
import re
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any, TextIO
from urllib.parse import urlsplit

from .control_http import CONTROL_PREFIX, ControlEndpoint, read_body
from .persistence import AccountState, needs_aws_managed_policies

log = logging.getLogger(__name__)

DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"
PERSONALIZE_TARGET_PREFIX = "AmazonPersonalize."
_SCOPE = re.compile(r"Credential=[^/,\s]*/\d{8}/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request")
_READ_ONLY_OPS = re.compile(r"^(Describe|List|Get|Head)")

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def default_account() -> str:
    return os.environ.get("MOTO_ACCOUNT_ID") or DEFAULT_ACCOUNT


def scope_of(authorization: str | None) -> tuple[str, str] | None:
    """``(region, service)`` from a SigV4 ``Authorization`` header; None without a credential scope."""
    if not authorization:
        return None
    match = _SCOPE.search(authorization)
    return (match.group(1), match.group(2)) if match else None


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# ------------------------------------------------------------------------------- moto, in-process


def moto_wsgi_app() -> WsgiApp:
    """moto's server application (all services, lazily created per service)."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    app: WsgiApp = DomainDispatcherApplication(create_backend_app)
    return app


class _Raw:
    """What botocore's ``AWSResponse.raw`` needs: ``stream()`` and ``read()`` over a complete body."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data

    def read(self, *_: Any, **__: Any) -> bytes:
        return self._data


def _isolated_botocore_session() -> Any:
    """A botocore session that reads no AWS profile (not even AWS_PROFILE) and no AWS config or credentials
    file: the emulator's own clients are not the user's AWS setup (an AWS_PROFILE naming a profile the config
    lacks made every state save fail with ProfileNotFound, answered as InternalFailure)."""
    import botocore.session

    return botocore.session.Session(
        session_vars={
            "profile": (None, None, None, None),
            "config_file": (None, None, os.devnull, None),
            "credentials_file": (None, None, os.devnull, None),
        }
    )


class MotoBridge:
    """boto3 clients whose requests are answered by calling a WSGI app in this process (no sockets).

    Used to give the emulator an S3 client that sees what users upload to ``emulator serve``, and to save and
    restore moto's state. Clients are cached per (service, region); boto3 clients are thread-safe.
    """

    BASE_URL = "http://127.0.0.1:4566"  # never contacted: every request is answered by ``before-send``

    def __init__(self, app: WsgiApp | None = None) -> None:
        self.app = app if app is not None else moto_wsgi_app()
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def client(self, service: str, region: str = DEFAULT_REGION) -> Any:
        with self._lock:
            cached = self._clients.get((service, region))
            if cached is None:
                import boto3
                from botocore.config import Config

                session = boto3.session.Session(
                    aws_access_key_id="emulator",
                    aws_secret_access_key="emulator",
                    region_name=region,
                    botocore_session=_isolated_botocore_session(),
                )
                cached = session.client(
                    service,
                    endpoint_url=self.BASE_URL,
                    config=Config(
                        s3={"addressing_style": "path"}, retries={"mode": "standard", "max_attempts": 2}
                    ),
                )
                cached.meta.events.register(
                    "before-send", self._send, unique_id="personalize-gitops-moto-bridge"
                )
                self._clients[(service, region)] = cached
            return cached

    def s3_client_factory(self, region: str) -> Any:
        return self.client("s3", region)

    def reset(self) -> None:
        """Empty every moto backend (moto's documented ``POST /moto-api/reset``)."""
        status, _, body = call_wsgi(self.app, "POST", self.BASE_URL + "/moto-api/reset", {}, b"")
        if status != 200:
            raise RuntimeError(f"moto reset failed with HTTP {status}: {body[:200]!r}")

    def _send(self, request: Any, **_: Any) -> Any:
        from botocore.awsrequest import AWSResponse

        body = request.body
        if hasattr(body, "read"):
            body = body.read()
        if isinstance(body, str):
            body = body.encode("utf-8")
        headers = {
            k: v.decode("latin-1") if isinstance(v, bytes) else str(v) for k, v in request.headers.items()
        }
        status, out_headers, data = call_wsgi(self.app, request.method, request.url, headers, body or b"")
        return AWSResponse(request.url, status, out_headers, _Raw(data))


def call_wsgi(
    app: WsgiApp, method: str, url: str, headers: dict[str, str], body: bytes
) -> tuple[int, dict[str, str], bytes]:
    from werkzeug.test import EnvironBuilder, run_wsgi_app

    parts = urlsplit(url)
    builder = EnvironBuilder(
        path=parts.path or "/",
        query_string=parts.query,
        method=method,
        headers=list(headers.items()),
        data=body,
        base_url=f"{parts.scheme}://{parts.netloc}",
    )
    try:
        environ = builder.get_environ()
    finally:
        builder.close()
    app_iter, status, out_headers = run_wsgi_app(app, environ, buffered=True)
    try:
        data = b"".join(app_iter)
    finally:
        close = getattr(app_iter, "close", None)
        if close is not None:
            close()
    return int(status.split()[0]), dict(out_headers.items()), data


# ---------------------------------------------------------------------------------- the one app


class EmulatorApp:
    """The composite WSGI app (see the module docstring). Build it with :func:`make_app`."""

    def __init__(
        self,
        emulator: Any,
        *,
        moto: bool = True,
        clock: Any = None,
        bridge: MotoBridge | None = None,
        on_mutation: Callable[[str], None] | None = None,
        status_extra: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        from .wire import wire_call

        self.emulator = emulator
        self._wire_call = wire_call
        self.account = default_account()
        self.bridge = bridge if bridge is not None else (MotoBridge() if moto else None)
        self.moto_app: WsgiApp | None = self.bridge.app if self.bridge is not None else None
        self.clock = clock if clock is not None else getattr(emulator, "clock", None)
        self.on_mutation = on_mutation
        self.regions: set[str] = set()
        self.ssm_regions: set[str] = set()  # SSM is regional: the state file saves these regions' parameters
        self.requests = 0
        self.in_flight = 0  # requests being answered right now (one thread each)
        self.peak_in_flight = 0
        self._count_lock = threading.Lock()
        self._status_extra = status_extra
        self.control = ControlEndpoint(
            emulator,
            self.clock,
            status_extra=self._status,
            reset_moto=self.bridge.reset if self.bridge is not None else None,
            on_change=lambda: self._mutated("*"),
        )

    def _status(self) -> dict[str, Any]:
        with self._count_lock:
            regions, requests, peak = sorted(self.regions), self.requests, self.peak_in_flight
        doc: dict[str, Any] = {
            "regions": regions,
            "requests": requests,
            "peakInFlight": peak,
            "moto": self.bridge is not None,
        }
        if self._status_extra is not None:
            doc.update(self._status_extra())
        return doc

    def seen_ssm_regions(self) -> set[str]:
        with self._count_lock:
            return set(self.ssm_regions)

    def _mutated(self, service: str) -> None:
        """A request changed state: ``service`` is "personalize", a moto service name, or "*" (unknown)."""
        if self.on_mutation is not None:
            self.on_mutation(service)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        scope = scope_of(environ.get("HTTP_AUTHORIZATION"))
        with self._count_lock:  # requests arrive on many threads at once
            self.requests += 1
            if scope is not None and not path.startswith(CONTROL_PREFIX):
                self.regions.add(scope[0])
                if scope[1] == "ssm":
                    self.ssm_regions.add(scope[0])
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            if path.startswith(CONTROL_PREFIX):
                return self.control(environ, start_response)
            return self._dispatch(environ, start_response, scope)
        finally:
            with self._count_lock:
                self.in_flight -= 1

    def _dispatch(
        self, environ: dict[str, Any], start_response: StartResponse, scope: tuple[str, str] | None
    ) -> Iterable[bytes]:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target.startswith(PERSONALIZE_TARGET_PREFIX):
            return self._personalize(environ, start_response, target, scope)
        if not target and scope is not None and scope[1] == "personalize":
            # personalize-runtime / personalize-events: REST-JSON, signed as "personalize", routed by path
            return self._dataplane(environ, start_response, scope)
        if self.moto_app is None:
            return _error(
                start_response,
                404,
                "UnknownServiceException",
                "this endpoint only serves Amazon Personalize (started with moto=False)",
            )
        method = environ.get("REQUEST_METHOD", "GET")
        result = list(self.moto_app(environ, start_response))
        if method not in ("GET", "HEAD", "OPTIONS") and not _READ_ONLY_OPS.match(
            _moto_action(environ, target)
        ):
            self._mutated(scope[1] if scope is not None else "*")
        return result

    def _personalize(
        self,
        environ: dict[str, Any],
        start_response: StartResponse,
        target: str,
        scope: tuple[str, str] | None,
    ) -> Iterable[bytes]:
        from .errors import InjectedConnectionReset

        region = scope[0] if scope is not None else DEFAULT_REGION
        body = read_body(environ)
        operation = target[len(PERSONALIZE_TARGET_PREFIX) :]
        delay = float(self.emulator.control.latency_for(operation))
        if delay > 0:
            time.sleep(delay)  # like the in-process hook: wall time, outside the emulator's lock
        try:
            status, headers, data = self._wire_call(self.emulator, target, body, region, self.account)
        except InjectedConnectionReset:
            _drop_connection(environ)
            return []
        if not _READ_ONLY_OPS.match(operation):
            self._mutated("personalize")
        start_response(_status_line(status), [*headers.items(), ("Content-Length", str(len(data)))])
        return [data]

    def _dataplane(
        self, environ: dict[str, Any], start_response: StartResponse, scope: tuple[str, str]
    ) -> Iterable[bytes]:
        from .dataplane import route, wire_data_call

        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "")
        status, headers, data = wire_data_call(
            self.emulator, method, path, read_body(environ), scope[0], self.account
        )
        found = route(method, path)
        if status == 200 and found is not None and found[1].startswith("Put"):
            self._mutated("personalize")
        start_response(_status_line(status), [*headers.items(), ("Content-Length", str(len(data)))])
        return [data]


def make_app(emulator: Any, moto: bool = True, **kwargs: Any) -> EmulatorApp:
    """The composite WSGI app: Personalize -> ``emulator``, ``/_emulator/*`` -> control, the rest -> moto."""
    return EmulatorApp(emulator, moto=moto, **kwargs)


def _moto_action(environ: dict[str, Any], target: str) -> str:
    if target:
        return target.rsplit(".", 1)[-1]
    query = environ.get("QUERY_STRING", "")
    match = re.search(r"(?:^|&)Action=([A-Za-z]+)", query)
    return match.group(1) if match else ""


def _drop_connection(environ: dict[str, Any]) -> None:
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _status_line(status: int) -> str:
    try:
        return f"{status} {http.HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Error"


def _error(start_response: StartResponse, status: int, code: str, message: str) -> list[bytes]:
    data = json.dumps({"__type": code, "message": message}).encode("utf-8")
    start_response(
        _status_line(status),
        [("Content-Type", "application/x-amz-json-1.1"), ("Content-Length", str(len(data)))],
    )
    return [data]


# ------------------------------------------------------------------------------------- the server


class EmulatorServer:
    """A threaded HTTP/1.1 server around :func:`make_app` (keep-alive, one thread per connection), with
    optional persistence.

    ``EmulatorServer.create(...)`` builds the emulator (ScaledClock, S3 through the moto bridge), loads
    ``state_file`` if it exists, and saves the whole account after every mutating request and on ``stop()``.
    ``start()`` serves in a background thread; :func:`serve` waits on it in the foreground (the CLI).
    """

    def __init__(
        self,
        emulator: Any,
        clock: Any,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        state: AccountState | None = None,
        bridge: MotoBridge | None = None,
        quiet: bool = True,
    ) -> None:
        if not is_loopback(host):
            raise ValueError(
                f"refusing to listen on {host}: the emulator has no authentication, use a loopback "
                "address such as 127.0.0.1"
            )
        from werkzeug.serving import make_server

        self.emulator = emulator
        self.clock = clock
        self.state = state
        self.bridge = bridge if bridge is not None else MotoBridge()
        self._save_lock = threading.Lock()
        self.save_errors: list[str] = []
        self._connections: set[socket.socket] = set()
        self.connections_accepted = 0
        self._connections_lock = threading.Lock()
        self.app = make_app(
            emulator,
            clock=clock,
            bridge=self.bridge,
            on_mutation=self._on_mutation if state is not None else None,
            status_extra=lambda: {
                "stateFile": str(state.path) if state is not None else None,
                "connections": {"open": self.open_connections, "accepted": self.connections_accepted},
            },
        )
        handler = _handler_class(quiet)
        # Bind ourselves: a port in use is then an OSError for the caller (werkzeug would print and exit).
        listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((host, port))
            listener.listen(128)
            self._server = make_server(
                host, port, self.app, threaded=True, request_handler=handler, fd=listener.fileno()
            )
        finally:
            listener.close()  # the server holds its own duplicate of the socket
        self._server.track_connection = self._track_connection  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None
        self._closed = False

    @classmethod
    def create(
        cls,
        *,
        port: int = 0,
        host: str = "127.0.0.1",
        state_file: Path | None = None,
        time_scale: float = 600.0,
        quiet: bool = True,
    ) -> EmulatorServer:
        from . import PersonalizeEmulator
        from .clock import ScaledClock

        bridge = MotoBridge()
        state = AccountState(Path(state_file), bridge.client) if state_file is not None else None
        saved = state.read() if state is not None else None
        if saved is not None and needs_aws_managed_policies(saved):
            # moto reads this when it first builds an account's IAM backend (process-wide, like serve()).
            os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
        clock = ScaledClock(time_scale)
        emulator = PersonalizeEmulator(
            clock=clock,
            s3_client_factory=bridge.s3_client_factory,
            iam_client_factory=lambda region: bridge.client("iam", region),
        )
        if state_file is not None:  # datasets and trained models live beside the state file
            emulator.attach_storage(Path(state_file).with_name(Path(state_file).stem + ".data"))
        if saved is not None and state is not None:
            saved_now = (saved.get("clock") or {}).get("now")
            if isinstance(saved_now, int | float):
                clock.ensure_not_before(float(saved_now))
            state.restore_personalize(emulator, saved)
            state.restore_moto(saved)
        elif state is not None:
            state.start_empty()
        server = cls(emulator, clock, host=host, port=port, state=state, bridge=bridge, quiet=quiet)
        if state is not None:
            try:
                state.save(emulator.snapshot(), float(clock.now()), services=set())  # unwritable: fail now
            except BaseException:
                server._server.server_close()
                raise
        return server

    @property
    def port(self) -> int:
        return int(self._server.port)

    @property
    def url(self) -> str:
        host = self._server.host
        return f"http://{'[' + host + ']' if ':' in host else host}:{self.port}"

    def _track_connection(self, connection: socket.socket, is_open: bool) -> None:
        with self._connections_lock:
            if is_open:
                self._connections.add(connection)
                self.connections_accepted += 1
            else:
                self._connections.discard(connection)

    @property
    def open_connections(self) -> int:
        """Client connections open right now (kept alive between requests)."""
        with self._connections_lock:
            return len(self._connections)

    def _on_mutation(self, service: str) -> None:
        self.save(None if service == "*" else {service})

    def save(self, services: set[str] | None = None) -> None:
        """Write the state file now (no-op without one); ``services``: the moto services that may have
        changed (None: all). Errors are logged and kept in ``save_errors``, never raised into a request."""
        if self.state is None:
            return
        with self._save_lock:
            try:
                self.state.ssm_regions.update(self.app.seen_ssm_regions())
                self.state.save(self.emulator.snapshot(), float(self.clock.now()), services=services)
            except Exception as exc:  # a failed save must not turn into a failed API call
                message = f"could not save the emulator state to {self.state.path}: {exc}"
                self.save_errors.append(message)
                log.error(message)

    def start(self) -> EmulatorServer:
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="emulator-serve",
            daemon=True,
        )
        self._thread.start()
        return self

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wait(self, timeout: float) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def stop(self) -> None:
        """Stop serving (if started), close the socket, then save the state one last time. Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._thread is not None:
            self._server.shutdown()  # blocks until serve_forever returns: only call it when it runs
            self._thread.join(timeout=10)
            self._thread = None
        self._server.server_close()
        with self._connections_lock:  # idle keep-alive connections: end them so no request lands after this
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        # Every change was saved when it happened; what is left is the clock (and a retry of failed saves).
        self.save(None if self.save_errors else set())

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


#: An idle keep-alive connection is closed after this many seconds (clients reconnect transparently).
KEEP_ALIVE_IDLE_SECONDS = 60.0
_NO_BODY_STATUSES = frozenset({204, 304})
_HOP_BY_HOP = frozenset({"connection", "content-length", "transfer-encoding", "keep-alive"})


def _handler_class(quiet: bool) -> type:
    """The request handler: moto's (it keeps S3 metadata headers with underscores) with HTTP/1.1 keep-alive.

    werkzeug's development server answers every request with ``Connection: close`` because it cannot drain
    an unread request body before the next request line. This handler reads each request body completely
    first (``Content-Length`` bytes, or the chunks of ``Transfer-Encoding: chunked``), hands the application
    a complete in-memory body, and frames every answer with an exact ``Content-Length``, so the connection
    can carry the next request. One thread per connection (werkzeug's threaded server) serves concurrent
    clients in parallel; the emulator serialises state changes with its own lock.
    """
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    class KeepAliveHandler(MotoRequestHandler):
        timeout = KEEP_ALIVE_IDLE_SECONDS

        def setup(self) -> None:
            super().setup()
            # Headers and body leave in two writes: without this, Nagle's algorithm holds the body back
            # until the client's delayed ACK (~40 ms per call on a kept-alive connection).
            with contextlib.suppress(OSError):
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            track = getattr(self.server, "track_connection", None)
            if track is not None:
                track(self.connection, True)

        def finish(self) -> None:
            track = getattr(self.server, "track_connection", None)
            if track is not None:
                track(self.connection, False)
            with contextlib.suppress(OSError):
                super().finish()

        def log_request(self, *args: Any, **kwargs: Any) -> None:
            if not quiet:
                super().log_request(*args, **kwargs)

        def log_error(self, format: str, *args: Any) -> None:
            # http.server reports an idle kept-alive connection reaching `timeout` as an error: it is not.
            if not quiet and not format.startswith("Request timed out"):
                super().log_error(format, *args)

        def run_wsgi(self) -> None:
            # "Expect: 100-continue" was answered by http.server's parse_request (HTTP/1.1).
            environ = self.make_environ()
            try:
                body = _read_request_body(environ, self.rfile)
            except (ValueError, OSError):
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self._respond(400, [("Content-Type", "text/plain")], b"unreadable request body\n", False)
                return
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
            environ.pop("wsgi.input_terminated", None)
            environ.pop("HTTP_TRANSFER_ENCODING", None)
            self.environ = environ

            started: list[Any] = []

            def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
                started[:] = [status, list(headers)]
                return lambda data: chunks.append(data)

            chunks: list[bytes] = []
            try:
                app_iter = self.server.app(environ, start_response)
                try:
                    chunks.extend(app_iter)
                finally:
                    close = getattr(app_iter, "close", None)
                    if close is not None:
                        close()
            except Exception:
                log.exception("emulator serve: error answering %s %s", self.command, self.path)
                started[:] = [
                    "500 Internal Server Error",
                    [("Content-Type", "application/x-amz-json-1.1")],
                ]
                chunks = [json.dumps({"__type": "InternalFailure", "message": "emulator error"}).encode()]
            if not started:  # the application dropped the connection (an injected ConnectionReset)
                self.close_connection = True
                return
            status, headers = started
            code_text, _, phrase = str(status).partition(" ")
            try:
                self._respond(int(code_text), headers, b"".join(chunks), self.command == "HEAD", phrase)
            except OSError:
                self.close_connection = True

        def _respond(
            self,
            code: int,
            headers: list[tuple[str, str]],
            data: bytes,
            head: bool,
            phrase: str | None = None,
        ) -> None:
            self.send_response(code, phrase or None)
            declared_length: str | None = None
            for key, value in headers:
                lower = key.lower()
                if lower == "content-length":
                    declared_length = value
                if lower not in _HOP_BY_HOP:
                    self.send_header(key, value)
            if head:
                # HEAD: the length of what a GET would return (S3 HeadObject), no body.
                self.send_header("Content-Length", declared_length or "0")
            elif not (100 <= code < 200 or code in _NO_BODY_STATUSES):
                self.send_header("Content-Length", str(len(data)))
            else:
                data = b""
            if self.close_connection:
                self.send_header("Connection", "close")
            elif self.request_version == "HTTP/1.0":
                self.send_header("Connection", "keep-alive")
            self.end_headers()
            if data and not head:
                self.wfile.write(data)
            self.wfile.flush()

    return KeepAliveHandler


def _read_request_body(environ: dict[str, Any], rfile: Any) -> bytes:
    """The whole request body, so that the next request on the connection starts at the right byte."""
    if environ.get("wsgi.input_terminated"):  # Transfer-Encoding: chunked (werkzeug's DechunkedInput)
        return bytes(environ["wsgi.input"].read())
    length_text = str(environ.get("CONTENT_LENGTH") or "0").strip()
    length = int(length_text)
    if length < 0:
        raise ValueError("negative Content-Length")
    data = rfile.read(length) if length else b""
    if len(data) != length:
        raise OSError("connection closed inside the request body")
    return bytes(data)


def usage_text(url: str, region: str = "us-east-1") -> str:
    return f"""\
Amazon Personalize emulator (with moto for S3, IAM, STS, SSM) listening on {url}

boto3:
    session = boto3.Session(aws_access_key_id="emulator", aws_secret_access_key="emulator",
                            region_name="{region}")
    personalize = session.client("personalize", endpoint_url="{url}")
    s3 = session.client("s3", endpoint_url="{url}")

AWS CLI (any non-empty credentials work):
    export AWS_ACCESS_KEY_ID=emulator AWS_SECRET_ACCESS_KEY=emulator AWS_DEFAULT_REGION={region}
    aws personalize list-dataset-groups --endpoint-url {url}
    aws s3 ls --endpoint-url {url}

personalize-gitops:
    personalize-gitops plan --endpoint-url {url}

Control endpoint: GET {url}{CONTROL_PREFIX}status, POST {url}{CONTROL_PREFIX}control
    curl -s -X POST {url}{CONTROL_PREFIX}control -d '{{"action": "advance", "seconds": 3600}}'
"""


def serve(
    port: int,
    state_file: Path | str | None = None,
    time_scale: float = 600.0,
    host: str = "127.0.0.1",
    *,
    out: TextIO | None = None,
    quiet: bool = True,
) -> None:
    """Run the emulator endpoint in the foreground until Ctrl-C / SIGTERM; then save the state and return."""
    stream = out if out is not None else sys.stdout
    # Notebooks attach AWS managed policies (AmazonS3ReadOnlyAccess) to their Personalize role: let moto know
    # them. Process-wide, which is fine for the CLI process this function runs in.
    os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    # The endpoint is its own account, not the user's AWS profile: moto makes boto3 sessions of its own (at
    # import, moto/ec2/models/availability_zones_and_regions.py; for each backend's regions) that read
    # AWS_PROFILE, and one naming a profile the AWS config lacks made every change answer InternalFailure
    # (ProfileNotFound). Process-wide too, for the same reason.
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        os.environ.pop(name, None)
    server = EmulatorServer.create(
        port=port,
        host=host,
        state_file=Path(state_file) if state_file is not None else None,
        time_scale=time_scale,
        quiet=quiet,
    )

    def say(text: str) -> None:
        # A closed stdout (the parent that started us went away) must not stop the server or lose the state.
        with contextlib.suppress(OSError, ValueError):
            print(text, file=stream, flush=True)

    say(usage_text(server.url))
    if state_file is not None:
        say(f"State: {state_file} (saved after every change and on exit)")
    say(f"Time runs {time_scale:g}x faster than wall time. Press Ctrl-C to stop.")

    previous: Any = None

    def _terminate(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    with contextlib.suppress(ValueError):  # not in the main thread: Ctrl-C handling is the caller's
        previous = signal.signal(signal.SIGTERM, _terminate)
    server.start()
    try:
        while server.running:
            server.wait(0.5)
    except KeyboardInterrupt:
        say("\nStopping ...")
    finally:
        started = time.monotonic()
        errors_before = len(server.save_errors)
        server.stop()
        if previous is not None:
            with contextlib.suppress(ValueError):
                signal.signal(signal.SIGTERM, previous)
        if len(server.save_errors) > errors_before:
            say(f"warning: {server.save_errors[-1]}")
        elif state_file is not None:
            say(f"State saved to {state_file} ({time.monotonic() - started:.1f}s).")
