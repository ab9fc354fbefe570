"""The C allocator's settings for a threaded server process (glibc only; a no-op elsewhere)."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)
M_ARENA_MAX = -8  # mallopt parameter, <malloc.h>


def limit_malloc_arenas(arenas: int = 2) -> bool:
    """Cap glibc's malloc arenas for the threads created from now on.

    glibc gives threads that allocate at the same time arenas of their own, up to 8 per core; under
    the request thread pool, SQLite's and Python's allocations spread over them and the memory freed
    in each stays with it (RELIABILITY.md, "Memory": RSS rose while Python's heap and glibc's
    in-use memory were flat). Returns whether the setting was applied.
    """
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        applied = bool(libc.mallopt(M_ARENA_MAX, arenas))
    except (OSError, AttributeError):
        applied = False
    log.debug("malloc arenas capped at %d: %s", arenas, applied)
    return applied
