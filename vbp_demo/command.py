"""``vbp-agent demo``, registered through the ``vbp_agent.commands`` entry point."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(workdir: str = typer.Option("demo-out", "--dir", help="where the simulated hospital lives")) -> None:
        """Build a simulated hospital and show what the agent finds."""
        from vbp_demo.run import run_demo  # the simulator loads only when the demo runs

        run_demo(workdir)
