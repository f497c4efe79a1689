"""Terminal tables (issue #22, point 4): a Chinese character takes two columns of a terminal, so
every column of a CLI table starts at the same display column on every line, whatever mix of
Chinese and ASCII its cells hold."""

from __future__ import annotations

import unicodedata

import pytest

from agent.cli.table import fit, table, width


def starts(line: str, cells: list[str]) -> list[int]:
    """The display column each cell of ``line`` starts at (cells in order, found left to right)."""
    out, pos, col = [], 0, 0
    for cell in cells:
        at = line.index(cell, pos)
        col += width(line[pos:at])
        out.append(col)
        col += width(cell)
        pos = at + len(cell)
    return out


def test_a_chinese_character_takes_two_columns_and_a_combining_mark_none() -> None:
    assert width("阿托伐他汀") == 10 and width("ab1") == 3 and width("（片）") == 6 and width("Ａ") == 2
    assert width("e\u0301") == 1
    assert fit("阿托伐他汀钙片", 9) == "阿托伐他…" and width(fit("阿托伐他汀钙片", 9)) == 9
    assert fit("12", 5, right=True) == "   12"


def test_every_column_starts_at_the_same_display_column_on_every_line() -> None:
    rows = [("第九批国家集采", "阿托伐他汀钙片 20mg", "36,600", "7.6%", "低于序时进度"),
            ("NHSA-9", "Atorvastatin", "500", "117.0%", "超量"),
            ("省际联盟（十六省）", "头孢呋辛酯片", "1,200", "-", "正常"),
            ("x", "二甲双胍片 0.5g", "1", "0.0%", "零采购")]
    headings = ("批次", "产品", "约定量", "完成进度", "状态")
    lines = table(headings, rows, right={2, 3})
    assert len(lines) == 5
    columns = [starts(line, list(cells)) for line, cells in zip(lines, [headings, *rows], strict=True)]
    lefts = [[c[0], c[1], c[4]] for c in columns]
    assert all(c == lefts[0] for c in lefts), "\n".join(lines)
    ends = [[c[2] + width(cells[2]), c[3] + width(cells[3])] for c, cells in zip(columns, [headings, *rows], strict=True)]
    assert all(e == ends[0] for e in ends), "\n".join(lines)  # numbers aligned on the right
    assert all(line == line.rstrip() for line in lines)
    print("\n" + "\n".join(lines))


def test_a_cut_cell_keeps_the_columns_after_it_in_place_and_tabs_never_reach_the_terminal() -> None:
    rows = [("甲" * 40, "a\tb\nc"), ("短", "x")]
    lines = table(("名称", "说明"), rows, limits={0: 12})
    assert all("\t" not in line for line in lines)
    assert len({starts(line, [cell])[0] for line, cell in zip(lines, ["说明", "a b c", "x"], strict=True)}) == 1
    assert "…" in lines[1] and starts(lines[1], ["a b c"]) == [12 + 2]


def test_a_row_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(ValueError, match="2 cells under 3 headings"):
        table(("a", "b", "c"), [("1", "2")])


def test_the_house_has_no_ad_hoc_padding_of_text_left_in_the_cli() -> None:
    """Every CLI table goes through agent.cli.table: no f-string padding (``:<20``) or ljust of cells."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    offenders = [f"{p.relative_to(root)}:{i}" for p in [*(root / "agent" / "cli").glob("*.py"), root / "vbp_demo" / "run.py"]
                 if p.name != "table.py"
                 for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
                 if re.search(r"\{[^{}]*:[<>^]\d+[^{}]*\}|\.ljust\(|\.rjust\(", line)]
    assert offenders == []
    assert unicodedata.east_asian_width("片") == "W"
