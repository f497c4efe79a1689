"""The guard on a hospital's own SQL: exactly one read-only SELECT, or a one-line refusal.

A custom query comes from a config file and is sent to a production HIS. The guard refuses, naming
the key and what it found:

1. executable and optimizer comments (MySQL ``/*! ... */`` and ``/*M! ... */`` run their contents;
   ``/*+ ... */`` and ``--+`` are optimizer hints), control and invisible characters, and look-alike
   letters outside string literals (a full-width ``ＤELETE`` or a Cyrillic ``е``);
2. anything but one statement, and any statement but a SELECT (or a UNION of SELECTs), with no
   INTO, FOR UPDATE, DML in a CTE, EXEC or COPY anywhere inside;
3. any word sqlglot cannot place in that one SELECT: the input's words are compared with a
   normalised re-generation of the parse tree, and a statement word read as a name
   (``SELECT 1 DELETE FROM t`` in T-SQL, where SQL Server would run the DELETE) is refused;
4. any function outside an allowlist of pure functions (aggregates, string, date, math,
   CASE/COALESCE/CAST), per dialect; schema-qualified calls (``dbms_lock.sleep``,
   ``UTL_HTTP.REQUEST``) and Oracle's ``seq.NEXTVAL`` are refused too.

The source connection then runs every query inside a read-only transaction where the engine has
one (adapters/odbc.py): the guard is the first wall, not the only one.
"""

from __future__ import annotations

import unicodedata
from collections import Counter

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import Token, TokenType

from agent.errors import ConfigError

# Comments whose contents the server acts on.
_ACTIVE_COMMENTS = ("/*!", "/*m!", "/*+", "--+")

# Words that start (or change) a statement. Read as a bare name they mean sqlglot and the server
# disagree about where the SELECT ends.
_STATEMENT_WORDS = frozenset("""
ALTER ANALYZE ATTACH BACKUP BEGIN BULK CALL CHECKPOINT CLOSE CLUSTER COMMIT COPY CREATE DBCC DEALLOCATE DECLARE
DELETE DENY DETACH DISCARD DO DROP DUMP DUMPFILE EXEC EXECUTE EXPLAIN FETCH FLUSH GO GOTO GRANT HANDLER IMPORT
INSERT INSTALL INTO KILL LISTEN LOAD LOCK MERGE NOTIFY OPEN OUTFILE PRAGMA PREPARE PRINT PROC PROCEDURE PURGE
RAISERROR READTEXT RECONFIGURE REFRESH REINDEX RELEASE RENAME RESET RESTORE RETURN REVERT REVOKE ROLLBACK SAVEPOINT
SET SETUSER SHOW SHUTDOWN START TRUNCATE UNINSTALL UNLISTEN UNLOCK UPDATE UPDATETEXT USE VACUUM WAITFOR WHILE
WRITETEXT
""".split())

# SQL Server's reserved keywords: T-SQL needs no ';' between statements, so each is refused as a bare
# name (bracket it, [name], if a column is really called that).
_TSQL_RESERVED = frozenset("""
ADD ALL ALTER AND ANY AS ASC AUTHORIZATION BACKUP BEGIN BETWEEN BREAK BROWSE BULK BY CASCADE CASE CHECK CHECKPOINT
CLOSE CLUSTERED COALESCE COLLATE COLUMN COMMIT COMPUTE CONSTRAINT CONTAINS CONTAINSTABLE CONTINUE CONVERT CREATE
CROSS CURRENT CURRENT_DATE CURRENT_TIME CURRENT_TIMESTAMP CURRENT_USER CURSOR DATABASE DBCC DEALLOCATE DECLARE
DEFAULT DELETE DENY DESC DISK DISTINCT DISTRIBUTED DOUBLE DROP DUMP ELSE END ERRLVL ESCAPE EXCEPT EXEC EXECUTE
EXISTS EXIT EXTERNAL FETCH FILE FILLFACTOR FOR FOREIGN FREETEXT FREETEXTTABLE FROM FULL FUNCTION GOTO GRANT GROUP
HAVING HOLDLOCK IDENTITY IDENTITY_INSERT IDENTITYCOL IF IN INDEX INNER INSERT INTERSECT INTO IS JOIN KEY KILL LEFT
LIKE LINENO LOAD MERGE NATIONAL NOCHECK NONCLUSTERED NOT NULL NULLIF OF OFF OFFSETS ON OPEN OPENDATASOURCE OPENQUERY
OPENROWSET OPENXML OPTION OR ORDER OUTER OVER PERCENT PIVOT PLAN PRECISION PRIMARY PRINT PROC PROCEDURE PUBLIC
RAISERROR READ READTEXT RECONFIGURE REFERENCES REPLICATION RESTORE RESTRICT RETURN REVERT REVOKE RIGHT ROLLBACK
ROWCOUNT ROWGUIDCOL RULE SAVE SCHEMA SECURITYAUDIT SELECT SESSION_USER SET SETUSER SHUTDOWN SOME STATISTICS
SYSTEM_USER TABLE TABLESAMPLE TEXTSIZE THEN TO TOP TRAN TRANSACTION TRIGGER TRUNCATE TRY_CONVERT TSEQUAL UNION
UNIQUE UNPIVOT UPDATE UPDATETEXT USE USER VALUES VARYING VIEW WAITFOR WHEN WHERE WHILE WITH WRITETEXT
""".split())

# Statement kinds refused wherever they appear in the tree (a CTE, a subquery, ...).
_FORBIDDEN_NODES: tuple[type[exp.Expression], ...] = tuple(
    getattr(exp, n) for n in (
        "Insert", "Update", "Delete", "Merge", "Create", "Drop", "Alter", "TruncateTable", "Into", "Command", "Lock",
        "Copy", "Execute", "Set", "Use", "Transaction", "Commit", "Rollback", "Grant", "Revoke", "Pragma", "LoadData",
        "Kill", "Analyze", "Cache", "Uncache", "Refresh", "Describe", "Show", "Comprehension", "Heredoc", "Returning",
    ) if hasattr(exp, n)
)

# Pure functions, by sqlglot's class: what a dispensing or receipt query needs, nothing with a side effect.
_PURE_CLASSES: frozenset[str] = frozenset("""
And Or Xor Exists Case If Coalesce Nullif Nvl2 Greatest Least Cast TryCast Convert CastToStrType Decode DecodeCase Collate
Count CountIf Sum Avg Min Max Median Stddev StddevPop StddevSamp Variance VariancePop GroupConcat ArrayAgg AnyValue
ApproxDistinct First Last Grouping
RowNumber Rank DenseRank PercentRank CumeDist Ntile Lag Lead FirstValue LastValue NthValue
Length ByteLength BitLength Lower Upper Trim Substring SubstringIndex Concat ConcatWs Left Right Pad StrPosition Initcap
Reverse Repeat Replace Stuff Space Chr Ascii Unicode Translate SplitPart Format NumberToStr ToChar ToNumber String
RegexpLike RegexpReplace RegexpSubstr RegexpExtract RegexpInstr RegexpCount StartsWith EndsWith
CurrentDate CurrentDatetime CurrentTime CurrentTimestamp Localtime Localtimestamp Systimestamp Date Datetime Time
Timestamp DateAdd DateSub DateDiff DateTrunc DatetimeAdd DatetimeSub DatetimeDiff DatetimeTrunc TimestampAdd
TimestampSub TimestampDiff TimestampTrunc TimeAdd TimeSub TimeDiff TimeTrunc Extract Year Quarter Month Week
WeekOfYear Day DayOfMonth DayOfWeek DayOfWeekIso DayOfYear Dayname Monthname Hour Minute Second LastDay AddMonths
MonthsBetween NextDay StrToDate StrToTime TimeToStr TimeStrToDate TimeStrToTime DateStrToDate DateToDateStr
TsOrDsToDate TsOrDsToDatetime TsOrDsToTimestamp TsOrDsAdd TsOrDsDiff TsOrDsToDateStr DateFromParts
TimestampFromParts TimeFromParts UnixToTime UnixToStr TimeToUnix StrToUnix
Abs Round Floor Ceil Trunc Sign Sqrt Pow Exp Ln Log Pi Degrees Radians IsNan IsInf SafeDivide
""".split())

# Functions sqlglot does not model (exp.Anonymous), by the name a hospital writes, per dialect.
_PURE_NAMES_COMMON = frozenset("""
abs ceiling coalesce concat floor greatest least lower ltrim nullif replace round rtrim substring trim upper
""".split())
_PURE_NAMES: dict[str, frozenset[str]] = {
    "tsql": frozenset("""
        charindex choose datename datepart datefromparts datetimefromparts eomonth getdate getutcdate iif isdate
        isnull isnumeric len patindex quotename sysdatetime str try_cast try_convert try_parse parse format
        sign square power log10
    """.split()),
    "oracle": frozenset("""
        add_months decode initcap instr last_day length lengthb listagg lpad months_between nvl nvl2 regexp_instr
        regexp_replace regexp_substr rpad substr substrb sysdate systimestamp to_char to_date to_number
        to_timestamp trunc mod
    """.split()),
    "postgres": frozenset("""
        age btrim char_length date_part date_trunc initcap left length lpad make_date make_timestamp mod
        now position right rpad split_part strpos string_agg to_char to_date to_number to_timestamp
    """.split()),
    "mysql": frozenset("""
        char_length curdate current_date date_add date_format date_sub datediff dayofmonth ifnull instr
        left length locate lpad mid mod month now right rpad str_to_date substring_index timestampdiff year
    """.split()),
    "sqlite": frozenset("""
        date datetime group_concat ifnull iif instr julianday length printf strftime substr total typeof unixepoch
    """.split()),
}

# Oracle reads sequence values as columns: ``seq.NEXTVAL`` advances the sequence.
_SEQUENCE_PSEUDOCOLUMNS = frozenset({"NEXTVAL", "CURRVAL"})
# Words a re-generation may legitimately drop or spell differently (defaults and synonyms).
_MAY_VANISH = frozenset({"ASC", "OUTER", "INNER", "AS", "ALL", "NOLOCK", "WITH", "INT", "INTEGER", "NUMERIC",
                         "DECIMAL", "NVARCHAR", "VARCHAR", "CHAR", "NCHAR", "VARCHAR2", "NVARCHAR2", "NUMBER",
                         "DATETIME", "DATETIME2", "TIMESTAMP", "DATE", "TEXT", "NTEXT", "FLOAT", "REAL", "BIGINT",
                         "SMALLINT", "TINYINT", "BIT", "MONEY", "DOUBLE", "PRECISION", "CHARACTER", "VARYING",
                         "SIGNED", "UNSIGNED", "CURRENT_TIMESTAMP", "CURRENT_DATE", "SYSDATE", "GETDATE", "NOW",
                         "ISNULL", "NVL", "IFNULL", "LEN", "SUBSTR", "CEILING", "ROWS", "ONLY", "FIRST", "NEXT",
                         "ROW", "TOP", "LIMIT", "OFFSET", "FETCH", "DISTINCT", "UNIQUE", "NULLS", "LAST"})
# SQL Server table hints that only read: the locking ones (UPDLOCK, XLOCK, HOLDLOCK, TABLOCKX ...) would
# hold locks on the HIS's busiest tables.
_READING_TABLE_HINTS = frozenset({"NOLOCK", "READUNCOMMITTED", "READPAST", "NOWAIT", "INDEX", "FORCESEEK", "FORCESCAN",
                                  "NOEXPAND"})
_WORD_TOKENS = {TokenType.VAR}
_LITERAL_TOKENS = {TokenType.STRING, TokenType.NATIONAL_STRING, TokenType.RAW_STRING, TokenType.BYTE_STRING,
                   TokenType.HEX_STRING, TokenType.BIT_STRING, TokenType.HEREDOC_STRING, TokenType.UNICODE_STRING}


def _refuse(key: str, what: str) -> ConfigError:
    return ConfigError(f"{key}: must be exactly one SELECT that only reads; refused: {what}")


def _check_characters(sql: str, key: str) -> None:
    lowered = sql.lower()
    for marker in _ACTIVE_COMMENTS:
        if marker in lowered:
            kind = "optimizer hint" if "+" in marker else "executable comment"
            raise _refuse(key, f"{kind} '{marker}...'")
    for i, ch in enumerate(sql):
        if ch == "\r" and sql[i + 1:i + 2] != "\n":
            raise _refuse(key, f"a carriage return without a line feed at offset {i} (where does a '--' comment end?)")
        if ch in "\t\r\n":
            continue
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Cf", "Co", "Cs", "Zl", "Zp"):
            raise _refuse(key, f"invisible or control character U+{ord(ch):04X} at offset {i}")


def _tokens(sql: str, dialect: str, key: str) -> list[Token]:
    try:
        return sqlglot.Dialect.get_or_raise(dialect).tokenize(sql)
    except TokenError as exc:
        raise _refuse(key, f"not valid {dialect} SQL: {str(exc).splitlines()[0]}") from None


def _looks_alike(text: str) -> str | None:
    """A character outside string literals that pretends to be another: full-width forms and other
    compatibility characters, and Greek or Cyrillic letters (``е`` for ``e``). Chinese names pass."""
    for ch in text:
        if ord(ch) < 128:
            continue
        if unicodedata.normalize("NFKC", ch) != ch:
            return ch
        name = unicodedata.name(ch, "")
        if name.startswith(("CYRILLIC", "GREEK", "ARMENIAN", "CHEROKEE", "MATHEMATICAL", "LATIN")):
            return ch
    return None


def _check_tokens(tokens: list[Token], key: str) -> None:
    for tok in tokens:
        if tok.token_type in _LITERAL_TOKENS:
            continue
        ch = _looks_alike(tok.text)
        if ch is not None:
            raise _refuse(key, f"look-alike character '{ch}' (U+{ord(ch):04X}) in '{tok.text}'")
    semis = [i for i, t in enumerate(tokens) if t.token_type == TokenType.SEMICOLON]
    if semis and semis != [len(tokens) - 1]:
        raise _refuse(key, f"{len(semis) + (semis[-1] != len(tokens) - 1)} statements separated by ';'")


def _words(tokens: list[Token]) -> Counter[str]:
    return Counter(t.text.upper() for t in tokens if t.text[:1].isalpha() or t.text[:1] == "_"
                   if t.token_type not in _LITERAL_TOKENS and t.token_type != TokenType.IDENTIFIER)


def _check_regeneration(stmt: exp.Expression, tokens: list[Token], dialect: str, key: str) -> None:
    """Every word of the input must come back, as a word (not a quoted name), when sqlglot writes
    the tree out again with every name quoted; one that does not was not placed in the SELECT."""
    regenerated = stmt.sql(dialect=dialect, identify=True)
    again = _words(_tokens(regenerated, dialect, key))
    quoted_names = {i.name.upper() for i in stmt.find_all(exp.Identifier)}
    for word, count in _words(tokens).items():
        if word in _MAY_VANISH or again[word] >= count:
            continue
        if word in quoted_names:
            # a name the input left unquoted comes back quoted, even a type word used as a column
            # (name, date, text, time): statement words used as names are _check_names' to refuse
            continue
        raise _refuse(key, f"'{word}' is not part of the SELECT as sqlglot reads it")


def _check_names(stmt: exp.Expression, tokens: list[Token], dialect: str, key: str) -> None:
    """A statement word (or in T-SQL any reserved word) used as a bare name: the server may start a
    new statement there (``SELECT 1 SHUTDOWN``)."""
    reserved = _STATEMENT_WORDS | (_TSQL_RESERVED if dialect == "tsql" else frozenset())
    bare = {t.text.upper() for t in tokens if t.token_type not in _LITERAL_TOKENS | {TokenType.IDENTIFIER}}
    for ident in stmt.find_all(exp.Identifier):
        name = ident.name.upper()
        if not ident.quoted and name in reserved and name in bare:
            raise _refuse(key, f"'{ident.name}' is a statement word read as a name; quote it if it is a column")
        if not ident.quoted and "@" in ident.name:
            raise _refuse(key, f"database link '{ident.name}' (a custom query reads this database only)")
    for col in stmt.find_all(exp.Column):
        if col.name.upper() in _SEQUENCE_PSEUDOCOLUMNS and col.table:
            raise _refuse(key, f"sequence access {col.sql(dialect=dialect)}")


def _function_name(node: exp.Func) -> str:
    return node.name if isinstance(node, exp.Anonymous) else node.sql_name()


def _check_functions(stmt: exp.Expression, dialect: str, key: str) -> None:
    allowed_names = _PURE_NAMES_COMMON | _PURE_NAMES.get(dialect, frozenset())
    for hint in stmt.find_all(exp.WithTableHint):
        for h in hint.expressions:
            if h.name.upper() not in _READING_TABLE_HINTS:
                raise _refuse(key, f"table hint {h.sql(dialect=dialect)} (it takes locks)")
    for node in stmt.find_all(exp.Func):
        if isinstance(node.parent, exp.WithTableHint):
            continue  # checked above
        if isinstance(node.parent, exp.Dot) or (isinstance(node, exp.Anonymous) and "." in node.name):
            raise _refuse(key, f"qualified function call {node.parent.sql(dialect=dialect) if node.parent else node.name}")
        if isinstance(node, exp.Anonymous):
            if node.name.lower() not in allowed_names:
                raise _refuse(key, f"function {node.name.upper()}() is not on the list of pure functions")
        elif type(node).__name__ not in _PURE_CLASSES:
            raise _refuse(key, f"function {_function_name(node)}() is not on the list of pure functions")


def guard_select(sql: str, dialect: str, key: str) -> exp.Expression:
    """Parse ``sql`` in ``dialect``; return its one SELECT, or raise ConfigError naming ``key`` and
    what was refused."""
    _check_characters(sql, key)
    tokens = _tokens(sql, dialect, key)
    _check_tokens(tokens, key)
    try:
        statements = [s for s in sqlglot.parse(sql, read=dialect) if s is not None]
    except ParseError as exc:
        raise _refuse(key, f"not valid {dialect} SQL: {str(exc).splitlines()[0]}") from None
    if len(statements) != 1:
        raise _refuse(key, f"{len(statements)} statements")
    stmt = statements[0]
    if not isinstance(stmt, (exp.Select, exp.Union)):
        raise _refuse(key, f"{stmt.key.upper()} statement")
    for node in stmt.walk():
        if isinstance(node, _FORBIDDEN_NODES):
            raise _refuse(key, f"{node.key.upper()} inside the SELECT")
    _check_names(stmt, tokens, dialect, key)
    _check_regeneration(stmt, tokens, dialect, key)
    _check_functions(stmt, dialect, key)
    return stmt
