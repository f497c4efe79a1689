"""The ports the adapters implement. Protocols, not base classes.

Source ports yield domain rows, or a :class:`BadRow` for a row that could not be converted; the
ingestion jobs validate the rest and quarantine (隔离) what fails, so one bad row never stops a batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from agent.clock import Clock
from agent.domain.model import BadRow, LocalItem, Receipt, UsageRow
from agent.domain.monitoring_model import (
    AcceptedTotal,
    DailyUsage,
    DeadlineInputs,
    GenericGroup,
    ItemLink,
    ProductYear,
    PurchaseMix,
    UsageTotal,
)
from agent.domain.uploads import InsuranceUpload
from agent.domain.usage_series import UsageSeries
from agent.domain.workdays import WorkdayCalendar  # declared in the domain, which imports nothing of agent/

__all__ = [
    "BadRow", "Clock", "DepartmentSource", "InsuranceLogSource", "ItemSource", "MonitoringInputs", "ReceiptCursor", "ReceiptSource",
    "UsageSource", "WorkdayCalendar",
]


class UsageSource(Protocol):
    """HIS or prescription system: usage already grouped in the database (patient fields never selected)."""

    name: str

    def read_usage(self, day_from: date, day_to: date) -> Iterator[UsageRow | BadRow]:
        """Rows for days in [day_from, day_to], grouped by day, item, department and setting
        (and prescriber, when configured); quantity in the HIS unit, net of returns (退药)."""
        ...

    def day_totals(self, day_from: date, day_to: date) -> Iterator[tuple[date, int, Decimal]]:
        """Per day: (day, source row count, quantity sum), for reconciliation (对账)."""
        ...


class ItemSource(Protocol):
    """The HIS item dictionary (药品字典 / 物资字典)."""

    name: str

    def read_items(self) -> Iterator[LocalItem | BadRow]: ...


class InsuranceLogSource(Protocol):
    """The HIS's 医保 interface log: the 进销存 calls (3501-3507) and the platform's answers."""

    name: str

    def read_insurance_uploads(self, day_from: date, day_to: date) -> Iterator[InsuranceUpload | BadRow]:
        """One call per row for business days [day_from, day_to]; never the message body."""
        ...


class DepartmentSource(Protocol):
    """The HIS department dictionary (科室字典): what staff call the codes usage is grouped by."""

    name: str

    def read_departments(self) -> Iterator[tuple[str, str] | BadRow]:
        """(code, name) pairs, text stripped; a row without a code or name comes back as a BadRow."""
        ...


@dataclass(frozen=True)
class ReceiptCursor:
    """Keyset position ``(changed_at, line_id)``; ``None`` fields mean the beginning."""

    changed_at: datetime | None = None
    line_id: str | None = None


class ReceiptSource(Protocol):
    """Warehouse (库房 / 物资) receipts (入库明细), read by keyset cursor."""

    name: str

    def read_receipts(self, cursor: ReceiptCursor, until: datetime, limit: int) -> Iterable[Receipt | BadRow]:
        """At most ``limit`` lines with (changed_at, line_id) > cursor and changed_at <= until,
        ordered by both. Times are timezone-aware."""
        ...

    def source_now(self) -> datetime:
        """The source database's own clock (the cursor's upper bound is taken from it)."""
        ...


class MonitoringInputs(Protocol):
    """What monitoring reads; implemented over the ingestion and catalogue tables."""

    def product_years(self, day_from: date, day_to: date) -> list[ProductYear]:
        """Agreement years that overlap [day_from, day_to]."""
        ...

    def groups(self) -> list[GenericGroup]: ...

    def item_links(self) -> list[ItemLink]: ...

    def usage_totals(self, day_from: date, day_to: date) -> Iterable[UsageTotal]:
        """Per local item, summed over [day_from, day_to] (SUM in the store)."""
        ...

    def dept_usage(self, day_from: date, day_to: date, items: Iterable[str]) -> Iterable[DailyUsage]:
        """Per day x item x department (x prescriber when recorded) for the given items, with the
        source lines behind each (its dispensings: rise detection counts in them)."""
        ...

    def usage_series(self, day_from: date, day_to: date, items: Iterable[str], departments: bool = True) -> UsageSeries:
        """What :meth:`dept_usage` gives (``departments=False``: summed per day and item), as series
        over [day_from, day_to] per (item, department, prescriber): rise detection reads a million
        such figures an evaluation (:mod:`agent.domain.usage_series`)."""
        ...

    def negative_days(self, day_from: date, day_to: date, items: Iterable[str]) -> Iterable[DailyUsage]:
        """Per item x department x day on [day_from, day_to], the nets below zero only (returns
        exceeding that day's issues; HAVING in the store), prescribers summed."""
        ...

    def accepted_totals(self, day_from: date, day_to: date) -> Iterable[AcceptedTotal] | None:
        """Per local item x unit x on/off platform, receipt lines accepted on [day_from, day_to]
        (SUM in the store); None when the hospital has no warehouse receipts at all (no source)."""
        ...

    def purchase_mix(self, day_from: date, day_to: date) -> Iterable[PurchaseMix]:
        """On-platform and total amounts per kind of the receipt lines accepted on [day_from,
        day_to] (网采率's figures)."""
        ...

    def deadline_inputs(self, as_of: datetime) -> DeadlineInputs:
        """Open clocks (unconfirmed acceptances, open orders, unpaid bills, unfiled purchases),
        the purchase mix of the current month and the pending volume plans."""
        ...
