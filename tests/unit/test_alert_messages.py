"""Message size limits, Chinese rendering, routing and the receivers' config."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.alerts.render import digest_message, duration, facts, group_message, probe_message
from agent.alerts.routing import deliveries, policy_for
from agent.config import parse_config
from agent.domain.alerting import Alert, Notice
from agent.errors import ConfigError
from agent.notify.limits import nbytes, split_text

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=TZ)


@given(st.text(alphabet=st.sampled_from(list("集采预警阿托伐他汀钙片ab1 \n😀")), min_size=0, max_size=3000), st.integers(64, 600))
def test_every_part_fits_the_byte_limit_and_no_character_is_cut(text: str, limit: int) -> None:
    parts = split_text(text, limit, max_parts=1000)
    assert all(nbytes(p) <= limit for p in parts)
    if len(parts) == 1:
        assert parts == [text]
    else:
        bodies = [p.split("\n", 1)[1] for p in parts]
        assert "".join(bodies).replace("\n", "") == text.replace("\n", "")


def test_a_long_message_is_summarised_after_a_few_parts() -> None:
    text = "\n".join(f"{i}. 阿托伐他汀钙片 20mg 完成进度落后序时进度（自11月20日）" for i in range(400))
    parts = split_text(text, 2048, max_parts=3)
    assert len(parts) == 3 and parts[0].startswith("【集采 1/3】") and "其余" in parts[-1]
    assert parts[-1].endswith("全部内容请在药学部集采控制台查看（控制台地址请问信息科）。") and "vbp-agent" not in parts[-1]
    linked = split_text(text, 2048, max_parts=3, more="全部内容请在控制台查看：https://vbp.h.cn/alerts")
    assert linked[-1].endswith("https://vbp.h.cn/alerts")
    assert all(nbytes(p) <= 2048 for p in parts)


def test_durations_read_naturally() -> None:
    assert duration(timedelta(minutes=45)) == "45分钟"
    assert duration(timedelta(hours=2)) == "2小时"
    assert duration(timedelta(days=3, hours=2, minutes=5)) == "3天2小时"


def alert(severity: str = "warning", **values) -> Alert:
    return Alert("behind_schedule:阿托伐他汀钙片", "behind_schedule", "阿托伐他汀钙片", severity,
                 "阿托伐他汀钙片 20mg 完成进度落后序时进度", {"department": "心内科"}, values, {}, "firing",
                 fired_at=T0, pending_since=T0)


def test_a_firing_message_says_what_how_much_since_when_and_what_to_do() -> None:
    msg = group_message([Notice("firing", alert(completion=0.312, time_progress=0.583, agreed_volume=120000), T0 + timedelta(hours=5))], TZ)
    print("\n" + msg["text"])
    assert msg["title"] == "【集采预警】注意：阿托伐他汀钙片 20mg 完成进度落后序时进度"
    assert "完成进度 31.2%，序时进度 58.3%，约定采购量 120,000" in msg["text"]
    assert "开始：11月23日 09:00（已持续5小时）" in msg["text"]
    assert "建议：" in msg["text"]


def test_a_rise_reads_as_usual_against_recent_usage_and_a_ratio_beyond_double_stays_a_percentage() -> None:
    shown = facts(alert(observed=1320.0, expected=505.94, effect=1.61, window_days=7, p_value=0.0, q_value=0.0, completion=2.5))
    assert shown == "全组非中选 近7日 1,320，平时约 506，约 2.6 倍，完成进度 250.0%"


def test_quantities_are_rounded_with_thousands_separators_and_money_keeps_its_fen() -> None:
    shown = facts(alert(used=12345.678, daily_needed=41.256, unit_price=1234.5, due="2026-11-24T09:00:00+08:00"), limit=9)
    assert shown == "已用量 12,346，需日均用量 41.26，单价(元) 1,234.50，截止 11月24日 09:00"


def test_the_digest_lists_critical_first_and_counts_the_rest() -> None:
    many = [alert("warning") for _ in range(20)] + [alert("critical")]
    msg = digest_message(many, "第七批国采 3 个品种落后", T0, TZ, limit=5)
    print("\n" + msg["text"])
    lines = msg["text"].splitlines()
    assert lines[0] == "**集采晨报 11月23日（星期一）**"
    assert lines[3].startswith("1. [严重]") and "另有 16 条" in lines[-2]
    assert lines[-1] == "详情请打开药学部集采控制台查看（控制台地址请问信息科）。"


def cfg(**extra):
    base = {"hospital": {"code": "H1", "name": "x"}}
    return parse_config({**base, **extra})


def test_routes_match_severity_department_and_fall_through_with_continue() -> None:
    c = cfg(
        receivers={"pharmacy": {"type": "wecom", "key_env": "K"}, "office": {"type": "webhook", "url": "http://x/h"},
                   "boss": {"type": "wecom", "key_env": "K2"}},
        routes=[
            {"departments": ["心内科"], "receivers": ["pharmacy"], "continue": True, "escalate_to": ["boss"], "escalate_after_s": 60},
            {"min_severity": "critical", "receivers": ["office"]},
        ],
    )
    warn, crit = alert("warning"), alert("critical")
    assert [d.receiver for d in deliveries(c.routes, Notice("firing", warn, T0))] == ["pharmacy"]
    assert [d.receiver for d in deliveries(c.routes, Notice("firing", crit, T0))] == ["pharmacy", "office"]
    assert [d.receiver for d in deliveries(c.routes, Notice("escalate", crit, T0))] == ["boss"]
    assert policy_for(c.alerts, c.routes, crit).escalate_after_s == 60


def test_a_robot_key_written_inline_is_refused() -> None:
    with pytest.raises(ConfigError) as err:
        cfg(receivers={"pharmacy": {"type": "wecom", "key": "abc"}})
    assert any("receivers.pharmacy" in p for p in err.value.problems)
    with pytest.raises(ConfigError):
        cfg(receivers={"pharmacy": {"type": "wecom"}})
    with pytest.raises(ConfigError):
        cfg(receivers={"m": {"type": "email", "smtp_host": "relay"}})
    with pytest.raises(ConfigError):
        cfg(routes=[{"receivers": ["x"], "quiet_hours": "22-7"}])


def test_secrets_come_from_env_or_file_and_are_registered_for_redaction(tmp_path, monkeypatch) -> None:
    from agent.logging import redact_text

    (tmp_path / "ding.secret").write_text("SECfileSecretCanary77\n", encoding="utf-8")
    monkeypatch.setenv("T_KEY_77", "EnvKeyCanary77")
    c = cfg(receivers={"d": {"type": "dingtalk", "key_env": "T_KEY_77", "secret_file": str(tmp_path / "ding.secret")}})
    assert c.receivers["d"].key("d") == "EnvKeyCanary77"
    assert c.receivers["d"].secret("d") == "SECfileSecretCanary77"
    assert redact_text("x EnvKeyCanary77 y SECfileSecretCanary77") == "x *** y ***"
    monkeypatch.delenv("T_KEY_77")
    with pytest.raises(ConfigError, match="T_KEY_77 is not set"):
        c.receivers["d"].key("d")


def test_the_readme_example_of_receivers_and_routes_is_valid() -> None:
    import re
    import tomllib
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Alerts", 1)[1]
    block = re.search(r"```toml\n(.*?)```", section, re.S).group(1)
    c = parse_config({"hospital": {"code": "H1", "name": "x"}, **tomllib.loads(block)})
    assert set(c.receivers) == {"pharmacy", "director", "office"} and c.routes[0].continue_matching
    assert c.routes[0].quiet_hours is not None and c.alerts.digest_receivers == ["pharmacy"]


@pytest.mark.parametrize("kind", ["firing", "repeat", "resolved", "flapping", "escalate"])
def test_every_message_carries_the_robot_keyword(kind: str) -> None:
    """DingTalk and Feishu robots secured by a keyword refuse a message without it (set it to 集采)."""
    a = alert("critical")
    a = Alert(**{**a.__dict__, "resolved_at": T0 + timedelta(hours=1), "changes": (T0,) * 5})
    msg = group_message([Notice(kind, a, T0 + timedelta(hours=2))], TZ)
    assert "集采" in msg["title"] and "集采" in msg["text"].splitlines()[0]
    assert "集采" in digest_message([], None, T0, TZ)["text"] and "集采" in probe_message("x", T0, TZ)["text"]


ROOT = Path(__file__).resolve().parents[2]
