"""The catalogue commands end to end: preview, --dry-run, --yes, map run / export / import."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from agent.cli import main
from agent.store import catalogue, mappings, open_store
from tests.sheets_catalogue import volumes_xlsx, winners_xlsx


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    path = tmp_path / "agent.toml"
    path.write_text(f'[hospital]\ncode = "H1"\nname = "测试医院"\n[state]\ndirectory = "{tmp_path}"\n'
                    '[catalogue]\nauto_accept = 0.9\n', encoding="utf-8")
    return path


def _history(tmp_path: Path) -> list[dict]:
    s = open_store(f"sqlite:///{tmp_path / 'state.db'}", "H1")
    try:
        with s.read() as conn:
            return catalogue.import_history(conn, "H1")
    finally:
        s.close()


def test_dry_run_previews_in_chinese_and_writes_nothing(cfg: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    w = winners_xlsx(tmp_path / "w.xlsx")
    code = main(["-c", str(cfg), "import", "winners", str(w), "--programme", "第十批", "--cycle-start", "2025-03-01",
                 "--cycle-end", "2027-02-28", "--dry-run"])
    out = capsys.readouterr().out
    assert code == 0 and "导入预览" in out and "通用名" in out and "新增" in out and "未写入" in out
    assert _history(tmp_path) == []


def test_without_yes_and_without_a_terminal_nothing_is_committed(cfg: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    w = winners_xlsx(tmp_path / "w.xlsx")
    assert main(["-c", str(cfg), "import", "winners", str(w), "--programme", "第十批", "--cycle-start", "2025-03-01",
                 "--cycle-end", "2027-02-28"]) == 0
    assert "--yes" in capsys.readouterr().out and _history(tmp_path) == []


def test_a_new_programme_needs_its_cycle(cfg: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    w = winners_xlsx(tmp_path / "w.xlsx")
    assert main(["-c", str(cfg), "import", "winners", str(w), "--programme", "第十批", "--yes"]) == 2
    assert "--cycle-start" in capsys.readouterr().err


def test_import_map_export_and_import_from_the_command_line(cfg: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    w = winners_xlsx(tmp_path / "w.xlsx")
    assert main(["-c", str(cfg), "import", "winners", str(w), "--programme", "第十批", "--level", "national",
                 "--cycle-start", "2025-03-01", "--cycle-end", "2027-02-28", "--extend-to", "2027-08-31", "--yes"]) == 0
    assert "已导入：新增4" in capsys.readouterr().out
    v = volumes_xlsx(tmp_path / "v.xlsx", [["H1", "测试医院", "阿托伐他汀钙片", "10mg", "嘉林药业", "２８0"]])
    assert main(["-c", str(cfg), "import", "volumes", str(v), "--programme", "第十批", "--year", "3", "--yes"]) == 0
    assert "已导入：新增1" in capsys.readouterr().out
    items = tmp_path / "his.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["院内编码", "药品名称", "规格", "生产厂家", "单位", "医保代码"])
    wb.active.append(["Y1", "阿托伐他汀钙片(立普妥)", "10mg*28片", "嘉林药业", "盒", None])
    wb.active.append(["Y2", "氯吡格雷片", "75mg", None, "盒", None])
    wb.save(items)
    assert main(["-c", str(cfg), "map", "run", "--items", str(items)]) == 0
    out = capsys.readouterr().out
    assert "自动对码1，待审核1" in out and "Y2" in out
    review = tmp_path / "review.xlsx"
    assert main(["-c", str(cfg), "map", "export", str(review)]) == 0
    wb = openpyxl.load_workbook(review)
    ws = wb["对码审核"]
    assert ws.cell(2, 1).value == "Y2"
    ws.cell(2, 17).value = "候选1"
    ws.cell(2, 18).value = 7
    wb.save(review)
    assert main(["-c", str(cfg), "map", "import", str(review)]) == 0
    assert "已应用1条审核结论" in capsys.readouterr().out
    s = open_store(f"sqlite:///{tmp_path / 'state.db'}", "H1")
    try:
        with s.read() as conn:
            years = catalogue.agreement_years(conn, "H1", "第十批")
            assert mappings.item_factors(conn, "H1") == {"Y1": 28, "Y2": 7}
            assert [h["what"] for h in catalogue.import_history(conn, "H1")] == ["winners", "volumes", "review"]
    finally:
        s.close()
    assert [(y.number, str(y.start), str(y.end)) for y in years] == [
        (1, "2025-03-01", "2026-02-28"), (2, "2026-03-01", "2027-02-28"), (3, "2027-03-01", "2027-08-31")]


def test_map_run_without_an_item_file_maps_the_dictionary_ingestion_stored(cfg: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    from agent.config import load_config
    from agent.store import open_store
    from agent.store.schema.ingest import local_items

    assert main(["-c", str(cfg), "map", "run"]) == 1
    assert "no HIS item dictionary read yet" in capsys.readouterr().err
    c = load_config(cfg)
    store = open_store(c.state.effective_url, c.hospital.code)
    with store.begin() as conn:
        conn.execute(local_items.insert().values(
            hospital_code=c.hospital.code, source="his", code="Y1", name="阿托伐他汀钙片 20mg*7片", generic_name="阿托伐他汀钙片",
            dosage_form="片剂", spec="20mg*7片", manufacturer="某药业", his_unit="盒", kind="drug", read_at=datetime.now(UTC)))
    store.close()
    assert main(["-c", str(cfg), "map", "run"]) == 0
    assert capsys.readouterr().out.strip()


def test_map_list_shows_who_is_in_a_group_and_map_check_flags_a_strength_no_winner_has(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    cfg = tmp_path / "agent.toml"
    cfg.write_text(f'[hospital]\ncode = "H1"\nname = "测试医院"\n[state]\ndirectory = "{tmp_path}"\n'
                   '[catalogue]\nsynonyms = {"阿伐他汀" = "阿托伐他汀钙"}\n', encoding="utf-8")
    w = winners_xlsx(tmp_path / "w.xlsx")
    assert main(["-c", str(cfg), "import", "winners", str(w), "--programme", "第十批",
                 "--cycle-start", "2025-03-01", "--cycle-end", "2027-02-28", "--yes"]) == 0
    items = tmp_path / "his.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["院内编码", "药品名称", "剂型", "规格", "生产厂家", "单位"])
    wb.active.append(["Y1", "阿托伐他汀钙片(立普妥)", "片剂(薄膜衣)", "10mg*28片", "嘉林药业", "盒"])
    wb.active.append(["Y2", "阿伐他汀", "片剂", "10mg*7片", "某药业", "盒"])  # the hospital's own synonym
    wb.active.append(["Y3", "阿托伐他汀钙片", "片剂", "40mg*7片", "辉瑞制药有限公司", "盒"])  # a strength no winner has
    wb.save(items)
    assert main(["-c", str(cfg), "map", "run", "--items", str(items)]) == 0
    capsys.readouterr()
    assert main(["-c", str(cfg), "map", "list", "--group", "阿托伐他汀钙片"]) == 0
    out = capsys.readouterr().out
    assert "分组 阿托伐他汀|片：3个品种" in out
    lines = {line.split("\t")[0]: line for line in out.splitlines()[1:]}
    assert "\t中选\t" in lines["Y1"] and "\t非中选\t" in lines["Y2"] and "\t非中选\t" in lines["Y3"]
    assert main(["-c", str(cfg), "map", "list", "--group", "维生素C片"]) == 1
    assert "不是已知的集采分组" in capsys.readouterr().err
    assert main(["-c", str(cfg), "map", "check"]) == 1
    out = capsys.readouterr().out
    assert "Y3" in out and "规格40mg" in out and "Y2" not in out
    assert main(["-c", str(cfg), "check"]) == 0  # `vbp-agent check` warns of the same group, without failing
    out = capsys.readouterr().out
    assert "对码分组可疑（vbp-agent map check）" in out and "规格40mg" in out
