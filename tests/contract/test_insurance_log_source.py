"""InsuranceLogSource: the HIS's 医保 interface log of the 进销存 uploads (3501-3507), the same cases
over every HIS preset on every engine."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from adapters.preset import Preset
from agent.domain.model import BadRow
from tests.ingest_support import HIS_PRESETS, SourceDb

# Each preset's log table and its columns (id, infno, msgid, business day, time, lines, infcode, err_msg, body).
LOG = {
    "mssql_his": ("yb_upload_log", "log_id, infno, msgid, biz_date, inf_time, row_count, infcode, err_msg, in_param"),
    "oracle_his": ("INSU_UPLOAD_LOG", "LOG_ID, INFNO, MSGID, BUSI_DATE, INF_TIME, LINE_CNT, INFCODE, ERR_MSG, INPUT_JSON"),
}
BODY = '{"selinfo": [{"psn_name": "张三", "mdtrt_sn": "MZ001"}]}'  # a 3505 sale line names the patient


@pytest.fixture(params=sorted(HIS_PRESETS))
def preset(request: pytest.FixtureRequest) -> Preset:
    if "insurance_uploads" not in HIS_PRESETS[request.param].queries:
        pytest.skip(f"{request.param} reads no 医保 interface log (a consumables source)")
    return HIS_PRESETS[request.param]


def _log(source_db: SourceDb, preset: Preset, rows: list[tuple]) -> None:
    table, cols = LOG[preset.name]
    for row in rows:
        source_db.run(f"INSERT INTO {table} ({cols}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", row)


def test_the_logs_calls_are_read_for_the_business_days_asked_without_their_body(source_db: SourceDb, preset: Preset) -> None:
    source_db.load_his(preset, days=1)
    _log(source_db, preset, [
        (1, "3505", "H00120280301230000001", date(2028, 3, 1), datetime(2028, 3, 1, 23, 0), 120, "0", None, BODY),
        (2, "3503", "H00120280302090000001", date(2028, 3, 1), datetime(2028, 3, 2, 9, 0), 8, "-1", "药品编码不存在", BODY),
        (3, "2207", "H00120280301100000001", date(2028, 3, 1), datetime(2028, 3, 1, 10, 0), 1, "0", None, BODY),  # a settlement
        (4, "3505", "H00120280305230000001", date(2028, 3, 5), datetime(2028, 3, 5, 23, 0), 99, "0", None, BODY),  # outside
    ])
    rows = sorted(source_db.source(preset).read_insurance_uploads(date(2028, 3, 1), date(2028, 3, 4)), key=lambda r: r.attempt)
    assert [(r.business_day, r.interface, r.lines, r.ok, r.message) for r in rows] == [
        (date(2028, 3, 1), "3505", 120, True, None), (date(2028, 3, 1), "3503", 8, False, "药品编码不存在")]
    assert rows[0].uploaded_at == datetime(2028, 3, 1, 23, 0, tzinfo=UTC)  # the source's zone in these tests
    assert all("张三" not in repr(r) for r in rows)


def test_a_call_without_its_id_is_set_aside(source_db: SourceDb, preset: Preset) -> None:
    source_db.load_his(preset, days=1)
    _log(source_db, preset, [(1, "3505", "M1", date(2028, 3, 1), datetime(2028, 3, 1, 23, 0), 5, "0", None, None)])
    table, _ = LOG[preset.name]
    source_db.run(f"UPDATE {table} SET {LOG[preset.name][1].split(', ')[2]} = ' ' WHERE 1 = 1")
    (row,) = list(source_db.source(preset).read_insurance_uploads(date(2028, 3, 1), date(2028, 3, 1)))
    assert isinstance(row, BadRow) and row.kind == "insurance_upload"
