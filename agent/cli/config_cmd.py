"""``vbp-agent config check``: validate and print the effective config, secrets masked."""

from __future__ import annotations

import json

import typer

from adapters.registry import preset_of
from agent.cli.common import config_of
from agent.config import masked
from agent.errors import ConfigError


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="inspect the configuration", no_args_is_help=True)
    app.add_typer(group, name="config")

    @group.command("check")
    def check(ctx: typer.Context, quiet: bool = typer.Option(False, "--quiet", "-q", help="print nothing when valid")) -> None:
        """Validate the config file; print the effective config with secrets masked."""
        cfg = config_of(ctx)
        refused = []
        for src in cfg.sources:
            try:
                preset_of(src)  # the custom-SQL guard `check` and the agent apply, without connecting
            except ConfigError as exc:
                refused.extend(f"{cfg.source_file}: {line}" for line in exc.problems)
        if refused:
            raise ConfigError(f"{cfg.source_file}: {len(refused)} problem(s)", refused)
        warnings = []
        for src in cfg.sources:
            try:
                src.password()
            except ConfigError as exc:
                warnings.append(f"{cfg.source_file}: sources[{cfg.sources.index(src)}]: {exc} (needed when the agent runs)")
        if not quiet:
            typer.echo(json.dumps(masked(cfg), ensure_ascii=False, indent=2))
        for w in warnings:
            typer.echo(f"warning: {w}", err=True)
        typer.echo(f"{cfg.source_file}: OK ({len(cfg.sources)} source(s))", err=True)
