"""Findings to a WeCom-like group over the store and the outbox: grouping, restarts, outages,
crashes between sending and recording, permanent errors, silences, acknowledgements, digest."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from agent.clock import FakeClock
from agent.config import parse_config
from agent.domain.findings import Finding, Severity
from agent.jobs.notify import drain_notifications, process_findings
from agent.notify import build_senders
from agent.notify.sink import WeComSink
from agent.store import alerts as repo
from agent.store import open_store
from agent.store.schema.core import findings as findings_table
from agent.store.schema.core import outbox

TZ = ZoneInfo("Asia/Shanghai")
MONDAY_0900 = datetime(2026, 11, 23, 9, 0, tzinfo=TZ)
KEY = "Wecom-Key-Canary-7731"


def config(sink_url: str, digest: bool = False, **route: Any) -> Any:
    return parse_config({
        "hospital": {"code": "H1", "name": "示例医院"},
        "receivers": {"pharmacy": {"type": "wecom", "key_env": "T_WECOM_KEY", "api_base": sink_url, "format": "markdown"}},
        "routes": [{"name": "pharmacy", "receivers": ["pharmacy"], "group_wait_s": 30, "group_interval_s": 300, **route}],
        "alerts": {"for_s": 0, "digest_receivers": ["pharmacy"] if digest else [], "digest_at": "08:30"},
    })


def behind(subject: str = "阿托伐他汀钙片 20mg", severity: Severity = Severity.WARNING) -> Finding:
    return Finding(
        rule="behind_schedule", subject=subject, severity=severity,
        title=f"{subject} 完成进度落后序时进度", observed_at=MONDAY_0900,
        values={"completion": 0.312, "time_progress": 0.583, "agreed_volume": 120000, "used": 37440},
        labels={"programme": "第七批国家集采", "department": "心内科"},
        evidence={"action": "请核查心内科是否改开非中选品种（立普妥），本周内约谈科室。"},
    )


@pytest.fixture
def sink():
    with WeComSink(key=KEY) as s:
        yield s


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("T_WECOM_KEY", KEY)


def tick(store: Any, cfg: Any, clock: FakeClock, findings: list[Finding], senders: Any, minutes: float = 1) -> None:
    process_findings(store, cfg, clock, findings)
    drain_notifications(store, cfg, clock, senders)
    clock.advance(timedelta(minutes=minutes))


def test_a_finding_reaches_the_group_after_the_group_wait_and_resolves_once(store_url: str, sink: WeComSink) -> None:
    cfg = config(sink.url)
    clock = FakeClock(MONDAY_0900 + timedelta(hours=2))
    store = open_store(store_url, "H1")
    senders = build_senders(cfg.receivers, clock)
    tick(store, cfg, clock, [behind()], senders, minutes=0.25)
    assert sink.messages == []  # inside the 30 s group wait
    tick(store, cfg, clock, [behind()], senders)
    tick(store, cfg, clock, [behind()], senders)
    assert len(sink.messages) == 1 and "【集采预警】注意" in sink.messages[0]["content"]
    for _ in range(3):
        tick(store, cfg, clock, [], senders, minutes=6)
    assert len(sink.messages) == 2 and "【集采预警·已恢复】" in sink.messages[1]["content"]
    store.close()


def test_notices_of_one_route_are_grouped_into_one_message(tmp_path, sink: WeComSink) -> None:
    cfg = config(sink.url)
    clock = FakeClock(MONDAY_0900 + timedelta(hours=2))
    store = open_store(f"sqlite:///{tmp_path / 's.db'}", "H1")
    senders = build_senders(cfg.receivers, clock)
    found = [behind("阿托伐他汀钙片 20mg"), behind("苯磺酸氨氯地平片 5mg", Severity.CRITICAL)]
    for _ in range(2):
        tick(store, cfg, clock, found, senders)
    assert len(sink.messages) == 1
    text = sink.messages[0]["content"]
    assert "集采预警2条" in text and "严重1条" in text and "苯磺酸氨氯地平片" in text and "阿托伐他汀钙片" in text


def test_a_restart_in_the_middle_neither_repeats_the_firing_nor_forgets_the_resolution(store_url: str, sink: WeComSink) -> None:
    clock = FakeClock(MONDAY_0900 + timedelta(hours=2))
    cfg = config(sink.url)
    store = open_store(store_url, "H1")
    senders = build_senders(cfg.receivers, clock)
    for _ in range(2):
        tick(store, cfg, clock, [behind()], senders)
    store.close()
    # a new process: new objects over the same store
    store = open_store(store_url, "H1")
    senders = build_senders(cfg.receivers, clock)
    for _ in range(3):
        tick(store, cfg, clock, [behind()], senders)
    assert len(sink.messages) == 1
    process_findings(store, cfg, clock, [])  # the finding is gone: resolution queued, then a restart
    store.close()
    store = open_store(store_url, "H1")
    for _ in range(8):
        tick(store, cfg, clock, [], build_senders(cfg.receivers, clock))
    assert [("已恢复" in m["content"]) for m in sink.messages] == [False, True]
    store.close()


def test_nothing_is_lost_while_the_robot_is_down(tmp_path) -> None:
    clock = FakeClock(MONDAY_0900 + timedelta(hours=2))
    store = open_store(f"sqlite:///{tmp_path / 's.db'}", "H1")
    with WeComSink(key=KEY) as probe:
        port = probe.server.server_address[1]
    cfg = config(f"http://127.0.0.1:{port}", group_wait_s=0, group_interval_s=0)
    senders = build_senders(cfg.receivers, clock)
    subjects = [f"品种{i}" for i in range(5)]
    for i in range(5):  # five separate incidents while nobody listens
        tick(store, cfg, clock, [behind(s) for s in subjects[: i + 1]], senders, minutes=2)
    with store.read() as conn:
        assert sum(1 for r in conn.execute(select(outbox)) if r.status == "pending") == 5
    with WeComSink(port=port, key=KEY) as sink:  # the robot comes back on the same address
        for _ in range(30):
            tick(store, cfg, clock, [behind(s) for s in subjects], senders, minutes=30)
        got = "\n".join(m["content"] for m in sink.messages)
    assert all(s in got for s in subjects)
    first_seen = [got.index(s) for s in subjects]
    assert first_seen == sorted(first_seen)  # in the order they happened
    with store.read() as conn:
        assert {r.status for r in conn.execute(select(outbox))} == {"sent"}


class CrashAfterSend:
    """A sender that delivers, then 'crashes' before the outbox records it."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.bucket, self.crashed = inner, inner.bucket, False

    def send(self, msg: dict[str, Any]) -> dict[str, Any]:
        answer = self.inner.send(msg)
        if not self.crashed:
            self.crashed = True
            raise KeyboardInterrupt("power cut")
        return answer


def test_a_crash_between_sending_and_recording_gives_at_most_one_duplicate(store_url: str, sink: WeComSink) -> None:
    clock = FakeClock(MONDAY_0900 + timedelta(hours=2))
    cfg = config(sink.url, group_wait_s=0)
    store = open_store(store_url, "H1")
    process_findings(store, cfg, clock, [behind()])
    senders = build_senders(cfg.receivers, clock)
    with pytest.raises(KeyboardInterrupt):
        drain_notifications(store, cfg, clock, {"pharmacy": CrashAfterSend(senders["pharmacy"])})
    store.close()
    store = open_store(store_url, "H1")
    for _ in range(3):
        tick(store, cfg, clock, [behind()], build_senders(cfg.receivers, clock))
    assert len(sink.messages) == 2 and sink.messages[0]["content"] == sink.messages[1]["content"]
    store.close()


def test_a_permanent_error_stops_the_receiver_raises_a_finding_and_notify_test_resumes_it(tmp_path, sink: WeComSink, monkeypatch) -> None:
    from agent.alerts.delivery import resume_receiver

    clock = FakeClock(MONDAY_0900 + timedelta(hours=2))
    cfg = config(sink.url, group_wait_s=0)
    store = open_store(f"sqlite:///{tmp_path / 's.db'}", "H1")
    monkeypatch.setenv("T_WECOM_KEY", "a-revoked-key")
    senders = build_senders(cfg.receivers, clock)
    process_findings(store, cfg, clock, [behind()])
    report = drain_notifications(store, cfg, clock, senders)
    assert report.stopped == ["pharmacy"] and report.quarantined == 1
    process_findings(store, cfg, clock, [behind("苯磺酸氨氯地平片 5mg")])
    assert drain_notifications(store, cfg, clock, senders).sent == 0  # the queue stays stopped
    with store.read() as conn:
        stopped = [f for f in repo.active_findings(conn, "H1") if f.rule == "notify_receiver_stopped"]
    assert stopped and stopped[0].severity == Severity.CRITICAL and "93000" in stopped[0].title
    monkeypatch.setenv("T_WECOM_KEY", KEY)  # a person fixes the key
    assert resume_receiver(store, "pharmacy", clock.now()) == 1
    clock.advance(360)  # past the group interval: the second alert's group is due too
    process_findings(store, cfg, clock, [behind(), behind("苯磺酸氨氯地平片 5mg")])
    assert drain_notifications(store, cfg, clock, senders).sent == 2
    assert "苯磺酸氨氯地平片" in sink.messages[-1]["content"]
    with store.read() as conn:
        assert conn.execute(select(findings_table.c.active).where(findings_table.c.rule == "notify_receiver_stopped")).scalar() == 0


def test_silenced_and_acknowledged_alerts_stay_quiet(tmp_path, sink: WeComSink) -> None:
    clock = FakeClock(MONDAY_0900 + timedelta(hours=2))
    cfg = config(sink.url, group_wait_s=0, group_interval_s=0, repeat_interval_s=600)
    store = open_store(f"sqlite:///{tmp_path / 's.db'}", "H1")
    senders = build_senders(cfg.receivers, clock)
    with store.begin() as conn:
        repo.add_silence(conn, "H1", {"department": "心内科"}, clock.now(), clock.now() + timedelta(hours=1), "王主任", "盘点中", clock.now())
    for _ in range(5):
        tick(store, cfg, clock, [behind()], senders, minutes=10)
    assert sink.messages == []
    for _ in range(2):  # the silence has ended: the alert is announced once
        tick(store, cfg, clock, [behind()], senders, minutes=10)
    assert len(sink.messages) == 1
    with store.begin() as conn:
        from agent.domain.alerting import acknowledge

        a = repo.load_alerts(conn, "H1")[behind().key]
        repo.save_alert(conn, "H1", acknowledge(a, "李药师", clock.now()), clock.now())
    for _ in range(6):
        tick(store, cfg, clock, [behind()], senders, minutes=15)
    assert len(sink.messages) == 1  # no repeats while acknowledged


def test_quiet_hours_hold_warnings_but_not_critical_alerts(tmp_path, sink: WeComSink) -> None:
    clock = FakeClock(datetime(2026, 11, 23, 23, 0, tzinfo=TZ))
    cfg = config(sink.url, group_wait_s=0, quiet_hours="22:00-07:00")
    store = open_store(f"sqlite:///{tmp_path / 's.db'}", "H1")
    senders = build_senders(cfg.receivers, clock)
    tick(store, cfg, clock, [behind()], senders)
    assert sink.messages == []
    tick(store, cfg, clock, [behind(), behind("注射用头孢曲松钠 1g", Severity.CRITICAL)], senders)
    tick(store, cfg, clock, [behind(), behind("注射用头孢曲松钠 1g", Severity.CRITICAL)], senders)
    assert len(sink.messages) == 1 and "头孢曲松" in sink.messages[0]["content"]


def test_the_morning_digest_goes_out_once_on_working_days_only(tmp_path, sink: WeComSink) -> None:
    cfg = config(sink.url, digest=True, group_wait_s=0)
    store = open_store(f"sqlite:///{tmp_path / 's.db'}", "H1")
    clock = FakeClock(datetime(2026, 11, 21, 8, 40, tzinfo=TZ))  # a Saturday
    senders = build_senders(cfg.receivers, clock)
    tick(store, cfg, clock, [behind()], senders)
    sink.messages.clear()
    clock.set(datetime(2026, 11, 22, 8, 40, tzinfo=TZ))  # Sunday
    tick(store, cfg, clock, [behind()], senders)
    assert not any("集采晨报" in m["content"] for m in sink.messages)
    clock.set(datetime(2026, 11, 23, 8, 29, tzinfo=TZ))  # Monday, just before the digest time
    for _ in range(4):
        process_findings(store, cfg, clock, [behind()], headline="第七批国采 12 个品种中 3 个落后序时进度")
        drain_notifications(store, cfg, clock, senders)
        clock.advance(timedelta(minutes=5))
    digests = [m["content"] for m in sink.messages if "集采晨报" in m["content"]]
    assert len(digests) == 1 and "11月23日（星期一）" in digests[0] and "3 个落后序时进度" in digests[0]


def test_a_critical_alert_nobody_acknowledges_is_escalated(tmp_path, sink: WeComSink, monkeypatch) -> None:
    monkeypatch.setenv("T_BOSS_KEY", KEY)
    cfg = parse_config({
        "hospital": {"code": "H1", "name": "示例医院"},
        "receivers": {
            "pharmacy": {"type": "wecom", "key_env": "T_WECOM_KEY", "api_base": sink.url},
            "director": {"type": "wecom", "key_env": "T_BOSS_KEY", "api_base": sink.url, "format": "text", "mentioned_mobiles": ["13800000000"]},
        },
        "routes": [{"receivers": ["pharmacy"], "group_wait_s": 0, "escalate_to": ["director"], "escalate_after_s": 3600}],
    })
    clock = FakeClock(MONDAY_0900 + timedelta(hours=1))
    store = open_store(f"sqlite:///{tmp_path / 's.db'}", "H1")
    senders = build_senders(cfg.receivers, clock)
    for _ in range(8):
        tick(store, cfg, clock, [behind(severity=Severity.CRITICAL)], senders, minutes=10)
    escalations = [m for m in sink.messages if "【集采预警·升级】" in m["content"]]
    assert len(escalations) == 1
    assert escalations[0]["body"]["text"]["mentioned_mobile_list"] == ["13800000000"]


def test_what_a_pharmacist_reads(tmp_path, capsys) -> None:
    """Prints the messages of one incident as the group shows them (run with -s)."""
    out = io.StringIO()
    with WeComSink(key=KEY, echo=out) as sink:
        cfg = config(sink.url, digest=True, group_wait_s=0, group_interval_s=0)
        clock = FakeClock(MONDAY_0900 + timedelta(hours=5))
        store = open_store(f"sqlite:///{tmp_path / 's.db'}", "H1")
        senders = build_senders(cfg.receivers, clock)
        zero = Finding(
            rule="zero_purchase", subject="注射用头孢曲松钠 1g", severity=Severity.CRITICAL,
            title="注射用头孢曲松钠 1g（中选）本协议年零采购", observed_at=MONDAY_0900,
            values={"agreed_volume": 8000, "used": 0, "days_left": 96},
            labels={"programme": "第八批国家集采", "department": "药剂科"},
            evidence={"action": "请今天在省平台下单中选产品，并核查是否仍在采购非中选的罗氏芬。"},
        )
        tick(store, cfg, clock, [behind(), zero], senders, minutes=60 * 26)
        tick(store, cfg, clock, [zero], senders, minutes=60)
        clock.set(datetime(2026, 11, 25, 8, 35, tzinfo=TZ))
        process_findings(store, cfg, clock, [zero],
                         headline="第七批国采 12 个品种：按入库完成 58.2%，按使用完成 61.0%，序时进度 58.3%")
        drain_notifications(store, cfg, clock, senders)
    with capsys.disabled():
        print("\n" + out.getvalue())
    text = out.getvalue()
    assert "建议：请核查心内科" in text and "【集采预警·已恢复】" in text and "集采晨报" in text
    assert KEY not in text


def test_a_stopped_receiver_is_reported_through_another_receiver_and_no_key_is_logged(tmp_path, sink: WeComSink, monkeypatch) -> None:
    import structlog

    from agent.store.schema.core import findings as core_findings

    revoked = "Revoked-Wecom-Key-Canary-3306"
    monkeypatch.setenv("T_BAD_KEY", revoked)
    cfg = parse_config({
        "hospital": {"code": "H1", "name": "示例医院"},
        "receivers": {
            "pharmacy": {"type": "wecom", "key_env": "T_BAD_KEY", "api_base": sink.url},
            "it": {"type": "wecom", "key_env": "T_WECOM_KEY", "api_base": sink.url, "format": "text"},
        },
        "routes": [
            {"rules": ["notify_*"], "receivers": ["it"], "group_wait_s": 0},
            {"receivers": ["pharmacy"], "group_wait_s": 0},
        ],
    })
    clock = FakeClock(MONDAY_0900 + timedelta(hours=2))
    store = open_store(f"sqlite:///{tmp_path / 's.db'}", "H1")
    with store.begin() as conn:  # what Monitoring keeps in the core findings table
        f = behind()
        conn.execute(core_findings.insert().values(
            hospital_code="H1", rule=f.rule, subject=f.subject, severity=str(f.severity), title=f.title, values=f.values,
            evidence=f.evidence, labels=f.labels, observed_at=f.observed_at, active=1, updated_at=f.observed_at))
    senders = build_senders(cfg.receivers, clock)
    with structlog.testing.capture_logs() as logs:
        for _ in range(3):
            tick(store, cfg, clock, None, senders)  # type: ignore[arg-type]
    assert [m["key"] for m in sink.messages] == [KEY]
    assert "通知渠道“pharmacy”停止发送（错误码 93000）" in sink.messages[0]["content"]
    assert "由信息科向“pharmacy”发一条测试消息" in sink.messages[0]["content"]
    assert "vbp-agent" not in sink.messages[0]["content"]
    assert [e["event"] for e in logs].count("receiver stopped") == 1
    assert revoked not in repr(logs)
    with store.read() as conn:
        assert revoked not in repr(conn.execute(select(outbox)).all())


def test_a_flapping_finding_is_reported_once_as_flapping(tmp_path, sink: WeComSink) -> None:
    cfg = config(sink.url, group_wait_s=0, group_interval_s=0)
    clock = FakeClock(MONDAY_0900 + timedelta(hours=2))
    store = open_store(f"sqlite:///{tmp_path / 's.db'}", "H1")
    senders = build_senders(cfg.receivers, clock)
    for i in range(16):
        tick(store, cfg, clock, [behind()] if i % 2 == 0 else [], senders, minutes=3)
    texts = [m["content"] for m in sink.messages]
    assert sum("【集采预警·状态反复】" in t for t in texts) == 1
    assert len(texts) <= 5  # firing, resolved, firing, resolved at most, then one flapping notice


def test_status_lines_show_a_stopped_receiver_and_its_queue(tmp_path, sink: WeComSink, monkeypatch) -> None:
    from agent.alerts.delivery import status_lines

    monkeypatch.setenv("T_WECOM_KEY", "some-wrong-key")
    cfg = config(sink.url, group_wait_s=0, group_interval_s=0)
    clock = FakeClock(MONDAY_0900 + timedelta(hours=2))
    store = open_store(f"sqlite:///{tmp_path / 's.db'}", "H1")
    senders = build_senders(cfg.receivers, clock)
    tick(store, cfg, clock, [behind()], senders)
    tick(store, cfg, clock, [behind(), behind("另一个品种")], senders)
    [line] = status_lines(store, cfg)
    assert line.startswith("receiver pharmacy (wecom): stopped, 1 queued") and "93000" in line


def test_a_group_too_big_for_one_robot_message_arrives_in_numbered_parts(tmp_path) -> None:
    from tests.fakes.vendors import VendorRobots

    clock = FakeClock(MONDAY_0900 + timedelta(hours=2))
    with VendorRobots(wecom_key=KEY, per_minute=20, now=clock.now) as robots:
        cfg = parse_config({
            "hospital": {"code": "H1", "name": "示例医院"},
            "receivers": {"pharmacy": {"type": "wecom", "key_env": "T_WECOM_KEY", "api_base": robots.url, "format": "text"}},
            "routes": [{"receivers": ["pharmacy"], "group_wait_s": 0}],
        })
        store = open_store(f"sqlite:///{tmp_path / 's.db'}", "H1")
        senders = build_senders(cfg.receivers, clock)
        many = [behind(f"中选药品{i:02d} 规格{i}mg") for i in range(20)]
        for _ in range(6):
            tick(store, cfg, clock, many, senders)
        parts = [m["content"] for m in robots.messages("wecom")]
    n = len(parts)
    assert n >= 2 and [p.split("\n", 1)[0] for p in parts] == [f"【集采 {i}/{n}】" for i in range(1, n + 1)]
    assert all(len(p.encode()) <= 2048 for p in parts)
    assert all(p.count("【集采预警】") == p.count("建议：") for p in parts)  # no alert cut in two
    joined = "".join(parts)
    assert all(f"中选药品{i:02d}" in joined for i in range(20))


def test_a_route_naming_an_unknown_receiver_stops_with_a_config_error() -> None:
    from agent.errors import ConfigError

    with pytest.raises(ConfigError) as err:
        parse_config({"hospital": {"code": "H1", "name": "x"}, "routes": [{"receivers": ["pharmcy"]}]})
    assert any("routes[0] names receiver 'pharmcy'" in p for p in err.value.problems)


def test_the_digest_falls_back_to_weekdays_for_a_year_the_calendar_does_not_know(tmp_path, sink: WeComSink) -> None:
    cfg = config(sink.url, digest=True)
    store = open_store(f"sqlite:///{tmp_path / 's.db'}", "H1")
    clock = FakeClock(datetime(2099, 3, 2, 8, 45, tzinfo=TZ))  # a Monday far beyond the holiday data
    process_findings(store, cfg, clock, [])
    drain_notifications(store, cfg, clock)
    assert ["集采晨报" in m["content"] for m in sink.messages] == [True]


def test_finding_values_with_decimals_and_dates_are_stored_and_shown(tmp_path, sink: WeComSink) -> None:
    from datetime import date
    from decimal import Decimal

    cfg = config(sink.url, group_wait_s=0)
    store = open_store(f"sqlite:///{tmp_path / 's.db'}", "H1")
    clock = FakeClock(MONDAY_0900 + timedelta(hours=2))
    f = Finding("late_confirmation", "配送单 PS-20261120-0031", Severity.WARNING, "配送单 PS-20261120-0031 验收后超过24小时未到货确认",
                MONDAY_0900, values={"hours_late": Decimal("30.5"), "accepted_on": date(2026, 11, 20)})
    process_findings(store, cfg, clock, [f])
    drain_notifications(store, cfg, clock)
    assert "超时(小时) 30.5，验收日期 2026-11-20" in sink.messages[0]["content"]
