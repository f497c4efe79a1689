"""An Oracle-style HIS / prescription system (处方系统): prescription master and detail tables,
returns (退药) in their own table. Usage is by prescribing department, and by prescriber when
the source sets ``options.by_prescriber``.

``RX_DATE`` holds the prescription's day (its time is in ``RX_TIME``), as in many Oracle HIS
schemas; patient columns exist and are never selected.
"""

from __future__ import annotations

from adapters.preset import Preset

_SETTING = "CASE m.VISIT_TYPE WHEN '2' THEN 'inpatient' WHEN '3' THEN 'emergency' ELSE 'outpatient' END"

_LINES = f"""
  SELECT m.RX_DATE AS day, d.DRUG_CODE AS item_code, m.DEPT_CODE AS dept_code, {_SETTING} AS setting,
         m.DOCTOR_CODE AS prescriber_code, d.QUANTITY AS quantity, d.COSTS AS amount
  FROM RX_MASTER m JOIN RX_DETAIL d ON d.RX_NO = m.RX_NO
  WHERE m.RX_DATE >= :day_from AND m.RX_DATE < :day_to_next
  UNION ALL
  SELECT r.RETURN_DATE, r.DRUG_CODE, m.DEPT_CODE, {_SETTING}, m.DOCTOR_CODE, -r.QUANTITY, -r.COSTS
  FROM RX_RETURN r JOIN RX_MASTER m ON m.RX_NO = r.RX_NO
  WHERE r.RETURN_DATE >= :day_from AND r.RETURN_DATE < :day_to_next
"""

USAGE = f"""
SELECT u.day, u.item_code, u.dept_code, u.setting, SUM(u.quantity) AS quantity, SUM(u.amount) AS amount, COUNT(*) AS lines
FROM ({_LINES}) u
GROUP BY u.day, u.item_code, u.dept_code, u.setting
"""

USAGE_BY_PRESCRIBER = f"""
SELECT u.day, u.item_code, u.dept_code, u.setting, u.prescriber_code, SUM(u.quantity) AS quantity,
       SUM(u.amount) AS amount, COUNT(*) AS lines
FROM ({_LINES}) u
GROUP BY u.day, u.item_code, u.dept_code, u.setting, u.prescriber_code
"""

DAY_TOTALS = f"""
SELECT u.day, COUNT(*) AS lines, SUM(u.quantity) AS quantity
FROM ({_LINES}) u
GROUP BY u.day
"""

ITEMS = """
SELECT p.DRUG_CODE AS code, p.DRUG_NAME AS name, p.GENERIC_NAME AS generic_name, p.DOSE_FORM AS dosage_form,
       p.DRUG_SPEC AS spec, p.FIRM_NAME AS manufacturer, p.PACK_UNIT AS his_unit, p.PACK_QTY AS pack_factor,
       p.MI_CODE AS national_code, p.RETAIL_PRICE AS price
FROM PHA_DRUG_DICT p
"""

DEPARTMENTS = """
SELECT k.DEPT_ID AS code, k.DEPT_NAME AS name
FROM DEPT_INFO k
"""

# The 医保 interface log (医保接口日志) of the 进销存 uploads; assumed shape as in mssql_his. INPUT_JSON
# (the message body) is never selected: a 3505 sale line names the patient.
INSURANCE_UPLOADS = """
SELECT l.BUSI_DATE AS business_day, l.INFNO AS interface, l.MSGID AS attempt, l.INF_TIME AS uploaded_at,
       l.LINE_CNT AS lines, CASE WHEN l.INFCODE = '0' THEN 1 ELSE 0 END AS ok, l.ERR_MSG AS message
FROM INSU_UPLOAD_LOG l
WHERE l.BUSI_DATE >= :day_from AND l.BUSI_DATE < :day_to_next
  AND l.INFNO IN ('3501', '3502', '3503', '3504', '3505', '3506', '3507')
"""

DDL = (
    "CREATE TABLE PHA_DRUG_DICT (DRUG_CODE {text}(20) PRIMARY KEY, DRUG_NAME {text}(100) NOT NULL, GENERIC_NAME {text}(60),"
    " DOSE_FORM {text}(20), DRUG_SPEC {text}(60), FIRM_NAME {text}(100), PACK_UNIT {text}(10), PACK_QTY {dec}(10,2),"
    " MI_CODE {text}(30), RETAIL_PRICE {dec}(12,4))",
    "CREATE TABLE DEPT_INFO (DEPT_ID {text}(20) PRIMARY KEY, DEPT_NAME {text}(60) NOT NULL, DEPT_TYPE {text}(10),"
    " VALID_FLAG CHAR(1))",
    "CREATE TABLE RX_MASTER (RX_NO {text}(20) PRIMARY KEY, RX_DATE DATE NOT NULL, RX_TIME {ts} NOT NULL,"
    " DEPT_CODE {text}(20), DOCTOR_CODE {text}(20), VISIT_TYPE CHAR(1), PATIENT_ID {text}(32), PATIENT_NAME {text}(40),"
    " ID_CARD_NO {text}(18))",
    "CREATE INDEX IX_RX_MASTER_DATE ON RX_MASTER (RX_DATE, RX_NO)",
    "CREATE TABLE RX_DETAIL (RX_NO {text}(20) NOT NULL, ITEM_NO INTEGER NOT NULL, DRUG_CODE {text}(20),"
    " QUANTITY {dec}(12,2) NOT NULL, UNIT {text}(10), COSTS {dec}(14,2) NOT NULL, PRIMARY KEY (RX_NO, ITEM_NO))",
    "CREATE TABLE RX_RETURN (RETURN_NO {text}(20) PRIMARY KEY, RX_NO {text}(20) NOT NULL, ITEM_NO INTEGER,"
    " DRUG_CODE {text}(20), RETURN_DATE DATE NOT NULL, RETURN_TIME {ts}, QUANTITY {dec}(12,2) NOT NULL,"
    " COSTS {dec}(14,2) NOT NULL, PATIENT_ID {text}(32))",
    "CREATE INDEX IX_RX_RETURN_DATE ON RX_RETURN (RETURN_DATE)",
    "CREATE TABLE INSU_UPLOAD_LOG (LOG_ID BIGINT PRIMARY KEY, INFNO {text}(10) NOT NULL, MSGID {text}(40) NOT NULL,"
    " BUSI_DATE DATE NOT NULL, INF_TIME {ts} NOT NULL, LINE_CNT INTEGER, INFCODE {text}(10), ERR_MSG {text}(500),"
    " INPUT_JSON {text}(2000))",
    "CREATE INDEX IX_INSU_UPLOAD_LOG_DATE ON INSU_UPLOAD_LOG (BUSI_DATE, INFNO)",
)

PRESET = Preset(
    name="oracle_his",
    kind="his",
    dialect="oracle",
    queries={"usage": USAGE, "usage_by_prescriber": USAGE_BY_PRESCRIBER, "day_totals": DAY_TOTALS, "items": ITEMS,
             "departments": DEPARTMENTS,
             "insurance_uploads": INSURANCE_UPLOADS},
    ddl=DDL,
    index_tables=("RX_MASTER", "RX_DETAIL", "RX_RETURN"),
    line_id_is_int=False,
)
