"""The alert lifecycle as pure functions: pending, firing, resolved, acknowledged, silenced, flapping."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from agent.domain.alerting import FIRING, INACTIVE, PENDING, Alert, Policy, acknowledge, decide, observe, silenced_by
from agent.domain.findings import Finding, Severity

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
KEY = "behind_schedule:阿托伐他汀钙片20mg"


def finding(severity: Severity = Severity.WARNING) -> Finding:
    return Finding("behind_schedule", "阿托伐他汀钙片20mg", severity, "阿托伐他汀钙片 完成进度落后序时进度", T0,
                   values={"completion": 0.32, "time_progress": 0.58}, labels={"programme": "第七批国采"})


def step(a: Alert, present: bool, now: datetime, policy: Policy, silenced: bool = False, sev: Severity = Severity.WARNING):
    a = observe(a, finding(sev) if present else None, now, policy)
    return decide(a, now, policy, silenced)


def kinds(notices) -> list[str]:
    return [n.kind for n in notices]


def fresh() -> Alert:
    return Alert(KEY, "behind_schedule", "阿托伐他汀钙片20mg")


def test_a_finding_fires_only_after_its_for_duration() -> None:
    p = Policy(for_s=600)
    a, out = step(fresh(), True, T0, p)
    assert a.status == PENDING and out == []
    a, out = step(a, True, T0 + timedelta(minutes=5), p)
    assert a.status == PENDING and out == []
    a, out = step(a, True, T0 + timedelta(minutes=10), p)
    assert a.status == FIRING and kinds(out) == ["firing"]


def test_a_pending_alert_that_goes_away_never_notifies() -> None:
    p = Policy(for_s=600)
    a, _ = step(fresh(), True, T0, p)
    a, out = step(a, False, T0 + timedelta(minutes=5), p)
    assert a.status == INACTIVE and out == []


def test_a_fired_alert_resolves_exactly_once() -> None:
    p = Policy()
    a, out = step(fresh(), True, T0, p)
    assert kinds(out) == ["firing"]
    a, out = step(a, True, T0 + timedelta(minutes=1), p)
    assert out == []
    a, out = step(a, False, T0 + timedelta(minutes=2), p)
    assert kinds(out) == ["resolved"]
    a, out = step(a, False, T0 + timedelta(minutes=3), p)
    assert out == []


def test_a_firing_alert_repeats_after_the_repeat_interval() -> None:
    p = Policy(repeat_s=3600)
    a, _ = step(fresh(), True, T0, p)
    a, out = step(a, True, T0 + timedelta(minutes=59), p)
    assert out == []
    a, out = step(a, True, T0 + timedelta(minutes=60), p)
    assert kinds(out) == ["repeat"]


def test_an_acknowledged_alert_stops_repeating_and_is_not_escalated() -> None:
    p = Policy(repeat_s=600, escalate_after_s=1800)
    a, _ = step(fresh(), True, T0, p, sev=Severity.CRITICAL)
    a = acknowledge(a, "李药师", T0 + timedelta(minutes=1))
    for m in range(2, 120, 10):
        a, out = step(a, True, T0 + timedelta(minutes=m), p, sev=Severity.CRITICAL)
        assert out == []


def test_an_acknowledgement_with_an_end_lets_repeats_come_back() -> None:
    p = Policy(repeat_s=600)
    a, _ = step(fresh(), True, T0, p)
    a = acknowledge(a, "李药师", T0, until=T0 + timedelta(hours=1))
    a, out = step(a, True, T0 + timedelta(minutes=30), p)
    assert out == []
    a, out = step(a, True, T0 + timedelta(minutes=61), p)
    assert kinds(out) == ["repeat"]


def test_an_unacknowledged_critical_alert_escalates_once() -> None:
    p = Policy(repeat_s=None, escalate_after_s=1800)
    a, _ = step(fresh(), True, T0, p, sev=Severity.CRITICAL)
    a, out = step(a, True, T0 + timedelta(minutes=29), p, sev=Severity.CRITICAL)
    assert out == []
    a, out = step(a, True, T0 + timedelta(minutes=30), p, sev=Severity.CRITICAL)
    assert kinds(out) == ["escalate"]
    a, out = step(a, True, T0 + timedelta(minutes=90), p, sev=Severity.CRITICAL)
    assert out == []


def test_an_alert_that_fires_under_a_silence_is_announced_when_the_silence_ends() -> None:
    p = Policy()
    a, out = step(fresh(), True, T0, p, silenced=True)
    assert a.status == FIRING and out == []
    a, out = step(a, True, T0 + timedelta(minutes=5), p, silenced=False)
    assert kinds(out) == ["firing"]


def test_a_silenced_alert_that_resolves_sends_no_resolved_notice() -> None:
    p = Policy()
    a, _ = step(fresh(), True, T0, p, silenced=True)
    a, out = step(a, False, T0 + timedelta(minutes=5), p, silenced=True)
    assert out == [] and not a.announced
    a, out = step(a, False, T0 + timedelta(minutes=6), p, silenced=False)
    assert out == []


def test_a_flapping_key_is_reported_once_then_held_until_stable() -> None:
    p = Policy(flap_changes=3, flap_window_s=3600)
    a, all_out = fresh(), []
    for m in range(0, 60, 5):  # on, off, on, off... every five minutes
        a, out = step(a, m % 10 == 0, T0 + timedelta(minutes=m), p)
        all_out += kinds(out)
    assert all_out.count("flapping") == 1
    assert all_out[: all_out.index("flapping")] == ["firing", "resolved", "firing"][: all_out.index("flapping")]
    assert a.flapping
    # stable (present) for a whole window: the hold ends, and what is open is consistent
    for m in range(60, 200, 10):
        a, out = step(a, True, T0 + timedelta(minutes=m), p)
        all_out += kinds(out)
    assert not a.flapping and a.announced and a.status == FIRING
    assert all_out.count("firing") - all_out.count("resolved") == 1


def test_silence_matchers_use_labels_rule_and_globs() -> None:
    a, _ = step(fresh(), True, T0, Policy())
    window = {"starts_at": T0 - timedelta(hours=1), "ends_at": T0 + timedelta(hours=1)}
    assert silenced_by([{**window, "matchers": {"rule": "behind_*"}}], a, T0)
    assert silenced_by([{**window, "matchers": {"programme": "第七批国采"}}], a, T0)
    assert not silenced_by([{**window, "matchers": {"programme": "第八批国采"}}], a, T0)
    assert not silenced_by([{**window, "matchers": {"rule": "behind_*"}}], a, T0 + timedelta(hours=2))


class LifecycleMachine(RuleBasedStateMachine):
    """Random observations, silences and acknowledgements; the notices must stay consistent."""

    def __init__(self) -> None:
        super().__init__()
        self.policy = Policy(for_s=300, repeat_s=1800, escalate_after_s=3600, flap_changes=4, flap_window_s=3600)
        self.alert = fresh()
        self.now = T0
        self.open = False  # a firing notice is out and not resolved
        self.notices: list[str] = []

    def _advance(self, present: bool, minutes: int, silenced: bool, sev: Severity) -> None:
        self.now += timedelta(minutes=minutes)
        quiet_before = silenced or self.alert.acknowledged(self.now)
        a = observe(self.alert, finding(sev) if present else None, self.now, self.policy)
        a, out = decide(a, self.now, self.policy, silenced)
        for n in out:
            if n.kind == "firing":
                assert not self.open, "a second firing notice without a resolve between"
                assert not quiet_before, "a silenced or acknowledged alert announced itself"
                self.open = True
            elif n.kind == "resolved":
                assert self.open, "a resolved notice without a firing notice before it"
                assert not silenced, "a silenced alert sent a resolved notice"
                self.open = False
            elif n.kind in ("repeat", "escalate"):
                assert self.open and not quiet_before, f"{n.kind} while quiet or never announced"
            elif n.kind == "flapping":
                assert not silenced
        if silenced:
            assert out == [], "a silenced alert notified"
            if self.open and not a.announced:  # resolved under a silence: closed without a notice
                assert a.status != FIRING
                self.open = False
        self.notices += [n.kind for n in out]
        self.alert = a

    @rule(present=st.booleans(), minutes=st.integers(1, 240), silenced=st.booleans(), critical=st.booleans())
    def observe_once(self, present: bool, minutes: int, silenced: bool, critical: bool) -> None:
        self._advance(present, minutes, silenced, Severity.CRITICAL if critical else Severity.WARNING)

    @precondition(lambda self: self.alert.status == FIRING)
    @rule(hours=st.one_of(st.none(), st.integers(1, 8)))
    def acknowledge(self, hours: int | None) -> None:
        until = self.now + timedelta(hours=hours) if hours else None
        self.alert = acknowledge(self.alert, "值班药师", self.now, until)

    @invariant()
    def announced_flag_tracks_the_notices(self) -> None:
        assert self.alert.announced == self.open


LifecycleMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
test_lifecycle_never_doubles_or_orphans_a_notice = LifecycleMachine.TestCase
