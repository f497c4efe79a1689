"""Report commands (issue #6)."""

from __future__ import annotations

import typer

from agent.cli.common import not_yet


def register(app: typer.Typer) -> None:
    report = typer.Typer(help="the regulator's tables (带量执行报表, 年度报告)", no_args_is_help=True)
    app.add_typer(report, name="report")

    @report.command("monthly")
    def monthly(month: str = typer.Option(..., "--month")) -> None:
        """Write the monthly 带量执行报表 xlsx."""
        not_yet("report monthly", 6)

    @report.command("annual")
    def annual(year: int = typer.Option(..., "--year")) -> None:
        """Write the yearly report due 15 January."""
        not_yet("report annual", 6)
