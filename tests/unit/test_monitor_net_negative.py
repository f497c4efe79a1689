"""Returns exceeding a month of issues are a data-quality finding with the rows behind it; a
return landing days after its issue (on its own day) is not."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from agent.clock import FakeClock
from agent.domain.monitoring_model import DailyUsage
from agent.domain.net_negative import RULE_NET_NEGATIVE, net_negative_finding, net_negative_usage
from agent.jobs.evaluate import evaluate
from agent.jobs.memory_inputs import InMemoryInputs
from agent.store import open_store
from agent.store.platform import active_findings
from tests.unit import monitor_fixture as fx

END = date(2028, 2, 28)


def _ward(days: int = 60) -> list[DailyUsage]:
    """心内科 (0301) issues 20 boxes of I1 every day and returns 3 to 25 boxes a few days later, on
    the return's own day: day-level nets below zero are routine here."""
    rows = []
    for i in range(days):
        day = END - timedelta(days=i)
        rows.append(DailyUsage(day, "I1", 20, 200, "0301", "D01"))
        if i % 9 == 0:
            rows.append(DailyUsage(day, "I1", -45, -450, "0301", "D02"))  # the day nets -25
    return rows


def test_a_return_landing_on_its_own_day_after_the_issues_is_not_a_finding() -> None:
    rows = _ward()
    assert any(sum(r.qty for r in rows if r.day == d) < 0 for d in {r.day for r in rows})  # negative days exist
    assert net_negative_usage(rows, END) == []


def test_returns_exceeding_thirty_days_of_issues_are_found_with_the_rows_behind_them() -> None:
    rows = [*_ward(), DailyUsage(END - timedelta(days=40), "I2", 10, 1, "0402"),  # 老年病科: issued 41 days ago
            DailyUsage(END - timedelta(days=12), "I2", 5, 0.5, "0402"),
            DailyUsage(END - timedelta(days=2), "I2", -30, -3, "0402")]  # 30 back against 5 in the month
    [n] = net_negative_usage(rows, END)
    assert (n.item_code, n.dept, n.days, n.span_net) == ("I2", "0402", [(END - timedelta(days=2), -30)], -25)
    assert n.rows == [(END - timedelta(days=12), 5), (END - timedelta(days=2), -30)]
    f = net_negative_finding(n, datetime(2028, 2, 29, 8), {"0402": "老年病科"}, {"I2": "苯磺酸氨氯地平片 5mg"})
    assert f.rule == RULE_NET_NEGATIVE and f.subject == "I2|0402"
    assert f.title.startswith("用量数据有误：老年病科 苯磺酸氨氯地平片 5mg 02月26日退药 30，多于此前30天该科室的全部发药")
    assert f.evidence["rows"] == [{"day": "2028-02-16", "net": 5}, {"day": "2028-02-26", "net": -30}]


def test_only_the_last_week_is_examined_so_an_old_error_is_raised_once_then_left() -> None:
    rows = [DailyUsage(END - timedelta(days=10), "I2", -8, -1, "0402")]
    assert net_negative_usage(rows, END) == []
    assert len(net_negative_usage(rows, END - timedelta(days=4))) == 1


def test_the_evaluation_raises_it_and_resolves_it_once_the_his_is_corrected(store_url: str) -> None:
    store = open_store(store_url, "H001")
    bad = DailyUsage(date(2028, 2, 29), "I2", -300, -30, "老年病科")
    clock = FakeClock(datetime(2028, 3, 1, 10, 0))
    evaluate(store, InMemoryInputs(fx.products(), fx.groups(), fx.links(), [*fx.usage(), bad]), fx.Weekends(), clock)
    with store.read() as conn:
        found = active_findings(conn, "H001", RULE_NET_NEGATIVE)
    assert [f["subject"] for f in found] == ["I2|老年病科"]
    assert found[0]["evidence"]["negative_days"] == [{"day": "2028-02-29", "net": -300}]
    clock.advance(timedelta(hours=1))
    evaluate(store, InMemoryInputs(fx.products(), fx.groups(), fx.links(), fx.usage()), fx.Weekends(), clock)
    with store.read() as conn:
        assert active_findings(conn, "H001", RULE_NET_NEGATIVE) == []
    store.close()
