"""The service commands: run, status (issue #9); ``demo`` comes from the vbp_demo package."""

from __future__ import annotations

import typer

from agent.cli.common import clock_of, config_of, runtime_of


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
    def status(ctx: typer.Context) -> None:
        """Show jobs, the platform link, outbox depth and open findings for a person."""
        from agent.errors import StoreError
        from agent.service.status import render_status
        from agent.store.engine import missing_store

        cfg = config_of(ctx)
        why = missing_store(cfg.state.effective_url)  # status reads; it never creates a store
        if why is not None:
            raise StoreError(f"状态库尚不存在：{why}（the agent has not run yet here: `vbp-agent run` creates it）")
        typer.echo(render_status(runtime_of(ctx)))
