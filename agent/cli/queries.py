"""``vbp-agent queries template``: a commented starting point for a ``custom`` source's SELECTs."""

from __future__ import annotations

import typer

from agent.errors import ConfigError

DIALECTS = ("tsql", "oracle", "postgres", "mysql", "sqlite")


def register(app: typer.Typer) -> None:
    queries = typer.Typer(help="the custom-query contract (自定义查询)", no_args_is_help=True)
    app.add_typer(queries, name="queries")

    @queries.command("template")
    def template(kind: str = typer.Option("his", "--kind", help="his | prescription | warehouse"),
                 dialect: str = typer.Option("tsql", "--dialect", help="tsql | oracle | postgres | mysql | sqlite")) -> None:
        """Print a [[sources]] block with every query the kind takes, each column's meaning, type and unit."""
        from adapters.query_contract import template as render

        if kind not in ("his", "prescription", "warehouse"):
            raise ConfigError(f"--kind {kind!r}: use his, prescription or warehouse")
        if dialect not in DIALECTS:
            raise ConfigError(f"--dialect {dialect!r}: use one of {', '.join(DIALECTS)}")
        typer.echo(render(kind, dialect))
