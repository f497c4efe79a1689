"""The soak run (``make soak``): the daemon's jobs against PostgreSQL on a paced simulated clock.

The short run is part of the normal suite (about 1 simulated hour at 1000x); the full default run
(24 simulated hours at 100x, about 15 minutes) is marked ``soak``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KEYS = ["hours", "rss_start_mb", "rss_end_mb", "fds_start", "fds_end", "lost", "duplicated", "failing"]


def run_soak(timeout_s: float, **env: str) -> tuple[dict, str]:
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "soak.py")], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout_s, env={**os.environ, **env})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1]), proc.stderr


def checked(stderr: str) -> tuple[int, int]:
    """(receipts due for confirmation, usage days compared) from the run's summary line."""
    m = re.search(r"receipts due (\d+), confirmed \d+; usage days checked (\d+)", stderr)
    assert m, stderr[-2000:]
    return int(m.group(1)), int(m.group(2))


@pytest.mark.postgres
def test_a_simulated_hour_loses_and_duplicates_nothing_and_ends_with_the_json_line(services: None) -> None:
    result, stderr = run_soak(120, SOAK_HOURS="1", SOAK_SPEED="1000")
    assert list(result) == KEYS
    assert result["hours"] == 1
    receipts_due, days = checked(stderr)
    assert receipts_due > 0 and days == 7  # the checks had something to check
    assert result["lost"] == 0
    assert result["duplicated"] == 0
    assert result["failing"] == 0, stderr[-2000:]  # every job healthy at the end: a source the config names exists
    assert result["fds_start"] > 0 and result["rss_start_mb"] > 0


@pytest.mark.soak
@pytest.mark.timeout(3600)
def test_a_simulated_day_at_100x_keeps_memory_and_descriptors_flat_and_loses_nothing(services: None) -> None:
    result, stderr = run_soak(3000)
    assert result["hours"] == 24
    assert checked(stderr)[0] > 0
    assert result["rss_end_mb"] - result["rss_start_mb"] < 10
    assert result["fds_end"] <= result["fds_start"]
    assert result["lost"] == 0
    assert result["duplicated"] == 0
    assert result["failing"] == 0, stderr[-2000:]
