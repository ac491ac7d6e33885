"""In-process transport: botocore ``before-send`` handlers answering from the emulator (``personalize``
over AWS JSON 1.1; ``personalize-runtime`` and ``personalize-events`` over REST-JSON)."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore.awsrequest import AWSResponse
from botocore.exceptions import ConnectionClosedError

from .errors import InjectedConnectionReset
from .wire import wire_call

if TYPE_CHECKING:
    from .core import PersonalizeEmulator

SENTINEL_ENDPOINT = "https://personalize.emulator.invalid"
HOOK_ID = "personalize-gitops-emulator"
_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/personalize/aws4_request")


class _Raw:
    """The minimal urllib3-like body botocore's AWSResponse reads."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Any:
        yield self._data

    def read(self, *_: Any, **__: Any) -> bytes:
        return self._data


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value or "")


def region_of(request: Any, fallback: str | None) -> str:
    """The region from the SigV4 credential scope, else the client's region, else us-east-1."""
    match = _SCOPE.search(_text(request.headers.get("Authorization")))
    if match:
        return match.group(1)
    return fallback or "us-east-1"


def make_handler(
    emulator: PersonalizeEmulator,
    region: str | None = None,
    account: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Callable[..., AWSResponse]:
    def before_send(request: Any, **_: Any) -> AWSResponse:
        target = _text(request.headers.get("X-Amz-Target"))
        operation = target.rpartition(".")[2]
        delay = emulator.control.latency_for(operation)
        if delay > 0:
            sleep(delay)  # outside the emulator lock: concurrent callers overlap like real network latency
        body = request.body or b""
        if not isinstance(body, bytes):
            body = body.encode() if isinstance(body, str) else body.read()
        try:
            status, headers, data = wire_call(
                emulator, target, body, region_of(request, region), account or emulator.account
            )
        except InjectedConnectionReset as exc:
            raise ConnectionClosedError(endpoint_url=request.url) from exc
        return AWSResponse(request.url, status, headers, _Raw(data))

    return before_send


def make_data_handler(
    emulator: PersonalizeEmulator, region: str | None = None, account: str | None = None
) -> Callable[..., AWSResponse]:
    """``before-send`` handler for ``personalize-runtime`` / ``personalize-events`` (REST-JSON: the
    operation comes from the method and path)."""
    from urllib.parse import urlsplit

    from .dataplane import wire_data_call

    def before_send(request: Any, **_: Any) -> AWSResponse:
        body = request.body or b""
        if not isinstance(body, bytes):
            body = body.encode() if isinstance(body, str) else body.read()
        status, headers, data = wire_data_call(
            emulator,
            request.method,
            urlsplit(request.url).path,
            body,
            region_of(request, region),
            account or emulator.account,
        )
        return AWSResponse(request.url, status, headers, _Raw(data))

    return before_send


DATA_SERVICES = ("personalize-runtime", "personalize-events")


def attach(client: Any, emulator: PersonalizeEmulator, *, sleep: Callable[[float], None] = time.sleep) -> Any:
    """Make a boto3 ``personalize``, ``personalize-runtime`` or ``personalize-events`` client (or a
    boto3/botocore Session: all three services) answer from ``emulator``.

    Use a client whose endpoint is ``SENTINEL_ENDPOINT`` so moto (if active) ignores it.
    Returns ``client``."""
    meta = getattr(client, "meta", None)
    if meta is not None:
        service = meta.service_model.service_id.hyphenize()
        if service in DATA_SERVICES:
            handler = make_data_handler(emulator, meta.region_name)
            meta.events.register(f"before-send.{service}", handler, unique_id=f"{HOOK_ID}-{service}")
        else:
            handler = make_handler(emulator, meta.region_name, sleep=sleep)
            meta.events.register("before-send.personalize", handler, unique_id=HOOK_ID)
    else:  # a Session: region comes from each request's SigV4 scope
        events = client.events if hasattr(client, "events") else client.get_component("event_emitter")
        events.register("before-send.personalize", make_handler(emulator, sleep=sleep), unique_id=HOOK_ID)
        for service in DATA_SERVICES:
            events.register(
                f"before-send.{service}", make_data_handler(emulator), unique_id=f"{HOOK_ID}-{service}"
            )
    return client


def emulated_client(
    emulator: PersonalizeEmulator,
    region: str = "us-east-1",
    session: Any = None,
    service: str = "personalize",
    **kwargs: Any,
) -> Any:
    """A real boto3 client of ``service`` (``personalize``, ``personalize-runtime`` or
    ``personalize-events``) whose requests the emulator answers (``kwargs`` such as
    ``config=Config(retries=...)`` go to ``session.client``)."""
    import boto3

    sleep = kwargs.pop("sleep", time.sleep)
    if session is None:
        session = boto3.session.Session()
        if "aws_access_key_id" not in kwargs and not os.environ.get("AWS_ACCESS_KEY_ID"):
            kwargs.update(aws_access_key_id="emulator", aws_secret_access_key="emulator")
    kwargs.setdefault("endpoint_url", SENTINEL_ENDPOINT)
    client = session.client(service, region_name=region, **kwargs)
    return attach(client, emulator, sleep=sleep)
