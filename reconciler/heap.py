"""Garbage-collector settings for a command's two big phases: loading the manifests and reading the account.

CPython's cyclic collector runs after every 700 net new container objects and, every so often, walks the
whole heap. A command that loads 5,000 resources and then reads 10,000 API responses pays for it twice
(issue 15):

* loading builds the desired state, which lives until the command ends: full collections while it grows
  walk it again and again (at 5,000 resources a third of the load's CPU; it is why the load cost more than
  5x at 5x the resources). Nothing collectable is built there (the YAML trees are acyclic and dropped by
  reference counting), so the collector is paused (``building``);
* reading answers thousands of calls on 16 threads: a collection holds the GIL and stops every thread,
  walking the loaded manifests each time. ``reading`` freezes what exists then (the manifests, the
  imported modules: never walked again) and collects the young generation every 20,000 objects instead of
  700; every response that is dropped is still freed at once by reference counting.

Both restore the collector's state when they end (tests run many commands in one process).

Before either, a `personalize-gitops` process starts by importing typer, pydantic, botocore and the
command's modules: about 90,000 objects (classes, functions, constants), none of them garbage, walked by
dozens of collections (8-12 % of the start-up's CPU). The console entry (`cli.entry`) pauses the collector
(`pause`); each command's callback resumes it first thing (`resume`: the start-up's objects are frozen, then
collections run as usual), so no command runs long without one.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

#: Young-generation threshold while reading (CPython's default is 700).
READ_THRESHOLD = 20_000

_F = TypeVar("_F", bound=Callable[..., Any])
_paused_at_start = False


def pause() -> None:
    """Process start: no cyclic collection until `resume` (nothing a start-up builds is garbage)."""
    global _paused_at_start
    if gc.isenabled():
        gc.disable()
        _paused_at_start = True


def resume() -> None:
    """End the start-up pause, if `pause` made one: freeze what exists (never walked again), collect again."""
    global _paused_at_start
    if _paused_at_start:
        _paused_at_start = False
        gc.freeze()
        gc.enable()


def resuming(function: _F) -> _F:
    """`function`, resuming the collector (`resume`) before it runs: a command callback."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        resume()
        return function(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


@contextmanager
def building() -> Iterator[None]:
    """No cyclic collection while a long-lived structure is built."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@contextmanager
def reading(threshold: int = READ_THRESHOLD) -> Iterator[None]:
    """Freeze what exists now and collect rarely until the block ends (then unfreeze, old threshold)."""
    previous = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(max(threshold, previous[0]), *previous[1:])
    try:
        yield
    finally:
        gc.set_threshold(*previous)
        gc.unfreeze()
