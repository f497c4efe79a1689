"""The [platform] section: validated at load, the secret read from env or file and never shown."""

from __future__ import annotations

import pytest

from agent.config import masked, parse_config
from agent.errors import ConfigError
from agent.logging import redact_text

BASE = {"hospital": {"code": "H1", "name": "测试医院"}}
PLATFORM = {"profile": "zj_infno", "base_url": "https://platform.example.cn/", "app_key": "k1", "secret_env": "VBP_PLATFORM_SECRET"}


def test_a_valid_section_loads_with_the_profiles_signer() -> None:
    cfg = parse_config({**BASE, "platform": PLATFORM})
    assert cfg.platform is not None
    assert (cfg.platform.signer_name, cfg.platform.base_url, cfg.platform.confirm_late_h) == (
        "hmac-sm3", "https://platform.example.cn", 20.0)


@pytest.mark.parametrize(("change", "key", "reason"), [
    ({"profile": "guangdong"}, "platform.profile", "unknown profile"),
    ({"base_url": "http://platform.example.cn"}, "platform.base_url", "use https://"),
    ({"secret_env": None}, "platform", "exactly one of secret_env or secret_file"),
    ({"secret_file": "x"}, "platform", "exactly one of secret_env or secret_file"),
    ({"confirm_late_h": 25}, "platform.confirm_late_h", "less than 24"),
    ({"signer": "md5"}, "platform.signer", "unknown signer"),
    ({"signer": "sha1"}, "platform", "signer sha1 belongs to the sh_soap profile only"),
    ({"profile": "sh_soap", "signer": "hmac-sha256"}, "platform", "sh_soap signs with sha1 only"),
    ({"profile": "sh_soap", "soap_preset": "tempuri"}, "platform.soap_preset", "unknown soap_preset"),
    ({"profile": "sh_soap", "soap_params": ["sUser"]}, "platform.soap_params", "at least 7"),
    ({"profile": "sh_soap", "soap_service": "devices"}, "platform.soap_service", "'drugs' or 'consumables'"),
])
def test_a_bad_value_names_the_key_and_the_reason(change: dict, key: str, reason: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config({**BASE, "platform": {**PLATFORM, **change}}, "agent.toml")
    assert any(line.startswith(f"agent.toml: {key}: ") and reason in line for line in err.value.problems), err.value.problems


def test_the_soap_profile_takes_its_password_like_any_secret_and_signs_with_sha1(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VBP_PLATFORM_SECRET", "SoapPassword-0043")
    cfg = parse_config({**BASE, "platform": {**PLATFORM, "profile": "sh_soap"}})
    assert cfg.platform is not None and cfg.platform.signer_name == "sha1"
    assert cfg.platform.secret().get_secret_value() == "SoapPassword-0043"
    assert "SoapPassword-0043" not in redact_text("<password>SoapPassword-0043</password>")


def test_the_secret_comes_from_the_environment_and_is_masked_everywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VBP_PLATFORM_SECRET", "PlatSecret-0042")
    cfg = parse_config({**BASE, "platform": PLATFORM})
    assert cfg.platform.secret().get_secret_value() == "PlatSecret-0042"
    assert "PlatSecret-0042" not in redact_text("signing with PlatSecret-0042")
    assert masked(cfg)["platform"]["secret_env"] == "VBP_PLATFORM_SECRET"


def test_a_missing_secret_stops_with_the_variable_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VBP_PLATFORM_SECRET", raising=False)
    cfg = parse_config({**BASE, "platform": PLATFORM})
    with pytest.raises(ConfigError, match="VBP_PLATFORM_SECRET is not set"):
        cfg.platform.secret()


def test_the_secret_file_is_read_from_the_systemd_credentials_directory(tmp_path, monkeypatch) -> None:
    (tmp_path / "platform-secret").write_text("FileSecret-77\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    cfg = parse_config({**BASE, "platform": {**PLATFORM, "secret_env": None, "secret_file": "platform-secret"}})
    assert cfg.platform.secret().get_secret_value() == "FileSecret-77"


def test_no_platform_section_means_no_platform() -> None:
    assert parse_config(BASE).platform is None


def test_what_the_province_decides_reaches_the_profile_and_leaves_the_shared_one_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    from agent.upstream.link import build_client
    from agent.upstream.profiles import PROFILES

    monkeypatch.setenv("VBP_PLATFORM_SECRET", "SoapPassword-0044")
    section = {**PLATFORM, "profile": "sh_soap", "soap_preset": "mainservice", "soap_service": "consumables",
               "soap_namespace": "http://gpo.example/ns", "head_ip": "10.1.2.3"}
    cfg = parse_config({**BASE, "platform": section})
    assert cfg.platform is not None
    client = build_client(cfg.platform, "H1", pace=False)
    try:
        profile = client.profile
        assert (profile.path, profile.confirm_message, profile.shape["namespace"]) == (  # type: ignore[attr-defined]
            "/service/mainservice", "YY131", "http://gpo.example/ns")
        assert profile.shape["params"][0] == "arg0" and profile.head["IP"] == "10.1.2.3"  # type: ignore[attr-defined]
        assert PROFILES["sh_soap"].path == "/services/dispatcher" and PROFILES["sh_soap"].confirm_message == "YY018"
    finally:
        client.close()
