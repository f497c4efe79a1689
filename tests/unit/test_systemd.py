from __future__ import annotations

import re
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from agent.systemd import Notifier, watchdog_interval_s

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "systemd" / "vbp-agent.service"
needs_analyze = pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="Debian's systemd tools are not installed")


def rendered_unit(tmp_path: Path) -> Path:
    """The unit as install.sh writes it, pointing at this checkout's virtualenv."""
    out = tmp_path / "vbp-agent.service"
    out.write_text(UNIT.read_text().replace("/opt/vbp-agent", str(ROOT)))
    return out


@needs_analyze
def test_unit_file_verifies(tmp_path: Path) -> None:
    unit = rendered_unit(tmp_path)
    res = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
    problems = [line for line in res.stderr.splitlines() if "vbp-agent.service" in line]
    assert res.returncode == 0 and not problems, res.stderr


@needs_analyze
def test_unit_file_security_exposure_is_at_most_2(tmp_path: Path) -> None:
    unit = rendered_unit(tmp_path)
    res = subprocess.run(["systemd-analyze", "security", "--offline=true", "--no-pager", str(unit)],
                         capture_output=True, text=True, timeout=60)
    m = re.search(r"Overall exposure level for vbp-agent.service: ([0-9.]+)", res.stdout + res.stderr)
    assert m, res.stdout + res.stderr
    assert float(m.group(1)) <= 2.0


def test_every_setting_line_of_the_unit_is_explained_by_a_comment() -> None:
    lines = UNIT.read_text().splitlines()
    service = lines[lines.index("[Service]") + 1 : lines.index("[Install]")]
    uncommented = []
    for i, line in enumerate(service):
        if "=" in line and not line.startswith("#"):
            block_start = i
            while block_start > 0 and "=" in service[block_start - 1] and not service[block_start - 1].startswith("#"):
                block_start -= 1
            if block_start == 0 or not service[block_start - 1].startswith("#"):
                uncommented.append(line)
    assert uncommented == []


def test_notify_protocol_messages_reach_the_socket(tmp_path: Path) -> None:
    path = tmp_path / "n.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        n = Notifier(str(path))
        assert n.ready("2 jobs") and n.watchdog() and n.stopping()
        got = [sock.recv(100).decode() for _ in range(3)]
    assert got == ["READY=1\nSTATUS=2 jobs", "WATCHDOG=1", "STOPPING=1"]


def test_without_notify_socket_every_call_is_a_no_op(monkeypatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert Notifier().ready() is False


def test_watchdog_interval_is_half_of_what_systemd_asks(monkeypatch) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "120000000")
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    assert watchdog_interval_s() == 60.0
    monkeypatch.setenv("WATCHDOG_PID", "1")
    assert watchdog_interval_s() is None


def test_install_script_writes_the_unit_for_this_checkout_and_the_example_config_once(tmp_path: Path) -> None:
    env = {"UNIT_DIR": str(tmp_path / "units"), "CONF_DIR": str(tmp_path / "etc"), "PATH": "/usr/bin:/bin"}
    (tmp_path / "units").mkdir()
    out = subprocess.run(["bash", str(ROOT / "systemd" / "install.sh")], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    unit = (tmp_path / "units" / "vbp-agent.service").read_text()
    assert f"ExecStart={ROOT}/.venv/bin/vbp-agent --config /etc/vbp-agent/agent.toml run" in unit
    assert (tmp_path / "etc" / "agent.toml").read_text() == (ROOT / "config" / "agent.example.toml").read_text()
    (tmp_path / "etc" / "agent.toml").write_text("# edited by the admin\n")
    subprocess.run(["bash", str(ROOT / "systemd" / "install.sh")], env=env, capture_output=True, text=True, timeout=60, check=True)
    assert (tmp_path / "etc" / "agent.toml").read_text() == "# edited by the admin\n"  # never overwritten
