"""Tables printed in a terminal, every column starting at the same display column on every line.

A Chinese character (and any East Asian wide or full-width one, ``unicodedata.east_asian_width``
W or F) takes two columns of a terminal, a combining mark none, so ``str.ljust`` or ``f"{x:<20}"``
misalign any column after Chinese text. Every CLI table goes through :func:`table`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection, Iterable, Mapping, Sequence

import typer

GAP = "  "
ELLIPSIS = "…"


def width(text: str) -> int:
    """Terminal columns ``text`` takes."""
    return sum(0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def fit(text: str, columns: int, right: bool = False) -> str:
    """``text`` padded to ``columns`` (on the left when ``right``), cut with … when it is wider."""
    if width(text) > columns:
        out, used = "", 0
        for ch in text:
            w = width(ch)
            if used + w > columns - 1:
                break
            out, used = out + ch, used + w
        text = out + ELLIPSIS
    pad = " " * (columns - width(text))
    return pad + text if right else text + pad


def _cell(value: object) -> str:
    text = "-" if value is None else str(value)
    return " ".join(text.split()) if any(c in text for c in "\t\r\n") else text


def table(headers: Sequence[str], rows: Iterable[Sequence[object]], *, right: Collection[int] = (),
          limits: Mapping[int, int] | None = None, indent: str = "") -> list[str]:
    """The lines of a table: ``headers`` then ``rows``; columns in ``right`` (by index) aligned right
    (numbers), a column in ``limits`` cut to that many terminal columns. No trailing spaces."""
    cells = [[_cell(v) for v in row] for row in rows]
    for r in cells:
        if len(r) != len(headers):
            raise ValueError(f"a row of {len(r)} cells under {len(headers)} headings: {r!r}")
    widths = [max([width(h), *(width(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    for i, most in (limits or {}).items():
        widths[i] = min(widths[i], max(most, width(headers[i])))
    return [(indent + GAP.join(fit(c, widths[i], i in right) for i, c in enumerate(r))).rstrip()
            for r in [list(headers), *cells]]


def echo_table(headers: Sequence[str], rows: Iterable[Sequence[object]], **options: object) -> None:
    """Print :func:`table` (see there for ``right``, ``limits`` and ``indent``)."""
    for line in table(headers, rows, **options):  # type: ignore[arg-type]
        typer.echo(line)
