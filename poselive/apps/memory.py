"""Process memory settings for long runs of the apps (glibc only; elsewhere nothing)."""

from __future__ import annotations

import ctypes
import ctypes.util

M_ARENA_MAX = -8  # mallopt() parameter number in glibc's malloc.h

_done = False


def limit_malloc_arenas(arenas: int = 2) -> bool:
    """Cap glibc's malloc arenas (what ``MALLOC_ARENA_MAX=2`` does), before the graph's
    threads start.

    By default glibc gives each thread that allocates its own arena, up to 8 per core;
    the graph's threads allocate and free frame-sized buffers of varying sizes, and the
    resident memory of a live run then kept creeping up for half an hour (+6 % after a
    5-minute warm-up in a 30-minute soak); with two arenas it stayed flat (-0.03 % against
    +3.0 % in two 12-minute soaks side by side, same frames processed; docs/reliability.md).
    Returns whether the setting was applied."""
    global _done
    if _done:
        return True
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to tune
        return False
    _done = bool(mallopt(M_ARENA_MAX, int(arenas)))
    return _done
