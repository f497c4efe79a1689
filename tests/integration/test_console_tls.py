"""The console serves HTTPS itself from configured certificate files, and its cookies are Secure."""

from __future__ import annotations

import re
import ssl
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import trustme

from agent.bootstrap import build, build_monitoring_inputs
from agent.clock import FakeClock
from agent.config import load_config
from agent.console.serve import serve_in_thread
from agent.console.views import Console

NOW = datetime(2026, 10, 12, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_the_console_serves_https_from_its_certificate_files(tmp_path: Path) -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert.cert_chain_pems[0].write_to_path(str(tmp_path / "console.crt"))
    cert.private_key_pem.write_to_path(str(tmp_path / "console.key"))
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    (tmp_path / "agent.toml").write_text(
        f'[hospital]\ncode = "H7"\nname = "测试医院"\n[state]\ndirectory = "{tmp_path}"\n'
        f'[console]\nport = 0\ntls_cert_file = "{tmp_path / "console.crt"}"\ntls_key_file = "{tmp_path / "console.key"}"\n',
        encoding="utf-8")
    rt = build(load_config(tmp_path / "agent.toml"), FakeClock(NOW))
    served = serve_in_thread(Console(rt, build_monitoring_inputs(rt)))
    try:
        assert served.url.startswith("https://127.0.0.1:")
        with httpx.Client(verify=ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))) as client:
            page = client.get(f"{served.url}/login")
        assert page.status_code == 200 and "登录" in page.text
        assert re.search(r"vbp_login=[^;]+;.*HttpOnly.*;.*Secure", page.headers["set-cookie"], re.I)
    finally:
        served.stop()
        rt.close()
