"""Alert commands (issue #7)."""

from __future__ import annotations

import typer

from agent.cli.common import not_yet


def register(app: typer.Typer) -> None:
    alerts = typer.Typer(help="alerts: list, show, acknowledge, silence", no_args_is_help=True)
    app.add_typer(alerts, name="alerts")

    @alerts.command("list")
    def alerts_list() -> None:
        """List open alerts."""
        not_yet("alerts list", 7)

    notify = typer.Typer(help="notification receivers", no_args_is_help=True)
    app.add_typer(notify, name="notify")

    @notify.command("test")
    def notify_test(receiver: str) -> None:
        """Send a test message to RECEIVER and print the vendor's answer."""
        not_yet("notify test", 7)
