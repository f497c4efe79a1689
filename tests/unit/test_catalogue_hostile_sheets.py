"""A hostile or broken workbook is refused in one line naming the file and the problem, before it
can eat the machine: bounded by size, zip parts, inflated size, rows and columns."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.catalogue.config import CatalogueConfig
from agent.catalogue.sheets import read_workbook
from agent.errors import DataError
from tests.hostile_sheets import (
    BOMBS,
    _base,
    broken_xml,
    dangling_shared_string,
    huge_dimension,
    lying_directory,
    many_parts,
    shared_strings_bomb,
    truncated_zip,
)

SMALL = CatalogueConfig(max_unzipped_mb=4, max_zip_entries=200, max_rows=5000)


def _refusal(path: Path, limits: CatalogueConfig = SMALL) -> str:
    with pytest.raises(DataError) as err:
        read_workbook(path, limits)
    text = str(err.value)
    assert "\n" not in text and text.startswith(str(path))
    return text


def test_a_workbook_saved_by_excel_with_shared_strings_reads(tmp_path: Path) -> None:
    sheets = read_workbook(_base(tmp_path / "w.xlsx"), SMALL)
    assert sheets[0].rows[3][:3] == [1, "阿托伐他汀钙片", "片剂"]
    assert sheets[0].rows[0][7] == "第十批国家组织药品集中采购中选结果"  # the merged title fills its range


def test_shared_strings_that_inflate_past_the_limit_are_refused_before_parsing(tmp_path: Path) -> None:
    path = shared_strings_bomb(tmp_path / "bomb.xlsx", mb=8)
    assert path.stat().st_size < 64 * 1024
    assert "inflates to 8 MB (xl/sharedStrings.xml" in _refusal(path)
    assert "max_unzipped_mb = 4" in _refusal(path)


def test_a_zip_of_thousands_of_parts_is_refused(tmp_path: Path) -> None:
    assert "holds 1010 parts, more than [catalogue] max_zip_entries = 200" in _refusal(many_parts(tmp_path / "m.xlsx", 1000))


def test_a_directory_that_lies_about_the_inflated_size_fails_its_check_not_the_machine(tmp_path: Path) -> None:
    assert "Bad CRC-32" in _refusal(lying_directory(tmp_path / "lie.xlsx", mb=8))


def test_a_dangling_shared_string_index_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    assert "shared string" in _refusal(dangling_shared_string(tmp_path / "d.xlsx"))


@pytest.mark.parametrize("make", [broken_xml, truncated_zip], ids=["broken_xml", "truncated_zip"])
def test_broken_xml_or_a_truncated_zip_is_one_line(tmp_path: Path, make) -> None:  # type: ignore[no-untyped-def]
    assert "xlsx workbook" in _refusal(make(tmp_path / "b.xlsx"))


def test_a_declared_sheet_of_a_million_rows_stops_at_the_row_limit(tmp_path: Path) -> None:
    assert "more than [catalogue] max_rows = 5000" in _refusal(huge_dimension(tmp_path / "h.xlsx"))


def test_a_file_larger_than_the_limit_is_not_opened(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_bytes(b"a,b\n" * (300 * 1024))
    assert "max_file_mb = 1" in _refusal(path, CatalogueConfig(max_file_mb=1))


def test_every_bomb_of_the_chaos_run_is_refused_at_the_default_limits(tmp_path: Path) -> None:
    for name, make in BOMBS.items():
        if name in ("shared_strings_bomb", "lying_directory"):
            continue  # built at full size only by `make chaos`
        _refusal(make(tmp_path / f"{name}.xlsx"), CatalogueConfig())
