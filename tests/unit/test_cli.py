from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from agent import __version__
from agent.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_console_script_prints_help_and_version() -> None:
    exe = Path(sys.executable).with_name("vbp-agent")
    out = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    assert "config" in out.stdout and "Usage: vbp-agent" in out.stdout
    out = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == f"vbp-agent {__version__}"


def test_unknown_command_is_a_usage_error(capsys) -> None:
    assert main(["no-such-command"]) == 2
    assert "No such command" in capsys.readouterr().err


def test_status_opens_the_store_named_in_the_config(tmp_path: Path, capsys) -> None:
    from agent.store import open_store

    cfg = tmp_path / "agent.toml"
    cfg.write_text(f'[hospital]\ncode = "H9"\nname = "测试医院"\n[state]\ndirectory = "{tmp_path}"\n', encoding="utf-8")
    open_store(f"sqlite:///{tmp_path / 'state.db'}", "H9").close()
    assert main(["-c", str(cfg), "status"]) == 0
    out = capsys.readouterr().out
    assert "H9 测试医院" in out and "core v" in out


def test_status_never_creates_a_missing_state_directory_or_store(tmp_path: Path, capsys) -> None:
    state = tmp_path / "var" / "lib" / "vbp-agent"
    cfg = tmp_path / "agent.toml"
    cfg.write_text(f'[hospital]\ncode = "H9"\nname = "测试医院"\n[state]\ndirectory = "{state}"\n', encoding="utf-8")
    assert main(["-c", str(cfg), "status"]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("state store (permanent): 状态库尚不存在") and "does not exist" in err
    assert not (tmp_path / "var").exists()
