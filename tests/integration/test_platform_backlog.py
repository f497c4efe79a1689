"""The platform's first day: receipts accepted before the agent was switched on, whose deliveries
are still open on the platform, are listed with how late each is and queued only after a preview."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest
from platform_support import APP_KEY, HOSPITAL, SECRET, START, outbox_rows, receipt

from agent.cli import main
from agent.clock import FakeClock
from agent.config import load_config
from agent.jobs.platform import sync_platform
from agent.store import open_store
from agent.store.receipts import store_lines
from agent.upstream.confirm import make_on_stored
from agent.upstream.link import build_platform

NOW = START + timedelta(days=30)  # the day the agent is switched on


def _config(tmp_path: Path, url: str, extra: str = "") -> Path:
    cfg = tmp_path / "agent.toml"
    cfg.write_text(
        f'[hospital]\ncode = "{HOSPITAL}"\nname = "测试医院"\n[state]\ndirectory = "{tmp_path}"\n'
        f'[platform]\nprofile = "zj_infno"\nbase_url = "{url}"\napp_key = "{APP_KEY}"\n'
        f'secret_env = "VBP_TEST_PLATFORM_SECRET"\n{extra}', encoding="utf-8")
    return cfg


def _first_day(ref, tmp_path: Path, max_age: timedelta = timedelta(days=7)) -> list:
    """Weeks of receipts read on the first poll, their deliveries still open on the platform; the
    ingestion stores them all and queues what it queues automatically."""
    ages = {1: 25, 2: 12, 3: 9, 4: 1}  # days before NOW each was accepted
    receipts = [receipt(n, delivery_id=f"SHP-{n}", accepted_at=NOW - timedelta(days=d, hours=3)) for n, d in ages.items()]
    receipts.append(receipt(5, lot="L-NONE", accepted_at=NOW - timedelta(days=20)))  # nothing on the platform fits it
    for r in receipts[:4]:
        ref.seed_delivery(HOSPITAL, r.delivery_id, r.item_code, 10, lot=r.lot, shipped_at=r.accepted_at - timedelta(hours=5))
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}", HOSPITAL)
    on_stored = make_on_stored(HOSPITAL, lambda: NOW, max_age=max_age)
    with store.begin() as conn:
        changed, _ = store_lines(conn, HOSPITAL, "warehouse", receipts, NOW)
        on_stored(conn, changed)
    store.close()
    return receipts


def _switched_on(ref, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, FakeClock]:
    """The first day's store and the agent's config, on the day it is switched on."""
    monkeypatch.setenv("VBP_TEST_PLATFORM_SECRET", SECRET)
    cfg = _config(tmp_path, ref.url)
    _first_day(ref, tmp_path)
    return cfg, FakeClock(NOW)


def test_backlog_lists_old_receipts_with_open_deliveries_and_how_late_each_is(ref, tmp_path: Path, capsys,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    cfg, clock = _switched_on(ref, tmp_path, monkeypatch)
    assert main(["-c", str(cfg), "platform", "sync"], clock=clock) == 0  # the first sync reads a week back: SHP-4 only
    assert "delivery lines read: 1" in capsys.readouterr().out
    assert main(["-c", str(cfg), "platform", "sync", "--since", "2026-10-01"], clock=clock) == 0
    assert "delivery lines read: 4" in capsys.readouterr().out
    assert main(["-c", str(cfg), "platform", "backlog"], clock=clock) == 0
    out = capsys.readouterr().out
    rows = [ln for ln in out.splitlines() if ln.startswith("SHP-")]
    assert [r.split()[0] for r in rows] == ["SHP-1", "SHP-2", "SHP-3"]  # oldest first; SHP-4 was queued automatically
    assert "逾期 24 天 3 小时" in rows[0] and "逾期 11 天 3 小时" in rows[1] and "逾期 8 天 3 小时" in rows[2]
    assert "共 3 条" in out and "auto_confirm_max_age_days" in out
    assert "另有 1 条验收记录未匹配到平台配送单" in out
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}", HOSPITAL)
    assert [r["idem_key"] for r in outbox_rows(store)] == ["confirm:SHP-4"]  # the listing queued nothing
    store.close()


def test_confirm_since_a_day_queues_after_a_preview_and_only_with_consent(ref, tmp_path: Path, capsys,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    cfg, clock = _switched_on(ref, tmp_path, monkeypatch)
    main(["-c", str(cfg), "platform", "sync", "--since", "2026-10-01"], clock=clock)
    since = (NOW - timedelta(days=15)).date().isoformat()
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    assert main(["-c", str(cfg), "platform", "confirm", "--since", since], clock=clock) == 1
    assert "未加入任何到货确认" in capsys.readouterr().out
    assert main(["-c", str(cfg), "platform", "confirm", "--since", since, "--yes"], clock=clock) == 0
    out = capsys.readouterr().out
    assert "SHP-2" in out and "SHP-3" in out and "SHP-1 " not in out and "已加入发送队列 2 条" in out
    assert main(["-c", str(cfg), "platform", "drain"], clock=clock) == 0
    assert ref.confirmed() == {"SHP-2": "10", "SHP-3": "10", "SHP-4": "10"}
    capsys.readouterr()
    main(["-c", str(cfg), "platform", "backlog"], clock=clock)
    assert [ln.split()[0] for ln in capsys.readouterr().out.splitlines() if ln.startswith("SHP-")] == ["SHP-1"]
    assert main(["-c", str(cfg), "platform", "confirm", "--since", "2026-13-01"], clock=clock) == 2


def test_the_age_limit_for_automatic_queuing_is_a_config_key(ref, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VBP_TEST_PLATFORM_SECRET", SECRET)
    cfg = load_config(_config(tmp_path, ref.url, "auto_confirm_max_age_days = 30\n"))
    link = build_platform(cfg.platform, HOSPITAL)
    assert link is not None and link.config.auto_confirm_max_age == timedelta(days=30)
    _first_day(ref, tmp_path, link.config.auto_confirm_max_age)
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}", HOSPITAL)
    try:
        assert sync_platform(store, link, FakeClock(NOW), NOW - timedelta(days=60)).queued == 4  # the job honours the key
        assert [r["idem_key"] for r in outbox_rows(store)] == [f"confirm:SHP-{n}" for n in (1, 2, 3, 4)]
    finally:
        store.close()
        link.close()
    bad = _config(tmp_path, ref.url, "auto_confirm_max_age_days = 0\n")
    assert main(["-c", str(bad), "platform", "backlog"]) == 2
