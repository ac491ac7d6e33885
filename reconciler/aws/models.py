"""One botocore data loader for the whole process (botocore's JSON data: service models, endpoint rules).

`validate` checks the create requests against botocore's Personalize model, and a command then makes its
boto3 clients from the same files. botocore gives every session a loader of its own, and a loader answers
"does this service exist?" (asked before every model it loads) by listing the whole data directory: about
900 directory reads, ~12 ms here, once per kind of file (service model, endpoint rules). So a `plan` read
the Personalize model twice and listed the directory three times before its first API call (issue 15).

`data_loader()` is one shared loader: each file is read and parsed once per process, and the existence check
reads only the asked service's directory (the full listing is made only if something iterates it, such as
botocore's "unknown service" message). boto3 adds its own data directory to a session's loader every time a
session is made; the shared loader keeps each search path once.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, overload

_LOCK = threading.Lock()
_KNOWN_LOCK = threading.Lock()
_LOADER: Any = None


class _SearchPaths(list[str]):
    """A loader's search paths; appending a path it already has does nothing."""

    def append(self, path: str) -> None:
        if path not in self:
            super().append(path)

    def extend(self, paths: Iterable[str]) -> None:
        for path in paths:
            self.append(path)


class _KnownServices(Sequence[str]):
    """The services that have a `type_name` file (what `Loader.list_available_services` returns), listed
    only when iterated: `name in known` reads that service's directory alone."""

    def __init__(self, loader: Any, type_name: str) -> None:
        self._loader = loader
        self._type_name = type_name
        self._names: list[str] | None = None

    def _has(self, service_dir: str) -> bool:
        try:
            versions = os.listdir(service_dir)
        except OSError:
            return False
        exists = self._loader.file_loader.exists
        return any(exists(os.path.join(service_dir, version, self._type_name)) for version in versions)

    def _roots(self) -> list[str]:
        return [path for path in self._loader.search_paths if os.path.isdir(path)]

    def __contains__(self, name: object) -> bool:
        if self._names is not None:
            return name in self._names
        if not isinstance(name, str) or not name or os.sep in name or name.startswith("."):
            return False
        return any(self._has(os.path.join(root, name)) for root in self._roots())

    def _all(self) -> list[str]:
        if self._names is None:
            found = {
                entry
                for root in self._roots()
                for entry in os.listdir(root)
                if os.path.isdir(os.path.join(root, entry)) and self._has(os.path.join(root, entry))
            }
            self._names = sorted(found)
        return self._names

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...

    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        return self._all()[index]


def _data_path() -> str | None:
    """Extra data directories botocore reads from the environment (`AWS_DATA_PATH`)."""
    return os.environ.get("AWS_DATA_PATH") or None


def _make_loader() -> Any:
    from botocore.loaders import Loader

    extra = _data_path()

    class SharedLoader(Loader):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__(extra_search_paths=extra.split(os.pathsep) if extra else None)
            paths: list[str] = list(self.search_paths)
            self._search_paths = _SearchPaths(paths)
            self._known: dict[str, _KnownServices] = {}

        def list_available_services(self, type_name: str) -> Sequence[str]:
            with _KNOWN_LOCK:
                if type_name not in self._known:
                    self._known[type_name] = _KnownServices(self, type_name)
                return self._known[type_name]

    return SharedLoader()


def data_loader() -> Any:
    """The process's botocore data loader (made on first use)."""
    global _LOADER
    with _LOCK:
        if _LOADER is None:
            _LOADER = _make_loader()
        return _LOADER


def botocore_session(profile: str | None = None, *, isolated: bool = False) -> Any:
    """A new botocore session (on `profile`, when given) that loads its data through `data_loader()`, for
    `boto3.session.Session(botocore_session=...)`; with a loader of its own when the profile's `data_path`
    names other directories. Reading the profile here raises botocore's `ProfileNotFound` for an unknown
    profile, as making the boto3 session would. `isolated` (`--local`): no profile (not even AWS_PROFILE)
    and no AWS config or credentials file is read."""
    import botocore.session

    if isolated:
        session = botocore.session.Session(
            session_vars={
                "profile": (None, None, None, None),
                "config_file": (None, None, os.devnull, None),
                "credentials_file": (None, None, os.devnull, None),
            }
        )
    else:
        session = botocore.session.get_session()
    if profile is not None:
        session.set_config_variable("profile", profile)
    if (session.get_config_variable("data_path") or None) == _data_path():
        session.register_component("data_loader", data_loader())
    session.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=parse_timestamp)
    return session


def parse_timestamp(value: Any) -> Any:
    """botocore's timestamp parser for every client of a session made here: an epoch number (what the JSON
    protocols send, Personalize included) becomes an aware UTC datetime directly; anything else (ISO 8601,
    RFC 822: S3, IAM) goes to botocore's own parser. botocore's default builds a `dateutil` local time zone
    for each value, about 6 % of a describe call's client CPU, and every reader here turns the datetime
    into epoch seconds anyway (the instant is the same; only the zone attached differs)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            pass
    from botocore.utils import parse_timestamp as botocore_parse

    return botocore_parse(value)
