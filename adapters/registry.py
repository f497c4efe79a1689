"""Preset name -> preset, and the one builder the composition root calls."""

from __future__ import annotations

from typing import Protocol
from zoneinfo import ZoneInfo

from adapters.his import mssql_his, mssql_materials, oracle_his, spd_issues
from adapters.odbc import OdbcSource
from adapters.preset import REQUIRED, Preset, require_single_select
from adapters.source import SqlSource
from adapters.warehouse import std
from agent.errors import ConfigError
from agent.ports import Clock

PRESETS: dict[str, Preset] = {p.name: p for p in (mssql_his.PRESET, oracle_his.PRESET, mssql_materials.PRESET,
                                                  spd_issues.PRESET, std.PRESET)}


class SourceTuning(Protocol):
    """What the builder reads of ``[sources.options]`` (agent.config.SourceOptions, validated there)."""

    dialect: str
    line_id_is_int: bool
    engine: str | None
    fetch_rows: int
    retries: int
    timezone: str | None
    by_prescriber: bool
    packed_usage: bool


class SourceSettings(Protocol):
    """What the builder reads from a ``[[sources]]`` block (agent.config.SourceConfig)."""

    name: str
    kind: str
    preset: str
    login_timeout_s: int
    query_timeout_s: int
    encoding: str
    queries: dict[str, str]
    options: SourceTuning

    def connection_string(self) -> str: ...


def custom_preset(cfg: SourceSettings) -> Preset:
    """A hospital's own SELECTs from config; anything but exactly one SELECT that only reads is refused,
    naming the source, the key and what was refused (every refused key, not just the first)."""
    dialect = cfg.options.dialect
    problems = []
    for name, sql in cfg.queries.items():
        try:
            require_single_select(sql, dialect, f"sources[{cfg.name}].queries.{name}")
        except ConfigError as exc:
            problems.extend(exc.problems)
    missing = [q for q in REQUIRED[cfg.kind] if q not in cfg.queries]
    if missing:
        problems.append(f"sources[{cfg.name}].queries: a {cfg.kind} source needs {', '.join(missing)}")
    if problems:
        raise ConfigError(problems[0] if len(problems) == 1 else f"sources[{cfg.name}]: {len(problems)} problem(s): "
                          + "; ".join(problems), problems)
    return Preset(name="custom", kind=cfg.kind, dialect=dialect, queries=dict(cfg.queries),
                  line_id_is_int=cfg.options.line_id_is_int)


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
        cfg.name, cfg.connection_string(), engine=opts.engine, login_timeout_s=cfg.login_timeout_s,
        query_timeout_s=cfg.query_timeout_s, encoding=cfg.encoding, fetch_rows=opts.fetch_rows, retries=opts.retries,
    )
    tz = ZoneInfo(opts.timezone) if opts.timezone else clock.tz
    return SqlSource(cfg.name, preset, odbc, tz, by_prescriber=opts.by_prescriber, clock=clock, packed=opts.packed_usage)
