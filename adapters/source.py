"""A source database read through a preset: implements UsageSource, ItemSource, DepartmentSource
and ReceiptSource.

Values come back from three drivers in three shapes (SQLite returns dates as text and sums as
floats; naive times are the source's local time). They are normalised here into the domain's
types; a row that cannot be converted becomes a :class:`BadRow`, never an exception that stops
the batch.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal, InvalidOperation
from itertools import chain, repeat
from typing import Any

from adapters.odbc import OdbcSource
from adapters.preset import COLUMNS, OPTIONAL_COLUMNS, Preset
from agent.domain.model import TEXT_FIELDS, BadRow, LocalItem, Receipt, Setting, UsageColumns, UsageRow, UsageText
from agent.domain.uploads import InsuranceUpload
from agent.errors import SourceError
from agent.ports import Clock, ReceiptCursor

_TRUE = {"1", "y", "t", "true", "yes", "是"}
_SETTINGS = {s.value: s for s in Setting}
_SETTING_VALUES: dict[Any, str] = {s.value: s.value for s in Setting}
_DATE, _STR, _DECIMAL, _INT = {date}, {str}, {Decimal}, {int}
_SEP = "\ue000"  # joins a column's codes for one regex search (a private-use character)
_PADDED = re.compile(f"{_SEP}\\s|\\s{_SEP}")
UsageTuple = tuple[date, str, str, str, Decimal, Decimal, int, "str | None"]


def as_date(v: Any) -> date:
    if type(v) is date:
        return v
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    return date.fromisoformat(str(v).strip()[:10])


def as_decimal(v: Any) -> Decimal:
    if type(v) is Decimal:
        return v
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        v = v if isinstance(v, int) else round(v, 6)
        return Decimal(v) if isinstance(v, int) else Decimal(repr(v))
    if isinstance(v, float):
        return Decimal(repr(round(v, 6)))
    if v is None:
        raise InvalidOperation("missing number")
    return Decimal(str(v).strip())


def opt_decimal(v: Any) -> Decimal | None:
    return None if v is None or str(v).strip() == "" else as_decimal(v)


def as_text(v: Any) -> str | None:
    if v is None:
        return None
    if type(v) is str and v and not v[0].isspace() and not v[-1].isspace():
        return v
    if isinstance(v, bytes):
        return v.decode("utf-8", errors="replace")
    text = str(v).strip()
    return text or None


def as_flag(v: Any, default: bool) -> bool:
    if v is None or str(v).strip() == "":
        return default
    return str(v).strip().lower() in _TRUE


def raw_of(names: tuple[str, ...], row: tuple[Any, ...]) -> dict[str, str | None]:
    return {n: (None if v is None else str(v)) for n, v in zip(names, row, strict=False)}


def _typed_columns(batch: list[Any]) -> UsageColumns | None:
    """A ``usage`` batch as columns when every value already has its domain type (day a date,
    codes unpadded text, a known setting, Decimal sums, int lines); None when one does not. Each
    test runs over a whole column in C: no Python step per row."""
    return _checked_columns(*zip(*batch, strict=True))


def _checked_columns(days: Sequence[Any], items: Sequence[Any], depts: Sequence[Any], settings: Sequence[Any],
                     quantities: Sequence[Any], amounts: Sequence[Any], lines: Sequence[Any]) -> UsageColumns | None:
    if not (set(map(type, days)) == _DATE and set(map(type, items)) == _STR and set(map(type, depts)) == _STR
            and set(map(type, quantities)) == _DECIMAL and set(map(type, amounts)) == _DECIMAL
            and set(map(type, lines)) == _INT and _SETTING_VALUES.keys() >= set(settings)):
        return None
    if _PADDED.search(_SEP + _SEP.join(items) + _SEP + _SEP.join(depts) + _SEP):
        return None  # CHAR columns: padded codes go the row-by-row way, which strips them
    return UsageColumns(days, items, depts, list(zip(days, items, depts, settings, repeat(""))),
                        list(zip(quantities, amounts, lines, strict=True)))


# The packed read (PostgreSQL): the preset's usage query wrapped in one more GROUP BY inside the
# database, one row per day: (day, rows packed, the rows as text, their quantity and lines: the
# day's totals without a number unpacked). The row cost of ODBC is per row and per column
# (psqlODBC and pyodbc build a Python object per value), so a window crosses in a handful of rows
# and the client's fetch almost vanishes (bench-ingest: plain_floor_s against pyodbc_floor_s).
# The rows are packed in the order of the store's primary key (item, department, setting, by
# byte: COLLATE "C", SQLite's BINARY), so a backfill's inserts are appends (bench-ingest: a third
# less SQLite time than the same rows in the database's grouping order). Unit (31) and record
# (30) separators cannot be in a valid code (validate refuses control characters); a NULL in a
# row drops its text from STRING_AGG, so the row count beside it tells: any count, type or
# setting that does not check out reads the window again with the plain query, whose rows go the
# usual way (quarantine).
_UNIT, _RECORD = "\x1f", "\x1e"
# Not a numeral: a numeric cast's text is digits, sign and point or NaN/Infinity; an integer's, no point.
_NOT_NUMERAL, _NOT_INTEGER = re.compile("[^-.0-9\x1f]"), re.compile("[^-0-9\x1f]")


def _numerals(values: list[str], integers: bool = False) -> bool:
    """Whether every value has a numeral's characters and none is empty (one scan of the column)."""
    text = _UNIT.join(values)
    return not ((_NOT_INTEGER if integers else _NOT_NUMERAL).search(text) or _UNIT + _UNIT in text
                or text[:1] == _UNIT or text[-1:] == _UNIT or "" in values[:1])
PACKED: dict[str, str] = {
    "postgresql": (
        "SELECT p.day, COUNT(*) AS n, STRING_AGG(CAST(p.item_code AS TEXT) || CHR(31) || CAST(p.dept_code AS TEXT) || "
        "CHR(31) || CAST(p.setting AS TEXT) || CHR(31) || CAST(CAST(p.quantity AS NUMERIC) AS TEXT) || CHR(31) || "
        "CAST(CAST(p.amount AS NUMERIC) AS TEXT) || CHR(31) || CAST(p.lines AS TEXT), CHR(30) "
        'ORDER BY CAST(p.item_code AS TEXT) COLLATE "C", CAST(p.dept_code AS TEXT) COLLATE "C", '
        'CAST(p.setting AS TEXT) COLLATE "C") AS packed, '
        "SUM(CAST(p.quantity AS NUMERIC)) AS quantity, CAST(SUM(p.lines) AS BIGINT) AS lines\n"
        "FROM (\n{sql}\n) AS p (day, item_code, dept_code, setting, quantity, amount, lines)\n"
        "GROUP BY p.day ORDER BY p.day"
    ),
}


def _split(rows: list[Any]) -> tuple[list[Any], list[int], list[str]] | None:
    """Packed rows' days and counts, and their text split into the rows' fields as ``TEXT_FIELDS``
    orders them (the day in ISO form written into each row); None when the text does not split
    into exactly the rows counted (a NULL, a separator inside a value). Packed rows of the
    per-department form ``(day, dept, n, text)`` (records of item, setting and numbers) split
    alike. C-level steps: one replace per packed row, one split."""
    days: Sequence[Any]
    if len(rows[0]) == 4:
        days, depts, counts, texts = zip(*rows, strict=True)
        if None in texts or set(map(type, counts)) != _INT:
            return None
        parts = _UNIT.join(texts).replace(_RECORD, _UNIT).split(_UNIT)
        if len(parts) != 5 * sum(counts):
            return None
        dept_col = list(chain.from_iterable(map(repeat, depts, counts)))
        day_col = [str(d) for d in chain.from_iterable(map(repeat, days, counts))]
        fields = list(chain.from_iterable(zip(day_col, parts[0::5], dept_col, parts[1::5], parts[2::5], parts[3::5],
                                              parts[4::5], strict=True)))
        return list(days), list(counts), fields
    days, counts, texts = list(zip(*rows, strict=True))[:3]
    if None in texts or set(map(type, counts)) != _INT or set(map(type, days)) != _DATE:
        return None
    heads = [f"{d.isoformat()}{_UNIT}" for d in days]
    fields = _UNIT.join([h + t.replace(_RECORD, _UNIT + h) for h, t in zip(heads, texts, strict=True)]).split(_UNIT)
    if len(fields) != len(TEXT_FIELDS) * sum(counts):
        return None
    return list(days), list(counts), fields


def _as_text(rows: list[Any]) -> UsageText | None:
    """Packed rows ``(day, n, text, quantity, lines)`` as :class:`UsageText`, every value left as
    the text the database wrote (ISO days, its numerals), when every value's form checks out
    (known settings, unpadded codes, numerals); None when one does not (the rows are then
    unpacked and converted: :func:`_unpack`). Whole columns at a time, no Python step per usage
    row."""
    if not rows or len(rows[0]) != 5:
        return None
    split = _split(rows)
    if split is None:
        return None
    days, counts, fields = split
    _, _, _, quantities, lines = zip(*rows, strict=True)
    if set(map(type, quantities)) != _DECIMAL or set(map(type, lines)) != _INT:
        return None
    w = len(TEXT_FIELDS)
    if not _SETTING_VALUES.keys() >= set(fields[3::w]):
        return None
    if _PADDED.search(_SEP + _SEP.join(set(fields[1::w])) + _SEP + _SEP.join(set(fields[2::w])) + _SEP):
        return None
    if not (_numerals(fields[4::w]) and _numerals(fields[5::w]) and _numerals(fields[6::w], integers=True)):
        return None
    totals: dict[date, tuple[int, Decimal, int]] = {}
    for d, n, q, k in zip(days, counts, quantities, lines, strict=True):
        acc = totals.get(d)
        totals[d] = (k, q, n) if acc is None else (acc[0] + k, acc[1] + q, acc[2] + n)
    return UsageText(fields, totals)


def _typed_unpacked(columns: tuple[list[Any], ...]) -> bool:
    """What :func:`_checked_columns` tells of a plain fetch, for unpacked columns: the numbers are
    Decimal and int by construction and the codes text, so only the days, the settings and the
    padding are looked at (each distinct value once)."""
    items, depts = set(columns[1]), set(columns[2])
    return (set(map(type, set(columns[0]))) <= _DATE and _SETTING_VALUES.keys() >= set(columns[3])
            and not _PADDED.search(_SEP + _SEP.join(items) + _SEP + _SEP.join(depts) + _SEP))


def _unpack(rows: list[Any]) -> tuple[list[Any], ...] | None:
    """Packed rows as the seven usage columns (days as the driver gave them, numbers as Decimal
    and int), or None when they do not unpack to exactly the rows counted (a NULL, a separator
    inside a value, a value that is not a number): whole columns at a time."""
    if not rows:
        return ([],) * 7
    split = _split(rows)
    if split is None:
        return None
    days, counts, fields = split
    w = len(TEXT_FIELDS)
    try:
        quantities = list(map(Decimal, fields[4::w]))
        amounts = list(map(Decimal, fields[5::w]))
        lines = list(map(int, fields[6::w]))
    except (ValueError, ArithmeticError):
        return None
    return (list(chain.from_iterable(map(repeat, days, counts))), fields[1::w], fields[2::w], fields[3::w], quantities,
            amounts, lines)


class SqlSource:
    """One configured source: an ODBC connection plus the preset's SQL for its engine."""

    def __init__(self, name: str, preset: Preset, odbc: OdbcSource, tz: tzinfo, *, by_prescriber: bool = False,
                 clock: Clock | None = None, packed: bool = True) -> None:
        self.name = name
        self.clock = clock
        self.preset = preset
        self.odbc = odbc
        self.tz = tz
        self.by_prescriber = by_prescriber and "usage_by_prescriber" in preset.queries
        self.packed = packed and not self.by_prescriber and odbc.engine in PACKED
        self._packed_checked: bool | None = None
        self._sql: dict[str, tuple[str, tuple[str, ...]]] = {}

    def has(self, query: str) -> bool:
        return query in self.preset.queries

    def sql(self, query: str, values: dict[str, Any]) -> tuple[str, list[Any]]:
        """The query for this engine (transpiled once, then cached) and its parameters in order."""
        found = self._sql.get(query)
        if found is None:
            found = self._sql[query] = self.preset.sql_for(query, self.odbc.engine)
        text, names = found
        return text, [values[n] for n in names]

    def _run(self, query: str, values: dict[str, Any]) -> Iterator[tuple[Any, ...]]:
        """The query's rows; a query returning the wrong number of columns is a permanent error."""
        text, params = self.sql(query, values)
        expected, optional = COLUMNS[query], OPTIONAL_COLUMNS.get(query, ())
        for i, row in enumerate(self.odbc.stream(text, params)):
            if i == 0 and len(row) != len(expected) and len(row) != len(expected) + len(optional):
                more = f" (then optionally {', '.join(optional)})" if optional else ""
                raise SourceError(f"source {self.name}: query '{query}' returns {len(row)} columns; expected "
                                  f"{len(expected)}: {', '.join(expected)}{more}", transient=False)
            yield row

    def aware(self, v: Any) -> datetime | None:
        if v is None or str(v).strip() == "":
            return None
        t = v if isinstance(v, datetime) else datetime.fromisoformat(str(v).strip())
        return t.replace(tzinfo=self.tz) if t.tzinfo is None else t

    def naive(self, t: datetime) -> datetime:
        return t.astimezone(self.tz).replace(tzinfo=None)

    # -- UsageSource ---------------------------------------------------------------------------
    def read_usage(self, day_from: date, day_to: date) -> Iterator[UsageRow | BadRow]:
        for r in self.read_usage_tuples(day_from, day_to):
            yield r if type(r) is BadRow else UsageRow(r[0], r[1], r[2], _SETTINGS[r[3]], r[4], r[5], r[6], r[7])

    def read_usage_tuples(self, day_from: date, day_to: date) -> Iterator[UsageTuple | BadRow]:
        """:meth:`read_usage` as plain tuples in UsageRow's field order, the setting as its value:
        ``(day, item_code, dept_code, setting, quantity, amount, lines, prescriber_code)``."""
        for batch in self.read_usage_batches(day_from, day_to):
            if type(batch) is UsageText:
                batch = batch.columns()
            if type(batch) is UsageColumns:
                for (day, item, dept, setting, prescriber), (quantity, amount, lines) in zip(batch.keys, batch.values,
                                                                                            strict=True):
                    yield day, item, dept, setting, quantity, amount, lines, prescriber or None
            else:
                yield from batch

    def usage_query(self, day_from: date, day_to: date) -> tuple[str, list[Any]]:
        """The usage query this source runs for [day_from, day_to] (packed where the engine has it)
        and its parameters: what bench-ingest streams for the agent's own floor."""
        query = "usage_by_prescriber" if self.by_prescriber else "usage"
        text, params = self.sql(query, {"day_from": day_from, "day_to": day_to, "day_to_next": day_to + timedelta(days=1)})
        return (PACKED[self.odbc.engine].format(sql=text) if self.packed else text), params

    def _packable(self, day_from: date, day_to: date) -> bool:
        """Whether the usage query returns the seven columns the packed query names (checked once,
        planned with no rows read): with more, ``AS p (...)`` would name only the first seven."""
        if self._packed_checked is None:
            text, params = self.sql("usage", {"day_from": day_from, "day_to": day_to, "day_to_next": day_to})
            names, _ = self.odbc.sample(f"SELECT * FROM (\n{text}\n) AS p LIMIT 0", params, limit=1)
            self._packed_checked = len(names) == len(COLUMNS["usage"])
            self.packed = self._packed_checked
        return self.packed

    def read_usage_batches(self, day_from: date, day_to: date) -> Iterator[UsageText | UsageColumns | list[UsageTuple | BadRow]]:
        """The usage rows one ``fetchmany`` at a time: the ingestion hot path. A batch whose columns
        all came typed from the driver (the common case with PostgreSQL, SQL Server and Oracle
        drivers: checked a column at a time, in C) is passed on whole as :class:`UsageColumns`;
        any other batch is converted row by row (tuples as :meth:`read_usage_tuples` yields them,
        a row that cannot be converted as a BadRow). Packed (see ``PACKED``), the window's packed
        rows are read whole first and handed over as one :class:`UsageText` when every value's form
        checks out, else unpacked and converted: one that does not unpack reads the window plain."""
        yield from self.prefetch_usage(day_from, day_to)()

    def prefetch_usage(self, day_from: date, day_to: date) -> Callable[[], Iterator[UsageText | UsageColumns | list[UsageTuple | BadRow]]]:
        """:meth:`read_usage_batches` in two steps: packed, the window's query runs and its packed
        rows are fetched now, in the caller's thread (the backfill's reader: the wait for the
        database, without the GIL); the function returned unpacks and checks them where it is
        called (the backfill's writer), so the next window's query does not wait for this one's
        unpacking. Not packed, everything happens when the function is called."""
        if self.packed and self._packable(day_from, day_to):
            text, params = self.usage_query(day_from, day_to)
            rows = [r for batch in self.odbc.batches(text, params) for r in batch]
            return lambda: self._usage_batches(day_from, day_to, rows)
        return lambda: self._usage_batches(day_from, day_to, None)

    def _usage_batches(self, day_from: date, day_to: date,
                       packed: list[Any] | None) -> Iterator[UsageText | UsageColumns | list[UsageTuple | BadRow]]:
        if packed is not None:
            rows = packed
            as_text = _as_text(rows)
            if as_text is not None:
                yield as_text
                return
            unpacked = _unpack(rows) if not rows or len(rows[0]) in (4, 5) else None
            if unpacked is not None:
                names, typed = COLUMNS["usage"], _typed_unpacked(unpacked)
                for i in range(0, len(unpacked[0]), self.odbc.fetch_rows):
                    days, items, depts, settings, quantities, amounts, lines = (c[i:i + self.odbc.fetch_rows] for c in unpacked)
                    if typed:
                        yield UsageColumns(days, items, depts, list(zip(days, items, depts, settings, repeat(""))),
                                           list(zip(quantities, amounts, lines, strict=True)))
                    else:
                        yield [self._usage_tuple(names, row) for row in
                               zip(days, items, depts, settings, quantities, amounts, lines, strict=True)]
                return
        query = "usage_by_prescriber" if self.by_prescriber else "usage"
        names = COLUMNS[query]
        text, params = self.sql(query, {"day_from": day_from, "day_to": day_to, "day_to_next": day_to + timedelta(days=1)})
        first = True
        for batch in self.odbc.batches(text, params):
            if first and len(batch[0]) != len(names):
                raise SourceError(f"source {self.name}: query '{query}' returns {len(batch[0])} columns; expected "
                                  f"{len(names)}: {', '.join(names)}", transient=False)
            first = False
            columns = None if query == "usage_by_prescriber" else _typed_columns(batch)
            yield columns if columns is not None else [self._usage_tuple(names, row) for row in batch]

    def _usage_tuple(self, names: tuple[str, ...], row: Any) -> UsageTuple | BadRow:
        if len(row) == 8:
            day, item, dept, setting, prescriber, quantity, amount, lines = row
        else:
            (day, item, dept, setting, quantity, amount, lines), prescriber = row, None
        try:
            return (
                day if type(day) is date else as_date(day),
                item if type(item) is str and item and not item[0].isspace() and not item[-1].isspace()
                else as_text(item) or "",
                dept if type(dept) is str and dept and not dept[0].isspace() and not dept[-1].isspace()
                else as_text(dept) or "",
                _SETTING_VALUES.get(setting) or _SETTING_VALUES.get(as_text(setting) or "", "other"),
                quantity if type(quantity) is Decimal else as_decimal(quantity),
                amount if type(amount) is Decimal else as_decimal(amount if amount is not None else 0),
                lines if type(lines) is int else int(lines or 0),
                as_text(prescriber),
            )
        except (ValueError, TypeError, InvalidOperation) as exc:
            raw = raw_of(names, tuple(row))
            key = "|".join(str(raw.get(k)) for k in ("day", "item_code", "dept_code", "setting"))
            return BadRow("usage", key, f"cannot convert: {exc}", raw)

    def day_totals(self, day_from: date, day_to: date) -> Iterator[tuple[date, int, Decimal]]:
        values = {"day_from": day_from, "day_to": day_to, "day_to_next": day_to + timedelta(days=1)}
        for day, lines, quantity in self._run("day_totals", values):
            yield as_date(day), int(lines or 0), as_decimal(quantity if quantity is not None else 0)

    # -- ItemSource ----------------------------------------------------------------------------
    def read_items(self) -> Iterator[LocalItem | BadRow]:
        names = COLUMNS["items"] + OPTIONAL_COLUMNS["items"]
        for row in self._run("items", {}):
            r = dict(zip(names, row, strict=False))
            try:
                code, name = as_text(r["code"]), as_text(r["name"])
                if not code or not name:
                    raise ValueError("no item code or name")
                yield LocalItem(
                    code=code, name=name, generic_name=as_text(r["generic_name"]), dosage_form=as_text(r["dosage_form"]),
                    spec=as_text(r["spec"]), manufacturer=as_text(r["manufacturer"]), his_unit=as_text(r["his_unit"]),
                    pack_factor=opt_decimal(r["pack_factor"]), national_code=as_text(r["national_code"]),
                    price=opt_decimal(r["price"]),
                    kind=self._kind(as_text(r["national_code"]), as_text(r.get("registration_no"))),
                    registration_no=as_text(r.get("registration_no")),
                )
            except (ValueError, TypeError, InvalidOperation) as exc:
                yield BadRow("item", str(r.get("code")), f"cannot convert: {exc}", raw_of(names, row))

    def _kind(self, national_code: str | None, registration_no: str | None) -> str:
        """A consumable: from a material dictionary, or by its 27-character code (C...), or by a medical
        device registration (注册证号 国械注准 / 鲁械注准 / 械备); else a drug."""
        if self.preset.item_kind == "consumable" or (national_code or "").startswith("C") or "械" in (registration_no or ""):
            return "consumable"
        return "drug"

    # -- DepartmentSource ----------------------------------------------------------------------
    def read_departments(self) -> Iterator[tuple[str, str] | BadRow]:
        """The department dictionary (科室字典) as (code, name); a row without either is quarantined."""
        names = COLUMNS["departments"]
        for row in self._run("departments", {}):
            code, name = as_text(row[0]), as_text(row[1])
            if code and name:
                yield code, name
            else:
                reason = "no department code" if not code else "no department name"
                yield BadRow("department", code or f"|{name}", reason, raw_of(names, row))

    # -- InsuranceLogSource --------------------------------------------------------------------
    def read_insurance_uploads(self, day_from: date, day_to: date) -> Iterator[InsuranceUpload | BadRow]:
        """The 医保 interface log's 进销存 calls for business days [day_from, day_to]."""
        names = COLUMNS["insurance_uploads"]
        values = {"day_from": day_from, "day_to": day_to, "day_to_next": day_to + timedelta(days=1)}
        for row in self._run("insurance_uploads", values):
            r = dict(zip(names, row, strict=False))
            try:
                interface, attempt = as_text(r["interface"]), as_text(r["attempt"])
                uploaded = self.aware(r["uploaded_at"])
                if not interface or not attempt or uploaded is None:
                    raise ValueError("no interface, call id or time")
                yield InsuranceUpload(as_date(r["business_day"]), interface, attempt, uploaded, int(r["lines"] or 0),
                                      as_flag(r["ok"], False), as_text(r["message"]))
            except (ValueError, TypeError, InvalidOperation) as exc:
                key = "|".join(str(r.get(k)) for k in ("business_day", "interface", "attempt"))
                yield BadRow("insurance_upload", key, f"cannot convert: {exc}", raw_of(names, row))

    # -- ReceiptSource -------------------------------------------------------------------------
    def read_receipts(self, cursor: ReceiptCursor, until: datetime, limit: int) -> Iterator[Receipt | BadRow]:
        names = COLUMNS["receipts"] + OPTIONAL_COLUMNS["receipts"]
        since_ts = self.naive(cursor.changed_at) if cursor.changed_at else datetime(1900, 1, 1)
        since_id: Any = cursor.line_id or ""
        if self.preset.line_id_is_int:
            since_id = int(since_id) if since_id else -1
        values = {"since_ts": since_ts, "since_id": since_id, "until": self.naive(until), "limit": int(limit)}
        for row in self._run("receipts", values):
            r = dict(zip(names, row, strict=False))
            try:
                yield Receipt(
                    line_id=str(r["line_id"]), changed_at=self.aware(r["changed_at"]),  # type: ignore[arg-type]
                    item_code=as_text(r["item_code"]) or "", quantity=as_decimal(r["quantity"]), unit=as_text(r["unit"]),
                    lot=as_text(r["lot"]), expiry=as_date(r["expiry"]) if r["expiry"] else None,
                    distributor=as_text(r["distributor"]), accepted_at=self.aware(r["accepted_at"]),
                    delivery_id=as_text(r["delivery_id"]), order_id=as_text(r["order_id"]),
                    invoice_no=as_text(r["invoice_no"]), unit_price=opt_decimal(r["unit_price"]),
                    on_platform=as_flag(r["on_platform"], True), deleted=as_flag(r["deleted"], False),
                    delivery_note_no=as_text(r.get("delivery_note_no")), receipt_no=as_text(r.get("receipt_no")),
                    pack_factor=opt_decimal(r.get("pack_factor")),
                )
            except (ValueError, TypeError, InvalidOperation) as exc:
                changed = None
                try:
                    changed = self.aware(r["changed_at"])
                except (ValueError, TypeError):
                    pass
                yield BadRow("receipt", str(r["line_id"]), f"cannot convert: {exc}", raw_of(names, row), changed)

    def source_now(self) -> datetime:
        if self.odbc.engine == "sqlite" and self.clock is not None:
            return self.clock.now().astimezone(self.tz)  # an embedded file: its clock is ours (the demo's FakeClock)
        now = self.odbc.source_now()
        return now.replace(tzinfo=self.tz) if now.tzinfo is None else now

    def close(self) -> None:
        self.odbc.close()
