"""``vbp-agent check`` for a ``custom`` source: each query run on one day and held against the
contract of ``adapters.query_contract`` (the single source of the column names, order and types).

What is named, column by column: a column missing, extra or out of order (the adapter reads by
position); a value of the wrong type (a date that is no date, a count with a fraction, a flag it
cannot read); a quantity in the wrong unit, judged against the item dictionary (usage whose amount
per unit is the dictionary price times the item's pack: counted in packs where the HIS unit is
expected, or the reverse; a pack_factor the spec contradicts; day totals that do not add up to the
usage); and receipt lines whose unit cannot be converted to the smallest unit (never guessed).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from adapters.query_contract import SPECS, Column
from adapters.source import SqlSource, as_date, as_decimal
from agent.domain.acceptance import receipt_factor
from agent.domain.model import LocalItem
from agent.domain.monitoring_model import ItemLink
from agent.domain.spec import factor_to_smallest, parse_spec

SAMPLE_ROWS = 20000  # rows read per query: a day of usage groups fits; the reconciliation needs all of them
_FLAGS = {"1", "0", "y", "n", "t", "f", "true", "false", "yes", "no", "是", "否", ""}
_SETTINGS = {"outpatient", "emergency", "inpatient", "other"}
_NOT_NULL = {
    "usage": {"day", "item_code", "dept_code", "setting", "quantity", "lines"},
    "usage_by_prescriber": {"day", "item_code", "dept_code", "setting", "quantity", "lines"},
    "day_totals": {"day", "lines", "quantity"},
    "items": {"code", "name"},
    "departments": {"code", "name"},
    "receipts": {"line_id", "changed_at", "item_code", "quantity"},
}
TYPE_ZH = {"date": "日期", "number": "数字", "integer": "整数", "timestamp": "日期时间", "flag": "是/否标记", "text": "文字"}
TOLERANCE = 0.05  # how close amount per unit must come to a multiple of the dictionary price
LINES_SAMPLE = 30  # groups of a day with use, every one of them of one line: the lines are not counted


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one query, by column; ``warning`` ones do not fail the check."""

    query: str
    column: str
    message: str
    warning: bool = False


@dataclass
class Sample:
    names: list[str]
    rows: list[tuple[Any, ...]]

    @property
    def complete(self) -> bool:
        return len(self.rows) < SAMPLE_ROWS

    def values(self, column: str) -> list[Any]:
        if column not in self.names:
            return []
        i = self.names.index(column)
        return [r[i] for r in self.rows]

    def dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.names, r, strict=False)) for r in self.rows]


def check_source(source: SqlSource, day: date, items: Mapping[str, LocalItem] | None = None) -> tuple[list[Problem], dict[str, LocalItem]]:
    """Every query the source has, run on ``day``: the problems found and the item dictionary read
    (a warehouse check uses the HIS's, passed as ``items``)."""
    problems: list[Problem] = []
    samples: dict[str, Sample] = {}
    for name, values in _windows(source, day).items():
        if not source.has(name):
            continue
        text, params = source.sql(name, values)
        names, rows = source.odbc.sample(text, params, SAMPLE_ROWS)
        samples[name] = sample = Sample(names, rows)
        shape = _shape(name, sample.names)
        problems += shape
        if not shape:
            problems += _types(name, sample, line_id_is_int=source.preset.line_id_is_int)
    known = dict(items or {})
    if "items" in samples and not _broken(problems, "items"):
        known.update(_items_of(samples["items"]))
        problems += _pack_factors(samples["items"])
    usage = "usage_by_prescriber" if "usage_by_prescriber" in samples else "usage"
    if usage in samples and not _broken(problems, usage):
        problems += _usage_units(usage, samples[usage], known)
        problems += _usage_lines(usage, samples[usage])
        if "day_totals" in samples and samples[usage].complete and not _broken(problems, "day_totals"):
            problems += _day_totals(samples["day_totals"], samples[usage])
    if "receipts" in samples and not _broken(problems, "receipts"):
        problems += _receipt_units(samples["receipts"], known)
    return problems, known


def _windows(source: SqlSource, day: date) -> dict[str, dict[str, Any]]:
    days = {"day_from": day, "day_to": day, "day_to_next": day + timedelta(days=1)}
    start = datetime.combine(day, datetime.min.time())
    receipts = {"since_ts": start - timedelta(microseconds=1), "since_id": -1 if source.preset.line_id_is_int else "",
                "until": start + timedelta(days=1), "limit": SAMPLE_ROWS}
    return {"usage": days, "usage_by_prescriber": days, "day_totals": days, "items": {}, "departments": {},
            "receipts": receipts}


def _broken(problems: Iterable[Problem], query: str) -> bool:
    return any(p.query == query and not p.warning for p in problems)


def _shape(query: str, names: list[str]) -> list[Problem]:
    """Missing, extra and misplaced columns, each by name."""
    spec = SPECS[query]
    wanted = [c.name for c in spec.columns]
    required = [c.name for c in spec.columns if not c.optional]
    out = [Problem(query, c.name, f"缺少列 {c.name}（{TYPE_ZH[c.type]}：{c.meaning}）")
           for c in spec.columns if not c.optional and c.name not in names]
    out += [Problem(query, n, f"多出列 {n}：契约中没有这一列，请删除或改用契约中的列名（AS 名）") for n in names if n not in wanted]
    if out:
        return out
    expected = required + [n for n in wanted if n not in required and n in names]
    for i, (want, got) in enumerate(zip(expected, names, strict=False), start=1):
        if want != got:
            return [Problem(query, got, f"列顺序不对：第{i}列应为 {want}，查询返回的是 {got}（按契约的顺序排列 SELECT 的列）")]
    return []


def _types(query: str, sample: Sample, *, line_id_is_int: bool) -> list[Problem]:
    out = []
    for column in SPECS[query].columns:
        kind = "text" if column.name == "line_id" and not line_id_is_int else column.type
        for n, value in enumerate(sample.values(column.name), start=1):
            why = _value_problem(query, column, kind, value)
            if why and column.name == "line_id":
                why += "；编号是文字时请设 options.line_id_is_int = false"
            if why:
                out.append(Problem(query, column.name, f"{why}（第{n}行，值“{value}”）"))
                break
    return out


def _value_problem(query: str, column: Column, kind: str, value: Any) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return "为空：此列不可为空" if column.name in _NOT_NULL[query] else None
    try:
        if kind == "date":
            moment = value if isinstance(value, datetime) else (
                datetime.fromisoformat(str(value).strip()) if len(str(value).strip()) > 10 else None)
            if moment is not None and moment.time() != datetime.min.time():
                return "类型不对：是日期时间，应为日期（如 CAST(... AS DATE)，并按日期分组）"
            as_date(value)
        elif kind == "timestamp":
            if isinstance(value, date) and not isinstance(value, datetime):
                return "类型不对：只有日期没有时间，应为日期时间"
            if not isinstance(value, datetime):
                datetime.fromisoformat(str(value).strip())
        elif kind in ("number", "integer"):
            number = as_decimal(value)
            if kind == "integer" and number != number.to_integral_value():
                return "类型不对：应为整数"
        elif kind == "flag" and str(value).strip().lower() not in _FLAGS:
            return "类型不对：应为是/否标记（1/0、Y/N、是/否）"
    except (ValueError, TypeError, InvalidOperation):
        return f"类型不对：不是{TYPE_ZH[kind]}"
    if column.name == "setting" and str(value).strip() not in _SETTINGS:
        return "取值不对：只能是 outpatient、emergency 或 inpatient"
    return None


def _items_of(sample: Sample) -> dict[str, LocalItem]:
    out = {}
    for r in sample.dicts():
        code = str(r["code"]).strip()
        out[code] = LocalItem(code=code, name=str(r["name"] or "").strip(), spec=_text(r["spec"]),
                              his_unit=_text(r["his_unit"]), pack_factor=_number(r["pack_factor"]),
                              price=_number(r["price"]))
    return out


def _text(v: Any) -> str | None:
    return None if v is None or not str(v).strip() else str(v).strip()


def _number(v: Any) -> Decimal | None:
    try:
        return None if v is None or not str(v).strip() else as_decimal(v)
    except (InvalidOperation, ValueError):
        return None


def _n(d: Decimal | None) -> str:
    """A number as staff write it: 2.8, 14, not 2.8000 or 14.00."""
    return "?" if d is None else format(d.normalize(), "f")


def _pack(item: LocalItem) -> Decimal | None:
    """How many smallest units one pack of the item holds: its factor, else the pack its spec names."""
    if item.pack_factor is not None and item.pack_factor > 1:
        return item.pack_factor
    per_pack = parse_spec(item.spec).per_pack
    return per_pack if per_pack is not None and per_pack > 1 else None


def _pack_factors(sample: Sample) -> list[Problem]:
    """A pack_factor the item's own spec contradicts (盒 of 20mg*14片/盒 with pack_factor 1)."""
    bad = []
    for item in _items_of(sample).values():
        if item.pack_factor is None or not item.his_unit:
            continue
        by_spec = factor_to_smallest(item.his_unit, parse_spec(item.spec))
        if by_spec is not None and by_spec != item.pack_factor:
            bad.append(f"{item.code}（{item.name} {item.spec}，单位 {item.his_unit}）应为 {_n(by_spec)}，查询返回 {_n(item.pack_factor)}")
    if not bad:
        return []
    return [Problem("items", "pack_factor", f"单位不对：pack_factor 是每个 his_unit 含多少最小单位，与规格不符 {len(bad)} 个："
                    + "；".join(bad[:5]))]


def _usage_units(query: str, sample: Sample, items: Mapping[str, LocalItem]) -> list[Problem]:
    """Groups whose amount per unit is the dictionary price times the item's pack (or divided by it)."""
    packs: dict[str, list[str]] = defaultdict(list)
    smalls: dict[str, list[str]] = defaultdict(list)
    for r in sample.dicts():
        item = items.get(str(r["item_code"]).strip())
        if item is None or not item.price or item.price <= 0:
            continue
        pack = _pack(item)
        qty, amount = _number(r["quantity"]), _number(r["amount"])
        if pack is None or not qty or not amount or qty <= 0 or amount <= 0:
            continue
        ratio = float(amount / qty / item.price)
        if abs(ratio - 1) <= TOLERANCE:
            continue
        if abs(ratio / float(pack) - 1) <= TOLERANCE:
            packs[item.code].append(f"{amount / qty:.4g}")
        elif abs(ratio * float(pack) - 1) <= TOLERANCE:
            smalls[item.code].append(f"{amount / qty:.4g}")
    out = []
    for found, how in ((packs, "多"), (smalls, "少")):
        if not found:
            continue
        named = []
        for code, per_unit in list(found.items())[:5]:
            item = items[code]
            named.append(f"{code}（{item.name} {item.spec or ''}）{len(per_unit)} 组 金额/数量 = {per_unit[0]} 元，"
                         f"字典单价 {_n(item.price)} 元/{item.his_unit or '?'}，相差 {_n(_pack(item))} 倍")
        hint = ("数量似乎按包装计（每包装一个），应按 items.his_unit 计" if how == "多"
                else "数量似乎按最小单位计，应按 items.his_unit（包装）计")
        out.append(Problem(query, "quantity", f"单位不对：{hint}，共 {len(found)} 个药品：" + "；".join(named)))
    return out


def _usage_lines(query: str, sample: Sample) -> list[Problem]:
    """A warning where every group of a busy day counts one line: ``lines`` should count the
    prescription lines (发药明细) behind each group, and rise detection weighs a dispensing by them;
    from a table already summed per day, one line a group reads a day's use as one dispensing."""
    used = [r for r in sample.dicts() if (_number(r["quantity"]) or 0) > 0]
    if len(used) < LINES_SAMPLE or any(_number(r["lines"]) != 1 for r in used):
        return []
    return [Problem(query, "lines", f"{len(used)} 组用量的 lines 都是 1：lines 应为每组背后的处方明细行数（COUNT(*)，一行一次发药）；"
                                    "若查询读的是已按天汇总的表，上升预警会把一天的用量当作一次发药，发现得更迟",
                    warning=True)]


def _day_totals(totals: Sample, usage: Sample) -> list[Problem]:
    """day_totals must count the very lines and quantity the usage query groups."""
    lines: dict[date, int] = defaultdict(int)
    qty: dict[date, Decimal] = defaultdict(Decimal)
    for r in usage.dicts():
        d = as_date(r["day"])
        lines[d] += int(as_decimal(r["lines"]))
        qty[d] += as_decimal(r["quantity"])
    out = []
    for r in totals.dicts():
        d = as_date(r["day"])
        t_lines, t_qty = int(as_decimal(r["lines"])), as_decimal(r["quantity"])
        if t_lines != lines.get(d, 0):
            out.append(Problem("day_totals", "lines", f"与 usage 不符：{d} 行数 {t_lines}，usage 的 lines 之和为 {lines.get(d, 0)}"
                               "（两者应数同一批发药明细行）"))
        if abs(t_qty - qty.get(d, Decimal(0))) > Decimal("0.01"):
            out.append(Problem("day_totals", "quantity", f"与 usage 不符：{d} 数量合计 {t_qty:f}，usage 的 quantity 之和为 "
                               f"{qty.get(d, Decimal(0)):f}（应按同一 HIS 单位合计）"))
    return out


def _receipt_units(sample: Sample, items: Mapping[str, LocalItem]) -> list[Problem]:
    """Receipt lines that cannot be converted to the smallest unit: by their own factor, else the item's, else its spec."""
    if not items:
        return [Problem("receipts", "unit", "无法判断入库单位能否换算：没有药品字典（同一配置中没有带 items 查询的 HIS 数据源）",
                        warning=True)]
    bad = []
    for r in sample.dicts():
        if str(r.get("deleted") or "").strip().lower() in ("1", "y", "t", "true", "yes", "是"):
            continue
        own = _number(r.get("pack_factor"))
        if own is not None and own > 0:
            continue
        code, unit = str(r["item_code"]).strip(), _text(r["unit"])
        item = items.get(code)
        if item is None:
            bad.append(f"行 {r['line_id']} 药品 {code} 单位“{unit or ''}”（药品字典中没有此编码）")
            continue
        link = ItemLink(code, "", item.name, "-", None if item.pack_factor is None else float(item.pack_factor),
                        his_unit=item.his_unit, spec=item.spec)
        if receipt_factor(unit, link) is None:
            bad.append(f"行 {r['line_id']} 药品 {code}（{item.name} {item.spec or ''}）单位“{unit or ''}”")
    if not bad:
        return []
    return [Problem("receipts", "unit", f"入库单位无法换算为最小单位 {len(bad)} 行，这些行不计入按验收完成进度："
                    + "；".join(bad[:5]) + "。请在 pack_factor 列给出每个入库单位含多少最小单位，或在药品字典中补全规格",
                    warning=True)]
