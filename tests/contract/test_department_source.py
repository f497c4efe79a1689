"""DepartmentSource: the department dictionary (科室字典), the same cases over every HIS preset on every engine."""

from __future__ import annotations

import pytest

from adapters.preset import Preset
from agent.domain.model import BadRow
from agent.errors import SourceError
from tests.ingest_support import HIS_PRESETS, SourceDb

# Each preset's dictionary table and its (code, name) columns, as in the preset's DDL.
DICTIONARY = {"mssql_his": ("dept_dict", "dept_code", "dept_name"), "oracle_his": ("DEPT_INFO", "DEPT_ID", "DEPT_NAME")}


@pytest.fixture(params=sorted(HIS_PRESETS))
def preset(request: pytest.FixtureRequest) -> Preset:
    if "departments" not in HIS_PRESETS[request.param].queries:
        pytest.skip(f"{request.param} reads no department dictionary (a consumables source)")
    return HIS_PRESETS[request.param]


def _add(source_db: SourceDb, preset: Preset, code: str, name: str) -> None:
    table, code_col, name_col = DICTIONARY[preset.name]
    source_db.run(f"INSERT INTO {table} ({code_col}, {name_col}) VALUES (?, ?)", (code, name))


def test_departments_are_the_dictionarys_codes_and_chinese_names(source_db: SourceDb, preset: Preset) -> None:
    hospital = source_db.load_his(preset, days=1)
    rows = list(source_db.source(preset).read_departments())
    assert dict(rows) == dict(hospital.depts) and len(rows) == len(hospital.depts)
    assert ("0101", "心血管内科") in rows


def test_padded_text_is_stripped_and_a_row_without_a_code_or_name_is_set_aside(source_db: SourceDb, preset: Preset) -> None:
    hospital = source_db.load_his(preset, days=1)
    _add(source_db, preset, " 0901 ", " 药剂科 ")
    _add(source_db, preset, "  ", "无编码科室")
    _add(source_db, preset, "0902", " ")
    rows = list(source_db.source(preset).read_departments())
    good = dict(r for r in rows if not isinstance(r, BadRow))
    bad = sorted((r.kind, r.reason, r.raw["name"]) for r in rows if isinstance(r, BadRow))
    assert good == {**dict(hospital.depts), "0901": "药剂科"}
    assert [(k, reason) for k, reason, _ in bad] == [("department", "no department code"), ("department", "no department name")]
    assert bad[0][2] == "无编码科室"


def test_a_departments_query_with_the_wrong_columns_is_a_permanent_error(source_db: SourceDb, preset: Preset) -> None:
    source_db.load_his(preset, days=1)
    table, code_col, _ = DICTIONARY[preset.name]
    broken = Preset(preset.name, preset.kind, preset.dialect, {"departments": f"SELECT {code_col} FROM {table}"})
    with pytest.raises(SourceError, match="query 'departments' returns 1 columns") as err:
        list(source_db.source(broken).read_departments())
    assert not err.value.transient
