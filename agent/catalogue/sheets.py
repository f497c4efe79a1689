"""Reading the bureau's spreadsheets: xlsx (openpyxl), xls (xlrd) and csv (UTF-8 or GBK).

Every format becomes a list of ``Sheet``: a name and its rows of raw cell values. Merged cells are
filled with their top-left value, so a 通用名 merged over three spec rows reads on each of them.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from agent.errors import DataError


@dataclass(frozen=True)
class Sheet:
    name: str
    rows: list[list[Any]]  # rows[0] is spreadsheet row 1


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def read_workbook(path: Path | str) -> list[Sheet]:
    """Every sheet of an xlsx, xls or csv file; DataError when the file cannot be read."""
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix in (".xlsx", ".xlsm"):
            return _read_xlsx(path)
        if suffix == ".xls":
            return _read_xls(path)
        if suffix in (".csv", ".txt"):
            return [Sheet(path.stem, _read_csv(path.read_bytes()))]
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc.strerror}") from None
    raise DataError(f"{path}: not a spreadsheet this agent reads (xlsx, xls or csv)")


def _read_xlsx(path: Path) -> list[Sheet]:
    import zipfile

    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        wb = openpyxl.load_workbook(path, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise DataError(f"{path}: not a readable xlsx workbook ({exc.__class__.__name__})") from None
    sheets = []
    for ws in wb.worksheets:
        rows = [list(r) for r in ws.iter_rows(values_only=True)]
        for rng in ws.merged_cells.ranges:
            top = rows[rng.min_row - 1][rng.min_col - 1] if rng.min_row - 1 < len(rows) else None
            for r in range(rng.min_row, min(rng.max_row, len(rows)) + 1):
                row = rows[r - 1]
                for c in range(rng.min_col, rng.max_col + 1):
                    if c - 1 < len(row):
                        row[c - 1] = top
        sheets.append(Sheet(ws.title, rows))
    wb.close()
    return sheets


def _read_xls(path: Path) -> list[Sheet]:
    import xlrd

    try:
        book = xlrd.open_workbook(str(path), formatting_info=True)
    except xlrd.XLRDError as exc:
        raise DataError(f"{path}: not a readable xls workbook ({exc})") from None
    sheets = []
    for sh in book.sheets():
        rows = [[_xls_value(sh.cell(r, c), book.datemode) for c in range(sh.ncols)] for r in range(sh.nrows)]
        for rlo, rhi, clo, chi in sh.merged_cells:
            top = rows[rlo][clo]
            for r in range(rlo, rhi):
                for c in range(clo, chi):
                    rows[r][c] = top
        sheets.append(Sheet(sh.name, rows))
    return sheets


def _xls_value(cell: Any, datemode: int) -> Any:
    import xlrd

    if cell.ctype == xlrd.XL_CELL_EMPTY or cell.ctype == xlrd.XL_CELL_BLANK:
        return None
    if cell.ctype == xlrd.XL_CELL_NUMBER:
        v = cell.value
        return int(v) if float(v).is_integer() else v
    if cell.ctype == xlrd.XL_CELL_DATE:
        return datetime(*xlrd.xldate_as_tuple(cell.value, datemode))
    return cell.value


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM) first, then GB18030 (a superset of GBK)."""
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise DataError("the csv file is neither UTF-8 nor GBK text")


def _read_csv(data: bytes) -> list[list[Any]]:
    text = decode_text(data)
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    return [[c if c != "" else None for c in row] for row in csv.reader(io.StringIO(text), dialect)]
