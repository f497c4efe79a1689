"""Reading the bureau's spreadsheets: xlsx (openpyxl), xls (xlrd) and csv (UTF-8 or GBK).

Every format becomes a list of ``Sheet``: a name and its rows of raw cell values. Merged cells are
filled with their top-left value, so a 通用名 merged over three spec rows reads on each of them.

A file is bounded before it is parsed: its size, and for an xlsx (a zip) the number of parts and
their declared uncompressed sizes, are checked against the limits (any object with
``SheetLimits``' attributes, such as the ``[catalogue]`` config); the xlsx is then streamed
(openpyxl read-only), at most ``MAX_COLUMNS`` wide, and each sheet stops at ``max_rows``.
Whatever is wrong inside a workbook (a dangling shared-string index, broken XML, a truncated zip)
is one ``DataError`` line naming the file and the problem, never a traceback.
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

MB = 1024 * 1024
MAX_COLUMNS = 256  # a bureau table has a few dozen; cells beyond are not read
MAX_MERGED_CELLS = 5_000_000  # cells a workbook's merged ranges may fill in all


class SheetLimits:
    """The bounds checked before a spreadsheet is parsed (the ``[catalogue]`` defaults)."""

    max_file_mb: int = 64
    max_zip_entries: int = 1000
    max_unzipped_mb: int = 256
    max_rows: int = 200_000


DEFAULT_LIMITS = SheetLimits()


@dataclass(frozen=True)
class Sheet:
    name: str
    rows: list[list[Any]]  # rows[0] is spreadsheet row 1


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with Path(path).open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return digest.hexdigest()


def read_workbook(path: Path | str, limits: Any = DEFAULT_LIMITS) -> list[Sheet]:
    """Every sheet of an xlsx, xls or csv file; DataError (one line) when the file cannot be read,
    is beyond ``limits`` or is malformed."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".xlsx", ".xlsm", ".xls", ".csv", ".txt"):
        raise DataError(f"{path}: not a spreadsheet this agent reads (xlsx, xls or csv)")
    try:
        size = path.stat().st_size
        if size > limits.max_file_mb * MB:
            raise DataError(f"{path}: the file is {size / MB:.0f} MB, more than [catalogue] max_file_mb = {limits.max_file_mb}")
        if suffix in (".xlsx", ".xlsm"):
            return _read_xlsx(path, limits)
        if suffix == ".xls":
            return _read_xls(path, limits)
        return [Sheet(path.stem, _read_csv(path.read_bytes())[: limits.max_rows])]
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except (DataError, MemoryError):
        raise
    except Exception as exc:  # a malformed file from outside: one line, whatever the parser tripped on
        raise DataError(f"{path}: a malformed {suffix[1:]} workbook ({_problem(exc)})") from None


def _problem(exc: BaseException) -> str:
    if isinstance(exc, IndexError):
        return "a cell refers to a shared string or style the workbook does not hold (IndexError)"
    text = " ".join(str(exc).split())[:160]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def check_zip(path: Path, limits: Any) -> None:
    """Refuse an xlsx whose zip holds too many parts or inflates beyond the limit, before parsing.

    The sizes are those the central directory declares; a part that inflates past its declared
    size is cut there by zipfile and fails its CRC check, so a lying directory gains nothing."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except zipfile.BadZipFile as exc:
        raise DataError(f"{path}: not a readable xlsx workbook (not a zip file: {exc})") from None
    if len(infos) > limits.max_zip_entries:
        raise DataError(f"{path}: the workbook holds {len(infos)} parts, more than [catalogue] max_zip_entries = "
                        f"{limits.max_zip_entries}; refused before reading")
    total = sum(i.file_size for i in infos)
    if total > limits.max_unzipped_mb * MB:
        biggest = max(infos, key=lambda i: i.file_size)
        raise DataError(f"{path}: the workbook inflates to {total / MB:.0f} MB ({biggest.filename} alone "
                        f"{biggest.file_size / MB:.0f} MB), more than [catalogue] max_unzipped_mb = "
                        f"{limits.max_unzipped_mb}; refused before reading")


def _read_xlsx(path: Path, limits: Any) -> list[Sheet]:
    import openpyxl

    check_zip(path, limits)
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        sheets = []
        for ws in wb.worksheets:
            ws.reset_dimensions()  # a declared A1:XFD1048576 must not pad every row to 16384 cells
            rows: list[list[Any]] = []
            for r in ws.iter_rows(max_col=MAX_COLUMNS, values_only=True):
                if len(rows) >= limits.max_rows:
                    raise DataError(f"{path}: sheet “{ws.title}” has more than [catalogue] max_rows = {limits.max_rows} rows")
                row = list(r)
                while row and row[-1] is None:
                    row.pop()
                rows.append(row)
            _fill_merged(path, rows, _merged_ranges(wb, ws))
            sheets.append(Sheet(ws.title, rows))
        return sheets
    finally:
        wb.close()


def _merged_ranges(wb: Any, ws: Any) -> list[tuple[int, int, int, int]]:
    """(min_row, min_col, max_row, max_col), 1-based, streamed from the sheet's XML (a read-only
    worksheet does not keep them)."""
    from xml.etree.ElementTree import iterparse

    from openpyxl.utils.cell import range_boundaries

    part = getattr(ws, "_worksheet_path", None)
    if part is None:
        return []
    out = []
    with wb._archive.open(part) as src:
        for _, el in iterparse(src):
            if el.tag.endswith("}mergeCell") and el.get("ref"):
                min_col, min_row, max_col, max_row = range_boundaries(el.get("ref"))
                out.append((min_row, min_col, max_row, max_col))
            el.clear()
    return out


def _fill_merged(path: Path, rows: list[list[Any]], ranges: list[tuple[int, int, int, int]]) -> None:
    filled = 0
    for min_row, min_col, max_row, max_col in ranges:
        if min_row - 1 >= len(rows) or min_col > MAX_COLUMNS:
            continue
        max_col = min(max_col, MAX_COLUMNS)
        first = rows[min_row - 1]
        top = first[min_col - 1] if min_col - 1 < len(first) else None
        for r in range(min_row, min(max_row, len(rows)) + 1):
            row = rows[r - 1]
            if len(row) < max_col:
                row.extend([None] * (max_col - len(row)))
            row[min_col - 1:max_col] = [top] * (max_col - min_col + 1)
            filled += max_col - min_col + 1
        if filled > MAX_MERGED_CELLS:
            raise DataError(f"{path}: merged cells cover more than {MAX_MERGED_CELLS} cells; refused")


def _read_xls(path: Path, limits: Any) -> list[Sheet]:
    import xlrd

    try:
        book = xlrd.open_workbook(str(path), formatting_info=True, on_demand=True)
    except xlrd.XLRDError as exc:
        raise DataError(f"{path}: not a readable xls workbook ({exc})") from None
    try:
        sheets = []
        for i in range(book.nsheets):
            sh = book.sheet_by_index(i)
            if sh.nrows > limits.max_rows:
                raise DataError(f"{path}: sheet “{sh.name}” has {sh.nrows} rows, more than [catalogue] max_rows = {limits.max_rows}")
            ncols = min(sh.ncols, MAX_COLUMNS)
            rows = [[_xls_value(sh.cell(r, c), book.datemode) for c in range(ncols)] for r in range(sh.nrows)]
            for rlo, rhi, clo, chi in sh.merged_cells:
                if clo >= ncols:
                    continue
                top = rows[rlo][clo]
                for r in range(rlo, rhi):
                    for c in range(clo, min(chi, ncols)):
                        rows[r][c] = top
            sheets.append(Sheet(sh.name, rows))
        return sheets
    finally:
        book.release_resources()


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
