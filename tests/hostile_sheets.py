"""Hostile and broken workbooks, built the way they arrive: a real workbook from openpyxl, then one
part of its zip rewritten (a shared-strings bomb, a dangling index, broken XML, a lying directory).
Used by the unit tests and by ``scripts/chaos.py``."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from pathlib import Path

from tests.sheets_catalogue import winners_xlsx


def _rewrite(src: Path, dest: Path, parts: dict[str, Callable[[bytes], bytes]], extra: int = 0) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            zout.writestr(info.filename, parts[info.filename](data) if info.filename in parts else data)
        for i in range(extra):
            zout.writestr(f"xl/media/pad{i}.bin", b"")
    return dest


SST = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
SST_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"


def _base(dest: Path) -> Path:
    """The winners workbook as Excel or WPS saves it: text in a shared-strings table (openpyxl
    writes inline strings)."""
    plain = winners_xlsx(dest.with_name(dest.stem + ".plain.xlsx"))
    strings: list[bytes] = []

    def to_shared(data: bytes) -> bytes:
        def one(m: re.Match[bytes]) -> bytes:
            strings.append(m.group(2))
            return m.group(1) + b' t="s"><v>' + str(len(strings) - 1).encode() + b"</v></c>"

        return re.sub(rb'(<c r="[A-Z]+\d+")[^>]*t="inlineStr"[^>]*><is><t>(.*?)</t></is></c>', one, data)

    base = dest.with_name(dest.stem + ".base.xlsx")
    _rewrite(plain, base, {
        "xl/worksheets/sheet1.xml": to_shared,
        "xl/_rels/workbook.xml.rels": lambda d: d.replace(
            b"</Relationships>", f'<Relationship Id="rIdSst" Type="{SST}" Target="sharedStrings.xml"/></Relationships>'.encode()),
        "[Content_Types].xml": lambda d: d.replace(
            b"</Types>", f'<Override PartName="/xl/sharedStrings.xml" ContentType="{SST_TYPE}"/></Types>'.encode()),
    })
    sst = b"".join(b"<si><t>" + t + b"</t></si>" for t in strings)
    with zipfile.ZipFile(base, "a", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/sharedStrings.xml", b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/'
                   b'spreadsheetml/2006/main" count="%d" uniqueCount="%d">' % (len(strings), len(strings)) + sst + b"</sst>")
    return base


def shared_strings_bomb(dest: Path, mb: int = 300) -> Path:
    """A few hundred KB that inflate to ``mb`` MB of shared strings (a padded <t> element)."""
    pad = b" " * (mb * 1024 * 1024)

    def inflate(data: bytes) -> bytes:
        return data.replace(b"</t>", pad + b"</t>", 1)

    return _rewrite(_base(dest), dest, {"xl/sharedStrings.xml": inflate})


def many_parts(dest: Path, n: int = 5000) -> Path:
    return _rewrite(_base(dest), dest, {}, extra=n)


def dangling_shared_string(dest: Path) -> Path:
    """A cell pointing at shared string 99999 of a table of a few dozen."""
    def dangle(data: bytes) -> bytes:
        return re.sub(rb'(<c r="B4" t="s">)<v>\d+</v>', rb"\1<v>99999</v>", data, count=1)

    return _rewrite(_base(dest), dest, {"xl/worksheets/sheet1.xml": dangle})


def broken_xml(dest: Path) -> Path:
    return _rewrite(_base(dest), dest, {"xl/worksheets/sheet1.xml": lambda d: d[: len(d) // 2]})


def truncated_zip(dest: Path) -> Path:
    data = _base(dest).read_bytes()
    dest.write_bytes(data[: len(data) // 2])
    return dest


def huge_dimension(dest: Path) -> Path:
    """A sheet declaring A1:XFD1048576 with one cell in its last row: read naively, 17 billion cells."""
    def stretch(data: bytes) -> bytes:
        data = re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:XFD1048576"', data)
        return data.replace(b"</sheetData>", b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>')

    return _rewrite(_base(dest), dest, {"xl/worksheets/sheet1.xml": stretch})


def lying_directory(dest: Path, mb: int = 64) -> Path:
    """The central directory says the shared strings are tiny; they inflate to ``mb`` MB."""
    bomb = shared_strings_bomb(dest.with_name(dest.stem + ".bomb.xlsx"), mb)
    data = bytearray(bomb.read_bytes())
    with zipfile.ZipFile(bomb) as zf:
        info = zf.getinfo("xl/sharedStrings.xml")
    real = info.file_size.to_bytes(4, "little")
    small = (1000).to_bytes(4, "little")
    data = bytearray(bytes(data).replace(real, small))  # local header and central directory both lie
    dest.write_bytes(bytes(data))
    return dest


BOMBS: dict[str, Callable[[Path], Path]] = {
    "shared_strings_bomb": shared_strings_bomb, "many_parts": many_parts, "dangling_shared_string": dangling_shared_string,
    "broken_xml": broken_xml, "truncated_zip": truncated_zip, "huge_dimension": huge_dimension,
    "lying_directory": lying_directory,
}
