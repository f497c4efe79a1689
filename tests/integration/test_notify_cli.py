"""The commands staff use: alerts list/show/ack/silence/unsilence and notify test."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from agent.cli import EXIT_FAILED, main
from agent.clock import FakeClock
from agent.config import load_config
from agent.domain.findings import Finding, Severity
from agent.jobs.notify import drain_notifications, process_findings
from agent.notify.sink import WeComSink
from agent.store import open_store
from agent.store.findings import write_findings

KEY = "Cli-Wecom-Key-Canary-4410"


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("T_CLI_WECOM", KEY)
    with WeComSink(key=KEY) as sink:
        cfg_path = tmp_path / "agent.toml"
        cfg_path.write_text(
            f'[hospital]\ncode = "H7"\nname = "测试医院"\n[state]\ndirectory = "{tmp_path}"\n'
            f'[receivers.pharmacy]\ntype = "wecom"\nkey_env = "T_CLI_WECOM"\napi_base = "{sink.url}"\n'
            '[[routes]]\nreceivers = ["pharmacy"]\ngroup_wait_s = 0\n',
            encoding="utf-8",
        )
        cfg = load_config(cfg_path)
        now = datetime.now(ZoneInfo("Asia/Shanghai")) - timedelta(minutes=5)
        store = open_store(cfg.state.effective_url, "H7")
        finding = Finding("zero_purchase", "注射用头孢曲松钠 1g", Severity.CRITICAL, "注射用头孢曲松钠 1g 本年度零采购", now,
                          values={"agreed_volume": 5000, "used": 0}, labels={"department": "药剂科"})
        process_findings(store, cfg, FakeClock(now), [finding])
        drain_notifications(store, cfg, FakeClock(now))
        store.close()
        yield cfg_path, sink, finding


def test_list_show_and_ack_an_alert(setup, capsys) -> None:
    cfg_path, _sink, finding = setup
    assert main(["-c", str(cfg_path), "alerts", "list"]) == 0
    out = capsys.readouterr().out
    assert "告警中" in out and "严重" in out and "零采购" in out and finding.key in out
    assert main(["-c", str(cfg_path), "alerts", "ack", finding.key, "--by", "李药师", "--hours", "4"]) == 0
    assert "已确认" in capsys.readouterr().out
    assert main(["-c", str(cfg_path), "alerts", "show", finding.key]) == 0
    out = capsys.readouterr().out
    assert "确认 李药师" in out and "firing -> pharmacy" in out and "约定采购量 5,000" in out
    assert main(["-c", str(cfg_path), "alerts", "show", "no:such"]) == EXIT_FAILED


def test_silence_and_unsilence(setup, capsys) -> None:
    cfg_path, _sink, _finding = setup
    assert main(["-c", str(cfg_path), "alerts", "silence", "--match", "department=药剂科", "--hours", "2", "--by", "王主任", "--comment", "盘点"]) == 0
    assert "已屏蔽 #1" in capsys.readouterr().out
    assert main(["-c", str(cfg_path), "alerts", "silences"]) == 0
    assert "药剂科" in capsys.readouterr().out
    assert main(["-c", str(cfg_path), "alerts", "unsilence", "1"]) == 0
    assert main(["-c", str(cfg_path), "alerts", "unsilence", "1"]) == EXIT_FAILED
    assert main(["-c", str(cfg_path), "alerts", "silence", "--match", "nonsense", "--by", "x", "--comment", "y"]) == 2


def test_notify_test_prints_the_vendor_answer_and_never_the_key(setup, capsys, monkeypatch) -> None:
    cfg_path, sink, _finding = setup
    assert main(["-c", str(cfg_path), "notify", "test", "pharmacy"]) == 0
    out = capsys.readouterr().out
    assert '"errcode": 0' in out and "测试消息" in sink.messages[-1]["content"]
    monkeypatch.setenv("T_CLI_WECOM", "Revoked-Key-Canary-0099")
    assert main(["-c", str(cfg_path), "notify", "test", "pharmacy"]) == EXIT_FAILED
    err = capsys.readouterr().err
    assert "93000" in err and "permanent" in err and "Revoked-Key-Canary-0099" not in err
    assert main(["-c", str(cfg_path), "notify", "test", "nobody"]) == 2


def test_findings_with_no_route_are_listed_with_how_to_add_one(tmp_path: Path, capsys) -> None:
    cfg_path = tmp_path / "agent.toml"
    cfg_path.write_text(f'[hospital]\ncode = "H8"\nname = "测试医院"\n[state]\ndirectory = "{tmp_path}"\n', encoding="utf-8")
    now = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    store = open_store(load_config(cfg_path).state.effective_url, "H8")
    with store.begin() as conn:
        write_findings(conn, "H8", [Finding("progress_behind", "Y00009", Severity.WARNING, "硫酸氢氯吡格雷片 完成进度落后序时进度", now)], now)
    store.close()
    assert main(["-c", str(cfg_path), "alerts", "list"], clock=FakeClock(now)) == 0
    out = capsys.readouterr().out
    assert "有 1 条发现尚未发送" in out and "[[routes]]" in out and "没有未处理的预警" not in out
    assert "注意  硫酸氢氯吡格雷片 完成进度落后序时进度" in out and "progress_behind:Y00009" in out
