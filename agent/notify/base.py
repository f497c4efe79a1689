"""What every sender shares: the error that says whether retrying helps and whether the refusal is
about one message or the whole robot, a token bucket per receiver, and one careful HTTP POST that
never puts the URL (it holds the robot key) in an error."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from agent.clock import Clock
from agent.errors import NotifyError
from agent.logging import redact_text

TRANSIENT, MESSAGE, ROBOT = "transient", "message", "robot"


class SendFailed(NotifyError):
    """A refused or failed message. ``retry_after_s`` is the vendor's wait; ``code`` its error code.

    ``scope`` says what the refusal is about: ``transient`` (retry later), ``message`` (this one
    message is refused, e.g. too long or a bad field: set it aside, the queue goes on) or ``robot``
    (bad key, signature, keyword, IP, the robot removed: stop the receiver until a person fixes it).
    """

    def __init__(self, message: str, *, transient: bool, code: str | None = None, retry_after_s: float | None = None,
                 message_level: bool = False) -> None:
        super().__init__(redact_text(message), transient=transient)
        self.code = code
        self.retry_after_s = retry_after_s
        self.scope = TRANSIENT if transient else (MESSAGE if message_level else ROBOT)


class TokenBucket:
    """Keeps a receiver under its vendor's per-minute limit; ``take`` never sleeps."""

    def __init__(self, clock: Clock, per_minute: float, burst: float | None = None) -> None:
        self.clock = clock
        self.rate_s = per_minute * 0.8 / 60.0  # a margin under the vendor's own count
        self.capacity = burst if burst is not None else max(1.0, min(per_minute * 0.15, 5.0))
        self.tokens = self.capacity
        self.at: datetime = clock.now()

    def take(self) -> bool:
        now = self.clock.now()
        self.tokens = min(self.capacity, self.tokens + (now - self.at).total_seconds() * self.rate_s)
        self.at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False

    def wait_s(self) -> float:
        return max(0.0, (1.0 - self.tokens) / self.rate_s)


def body_bytes(body: dict[str, Any]) -> bytes:
    """The bytes ``post_json`` sends for ``body`` (what the vendors' size limits count)."""
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def post_json(
    client: httpx.Client, vendor: str, url: str, body: dict[str, Any], timeout_s: float, headers: dict[str, str] | None = None,
    code_keys: tuple[str, ...] = (),
) -> dict[str, Any]:
    """POST ``body``; the vendor's JSON answer, or SendFailed (transient for network, 429 and 5xx).

    A 4xx answer whose JSON carries one of ``code_keys`` is returned like a 200, so the sender reads
    the vendor's own code (Feishu answers HTTP 400 with ``{"code": 9499, ...}``); any other 4xx stops
    the receiver."""
    raw = body_bytes(body)
    hdrs = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
    try:
        resp = client.post(url, content=raw, headers=hdrs, timeout=timeout_s)
    except httpx.TimeoutException:
        raise SendFailed(f"{vendor}: no answer within {timeout_s:g}s", transient=True) from None
    except httpx.HTTPError as exc:
        raise SendFailed(f"{vendor}: cannot connect ({type(exc).__name__})", transient=True) from None
    if resp.status_code == 429 or resp.status_code >= 500:
        raise SendFailed(
            f"{vendor}: HTTP {resp.status_code}", transient=True, code=str(resp.status_code),
            retry_after_s=_retry_after(resp.headers.get("Retry-After")),
        )
    try:
        answer = resp.json()
    except ValueError:
        answer = {"http_status": resp.status_code, "text": resp.text[:200]}
    if not isinstance(answer, dict):
        answer = {"answer": answer}
    if resp.status_code >= 400:
        if any(k in answer for k in code_keys):
            return {**answer, "http_status": resp.status_code}
        raise SendFailed(f"{vendor}: HTTP {resp.status_code} {resp.text[:200]}", transient=False, code=str(resp.status_code))
    return answer


def _retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


@dataclass(frozen=True)
class VendorCodes:
    """A vendor's error codes by what they are about; a code in none of them is retried with backoff."""

    robot: frozenset[int]  # stop the receiver: key, signature, keyword, IP, robot gone
    message: frozenset[int]  # set this one message aside, the queue goes on
    rate_limited: dict[int, float]  # wait this many seconds, then resume

    def scope(self, code: Any) -> str:
        n = _int(code)
        return ROBOT if n in self.robot else MESSAGE if n in self.message else TRANSIENT


def _int(code: Any) -> int:
    try:
        return int(code)
    except (TypeError, ValueError):
        return -1


def classify(vendor: str, code: Any, message: str, codes: VendorCodes) -> SendFailed:
    """The error for a vendor's nonzero code: rate limits retry after their wait, robot-level codes
    stop the receiver, message-level codes set one message aside, anything else is retried."""
    n = _int(code)
    text = f"{vendor} error {code}: {message}"
    if n in codes.rate_limited:
        return SendFailed(text, transient=True, code=str(code), retry_after_s=codes.rate_limited[n])
    scope = codes.scope(n)
    return SendFailed(text, transient=scope == TRANSIENT, code=str(code), message_level=scope == MESSAGE)


def too_long(vendor: str, size: int, limit: int, code: int) -> SendFailed:
    """A body the vendor would refuse for its size (with ``code``), refused here without sending it."""
    return SendFailed(f"{vendor} error {code} (not sent): {size} bytes exceed the limit of {limit}", transient=False,
                      code=str(code), message_level=True)


class HttpSender:
    """Base of the HTTP senders: a client, the receiver's name and config."""

    type = ""
    default_rate_per_minute = 20.0

    def __init__(self, name: str, cfg: Any, clock: Clock, client: httpx.Client | None = None) -> None:
        self.name = name
        self.cfg = cfg
        self.clock = clock
        self.client = client or httpx.Client(follow_redirects=False)
        self.bucket = TokenBucket(clock, cfg.rate_per_minute or self.default_rate_per_minute)

    def close(self) -> None:
        self.client.close()
