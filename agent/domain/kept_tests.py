"""Each group's cell tests kept between the daemon's evaluations, and given again where nothing they
were computed from changed.

The daemon evaluates every poll interval, and the windows end on the last closed day: between two
evaluations of one day only the groups whose usage ingestion rewrote (a late booking of yesterday, a
re-read) see other figures. A group's tests (:func:`agent.domain.detect._test_group`) are a function
of its cells' daily units and dispensings, its total, the day classes and weekday profile of the
evaluation, the day it ends on, the day a rise under alert froze its baseline, and the rules. So
each group's tests are kept with a digest of all of that (BLAKE2b, 128 bits, over the figures as
doubles), and the next evaluation computes only the groups whose digest differs: after midnight,
or when the profile moved, every group; an hour later with nothing rewritten, none.

One object per daemon (``bootstrap``); ``vbp-agent evaluate --as-of`` and the reports compute
afresh. Groups no longer seen are dropped at each evaluation, so it holds one digest and one list
of tests per group.
"""

from __future__ import annotations

import hashlib
import threading
from array import array
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any


class KeptTests:
    """Per group: the digest of what its tests were computed from, and the tests."""

    def __init__(self) -> None:
        self._kept: dict[str, tuple[bytes, tuple[Any, ...]]] = {}  # the tests are frozen; a caller gets a new list
        self._lock = threading.Lock()
        self.computed = 0  # groups computed by the last evaluation
        self.reused = 0  # groups given their kept tests by the last evaluation

    def tests(self, group_id: str, digest: bytes, compute: Callable[[], list[Any]]) -> list[Any]:
        """The group's kept tests where ``digest`` is what they were computed from, else ``compute()``, kept."""
        with self._lock:
            kept = self._kept.get(group_id)
        if kept is not None and kept[0] == digest:
            self.reused += 1
            return list(kept[1])
        self.computed += 1
        tests = compute()
        with self._lock:
            self._kept[group_id] = (digest, tuple(tests))
        return tests

    def start(self) -> None:
        """A new evaluation: its counts start at zero."""
        self.computed = self.reused = 0

    def only(self, group_ids: Iterable[str]) -> None:
        """Drop the groups the evaluation did not see."""
        seen = set(group_ids)
        with self._lock:
            for gid in [g for g in self._kept if g not in seen]:
                del self._kept[gid]


def common_digest(classes: Sequence[int], profile: Sequence[float], start_ordinal: int, end_i: int, rules: object) -> bytes:
    """What every group of one evaluation shares: the day classes, the weekday profile, the first day
    and the last, and the rules (a frozen dataclass: its repr names every field)."""
    h = hashlib.blake2b(digest_size=16)
    h.update(array("q", [start_ordinal, end_i, len(classes)]).tobytes())
    h.update(array("q", classes).tobytes())
    h.update(array("d", profile).tobytes())
    h.update(repr(rules).encode("utf-8"))
    return h.digest()


def group_digest(common: bytes, frozen_at: int | None, members: Sequence[tuple[object, Sequence[float]]],
                 total: Sequence[float] | None, lines: Mapping[Any, Sequence[float]]) -> bytes:
    """One group's inputs: the evaluation's, where its baseline is frozen, each cell (its name, daily
    units and, where the source gives them, daily dispensings) and its total where it is tested."""
    h = hashlib.blake2b(common, digest_size=16)
    h.update(b"-" if frozen_at is None else array("q", [frozen_at]).tobytes())
    for cell, y in members:
        h.update(repr(cell).encode("utf-8"))
        h.update(array("q", [len(y)]).tobytes())
        h.update(array("d", y).tobytes())
        k = lines.get(cell)
        h.update(b"L" if k is not None else b"-")
        if k is not None:
            h.update(array("q", [len(k)]).tobytes())
            h.update(array("d", k).tobytes())
    if total is not None:
        h.update(b"T")
        h.update(array("d", total).tobytes())
    return h.digest()
