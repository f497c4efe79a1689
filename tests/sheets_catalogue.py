"""Ugly spreadsheets as the bureau sends them, written by the tests (openpyxl for xlsx, xlwt for xls)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

WINNER_HEADER = ["序号", "药品通用名", "剂型", "规格包装", "转换比", "生产企业", "国家医保药品代码", "中选价格（元）"]
WINNER_ROWS: list[list[Any]] = [
    [1, "阿托伐他汀钙片", "片剂", "10mg×28片", 28, "北京嘉林药业股份有限公司", "XC10AAA0001010100001001", "5.6"],
    [2, "硫酸氢氯吡格雷片", "片剂", "75mg×7片", "７", "深圳信立泰药业股份有限公司", None, "１２.30"],
    [3, "  注射用头孢曲松钠 ", "注射剂", "1.0g", 1, "齐鲁制药有限公司", None, 2.15],
    [4, "盐酸二甲双胍片", "片剂", "0.5g*20片", "20", "石药集团欧意药业有限公司", None, "0.9"],
]


def winners_xlsx(path: Path, rows: list[list[Any]] | None = None, *, title: bool = True, notes: bool = True,
                 header: list[str] | None = None, blank_rows: bool = True) -> Path:
    """Title rows above the header, a merged title, blank rows inside, notes at the bottom."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "附件4"
    if title:
        ws.append(["第十批国家组织药品集中采购中选结果"])
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=8)
        ws.append(["填报单位：", None, None, None, None, "日期：2025-01-01"])
    ws.append(header or WINNER_HEADER)
    for i, row in enumerate(rows if rows is not None else WINNER_ROWS):
        ws.append(row)
        if blank_rows and i == 1:
            ws.append([None] * 8)
    if notes:
        ws.append([])
        ws.append(["注：1.中选价格为最小包装单位价格；2.转换比为每盒最小制剂单位数。"])
        ws.merge_cells(start_row=ws.max_row, start_column=1, end_row=ws.max_row, end_column=8)
        ws.append(["备注：本表由医保局提供"])
    wb.save(path)
    return path


def winners_xls(path: Path, rows: list[list[Any]] | None = None) -> Path:
    import xlwt

    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("中选结果")
    ws.write_merge(0, 0, 0, 7, "省际联盟集中带量采购中选结果")
    for j, h in enumerate(["序号", "通用名", "剂型", "规格", "包装数量", "生产厂家", "医保代码", "中选价"]):
        ws.write(1, j, h)
    for i, row in enumerate(rows if rows is not None else WINNER_ROWS, start=2):
        for j, v in enumerate(row):
            if v is not None:
                ws.write(i, j, v)
    wb.save(str(path))
    return path


def winners_csv(path: Path, encoding: str = "gbk") -> Path:
    lines = ["产品名称,规格,生产企业,医保代码,中选价", "阿托伐他汀钙片,10mg×28片,北京嘉林药业股份有限公司,,5.6",
             "硫酸氢氯吡格雷片,75mg×7片,深圳信立泰药业股份有限公司,,12.3"]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


def volumes_xlsx(path: Path, rows: list[list[Any]], header: list[str] | None = None) -> Path:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "附件5"
    ws.append(["各医疗机构约定采购量"])
    ws.merge_cells("A1:F1")
    ws.append(header or ["医疗机构代码", "医疗机构名称", "通用名", "规格", "生产企业", "约定采购量（最小制剂单位）"])
    for row in rows:
        ws.append(row)
    ws.append(["合计", None, None, None, None, 99999])
    wb.save(path)
    return path


def bureau_xlsx(path: Path, header: list[str], rows: list[list[Any]], *, title: str = "吉林省药品集中带量采购协议采购量") -> Path:
    """A sheet as a bureau sends it: a merged title, a merged line of who and when, the header on
    row 3, then the rows, and below them a merged 注, blank rows, the source of the data merged
    across the row and a line of labels (填表人 / 联系电话)."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "附件6"
    width = len(header)
    ws.append([title])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    ws.append(["填报单位：吉林省医疗保障局医药价格和招标采购处        2024年3月"])
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=width)
    ws.append(header)
    for row in rows:
        ws.append(row)
    ws.append(["注：1.约定采购量按各医疗机构报送需求量的70%确定；2.价格含配送费用。"])
    ws.merge_cells(start_row=ws.max_row, start_column=1, end_row=ws.max_row, end_column=width)
    ws.append([])
    ws.append([])
    ws.append(["本表数据由省药品和医用耗材集中采购平台导出，如有疑问请联系平台客服"])
    ws.merge_cells(start_row=ws.max_row, start_column=1, end_row=ws.max_row, end_column=width)
    ws.append(["填表人：王丽", None, "联系电话：0431-88905123", None, "审核：李强"])
    ws.append(["吉林省医疗保障局"])
    wb.save(path)
    return path
