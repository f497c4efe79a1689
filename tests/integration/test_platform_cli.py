"""The platform commands against the reference platform: check, sync, drain, confirmations."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from platform_support import APP_KEY, HOSPITAL, SECRET, receipt

from agent.cli import EXIT_CONFIG, main
from agent.clock import FakeClock
from agent.config import parse_config
from agent.store import open_store
from agent.upstream.confirm import enqueue_confirmations
from agent.upstream.link import build_platform


def _config(tmp_path: Path, url: str, profile: str = "zj_infno") -> Path:
    cfg = tmp_path / "agent.toml"
    cfg.write_text(
        f'[hospital]\ncode = "{HOSPITAL}"\nname = "测试医院"\n[state]\ndirectory = "{tmp_path}"\n'
        f'[platform]\nprofile = "{profile}"\nbase_url = "{url}"\napp_key = "{APP_KEY}"\nsecret_env = "VBP_TEST_PLATFORM_SECRET"\n',
        encoding="utf-8")
    return cfg


def test_sync_drain_and_the_confirmation_list_for_staff(ref, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VBP_TEST_PLATFORM_SECRET", SECRET)
    cfg = _config(tmp_path, ref.url)
    r = receipt(1, delivery_id="SHP-CLI")
    ref.seed_for_receipts(HOSPITAL, [r])
    clock = FakeClock(r.accepted_at + timedelta(minutes=10))  # the commands run on the receipt's day, whatever today is
    assert main(["-c", str(cfg), "platform", "check"], clock=clock) == 0
    assert main(["-c", str(cfg), "platform", "sync"], clock=clock) == 0
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}", HOSPITAL)
    with store.begin() as conn:
        enqueue_confirmations(conn, HOSPITAL, [r], r.accepted_at)
    store.close()
    assert main(["-c", str(cfg), "platform", "drain"], clock=clock) == 0
    assert main(["-c", str(cfg), "platform", "confirmations"], clock=clock) == 0
    out = capsys.readouterr().out
    assert "signer hmac-sm3" in out and "token fetched" in out
    assert "delivery lines read: 1" in out and "sent 1, quarantined 0" in out
    assert "SHP-CLI" in out and "已确认" in out
    assert SECRET not in out and not any(t in out for t in ref.state.tokens)
    assert ref.confirmed() == {"SHP-CLI": "10"}


@pytest.mark.parametrize("profile", ["zj_infno", "sh_soap", "rest_json"])
def test_check_proves_the_account_on_each_profile_and_writes_nothing(ref, tmp_path: Path, capsys, profile: str,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VBP_TEST_PLATFORM_SECRET", SECRET)
    ref.seed_delivery(HOSPITAL, "SHP-OPEN", "Y0001", 10)
    before = ref.stats()
    assert main(["-c", str(_config(tmp_path, ref.url, profile)), "platform", "check"]) == 0
    after = ref.stats()
    assert after["requests"] == before["requests"] + 1 and after["refused"] == {}
    assert (after["confirmations"], after["reports"], after["confirm_attempts"]) == ([], [], 0)
    assert after["soap_messages"] == ({"YY003": 1} if profile == "sh_soap" else {})
    assert SECRET not in capsys.readouterr().out


def test_check_on_a_soap_platform_proves_the_account_without_a_token(ref, tmp_path: Path, capsys,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VBP_TEST_PLATFORM_SECRET", SECRET)
    assert main(["-c", str(_config(tmp_path, ref.url, "sh_soap")), "platform", "check"]) == 0
    out = capsys.readouterr().out
    assert "profile sh_soap, signer sha1" in out and "account accepted" in out and SECRET not in out
    monkeypatch.setenv("VBP_TEST_PLATFORM_SECRET", "not-the-password")
    assert main(["-c", str(_config(tmp_path, ref.url, "sh_soap")), "platform", "check"]) != 0
    captured = capsys.readouterr()
    assert "not-the-password" not in captured.out + captured.err


def test_platform_commands_without_the_section_say_so(tmp_path: Path, capsys) -> None:
    cfg = tmp_path / "agent.toml"
    cfg.write_text(f'[hospital]\ncode = "H9"\nname = "x"\n[state]\ndirectory = "{tmp_path}"\n', encoding="utf-8")
    assert main(["-c", str(cfg), "platform", "sync"]) == EXIT_CONFIG
    assert "platform: the section is missing" in capsys.readouterr().err


def test_the_reference_platform_hands_out_a_working_agent_config(ref, monkeypatch: pytest.MonkeyPatch) -> None:
    section = ref.platform_section("rest_json", "VBP_DEMO_SECRET")
    monkeypatch.setenv("VBP_DEMO_SECRET", ref.secret_of(section["app_key"]))
    cfg = parse_config({"hospital": {"code": HOSPITAL, "name": "演示医院"}, "platform": section})
    link = build_platform(cfg.platform, cfg.hospital.code)
    try:
        assert link is not None and link.client.fetch_token()
    finally:
        link.close()


def test_vbp_refplatform_runs_the_reference_platform_on_its_own(tmp_path: Path) -> None:
    import socket
    import subprocess
    import sys
    import time

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    exe = Path(sys.executable).with_name("vbp-refplatform")  # its own console script: the agent never loads it
    proc = subprocess.Popen([str(exe), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(100):
            try:
                doc = httpx.get(f"http://127.0.0.1:{port}/openapi.json").json()
                break
            except httpx.TransportError:
                time.sleep(0.05)
        assert "/gateway" in doc["paths"]
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0 and f"reference platform on http://127.0.0.1:{port}" in out
