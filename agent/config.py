"""One validated config object, loaded from a TOML file.

A bad value stops the agent with one line per problem: ``FILE: KEY: reason``. Secrets are never
required inline: a source's password comes from an environment variable or a file (for example a
systemd credential under ``$CREDENTIALS_DIRECTORY``).
"""

from __future__ import annotations

import re
import tomllib
from datetime import date, time
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from agent.alerts.config import AlertingSettings, AlertsConfig, RouteConfig, check_references
from agent.catalogue.config import CatalogueConfig
from agent.errors import ConfigError
from agent.logging import MASK, redact, redact_text
from agent.monitoring_config import MonitoringConfig
from agent.notify.config import RECEIVER_MODELS, ReceiverConfig
from agent.secrets import read_secret, resolve_credential_path  # noqa: F401 - re-exported
from agent.upstream.config import PlatformConfig

ENCODINGS = ("utf-8", "gbk", "gb18030")
_HOURS = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-(([01]\d|2[0-3]):[0-5]\d|24:00)$")
_INLINE_PASSWORD = re.compile(r"(^|[;{])\s*(PWD|PASSWORD)\s*=", re.I)
_ODBC_SPECIAL = re.compile(r"[;{}\x00-\x1f\x7f]")
_HOLDS_PASSWORD = "holds a password (a PWD or PASSWORD key): put it in password_env or password_file instead"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HoursWindow(BaseModel):
    """A daily window such as ``22:00-06:00`` (it may cross midnight)."""

    model_config = ConfigDict(frozen=True)
    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> HoursWindow:
        """``HH:MM-HH:MM``; ``24:00`` ends at midnight, so ``00:00-24:00`` (or any ``X-X``) is all day."""
        if not _HOURS.match(text.strip()):
            raise ValueError(f"'{text}' is not a window like 22:00-06:00 (00:00-24:00 for all day)")
        a, b = text.strip().split("-")
        return cls(start=time.fromisoformat(a), end=time(0, 0) if b == "24:00" else time.fromisoformat(b))

    def contains(self, t: time) -> bool:
        if self.start == self.end:  # all day
            return True
        if self.start < self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{'24:00' if self.end == self.start == time(0, 0) else format(self.end, '%H:%M')}"


class HospitalConfig(_Strict):
    code: str = Field(min_length=1, max_length=32, description="the bureau's 医疗机构代码")
    name: str = Field(min_length=1)
    timezone: str = "Asia/Shanghai"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone '{v}'") from exc
        return v

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class StateConfig(_Strict):
    directory: Path = Path("/var/lib/vbp-agent")
    url: str | None = Field(default=None, description="SQLAlchemy URL; default a SQLite file in directory")

    @field_validator("url")
    @classmethod
    def _supported_url(cls, v: str | None) -> str | None:
        if v in (None, ""):
            return None
        if not (v.startswith("sqlite:///") or v.startswith("postgresql+psycopg://")):
            raise ValueError("use sqlite:///PATH or postgresql+psycopg://USER@HOST/DB")
        parts = urlsplit(v)
        if parts.password is not None or "password" in {k.lower() for k, _ in parse_qsl(parts.query)}:
            raise ValueError("holds a password (take it out of the URL and give it to PostgreSQL through "
                             "a .pgpass file, PGPASSFILE, as for the psql client)")
        return v

    @property
    def effective_url(self) -> str:
        return self.url or f"sqlite:///{self.directory / 'state.db'}"


class CalendarConfig(_Strict):
    holidays: list[date] = []
    workdays: list[date] = []
    assume_weekends_for: list[int] = []


class SourceOptions(_Strict):
    """``[sources.options]``: per-source tuning; every key is known, a misspelt one is refused."""

    dialect: Literal["tsql", "oracle", "postgres", "mysql", "sqlite"] = Field(
        default="tsql", description="the SQL dialect custom queries are parsed in (sqlglot's name)")
    line_id_is_int: bool = True
    engine: Literal["postgresql", "mariadb", "sqlite", "mssql", "oracle"] | None = Field(
        default=None, description="the database engine, when the ODBC driver name does not tell")
    fetch_rows: int = Field(default=10_000, ge=1, le=1_000_000)
    retries: int = Field(default=3, ge=0, le=20)
    timezone: str | None = Field(default=None, description="the database's zone, when not the hospital's")
    by_prescriber: bool = False
    packed_usage: bool = Field(default=True, description="PostgreSQL: usage read packed by day (fewer ODBC rows, stored as text)")
    settle_lag_s: float = Field(default=120, ge=0, le=86400)
    receipt_lookback_h: float = Field(default=24, ge=0, le=24 * 31)
    page_size: int = Field(default=1000, ge=1, le=100_000)
    reconcile_days: int = Field(default=90, ge=1, le=3660)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                ZoneInfo(v)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"'{v}' is not a time zone name like Asia/Shanghai") from None
        return v


class SourceConfig(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$")
    kind: Literal["his", "prescription", "warehouse"]
    preset: str = Field(min_length=1)
    connection: str | None = Field(default=None, description="ODBC connection string without the password")
    dsn: str | None = None
    user: str | None = None
    password_env: str | None = None
    password_file: str | None = None
    login_timeout_s: int = Field(default=10, ge=1, le=300)
    query_timeout_s: int = Field(default=60, ge=1, le=3600)
    encoding: str = "utf-8"
    poll_interval_s: int = Field(default=300, ge=10, le=86400)
    lookback_days: int = Field(default=7, ge=0, le=90)
    backfill_window_days: int = Field(default=7, ge=1, le=92)
    backfill_pause_s: float = Field(default=2.0, ge=0, le=3600)
    off_peak_hours: HoursWindow | None = None
    pause_hours: list[HoursWindow] = []
    queries: dict[str, str] = {}
    options: SourceOptions = SourceOptions()

    @field_validator("encoding")
    @classmethod
    def _encoding(cls, v: str) -> str:
        v = v.lower().replace("_", "-")
        if v == "utf8":
            v = "utf-8"
        if v not in ENCODINGS:
            raise ValueError(f"'{v}' is not one of {', '.join(ENCODINGS)}")
        return v

    @field_validator("off_peak_hours", mode="before")
    @classmethod
    def _window(cls, v: Any) -> Any:
        return HoursWindow.parse(v) if isinstance(v, str) else v

    @field_validator("pause_hours", mode="before")
    @classmethod
    def _windows(cls, v: Any) -> Any:
        if isinstance(v, str):
            v = [v]
        return [HoursWindow.parse(x) if isinstance(x, str) else x for x in v]

    @field_validator("connection")
    @classmethod
    def _no_inline_password(cls, v: str | None) -> str | None:
        if v and _INLINE_PASSWORD.search(v):
            raise ValueError(_HOLDS_PASSWORD)
        return v

    @field_validator("user", "dsn")
    @classmethod
    def _one_odbc_value(cls, v: str | None) -> str | None:
        """``user`` and ``dsn`` are pasted into the ODBC connection string as ``UID=...``/``DSN=...``:
        a ';', '{' or '}' would start a key of its own (``bob;PWD=...``)."""
        if v is None:
            return v
        if _INLINE_PASSWORD.search(v):
            raise ValueError(_HOLDS_PASSWORD)
        bad = _ODBC_SPECIAL.search(v)
        if bad:
            raise ValueError(f"may not contain {bad.group(0)!r}: it would change the ODBC connection string")
        return v

    @model_validator(mode="after")
    def _where(self) -> SourceConfig:
        if not self.connection and not self.dsn:
            raise ValueError("give either connection (an ODBC connection string) or dsn")
        if self.password_env and self.password_file:
            raise ValueError("give password_env or password_file, not both")
        if self.preset == "custom" and not self.queries:
            raise ValueError("preset 'custom' needs [sources.queries] with its SELECT statements")
        return self

    def password(self) -> SecretStr | None:
        """The password from its environment variable or file; raises ConfigError when unreadable."""
        value = read_secret(f"source {self.name}", self.password_env, self.password_file)
        return None if value is None else SecretStr(value)

    def connection_string(self) -> str:
        """The ODBC connection string with user and password added (never log it)."""
        parts = [self.connection.rstrip(";")] if self.connection else [f"DSN={self.dsn}"]
        if self.user:
            parts.append(f"UID={self.user}")
        pw = self.password()
        if pw is not None:
            parts.append("PWD={" + pw.get_secret_value().replace("}", "}}") + "}")
        return ";".join(parts)


class LoggingConfig(_Strict):
    level: Literal["debug", "info", "warning", "error"] = "info"
    json_output: bool | None = Field(default=None, alias="json")


class HttpConfig(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=9464, ge=0, le=65535)


class ConsoleConfig(_Strict):
    """The pharmacy web console (药学部控制台, ``vbp-agent console``)."""

    with_daemon: bool = Field(default=False, description="`vbp-agent run` serves the console too")
    host: str = Field(default="127.0.0.1", description="bind address; put the hospital's reverse proxy in front for others")
    port: int = Field(default=8470, ge=0, le=65535)
    external_url: str | None = Field(default=None, description="the console's address as staff open it; chat messages link to it")
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    session_hours: float = Field(default=12, gt=0, le=24 * 30)
    login_attempts: int = Field(default=5, ge=1, le=100, description="failed logins per account and address in 15 minutes")

    @field_validator("external_url")
    @classmethod
    def _http_url(cls, v: str | None) -> str | None:
        if v is None:
            return None
        if not re.match(r"^https?://[^/\s]+", v):
            raise ValueError(f"'{v}' is not an http:// or https:// address, e.g. https://vbp.hospital.local")
        return v.rstrip("/")

    @model_validator(mode="after")
    def _tls_pair(self) -> ConsoleConfig:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("tls_cert_file and tls_key_file go together: give both, or neither")
        return self


class AgentConfig(_Strict):
    hospital: HospitalConfig
    state: StateConfig = StateConfig()
    calendar: CalendarConfig = CalendarConfig()
    logging: LoggingConfig = LoggingConfig()
    http: HttpConfig = HttpConfig()
    console: ConsoleConfig = ConsoleConfig()
    sources: list[SourceConfig] = []
    # Sections owned by their areas, each validated by its own model.
    receivers: dict[str, ReceiverConfig] = {}
    routes: list[RouteConfig] = []
    alerts: AlertsConfig = AlertsConfig()
    platform: PlatformConfig | None = None
    catalogue: CatalogueConfig = CatalogueConfig()
    monitoring: MonitoringConfig = MonitoringConfig()

    source_file: Path | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _routes_name_known_receivers(self) -> AgentConfig:
        check_references(self.receivers, self.routes, self.alerts)
        return self

    @field_validator("sources")
    @classmethod
    def _unique_sources(cls, sources: list[SourceConfig]) -> list[SourceConfig]:
        names = [s.name for s in sources]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"source names must be unique: {', '.join(dupes)} repeated")
        return sources

    def alerting(self) -> AlertingSettings:
        """The alert lifecycle's and delivery's part of the config."""
        return AlertingSettings(self.receivers, self.routes, self.alerts, self.source_file)

    def source(self, name: str) -> SourceConfig:
        for s in self.sources:
            if s.name == name:
                return s
        raise ConfigError(f"no source named '{name}' in {self.source_file}")


def _loc(loc: tuple[Any, ...]) -> str:
    if len(loc) > 2 and loc[0] == "receivers" and loc[2] in RECEIVER_MODELS:
        loc = loc[:2] + loc[3:]  # the model chosen by ``type`` is not a key of the file
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _message(err: dict[str, Any]) -> str:
    """The reason, with any secret in it or in the value it echoes masked (the key's name and the
    reason's own words are left alone, so "unknown key" stays readable under ``password``)."""
    msg = redact_text(err["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix):]
    if err["type"] == "extra_forbidden":
        return "unknown key (check the spelling against config/agent.example.toml)"
    if err["type"] == "missing":
        return "is required"
    value = err.get("input")
    if err["type"] not in ("missing",) and isinstance(value, (str, int, float)) and not isinstance(value, bool):
        last = str(err["loc"][-1]) if err["loc"] else ""
        shown = redact(value, last)
        return f"{msg} (got {(shown if shown == MASK else redact_text(repr(value)))})"
    return msg


def parse_config(data: dict[str, Any], source_file: Path | str = "<config>") -> AgentConfig:
    source_file = Path(source_file)
    try:
        cfg = AgentConfig.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = err["loc"]
            problems.append(f"{source_file}: {redact_text(_loc(loc))}: {_message(err)}")
        raise ConfigError(f"{source_file}: {len(problems)} problem(s)", problems) from None
    return cfg.model_copy(update={"source_file": source_file})


def load_config(path: Path | str) -> AgentConfig:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}): save it as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: TOML syntax: {exc}") from None
    return parse_config(data, path)


def masked(cfg: AgentConfig) -> dict[str, Any]:
    """The effective config as a dict, secrets masked, ready to print."""
    data = cfg.model_dump(mode="json", by_alias=True, exclude={"source_file"})
    data["state"]["url"] = cfg.state.effective_url
    return redact(data)
