"""What every command needs: the config, read once per command, and the runtime the root builds from it."""

from __future__ import annotations

from datetime import date

import typer

from agent.bootstrap import Runtime, build, system_clock
from agent.clock import Clock
from agent.config import AgentConfig, load_config


def config_of(ctx: typer.Context) -> AgentConfig:
    root = ctx.find_root()
    cached = root.obj.get("config") if root.obj else None
    if cached is None:
        cached = load_config(root.obj["config_path"])
        root.obj["config"] = cached
    return cached


def clock_of(ctx: typer.Context) -> Clock:
    """The clock ``main(clock=...)`` was given, else the system clock in the hospital's zone."""
    root = ctx.find_root()
    return (root.obj or {}).get("clock") or system_clock(config_of(ctx))


def runtime_of(ctx: typer.Context) -> Runtime:
    """The composition root's runtime for this command (built once, closed when the command ends)."""
    root = ctx.find_root()
    runtime = root.obj.get("runtime")
    if runtime is None:
        runtime = build(config_of(ctx), clock_of(ctx))
        root.obj["runtime"] = runtime
        root.call_on_close(runtime.close)
    return runtime


def parse_day(text: str | None, option: str) -> date | None:
    """A ``YYYY-MM-DD`` option, or a usage error naming the option."""
    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise typer.BadParameter(f"'{text}' is not a date like 2026-03-01", param_hint=option) from None


def existing_runtime(ctx: typer.Context) -> Runtime:
    """The runtime of a command that only reads: it never creates a missing store."""
    from agent.errors import StoreError
    from agent.store.engine import missing_store

    why = missing_store(config_of(ctx).state.effective_url)
    if why is not None:
        raise StoreError(f"状态库尚不存在：{why}（the agent has not run yet here: `vbp-agent run` creates it）")
    return runtime_of(ctx)
