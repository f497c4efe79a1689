"""Config of the ``routes`` and ``alerts`` sections (the receivers are ``agent.notify.config``)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

_HOURS = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _hours(v: Any) -> Any:
    if isinstance(v, str):
        if not _HOURS.match(v.strip()):
            raise ValueError(f"'{v}' is not a window like 22:00-07:00")
        a, b = v.strip().split("-")
        return (time.fromisoformat(a), time.fromisoformat(b))
    return v


class RouteConfig(_Strict):
    """Which alerts go to which receivers, and how often (分组等待, 分组间隔, 重复间隔)."""

    name: str = ""
    rules: list[str] = ["*"]
    min_severity: Literal["info", "warning", "critical"] = "info"
    programmes: list[str] = []
    departments: list[str] = []
    receivers: list[str] = Field(min_length=1)
    group_wait_s: float = Field(default=30, ge=0)
    group_interval_s: float = Field(default=300, ge=0)
    repeat_interval_s: float | None = Field(default=4 * 3600, ge=60)
    send_resolved: bool = True
    quiet_hours: tuple[time, time] | None = None
    escalate_to: list[str] = []
    escalate_after_s: float = Field(default=3600, ge=0)
    continue_matching: bool = Field(default=False, alias="continue")

    @field_validator("quiet_hours", mode="before")
    @classmethod
    def _quiet(cls, v: Any) -> Any:
        return _hours(v)


class AlertsConfig(_Strict):
    """The lifecycle's timers, flap damping and the morning digest (晨报)."""

    for_s: float = Field(default=0, ge=0, description="how long a finding holds before it fires")
    for_by_rule: dict[str, float] = {}
    flap_changes: int = Field(default=4, ge=2)
    flap_window_s: float = Field(default=3600, ge=60)
    digest_at: time | None = time(8, 30)
    digest_receivers: list[str] = []
    max_attempts: int = Field(default=50, ge=1)


@dataclass(frozen=True)
class AlertingSettings:
    """What the alert lifecycle and delivery read of the config: receivers, routes, timers, and the
    file they came from (for error messages). ``AgentConfig.alerting()`` builds it."""

    receivers: Mapping[str, Any]
    routes: Sequence[RouteConfig]
    alerts: AlertsConfig
    source_file: object = "<config>"


def check_references(receivers: Mapping[str, object], routes: list[RouteConfig], alerts: AlertsConfig) -> None:
    """Every receiver a route or the digest names exists (raises ValueError for the config loader)."""
    known = set(receivers)
    for i, r in enumerate(routes):
        for name in [*r.receivers, *r.escalate_to]:
            if name not in known:
                raise ValueError(f"routes[{i}] names receiver '{name}', which is not under [receivers]")
    for name in alerts.digest_receivers:
        if name not in known:
            raise ValueError(f"alerts.digest_receivers names receiver '{name}', which is not under [receivers]")
