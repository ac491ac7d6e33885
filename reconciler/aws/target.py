"""Which account the reconciler talks to, and the boto3 clients it uses there.

``open_target`` is the only way the rest of the reconciler gets clients. Three modes:

* **real AWS** (default): boto3's default credential chain and the standard AWS environment variables
  (``AWS_PROFILE``, ``AWS_REGION``/``AWS_DEFAULT_REGION``, ``AWS_ACCESS_KEY_ID`` ...), or ``profile``;
* **endpoint** (``--endpoint-url URL``): every client (Personalize, S3, SSM, STS, IAM) uses ``URL``, for
  example ``personalize-gitops emulator serve``; dummy credentials are used when none are configured;
* **local** (``--local``): an in-process Personalize emulator plus moto (``mock_aws``) for S3/IAM/STS/SSM,
  whose whole account (Personalize resources, S3 buckets and objects, SSM parameters, IAM roles) is loaded
  from ``.personalize-gitops/emulator-state.json`` at open and saved at ``close()``, so successive
  ``plan``/``apply`` commands see the same account. Its clock is the emulator's ``ScaledClock``: waiting for
  a 45-minute training costs seconds of wall time. AWS managed IAM policies (``arn:aws:iam::aws:policy/..``)
  exist when ``MOTO_IAM_LOAD_MANAGED_POLICIES=true`` or when the saved account attaches one (loading them
  costs a few seconds, so it is not the default).

Every client is a real boto3 client configured with standard retries (botocore's ``max_attempts: 8``: up to
8 retries of throttling, 5xx and connection resets, with backoff) and a connection pool for 16+ concurrent
callers.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from reconciler.errors import TargetError

if TYPE_CHECKING:
    from reconciler.model.target import TargetIdentity

#: Where ``--local`` keeps the emulated account, relative to the working directory.
DEFAULT_LOCAL_STATE = Path(".personalize-gitops") / "emulator-state.json"
DEFAULT_TIME_SCALE = 600.0
DUMMY_CREDENTIALS = {"aws_access_key_id": "emulator", "aws_secret_access_key": "emulator"}
LOCAL_REGION_FALLBACK = "us-east-1"
#: The services plan and apply call on a target (botocore names): a per-service endpoint setting of any of
#: them (AWS_ENDPOINT_URL_S3, ...) changes which target is used, so the label and the identity name it.
TARGET_SERVICES = ("personalize", "s3", "ssm", "sts", "iam", "kms")
ENDPOINT_CONNECT_TIMEOUT = 3.0
#: botocore client options shared by every client (see ``client_config``). Its ``retries`` are the one
#: retry of throttling, 5xx and connection resets in the reconciler: apply never calls again what botocore
#: gave up on (``apply/retry.py``).
CLIENT_CONFIG: dict[str, Any] = {
    "retries": {"mode": "standard", "max_attempts": 8},
    "max_pool_connections": 32,
    "connect_timeout": 10,
    "read_timeout": 60,
    "user_agent_extra": "personalize-gitops",
    # No client-side parameter check: `validate` checks every create request the manifests make against
    # the same botocore model before any call, and each service (the emulator too) validates what it
    # receives. botocore's check on every call cost 8 % of a call's client CPU (1.87 -> 1.72 ms for
    # ListTagsForResource over HTTP); a 5,000-resource plan makes 10,000+ calls.
    "parameter_validation": False,
}


class Clock(Protocol):
    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """Wall-clock time (real AWS and ``--endpoint-url``: the server keeps its own time)."""

    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


def client_config(
    *, addressing_path: bool = False, total_attempts: int | None = None, own_endpoints: bool = False
) -> Any:
    """The botocore ``Config`` every target client uses. ``CLIENT_CONFIG``'s ``max_attempts: 8`` is botocore's
    retry count (9 attempts in all); ``total_attempts`` overrides it with a total (1: never retry).
    ``own_endpoints`` (``--local``): ignore endpoints configured outside the command line
    (``AWS_ENDPOINT_URL``, ``AWS_ENDPOINT_URL_<SERVICE>``, ``endpoint_url`` in the AWS config), which would
    send the emulated account's calls elsewhere."""
    from botocore.config import Config

    options = dict(CLIENT_CONFIG)
    if own_endpoints:
        options["ignore_configured_endpoint_urls"] = True
    if total_attempts is not None:
        options["retries"] = {"mode": "standard", "total_max_attempts": total_attempts}
    if addressing_path:
        options["s3"] = {"addressing_style": "path"}
    return Config(**options)


class EmulatorEndpointClock:
    """The clock of a `personalize-gitops emulator serve` endpoint, followed from here.

    The server keeps the host's time (plus any explicit `advance`) and shortens durations `scale` times, so a
    45-minute training is ready in seconds there; sleeping here `scale` times shorter keeps polls as frequent,
    relative to the work, as against AWS.
    """

    def __init__(self, scale: float, server_now: float) -> None:
        self.scale = scale
        self._origin_wall = time.time()
        self._origin_server = server_now

    def now(self) -> float:
        return self._origin_server + (time.time() - self._origin_wall)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds / self.scale)


def _emulator_clock(endpoint_url: str) -> EmulatorEndpointClock | None:
    """The endpoint's clock when it is a personalize-gitops emulator (it answers GET /_emulator/status)."""
    import json
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(
            endpoint_url.rstrip("/") + "/_emulator/status", timeout=ENDPOINT_CONNECT_TIMEOUT
        ) as response:
            status = json.loads(response.read().decode("utf-8"))
        scale = float(status["timeScale"])
        server_now = float(status["now"])
    except (OSError, urllib.error.URLError, ValueError, KeyError, TypeError):
        return None
    if scale <= 0:
        return None
    return EmulatorEndpointClock(scale, server_now)


class Target:
    """The clients, clock and description of one account.

    ``personalize``, ``s3``, ``ssm``, ``sts`` (and ``iam``) are real boto3 clients; ``clock`` has
    ``now()`` and ``sleep(seconds)``; ``label`` says in words which target is used; ``emulator`` is the
    in-process ``PersonalizeEmulator`` for ``--local`` (else None); ``mode`` is ``"aws"``, ``"endpoint"``,
    ``"local"`` or ``"test"``. ``close()`` persists ``--local`` state (``save()`` does it on demand); a
    Target is also a context manager.
    """

    def __init__(
        self,
        *,
        mode: str,
        region: str,
        session: Any,
        personalize: Any,
        clock: Clock,
        label: str | Callable[[Target], str],
        endpoint_url: str | None = None,
        emulator: Any = None,
        state_path: Path | None = None,
        on_close: Callable[[], None] | None = None,
        on_save: Callable[[], None] | None = None,
        config: Any = None,
    ) -> None:
        self.mode = mode
        self.region = region
        self.session = session
        self.endpoint_url = endpoint_url
        self.personalize = personalize
        self.clock = clock
        self.emulator = emulator
        self.state_path = state_path
        self._label = label
        self._on_close = on_close
        self._on_save = on_save
        self._closed = False
        self._account: str | None = None
        self._lock = threading.Lock()
        self._config = config if config is not None else client_config()
        self._s3_config = client_config(addressing_path=True) if endpoint_url else self._config
        self._clients: dict[str, Any] = {}
        from reconciler.aws.calls import recorder_from_env

        self._recorder = recorder_from_env(self.account_id)
        """`--record-calls FILE`: every call's IAM action and resource go there (reconciler/aws/calls.py)."""
        if self._recorder is not None and personalize is not None:
            self._recorder.attach(personalize)

    # ----------------------------------------------------------------------------------- clients

    def client(self, service: str, region: str | None = None, *, record: bool = True) -> Any:
        """A further boto3 client for ``service`` on this target (same endpoint, credentials, retries).
        ``record=False``: not a call of the tool itself (``--local`` state persistence): not recorded.
        With an in-process emulator (``--local``, tests), ``personalize-runtime`` and ``personalize-events``
        clients are answered by it, like the ``personalize`` client."""
        if self.emulator is not None and service in ("personalize-runtime", "personalize-events"):
            from reconciler.emulator import emulated_client

            emulated = emulated_client(
                self.emulator,
                region or self.region,
                session=self.session,
                service=service,
                config=self._config,
            )
            return self._recorder.attach(emulated) if self._recorder is not None and record else emulated
        kwargs: dict[str, Any] = {
            "region_name": region or self.region,
            "config": self._s3_config if service == "s3" else self._config,
        }
        if self.endpoint_url:
            kwargs["endpoint_url"] = self.endpoint_url
        client = self.session.client(service, **kwargs)
        return self._recorder.attach(client) if self._recorder is not None and record else client

    def _shared(self, service: str) -> Any:
        """The target's one client for ``service``, made on first use: a command pays only for what it calls
        (creating a boto3 client costs tens of milliseconds)."""
        with self._lock:
            if service not in self._clients:
                self._clients[service] = self.client(service)
            return self._clients[service]

    @property
    def s3(self) -> Any:
        return self._shared("s3")

    @property
    def ssm(self) -> Any:
        return self._shared("ssm")

    @property
    def sts(self) -> Any:
        return self._shared("sts")

    @property
    def iam(self) -> Any:
        return self._shared("iam")

    # --------------------------------------------------------------------------------- identity

    def account_id(self) -> str:
        """The account id (STS ``GetCallerIdentity``, once)."""
        with self._lock:
            if self._account is not None:
                return self._account
        try:
            account = str(self.sts.get_caller_identity()["Account"])
        except Exception as exc:
            raise TargetError(
                f"cannot identify the {self.mode_description} ({type(exc).__name__}: {exc})",
                hint=_credentials_hint(self.mode),
            ) from exc
        with self._lock:
            self._account = account
        return account

    def identity(self, account: str | None = None) -> TargetIdentity:
        """The target a plan records and `apply PLANFILE` compares (`model.target.TargetIdentity`): the
        account (`account`: the one the read found in the ARNs, else STS), region, partition, the endpoint
        every call goes to (None: AWS's own) and `--local`'s state file. Never the profile or an emulator's
        time scale; never parsed from the label."""
        from reconciler.model.target import TargetIdentity

        endpoint, service_endpoints = self.endpoints()
        local_state = None
        if self.mode == "local" and self.state_path is not None:
            local_state = str(Path(self.state_path).resolve())
        return TargetIdentity(
            account=account or self.account_id(),
            region=self.region,
            partition=partition_of(self.region),
            endpoint=endpoint,
            local_state=local_state,
            service_endpoints=service_endpoints,
        )

    def endpoints(self) -> tuple[str | None, dict[str, str | None]]:
        """(where Personalize calls go, {service: endpoint} of the `TARGET_SERVICES` whose calls go elsewhere;
        None: AWS's own). `--endpoint-url`: that URL for every service; `--local`, tests: none. Real AWS:
        the endpoints configured outside the command line, found as botocore finds them
        (`configured_endpoints`)."""
        if self.mode != "aws":
            return self.endpoint_url, {}
        found = configured_endpoints(self.session, TARGET_SERVICES)
        endpoint = found["personalize"]
        return endpoint, {name: url for name, url in found.items() if url != endpoint}

    @property
    def mode_description(self) -> str:
        return {
            "aws": f"AWS account in {self.region}",
            "endpoint": f"endpoint {self.endpoint_url}",
            "local": "local emulator",
            "test": "test emulator",
        }.get(self.mode, self.mode)

    @property
    def label(self) -> str:
        """Which target is used, for every output (e.g. ``AWS account 123456789012 (eu-west-1)``)."""
        return self._label(self) if callable(self._label) else self._label

    # ---------------------------------------------------------------------------------- closing

    def save(self) -> None:
        """``--local``: write the emulated account to its state file now (thread-safe; only the services
        used since the last save are read again). Other modes: nothing to do. Raises ``TargetError``."""
        if self._on_save is not None and not self._closed:
            self._on_save()

    def close(self) -> None:
        """Release the target; for ``--local`` save the emulated account to its state file. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if self._on_close is not None:
            self._on_close()

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> Target:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Target(mode={self.mode!r}, region={self.region!r}, endpoint_url={self.endpoint_url!r})"

    # ------------------------------------------------------------------------------------ tests

    @classmethod
    def for_tests(
        cls,
        emulator: Any,
        clock: Clock,
        region: str = "us-east-1",
        *,
        max_attempts: int | None = None,
        label: str = "test emulator",
    ) -> Target:
        """A target for tests that already run under ``moto.mock_aws``: Personalize answered in-process by
        ``emulator`` (sentinel endpoint), S3/SSM/STS/IAM by moto. ``close()`` does nothing.

        ``max_attempts``: attempts per call in all (1: no retries, so injected faults surface at once);
        default: the production retry policy."""
        import boto3

        from reconciler.emulator import emulated_client

        session = boto3.session.Session(region_name=region)
        config = client_config(total_attempts=max_attempts)
        personalize = emulated_client(emulator, region=region, session=session, config=config)
        return cls(
            mode="test",
            region=region,
            session=session,
            personalize=personalize,
            clock=clock,
            label=label,
            emulator=emulator,
            config=config,
        )


# ----------------------------------------------------------------------------------------- opening


def open_target(
    *,
    local: bool,
    endpoint_url: str | None,
    region: str | None,
    profile: str | None = None,
    state_path: Path | None = None,
    time_scale: float = DEFAULT_TIME_SCALE,
) -> Target:
    """Open the target the command line asked for (``--local``, ``--endpoint-url``, or real AWS).

    Raises ``TargetError`` (with a hint) when the choice is contradictory or cannot work: ``--local`` with
    ``--endpoint-url`` or ``--profile``, an unknown profile, no region or no credentials for real AWS, a
    malformed endpoint URL, an unreadable ``--local`` state file.
    """
    from reconciler.aws.calls import check_record_file

    check_record_file()
    check_target_options(local=local, endpoint_url=endpoint_url, profile=profile)
    # AWS_REGION is the region variable of the AWS CLI and the other SDKs, and this tool documents it;
    # botocore reads only AWS_DEFAULT_REGION (botocore/configprovider.py: 'region'), so real AWS said "no AWS
    # region configured" and --endpoint-url took us-east-1 with AWS_REGION set. Every target reads it first.
    region = region or os.environ.get("AWS_REGION") or None
    if local:
        return _open_local(region=region, state_path=state_path, time_scale=time_scale)
    if endpoint_url:
        return _open_endpoint(endpoint_url, region=region, profile=profile)
    return _open_aws(region=region, profile=profile)


def check_target_options(*, local: bool, endpoint_url: str | None, profile: str | None) -> None:
    """Refuse target options that cannot mean anything together (`open_target` runs it; a command that may
    return before opening its target runs it first)."""
    if local and endpoint_url:
        raise TargetError(
            "--local and --endpoint-url both given",
            hint="use --local for the embedded emulator, or --endpoint-url for a running `emulator serve`",
        )
    if local and profile:
        raise TargetError(
            f"--local and --profile {profile} both given: the embedded emulator is its own account, which no "
            "AWS profile reaches",
            hint="drop --profile to use the emulator, or drop --local to use that profile's AWS account",
        )


def _session(profile: str | None, region: str | None, **credentials: str) -> Any:
    import boto3
    from botocore.exceptions import BotoCoreError

    from reconciler.aws.models import botocore_session

    try:
        return boto3.session.Session(
            profile_name=profile,
            region_name=region,
            botocore_session=botocore_session(profile),
            **credentials,
        )
    except BotoCoreError as exc:  # ProfileNotFound and friends
        raise TargetError(
            f"cannot use AWS profile {profile or os.environ.get('AWS_PROFILE')!r}: {exc}",
            hint="check --profile / AWS_PROFILE against ~/.aws/config (`aws configure list-profiles`)",
        ) from exc


def _open_aws(*, region: str | None, profile: str | None) -> Target:
    session = _session(profile, region)
    resolved = session.region_name
    if not resolved:
        raise TargetError(
            "no AWS region configured",
            hint="pass --region, set AWS_REGION (or AWS_DEFAULT_REGION), or set a region in your AWS "
            "profile; use --local to try the tool without AWS",
        )
    if session.get_credentials() is None:
        raise TargetError(
            "no AWS credentials found",
            hint=_credentials_hint("aws"),
        )
    config = client_config()
    personalize = session.client("personalize", region_name=resolved, config=config)

    def label(target: Target) -> str:
        try:
            account = target.account_id()
        except TargetError:
            account = "(unidentified)"
        suffix = f", profile {profile}" if profile else ""
        endpoint, others = target.endpoints()
        if endpoint is not None:
            suffix += f", endpoint {endpoint}"
        for name, url in sorted(others.items()):
            suffix += f", {name} endpoint {url or 'of AWS'}"
        return f"AWS account {account} ({resolved}{suffix})"

    return Target(
        mode="aws",
        region=resolved,
        session=session,
        personalize=personalize,
        clock=SystemClock(),
        label=label,
        config=config,
    )


def _open_endpoint(endpoint_url: str, *, region: str | None, profile: str | None) -> Target:
    from urllib.parse import urlsplit

    not_a_url = TargetError(
        f"--endpoint-url {endpoint_url!r} is not an http(s) URL",
        hint="for `personalize-gitops emulator serve --port 4566` use --endpoint-url http://127.0.0.1:4566",
    )
    try:
        parts = urlsplit(endpoint_url)
        port = parts.port  # ValueError: a port out of range or not a number (a trailing space)
    except ValueError as exc:
        raise TargetError(f"{not_a_url.message} ({exc})", hint=not_a_url.hint) from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise not_a_url
    _check_reachable(endpoint_url, parts.hostname or "", port or (443 if parts.scheme == "https" else 80))
    session = _session(profile, region)
    if session.get_credentials() is None:
        session = _session(profile, region, **DUMMY_CREDENTIALS)
    resolved = session.region_name or LOCAL_REGION_FALLBACK
    config = client_config()
    personalize = session.client(
        "personalize", region_name=resolved, endpoint_url=endpoint_url, config=config
    )
    url = endpoint_url.rstrip("/")
    emulator_clock = _emulator_clock(url)
    clock: Clock = emulator_clock or SystemClock()
    label = f"endpoint {url} ({resolved})"
    if emulator_clock is not None:
        label = f"emulator endpoint {url} ({resolved}, time x{emulator_clock.scale:g})"
    return Target(
        mode="endpoint",
        region=resolved,
        session=session,
        personalize=personalize,
        clock=clock,
        label=label,
        endpoint_url=url,
        config=config,
    )


def _open_local(*, region: str | None, state_path: Path | None, time_scale: float) -> Target:
    import boto3
    from moto import mock_aws

    from reconciler.aws.models import botocore_session
    from reconciler.emulator import PersonalizeEmulator, ScaledClock, emulated_client
    from reconciler.emulator.persistence import AccountState, StateFileError, needs_aws_managed_policies

    if time_scale <= 0:
        raise TargetError(f"--time-scale must be > 0, got {time_scale:g}")
    path = Path(state_path) if state_path is not None else Path.cwd() / DEFAULT_LOCAL_STATE
    resolved = region or os.environ.get("AWS_DEFAULT_REGION") or LOCAL_REGION_FALLBACK
    _check_local_region(resolved)
    # The emulated account is not the user's AWS profile. Our clients read none (botocore_session(isolated)),
    # but moto makes boto3 sessions of its own (at import, moto/ec2/models/availability_zones_and_regions.py;
    # for each backend's regions) that read AWS_PROFILE: one naming a profile the AWS config lacks failed
    # every --local call with ProfileNotFound. A --local process uses no real AWS, so it forgets them.
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        os.environ.pop(name, None)
    load_error = (
        f"cannot load the local emulator state {path}",
        f"delete {path} (and {path.stem}.blobs/, {path.stem}.data/) to start with an empty local account",
    )
    try:
        saved = AccountState(path, _no_clients).read()
    except StateFileError as exc:
        raise TargetError(f"{load_error[0]}: {exc}", hint=load_error[1]) from exc
    # moto knows AWS managed policies (arn:aws:iam::aws:policy/...) only when asked, and loading them costs
    # seconds at the first IAM or STS call: only when the saved account attaches one, or when asked for.
    managed = os.environ.get("MOTO_IAM_LOAD_MANAGED_POLICIES", "").lower() == "true" or (
        saved is not None and needs_aws_managed_policies(saved)
    )
    mock = mock_aws(config={"iam": {"load_aws_managed_policies": True}} if managed else None)
    mock.start()
    try:
        # Explicit credentials: never the user's real ones; and never their AWS_PROFILE or AWS config files
        # (an unknown AWS_PROFILE stopped --local; a profile's settings reached the emulated account).
        session = boto3.session.Session(
            aws_access_key_id="FOOBARKEY",
            aws_secret_access_key="FOOBARSECRET",
            region_name=resolved,
            botocore_session=botocore_session(isolated=True),
        )
        config = client_config(own_endpoints=True)

        clients: dict[tuple[str, str], Any] = {}
        clients_lock = threading.Lock()

        def client_for(service: str, client_region: str) -> Any:
            """Internal clients (state file, the emulator's S3 reads), created once per service and region."""
            with clients_lock:
                if (service, client_region) not in clients:
                    clients[(service, client_region)] = session.client(
                        service, region_name=client_region, config=config
                    )
                return clients[(service, client_region)]

        def s3_client_factory(client_region: str) -> Any:
            return client_for("s3", client_region)

        clock = ScaledClock(time_scale)
        emulator = PersonalizeEmulator(
            clock=clock,
            s3_client_factory=s3_client_factory,
            iam_client_factory=lambda client_region: client_for("iam", client_region),
        )
        # imported rows and trained models live beside the state file, like `emulator serve --state`
        emulator.attach_storage(path.with_name(path.stem + ".data"))
        state = AccountState(path, client_for, ssm_regions=[resolved])
        try:
            if saved is not None:
                state.restore_personalize(emulator, saved)
                saved_now = (saved.get("clock") or {}).get("now")
                if isinstance(saved_now, int | float):
                    clock.ensure_not_before(float(saved_now))
                state.restore_moto(saved)
            else:
                state.start_empty()
        except (StateFileError, ValueError, KeyError, TypeError) as exc:
            raise TargetError(f"{load_error[0]}: {exc}", hint=load_error[1]) from exc
        personalize = emulated_client(emulator, region=resolved, session=session, config=config)
        used: set[str] = set()

        def track(event_name: str, **_: Any) -> None:
            used.add(event_name.split(".")[1])  # before-call.<service id>.<Operation>

        session.events.register("before-call", track, unique_id="personalize-gitops-local-state")
    except BaseException:
        mock.stop()
        raise

    save_lock = threading.Lock()

    def save_state() -> None:
        with save_lock:
            services = set(used)  # moto services called since the last save; the others are unchanged
            used.difference_update(services)
            try:
                state.save(emulator.snapshot(), float(clock.now()), services=services)
            except Exception as exc:
                used.update(services)
                raise TargetError(
                    f"cannot save the local emulator state to {path}: {exc}",
                    hint=f"check that {path.parent} is writable; the changes of this run are not saved",
                ) from exc

    def on_close() -> None:
        try:
            save_state()
        finally:
            with contextlib.suppress(RuntimeError):
                mock.stop()

    return Target(
        mode="local",
        region=resolved,
        session=session,
        personalize=personalize,
        clock=clock,
        label=f"local emulator ({resolved}, state: {_display_path(path)})",
        emulator=emulator,
        state_path=path,
        on_close=on_close,
        on_save=save_state,
        config=config,
    )


def _check_local_region(region: str) -> None:
    """`--local` serves only the regions of botocore's partitions: another name (a typo such as eu-wst-1)
    would be planned against an empty account, then saved in the state file, where its SSM parameters could
    never be read back (every later save failed with "cannot save the local emulator state: 'eu-wst-1'")."""
    known = {name for partition in _partitions() for name in partition.get("regions", {})}
    if known and region not in known:
        raise TargetError(
            f"region {region!r} is not an AWS region",
            hint="check --region, the Stack's spec.region and AWS_REGION / AWS_DEFAULT_REGION (for example "
            "us-east-1)",
        )


def _partitions() -> list[dict[str, Any]]:
    from reconciler.aws.models import data_loader

    partitions: list[dict[str, Any]] = data_loader().load_data("partitions").get("partitions", [])
    return partitions


def partition_of(region: str) -> str:
    """The AWS partition of `region` (`aws`, `aws-cn`, `aws-us-gov`, ...): botocore's partitions data, by its
    region list, then by each partition's region pattern; `aws` for a name no partition claims."""
    import re

    partitions = _partitions()
    for partition in partitions:
        if region in partition.get("regions", {}):
            return str(partition["id"])
    for partition in partitions:
        pattern = partition.get("regionRegex")
        if pattern and re.match(pattern, region):
            return str(partition["id"])
    return "aws"


def configured_endpoints(session: Any, services: tuple[str, ...]) -> dict[str, str | None]:
    """Real AWS mode: for each service, the endpoint its client uses when it is not an AWS one, else None.

    botocore (1.44, `botocore/args.py` `_compute_configured_endpoint_url`, `configprovider.py`
    `ConfiguredEndpointProvider`) gives a client without an explicit endpoint_url the first of
    AWS_ENDPOINT_URL_<SERVICE ID> (AWS_ENDPOINT_URL_S3, _SSM, _STS, _IAM, _KMS, _PERSONALIZE),
    AWS_ENDPOINT_URL, the profile's `services` section, the profile's `endpoint_url`, unless
    `ignore_configured_endpoint_urls` (AWS_IGNORE_CONFIGURED_ENDPOINT_URLS, or the profile). The same
    provider is asked here, without making the clients (tens of milliseconds each);
    tests/aws/test_target_endpoints.py checks that it agrees with each client's `meta.endpoint_url`."""
    from botocore.configprovider import ConfiguredEndpointProvider

    core = session._session  # the botocore session of this boto3 session
    if core.get_config_variable("ignore_configured_endpoint_urls"):
        return dict.fromkeys(services)
    full, scoped = core.full_config, core.get_scoped_config()
    return {
        name: _configured_endpoint(
            ConfiguredEndpointProvider(full_config=full, scoped_config=scoped, client_name=name).provide()
        )
        for name in services
    }


def _configured_endpoint(url: str | None) -> str | None:
    """Real AWS mode: a configured endpoint when it is not an AWS one (AWS_ENDPOINT_URL and friends may name
    a VPC or FIPS endpoint of AWS itself), else None."""
    from urllib.parse import urlsplit

    if not url:
        return None
    host = (urlsplit(url).hostname or "").lower()
    suffixes = {
        str(suffix).lower()
        for partition in _partitions()
        for key in ("dnsSuffix", "dualStackDnsSuffix")
        if (suffix := partition.get("outputs", {}).get(key))
    }
    if any(host.endswith("." + suffix) for suffix in suffixes):
        return None
    return url.rstrip("/")


def _no_clients(service: str, region: str) -> Any:
    raise AssertionError("reading a state file needs no clients")


def _check_reachable(url: str, host: str, port: int) -> None:
    """Fail in a second with a clear message, rather than after botocore's retries, when nothing listens."""
    import socket

    try:
        with socket.create_connection((host, port), timeout=ENDPOINT_CONNECT_TIMEOUT):
            pass
    except OSError as exc:
        raise TargetError(
            f"nothing answers at --endpoint-url {url} ({exc.strerror or exc})",
            hint=f"start the emulator with `personalize-gitops emulator serve --port {port}`, or fix the URL",
        ) from exc


def _display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _credentials_hint(mode: str) -> str:
    if mode == "endpoint":
        return "check that `personalize-gitops emulator serve` is running at that URL"
    if mode in ("local", "test"):
        return "this is a bug in the local emulator setup; please report it"
    return (
        "configure credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, SSO via "
        "`aws sso login`, or an instance/OIDC role), or use --local to try the tool without AWS"
    )
