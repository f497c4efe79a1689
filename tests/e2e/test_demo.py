"""``make demo`` end to end: the four planted problems reach the pharmacy group (and no other rise),
nothing private leaks."""

from __future__ import annotations

import re

import pytest

from tests.e2e.demo_support import DemoRun


@pytest.mark.timeout(900)  # the demo alone takes about a minute and a half; several times that on a loaded machine
def test_the_demo_reports_the_four_planted_problems_and_leaks_no_patient_canary(demo_run: DemoRun) -> None:
    out = demo_run
    assert out.returncode == 0, out.stderr[-3000:]
    text = out.stdout
    assert "every job healthy" in text
    # 1. a product far behind its time progress (序时进度): by usage and by acceptance alike
    assert re.search(r"硫酸氢氯吡格雷片\s+[\d,]+\s+[\d,]+\s+[\d.]+%\s+[\d,]+\s+[\d.]+%\s+[\d.]+%\s+低于序时进度", text)
    # 2. the confirmation that would have been late, flagged before the 24-hour deadline
    assert re.search(r"严重：配送单 SHPLATE0001 验收后尚未完成平台到货确认，24小时时限剩余 [0-4]\.\d 小时", text)
    # 3. the non-winning rise, where it is: one product (立普妥) in one department (心血管内科, by its
    # dictionary name), with that cell's figures and the group's beside them; the only rise raised
    # (the quiet 国庆 holidays raise nothing) and no prescriber finding (the demo's HIS gives none)
    assert re.search(r"阿托伐他汀钙（片）：非中选产品使用量上升（近\d天），心血管内科：阿托伐他汀钙片\(立普妥\)[^，]* "
                     r"平时约 [\d,]+ 片/周，近(?:7日 [\d,]+ 片|[3-6]日 [\d,]+ 片（平时同期约 [\d,]+ 片）)，约 [\d.]+ 倍；全组非中选 \+\d+%", text)
    fired = text.split("5. 触发的预警")[1].split("6. 药学部")[0]
    assert len(re.findall(r"非中选产品使用量上升", fired)) == 1
    assert "医生" not in fired
    # 3b. 西力欣, 头孢呋辛酯片's one rival, dispensed nowhere from day 70 (10月12日): a notice, once, for that group
    # alone (一刀切停用); its winning product goes on
    assert re.findall(r"注意：(\S+?)：非中选产品自(\d+月\d+日)起全院零使用（此前约 [\d,]+ 片/周：([^）]+)），中选产品照常使用", fired) \
        == [("头孢呋辛酯（片）", "10月12日", "头孢呋辛酯片(西力欣) 0.25g*12片")], fired
    # 4. stock piling up: accepted well ahead of use, for the planted product and no other
    assert re.search(r"注意：奥美拉唑肠溶胶囊：按验收完成进度 [\d.]+%，按使用完成进度 [\d.]+%，相差 [\d.]+ 个百分点"
                     r"（验收多于使用：库存积压？）", text)
    assert set(re.findall(r"([^\s：*]+)：按验收完成进度 [\d.]+%，按使用", text)) == {"奥美拉唑肠溶胶囊"}
    table = {m[0]: (float(m[1]), float(m[2])) for m in re.findall(r"^  (\S+)\s+[\d,]+\s+[\d,]+\s+([\d.]+)%\s+[\d,]+\s+([\d.]+)%",
                                                                    text, re.M)}
    # 10 drugs and the stents (two 乐普 sizes share a name), each measured both ways
    assert len(table) == 12 and all(abs(a - u) < 10 for name, (u, a) in table.items() if name != "奥美拉唑肠溶胶囊")
    # the warehouse's few off-platform purchases stay within the 90% floor (80% for the stents): no 网采率 alert
    assert "网采率" not in text.split("11. 医保部门的其他报表")[0]
    # 5. the duty clocks (#20): one planted problem of each, printed once in section 10
    clocks = text.split("10. 时限与合规")[1]
    for planted in (r"\[订单未响应\] 华东医药配送有限公司 订单 DDRESP0001 .*已超时",
                    r"\[配送超时或短送\] 国药控股股份有限公司 配送 盐酸二甲双胍片已超时",
                    r"\[回款超时\] .*JS202608001.*已超时.*（未解决）",
                    r"\[线下采购备案超时\] 恩替卡韦片 .*某大药房.*已超时.*（未解决）",
                    r"\[采购价高于中选价或挂网价\] 厄贝沙坦片 .*某医药商贸有限公司.*2\.24 元，中选价 1\.87 元",
                    r"\[报量偏低\] 苯磺酸氨氯地平片 报量 [\d,]+：低于上一年度约定采购量"):
        assert len(re.findall(planted, clocks)) == 1, planted
    assert clocks.count("[线下采购备案超时]") == 1  # every other off-platform purchase was filed in time
    assert [name[-12:] for name in demo_run.reports] == ["2026-08.xlsx", "2026-09.xlsx", "2026-10.xlsx"]
    # 对码 of the HIS dictionary: the items written as real dictionaries write them (forms HIS-style, a
    # blank 剂型, former names, trade names alone) each in its group or 非集采, nothing left to review;
    # the map check flags the one planted strength no winning product has (甲福明片 0.25g) and nothing else
    assert re.search(r"9\. 对码 the HIS dictionary, \d+ items: 自动对码\d+，非集采\d+，待审核0", text)
    assert re.findall(r"([^\s，]+) (\d+)/(\d+) 分组正确", text) == [
        ("剂型写法", "6", "6"), ("剂型空白", "3", "3"), ("旧称俗称", "4", "4"), ("商品名", "5", "5")]
    assert "✗" not in text and "✓ Y00024 盐酸二甲双胍缓释片 → 非集采" in text and "✓ Y00032 菌必治 → 头孢曲松|注射剂" in text
    check = text.split("分组检查 map check：")[1].splitlines()[0]
    assert check.count("请确认分组") == 1 and "Y00033（甲福明片）规格250mg" in check
    # 11. the bureau's other tables: the consumable programme end to end and the month's clue report
    bureau = text.split("11. 医保部门的其他报表")[1].split("12. 药学部控制台")[0]
    for mapped in (r"对码 HC0001 .* → 中选产品：医保耗材代码（27位）一致（auto）",
                   r"对码 HC0002 .* → 中选产品：注册证号、规格型号一致（auto）",
                   r"对码 HC0003 .* → 中选产品：注册证号一致（中选产品不分规格型号）（auto）",
                   r"对码 HC0004 .* → 非中选（同组）：医保耗材代码的分类与通用名码与中选产品一致"):
        assert re.search(mapped, bureau), mapped
    assert re.search(r"药物洗脱冠脉支架系统 3\.5×24mm  约定 \d+ 个  已使用 \d+ 个  完成进度 [\d.]+%  序时进度 [\d.]+%  正常",
                     bureau)
    assert "带量执行报表：签约产品3，零采购0，低于序时进度0，超量0，正常3；对应非中选产品1，采购非中选1" in bureau
    rate = re.search(r"高值医用耗材网采率（2026-10）：([\d.]+)%（平台 [\d,.]+ 元 / 验收入库 [\d,.]+ 元，要求 ≥80%）", bureau)
    assert rate and 80 < float(rate[1]) < 100  # two stents bought off the platform, the rest on it
    clues = bureau.split("短缺违约线索 clue report for 2026-10")[1]
    # one planted clue of each type the clocks derive, each once
    assert re.findall(r"线索类型：(\S+?)；产品：(\S+?)；", clues) == [
        ("不响应采购订单", "瑞舒伐他汀钙片"), ("未按合同及时供应", "瑞舒伐他汀钙片"), ("未按合同及时供应", "盐酸二甲双胍片"),
        ("高于挂网价线下供应", "药物洗脱冠脉支架系统")]
    assert "某医疗器械经营部" in clues and "单价 560 元" in clues and "以上线索请医保部门依规核实处理" in clues
    assert (demo_run.workdir / "短缺违约线索-2026-10.txt").exists() and (demo_run.workdir / "短缺违约线索-2026-10.xlsx").exists()
    # patient identifiers planted in the simulated HIS never reach the store, the robot or the output
    state = (demo_run.workdir / "state.db").read_bytes()
    assert b"CANARY" not in state and "CANARY" not in text
    assert b"CANARY" in (demo_run.workdir / "hospital.sqlite").read_bytes()  # the canary was planted
