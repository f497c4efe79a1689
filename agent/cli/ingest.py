"""Ingestion commands: check, backfill, quarantine (issue #4)."""

from __future__ import annotations

import typer

from agent.cli.common import not_yet


def register(app: typer.Typer) -> None:
    @app.command("check")
    def check() -> None:
        """Connect to every source and test its preset queries."""
        not_yet("check", 4)

    @app.command("backfill")
    def backfill(day_from: str = typer.Option(..., "--from"), day_to: str = typer.Option(None, "--to")) -> None:
        """Read closed days from the sources in windows, resumably."""
        not_yet("backfill", 4)

    quarantine = typer.Typer(help="rows the agent refused to store", no_args_is_help=True)
    app.add_typer(quarantine, name="quarantine")

    @quarantine.command("list")
    def quarantine_list() -> None:
        """List quarantined source rows."""
        not_yet("quarantine list", 4)
