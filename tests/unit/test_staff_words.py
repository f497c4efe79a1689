"""Words staff read (issue #22, point 4): every kind of chat message, rendered from the findings of
the monitoring fixtures and of each rule's own function, and the console's alert page, carry no
statistical jargon and no CLI command; numbers are rounded with thousands separators; a message
ends with the console's page (or, with no console address, a plain Chinese pointer to it)."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from agent.alerts.delivery import _refused_finding, _stopped_finding
from agent.alerts.render import NO_CONSOLE, digest_message, evidence_lines, group_message, more_text, probe_message, shown_values
from agent.clock import FakeClock
from agent.domain.alerting import Alert, Notice
from agent.domain.annual_duty import annual_duty, annual_findings
from agent.domain.detect import RiseTest
from agent.domain.findings import Finding
from agent.domain.monitoring_model import Acceptance, DailyUsage, DeadlineInputs, GenericGroup, ItemLink
from agent.domain.net_negative import NetNegative, net_negative_finding
from agent.domain.prescriber_share import PrescriberShare, prescriber_finding
from agent.domain.prices import PricedReceipt, price_findings
from agent.domain.rise_cells import Cell, CellTest
from agent.domain.rise_evidence import rise_finding
from agent.domain.rival_stop import StoppedGroup, stopped_finding
from agent.errors import NotifyError
from agent.jobs.evaluate import evaluate
from agent.jobs.memory_inputs import InMemoryInputs
from agent.monitoring_config import DetectConfig, MonitoringConfig
from agent.notify.limits import split_text
from agent.store import open_store
from agent.store.outbox import OutboxItem
from tests.unit import monitor_fixture as fx

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2028, 3, 1, 10, 0, tzinfo=TZ)
BASE = "https://vbp.hospital.local"

# Words of a statistician or a terminal, never of a message or page staff read.
FORBIDDEN = ("基线", "P值", "p值", "校正", "统计窗口", "窗口", "显著", "置信", "泊松", "预期", "p_value", "q_value", "effect",
             "vbp-agent", "alerts ack", "alerts list", "notify test", "--mark-sent", "--by")
RAW = (re.compile(r"\d\.\d{3,}"),  # unrounded figures (505.9412)
       re.compile(r"(?<![\d,.])[1-9]\d{3,}(?![\d-])"),  # a quantity of 4 digits or more without its thousands separator
       re.compile(r"\b[a-z]+_[a-z_]+\b"))  # a value's key shown instead of its Chinese label


def _fixture_findings(tmp_path: Path) -> list[Finding]:
    """The monitoring fixture's hospital evaluated (progress, clocks) with a rising group beside it."""
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}", "H001")
    clock = FakeClock(NOW)
    rows = []
    for i in range(80):
        day = NOW.date() - timedelta(days=i)
        for dept in ("0101", "0105"):
            rows.append(DailyUsage(day, "RN", (30 if dept == "0105" and i < 7 else 10) * (1 if day.weekday() < 5 else 0.3), 0.0, dept))
            rows.append(DailyUsage(day, "RW", 30 * (1 if day.weekday() < 5 else 0.3), 0.0, dept))
    inputs = InMemoryInputs(fx.products(), [*fx.groups(), GenericGroup("R", "瑞舒伐他汀钙片", fx.NINTH, ("A9",))],
                            [*fx.links(), ItemLink("RN", "R", "可定", price=4.0), ItemLink("RW", "R", "中选瑞舒伐他汀", "A9")],
                            [*fx.usage(), *rows],
                            DeadlineInputs(acceptances=[Acceptance("L1", "阿托伐他汀钙片", clock.now() - timedelta(hours=30))]))
    found = evaluate(store, inputs, fx.Weekends(), clock, MonitoringConfig(detect=DetectConfig(persistence=1, overwhelming=0.0)))
    store.close()
    return found


def _rule_findings() -> list[Finding]:
    """One finding of each rule whose wording lives outside the evaluation above."""
    cell = CellTest(Cell("G1", "0101", "Y2"), 1320.0, 505.94, 7, 1e-8, 505.94, 1e-6, True)
    dept = CellTest(Cell("G1", "0101"), 1320.0, 505.94, 7, 1e-8, 505.94, 1e-6, True)  # the department uses Y2 alone
    group = CellTest(Cell("G1"), 1862.0, 505.94, 7, 0.02, 505.94)
    rise = RiseTest("G1", NOW.date(), 1862.0, 505.94, 1862 / 505.94 - 1, 0.0, 0.0, 0.1, 0.31, True, True, True, 7, (cell, dept),
                    group)
    evidence = {"departments": [{"code": "0101", "current": 1320.0, "expected": 505.94, "excess": 814.06, "share_of_rise": 0.9},
                                {"code": "0501", "current": 56.0, "expected": 28.02, "excess": 27.98, "share_of_rise": 0.03},
                                {"code": "0999", "current": 3.0, "expected": 0.64, "excess": 2.36, "share_of_rise": 0.003}],
                "prescribers": [], "items": [{"code": "Y2", "current": 1862.0, "expected": 505.94, "excess": 1356.06,
                                              "share_of_rise": 1.0}]}
    duty = annual_duty(2027, fx.Weekends())
    stopped = NotifyError("robot key revoked")
    item = OutboxItem(1, "notify:pharmacy", "k", {"title": "集采预警"}, 0, NOW)
    return [
        rise_finding(rise, GenericGroup("G1", "阿托伐他汀钙片", "第九批"), evidence, NOW, {"0101": "心血管内科"},
                     {"Y2": "阿托伐他汀钙片(立普妥)"}, "片"),
        prescriber_finding(PrescriberShare("G1", "0101", "D0101-07", 84.0, 100.0, 30.0, 300.0, 1e-6), GenericGroup("G1", "阿托伐他汀钙片", "第九批"),
                           NOW, 28, {"0101": "心血管内科"}),
        net_negative_finding(NetNegative("I1", "0101", [(date(2028, 2, 28), -1200.0)], -1150.0, [(date(2028, 2, 20), 50.0)]), NOW,
                             {"0101": "心血管内科"}, {"I1": "阿托伐他汀钙片"}),
        *price_findings([PricedReceipt("RK1", "YP1", "阿托伐他汀钙片", "某医药商行", False, 1252.0, listed_price=1047.6),
                         PricedReceipt("RK2", "YP2", "氨氯地平片", "乙医药", True, 2.0, winning_price=2.0, sale_price=2.4)], NOW),
        *annual_findings(duty, date(2028, 1, 20), NOW, sent=False, draft_path="/var/lib/vbp-agent/reports/年度报告_H001_2027.xlsx",
                         calendar=fx.Weekends()),
        stopped_finding(StoppedGroup("G2", date(2028, 2, 14), 1234.5, 42.4, ("N1", "N2")), GenericGroup("G2", "瑞舒伐他汀钙片", "第九批"),
                        NOW, products={"N1": "可定"}, unit="片"),
        _stopped_finding("pharmacy", stopped, NOW),
        _refused_finding("pharmacy", item, stopped, NOW),
    ]


@pytest.fixture(scope="module")
def alerts(tmp_path_factory: pytest.TempPathFactory) -> list[Alert]:
    found = _fixture_findings(tmp_path_factory.mktemp("words")) + _rule_findings()
    rules = {f.rule for f in found}
    assert {"progress_behind", "progress_zero", "arrival_confirmation", "non_winning_rise", "prescriber_concentration", "non_winning_stopped",
            "annual_report_due", "notify_receiver_stopped"} <= rules, rules
    return [Alert(key=f.key, rule=f.rule, subject=f.subject, severity=str(f.severity), title=f.title, labels=f.labels,
                  values=f.values, evidence=f.evidence, status="firing", fired_at=NOW - timedelta(hours=5),
                  resolved_at=NOW, changes=(NOW,) * 4) for f in found]


def _clean(text: str, where: str) -> None:
    for word in FORBIDDEN:
        assert word not in text, f"{where}: {word!r} in\n{text}"
    plain = re.sub(r"https?://\S+|[A-Z]{2,}\d*[\w-]*|\d{4}-\d{2}-\d{2}|\d{4}年|年度 \d{4}|D\d{4}-\d{2}|_\w+_\d{4}\.xlsx", "", text)
    for pattern in RAW:
        assert not pattern.search(plain), f"{where}: {pattern.search(plain).group()!r} in\n{text}"  # type: ignore[union-attr]


@pytest.mark.parametrize("kind", ["firing", "repeat", "resolved", "flapping", "escalate"])
@pytest.mark.parametrize("console", [BASE, None])
def test_every_message_kind_of_every_rule_reads_without_jargon_and_ends_with_the_console(alerts, kind, console) -> None:
    for a in alerts:
        text = group_message([Notice(kind, a, NOW)], TZ, console)["text"]
        _clean(text, f"{a.rule} {kind}")
        last = text.splitlines()[-1]
        assert last.startswith(f"详情：{BASE}/alert?key=") if console else last == NO_CONSOLE, text
    grouped = group_message([Notice(kind, a, NOW) for a in alerts], TZ, console)["text"]
    _clean(grouped, f"grouped {kind}")
    assert grouped.splitlines()[-1].startswith(f"详情：{BASE}/alert?key=") if console else grouped.endswith(NO_CONSOLE)


@pytest.mark.parametrize("console", [BASE, None])
def test_the_digest_the_probe_and_a_message_cut_short_read_without_jargon(alerts, console) -> None:
    digest = digest_message(alerts, "第九批国家集采 3 个品种落后", NOW, TZ, limit=3, console_url=console)["text"]
    _clean(digest, "digest")
    assert digest.endswith(f"{BASE}/alerts" if console else NO_CONSOLE)
    _clean(probe_message("pharmacy", NOW, TZ, console)["text"], "probe")
    long = group_message([Notice("firing", a, NOW) for a in alerts * 20], TZ, console)["text"]
    parts = split_text(long, 2048, max_parts=3, more=more_text(console))
    assert len(parts) == 3
    for part in parts:
        _clean(part, "split")
    assert parts[-1].endswith(f"{BASE}/alerts" if console else "（控制台地址请问信息科）。")


def test_the_console_s_alert_page_shows_values_and_evidence_in_words(alerts) -> None:
    for a in alerts:
        shown = "\n".join(f"{k} {v}" for k, v in shown_values(a.values))
        shown += "\n" + "\n".join(f"{k} {'；'.join(lines)}" for k, lines in evidence_lines(a.evidence))
        _clean(shown, f"page {a.rule}")
    (rise,) = [a for a in alerts if a.rule == "non_winning_rise" and a.subject == "G1"]
    assert ("全组非中选", "近7日 1,862，平时约 506，约 3.7 倍") in shown_values(rise.values)
    assert "心血管内科：阿托伐他汀钙片(立普妥) 平时约 506 片/周，近7日 1,320 片，约 2.6 倍" in rise.title
    cells = dict(evidence_lines(rise.evidence))
    assert cells["主要科室"] == ["心血管内科(0101)：近期 1,320，平时约 506，多用 814（占上升的 90%）",
                             "0501：近期 56，平时约 28，多用 28（占上升的 3%）",  # about 28 tablets, not 28.02
                             "0999：近期 3，平时约 0.6，多用 2.4（占上升的 0%）"]
    assert cells["主要品种"] == ["阿托伐他汀钙片(立普妥)(Y2)：近期 1,862，平时约 506，多用 1,356（占上升的 100%）"]  # by name
    # the department that uses Y2 alone carries the same figures as Y2 there: said once, by the narrower cell
    assert cells["上升所在"] == ["心血管内科：阿托伐他汀钙片(立普妥) 平时约 506 片/周，近7日 1,320 片，约 2.6 倍"]
