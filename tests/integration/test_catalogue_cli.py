"""The catalogue commands end to end: preview, --dry-run, --yes, map run / export / import; and 对码 of a
fresh messy HIS dictionary as an admin and a pharmacist run it (the last test)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import openpyxl
import pytest

from agent.cli import main
from agent.store import catalogue, mappings, open_store
from tests.sheets_catalogue import volumes_xlsx, winners_xlsx

T = TypeVar("T")


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    path = tmp_path / "agent.toml"
    path.write_text(f'[hospital]\ncode = "H1"\nname = "测试医院"\n[state]\ndirectory = "{tmp_path}"\n'
                    '[catalogue]\nauto_accept = 0.9\n', encoding="utf-8")
    return path


def _read(tmp_path: Path, query: Callable[[Any], T]) -> T:
    """``query`` over the state store the commands wrote."""
    s = open_store(f"sqlite:///{tmp_path / 'state.db'}", "H1")
    try:
        with s.read() as conn:
            return query(conn)
    finally:
        s.close()


def _history(tmp_path: Path) -> list[dict]:
    return _read(tmp_path, lambda conn: catalogue.import_history(conn, "H1"))


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
    lines = {line.split()[0]: line.split() for line in out.splitlines()[2:]}
    assert "中选" in lines["Y1"] and "非中选" in lines["Y2"] and "非中选" in lines["Y3"] and "中选" not in lines["Y2"]
    assert main(["-c", str(cfg), "map", "list", "--group", "维生素C片"]) == 1
    assert "不是已知的集采分组" in capsys.readouterr().err
    assert main(["-c", str(cfg), "map", "check"]) == 1
    out = capsys.readouterr().out
    assert "Y3" in out and "规格40mg" in out and "Y2" not in out
    assert main(["-c", str(cfg), "check"]) == 0  # `vbp-agent check` warns of the same group, without failing
    out = capsys.readouterr().out
    assert "对码分组可疑（vbp-agent map check）" in out and "规格40mg" in out


# 对码 end to end on a HIS dictionary nobody tuned for, as an admin and a pharmacist run it: the
# bureau's winners imported, the HIS export mapped (forms written HIS-style with full-width brackets
# and reordered qualifiers, 冻干粉针 and 注射用无菌粉末, a blank 剂型, a former name, trade names, specs
# with full-width strengths, one national code copied onto two items), the review sheet deciding the
# groups (非中选 候选2, a typed 通用名+剂型, an edited 建议分组, 无关), the decisions kept by the next
# run, ``map list --group`` and ``map check`` (alone and inside ``vbp-agent check``).
WINNERS: list[list[Any]] = [
    [1, "阿托伐他汀钙片", "片剂", "20mg×7片", 7, "北京嘉林药业股份有限公司", "XC10AAA052A001010100001", "3.05"],
    [2, "苯磺酸氨氯地平片", "片剂", "5mg×28片", 28, "扬子江药业集团有限公司", "XC08CAA019A001010200001", "4.32"],
    [3, "硝苯地平控释片", "片剂(控释)", "30mg×7片", 7, "上海信谊药厂有限公司", "XC08CAN031A006010300001", "6.10"],
    [4, "盐酸二甲双胍片", "片剂", "0.5g×20片", 20, "石药集团欧意药业有限公司", "XA10BAE054A001010400001", "1.52"],
    [5, "盐酸二甲双胍缓释片", "缓释片", "0.5g×30片", 30, "正大天晴药业集团股份有限公司", "XA10BAE054A005010500001", "4.80"],
    [6, "注射用头孢曲松钠", "注射剂", "1.0g", 1, "齐鲁制药有限公司", "XJ01DDT041C003011000001", "2.37"],
    [7, "硫酸氢氯吡格雷片", "片剂", "75mg×7片", 7, "深圳信立泰药业股份有限公司", "XB01ACL049A001010600001", "11.62"],
]
COPIED_CODE = "XC10AAX999A001010100777"  # one code on two items; its generic-name part is neither of theirs
HEADER = ["药品编码", "药品名称", "通用名称", "剂型", "规格", "生产厂家", "门诊单位", "包装数量", "医保编码"]
# code, name, generic name, 剂型, spec, maker, unit, pack, national code
DICTIONARY: list[list[Any]] = [
    ["Y001", "阿托伐他汀钙片（立普妥）", "阿托伐他汀钙", "片剂（薄膜衣）", "２０ｍｇ×７片", "辉瑞制药有限公司", "盒", 7, None],
    ["Y002", "阿托伐他汀钙片", "阿托伐他汀钙", "片剂", "20mg*7片", "北京嘉林药业股份有限公司", "盒", 7, "XC10AAA052A001010100001"],
    ["Y003", "硝苯地平控释片(拜新同)", None, "片剂（控释）", "30mg*7片", "拜耳医药保健有限公司", "盒", 7, None],
    ["Y004", "心痛定控释片", None, "控释片剂", "30mg*7片", "华中药业股份有限公司", "盒", 7, None],  # 心痛定 = 硝苯地平
    ["Y005", "硝苯地平片", "硝苯地平", "片剂", "10mg*100片", "山西亚宝药业集团股份有限公司", "瓶", 100, None],  # no such group
    ["Y006", "盐酸二甲双胍缓释片", "盐酸二甲双胍", "缓释片剂", "0.5g*30片", "中美上海施贵宝制药有限公司", "盒", 30, None],
    ["Y007", "二甲双胍缓释片", None, "片剂(缓释)", "0.5g*30片", "北京京丰制药集团有限公司", "盒", 30, None],
    ["Y008", "盐酸二甲双胍片", "盐酸二甲双胍", "薄膜衣片", "0.5g*20片", "中美上海施贵宝制药有限公司", "盒", 20, None],
    ["Y009", "盐酸二甲双胍", None, None, "0.5g*30片", "石药集团欧意药业有限公司", "盒", 30, None],  # blank: 片 or 缓释片?
    ["Y010", "注射用头孢曲松钠(罗氏芬)", "头孢曲松钠", "冻干粉针", "1.0g", "上海罗氏制药有限公司", "支", 1, None],
    ["Y011", "注射用头孢曲松钠", None, "注射用无菌粉末", "0.5g/支", "哈药集团制药总厂", "支", 1, None],  # a strength no winner has
    ["Y012", "注射用头孢曲松钠", None, None, "1g/支", "山东罗欣药业集团股份有限公司", "支", 1, None],  # blank 剂型
    ["Y013", "波立维", None, None, "75mg*7片", "赛诺菲（杭州）制药有限公司", "盒", 7, None],  # a trade name alone
    ["Y014", "络德", None, None, "5mg*7片", "上海现代制药股份有限公司", "盒", 7, None],  # a trade name no table knows
    ["Y015", "欣乐平", None, None, "30mg*7片", "某某制药有限公司", "盒", 7, None],  # another
    ["Y016", "康力宁", None, "片剂", "10mg*30片", "某某制药有限公司", "盒", 30, None],  # and one that is nothing of ours
    ["Y017", "阿托伐他汀钙片", None, "片剂", "20mg*7片", "乐普药业股份有限公司", "盒", 7, COPIED_CODE],
    ["Y018", "苯磺酸氨氯地平片", None, "片剂", "5mg*7片", "乐普药业股份有限公司", "盒", 7, COPIED_CODE],
]
TRUTH = {  # the group each item belongs to (None: not a VBP item), and whether it is the winning product
    "Y001": "阿托伐他汀|片", "Y002": "阿托伐他汀|片", "Y003": "硝苯地平|控释片", "Y004": "硝苯地平|控释片", "Y005": None,
    "Y006": "二甲双胍|缓释片", "Y007": "二甲双胍|缓释片", "Y008": "二甲双胍|片", "Y009": "二甲双胍|缓释片",
    "Y010": "头孢曲松|注射剂", "Y011": "头孢曲松|注射剂", "Y012": "头孢曲松|注射剂", "Y013": "氯吡格雷|片",
    "Y014": "氨氯地平|片", "Y015": "硝苯地平|控释片", "Y016": None, "Y017": "阿托伐他汀|片", "Y018": "氨氯地平|片",
}
IN_REVIEW = {"Y009", "Y014", "Y015", "Y016"}  # a blank form two groups fit; trade names no table knows


def _cli(cfg: Path, *argv: str) -> int:
    return main(["-c", str(cfg), *argv])


def _mapped(tmp_path: Path) -> dict[str, dict[str, Any]]:
    return _read(tmp_path, lambda conn: mappings.item_mappings(conn, "H1"))


def _his_export(path: Path) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "药品字典"
    ws.append(["示例医院药品字典（HIS导出）"])
    ws.append(HEADER)
    for row in DICTIONARY:
        ws.append(row)
    wb.save(path)
    return path


def test_a_messy_his_dictionary_is_grouped_reviewed_kept_listed_and_checked(cfg: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert _cli(cfg, "import", "winners", str(winners_xlsx(tmp_path / "中选.xlsx", WINNERS)), "--programme", "第十批",
                "--cycle-start", "2025-03-01", "--cycle-end", "2027-02-28", "--yes") == 0
    his = _his_export(tmp_path / "药品字典.xlsx")
    assert _cli(cfg, "map", "run", "--items", str(his)) == 0
    assert "待审核4" in capsys.readouterr().out
    m = _mapped(tmp_path)
    for code, group in TRUTH.items():  # every item not in review is in its group already; none guessed wrong
        if code not in IN_REVIEW:
            assert (m[code]["status"], m[code]["group_key"]) == ("none" if group is None else "auto", group), code
        else:
            assert m[code]["status"] == "review", code
    assert m["Y002"]["winning"] and not m["Y001"]["winning"]
    assert "“心痛定”是“硝苯地平”的旧称" in m["Y004"]["reason"] and "“波立维”是“硫酸氢氯吡格雷”" in m["Y013"]["reason"]
    assert "可能是片、缓释片" in m["Y009"]["reason"]

    # the review sheet: every item with its proposed group and reasons; the pharmacist decides four ways
    sheet = tmp_path / "对码审核.xlsx"
    assert _cli(cfg, "map", "export", str(sheet)) == 0
    wb = openpyxl.load_workbook(sheet)
    ws = wb["对码审核"]
    header = [c.value for c in ws[1]]
    col = {h: header.index(h) + 1 for h in ("院内编码", "对码依据", "建议分组", "候选1", "候选1说明", "候选2说明", "审核结论")}
    rows = {ws.cell(r, 1).value: r for r in range(2, ws.max_row + 1)}
    assert len(rows) == len(DICTIONARY) and all(ws.cell(r, col["对码依据"]).value for r in rows.values())
    assert ws.cell(rows["Y006"], col["建议分组"]).value == "二甲双胍|缓释片"
    y9 = rows["Y009"]
    assert ws.cell(y9, col["候选1说明"]).value.startswith("分组 二甲双胍|片；")
    assert ws.cell(y9, col["候选2说明"]).value.startswith("分组 二甲双胍|缓释片；")
    ws.cell(y9, col["审核结论"]).value = "非中选 候选2"
    assert "络活喜" in ws.cell(rows["Y014"], col["候选1说明"]).value  # suggested by strength, form and the like name
    ws.cell(rows["Y014"], col["建议分组"]).value = "苯磺酸氨氯地平片"  # the group edited, 审核结论 left blank
    ws.cell(rows["Y015"], col["审核结论"]).value = "非中选　硝苯地平 控释片"  # typed 通用名+剂型 (a full-width space)
    ws.cell(rows["Y016"], col["审核结论"]).value = "无关"
    wb.save(sheet)
    assert _cli(cfg, "map", "import", str(sheet)) == 0
    assert "已应用4条审核结论" in capsys.readouterr().out

    # the next run (the items job, or map run) keeps every decision; the dictionary is all in its groups
    assert _cli(cfg, "map", "run", "--items", str(his)) == 0
    assert "保留人工结论4" in capsys.readouterr().out
    m = _mapped(tmp_path)
    assert {code: m[code]["group_key"] for code in TRUTH} == TRUTH
    assert {code for code in TRUTH if m[code]["status"] == "reviewed"} == IN_REVIEW

    # who is in a group, typed as the pharmacist writes it
    assert _cli(cfg, "map", "list", "--group", "二甲双胍缓释片") == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "分组 二甲双胍|缓释片：3个品种"
    assert out.splitlines()[1].split()[:2] == ["院内编码", "院内名称"]
    assert [line.split()[0] for line in out.splitlines()[2:]] == ["Y006", "Y007", "Y009"]
    assert " 已审核 非中选 " in " ".join(out.splitlines()[4].split())

    # the groups that look wrong: the copied code (two molecules, two groups) and the 0.5g ceftriaxone
    assert _cli(cfg, "map", "check") == 1
    out = capsys.readouterr().out
    assert "发现4处可疑分组" in out
    assert "分组阿托伐他汀|片含两种药物（国家代码的通用名部分不同）" in out and "XC10AAX999：Y017" in out
    assert "分组氨氯地平|片含两种药物" in out
    assert f"国家代码{COPIED_CODE}的品种（Y017、Y018）分在不同分组：氨氯地平|片、阿托伐他汀|片" in out
    assert "分组头孢曲松|注射剂的非中选品种Y011（注射用头孢曲松钠）规格500mg，中选产品无此规格（1000mg）" in out
    assert _cli(cfg, "check") == 0  # `vbp-agent check` warns of the same groups without failing
    out = capsys.readouterr().out
    assert out.count("对码分组可疑（vbp-agent map check）") == 4 and "Y011" in out and COPIED_CODE in out
