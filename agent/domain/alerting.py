"""The alert lifecycle (告警生命周期) per alert key, as pure functions.

An alert key (rule + subject) is ``inactive``, ``pending`` (the condition holds, its ``for``
duration has not passed) or ``firing``. Notices are decided from one flag, ``announced``: a firing
notice goes out only when none is open, a resolved notice only when one is open. So no alert is
announced twice without a resolve between, and no resolve comes without a firing before it.
Silences and acknowledgements (确认) hold notices back; flapping (抖动) holds them until the key
is stable again, after one flapping notice.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from typing import Any

INACTIVE, PENDING, FIRING = "inactive", "pending", "firing"
SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}


@dataclass(frozen=True)
class Policy:
    """Timers of one alert key, taken from the config (alerts section and the first matching route)."""

    for_s: float = 0.0
    repeat_s: float | None = 4 * 3600.0
    escalate_after_s: float | None = None
    flap_changes: int = 4
    flap_window_s: float = 3600.0
    send_resolved: bool = True


@dataclass(frozen=True)
class Alert:
    key: str
    rule: str
    subject: str
    severity: str = "warning"
    title: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    evidence: dict[str, Any] = field(default_factory=dict)
    status: str = INACTIVE
    pending_since: datetime | None = None
    fired_at: datetime | None = None
    resolved_at: datetime | None = None
    announced: bool = False
    last_notified_at: datetime | None = None
    escalated_at: datetime | None = None
    changes: tuple[datetime, ...] = ()
    flapping: bool = False
    ack_by: str | None = None
    ack_at: datetime | None = None
    ack_until: datetime | None = None

    def acknowledged(self, now: datetime) -> bool:
        return self.ack_by is not None and (self.ack_until is None or now < self.ack_until)


@dataclass(frozen=True)
class Notice:
    """One thing to tell people: ``firing``, ``repeat``, ``resolved``, ``flapping`` or ``escalate``."""

    kind: str
    alert: Alert
    at: datetime


def observe(alert: Alert, finding: Any | None, now: datetime, policy: Policy) -> Alert:
    """Move the condition on: ``finding`` is the active finding of this key, or None when it is gone."""
    a = alert
    if finding is not None:
        a = replace(
            a, severity=str(finding.severity), title=finding.title, labels=dict(finding.labels),
            values=dict(finding.values), evidence=dict(finding.evidence),
        )
        if a.status == INACTIVE:
            a = replace(a, status=PENDING, pending_since=now)
        if a.status == PENDING and a.pending_since is not None and now - a.pending_since >= timedelta(seconds=policy.for_s):
            a = replace(a, status=FIRING, fired_at=now, resolved_at=None, escalated_at=None, changes=a.changes + (now,))
    elif a.status == PENDING:
        a = replace(a, status=INACTIVE, pending_since=None)
    elif a.status == FIRING:
        a = replace(
            a, status=INACTIVE, pending_since=None, resolved_at=now, changes=a.changes + (now,),
            ack_by=None, ack_at=None, ack_until=None,
        )
    window = timedelta(seconds=policy.flap_window_s)
    return replace(a, changes=tuple(t for t in a.changes if now - t < window))


def decide(alert: Alert, now: datetime, policy: Policy, silenced: bool) -> tuple[Alert, list[Notice]]:
    """The notices due for ``alert`` now, and the alert with its notice bookkeeping updated."""
    a, out = alert, []
    if not a.flapping and len(a.changes) > policy.flap_changes:
        a = replace(a, flapping=True)
        if not silenced:
            out.append(Notice("flapping", a, now))
        return a, out
    if a.flapping:
        if a.changes:  # still changing inside the window: hold every notice
            return a, out
        a = replace(a, flapping=False)
    quiet = silenced or a.acknowledged(now)
    if a.status == FIRING and not a.announced and not quiet:
        a = replace(a, announced=True, last_notified_at=now)
        out.append(Notice("firing", a, now))
    elif a.status == FIRING and a.announced and not quiet and policy.repeat_s is not None:
        if now - (a.last_notified_at or now) >= timedelta(seconds=policy.repeat_s):
            a = replace(a, last_notified_at=now)
            out.append(Notice("repeat", a, now))
    elif a.status != FIRING and a.announced:
        a = replace(a, announced=False, last_notified_at=now)
        if not silenced and policy.send_resolved:
            out.append(Notice("resolved", a, now))
    if (
        a.status == FIRING and a.severity == "critical" and policy.escalate_after_s is not None
        and a.escalated_at is None and not quiet and a.fired_at is not None
        and now - a.fired_at >= timedelta(seconds=policy.escalate_after_s)
    ):
        a = replace(a, escalated_at=now)
        out.append(Notice("escalate", a, now))
    return a, out


def acknowledge(alert: Alert, who: str, now: datetime, until: datetime | None = None) -> Alert:
    return replace(alert, ack_by=who, ack_at=now, ack_until=until)


# --- silences (屏蔽) and routing facts -------------------------------------------------------

def alert_labels(alert: Alert) -> dict[str, str]:
    """What matchers and routes look at: the finding's labels plus rule, subject and severity."""
    return {**alert.labels, "rule": alert.rule, "subject": alert.subject, "severity": alert.severity}


def matches(matchers: dict[str, str], labels: dict[str, str]) -> bool:
    """Every matcher holds; a value may be a glob (``nonwinning_*``)."""
    return all(fnmatch.fnmatchcase(str(labels.get(k, "")), str(v)) for k, v in matchers.items())


def silenced_by(silences: list[dict[str, Any]], alert: Alert, now: datetime) -> bool:
    labels = alert_labels(alert)
    return any(s["starts_at"] <= now < s["ends_at"] and matches(s["matchers"], labels) for s in silences)


def in_window(start: time, end: time, t: time) -> bool:
    """True when ``t`` is inside the daily window [start, end), which may cross midnight."""
    if start <= end:
        return start <= t < end
    return t >= start or t < end
