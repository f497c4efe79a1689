"""A SQL Server HIS's material charges (材料收费明细): what each department charged patients for
consumables (医用耗材), the usage a consumable programme is measured by.

Assumed shape, as HIS products that bill consumables apart from drugs keep it: a material dictionary
(``mat_dict``, the 物资字典 with the 27-character 医保耗材代码 and the 注册证号) and one charge table,
one row per charged line; a refund (退费) is a row of negative quantity on the day it is refunded.
The patient columns exist and are never selected: the SQL aggregates inside the HIS. Configured as a
second ``[[sources]]`` block of kind ``his`` beside the drug HIS (``preset = "mssql_materials"``).
"""

from __future__ import annotations

from adapters.preset import Preset

_SETTING = "CASE f.visit_type WHEN 'I' THEN 'inpatient' WHEN 'E' THEN 'emergency' ELSE 'outpatient' END"

USAGE = f"""
SELECT f.fee_date AS day, f.mat_code AS item_code, f.order_dept_code AS dept_code, {_SETTING} AS setting,
       SUM(f.qty) AS quantity, SUM(f.amount) AS amount, COUNT(*) AS lines
FROM fee_mat_detail f
WHERE f.fee_date >= :day_from AND f.fee_date < :day_to_next
GROUP BY f.fee_date, f.mat_code, f.order_dept_code, {_SETTING}
"""

DAY_TOTALS = """
SELECT f.fee_date AS day, COUNT(*) AS lines, SUM(f.qty) AS quantity
FROM fee_mat_detail f
WHERE f.fee_date >= :day_from AND f.fee_date < :day_to_next
GROUP BY f.fee_date
"""

ITEMS = """
SELECT m.mat_code AS code, m.mat_name AS name, m.generic_name, m.mat_class AS dosage_form, m.spec_model AS spec,
       m.manufacturer, m.unit AS his_unit, m.pack_qty AS pack_factor, m.yb_code AS national_code, m.price,
       m.reg_no AS registration_no
FROM mat_dict m
"""

DDL = (
    "CREATE TABLE mat_dict (mat_code {text}(20) PRIMARY KEY, mat_name {text}(100) NOT NULL, generic_name {text}(60),"
    " mat_class {text}(40), spec_model {text}(100), manufacturer {text}(100), unit {text}(10), pack_qty {dec}(10,2),"
    " yb_code {text}(30), price {dec}(12,4), reg_no {text}(60), stop_flag CHAR(1))",
    "CREATE TABLE fee_mat_detail (fee_id BIGINT PRIMARY KEY, fee_date DATE NOT NULL, fee_time {ts} NOT NULL,"
    " mat_code {text}(20), order_dept_code {text}(20), exec_dept_code {text}(20), visit_type CHAR(1),"
    " patient_id {text}(32), patient_name {text}(40), qty {dec}(12,2) NOT NULL, unit {text}(10), price {dec}(12,4),"
    " amount {dec}(14,2) NOT NULL, barcode {text}(60))",
    "CREATE INDEX ix_fee_mat_detail_date ON fee_mat_detail (fee_date, mat_code, order_dept_code)",
)

PRESET = Preset(
    name="mssql_materials",
    kind="his",
    dialect="tsql",
    queries={"usage": USAGE, "day_totals": DAY_TOTALS, "items": ITEMS},
    ddl=DDL,
    index_tables=("fee_mat_detail",),
    item_kind="consumable",
)
