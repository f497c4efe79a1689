"""Catalogue commands: import winners/volumes, map export/import (issue #5)."""

from __future__ import annotations

import typer

from agent.cli.common import not_yet


def register(app: typer.Typer) -> None:
    imp = typer.Typer(help="import the bureau's spreadsheets", no_args_is_help=True)
    app.add_typer(imp, name="import")

    @imp.command("winners")
    def winners(file: str, programme: str = typer.Option(..., "--programme")) -> None:
        """Import a programme's winning products (中选产品)."""
        not_yet("import winners", 5)

    @imp.command("volumes")
    def volumes(file: str, programme: str = typer.Option(..., "--programme"), year: int = typer.Option(..., "--year")) -> None:
        """Import agreed volumes (约定采购量) for an agreement year."""
        not_yet("import volumes", 5)

    mapping = typer.Typer(help="map local items to national codes (对码)", no_args_is_help=True)
    app.add_typer(mapping, name="map")

    @mapping.command("export")
    def map_export(file: str) -> None:
        """Write the review workbook."""
        not_yet("map export", 5)

    @mapping.command("import")
    def map_import(file: str) -> None:
        """Read reviewed decisions back."""
        not_yet("map import", 5)
