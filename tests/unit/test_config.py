from __future__ import annotations

from pathlib import Path

import pytest

from agent.cli import main
from agent.config import load_config
from agent.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config" / "agent.example.toml"

GOOD_SOURCE = """
[[sources]]
name = "his"
kind = "his"
preset = "mssql_his"
dsn = "HIS"
"""


def write(tmp_path: Path, text: str, name: str = "agent.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_example_config_loads_with_defaults() -> None:
    cfg = load_config(EXAMPLE)
    assert cfg.hospital.timezone == "Asia/Shanghai"
    assert [s.name for s in cfg.sources] == ["his", "warehouse"]
    assert cfg.state.effective_url == "sqlite:////var/lib/vbp-agent/state.db"
    assert cfg.sources[0].encoding == "gbk"
    assert cfg.sources[0].off_peak_hours is not None and cfg.sources[0].off_peak_hours.contains(__import__("datetime").time(23, 0))


def test_config_check_on_example_exits_zero_and_masks_the_password(monkeypatch, capsys) -> None:
    monkeypatch.setenv("VBP_HIS_PASSWORD", "Canary-Pw-7731")
    assert main(["-c", str(EXAMPLE), "config", "check"]) == 0
    out = capsys.readouterr()
    assert "Canary-Pw-7731" not in out.out + out.err
    assert '"password_env": "VBP_HIS_PASSWORD"' in out.out
    assert "OK (2 source(s))" in out.err


BROKEN = {
    "missing hospital code and bad zone": (
        '[hospital]\nname = "x"\ntimezone = "Mars/Olympus"\n',
        ["hospital.code: is required", "hospital.timezone: unknown time zone 'Mars/Olympus'"],
    ),
    "bad source values": (
        '[hospital]\ncode = "H1"\nname = "x"\n'
        '[[sources]]\nname = "his"\nkind = "lis"\npreset = "p"\ndsn = "D"\nencoding = "latin1"\nquery_timeout_s = 0\noff_peak_hours = "25:00-06:00"\n',
        ["sources[0].kind:", "sources[0].encoding: 'latin1' is not one of", "sources[0].query_timeout_s:", "sources[0].off_peak_hours:"],
    ),
    "inline password and no connection": (
        '[hospital]\ncode = "H1"\nname = "x"\n'
        '[[sources]]\nname = "his"\nkind = "his"\npreset = "p"\nconnection = "Driver={X};Server=a;PWD=hunter22"\n'
        '[[sources]]\nname = "wh"\nkind = "warehouse"\npreset = "p"\n',
        ["sources[0].connection: holds a password (a PWD or PASSWORD key): put it in password_env or password_file instead",
         "sources[1]: give either connection"],
    ),
    "unknown key and duplicate source": (
        '[hospital]\ncode = "H1"\nname = "x"\ncolour = "red"\n' + GOOD_SOURCE + GOOD_SOURCE,
        ["hospital.colour: unknown key", "source names must be unique: his repeated"],
    ),
    "misspelt and bad source options": (
        '[hospital]\ncode = "H1"\nname = "x"\n' + GOOD_SOURCE
        + '[sources.options]\nsettle_lag = 60\ntimezone = "Asia/Shanghia"\ndialect = "mssql"\n',
        ["sources[0].options.settle_lag: unknown key", "sources[0].options.timezone: 'Asia/Shanghia' is not a time zone",
         "sources[0].options.dialect:"],
    ),
    "a receiver with another type's keys, and one of no known type": (
        '[hospital]\ncode = "H1"\nname = "x"\n'
        '[receivers.pharmacy]\ntype = "wecom"\nkey_env = "K"\nsmtp_host = "mail.local"\nsecret_env = "S"\n'
        '[receivers.office]\ntype = "email"\nsmtp_host = "mail.local"\nto = ["a@b.c"]\n'
        '[receivers.fax]\ntype = "fax"\n',
        ["receivers.pharmacy.smtp_host: unknown key", "receivers.pharmacy.secret_env: unknown key",
         "receivers.office.mail_from: is required", "receivers.fax: Input tag 'fax'"],
    ),
    "a password hidden in user, in the state url, or under an unknown key": (
        '[hospital]\ncode = "H1"\nname = "x"\n[state]\nurl = "postgresql+psycopg://agent:hunter22@db/vbp"\n'
        '[[sources]]\nname = "his"\nkind = "his"\npreset = "p"\ndsn = "HIS"\nuser = "bob;PWD=hunter22"\npassword = "hunter22"\n'
        '[[sources]]\nname = "wh"\nkind = "warehouse"\npreset = "p"\ndsn = "WH;Driver={evil}"\nuser = "ann}"\n',
        ["state.url: holds a password (take it out of the URL", "sources[0].user: holds a password (a PWD or PASSWORD key): put it in password_env",
         "sources[0].password: unknown key (check the spelling", "sources[1].dsn: may not contain ';'",
         "sources[1].user: may not contain '}'"],
    ),
    "a password as a URL parameter": (
        '[hospital]\ncode = "H1"\nname = "x"\n[state]\nurl = "postgresql+psycopg://agent@db/vbp?password=hunter22"\n',
        ["state.url: holds a password (take it out of the URL"],
    ),
    "bad state url": (
        '[hospital]\ncode = "H1"\nname = "x"\n[state]\nurl = "mysql://x"\n',
        ["state.url: use sqlite:///PATH or postgresql+psycopg://"],
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_config_exits_2_naming_file_key_and_reason(tmp_path: Path, capsys, case: str) -> None:
    text, expected = BROKEN[case]
    path = write(tmp_path, text)
    assert main(["-c", str(path), "config", "check"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == len(expected), err
    for line, want in zip(sorted(err), sorted(expected), strict=True):
        assert line.startswith(f"{path}: "), line
        assert want in line, (want, line)
    assert "hunter22" not in "\n".join(err)


def test_toml_syntax_error_names_line(tmp_path: Path, capsys) -> None:
    path = write(tmp_path, '[hospital]\ncode = "H1\n')
    assert main(["-c", str(path), "config", "check"]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "line 2" in err


def test_missing_file_exits_2(tmp_path: Path, capsys) -> None:
    assert main(["-c", str(tmp_path / "nope.toml"), "config", "check"]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_password_from_env_and_from_credentials_directory(tmp_path: Path, monkeypatch) -> None:
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "wh-pw").write_text("Wh-Secret-88\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    monkeypatch.setenv("HIS_PW", "His-Secret-99")
    path = write(
        tmp_path,
        '[hospital]\ncode = "H1"\nname = "x"\n'
        '[[sources]]\nname = "his"\nkind = "his"\npreset = "p"\nconnection = "Driver={X};Server=a"\nuser = "u"\npassword_env = "HIS_PW"\n'
        '[[sources]]\nname = "wh"\nkind = "warehouse"\npreset = "p"\ndsn = "WH"\npassword_file = "wh-pw"\n',
    )
    cfg = load_config(path)
    assert cfg.sources[0].connection_string() == "Driver={X};Server=a;UID=u;PWD={His-Secret-99}"
    assert cfg.sources[1].connection_string() == "DSN=WH;PWD={Wh-Secret-88}"
    monkeypatch.delenv("HIS_PW")
    with pytest.raises(ConfigError, match="HIS_PW is not set"):
        cfg.sources[0].password()


def test_a_route_naming_an_unknown_receiver_is_a_config_error(tmp_path: Path, capsys) -> None:
    path = write(
        tmp_path,
        '[hospital]\ncode = "H1"\nname = "x"\n'
        '[receivers.pharmacy]\ntype = "webhook"\nurl = "http://127.0.0.1:9/hook"\n'
        '[[routes]]\nreceivers = ["pharmacy", "procurment"]\n',
    )
    assert main(["-c", str(path), "config", "check"]) == 2
    err = capsys.readouterr().err
    assert "routes[0] names receiver 'procurment', which is not under [receivers]" in err


def test_config_check_applies_the_custom_sql_guard_and_names_every_refused_query(tmp_path: Path, capsys) -> None:
    path = write(
        tmp_path,
        '[hospital]\ncode = "H1"\nname = "x"\n'
        '[[sources]]\nname = "myhis"\nkind = "his"\npreset = "custom"\ndsn = "HIS"\n'
        '[sources.queries]\nusage = "SELECT 1; DELETE FROM t"\nday_totals = "SELECT 1 SHUTDOWN"\n'
        'items = "SELECT code, name FROM drug_dict /*! INTO OUTFILE \'/tmp/x\' */"\n',
    )
    assert main(["-c", str(path), "config", "check"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"{path}: sources[myhis].queries.usage: must be exactly one SELECT that only reads; refused: 2 statements separated by ';'",
        f"{path}: sources[myhis].queries.day_totals: must be exactly one SELECT that only reads; refused: 'SHUTDOWN' is a "
        "statement word read as a name; quote it if it is a column",
        f"{path}: sources[myhis].queries.items: must be exactly one SELECT that only reads; refused: executable comment '/*!...'",
    ]


def test_a_user_or_dsn_cannot_add_keys_to_the_odbc_connection_string(tmp_path: Path) -> None:
    path = write(tmp_path, '[hospital]\ncode = "H1"\nname = "x"\n'
                           '[[sources]]\nname = "his"\nkind = "his"\npreset = "p"\ndsn = "HIS 2"\nuser = "药房_ro.bob"\n')
    assert load_config(path).sources[0].connection_string() == "DSN=HIS 2;UID=药房_ro.bob"


def test_an_all_day_window_is_written_00_00_to_24_00_and_contains_every_minute() -> None:
    from datetime import time

    from agent.config import HoursWindow

    whole = HoursWindow.parse("00:00-24:00")
    assert all(whole.contains(time(h, m)) for h in range(24) for m in (0, 59)) and str(whole) == "00:00-24:00"
    night = HoursWindow.parse("22:00-24:00")
    assert night.contains(time(23, 59)) and not night.contains(time(0, 0)) and not night.contains(time(21, 59))
    with pytest.raises(ValueError, match="00:00-24:00 for all day"):
        HoursWindow.parse("00:00-24:30")
