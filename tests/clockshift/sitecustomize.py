"""Moves the clock of every Python process the tests start, when ``--clock-shift-days`` asks for it.

``tests/conftest.py`` puts this folder on ``PYTHONPATH`` and sets ``VBP_TEST_CLOCK_SHIFT_DAYS``; Python
imports ``sitecustomize`` at start-up, so the agent and reference platform processes a test spawns run
on the same moved clock as the test itself (time-machine, ticking: only the date moves). libfaketime
would do this for any program, but Debian 12's build breaks ``time.sleep`` and timed waits under
Python 3.11 (wolfcw/libfaketime#426, #390).
"""

from __future__ import annotations

import os


def shift_clock(days: float) -> None:
    from datetime import UTC, datetime, timedelta

    import time_machine

    time_machine.travel(datetime.now(UTC) + timedelta(days=days), tick=True).start()


_days = os.environ.get("VBP_TEST_CLOCK_SHIFT_DAYS")
if _days:
    shift_clock(float(_days))
