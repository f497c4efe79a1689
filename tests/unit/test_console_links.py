"""Chat messages end with the alert's page in the console when ``[console] external_url`` is set,
and with a plain Chinese pointer to the console when it is not; the console's config section is checked at start."""

from __future__ import annotations

import tomllib
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from agent.alerts.render import digest_message, group_message
from agent.config import parse_config
from agent.domain.alerting import Alert, Notice
from agent.errors import ConfigError

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=TZ)
BASE = "https://vbp.hospital.local"


def _alert(key: str = "zero_purchase:注射用头孢曲松钠 1g|第七批") -> Alert:
    return Alert(key=key, rule="zero_purchase", subject="x", severity="critical", title="注射用头孢曲松钠 1g 本年度零采购",
                 status="firing", fired_at=T0, values={"agreed_volume": 5000})


@pytest.mark.parametrize("kind", ["firing", "repeat", "escalate", "resolved"])
def test_a_message_ends_with_the_alert_s_page_not_a_cli_command(kind: str) -> None:
    text = group_message([Notice(kind, _alert(), T0 + timedelta(hours=5))], TZ, BASE)["text"]
    last = text.splitlines()[-1]
    assert last.endswith(f"{BASE}/alert?key=zero_purchase%3A%E6%B3%A8%E5%B0%84%E7%94%A8%E5%A4%B4%E5%AD%A2%E6%9B%B2%E6%9D%BE"
                         "%E9%92%A0%201g%7C%E7%AC%AC%E4%B8%83%E6%89%B9")
    assert "vbp-agent" not in text


@pytest.mark.parametrize("kind", ["firing", "repeat", "escalate", "resolved", "flapping"])
def test_without_a_console_address_a_message_ends_with_where_to_look_in_plain_chinese(kind: str) -> None:
    text = group_message([Notice(kind, _alert(), T0 + timedelta(hours=5))], TZ)["text"]
    assert text.splitlines()[-1] == "详情请打开药学部集采控制台查看（控制台地址请问信息科）。"
    assert "vbp-agent" not in text and "http" not in text


def test_the_digest_sends_staff_to_the_console_for_the_rest() -> None:
    many = [_alert(f"k{i}") for i in range(20)]
    assert digest_message(many, None, T0, TZ, limit=5, console_url=BASE)["text"].endswith(f"{BASE}/alerts")


@pytest.mark.parametrize(("section", "says"), [
    ('external_url = "vbp.hospital.local"', "not an http:// or https:// address"),
    ('tls_cert_file = "/etc/vbp/cert.pem"', "tls_cert_file and tls_key_file go together"),
    ("port = 70000", "port"),
    ('secret = "x"', "secret"),
])
def test_a_bad_console_section_names_the_key_and_why(section: str, says: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(tomllib.loads(f'[hospital]\ncode = "H1"\nname = "x"\n[console]\n{section}\n'), "agent.toml")
    assert "console" in str(err.value.problems) and says in str(err.value.problems)


def test_the_console_listens_on_loopback_unless_told_otherwise() -> None:
    cfg = parse_config(tomllib.loads('[hospital]\ncode = "H1"\nname = "x"\n[console]\nexternal_url = "https://vbp.h.cn/"\n'), "agent.toml")
    assert (cfg.console.host, cfg.console.port, cfg.console.external_url) == ("127.0.0.1", 8470, "https://vbp.h.cn")
