"""Peak resident memory of the current process image, for the benchmarks' child processes."""

from __future__ import annotations

import resource
from pathlib import Path


def peak_rss_kb() -> int:
    """VmHWM: this process image's own high-water mark in KiB. (`ru_maxrss` is not reset by execve on Linux:
    a child started from a big benchmark process would report its parent's size and hide its own.)"""
    try:
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
