"""The month's shortage and misconduct clues (短缺 / 违约线索, issue #21): the clocks' breaches
and the off-platform price findings with their order and receipt lines, the clues staff recorded,
and (apart, 内部) the prescriber concentration findings."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from agent.clock import Clock
from agent.domain.clues import CLOCK_CLUES, Clue, ClueReport, check_clue_type, check_role, clock_clues, sort_clues
from agent.domain.prescriber_share import RULE_PRESCRIBER
from agent.domain.prices import RULE_PRICE
from agent.domain.reporting import month_bounds
from agent.errors import ConfigError
from agent.store import Store
from agent.store.clues import add_clue, clues_of_month, evidence_lines
from agent.store.findings import findings_between


def month_moments(month: str, clock: Clock) -> tuple[datetime, datetime]:
    """The month's first moment and the next month's, in the hospital's zone."""
    first, last = month_bounds(month)
    return datetime.combine(first, time(0), clock.tz), datetime.combine(last + timedelta(days=1), time(0), clock.tz)


def record_clue(store: Store, clock: Clock, month: str, supplier: str, clue_type: str, detail: str, by: str,
                product: str | None = None, role: str = "配送企业") -> int:
    """Store a clue a person recorded; a type outside the bureau's list is refused (ConfigError, in Chinese)."""
    try:
        kind, role = check_clue_type(clue_type), check_role(role)
    except ValueError as e:
        raise ConfigError(str(e)) from None
    for name, value in (("--supplier", supplier), ("--detail", detail), ("--by", by)):
        if not value.strip():
            raise ConfigError(f"{name} 不能为空")
    with store.begin() as conn:
        return add_clue(conn, store.hospital_code, month, supplier.strip(), role, kind, detail.strip(), by.strip(),
                        clock.now(), product.strip() if product else None)


def clue_report(store: Store, clock: Clock, month: str, hospital_name: str) -> ClueReport:
    start, end = month_moments(month, clock)
    with store.read() as conn:
        hospital = store.hospital_code
        found = findings_between(conn, hospital, [*CLOCK_CLUES, RULE_PRICE], start, max(end, clock.now()) + timedelta(days=1))
        orders, receipts = evidence_lines(conn, hospital, start, clock.tz)
        staff = clues_of_month(conn, hospital, month)
        internal = findings_between(conn, hospital, [RULE_PRESCRIBER], start, end)
    clues = clock_clues(found, orders, receipts, start, end)
    clues += [Clue(s.supplier, s.role, s.clue_type, s.product or "", s.detail, None, "人工登记", (f"登记{s.id}",),
                   s.recorded_by) for s in staff]
    return ClueReport(hospital, hospital_name, month, sort_clues(clues), internal)
