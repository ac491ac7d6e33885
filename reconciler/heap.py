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
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

#: Young-generation threshold while reading (CPython's default is 700).
READ_THRESHOLD = 20_000


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
