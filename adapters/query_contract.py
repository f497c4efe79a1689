"""The custom-query contract: what each query of a ``custom`` source returns, column by column, and
the named parameters it receives. The README's table and ``vbp-agent queries template`` are both
printed from here, so they cannot drift from what the adapter reads (``adapters.preset.COLUMNS``).
"""

from __future__ import annotations

from dataclasses import dataclass

from adapters.preset import COLUMNS, OPTIONAL_COLUMNS, REQUIRED


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # date | text | number | integer | timestamp | flag
    meaning: str
    optional: bool = False  # may be left out (only at the end of the query)


@dataclass(frozen=True)
class QuerySpec:
    name: str
    purpose: str
    parameters: tuple[str, ...]
    columns: tuple[Column, ...]
    optional: bool = False


_DAY_WINDOW = ("day_from", "day_to_next")
_USAGE_COLUMNS = {
    "day": Column("day", "date", "the dispensing day (发药日期), in the database own zone"),
    "item_code": Column("item_code", "text", "the HIS item code (药品编码), as in the items query"),
    "dept_code": Column("dept_code", "text", "the code of the ordering department (科室编码)"),
    "setting": Column("setting", "text", "outpatient | emergency | inpatient (门诊 / 急诊 / 住院), exactly these words"),
    "prescriber_code": Column("prescriber_code", "text", "the HIS code of the prescriber (医生工号), never a name"),
    "quantity": Column("quantity", "number", "SUM of dispensed quantity in the HIS unit of the item (his_unit), returns negative"),
    "amount": Column("amount", "number", "SUM of the amount in yuan (金额, 元)"),
    "lines": Column("lines", "integer", "COUNT(*) of source lines in the group: one per prescription line (dispensing)"),
}
SPECS: dict[str, QuerySpec] = {
    "usage": QuerySpec(
        "usage", "dispensed quantity per day x item x department x setting, aggregated in the database "
        "(GROUP BY; no patient column ever leaves it)", _DAY_WINDOW,
        tuple(_USAGE_COLUMNS[c] for c in COLUMNS["usage"])),
    "usage_by_prescriber": QuerySpec(
        "usage_by_prescriber", "as usage, also grouped by prescriber (read when options.by_prescriber = true)",
        _DAY_WINDOW, tuple(_USAGE_COLUMNS[c] for c in COLUMNS["usage_by_prescriber"]), optional=True),
    "day_totals": QuerySpec(
        "day_totals", "per day, the source lines and quantity the usage query covers (for reconciliation)",
        _DAY_WINDOW, (
            Column("day", "date", "the dispensing day"),
            Column("lines", "integer", "COUNT(*) of source lines that day"),
            Column("quantity", "number", "SUM of quantity that day, in HIS units"),
        )),
    "items": QuerySpec(
        "items", "the drug / consumable dictionary (药品字典), one row per local item", (), (
            Column("code", "text", "the HIS item code"),
            Column("name", "text", "the name as the HIS shows it (may be a trade name)"),
            Column("generic_name", "text", "通用名, may be blank"),
            Column("dosage_form", "text", "剂型 as the HIS writes it, may be blank"),
            Column("spec", "text", "规格, e.g. 20mg*14片/盒"),
            Column("manufacturer", "text", "生产企业"),
            Column("his_unit", "text", "the unit usage quantities are counted in (盒, 片, 支 ...)"),
            Column("pack_factor", "number", "smallest units per HIS unit (e.g. 14 for a 盒 of 14 片), blank if unknown"),
            Column("national_code", "text", "医保 / 国家药品代码 when the HIS holds it, else blank"),
            Column("price", "number", "retail price per HIS unit in yuan, may be blank"),
            Column("registration_no", "text", "optional: the 注册证号 / 备案凭证号 of a consumable (对码 matches on it "
                   "with the 27-character code and the 规格型号)", optional=True),
        )),
    "departments": QuerySpec(
        "departments", "the department dictionary (科室字典), so alerts name departments", (), (
            Column("code", "text", "the department code, as in usage.dept_code"),
            Column("name", "text", "the name of the department"),
        ), optional=True),
    "insurance_uploads": QuerySpec(
        "insurance_uploads", "the 进销存 calls (3501-3507) in the 医保 interface log, one row per call; never the "
        "message body (a 3505 sale names the patient)", _DAY_WINDOW, (
            Column("business_day", "date", "the business day (业务日期) the call uploads"),
            Column("interface", "text", "the 交易编号: 3501 ... 3507"),
            Column("attempt", "text", "the id of the call (报文ID msgid, or the key of the log row)"),
            Column("uploaded_at", "timestamp", "when it was sent (交易时间)"),
            Column("lines", "integer", "how many lines it carried"),
            Column("ok", "flag", "accepted by the platform (infcode 0)"),
            Column("message", "text", "the error text of the platform (err_msg), blank when accepted"),
        ), optional=True),
    "receipts": QuerySpec(
        "receipts", "warehouse receipt lines (入库明细), read by keyset cursor: ORDER BY changed_at, line_id",
        ("since_ts", "since_id", "until", "limit"), (
            Column("line_id", "integer", "the key of the receipt line (unique, never reused), text if options.line_id_is_int = false"),
            Column("changed_at", "timestamp", "when the line last changed (an index on (changed_at, line_id) serves the cursor)"),
            Column("item_code", "text", "the HIS / warehouse item code"),
            Column("quantity", "number", "received quantity in the unit of the line"),
            Column("unit", "text", "the unit of the line (盒, 支 ...)"),
            Column("lot", "text", "批号"),
            Column("expiry", "date", "有效期, may be blank"),
            Column("distributor", "text", "配送企业"),
            Column("accepted_at", "timestamp", "验收时间: the 24-hour confirmation clock starts here"),
            Column("delivery_id", "text", "the delivery line id of the platform (配送明细编号) when recorded, else blank"),
            Column("order_id", "text", "the order id of the platform when recorded, else blank"),
            Column("invoice_no", "text", "发票号, may be blank"),
            Column("unit_price", "number", "price per line unit in yuan"),
            Column("on_platform", "flag", "bought through the platform (1/0, Y/N, 是/否)"),
            Column("deleted", "flag", "the line was voided (作废 / soft delete)"),
            Column("delivery_note_no", "text", "配送单号 on the paper note, may be blank"),
            Column("receipt_no", "text", "入库单号"),
            Column("pack_factor", "number", "optional: smallest units per unit of this line (30 for a 瓶 of 30 片), "
                   "when the warehouse records it, else the line converts by items.pack_factor or the spec",
                   optional=True),
        )),
}

PARAMETERS = {
    "day_from": "first day of the window (a DATE); the query selects day >= :day_from",
    "day_to_next": "the day after the window's last (a DATE); the query selects day < :day_to_next",
    "since_ts": "the last changed_at of the cursor (a TIMESTAMP)",
    "since_id": "the last line_id of the cursor",
    "until": "the upper bound: the clock of the database minus the settle lag (a TIMESTAMP)",
    "limit": "the page size (TOP / LIMIT / FETCH FIRST)",
}

_LIMIT = {"tsql": ("SELECT TOP (:limit)", ""), "oracle": ("SELECT", "FETCH FIRST :limit ROWS ONLY"),
          "postgres": ("SELECT", "LIMIT :limit"), "mysql": ("SELECT", "LIMIT :limit"), "sqlite": ("SELECT", "LIMIT :limit")}
_WHERE = {
    "usage": "WHERE t.day >= :day_from AND t.day < :day_to_next  -- an index on the date column must serve this",
    "usage_by_prescriber": "WHERE t.day >= :day_from AND t.day < :day_to_next",
    "day_totals": "WHERE t.day >= :day_from AND t.day < :day_to_next",
    "insurance_uploads": "WHERE t.business_day >= :day_from AND t.business_day < :day_to_next"
                         "  -- an index on the business day must serve this",
    "receipts": "WHERE (t.changed_at > :since_ts OR (t.changed_at = :since_ts AND t.line_id > :since_id))\n"
                "  AND t.changed_at <= :until  -- an index on (changed_at, line_id) must serve this",
}


def contract_columns(name: str) -> tuple[str, ...]:
    """Every column a query may return, in order: the required ones, then the optional ones."""
    return COLUMNS[name] + OPTIONAL_COLUMNS.get(name, ())


def queries_for(kind: str) -> list[QuerySpec]:
    """The queries a source of this kind takes: the required ones, then the optional ones."""
    names = list(REQUIRED[kind])
    if kind == "his":
        names += ["departments", "usage_by_prescriber", "insurance_uploads"]
    elif kind == "prescription":
        names += ["usage_by_prescriber"]
    return [SPECS[n] for n in names]


def template(kind: str, dialect: str) -> str:
    """A commented ``[sources.queries]`` skeleton for a ``custom`` source, to edit into the HIS's own SELECTs."""
    if dialect not in _LIMIT:
        raise ValueError(f"dialect '{dialect}': use one of {', '.join(sorted(_LIMIT))}")
    out = [f"# A custom {kind} source, its SELECTs written in {dialect}. Replace your_table and the t.* columns",
           "# with your database's; keep the column order and the AS names. Every query must be exactly one",
           "# SELECT; the agent refuses anything else. `vbp-agent check` runs each on yesterday and names what",
           "# is missing or wrong.", "",
           "[[sources]]", f'name = "my{kind}"', f'kind = "{kind}"', 'preset = "custom"',
           'dsn = "MY_DSN"                 # or connection = "Driver={...};Server=...;Database=..."',
           'user = "readonly_user"', 'password_env = "VBP_MY_PASSWORD"', "",
           "[sources.options]", f'dialect = "{dialect}"', "", "[sources.queries]"]
    for spec in queries_for(kind):
        head, tail = ("SELECT", "") if spec.name != "receipts" else _LIMIT[dialect]
        out.append(f"# {spec.name}{' (optional)' if spec.optional else ''}: {spec.purpose}")
        for p in spec.parameters:
            out.append(f"#   :{p} = {PARAMETERS[p]}")
        cols = [f"       t.{c.name} AS {alias(c.name, dialect)},  -- {c.type}: {c.meaning}" for c in spec.columns]
        if spec.name in ("usage", "usage_by_prescriber", "day_totals"):
            cols = [_aggregate(c, dialect) for c in spec.columns]
        cols[-1] = cols[-1].replace(",  --", "  --", 1)
        body = [f"{spec.name} = \"\"\"", head, *cols, "FROM your_table t"]
        if spec.name in _WHERE:
            body.append(_WHERE[spec.name])
        if spec.name in ("usage", "usage_by_prescriber", "day_totals"):
            keys = [c.name for c in spec.columns if c.type in ("date", "text")]
            body.append("GROUP BY " + ", ".join(f"t.{k}" for k in keys))
        if spec.name == "receipts":
            body.append("ORDER BY t.changed_at, t.line_id")
            if tail:
                body.append(tail)
        body.append('"""')
        out += [*body, ""]
    return "\n".join(out)


# Contract names a dialect reserves: MySQL / MariaDB refuse ``AS lines`` (LOAD DATA ... LINES).
RESERVED = {"mysql": {"lines"}}
_QUOTES = {"mysql": "`{}`", "tsql": "[{}]", "oracle": '"{}"', "postgres": '"{}"', "sqlite": '"{}"'}


def alias(name: str, dialect: str) -> str:
    """The AS name as the dialect must write it: quoted only where the dialect reserves the word."""
    return _QUOTES[dialect].format(name) if name in RESERVED.get(dialect, ()) else name


def _aggregate(c: Column, dialect: str) -> str:
    expr = {"quantity": "SUM(t.qty)", "amount": "SUM(t.amount)", "lines": "COUNT(*)"}.get(c.name, f"t.{c.name}")
    return f"       {expr} AS {alias(c.name, dialect)},  -- {c.type}: {c.meaning}"


def markdown_table(kind: str) -> str:
    """The contract of one source kind as a Markdown table (for the README)."""
    rows = ["| query | # | column | type | meaning |", "|---|---|---|---|---|"]
    for spec in queries_for(kind):
        for i, c in enumerate(spec.columns, start=1):
            rows.append(f"| `{spec.name}`{' (optional)' if spec.optional and i == 1 else ''} | {i} | `{c.name}`"
                        f"{' (optional)' if c.optional else ''} | {c.type} | {c.meaning} |")
    return "\n".join(rows)
