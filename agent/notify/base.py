"""What every sender shares: the error that says whether retrying helps, a token bucket per
receiver, and one careful HTTP POST that never puts the URL (it holds the robot key) in an error."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import httpx

from agent.clock import Clock
from agent.errors import NotifyError
from agent.logging import redact_text


class SendFailed(NotifyError):
    """A refused or failed message. ``retry_after_s`` is the vendor's wait; ``code`` its error code."""

    def __init__(self, message: str, *, transient: bool, code: str | None = None, retry_after_s: float | None = None) -> None:
        super().__init__(redact_text(message), transient=transient)
        self.code = code
        self.retry_after_s = retry_after_s


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


def post_json(
    client: httpx.Client, vendor: str, url: str, body: dict[str, Any], timeout_s: float, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """POST ``body``; the vendor's JSON answer, or SendFailed (transient for network, 429 and 5xx)."""
    raw = json.dumps(body, ensure_ascii=False).encode("utf-8")
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
    if resp.status_code >= 400:
        raise SendFailed(f"{vendor}: HTTP {resp.status_code} {resp.text[:200]}", transient=False, code=str(resp.status_code))
    try:
        answer = resp.json()
    except ValueError:
        answer = {"http_status": resp.status_code, "text": resp.text[:200]}
    return answer if isinstance(answer, dict) else {"answer": answer}


def _retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def classify(vendor: str, code: Any, message: str, permanent: set[int], rate_limited: dict[int, float]) -> SendFailed:
    """The error for a vendor's nonzero code: rate limits retry after their wait, known bad codes
    stop the receiver, anything else is retried with backoff."""
    try:
        n = int(code)
    except (TypeError, ValueError):
        n = -1
    text = f"{vendor} error {code}: {message}"
    if n in rate_limited:
        return SendFailed(text, transient=True, code=str(code), retry_after_s=rate_limited[n])
    return SendFailed(text, transient=n not in permanent, code=str(code))


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

    def mentions(self, msg: dict[str, Any]) -> list[str]:
        return list(self.cfg.mentioned_mobiles) if msg.get("severity") == "critical" else []

    def close(self) -> None:
        self.client.close()
