"""UsageSource and ItemSource, the same cases over every HIS preset on every engine."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlglot import exp

from adapters.preset import COLUMNS, require_single_select
from agent.domain.model import BadRow, UsageRow
from tests.ingest_support import HIS_PRESETS, START, SourceDb


@pytest.fixture(params=sorted(HIS_PRESETS))
def preset(request: pytest.FixtureRequest):
    return HIS_PRESETS[request.param]


def test_usage_equals_the_simulated_truth_net_of_returns(source_db: SourceDb, preset) -> None:
    hospital = source_db.load_his(preset, days=8)
    day_from, day_to = START + timedelta(days=2), START + timedelta(days=6)
    rows = list(source_db.source(preset).read_usage(day_from, day_to))
    assert all(isinstance(r, UsageRow) for r in rows)
    got = {(r.day, r.item_code, r.dept_code, r.setting.value): (r.quantity, r.lines) for r in rows}
    assert got == hospital.expected_usage(day_from, day_to)
    returned = [d for d in hospital.dispenses if d[10] and day_from <= d[10] <= day_to]
    assert returned, "the simulation should hold returns (退药) inside the window"


def test_the_tuple_rows_of_the_hot_path_carry_what_the_usage_rows_carry(source_db: SourceDb, preset) -> None:
    source_db.load_his(preset, days=4)
    for by_prescriber in (False, True) if "usage_by_prescriber" in preset.queries else (False,):
        source = source_db.source(preset, by_prescriber=by_prescriber)
        rows = list(source.read_usage(START, START + timedelta(days=3)))
        tuples = list(source.read_usage_tuples(START, START + timedelta(days=3)))
        assert rows and [(r.day, r.item_code, r.dept_code, r.setting.value, r.quantity, r.amount, r.lines,
                          r.prescriber_code) for r in rows] == tuples
        assert {type(v) for t in tuples for v in t[4:6]} == {Decimal}


def test_usage_rows_are_grouped_once_per_day_item_department_and_setting(source_db: SourceDb, preset) -> None:
    source_db.load_his(preset, days=3)
    rows = list(source_db.source(preset).read_usage(START, START + timedelta(days=2)))
    keys = [(r.day, r.item_code, r.dept_code, r.setting) for r in rows]
    assert len(keys) == len(set(keys)) > 0
    assert {r.setting.value for r in rows} >= {"outpatient", "inpatient", "emergency"}


def test_day_totals_match_the_source_rows_behind_the_aggregates(source_db: SourceDb, preset) -> None:
    hospital = source_db.load_his(preset, days=5)
    source = source_db.source(preset)
    totals = {d: (n, q) for d, n, q in source.day_totals(START, START + timedelta(days=4))}
    truth = hospital.expected_usage(START, START + timedelta(days=4))
    for day, (n, q) in totals.items():
        assert n == sum(v[1] for k, v in truth.items() if k[0] == day)
        assert q == sum((v[0] for k, v in truth.items() if k[0] == day), Decimal(0))
    assert len(totals) == 5


def test_a_window_with_no_dispensing_reads_nothing(source_db: SourceDb, preset) -> None:
    source_db.load_his(preset, days=2)
    assert list(source_db.source(preset).read_usage(START - timedelta(days=30), START - timedelta(days=1))) == []


def test_items_carry_names_specs_pack_factors_and_national_codes(source_db: SourceDb, preset) -> None:
    hospital = source_db.load_his(preset, days=1)
    items = {i.code: i for i in source_db.source(preset).read_items() if not isinstance(i, BadRow)}
    assert set(items) == {i.code for i in hospital.items}
    atorva = items["Y00001"]
    assert (atorva.name, atorva.generic_name, atorva.spec, atorva.his_unit) == ("阿托伐他汀钙片 20mg*7片", "阿托伐他汀钙片", "20mg*7片", "盒")
    assert atorva.pack_factor == Decimal(7) and atorva.national_code == "XC10AAA052A001010100001"
    assert items["H00001"].kind == "consumable" and len(items["H00001"].national_code or "") == 27


def test_prescriber_breakdown_sums_to_the_department_usage(source_db: SourceDb) -> None:
    preset = HIS_PRESETS["oracle_his"]
    source_db.load_his(preset, days=3)
    day_to = START + timedelta(days=2)
    plain = list(source_db.source(preset).read_usage(START, day_to))
    detailed = list(source_db.source(preset, by_prescriber=True).read_usage(START, day_to))
    assert all(r.prescriber_code for r in detailed) and len(detailed) >= len(plain)
    assert sum(r.quantity for r in detailed) == sum(r.quantity for r in plain)


def test_preset_sql_never_names_a_patient_column(preset) -> None:
    for name, sql in preset.queries.items():
        columns = {c.name.lower() for c in require_single_select(sql, preset.dialect, name).find_all(exp.Column)}
        assert columns and not [c for c in columns if any(p in c for p in ("patient", "id_card", "inpatient_no", "bed_no"))]
    assert COLUMNS["usage"][:4] == ("day", "item_code", "dept_code", "setting")


def test_a_material_dictionary_carries_each_consumables_27_character_code_and_registration(source_db: SourceDb, preset) -> None:
    if "registration_no" not in preset.queries["items"]:
        pytest.skip(f"{preset.name}'s dictionary holds no 注册证号")
    hospital = source_db.load_his(preset, days=1)
    items = {i.code: i for i in source_db.source(preset).read_items() if not isinstance(i, BadRow)}
    truth = {i.code: i.registration_no for i in hospital.items if i.consumable}
    assert truth and {c: items[c].registration_no for c in truth} == truth
    assert all(items[c].kind == "consumable" and len(items[c].national_code or "") == 27 for c in truth)
    assert items["Y00001"].registration_no is None
