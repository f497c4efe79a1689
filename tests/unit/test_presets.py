"""Presets are SQL as data: each parses in its product's dialect; custom SELECTs are checked."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import sqlglot

from adapters.preset import SQLGLOT_DIALECT, require_single_select, to_qmarks
from adapters.registry import PRESETS, custom_preset, preset_of
from agent.config import SourceConfig
from agent.domain.model import Receipt, Setting, UsageRow
from agent.domain.validate import receipt_problem, usage_problem
from agent.errors import ConfigError


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_query_is_one_select_in_its_products_dialect(name: str) -> None:
    preset = PRESETS[name]
    assert preset.dialect in ("tsql", "oracle")
    preset.validate(name)
    for engine in ("postgresql", "mariadb", "sqlite"):
        for query in preset.queries:
            sql, params = preset.sql_for(query, engine)
            assert sql.count("?") == len(params) and ":" not in sql.replace("::", "")
            sqlglot.parse_one(sql, read=SQLGLOT_DIALECT[engine])


def test_named_parameters_inside_string_literals_are_left_alone() -> None:
    sql, names = to_qmarks("SELECT ':x' AS a FROM t WHERE d >= :day_from AND e = ':not' AND f < :day_to_next")
    assert sql == "SELECT ':x' AS a FROM t WHERE d >= ? AND e = ':not' AND f < ?"
    assert names == ("day_from", "day_to_next")


def _custom(**queries: str) -> SourceConfig:
    return SourceConfig(name="myhis", kind="his", preset="custom", connection="Driver={SQLite3};Database=x",
                        queries=queries, options={"dialect": "tsql"})


@pytest.mark.parametrize("sql,found", [
    ("SELECT 1; DELETE FROM op_dispense", "2 statements"),
    ("DELETE FROM op_dispense", "DELETE"),
    ("UPDATE t SET a = 1", "UPDATE"),
    ("SELECT a INTO backup FROM t", "SELECT"),
    ("EXEC sp_who", "statement"),
])
def test_custom_queries_other_than_one_select_are_refused_naming_the_key(sql: str, found: str) -> None:
    cfg = _custom(usage=sql, day_totals="SELECT 1", items="SELECT 1")
    with pytest.raises(ConfigError) as err:
        custom_preset(cfg)
    assert "sources[myhis].queries.usage" in str(err.value)
    assert "exactly one SELECT" in str(err.value)


def test_a_custom_his_without_its_usage_query_is_refused() -> None:
    with pytest.raises(ConfigError, match="needs usage"):
        custom_preset(_custom(day_totals="SELECT 1", items="SELECT 1"))



def test_a_custom_his_may_add_a_departments_select_which_is_checked_like_the_others() -> None:
    base = dict(usage="SELECT 1", day_totals="SELECT 1", items="SELECT 1")
    assert "departments" not in custom_preset(_custom(**base)).queries
    assert "departments" in custom_preset(_custom(**base, departments="SELECT ksdm AS code, ksmc AS name FROM ks")).queries
    with pytest.raises(ConfigError, match=r"sources\[myhis\]\.queries\.departments: must be exactly one SELECT"):
        custom_preset(_custom(**base, departments="DELETE FROM ks"))

def test_an_unknown_preset_or_one_of_the_wrong_kind_is_refused() -> None:
    cfg = SourceConfig(name="w", kind="warehouse", preset="mssql_his", connection="Driver={SQLite3};Database=x")
    with pytest.raises(ConfigError, match="is a his preset"):
        preset_of(cfg)
    with pytest.raises(ConfigError, match="unknown preset 'nope'"):
        preset_of(cfg.model_copy(update={"preset": "nope"}))


def test_a_custom_select_with_a_union_is_accepted() -> None:
    stmt = require_single_select("SELECT a FROM x WHERE d >= :day_from UNION ALL SELECT b FROM y", "tsql", "k")
    assert stmt.key == "union"


def _receipt(**kw) -> Receipt:
    base = dict(line_id="1", changed_at=datetime(2026, 10, 1, tzinfo=UTC), item_code="Y00001", quantity=Decimal(10),
                unit="盒", lot="L1", expiry=date(2028, 1, 1), distributor="国药", accepted_at=datetime(2026, 10, 1, tzinfo=UTC))
    return Receipt(**{**base, **kw})


NOW = datetime(2026, 10, 2, tzinfo=UTC)


@pytest.mark.parametrize("change,reason", [
    ({"item_code": ""}, "no item code"),
    ({"quantity": Decimal(-5)}, "negative receipt quantity"),
    ({"unit": "箱子"}, "unknown unit"),
    ({"accepted_at": datetime(1899, 1, 1, tzinfo=UTC)}, "impossible date"),
    ({"accepted_at": datetime(2027, 1, 1, tzinfo=UTC)}, "impossible date"),
    ({"lot": "L\ufffd1"}, "undecodable text"),
])
def test_bad_receipt_lines_get_a_reason(change: dict, reason: str) -> None:
    assert reason in (receipt_problem(_receipt(**change), NOW) or "")


def test_a_good_or_deleted_receipt_line_has_no_problem() -> None:
    assert receipt_problem(_receipt(), NOW) is None
    assert receipt_problem(_receipt(quantity=Decimal(-1), deleted=True), NOW) is None


def test_usage_rows_outside_the_window_or_without_an_item_are_refused() -> None:
    row = UsageRow(date(2026, 10, 3), "Y1", "0101", Setting.OUTPATIENT, Decimal(1), Decimal(2), 1)
    assert usage_problem(row, date(2026, 10, 1), date(2026, 10, 5)) is None
    assert "impossible date" in usage_problem(row, date(2026, 10, 4), date(2026, 10, 5))
    assert usage_problem(UsageRow(row.day, " ", "0101", Setting.OUTPATIENT, Decimal(1), Decimal(2)), row.day, row.day) == "no item code"


def test_connection_strings_get_streaming_and_read_only_options() -> None:
    from adapters.odbc import OdbcSource, engine_of

    pg = OdbcSource("his", "Driver={PostgreSQL Unicode};Server=h;Database=his")
    ms = OdbcSource("his", "Driver={ODBC Driver 18 for SQL Server};Server=h;Database=HIS")
    assert pg.engine == "postgresql" and "UseDeclareFetch=1" in pg._cs
    assert ms.engine == "mssql" and "ApplicationIntent=ReadOnly" in ms._cs
    assert engine_of("DSN=HIS", "oracle") == "oracle"
    with pytest.raises(Exception, match="options.engine"):
        engine_of("DSN=HIS")


def test_undecodable_bytes_become_replacement_characters_that_validation_refuses() -> None:
    import codecs

    from adapters.odbc import _lenient

    text = codecs.decode("阿托".encode("gbk") + b"\xff\x80", _lenient("gbk"))
    assert text.startswith("阿托") and "\ufffd" in text
    row = UsageRow(date(2026, 10, 3), text, "0101", Setting.OUTPATIENT, Decimal(1), Decimal(2), 1)
    assert usage_problem(row, row.day, row.day) == "undecodable text"


@pytest.mark.parametrize("name", ["mssql_materials", "spd_issues"])
def test_the_consumable_presets_aggregate_inside_the_database_over_a_bounded_day_window(name: str) -> None:
    """材料收费明细 and 出库明细: GROUP BY day x item x department x setting, only between :day_from and
    :day_to_next, and the same SQL reads on SQL Server and, transpiled, on Oracle (an SPD on Oracle)."""
    preset = PRESETS[name]
    assert preset.item_kind == "consumable"
    for query in ("usage", "day_totals"):
        tree = sqlglot.parse_one(preset.queries[query], read="tsql")
        assert tree.args.get("group") is not None, query
        where = tree.args["where"].sql(dialect="tsql")
        assert "day_from" in where and "day_to_next" in where
        oracle = sqlglot.transpile(preset.queries[query], read="tsql", write="oracle")[0]
        sqlglot.parse_one(oracle, read="oracle")
    assert "registration_no" in preset.queries["items"]
