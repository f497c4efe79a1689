"""The ``[receivers.NAME]`` sections: one model per receiver ``type``, chosen by that key.

A key that does not belong to the type is refused (``extra="forbid"``): an ``smtp_host`` on a WeCom
robot, or a ``secret_env`` on a WeCom robot (it has no signing), is a typo, not a setting. Secrets
(robot keys, signing secrets, secret webhook URLs, SMTP passwords) never sit in the file: each comes
from ``*_env`` (an environment variable) or ``*_file`` (a file, or a systemd credential), and is
registered with the log redactor as soon as it is read.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from agent.secrets import read_secret


class _Receiver(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    rate_per_minute: float | None = Field(default=None, gt=0)
    timeout_s: float = Field(default=10.0, gt=0, le=120)

    @model_validator(mode="after")
    def _one_source_per_secret(self) -> Any:
        for a, b in (("key_env", "key_file"), ("secret_env", "secret_file"), ("password_env", "password_file")):
            if getattr(self, a, None) and getattr(self, b, None):
                raise ValueError(f"give {a} or {b}, not both")
        return self


class _Robot(_Receiver):
    """A group robot: its key (access_token, hook id) from the environment or a file, never inline."""

    key_env: str | None = None
    key_file: str | None = None
    api_base: str | None = Field(default=None, description="vendor base URL; only for a proxy or a test sink")
    format: Literal["text", "markdown", "card"] = "markdown"
    mentioned_mobiles: list[str] = []

    @model_validator(mode="after")
    def _has_key(self) -> Any:
        if not (self.key_env or self.key_file):
            raise ValueError(f"a {self.type} robot needs key_env or key_file (its key, never inline)")  # type: ignore[attr-defined]
        return self

    def key(self, name: str) -> str | None:
        return read_secret(f"receiver {name}", self.key_env, self.key_file)


class _Signed(_Robot):
    """A robot whose messages may be signed (加签): DingTalk and Feishu."""

    secret_env: str | None = Field(default=None, description="the signing secret")
    secret_file: str | None = None

    def secret(self, name: str) -> str | None:
        return read_secret(f"receiver {name}", self.secret_env, self.secret_file)


class WeComReceiver(_Robot):
    type: Literal["wecom"]


class DingTalkReceiver(_Signed):
    type: Literal["dingtalk"]


class FeishuReceiver(_Signed):
    """A Feishu custom bot @s people by open_id (``ou_…``), or everyone with ``"all"``; never by mobile."""

    type: Literal["feishu"]
    mentioned_open_ids: list[str] = Field(default=[], description='open_ids (ou_…) or "all", @-ed on critical alerts')

    @model_validator(mode="after")
    def _no_mobiles(self) -> FeishuReceiver:
        if self.mentioned_mobiles:
            raise ValueError('a Feishu robot cannot @ by mobile number: use mentioned_open_ids (open_ids like "ou_…", or "all")')
        return self


class WebhookReceiver(_Receiver):
    """A plain JSON webhook; its URL from ``url``, or from ``key_env``/``key_file`` when it holds a secret."""

    type: Literal["webhook"]
    url: str | None = None
    key_env: str | None = None
    key_file: str | None = None
    secret_env: str | None = Field(default=None, description="HMAC key for the X-Signature header")
    secret_file: str | None = None

    @model_validator(mode="after")
    def _has_url(self) -> WebhookReceiver:
        if not (self.url or self.key_env or self.key_file):
            raise ValueError("a webhook needs url, or key_env/key_file holding the URL")
        return self

    def key(self, name: str) -> str | None:
        return read_secret(f"receiver {name}", self.key_env, self.key_file)

    def secret(self, name: str) -> str | None:
        return read_secret(f"receiver {name}", self.secret_env, self.secret_file)


class EmailReceiver(_Receiver):
    type: Literal["email"]
    smtp_host: str
    smtp_port: int | None = Field(default=None, ge=1, le=65535)
    smtp_security: Literal["starttls", "ssl", "none"] = "starttls"
    smtp_user: str | None = None
    password_env: str | None = None
    password_file: str | None = None
    ca_file: str | None = None
    mail_from: str
    to: list[str] = Field(min_length=1)

    def password(self, name: str) -> str | None:
        return read_secret(f"receiver {name}", self.password_env, self.password_file)


ReceiverConfig = Annotated[
    WeComReceiver | DingTalkReceiver | FeishuReceiver | WebhookReceiver | EmailReceiver,
    Field(discriminator="type"),
]
RECEIVER_MODELS: dict[str, type[_Receiver]] = {
    get_args(m.model_fields["type"].annotation)[0]: m for m in get_args(get_args(ReceiverConfig)[0])
}
_ADAPTER: TypeAdapter[Any] = TypeAdapter(ReceiverConfig)


def parse_receiver(data: dict[str, Any]) -> Any:
    """One receiver section as its typed model (raises pydantic's ValidationError)."""
    return _ADAPTER.validate_python(data)
