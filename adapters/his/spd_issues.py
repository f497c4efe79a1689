"""A warehouse's issue table (出库明细 / 科室领用): consumables issued to departments, the usage a
hospital without material charges in its HIS measures a consumable programme by.

Assumed shape, as SPD and 物资 systems keep it: a material dictionary (``wz_dict``, with the
27-character 医保耗材代码 and the 注册证号), issue bills (``wz_out_bill``: day, receiving department
and its type, 领用 ``1`` or 退库 ``2``, status ``2`` once issued) and their lines (``wz_out_detail``).
A return to the warehouse (科室退库) is a bill of type ``2`` and counts negative on its own day; a
draft or voided line never counts. A high-value line records the patient it was used on (跟台 /
条码); that column is never selected. Configured as a ``[[sources]]`` block of kind ``his``
(``preset = "spd_issues"``): it yields usage and items, as a HIS does.
"""

from __future__ import annotations

from adapters.preset import Preset

_SETTING = "CASE b.dept_type WHEN 'I' THEN 'inpatient' WHEN 'E' THEN 'emergency' ELSE 'outpatient' END"
_SIGN = "CASE WHEN b.out_type = '2' THEN -1 ELSE 1 END"
_ISSUED = ("b.out_date >= :day_from AND b.out_date < :day_to_next AND b.status = '2' AND d.del_flag = '0'"
           " AND b.out_type IN ('1', '2')")

USAGE = f"""
SELECT b.out_date AS day, d.wz_code AS item_code, b.to_dept_code AS dept_code, {_SETTING} AS setting,
       SUM({_SIGN} * d.qty) AS quantity, SUM({_SIGN} * d.amount) AS amount, COUNT(*) AS lines
FROM wz_out_bill b JOIN wz_out_detail d ON d.bill_id = b.bill_id
WHERE {_ISSUED}
GROUP BY b.out_date, d.wz_code, b.to_dept_code, {_SETTING}
"""

DAY_TOTALS = f"""
SELECT b.out_date AS day, COUNT(*) AS lines, SUM({_SIGN} * d.qty) AS quantity
FROM wz_out_bill b JOIN wz_out_detail d ON d.bill_id = b.bill_id
WHERE {_ISSUED}
GROUP BY b.out_date
"""

ITEMS = """
SELECT w.wz_code AS code, w.wz_name AS name, w.generic_name, w.wz_class AS dosage_form, w.spec_model AS spec,
       w.manufacturer, w.unit AS his_unit, w.pack_qty AS pack_factor, w.yb_code AS national_code, w.price,
       w.reg_no AS registration_no
FROM wz_dict w
"""

DDL = (
    "CREATE TABLE wz_dict (wz_code {text}(20) PRIMARY KEY, wz_name {text}(100) NOT NULL, generic_name {text}(60),"
    " wz_class {text}(40), spec_model {text}(100), manufacturer {text}(100), unit {text}(10), pack_qty {dec}(10,2),"
    " yb_code {text}(30), price {dec}(12,4), reg_no {text}(60), stop_flag CHAR(1))",
    "CREATE TABLE wz_out_bill (bill_id BIGINT PRIMARY KEY, bill_no {text}(30) NOT NULL, out_date DATE NOT NULL,"
    " out_time {ts} NOT NULL, out_type CHAR(1) NOT NULL, to_dept_code {text}(20), dept_type CHAR(1), status CHAR(1),"
    " operator {text}(20))",
    "CREATE INDEX ix_wz_out_bill_date ON wz_out_bill (out_date, bill_id)",
    "CREATE TABLE wz_out_detail (detail_id BIGINT PRIMARY KEY, bill_id BIGINT NOT NULL, wz_code {text}(20),"
    " qty {dec}(12,2) NOT NULL, unit {text}(10), unit_price {dec}(12,4), amount {dec}(14,2) NOT NULL, lot_no {text}(30),"
    " patient_no {text}(32), patient_name {text}(40), del_flag CHAR(1))",
    "CREATE INDEX ix_wz_out_detail_bill ON wz_out_detail (bill_id, wz_code)",
)

PRESET = Preset(
    name="spd_issues",
    kind="his",
    dialect="tsql",
    queries={"usage": USAGE, "day_totals": DAY_TOTALS, "items": ITEMS},
    ddl=DDL,
    index_tables=("wz_out_detail", "wz_out_bill"),
    item_kind="consumable",
)
