"""Forward-only schema upgrades, one version line per component.

The store records each component's version in ``schema_version``. Opening a store runs every
missing migration in one transaction. A store that holds a newer version, or a component this
code does not know, was written by a newer vbp-agent: it is refused and never touched.

Several agents may share one PostgreSQL store (a hospital group) and start at once, of different
versions. The upgrade runs under a transaction-scoped advisory lock named after the store's schema:
one agent migrates, the others wait for it (``LOCK_WAIT_S``) and then find nothing to do, or find a
newer schema and refuse. SQLite takes its write lock at BEGIN (see engine.py). A running agent whose
store was since upgraded by a newer one stops writing: ``newer_than_code`` is checked before each
job (agent.service.runner).
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from types import ModuleType
from typing import Any

from sqlalchemy import Connection, event, inspect, text
from sqlalchemy.exc import DBAPIError

import agent.store.schema as schema_package
from agent.errors import StoreError
from agent.logging import get_logger
from agent.store.schema.core import schema_version

Migration = Callable[[Connection], None]

log = get_logger("agent.store")

LOCK_WAIT_S = 300  # how long an agent waits for another one's upgrade before giving up


@dataclass(frozen=True)
class Component:
    name: str
    migrations: Sequence[Migration]

    @property
    def version(self) -> int:
        return len(self.migrations)


def components(target: Mapping[str, int] | None = None) -> list[Component]:
    """Every component of the store, ``core`` first, the rest by name; ``target`` cuts them at older versions
    (the schema an older vbp-agent knows: tests use it to build older stores and older agents)."""
    found = list(_discovered())
    return found if target is None else _cut(found, target)


@cache
def _discovered() -> tuple[Component, ...]:
    """The schema package's components, found once per process (the runner asks before every job run)."""
    pkg = schema_package
    found: list[Component] = []
    for info in pkgutil.iter_modules(pkg.__path__):
        module: ModuleType = importlib.import_module(f"{pkg.__name__}.{info.name}")
        name = getattr(module, "COMPONENT", None)
        if name:
            found.append(Component(name, tuple(module.MIGRATIONS)))
    found.sort(key=lambda c: (c.name != "core", c.name))
    return tuple(found)


def _cut(comps: Sequence[Component], target: Mapping[str, int]) -> list[Component]:
    """The components as an older vbp-agent knew them: each cut at its version in ``target``."""
    return [Component(c.name, c.migrations[: target.get(c.name, c.version)]) for c in comps]


def read_versions(conn: Connection) -> dict[str, int] | None:
    """Component versions in the store, or None for a store with no schema yet."""
    if not inspect(conn).has_table("schema_version"):
        return None
    rows = conn.execute(text("SELECT component, version FROM schema_version")).all()
    return {r[0]: int(r[1]) for r in rows}


def plan(stored: Mapping[str, int], known: Sequence[Component]) -> list[tuple[Component, int]]:
    """What to run: (component, from_version). Refuses a store newer than this code."""
    by_name = {c.name: c for c in known}
    unknown = sorted(set(stored) - set(by_name))
    if unknown:
        raise StoreError(
            f"the state store holds component(s) {', '.join(unknown)} that this vbp-agent does not know: "
            "it was written by a newer version. Upgrade vbp-agent; the store was not changed."
        )
    todo = []
    for comp in known:
        have = stored.get(comp.name, 0)
        if have > comp.version:
            raise StoreError(
                f"the state store's '{comp.name}' schema is version {have}, newer than this vbp-agent's "
                f"{comp.version}: upgrade vbp-agent; the store was not changed."
            )
        if have < comp.version:
            todo.append((comp, have))
    return todo


def upgrade(conn: Connection, known: Sequence[Component] | None = None, *, target: Mapping[str, int] | None = None) -> list[str]:
    """Run every missing migration inside the caller's transaction. Returns what was done.

    ``target`` limits components to a given version (tests use it to build older stores).
    """
    _lock_for_upgrade(conn)
    known = components(target) if known is None else (list(known) if target is None else _cut(known, target))
    stored = read_versions(conn)
    empty = stored is None
    if stored is None:
        foreign = [t for t in inspect(conn).get_table_names() if t != "sqlite_sequence"]
        if foreign:
            raise StoreError(
                "the state store database already holds tables that are not vbp-agent's "
                f"({', '.join(sorted(foreign)[:5])}): point state.url at an empty database; nothing was changed."
            )
        stored = {}
    done = []
    now = datetime.now(UTC)
    todo = plan(stored, known)
    if empty:
        _create(conn, todo)
    else:
        for comp, have in todo:
            for i in range(have, comp.version):
                comp.migrations[i](conn)
    for comp, have in todo:
        _record(conn, comp.name, comp.version, now, insert=(comp.name not in stored))
        done.append(f"{comp.name} {have} -> {comp.version}")
    return done


# An empty database's schema, per dialect, server version and migrations: the statements its migrations
# wrote the first time this process ran them, less the reads (what the tables were, all empty then).
_CREATED: dict[tuple[object, ...], tuple[tuple[str, Any], ...]] = {}
_READ = re.compile(r"\s*(SELECT|PRAGMA\s+[\w.]+\s*(\(|$))", re.IGNORECASE)


def _create(conn: Connection, todo: Sequence[tuple[Component, int]]) -> None:
    """Run every migration of an empty database. Each one is a function of what the database holds, and
    an empty one holds nothing: the same migrations on the same server write the same statements. So the
    first run in a process writes them down, and the next empty store of the kind is given them again,
    without compiling its DDL or reflecting empty tables (a tenth of the time; a test suite opens
    hundreds of stores). A statement that returned rows and only reads is left out."""
    key = (conn.dialect.name, conn.dialect.server_version_info, tuple((c.name, tuple(c.migrations)) for c, _ in todo))
    script = _CREATED.get(key)
    if script is not None:
        for statement, parameters in script:
            conn.exec_driver_sql(statement, parameters)
        return
    written: list[tuple[str, Any]] = []

    def note(_conn, cursor, statement, parameters, _context, _many) -> None:  # type: ignore[no-untyped-def]
        if cursor.description is None or not _READ.match(statement):
            written.append((statement, parameters))

    event.listen(conn, "after_cursor_execute", note)
    try:
        for comp, _have in todo:
            for migration in comp.migrations:
                migration(conn)
    finally:
        event.remove(conn, "after_cursor_execute", note)
    _CREATED[key] = tuple(_joined(written) if conn.dialect.name == "postgresql" else written)


def _joined(statements: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """PostgreSQL takes statements without parameters as one script: one round trip instead of one each
    (a ``%`` stays in a statement of its own, where the driver may read it as a placeholder)."""
    out: list[tuple[str, Any]] = []
    script: list[str] = []
    for statement, parameters in statements:
        if parameters or "%" in statement:
            if script:
                out.append((";\n".join(script), None))
                script = []
            out.append((statement, parameters))
        else:
            script.append(statement)
    if script:
        out.append((";\n".join(script), None))
    return out


def newer_than_code(stored: Mapping[str, int], known: Sequence[Component] | None = None) -> str | None:
    """Why a store at ``stored`` versions must not be written by this code (a newer agent upgraded it), or None."""
    try:
        plan(stored, list(known or components()))
    except StoreError as exc:
        return str(exc)
    return None


def _lock_for_upgrade(conn: Connection) -> None:
    """Hold the store's upgrade lock until the caller's transaction ends (PostgreSQL); SQLite holds its write
    lock from BEGIN already. The wait is logged and bounded by LOCK_WAIT_S."""
    if conn.dialect.name != "postgresql":
        return
    lock_id = conn.execute(text("SELECT hashtext(current_schema() || :name)"), {"name": "/vbp-agent schema"}).scalar()
    if conn.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": lock_id}).scalar():
        return
    log.info("another vbp-agent is upgrading the state store; waiting for it", up_to_s=LOCK_WAIT_S)
    conn.execute(text(f"SET LOCAL lock_timeout = '{LOCK_WAIT_S}s'"))
    try:
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_id})
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) != "55P03":  # lock_not_available
            raise
        raise StoreError(
            f"another vbp-agent has been upgrading the state store's schema for over {LOCK_WAIT_S} s; nothing was "
            "changed. Check the other agents sharing this store (a stuck upgrade holds its lock until it ends)",
            transient=True,
        ) from None
    conn.execute(text("SET LOCAL lock_timeout = 0"))


def _record(conn: Connection, name: str, version: int, now: datetime, insert: bool) -> None:
    if insert:
        conn.execute(schema_version.insert().values(component=name, version=version, updated_at=now))
    else:
        conn.execute(
            schema_version.update().where(schema_version.c.component == name).values(version=version, updated_at=now)
        )
