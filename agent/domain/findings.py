"""A finding: something the monitoring rules saw that a person may need to act on."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return {"info": 0, "warning": 1, "critical": 2}[self.value]


@dataclass(frozen=True)
class Finding:
    """``rule`` + ``subject`` is the alert key; ``values`` and ``evidence`` explain it.

    ``labels`` carry routing facts (programme, department, kind); ``title`` is a short Chinese
    sentence for staff.
    """

    rule: str
    subject: str
    severity: Severity
    title: str
    observed_at: datetime
    values: dict[str, Any] = field(default_factory=dict)
    evidence: dict[str, Any] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.rule}:{self.subject}"
