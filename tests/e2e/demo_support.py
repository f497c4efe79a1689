"""What the session's demo run (``demo_run`` in tests/e2e/conftest.py) hands its tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DemoRun:
    workdir: Path
    stdout: str
    stderr: str
    returncode: int
    reports: list[str]  # the monthly reports the daemon's job wrote, as the demo left them
