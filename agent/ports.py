"""The ports the adapters implement. Protocols, not base classes."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from agent.clock import Clock
from agent.domain.model import LocalItem, Receipt, UsageRow

__all__ = ["Clock", "ItemSource", "ReceiptCursor", "ReceiptSource", "Sender", "UsageSource", "WorkdayCalendar"]


class WorkdayCalendar(Protocol):
    def is_workday(self, day: date) -> bool: ...


class UsageSource(Protocol):
    """HIS or prescription system: usage already grouped in the database."""

    name: str

    def read_usage(self, day_from: date, day_to: date) -> Iterator[UsageRow]:
        """Rows for days in [day_from, day_to], grouped by day, item, department and setting."""
        ...

    def day_totals(self, day_from: date, day_to: date) -> Iterator[tuple[date, int, Any]]:
        """Per day: (day, source row count, quantity sum), for reconciliation."""
        ...


class ItemSource(Protocol):
    name: str

    def read_items(self) -> Iterator[LocalItem]: ...


@dataclass(frozen=True)
class ReceiptCursor:
    """Keyset position ``(changed_at, line_id)``; ``None`` fields mean the beginning."""

    changed_at: datetime | None = None
    line_id: str | None = None


class ReceiptSource(Protocol):
    """Warehouse (库房 / 物资) receipts, read by keyset cursor."""

    name: str

    def read_receipts(self, cursor: ReceiptCursor, until: datetime, limit: int) -> Iterable[Receipt]:
        """Lines with (changed_at, line_id) > cursor and changed_at <= until, ordered by both."""
        ...

    def source_now(self) -> datetime:
        """The source database's own clock (the cursor's upper bound is taken from it)."""
        ...


class Sender(Protocol):
    """A notification transport (WeCom, DingTalk, Feishu, email, webhook)."""

    name: str

    def send(self, message: Any) -> dict[str, Any]: ...
