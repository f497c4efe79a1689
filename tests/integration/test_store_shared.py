"""Several agents of a hospital group on one state store: they start at once, of different versions."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from agent.clock import FakeClock
from agent.errors import StoreError
from agent.service.metrics import Metrics
from agent.service.runner import JobRunner, JobSpec
from agent.store import Store, migrate, open_store

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def _latest() -> dict[str, int]:
    return {c.name: c.version for c in migrate.components()}


def _one_behind() -> dict[str, int]:
    """The schema of an agent one migration older: the newest component without its last migration."""
    comps = migrate.components()
    last = max((c for c in comps if c.version > 1), key=lambda c: c.version)
    return {**_latest(), last.name: last.version - 1}


def _open_together(url: str, targets: list[dict[str, int] | None]) -> list[Store | BaseException]:
    """Open the store from one thread per agent, released at the same instant."""
    gate = threading.Barrier(len(targets))
    results: list[Store | BaseException] = [RuntimeError("did not run")] * len(targets)

    def agent(i: int, target: dict[str, int] | None) -> None:
        gate.wait()
        try:
            results[i] = open_store(url, f"H{i}", target=target)
        except BaseException as exc:
            results[i] = exc

    threads = [threading.Thread(target=agent, args=(i, t)) for i, t in enumerate(targets)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results


def _close(results: list[Store | BaseException]) -> None:
    for r in results:
        if isinstance(r, Store):
            r.close()


@pytest.mark.parametrize("round_", range(3))
def test_agents_starting_at_once_on_an_empty_store_migrate_it_once(pg_store_url: str, round_: int) -> None:
    results = _open_together(pg_store_url, [None] * 6)
    try:
        assert all(isinstance(r, Store) for r in results), results
        store = results[0]
        assert isinstance(store, Store)
        assert store.versions() == _latest()
        with store.read() as conn:
            rows = conn.execute(text("SELECT component, count(*) FROM schema_version GROUP BY component")).all()
        assert all(n == 1 for _, n in rows)
    finally:
        _close(results)
        store = open_store(pg_store_url, "H0")  # the next round starts from an empty schema again
        with store.begin() as conn:
            for (name,) in conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")).all():
                conn.execute(text(f'DROP TABLE IF EXISTS "{name}" CASCADE'))
        store.close()


def test_an_older_and_a_newer_agent_starting_at_once_leave_the_newer_schema(pg_store_url: str) -> None:
    older = _one_behind()
    results = _open_together(pg_store_url, [older, None, older, None])
    try:
        newest = next(r for r in results if isinstance(r, Store) and r.known is None)
        assert newest.versions() == _latest()
        for r, target in zip(results, [older, None, older, None], strict=True):
            if target is None:
                assert isinstance(r, Store)
            elif isinstance(r, BaseException):  # it came after the upgrade: refused, clearly
                assert isinstance(r, StoreError) and "newer" in str(r)
            else:  # it came first; it must now stop writing
                assert r.newer_schema() is not None
    finally:
        _close(results)


def test_an_agent_waits_for_a_peer_upgrading_then_finds_nothing_to_do(pg_store_url: str) -> None:
    store = open_store(pg_store_url, "H1", target=_one_behind())
    store.close()
    opened: list[Store | BaseException] = []
    conn = open_store(pg_store_url, "H1", target=_one_behind()).engine.connect()
    tx = conn.begin()
    migrate.upgrade(conn)  # a peer upgrading to the latest, holding its transaction open
    waiter = threading.Thread(target=lambda: opened.append(_try_open(pg_store_url)))
    waiter.start()
    waiter.join(1.5)
    assert waiter.is_alive(), "the second agent did not wait for the upgrade in progress"
    tx.commit()
    conn.close()
    waiter.join(60)
    assert len(opened) == 1 and isinstance(opened[0], Store)
    with opened[0].read() as c:
        assert c.execute(text("SELECT count(*) FROM schema_version")).scalar() == len(_latest())
    opened[0].close()


def test_a_stuck_upgrade_is_named_after_the_wait(pg_store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    open_store(pg_store_url, "H1", target=_one_behind()).close()
    monkeypatch.setattr(migrate, "LOCK_WAIT_S", 1)
    conn = open_store(pg_store_url, "H1", target=_one_behind()).engine.connect()
    tx = conn.begin()
    migrate.upgrade(conn)
    try:
        with pytest.raises(StoreError, match="another vbp-agent has been upgrading") as err:
            open_store(pg_store_url, "H2")
        assert err.value.transient
    finally:
        tx.rollback()
        conn.close()
    store = open_store(pg_store_url, "H2")  # the stuck peer gone, the upgrade goes through
    assert store.versions() == _latest()
    store.close()


def _try_open(url: str) -> Store | BaseException:
    try:
        return open_store(url, "H2")
    except BaseException as exc:
        return exc


def test_a_running_older_agent_stops_writing_once_a_newer_one_upgrades(store_url: str) -> None:
    old = open_store(store_url, "H1", target=_one_behind())
    runner = JobRunner(old, FakeClock(NOW), Metrics())
    ran: list[int] = []
    spec = JobSpec("poll", lambda: ran.append(1), timeout_s=30)
    assert runner.run(spec) and ran == [1]
    open_store(store_url, "H2").close()  # a newer agent of the group starts and upgrades the store
    assert not runner.run(spec)
    assert ran == [1], "the older agent ran a job against the newer schema"
    state = runner.states["poll"]
    assert not state.up and "newer" in (state.last_error or "")
    old.close()
