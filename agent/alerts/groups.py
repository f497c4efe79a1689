"""Grouping (分组) and the morning digest (晨报): notices waiting per receiver and route become one
message after the group wait, then at most one per group interval; quiet hours hold non-critical
groups. A message is split to its receiver's size limit and queued in the outbox, in the same
transaction that removes the notices, so nothing is queued twice or lost."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from agent.alerts import render
from agent.alerts.routing import route_of_group
from agent.calendar import UnknownCalendarYear
from agent.domain.alerting import FIRING, in_window
from agent.notify import split_message
from agent.store import Tx, outbox
from agent.store import alerts as repo

DIGEST_LATEST = timedelta(hours=4)  # a digest not sent by then waits for the next working day


def _due(route: Any, first: datetime, last_flush: datetime | None, now: datetime, tz: tzinfo, critical: bool) -> bool:
    wait = timedelta(seconds=route.group_wait_s if route else 0)
    interval = timedelta(seconds=route.group_interval_s if route else 0)
    if now < first + wait or (last_flush is not None and now < last_flush + interval):
        return False
    if route is not None and route.quiet_hours and not critical:
        return not in_window(*route.quiet_hours, now.astimezone(tz).time())
    return True


def console_url(cfg: Any) -> str | None:
    """``[console] external_url``: chat messages link to the alert's page there."""
    return getattr(getattr(cfg, "console", None), "external_url", None)


def enqueue_message(conn: Tx, hospital: str, cfg: Any, receiver: str, idem: str, msg: dict[str, Any], now: datetime) -> int:
    """Queue ``msg`` for ``receiver`` in parts that fit its size limit; returns the parts queued."""
    rcfg = cfg.receivers.get(receiver)
    parts = split_message(rcfg, msg, render.more_text(console_url(cfg))) if rcfg is not None else [msg["text"]]
    queued = 0
    for i, text in enumerate(parts, 1):
        title = msg["title"] if len(parts) == 1 else f"{msg['title']} ({i}/{len(parts)})"
        queued += outbox.enqueue(conn, hospital, f"notify:{receiver}", f"{idem}#{i}", {**msg, "title": title, "text": text}, now)
    return queued


def flush_groups(conn: Tx, hospital: str, cfg: Any, now: datetime, tz: tzinfo) -> int:
    """Turn due groups of notices into outbox messages. Returns the number of messages queued."""
    groups: dict[tuple[str, str], list[repo.WaitingNotice]] = defaultdict(list)
    for r in repo.waiting_notices(conn, hospital):
        groups[(r.receiver, r.group_key)].append(r)
    state = repo.group_states(conn, hospital)
    queued = 0
    for (receiver, group_key), items in groups.items():
        route = route_of_group(cfg.routes, group_key)
        prior = state.get((receiver, group_key))
        critical = any(r.severity == "critical" and r.kind != "resolved" for r in items)
        if not _due(route, items[0].created_at, prior.last_flush_at if prior else None, now, tz, critical):
            continue
        notices = [r.notice() for r in items]
        msg = render.group_message(notices, tz, console_url(cfg))
        keys = [n.alert.key for n in notices]
        idem = f"{group_key}:{(prior.flushes if prior else 0) + 1}"  # ids may be reused; the count is not
        queued += enqueue_message(conn, hospital, cfg, receiver, idem, {**msg, "alert_keys": keys, "kind": "alerts"}, now)
        repo.record_flush(conn, hospital, receiver, group_key, items, idem, now, prior)
    return queued


def _workday(calendar: Any, day: date) -> bool:
    try:
        return bool(calendar.is_workday(day))
    except UnknownCalendarYear:  # reported by the calendar's own check; a digest on weekdays meanwhile
        return day.weekday() < 5


def queue_digest(conn: Tx, hospital: str, cfg: Any, now: datetime, tz: tzinfo, calendar: Any, headline: str | None) -> int:
    """The morning digest, once per working day, within four hours of ``digest_at``."""
    at = cfg.alerts.digest_at
    local = now.astimezone(tz)
    if at is None or not cfg.alerts.digest_receivers or not _workday(calendar, local.date()):
        return 0
    start = local.replace(hour=at.hour, minute=at.minute, second=0, microsecond=0)
    if not (start <= local < start + DIGEST_LATEST):
        return 0
    open_alerts = [a for a in repo.load_alerts(conn, hospital).values() if a.status == FIRING]
    msg = render.digest_message(open_alerts, headline, now, tz, console_url=console_url(cfg))
    idem = f"digest:{local.date().isoformat()}"
    return sum(
        enqueue_message(conn, hospital, cfg, r, idem, {**msg, "alert_keys": [], "kind": "digest"}, now)
        for r in cfg.alerts.digest_receivers
    )
