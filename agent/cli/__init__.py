"""The one console script, ``vbp-agent``.

Each module in this package that defines ``register(app)`` adds its commands; the areas of the
agent (ingestion, catalogue, monitoring, alerts, platform, service) each own one module. Packages
outside the production agent (the demo) add theirs through the ``vbp_agent.commands`` entry point,
so the agent never imports them.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
import sys
from importlib.metadata import entry_points
from typing import Any

import typer

from agent import __version__
from agent.clock import Clock
from agent.errors import AgentError, ConfigError, StoreError
from agent.logging import redact_text
from agent.store.errors import as_store_error

EXIT_CONFIG = 2
EXIT_STORE = 3
EXIT_FAILED = 1


def _version(value: bool) -> None:
    if value:
        typer.echo(f"vbp-agent {__version__}")
        raise typer.Exit()


def build_app() -> typer.Typer:
    app = typer.Typer(
        name="vbp-agent",
        help="In-hospital early warning for volume-based procurement (集中带量采购).",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )

    @app.callback()
    def _root(
        ctx: typer.Context,
        config: str = typer.Option(
            "/etc/vbp-agent/agent.toml", "--config", "-c", envvar="VBP_AGENT_CONFIG", help="the agent's TOML config file"
        ),
        version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="print the version and exit"),
    ) -> None:
        ctx.obj = {"config_path": config, "clock": (ctx.obj or {}).get("clock")}  # main(clock=...) hands it in

    import agent.cli as pkg

    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{pkg.__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(app)
    for plugin in entry_points(group="vbp_agent.commands"):
        plugin.load()(app)
    return app


@functools.cache
def _command() -> Any:
    """The app as a command, built once per process: the commands and plugins are the same for every
    call (the tests and the demo call ``main`` hundreds of times in one process)."""
    return typer.main.get_command(build_app())


def main(argv: list[str] | None = None, *, clock: Clock | None = None) -> int:
    """Run one command; ``clock`` replaces the system clock (tests and the demo fix the date with it)."""
    try:
        _command().main(args=argv, prog_name="vbp-agent", obj={"clock": clock})
        return 0
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else EXIT_FAILED)
    except ConfigError as exc:
        for line in exc.problems:
            print(line, file=sys.stderr)
        return EXIT_CONFIG
    except StoreError as exc:
        return _store_failed(exc)
    except AgentError as exc:
        print(f"error ({exc.kind}): {_one_line(exc)}", file=sys.stderr)
        return EXIT_FAILED
    except Exception as exc:  # the state store failing mid-command (a restart): one line, not a traceback
        failure = as_store_error(exc)
        if failure is None:
            raise
        return _store_failed(failure)


def _store_failed(exc: StoreError) -> int:
    print(f"state store ({exc.kind}): {_one_line(exc)}", file=sys.stderr)
    return EXIT_STORE


def _one_line(exc: Exception) -> str:
    """A driver's message spread over lines (psycopg's hints) read as one line, secrets masked."""
    return " ".join(redact_text(str(exc)).split())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
