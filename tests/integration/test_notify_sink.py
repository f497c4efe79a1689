"""The WeCom-like sink the demo uses runs on its own and prints what a group would show."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(url: str, body: dict) -> dict:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as resp:
        return json.loads(resp.read())


def test_the_sink_runs_standalone_and_prints_each_message() -> None:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "agent.notify.sink", "--port", str(port), "--key", "demo-key"],
                            stdout=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                answer = _post(f"{base}/cgi-bin/webhook/send?key=demo-key", {"msgtype": "text", "text": {"content": "【集采预警】测试"}})
                break
            except OSError:
                time.sleep(0.05)
        assert answer == {"errcode": 0, "errmsg": "ok"}
        assert _post(f"{base}/cgi-bin/webhook/send?key=wrong", {"msgtype": "text", "text": {"content": "x"}})["errcode"] == 93000
        with urllib.request.urlopen(f"{base}/messages", timeout=5) as resp:
            assert [m["content"] for m in json.loads(resp.read())] == ["【集采预警】测试"]
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    assert "群消息 #1" in out and "【集采预警】测试" in out
