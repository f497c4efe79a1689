"""What every import shares: the bad-row error, the preview (预览) and its table.

An import is planned first (read, parse, compare with the store: nothing written), shown as a
preview with Chinese headers, then committed in one transaction. A bad row is rejected with its
sheet, row, column, value and reason; the good rows import.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.catalogue.config import CatalogueConfig
from agent.catalogue.headers import SYNONYMS, Column, Header, find_header, is_note_or_blank
from agent.catalogue.sheets import Sheet, read_workbook
from agent.errors import DataError

ACTION_ZH = {"inserted": "新增", "updated": "更新", "unchanged": "不变"}


@dataclass(frozen=True)
class RowError:
    """A rejected row: where it is and why (staff-facing, Chinese)."""

    sheet: str
    row: int  # as the spreadsheet numbers it (1-based)
    column: str  # letter and header, e.g. "E（约定采购量）"
    value: str
    reason: str

    def __str__(self) -> str:
        return f"工作表“{self.sheet}”第{self.row}行 {self.column}列 值“{self.value}”：{self.reason}"

    def as_dict(self) -> dict[str, Any]:
        return {"sheet": self.sheet, "row": self.row, "column": self.column, "value": self.value, "reason": self.reason}


def implausible(path: Path, what: str, value: Any, limit: float) -> str | None:
    """The reason a value is beyond belief (a pack of 10^15, a price of 1e300), naming the file;
    None when it is plausible."""
    if value is not None and value > limit:
        return f"{path.name}：{what}{value:.6g}超出合理上限{limit:g}（[catalogue]），请核对原表"
    return None


def row_error(sheet: Sheet, row_index: int, col: Column | None, value: Any, reason: str) -> RowError:
    column = f"{col.letter}（{col.header}）" if col else "-"
    return RowError(sheet.name, row_index + 1, column, "" if value is None else str(value), reason)


@dataclass
class PreviewRow:
    ref: str  # 工作表!行
    cells: list[str]
    action: str = ""  # inserted | updated | unchanged
    payload: Any = None


@dataclass
class ImportPlan:
    """The preview of an import: what would be written, what was rejected."""

    what: str  # winners | volumes
    path: Path
    sha256: str
    columns: list[str]  # Chinese headers of the preview table
    rows: list[PreviewRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    skipped: int = 0  # blank rows, notes, other hospitals' rows
    programme: str | None = None
    year: int | None = None
    rows_read: int = 0
    unlisted: list[str] = field(default_factory=list)  # product keys in the store but not in this file
    replace: bool = False  # remove the unlisted ones on commit

    def counts(self) -> dict[str, int]:
        out = {"inserted": 0, "updated": 0, "unchanged": 0}
        for r in self.rows:
            out[r.action] = out.get(r.action, 0) + 1
        return out

    def summary(self) -> str:
        c = self.counts()
        text = (f"读取{self.rows_read}行：新增{c['inserted']}，更新{c['updated']}，不变{c['unchanged']}，"
                f"拒绝{len(self.errors)}，跳过{self.skipped}")
        if self.unlisted:
            text += (f"；本批次已有{len(self.unlisted)}个产品不在本文件中，" +
                     ("将删除" if self.replace else "保留（整表替换请加 --replace）"))
        return text


def tables(sheets: list[Sheet], required: tuple[str, ...], path: Path) -> list[tuple[Sheet, Header]]:
    """The sheets that hold a table with the required columns; DataError when none does."""
    found = [(s, h) for s in sheets if (h := find_header(s.rows, required)) is not None]
    if not found:
        names = "；".join(f"{f}: {'/'.join(SYNONYMS[f][:3])}" for f in required)
        raise DataError(f"{path.name}: no sheet has a header row with the required columns ({names})")
    return found


DEFAULT_LIMITS = CatalogueConfig()


def data_rows(plan: ImportPlan, path: Path, required: tuple[str, ...],
              limits: CatalogueConfig = DEFAULT_LIMITS) -> Iterator[tuple[Sheet, Header, int, list[Any]]]:
    """Every data row below each table's header (sheet, header, 0-based index, cells); notes and
    blank rows are counted in ``plan.skipped`` and not yielded (below a blank row, a line of text
    alone is a footnote too)."""
    for sheet, header in tables(read_workbook(path, limits), required, path):
        after_blank = False
        for i in range(header.row + 1, len(sheet.rows)):
            row = sheet.rows[i]
            if is_note_or_blank(row, after_blank):
                plan.skipped += 1
                after_blank = after_blank or not any(str(c).strip() for c in row if c is not None)
                continue
            yield sheet, header, i, row


def render(plan: ImportPlan, limit: int = 50) -> str:
    """The preview as a console table (rich), errors listed below it."""
    import io

    from rich.console import Console
    from rich.table import Table

    buf = io.StringIO()
    console = Console(file=buf, width=200, force_terminal=False, color_system=None)
    table = Table(title=f"导入预览：{plan.path.name}", show_lines=False)
    for col in ["位置", *plan.columns, "操作"]:
        table.add_column(col)
    for r in plan.rows[:limit]:
        table.add_row(r.ref, *r.cells, ACTION_ZH.get(r.action, r.action))
    console.print(table)
    if len(plan.rows) > limit:
        console.print(f"……另有{len(plan.rows) - limit}行未显示")
    if plan.errors:
        errs = Table(title="被拒绝的行")
        for col in ("工作表", "行", "列", "值", "原因"):
            errs.add_column(col)
        for e in plan.errors:
            errs.add_row(e.sheet, str(e.row), e.column, e.value, e.reason)
        console.print(errs)
    console.print(plan.summary())
    return buf.getvalue()
