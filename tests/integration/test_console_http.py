"""The console over HTTP (Starlette's test client, no browser), on SQLite and PostgreSQL: who may log in and do what, the
cookie's flags, CSRF on every form, the login rate limit, the audit log, and nothing secret in a page."""

from __future__ import annotations

import io
import re
import warnings
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest

from agent.bootstrap import build, build_monitoring_inputs
from agent.cli import main
from agent.clock import FakeClock
from agent.config import load_config
from agent.console import auth
from agent.console.app import NAV, create_app
from agent.console.views import Console
from agent.domain.findings import Finding, Severity
from agent.jobs.notify import process_findings
from agent.store import console as audit_repo

with warnings.catch_warnings():  # starlette 1.x would rather have httpx2 under its test client; httpx is the house's
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 10, 12, 9, 30, tzinfo=TZ)
ROBOT_KEY = "Console-Robot-Key-Canary-7731"
PASSWORD = "correct horse battery"
TITLE = "注射用头孢曲松钠 1g 本年度零采购"


def _users(cfg_path: Path, monkeypatch: pytest.MonkeyPatch, *argv: str) -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    return main(["-c", str(cfg_path), "users", *argv], clock=FakeClock(NOW))


@pytest.fixture
def console(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store_url: str):
    monkeypatch.setenv("T_CONSOLE_WECOM", ROBOT_KEY)
    # The accounts' passwords are hashed at a 32nd of the cost: a hash carries its cost and is checked at
    # it (tests/unit/test_console_auth.py); each test here saves half a second of scrypt.
    monkeypatch.setattr(auth, "SCRYPT_N", 2**10)
    cfg_path = tmp_path / "agent.toml"
    cfg_path.write_text(
        f'[hospital]\ncode = "H7"\nname = "测试医院"\n[state]\ndirectory = "{tmp_path}"\nurl = "{store_url}"\n'
        '[console]\nexternal_url = "https://vbp.example-hospital.cn"\nlogin_attempts = 3\n'
        '[[sources]]\nname = "his"\nkind = "his"\npreset = "mssql_his"\nconnection = "Driver={SQLite3};Database=/srv/his-secret-path.db;"\n'
        '[receivers.pharmacy]\ntype = "wecom"\nkey_env = "T_CONSOLE_WECOM"\napi_base = "http://127.0.0.1:9"\n'
        '[[routes]]\nreceivers = ["pharmacy"]\ngroup_wait_s = 0\n',
        encoding="utf-8",
    )
    for name, role in (("li", "pharmacist"), ("wang", "viewer"), ("zhao", "admin")):
        assert _users(cfg_path, monkeypatch, "add", name, "--role", role, "--name", {"li": "李药师"}.get(name, name)) == 0
    clock = FakeClock(NOW)
    rt = build(load_config(cfg_path), clock)
    finding = Finding("zero_purchase", "注射用头孢曲松钠 1g", Severity.CRITICAL, TITLE, NOW - timedelta(hours=3),
                      values={"agreed_volume": 5000, "used": 0}, labels={"department": "药剂科"})
    process_findings(rt.store, rt.config, clock, [finding])
    client = TestClient(create_app(Console(rt, build_monitoring_inputs(rt))), base_url="https://testserver")
    yield client, rt, cfg_path, clock
    rt.close()


def login(client: TestClient, user: str, password: str = PASSWORD) -> tuple[int, str]:
    page = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    r = client.post("/login", data={"username": user, "password": password, "csrf": csrf, "next": "/alerts"},
                    follow_redirects=False)
    return r.status_code, r.headers.get("set-cookie", "")


def csrf_of(client: TestClient, path: str = "/alerts") -> str:
    return re.search(r'name="csrf" value="([^"]+)"', client.get(path).text).group(1)


def alert_key(rt) -> str:  # type: ignore[no-untyped-def]
    from agent.store import alerts

    with rt.store.read() as conn:
        return next(iter(alerts.load_alerts(conn, rt.store.hospital_code)))


def test_a_page_asks_for_a_login_first_and_returns_there_after(console) -> None:
    client, *_ = console
    r = client.get("/alerts", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Falerts"
    status, cookie = login(client, "li")
    assert status == 303
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax") and "Secure" in cookie
    assert TITLE in client.get("/alerts").text


def test_every_page_of_the_menu_renders_in_chinese_without_a_secret(console) -> None:
    client, *_ = console
    login(client, "zhao")
    for path, label in NAV:
        r = client.get(path)
        assert r.status_code == 200, path
        assert f"<title>{label}" in r.text or label in r.text
        assert ROBOT_KEY not in r.text and "his-secret-path" not in r.text and "Database=" not in r.text
        assert "default-src 'self'" in r.headers["content-security-policy"]


def test_a_pharmacist_acks_an_alert_and_the_cli_and_the_audit_log_show_it(console, capsys) -> None:
    client, rt, cfg_path, _clock = console
    login(client, "li")
    key = alert_key(rt)
    r = client.post("/alerts/ack", data={"csrf": csrf_of(client), "key": key, "by": "李药师", "hours": "0", "note": "已联系科室"})
    assert r.status_code == 200 and "已确认" in r.text
    assert main(["-c", str(cfg_path), "alerts", "list"], clock=FakeClock(NOW)) == 0
    assert "已确认(李药师)" in capsys.readouterr().out
    with rt.store.read() as conn:
        entry = audit_repo.audit_log(conn, "H7", action="ack")[0]
    assert (entry.username, entry.target, entry.detail["note"]) == ("li", key, "已联系科室")
    assert "确认预警" in client.get("/audit").text


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(console) -> None:
    client, rt, *_ = console
    login(client, "li")
    key = alert_key(rt)
    for data in ({"key": key, "by": "x"}, {"key": key, "by": "x", "csrf": "forged-token"}):
        r = client.post("/alerts/ack", data=data)
        assert r.status_code == 403 and "校验码" in r.text
    assert "已确认" not in client.get(f"/alert?key={key}").text.split("<h2>情况")[0]


def test_a_viewer_reads_but_is_refused_every_write(console) -> None:
    client, rt, *_ = console
    login(client, "wang")
    key = alert_key(rt)
    page = client.get(f"/alert?key={key}")
    assert page.status_code == 200 and 'action="/alerts/ack"' not in page.text  # no form offered
    csrf = csrf_of(client)
    for path, data in (("/alerts/ack", {"key": key, "by": "wang"}), ("/alerts/silence", {"matchers": "rule=*", "by": "w", "comment": "c"}),
                       ("/mapping/decide", {"item": "Y1", "decision": "unrelated"}), ("/reports/generate", {"month": "2026-09"})):
        r = client.post(path, data={**data, "csrf": csrf})
        assert r.status_code == 403 and "只读" in r.text, path
    with rt.store.read() as conn:
        assert audit_repo.audit_log(conn, "H7", action="ack") == []


def test_logins_are_rate_limited_per_account_and_address(console) -> None:
    client, *_ = console
    for _ in range(3):
        assert login(client, "li", "wrong password")[0] == 401
    status, cookie = login(client, "li")  # the right password, too late
    assert status == 429 and "vbp_session" not in cookie
    assert login(client, "zhao")[0] == 303  # another account is not locked


def test_a_disabled_account_is_logged_out_at_once(console, monkeypatch) -> None:
    client, _rt, cfg_path, _ = console
    login(client, "li")
    assert client.get("/alerts", follow_redirects=False).status_code == 200
    assert _users(cfg_path, monkeypatch, "disable", "li") == 0
    assert client.get("/alerts", follow_redirects=False).status_code == 303
    assert login(client, "li")[0] == 401


def test_a_silence_from_the_console_is_the_cli_s_silence(console, capsys) -> None:
    client, _rt, cfg_path, _ = console
    login(client, "li")
    r = client.post("/alerts/silence", data={"csrf": csrf_of(client), "matchers": "department=药剂科\n", "hours": "4",
                                             "by": "李药师", "comment": "盘点期间"})
    assert "已屏蔽 #1" in r.text
    main(["-c", str(cfg_path), "alerts", "silences"], clock=FakeClock(NOW))
    assert '{"department": "药剂科"}' in capsys.readouterr().out


def test_a_report_outside_the_reports_folder_cannot_be_downloaded(console, tmp_path: Path) -> None:
    client, *_ = console
    login(client, "li")
    (tmp_path / "secret.xlsx").write_bytes(b"x")
    for name in ("..%2Fsecret.xlsx", "%2E%2E%2Fsecret.xlsx", "agent.toml", "..%2Fagent.toml"):
        assert client.get(f"/reports/file/{name}").status_code == 404


@pytest.mark.parametrize("target", ["//evil.example/x", "/\\evil.example", "/%09/evil.example", "https://evil.example/"])
def test_login_redirects_only_inside_the_console(console, target: str) -> None:
    client, *_ = console
    page = client.get("/login", params={"next": target.replace("%09", "\t")})
    assert 'name="next" value="/"' in page.text


def test_a_pharmacist_generates_the_month_s_clue_report_and_a_viewer_never_sees_it(console) -> None:
    """短缺违约线索 for a chosen month: generated and downloaded like the monthly report, audited; its
    internal prescriber sheet makes the whole file pharmacist-only, and nothing of it is queued upstream."""
    from openpyxl import load_workbook

    from agent.reports.clues import CLUE_SHEET, INTERNAL_SHEET
    from agent.store import outbox

    client, rt, cfg_path, _clock = console
    assert main(["-c", str(cfg_path), "clues", "add", "--month", "2026-09", "--supplier", "甲医药配送公司",
                 "--type", "未提供伴随服务", "--detail", "9月未派驻库管员", "--by", "李药师"], clock=FakeClock(NOW)) == 0
    login(client, "li")
    r = client.post("/reports/generate", data={"csrf": csrf_of(client, "/reports"), "kind": "clues", "month": "2026-09"})
    assert r.status_code == 200 and "已生成 短缺违约线索_H7_2026-09.xlsx：1 家企业 1 条线索" in r.text
    page = client.get("/reports").text
    assert "短缺违约线索_H7_2026-09.xlsx" in page and quote("短缺违约线索_H7_2026-09.txt") in page
    got = client.get("/reports/file/短缺违约线索_H7_2026-09.xlsx")
    assert got.status_code == 200
    wb = load_workbook(io.BytesIO(got.content))
    assert wb.sheetnames == [CLUE_SHEET, INTERNAL_SHEET] and wb[CLUE_SHEET].cell(2, 2).value == "甲医药配送公司"
    draft = client.get("/reports/file/短缺违约线索_H7_2026-09.txt")
    assert draft.status_code == 200 and "甲医药配送公司" in draft.text and "处方" not in draft.text
    with rt.store.read() as conn:
        entry = audit_repo.audit_log(conn, "H7", action="report")[0]
        queued = outbox.depth(conn, "H7")
    assert (entry.username, entry.target, entry.detail["kind"], entry.detail["clues"]) == \
        ("li", "短缺违约线索_H7_2026-09.xlsx", "clues", 1)
    assert not any(ch.startswith("platform:") for ch in queued)

    client.cookies.clear()
    login(client, "wang")
    page = client.get("/reports").text
    assert "短缺违约线索_H7_2026-09" not in page and "仅药师及以上账号可见" in page
    for name in ("短缺违约线索_H7_2026-09.xlsx", "短缺违约线索_H7_2026-09.txt"):
        assert client.get(f"/reports/file/{name}").status_code == 403


def test_a_bad_month_for_the_clue_report_is_refused_in_chinese(console) -> None:
    client, *_ = console
    login(client, "li")
    r = client.post("/reports/generate", data={"csrf": csrf_of(client, "/reports"), "kind": "clues", "month": "2026-13"})
    assert "请写作 YYYY-MM" in r.text and "短缺违约线索_H7" not in r.text


def test_the_annual_report_is_marked_sent_from_the_reports_page(console) -> None:
    from agent.store.bureau import annual_state

    client, rt, *_ = console
    login(client, "li")
    r = client.post("/reports/annual-sent", data={"csrf": csrf_of(client, "/reports"), "year": "2025", "by": "张药师"})
    assert "已登记：2025年度报告由 张药师 报送" in r.text
    with rt.store.read() as conn:
        assert annual_state(conn, "H7", 2025)["sent_at"] is not None
        assert audit_repo.audit_log(conn, "H7", action="annual_sent")[0].detail == {"by": "张药师"}
