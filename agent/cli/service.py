"""The service commands: run, status, demo (issue #9)."""

from __future__ import annotations

import typer

from agent.cli.common import config_of


def register(app: typer.Typer) -> None:
    @app.command("run")
    def run(ctx: typer.Context) -> None:
        """Run the agent as a daemon (systemd Type=notify)."""
        from agent.service.daemon import Daemon

        config_of(ctx)  # validate first: a bad config exits 2 before anything starts
        daemon = Daemon(ctx.find_root().obj["config_path"])
        daemon.start()
        raise typer.Exit(daemon.serve())

    @app.command("status")
    def status(ctx: typer.Context) -> None:
        """Show jobs, outbox depth and open findings for a person."""
        from agent.bootstrap import build
        from agent.service.status import render_status

        rt = build(config_of(ctx))
        try:
            typer.echo(render_status(rt))
        finally:
            rt.close()

    @app.command("demo")
    def demo(workdir: str = typer.Option("demo-out", "--dir", help="where the simulated hospital lives")) -> None:
        """Build a simulated hospital and show what the agent finds."""
        from agent.demo import run_demo

        run_demo(workdir)
