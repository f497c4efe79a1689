"""The real daemon in a subprocess: sd_notify, health, metrics, SIGHUP and SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

EXE = str(Path(sys.executable).with_name("vbp-agent"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(path: Path, state: Path, port: int, name: str = "测试医院") -> None:
    path.write_text(
        f'[hospital]\ncode = "H1"\nname = "{name}"\n[state]\ndirectory = "{state}"\n'
        f'[http]\nport = {port}\n[logging]\njson = true\n',
        encoding="utf-8",
    )


class NotifySocket:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.2)
        self.seen: list[str] = []

    def wait_for(self, text: str, timeout: float = 20) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.seen.append(self.sock.recv(4096).decode())
            except TimeoutError:
                continue
            if any(text in m for m in self.seen):
                return self.seen
        raise AssertionError(f"no {text!r} from the daemon; saw {self.seen}")


@pytest.fixture
def daemon(tmp_path: Path):
    port = free_port()
    cfg = tmp_path / "agent.toml"
    write_config(cfg, tmp_path / "state", port)
    notify = NotifySocket(tmp_path / "notify.sock")
    env = {**os.environ, "NOTIFY_SOCKET": str(notify.path), "WATCHDOG_USEC": "1000000"}
    env.pop("WATCHDOG_PID", None)
    proc = subprocess.Popen([EXE, "-c", str(cfg), "run"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        yield proc, notify, port, cfg
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


def get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_ready_watchdog_health_metrics_reload_and_clean_stop(daemon) -> None:
    proc, notify, port, cfg = daemon
    notify.wait_for("READY=1")
    notify.wait_for("WATCHDOG=1", timeout=10)
    status, body = get(port, "/healthz")
    assert status == 200 and json.loads(body)["status"] == "ok"
    status, text = get(port, "/metrics")
    assert status == 200 and 'vbp_job_up{job="store-check"} 1' in text
    assert "vbp_oldest_unconfirmed_receipt_age_seconds 0" in text and 'vbp_alerts_firing{severity="critical"} 0' in text

    # A broken config on SIGHUP is refused and the agent keeps running on the old one.
    good = cfg.read_text(encoding="utf-8")
    cfg.write_text(good.replace('code = "H1"', 'code = ""'), encoding="utf-8")
    notify.seen.clear()
    proc.send_signal(signal.SIGHUP)
    notify.wait_for("config reload refused")
    assert proc.poll() is None and get(port, "/healthz")[0] == 200

    # A good one is taken.
    cfg.write_text(good, encoding="utf-8")
    notify.seen.clear()
    proc.send_signal(signal.SIGHUP)
    notify.wait_for("config reloaded")

    notify.seen.clear()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(15) == 0
    notify.wait_for("STOPPING=1", timeout=2)
    out = proc.stdout.read()
    events = [json.loads(line)["event"] for line in out.splitlines() if line.startswith("{")]
    assert "agent started" in events and "config reload refused; keeping the running config" in events
    assert "a job did not finish in time; its open transaction is rolled back" not in events  # stopped within grace
    assert events[-1] == "agent stopped"


def test_a_bad_config_exits_2_before_anything_starts(tmp_path: Path) -> None:
    cfg = tmp_path / "agent.toml"
    cfg.write_text('[hospital]\nname = "x"\n', encoding="utf-8")
    out = subprocess.run([EXE, "-c", str(cfg), "run"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert f"{cfg}: hospital.code: is required" in out.stderr


def test_a_taken_http_port_exits_2_with_one_line_naming_the_key(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        cfg = tmp_path / "agent.toml"
        write_config(cfg, tmp_path / "state", port)
        out = subprocess.run([EXE, "-c", str(cfg), "run"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2, out.stderr
    assert f"http.port: cannot listen on 127.0.0.1:{port}" in out.stderr and "[http]" in out.stderr
    assert "Traceback" not in out.stderr
