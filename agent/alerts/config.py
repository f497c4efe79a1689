"""Config of the ``receivers``, ``routes`` and ``alerts`` sections.

Secrets (robot keys, signing secrets, webhook URLs, SMTP passwords) never sit in the file: each
comes from ``*_env`` (an environment variable) or ``*_file`` (a file, or a systemd credential),
and is registered with the log redactor as soon as it is read.
"""

from __future__ import annotations

import re
from datetime import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from agent.secrets import read_secret

_HOURS = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$")
RECEIVER_TYPES = ("wecom", "dingtalk", "feishu", "email", "webhook")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _hours(v: Any) -> Any:
    if isinstance(v, str):
        if not _HOURS.match(v.strip()):
            raise ValueError(f"'{v}' is not a window like 22:00-07:00")
        a, b = v.strip().split("-")
        return (time.fromisoformat(a), time.fromisoformat(b))
    return v


class ReceiverConfig(_Strict):
    """One place messages go: a group robot, a mailbox, a webhook."""

    type: Literal["wecom", "dingtalk", "feishu", "email", "webhook"]
    # robots: the key / access_token / hook id; webhook: the whole URL when it is secret
    key_env: str | None = None
    key_file: str | None = None
    secret_env: str | None = Field(default=None, description="DingTalk/Feishu signing secret, webhook HMAC key")
    secret_file: str | None = None
    api_base: str | None = Field(default=None, description="vendor base URL; only for a proxy or a test sink")
    url: str | None = Field(default=None, description="webhook URL when it holds no secret")
    format: Literal["text", "markdown", "card"] = "markdown"
    mentioned_mobiles: list[str] = []
    rate_per_minute: float | None = Field(default=None, gt=0)
    timeout_s: float = Field(default=10.0, gt=0, le=120)
    # email
    smtp_host: str | None = None
    smtp_port: int | None = Field(default=None, ge=1, le=65535)
    smtp_security: Literal["starttls", "ssl", "none"] = "starttls"
    smtp_user: str | None = None
    password_env: str | None = None
    password_file: str | None = None
    ca_file: str | None = None
    mail_from: str | None = None
    to: list[str] = []

    @model_validator(mode="after")
    def _complete(self) -> ReceiverConfig:
        if self.type == "email":
            if not self.smtp_host or not self.mail_from or not self.to:
                raise ValueError("an email receiver needs smtp_host, mail_from and to")
        elif self.type == "webhook":
            if not (self.url or self.key_env or self.key_file):
                raise ValueError("a webhook needs url, or key_env/key_file holding the URL")
        elif not (self.key_env or self.key_file):
            raise ValueError(f"a {self.type} robot needs key_env or key_file (its key, never inline)")
        for a, b in (("key_env", "key_file"), ("secret_env", "secret_file"), ("password_env", "password_file")):
            if getattr(self, a) and getattr(self, b):
                raise ValueError(f"give {a} or {b}, not both")
        return self

    def key(self, name: str) -> str | None:
        return read_secret(f"receiver {name}", self.key_env, self.key_file)

    def secret(self, name: str) -> str | None:
        return read_secret(f"receiver {name}", self.secret_env, self.secret_file)

    def password(self, name: str) -> str | None:
        return read_secret(f"receiver {name}", self.password_env, self.password_file)


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


def check_references(receivers: dict[str, ReceiverConfig], routes: list[RouteConfig], alerts: AlertsConfig) -> None:
    """Every receiver a route or the digest names exists (raises ValueError for the config loader)."""
    known = set(receivers)
    for i, r in enumerate(routes):
        for name in [*r.receivers, *r.escalate_to]:
            if name not in known:
                raise ValueError(f"routes[{i}] names receiver '{name}', which is not under [receivers]")
    for name in alerts.digest_receivers:
        if name not in known:
            raise ValueError(f"alerts.digest_receivers names receiver '{name}', which is not under [receivers]")
