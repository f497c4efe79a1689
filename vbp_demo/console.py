"""The end of ``make demo``: the pharmacy console over the demo's store, with a demo login. On a
terminal it serves until Ctrl-C; otherwise (CI, a pipe) it prints the address and returns."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from agent.bootstrap import build_monitoring_inputs
from agent.console.auth import add_user
from agent.console.serve import serve_in_thread
from agent.console.views import Console
from agent.errors import ConfigError

DEMO_USER, DEMO_PASSWORD = "demo", "vbp-demo-2026"


def show_console(runtime: Any, cfg_path: Path) -> None:
    add_user(runtime.store, DEMO_USER, "pharmacist", DEMO_PASSWORD, runtime.clock.now(), "演示药师")
    console = Console(runtime, build_monitoring_inputs(runtime))
    try:
        served = serve_in_thread(console)
    except ConfigError:  # the usual port is taken (another demo): any free one
        served = serve_in_thread(console, port=0)
    print(f"\n12. 药学部控制台 pharmacy console: {served.url}  登录 login: {DEMO_USER} / {DEMO_PASSWORD}", flush=True)
    try:
        if sys.stdin.isatty() and sys.stdout.isatty():  # a person at a terminal, not a pipe or a test
            print("   serving until Ctrl-C (按 Ctrl-C 结束)", flush=True)
            while served.thread.is_alive():
                time.sleep(0.5)
        else:
            print(f"   (not a terminal: stopped; serve it again with `vbp-agent -c {cfg_path} console`)", flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        served.stop()
