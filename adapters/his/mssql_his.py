"""A SQL Server-style HIS: separate outpatient (门诊) and inpatient (住院) dispensing tables,
returns (退药) written as negative rows on the day of the return.

Patient columns exist in the tables (the simulator fills them) and are never selected: the usage
SQL aggregates inside the HIS.
"""

from __future__ import annotations

from adapters.preset import Preset

USAGE = """
SELECT o.disp_date AS day, o.drug_code AS item_code, o.dept_code AS dept_code,
       CASE WHEN o.visit_type = 'E' THEN 'emergency' ELSE 'outpatient' END AS setting,
       SUM(o.qty) AS quantity, SUM(o.amount) AS amount, COUNT(*) AS lines
FROM op_dispense o
WHERE o.disp_date >= :day_from AND o.disp_date < :day_to_next
GROUP BY o.disp_date, o.drug_code, o.dept_code, CASE WHEN o.visit_type = 'E' THEN 'emergency' ELSE 'outpatient' END
UNION ALL
SELECT i.disp_date, i.drug_code, i.dept_code, 'inpatient', SUM(i.qty), SUM(i.amount), COUNT(*)
FROM ip_dispense i
WHERE i.disp_date >= :day_from AND i.disp_date < :day_to_next
GROUP BY i.disp_date, i.drug_code, i.dept_code
"""

DAY_TOTALS = """
SELECT t.day, SUM(t.lines) AS lines, SUM(t.quantity) AS quantity
FROM (
  SELECT o.disp_date AS day, COUNT(*) AS lines, SUM(o.qty) AS quantity
  FROM op_dispense o WHERE o.disp_date >= :day_from AND o.disp_date < :day_to_next GROUP BY o.disp_date
  UNION ALL
  SELECT i.disp_date, COUNT(*), SUM(i.qty)
  FROM ip_dispense i WHERE i.disp_date >= :day_from AND i.disp_date < :day_to_next GROUP BY i.disp_date
) t
GROUP BY t.day
"""

ITEMS = """
SELECT d.drug_code AS code, d.drug_name AS name, d.generic_name, d.dosage_form, d.spec, d.manufacturer,
       d.his_unit, d.pack_qty AS pack_factor, d.nhsa_code AS national_code, d.retail_price AS price
FROM drug_dict d
"""

DEPARTMENTS = """
SELECT k.dept_code AS code, k.dept_name AS name
FROM dept_dict k
"""

# The 医保 interface log (医保接口日志) of the 进销存 uploads. Assumed shape: one row per call with
# its 交易编号, 报文ID, business day, time, line count and the platform's answer. The message body
# (in_param) is never selected: a 3505 sale line names the patient.
INSURANCE_UPLOADS = """
SELECT l.biz_date AS business_day, l.infno AS interface, l.msgid AS attempt, l.inf_time AS uploaded_at,
       l.row_count AS lines, CASE WHEN l.infcode = '0' THEN 1 ELSE 0 END AS ok, l.err_msg AS message
FROM yb_upload_log l
WHERE l.biz_date >= :day_from AND l.biz_date < :day_to_next
  AND l.infno IN ('3501', '3502', '3503', '3504', '3505', '3506', '3507')
"""

DDL = (
    "CREATE TABLE drug_dict (drug_code {text}(20) PRIMARY KEY, drug_name {text}(100) NOT NULL, generic_name {text}(60),"
    " dosage_form {text}(20), spec {text}(60), manufacturer {text}(100), his_unit {text}(10), pack_qty {dec}(10,2),"
    " nhsa_code {text}(30), retail_price {dec}(12,4), stop_flag CHAR(1))",
    "CREATE TABLE dept_dict (dept_code {text}(20) PRIMARY KEY, dept_name {text}(60) NOT NULL, dept_type CHAR(1),"
    " stop_flag CHAR(1))",
    "CREATE TABLE op_dispense (disp_id BIGINT PRIMARY KEY, disp_date DATE NOT NULL, disp_time {ts} NOT NULL,"
    " drug_code {text}(20), dept_code {text}(20), doctor_code {text}(20), visit_type CHAR(1), patient_id {text}(32),"
    " patient_name {text}(40), qty {dec}(12,2) NOT NULL, unit {text}(10), amount {dec}(14,2) NOT NULL)",
    "CREATE INDEX ix_op_dispense_date ON op_dispense (disp_date, drug_code, dept_code)",
    "CREATE TABLE ip_dispense (disp_id BIGINT PRIMARY KEY, disp_date DATE NOT NULL, disp_time {ts} NOT NULL,"
    " drug_code {text}(20), dept_code {text}(20), inpatient_no {text}(32), patient_name {text}(40), bed_no {text}(10),"
    " qty {dec}(12,2) NOT NULL, unit {text}(10), amount {dec}(14,2) NOT NULL)",
    "CREATE INDEX ix_ip_dispense_date ON ip_dispense (disp_date, drug_code, dept_code)",
    "CREATE TABLE yb_upload_log (log_id BIGINT PRIMARY KEY, infno {text}(10) NOT NULL, msgid {text}(40) NOT NULL,"
    " biz_date DATE NOT NULL, inf_time {ts} NOT NULL, row_count INTEGER, infcode {text}(10), err_msg {text}(500),"
    " in_param {text}(2000))",
    "CREATE INDEX ix_yb_upload_log_date ON yb_upload_log (biz_date, infno)",
)

PRESET = Preset(
    name="mssql_his",
    kind="his",
    dialect="tsql",
    queries={"usage": USAGE, "day_totals": DAY_TOTALS, "items": ITEMS, "departments": DEPARTMENTS,
             "insurance_uploads": INSURANCE_UPLOADS},
    ddl=DDL,
    index_tables=("op_dispense", "ip_dispense"),
)
