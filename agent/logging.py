"""structlog set up once: JSON lines to stdout (a readable console on a terminal), secrets redacted.

Redaction works three ways, so no single mistake leaks a secret:
1. values under a secret-looking key (password, secret, token, key, sign, ...) are masked;
2. ``key=``, ``access_token=``, ``sign=``, ``PWD=`` ... inside any string are masked;
3. every secret value the agent has loaded (``register_secret``) is masked wherever it appears.
Tracebacks are rendered without local variables.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from collections.abc import Mapping
from typing import Any

import structlog

MASK = "***"

_SECRET_KEY = re.compile(
    r"(pass(word|wd)?|pwd|secret|token|api[_-]?key|app[_-]?key|^key$|_key$|sign(ature)?$|credential|authorization|cookie)",
    re.I,
)
_SECRET_IN_TEXT = re.compile(
    r"(?P<name>\b(?:key|access_token|token|sign|signature|secret|app_secret|password|passwd|pwd|timestamp_sign)\s*[=:]\s*)"
    r"(?P<value>\"[^\"]*\"|'[^']*'|[^&\s;,'\"}]+)",
    re.I,
)
_SECRET_REF = re.compile(r"_(env|file)$", re.I)  # names where a secret lives, not secrets
_BEARER = re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]+", re.I)
_URL_USERINFO = re.compile(r"(://[^/:@\s]+:)[^@/\s]+(@)")

_known_secrets: set[str] = set()
_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Remember a secret value so it is masked wherever it shows up later."""
    if value and len(value) >= 4:
        with _lock:
            _known_secrets.add(value)


def redact_text(text: str) -> str:
    text = _SECRET_IN_TEXT.sub(lambda m: m.group("name") + MASK, text)
    text = _BEARER.sub(lambda m: m.group(1) + MASK, text)
    text = _URL_USERINFO.sub(lambda m: m.group(1) + MASK + m.group(2), text)
    with _lock:
        secrets = sorted(_known_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def redact(value: Any, key: str | None = None) -> Any:
    if key is not None and _SECRET_KEY.search(key) and not _SECRET_REF.search(key) and value not in (None, "", False):
        return MASK
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(redact(v) for v in value)
    if isinstance(value, BaseException):
        return redact_text(f"{type(value).__name__}: {value}")
    return value


def redaction_processor(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in event_dict.items():
        if k == "exception" and isinstance(v, (str, list)):
            out[k] = redact(v)
        elif k in ("event",):
            out[k] = redact(v)
        else:
            out[k] = redact(v, k)
    return out


def _processors(json: bool) -> list[Any]:
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=False),
    ]
    if json:
        tb = structlog.processors.ExceptionRenderer(
            structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
        )
        return [*shared, tb, redaction_processor, structlog.processors.JSONRenderer(ensure_ascii=False)]
    return [
        *shared,
        structlog.processors.format_exc_info,
        redaction_processor,
        structlog.dev.ConsoleRenderer(colors=sys.stdout.isatty(), exception_formatter=structlog.dev.plain_traceback),
    ]


def configure(level: str = "info", json: bool | None = None, stream: Any = None) -> None:
    """Configure structlog and the stdlib loggers of our libraries. Safe to call again."""
    stream = stream or sys.stdout
    if json is None:
        json = not stream.isatty()
    structlog.configure(
        processors=_processors(json),
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(stream),
        cache_logger_on_first_use=False,
    )
    # httpx/httpcore log full request URLs (robot keys, tokens) at DEBUG/INFO: keep them quiet.
    for name in ("httpx", "httpcore", "apscheduler", "urllib3"):
        logging.getLogger(name).setLevel(logging.WARNING)


def get_logger(name: str | None = None, **bound: Any) -> Any:
    log = structlog.get_logger(name) if name else structlog.get_logger()
    return log.bind(**bound) if bound else log
