"""The service commands: run, status (issue #9); ``demo`` comes from the vbp_demo package."""

from __future__ import annotations

import typer

from agent.cli.common import clock_of, config_of, existing_runtime, runtime_of


def register(app: typer.Typer) -> None:
    @app.command("run")
    def run(ctx: typer.Context) -> None:
        """Run the agent as a daemon (systemd Type=notify)."""
        from agent.bootstrap import build, build_jobs
        from agent.service.daemon import Daemon

        config_of(ctx)  # validate first: a bad config exits 2 before anything starts
        clock = clock_of(ctx)
        daemon = Daemon(ctx.find_root().obj["config_path"], lambda cfg: build(cfg, clock), build_jobs)
        daemon.start()
        if config_of(ctx).console.with_daemon:  # [console] with_daemon: the console on a thread of the daemon
            from agent.cli.console import serve_beside

            serve_beside(runtime_of(ctx))
        raise typer.Exit(daemon.serve())

    @app.command("status")
    def status(ctx: typer.Context, as_of: str | None = typer.Option(
            None, "--as-of", help="progress, 网采率 and findings as of this day, YYYY-MM-DD (read only)")) -> None:
        """Show jobs, the platform link, outbox depth, open findings, progress per programme and 网采率
        for a person; with --as-of, the figures and findings of that day (computed, nothing stored)."""
        from agent.bootstrap import build_monitoring_inputs
        from agent.cli.monitor import as_of_day
        from agent.cli.status import render_status

        day = as_of_day(ctx, as_of) if as_of is not None else None
        rt = existing_runtime(ctx)  # status reads; it never creates a store
        typer.echo(render_status(rt, build_monitoring_inputs(rt), day))
