"""What every command needs: the config, the store, a way to say 'not yet'."""

from __future__ import annotations

from typing import NoReturn

import typer

from agent.config import AgentConfig, load_config
from agent.errors import NotYetAvailable


def config_of(ctx: typer.Context) -> AgentConfig:
    root = ctx.find_root()
    cached = root.obj.get("config") if root.obj else None
    if cached is None:
        cached = load_config(root.obj["config_path"])
        root.obj["config"] = cached
    return cached


def not_yet(what: str, issue: int) -> NoReturn:
    raise NotYetAvailable(f"'{what}' arrives with issue #{issue}; nothing was done")
