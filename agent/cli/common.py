"""What every command needs: the config, read once per command, and the runtime the root builds from it."""

from __future__ import annotations

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
