"""``[console] with_daemon = true``: the daemon (``vbp-agent run``, what the systemd unit starts)
serves the console beside its jobs, and stops it with itself."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

EXE = str(Path(sys.executable).with_name("vbp-agent"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_daemon_serves_the_console_when_told_to(tmp_path: Path) -> None:
    http, console = _free_port(), _free_port()
    cfg = tmp_path / "agent.toml"
    cfg.write_text(f'[hospital]\ncode = "H1"\nname = "测试医院"\n[state]\ndirectory = "{tmp_path / "state"}"\n'
                   f'[http]\nport = {http}\n[console]\nwith_daemon = true\nport = {console}\n', encoding="utf-8")
    proc = subprocess.Popen([EXE, "-c", str(cfg), "run"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)
    try:
        deadline, page = time.monotonic() + 60, ""
        while time.monotonic() < deadline and not page:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{console}/login", timeout=5) as r:
                    page = r.read().decode("utf-8")
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.3)
        assert "登录" in page and "测试医院" in page
        with urllib.request.urlopen(f"http://127.0.0.1:{http}/healthz", timeout=5) as r:  # the daemon is up too
            assert r.status == 200
        time.sleep(1)  # the daemon takes SIGTERM once its main loop has begun, just after the console starts
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err[-2000:]
    assert f"控制台 console: http://127.0.0.1:{console}" in err
