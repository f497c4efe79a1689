"""Preset name -> preset, and the one builder the composition root calls."""

from __future__ import annotations

from typing import Any, Protocol
from zoneinfo import ZoneInfo

from adapters.his import mssql_his, oracle_his
from adapters.odbc import FETCH_ROWS, OdbcSource
from adapters.preset import REQUIRED, Preset, require_single_select
from adapters.source import SqlSource
from adapters.warehouse import std
from agent.errors import ConfigError
from agent.ports import Clock

PRESETS: dict[str, Preset] = {p.name: p for p in (mssql_his.PRESET, oracle_his.PRESET, std.PRESET)}


class SourceSettings(Protocol):
    """What the builder reads from a ``[[sources]]`` block (agent.config.SourceConfig)."""

    name: str
    kind: str
    preset: str
    login_timeout_s: int
    query_timeout_s: int
    encoding: str
    queries: dict[str, str]
    options: dict[str, Any]

    def connection_string(self) -> str: ...


def custom_preset(cfg: SourceSettings) -> Preset:
    """A hospital's own SELECTs from config; anything but exactly one SELECT is refused, naming the key."""
    dialect = str(cfg.options.get("dialect", "tsql"))
    for name, sql in cfg.queries.items():
        require_single_select(sql, dialect, f"sources[{cfg.name}].queries.{name}")
    missing = [q for q in REQUIRED[cfg.kind] if q not in cfg.queries]
    if missing:
        raise ConfigError(f"sources[{cfg.name}].queries: a {cfg.kind} source needs {', '.join(missing)}")
    return Preset(name="custom", kind=cfg.kind, dialect=dialect, queries=dict(cfg.queries),
                  line_id_is_int=bool(cfg.options.get("line_id_is_int", True)))


def preset_of(cfg: SourceSettings) -> Preset:
    if cfg.preset == "custom":
        return custom_preset(cfg)
    preset = PRESETS.get(cfg.preset)
    if preset is None:
        raise ConfigError(f"sources[{cfg.name}].preset: unknown preset '{cfg.preset}' (known: custom, {', '.join(sorted(PRESETS))})")
    if (preset.kind == "warehouse") != (cfg.kind == "warehouse"):
        raise ConfigError(f"sources[{cfg.name}].preset: '{cfg.preset}' is a {preset.kind} preset, the source is kind {cfg.kind}")
    return preset


def build_source(cfg: SourceSettings, clock: Clock) -> SqlSource:
    """The source named in config, ready to read (it connects on first use)."""
    preset = preset_of(cfg)
    opts = cfg.options
    odbc = OdbcSource(
        cfg.name, cfg.connection_string(), engine=opts.get("engine"), login_timeout_s=cfg.login_timeout_s,
        query_timeout_s=cfg.query_timeout_s, encoding=cfg.encoding, fetch_rows=int(opts.get("fetch_rows", FETCH_ROWS)),
        retries=int(opts.get("retries", 3)),
    )
    tz = ZoneInfo(opts["timezone"]) if opts.get("timezone") else clock.tz
    return SqlSource(cfg.name, preset, odbc, tz, by_prescriber=bool(opts.get("by_prescriber", False)), clock=clock)
