"""What every command needs: the config, read once per command."""

from __future__ import annotations

import typer

from agent.config import AgentConfig, load_config


def config_of(ctx: typer.Context) -> AgentConfig:
    root = ctx.find_root()
    cached = root.obj.get("config") if root.obj else None
    if cached is None:
        cached = load_config(root.obj["config_path"])
        root.obj["config"] = cached
    return cached
