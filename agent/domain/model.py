"""Rows the source ports yield. Patient identifiers have no field here, on purpose."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum


class Setting(StrEnum):
    """Where a dispensing happened (门诊 / 住院 / 急诊)."""

    OUTPATIENT = "outpatient"
    INPATIENT = "inpatient"
    EMERGENCY = "emergency"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class UsageRow:
    """One day x item x department x setting aggregate, grouped inside the source database."""

    day: date
    item_code: str
    dept_code: str
    setting: Setting
    quantity: Decimal  # in the HIS unit, net of returns
    amount: Decimal  # yuan, net of returns
    lines: int = 0  # source rows behind the aggregate (for reconciliation)
    prescriber_code: str | None = None


@dataclass(frozen=True, slots=True)
class UsageColumns:
    """One fetch of usage rows that came typed from the driver (dates, unpadded text, a known
    setting, Decimal sums, int lines): the ingestion hot path takes it whole, column by column,
    instead of row by row. ``keys[i]`` is ``(day, item, dept, setting, prescriber or "")`` and
    ``values[i]`` is ``(quantity, amount, lines)``; ``days``, ``items`` and ``depts`` are the same
    rows' columns."""

    days: Sequence[date]
    items: Sequence[str]
    depts: Sequence[str]
    keys: Sequence[tuple[date, str, str, str, str]]
    values: Sequence[tuple[Decimal, Decimal, int]]


TEXT_FIELDS = ("day", "item_code", "dept_code", "setting", "quantity", "amount", "lines")


@dataclass(frozen=True, slots=True)
class UsageText:
    """A whole window's usage rows as text, as a packed source delivered them: ``fields`` holds
    ``TEXT_FIELDS`` for each row one after another (the day in ISO form, the codes, the setting's
    value, the sums and the line count as decimal numerals), so a store can take them as they
    are, with no Python object built per value. ``totals`` is, per day, the source's own
    ``(lines, quantity, rows)`` over those rows. The source has checked the form of every value
    (numerals, known settings, unpadded codes, the counts adding up); the ingestion still judges
    the days and codes (:func:`agent.jobs.ingest_usage.read_window`). A key may come twice (two
    source values mapped to one setting): a store refuses the text then, and :meth:`merged`
    sums them."""

    fields: list[str]
    totals: dict[date, tuple[int, Decimal, int]]

    @property
    def rows(self) -> int:
        return len(self.fields) // len(TEXT_FIELDS)

    @property
    def items(self) -> list[str]:
        return self.fields[1::7]

    @property
    def depts(self) -> list[str]:
        return self.fields[2::7]

    def columns(self) -> UsageColumns:
        """The same rows typed, as a typed fetch hands them over."""
        iso = {d.isoformat(): d for d in self.totals}
        f = self.fields
        days = [iso.get(d) or date.fromisoformat(d) for d in f[0::7]]
        items, depts = f[1::7], f[2::7]
        values = list(zip(map(Decimal, f[4::7]), map(Decimal, f[5::7]), map(int, f[6::7]), strict=True))
        return UsageColumns(days, items, depts, list(zip(days, items, depts, f[3::7], ["" for _ in days], strict=True)),
                            values)

    def merged(self) -> dict[tuple, tuple]:
        """The rows by key ``(day, item, dept, setting, "")`` as ``(quantity, amount, lines)``, a key
        that came twice summed."""
        cols = self.columns()
        out: dict[tuple, tuple] = {}
        for key, (q, a, n) in zip(cols.keys, cols.values, strict=True):
            acc = out.get(key)
            out[key] = (q, a, n) if acc is None else (acc[0] + q, acc[1] + a, acc[2] + n)
        return out


@dataclass(frozen=True, slots=True)
class LocalItem:
    """An item of the hospital's own catalogue (HIS 药品字典 / 物资字典)."""

    code: str
    name: str
    generic_name: str | None = None
    dosage_form: str | None = None
    spec: str | None = None
    manufacturer: str | None = None
    his_unit: str | None = None
    pack_factor: Decimal | None = None  # smallest units per HIS unit, when the HIS holds it
    national_code: str | None = None
    price: Decimal | None = None
    kind: str = "drug"  # drug | consumable
    registration_no: str | None = None  # consumables: 注册证号 / 备案凭证号, when the dictionary holds it


@dataclass(frozen=True, slots=True)
class Receipt:
    """One warehouse receipt line (入库明细): goods received and accepted."""

    line_id: str
    changed_at: datetime
    item_code: str
    quantity: Decimal
    unit: str | None
    lot: str | None
    expiry: date | None
    distributor: str | None
    accepted_at: datetime | None
    delivery_id: str | None = None  # the platform's 配送单 line id, when the warehouse records it
    order_id: str | None = None
    invoice_no: str | None = None
    unit_price: Decimal | None = None
    on_platform: bool = True
    deleted: bool = False
    delivery_note_no: str | None = None  # the distributor's 配送单号 on the 入库单
    receipt_no: str | None = None  # the warehouse's own 入库单号
    pack_factor: Decimal | None = None  # smallest units per unit of this line, when the warehouse records it


@dataclass(frozen=True, slots=True)
class BadRow:
    """A source row that failed validation; it goes to quarantine (隔离), the rest of the batch proceeds.

    ``raw`` holds the selected values only; the presets never select patient fields.
    """

    kind: str  # usage | receipt | item | department | insurance_upload
    key: str
    reason: str
    raw: dict[str, str | None]
    changed_at: datetime | None = None  # receipts: the keyset position, so the cursor moves past it
