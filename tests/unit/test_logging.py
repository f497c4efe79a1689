from __future__ import annotations

import io
import json

import structlog

from agent import logging as agent_logging

CANARY = "Robot-Key-Canary-5521"


def lines_of(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_secret_keys_urls_and_registered_values_are_redacted() -> None:
    stream = io.StringIO()
    agent_logging.configure(level="debug", json=True, stream=stream)
    agent_logging.register_secret("Platform-Secret-Canary-9")
    log = agent_logging.get_logger("t")
    log.info("sending", url=f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={CANARY}")
    log.info("ding", url=f"https://oapi.dingtalk.com/robot/send?access_token={CANARY}&timestamp=1&sign=abc%2Bdef")
    log.info("login", password=CANARY, app_secret="x" * 8, conn=f"Driver={{X}};UID=u;PWD={CANARY};")
    log.warning("oops Platform-Secret-Canary-9 leaked into a message", headers={"Authorization": f"Bearer {CANARY}"})
    log.info("pg", url=f"postgresql+psycopg://vbp:{CANARY}@db/vbp")
    text = stream.getvalue()
    assert CANARY not in text
    assert "Platform-Secret-Canary-9" not in text
    assert "abc%2Bdef" not in text
    events = lines_of(stream)
    assert events[0]["url"].endswith("key=***")
    assert events[2]["password"] == "***"
    assert events[4]["url"] == "postgresql+psycopg://vbp:***@db/vbp"
    assert all("timestamp" in e and "level" in e for e in events)


def test_tracebacks_carry_no_local_variables() -> None:
    stream = io.StringIO()
    agent_logging.configure(json=True, stream=stream)

    def connect() -> None:
        password = CANARY  # noqa: F841 - a local that must not be rendered
        raise RuntimeError("login failed")

    try:
        connect()
    except RuntimeError:
        agent_logging.get_logger().exception("source down")
    text = stream.getvalue()
    assert "login failed" in text
    assert CANARY not in text


def test_console_renderer_on_a_terminal_is_readable_and_redacted() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Tty()
    agent_logging.configure(stream=stream)
    agent_logging.get_logger().info("HIS back", source="his", token=CANARY)
    text = stream.getvalue()
    assert "HIS back" in text and not text.lstrip().startswith("{")
    assert CANARY not in text


def test_capture_logs_sees_the_event_for_assertions() -> None:
    agent_logging.configure(json=True, stream=io.StringIO())
    with structlog.testing.capture_logs() as logs:
        agent_logging.get_logger().info("poll", rows=3)
    assert logs == [{"event": "poll", "rows": 3, "log_level": "info"}]
