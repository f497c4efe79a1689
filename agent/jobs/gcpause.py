"""The cyclic garbage collector held off while a job builds and drops a million short-lived
objects (an evaluation's series, cells and figures): reference counting frees them as they go,
and each automatic collection would walk everything the daemon holds, again and again (a
quarter of an evaluation's time at hospital scale, ``make bench-evaluate``). Collection
resumes when the last job holding it off ends; what became cyclic garbage meanwhile is
collected then."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_holders = 0
_was_enabled = False


@contextmanager
def collection_paused() -> Iterator[None]:
    """Hold off automatic collection for the block; jobs on other threads may hold it too (the
    collector resumes when the last leaves, and only if it was running when the first came)."""
    global _holders, _was_enabled
    with _lock:
        if _holders == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0 and _was_enabled:
                gc.enable()
