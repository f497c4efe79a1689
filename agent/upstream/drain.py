"""Draining the platform outbox: confirmations (到货确认) and report uploads, oldest first.

Each message is signed when sent (by the client), with the idempotency key it was queued with,
so a message sent again after a crash is answered with the platform's first answer and never
applied twice. Each outcome is committed before the next message is sent, so a kill -9
repeats at most the one message in flight (``sh_soap`` has no idempotency key: that one is a real
second request, answered "already final"). A link-level failure (network, 5xx, timeout,
rate limit, maintenance page) holds the *whole* queue with backoff and jitter, honouring
Retry-After up to a cap, so the backlog keeps its order; a short Retry-After is waited out in
place. A permanent rejection of one message is quarantined with the platform's own words and
raises a critical finding. The link logs once when it goes down and once when it comes back.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from agent.clock import Clock
from agent.domain.findings import Finding, Severity
from agent.logging import get_logger
from agent.store import Store, Tx, outbox
from agent.store import platform as repo
from agent.store.findings import resolve_finding, write_findings
from agent.upstream.client import PlatformCallError, PlatformClient
from agent.upstream.profiles import Answer

log = get_logger("agent.upstream.drain")
RULE_REJECTED = "platform.confirm_rejected"
RULE_LINK = "platform.link_refused"
CHANNEL_CONFIRM, CHANNEL_REPORT = "platform:confirm", "platform:report"
MAX_INLINE_WAITS = 3


@dataclass
class DrainResult:
    sent: int = 0
    quarantined: int = 0
    held_until: datetime | None = None
    latencies_s: list[float] = field(default_factory=list)


@dataclass
class _Outcome:
    item: outbox.OutboxItem
    answer: Answer


class Drainer:
    def __init__(self, store: Store, client: PlatformClient, clock: Clock, *, batch: int = 50,
                 retry_after_cap_s: float = 3600.0, inline_wait_cap_s: float = 5.0,
                 sleep: Callable[[float], None] = time.sleep, rng: random.Random | None = None) -> None:
        self.store, self.client, self.clock = store, client, clock
        self.batch, self.cap, self.inline_cap = batch, retry_after_cap_s, inline_wait_cap_s
        self._sleep, self._rng = sleep, rng or random.Random()

    def drain(self, max_items: int | None = None) -> DrainResult:
        """Send what is due until the queue is empty, the link fails, or ``max_items`` were sent."""
        result = DrainResult()
        hospital = self.store.hospital_code
        with self.store.read() as conn:
            link = repo.link_state(conn, hospital)
        if link is not None and link.hold_until is not None and link.hold_until > self.clock.now():
            result.held_until = link.hold_until
            return result
        while max_items is None or result.sent + result.quarantined < max_items:
            limit = self.batch if max_items is None else min(self.batch, max_items - result.sent - result.quarantined)
            with self.store.read() as conn:
                items = self._due(conn, limit)
            if not items:
                break
            failure: PlatformCallError | None = None
            for item in items:  # each answer is committed before the next send: a crash repeats at most one
                try:
                    answer = self._send_waiting(item, result)
                except PlatformCallError as exc:
                    failure = exc
                    break
                with self.store.begin() as conn:
                    self._record(conn, [_Outcome(item, answer)], result)
                    if link is not None and link.state != "up":
                        self._link_up(conn, link)
                        link = repo.link_state(conn, hospital)
            if failure is not None:
                with self.store.begin() as conn:
                    result.held_until = self._link_down(conn, link, failure)
                break
        return result

    def _due(self, conn: Tx, limit: int) -> list[outbox.OutboxItem]:
        """Confirmations first (they have a deadline), then reports; one exact channel per query, so
        the outbox index serves the order (a channel pattern would sort every pending row)."""
        now = self.clock.now()
        items = outbox.due(conn, self.store.hospital_code, CHANNEL_CONFIRM, now, limit=limit)
        if len(items) < limit:
            items += outbox.due(conn, self.store.hospital_code, CHANNEL_REPORT, now, limit=limit - len(items))
        return items

    def _send_waiting(self, item: outbox.OutboxItem, result: DrainResult) -> Answer:
        """Send one message; a short Retry-After is slept through (wall time) a few times."""
        for attempt in range(MAX_INLINE_WAITS + 1):
            started = time.perf_counter()
            try:
                answer = self._send(item)
                result.latencies_s.append(time.perf_counter() - started)
                return answer
            except PlatformCallError as exc:
                wait = exc.retry_after_s
                if exc.scope != "link" or wait is None or wait > self.inline_cap or attempt == MAX_INLINE_WAITS:
                    raise
                self._sleep(wait)
        raise AssertionError("unreachable")

    def _send(self, item: outbox.OutboxItem) -> Answer:
        p = item.payload
        if item.channel == CHANNEL_CONFIRM:
            return self.client.confirm(p["delivery_id"], p["quantity"], p["accepted_at"], item.idem_key, line=p)
        if item.channel == CHANNEL_REPORT:
            return self.client.upload_report(p, item.idem_key)
        return Answer("unknown-channel", f"no sender for channel {item.channel}", None)

    def _record(self, conn: Tx, outcomes: list[_Outcome], result: DrainResult) -> None:
        now = self.clock.now()
        kind_of = self.client.profile.kind
        accepted = [o.item for o in outcomes if kind_of(o.answer.code) == "ok"]
        self._mark_accepted(conn, accepted, now)
        result.sent += len(accepted)
        for o in outcomes:
            kind = kind_of(o.answer.code)
            if kind == "ok":
                continue
            if kind == "done":  # the platform already holds this confirmation
                outbox.mark_sent(conn, o.item.id, now, {"code": o.answer.code, "message": o.answer.message})
                self._confirmation(conn, o.item, state="confirmed", confirmed_at=now)
                result.sent += 1
            else:
                message = o.answer.message or f"code {o.answer.code}"
                outbox.quarantine(conn, o.item.id, now, message, {"code": o.answer.code, "message": o.answer.message})
                self._confirmation(conn, o.item, state="quarantined", platform_message=message)
                write_findings(conn, self.store.hospital_code, [self._rejected(o.item, o.answer, now)], now)
                log.warning("platform refused a message", channel=o.item.channel, idem_key=o.item.idem_key,
                            code=o.answer.code, platform_message=message)
                result.quarantined += 1

    def _mark_accepted(self, conn: Tx, items: list[outbox.OutboxItem], now: datetime) -> None:
        """What ``outbox.mark_sent`` does, for a whole batch in two statements (the drain's hot path)."""
        if not items:
            return
        outbox.mark_sent_many(conn, [i.id for i in items], now, {"code": self.client.profile.ok_code})
        deliveries = [i.payload["delivery_id"] for i in items if i.channel == CHANNEL_CONFIRM]
        repo.mark_confirmed(conn, self.store.hospital_code, deliveries, now)

    def _confirmation(self, conn: Tx, item: outbox.OutboxItem, *, state: str, confirmed_at: datetime | None = None,
                      platform_message: str | None = None) -> None:
        if item.channel != CHANNEL_CONFIRM:
            return
        repo.record_answer(conn, self.store.hospital_code, item.payload["delivery_id"], state=state,
                           confirmed_at=confirmed_at, platform_message=platform_message)

    def _rejected(self, item: outbox.OutboxItem, answer: Answer, now: datetime) -> Finding:
        what = f"配送单 {item.payload.get('delivery_id')} 的到货确认" if item.channel == CHANNEL_CONFIRM else "数据上报"
        return Finding(
            rule=RULE_REJECTED, subject=item.idem_key, severity=Severity.CRITICAL, observed_at=now,
            title=f"平台拒绝了{what}：{answer.message or answer.code}（请人工处理）",
            values={"code": answer.code}, evidence={"platform_message": answer.message, "payload": item.payload},
            labels={"area": "platform", "kind": "arrival_confirmation"},
        )

    def _link_down(self, conn: Tx, link: repo.LinkState | None, exc: PlatformCallError) -> datetime:
        now = self.clock.now()
        failures = (link.failures if link is not None else 0) + 1
        retry_after = min(exc.retry_after_s, self.cap) if exc.retry_after_s is not None else None
        hold = now + timedelta(seconds=outbox.backoff(failures - 1, retry_after, self._rng))
        repo.link_down(conn, self.store.hospital_code, link, failures=failures, hold_until=hold, error=str(exc), now=now)
        if link is None or link.state != "down":
            log.warning("platform link down", error_class=type(exc).__name__, error=str(exc), kind=exc.kind)
        if exc.permanent:  # credentials, clock or certificate: retrying alone will not fix it
            write_findings(conn, self.store.hospital_code, [Finding(
                rule=RULE_LINK, subject="platform", severity=Severity.CRITICAL, observed_at=now,
                title=f"采购平台拒绝了本院的接口连接（{exc.platform_message or str(exc)}），到货确认无法发送，请联系信息科处理",
                values={"code": exc.code}, evidence={"error": str(exc)}, labels={"area": "platform", "kind": "link"},
            )], now)
        return hold

    def _link_up(self, conn: Tx, link: repo.LinkState) -> None:
        now = self.clock.now()
        repo.link_up(conn, self.store.hospital_code, now)
        resolve_finding(conn, self.store.hospital_code, RULE_LINK, "platform", now)
        log.info("platform link back", down_since=link.changed_at.isoformat(), failures=link.failures)
