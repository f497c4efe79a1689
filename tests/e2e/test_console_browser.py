"""The pharmacy console in a real browser (Debian's chromium, headless, through chromium-driver), on
the demo's hospital: log in, find the planted problems on 总览, ack an alert and find it in the CLI
and the audit log, review one mapping, download a monthly report, be refused as a viewer and without
a CSRF token, and read 总览 on a phone without scrolling sideways."""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest

from agent.bootstrap import build, build_monitoring_inputs
from agent.cli import main
from agent.clock import DEFAULT_TZ, FakeClock
from agent.config import load_config
from agent.console.auth import add_user
from agent.console.serve import Served, serve_in_thread
from agent.console.views import Console
from agent.store import console as audit_repo
from agent.store import mappings
from tests.e2e.demo_support import DemoRun

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.timeout(1500),  # the module's first test waits for the demo (minutes on a busy machine)
    pytest.mark.skipif(CHROMIUM is None or DRIVER is None,
                       reason="Debian's chromium and chromium-driver are not installed (`make setup` installs them: "
                              "apt-get install chromium chromium-driver)"),
]
EXE = str(Path(sys.executable).with_name("vbp-agent"))
DEMO_END = datetime(2026, 11, 2, 0, 0, tzinfo=DEFAULT_TZ)  # vbp_demo.run: START + DAYS
VIEWER = ("guest", "guest-password-1")


@pytest.fixture(scope="module")
def demo(demo_run: DemoRun) -> Path:
    """The session's demo run (tests/e2e/conftest.py): it printed the console's address and a login, and exited."""
    assert demo_run.returncode == 0, demo_run.stderr[-3000:]
    assert "药学部控制台 pharmacy console: http://127.0.0.1:" in demo_run.stdout
    assert "login: demo / vbp-demo-2026" in demo_run.stdout
    assert "not a terminal: stopped" in demo_run.stdout
    return demo_run.workdir


@pytest.fixture(scope="module")
def served(demo: Path) -> Iterator[tuple[Served, object, Path]]:
    cfg_path = demo / "agent.toml"
    rt = build(load_config(cfg_path), FakeClock(DEMO_END))
    add_user(rt.store, VIEWER[0], "viewer", VIEWER[1], DEMO_END, "访客")
    s = serve_in_thread(Console(rt, build_monitoring_inputs(rt)), port=0)
    yield s, rt, cfg_path
    s.stop()
    rt.close()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM  # type: ignore[assignment]
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,900",
                "--lang=zh-CN"):
        opts.add_argument(arg)
    opts.add_experimental_option("prefs", {"download.default_directory": str(tmp_path), "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=opts)
    driver.implicitly_wait(5)
    driver.download_dir = tmp_path  # type: ignore[attr-defined]
    yield driver
    driver.quit()


def _login(driver, url: str, user: str = "demo", password: str = "vbp-demo-2026", then: str = "/") -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    driver.get(f"{url}/login?next={then}")
    driver.find_element(By.NAME, "username").send_keys(user)
    driver.find_element(By.NAME, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    assert driver.find_element(By.CSS_SELECTOR, "form.who span").text.startswith(("演示药师", "访客"))


def _navigate(driver, element) -> None:  # type: ignore[no-untyped-def]
    """Click what loads a new page and wait for it: elements of the old page go stale."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    old = driver.find_element(By.TAG_NAME, "html")
    element.click()
    WebDriverWait(driver, 30).until(expected_conditions.staleness_of(old))


def _body(driver) -> str:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    return str(driver.find_element(By.TAG_NAME, "body").text)


def test_the_overview_of_the_demo_shows_its_planted_problems(served, browser) -> None:
    s, _rt, _ = served
    _login(browser, s.url)
    text = _body(browser)
    assert "总览" in text and "第十批国家组织药品集采" in text
    watch = text.split("需关注的产品")[1].split("未处理预警")[0]
    assert "硫酸氢氯吡格雷片" in watch and "低于序时进度" in watch  # far behind its time progress
    open_alerts = text.split("未处理预警")[-1]
    assert "非中选产品使用量上升" in open_alerts and "心血管内科" in open_alerts  # the rise, where it is
    assert "奥美拉唑肠溶胶囊" in open_alerts  # accepted far ahead of use
    assert browser.find_elements("css selector", "svg.chart polyline")  # the completion chart is drawn


def test_an_ack_in_the_browser_shows_in_the_cli_and_the_audit_log(served, browser, capsys) -> None:
    from selenium.webdriver.common.by import By

    s, rt, cfg_path = served
    _login(browser, s.url, then="/alerts")
    link = browser.find_element(By.PARTIAL_LINK_TEXT, "奥美拉唑肠溶胶囊")
    link.click()
    who = browser.find_element(By.NAME, "by")
    who.clear()
    who.send_keys("张药师")
    browser.find_element(By.NAME, "note").send_keys("已通知库房")
    browser.find_element(By.ID, "ack").click()
    assert "已确认" in browser.find_element(By.CSS_SELECTOR, ".flash.ok").text
    assert main(["-c", str(cfg_path), "alerts", "list"], clock=FakeClock(DEMO_END)) == 0
    listed = [line for line in capsys.readouterr().out.splitlines() if "奥美拉唑肠溶胶囊" in line]
    assert listed and "已确认(张药师)" in listed[0]
    browser.get(f"{s.url}/audit")
    row = browser.find_element(By.CSS_SELECTOR, "#audit tbody tr").text
    assert "demo" in row and "确认预警" in row and "已通知库房" in row


def test_one_mapping_is_reviewed_in_the_browser(served, browser) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    s, rt, _ = served
    with rt.store.begin() as conn:
        queue = mappings.mapping_rows_of(conn, rt.store.hospital_code, "review")
        if not queue:  # the demo's 对码 decided every item: one it left out of every group waits for a person instead
            left = mappings.mapping_rows_of(conn, rt.store.hospital_code, "none") or mappings.mapping_rows_of(
                conn, rt.store.hospital_code, "auto")
            code = left[0]["item_code"]
            mappings.update_mapping(conn, rt.store.hospital_code, code, {"status": "review"})
        else:
            code = queue[0]["item_code"]
    _login(browser, s.url, then="/mapping")
    card = browser.find_element(By.ID, f"item-{code}")
    Select(card.find_element(By.NAME, "decision")).select_by_visible_text("无关")
    card.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    assert f"{code}：已审核（无关）" in browser.find_element(By.CSS_SELECTOR, ".flash.ok").text
    with rt.store.read() as conn:
        row = mappings.mapping_row(conn, rt.store.hospital_code, code)
        audit = audit_repo.audit_log(conn, rt.store.hospital_code, action="review")
    assert row is not None and (row["status"], row["product_key"], row["group_key"]) == ("reviewed", None, None)
    assert row["decided_by"] == "console:demo" and audit[0].target == code


def test_a_monthly_report_generated_and_downloaded_opens_in_openpyxl(served, browser) -> None:
    from selenium.webdriver.common.by import By

    s, _rt, _ = served
    _login(browser, s.url, then="/reports")
    month = browser.find_element(By.NAME, "month")
    month.clear()
    month.send_keys("2026-10")
    month.submit()
    assert "已生成 带量执行报表_H22010200001_2026-10.xlsx" in browser.find_element(By.CSS_SELECTOR, ".flash.ok").text
    browser.find_element(By.LINK_TEXT, "带量执行报表_H22010200001_2026-10.xlsx").click()
    target = browser.download_dir / "带量执行报表_H22010200001_2026-10.xlsx"
    deadline = time.monotonic() + 20
    while not target.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    wb = openpyxl.load_workbook(target)
    assert len(wb.sheetnames) >= 2 and any("一院一档" in n for n in wb.sheetnames)


def test_the_month_s_clue_report_is_generated_and_downloaded_and_a_viewer_never_sees_it(served, browser) -> None:
    from selenium.webdriver.common.by import By

    from agent.reports.clues import CLUE_SHEET, INTERNAL_SHEET

    s, _rt, _ = served
    _login(browser, s.url, then="/reports")
    form = browser.find_element(By.CSS_SELECTOR, "form input[name=kind][value=clues]").find_element(By.XPATH, "..")
    month = form.find_element(By.NAME, "month")
    month.clear()
    month.send_keys("2026-10")
    month.submit()
    name = "短缺违约线索_H22010200001_2026-10.xlsx"
    assert f"已生成 {name}" in browser.find_element(By.CSS_SELECTOR, ".flash.ok").text
    browser.find_element(By.LINK_TEXT, name).click()
    target = browser.download_dir / name
    deadline = time.monotonic() + 20
    while not target.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    wb = openpyxl.load_workbook(target)
    assert wb.sheetnames == [CLUE_SHEET, INTERNAL_SHEET]
    assert any(r[3] == "不响应采购订单" for r in wb[CLUE_SHEET].iter_rows(min_row=2, values_only=True))  # the planted late response
    browser.delete_all_cookies()
    _login(browser, s.url, *VIEWER, then="/reports")
    assert "短缺违约线索" not in browser.find_element(By.TAG_NAME, "table").text


def _post_from_page(browser, action: str, fields: dict[str, str], keep_csrf: bool) -> None:  # type: ignore[no-untyped-def]
    """Submit a form built in the page, as a crafted or stale form would be (with or without the token)."""
    browser.execute_script("""
        const [action, fields, keep] = arguments;
        const f = document.createElement('form'); f.method = 'post'; f.action = action;
        const token = document.querySelector('input[name=csrf]');
        if (keep && token) fields.csrf = token.value;
        for (const [k, v] of Object.entries(fields)) { const i = document.createElement('input'); i.name = k; i.value = v; f.appendChild(i); }
        document.body.appendChild(f); f.submit();""", action, fields, keep_csrf)


def test_a_viewer_is_refused_a_write(served, browser) -> None:
    from selenium.webdriver.common.by import By

    s, rt, _ = served
    _login(browser, s.url, *VIEWER, then="/alerts")
    browser.find_element(By.PARTIAL_LINK_TEXT, "非中选产品使用量上升").click()
    assert not browser.find_elements(By.ID, "ack")  # no form is offered
    key = browser.current_url.split("key=", 1)[1]
    _post_from_page(browser, "/alerts/ack", {"key": key, "by": "访客"}, keep_csrf=True)
    assert "只读" in browser.find_element(By.CSS_SELECTOR, ".flash.err").text
    with rt.store.read() as conn:
        assert not [e for e in audit_repo.audit_log(conn, rt.store.hospital_code, action="ack") if e.username == VIEWER[0]]


def test_a_form_without_its_csrf_token_is_refused(served, browser) -> None:
    from selenium.webdriver.common.by import By

    s, _rt, _ = served
    _login(browser, s.url, then="/reports")
    browser.execute_script("document.querySelectorAll('input[name=csrf]').forEach(e => e.remove())")
    browser.find_element(By.NAME, "month").submit()
    assert "校验码" in browser.find_element(By.CSS_SELECTOR, ".flash.err").text


def test_the_overview_fits_a_phone_without_scrolling_sideways(served, browser) -> None:
    s, _rt, _ = served
    browser.set_window_size(390, 844)
    _login(browser, s.url)
    inner = browser.execute_script("return window.innerWidth")
    assert inner <= 420
    assert browser.execute_script("return document.documentElement.scrollWidth") <= inner
    browser.save_screenshot(str(Path(browser.download_dir) / "overview-phone.png"))


def test_a_product_s_page_has_its_curves_departments_and_group(served, browser) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    s, _rt, _ = served
    _login(browser, s.url, then="/products")
    Select(browser.find_element(By.NAME, "status")).select_by_visible_text("低于序时进度")
    _navigate(browser, browser.find_element(By.CSS_SELECTOR, "form.filters button"))
    rows = browser.find_elements(By.CSS_SELECTOR, "#table tbody tr")
    assert len(rows) == 1 and "硫酸氢氯吡格雷片" in rows[0].text
    _navigate(browser, rows[0].find_element(By.TAG_NAME, "a"))
    text = _body(browser)
    assert "低于序时进度" in text and "每日用量" in text and "使用科室（近90天）" in text
    departments = text.split("使用科室（近90天）")[1].split("同组其他品种")[0]
    assert "科" in departments and "近90天没有使用" not in departments  # by the dictionary's names
    assert browser.find_elements(By.CSS_SELECTOR, "svg.chart rect") and browser.find_elements(By.CSS_SELECTOR, "svg.chart polyline")


def test_every_page_of_the_menu_opens_for_the_demo(served, browser) -> None:
    from selenium.webdriver.common.by import By

    s, _rt, _ = served
    _login(browser, s.url)
    for label, expect in (("到货确认", "待确认"), ("数据源", "his"), ("报表", "带量执行报表_H22010200001_2026-09.xlsx"),
                          ("对码审核", "待审核"), ("操作记录", "登录"), ("预警", "生效的屏蔽")):
        browser.find_element(By.LINK_TEXT, label).click()
        assert browser.title.startswith(label) and expect in _body(browser), label
