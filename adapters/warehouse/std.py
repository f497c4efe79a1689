"""A SQL Server-style warehouse (药库 / 物资库房): 入库单 master and detail, with the acceptance
time (验收时间), the distributor's delivery-note number (配送单号), the platform's delivery line
and order ids where the warehouse records them, and a soft-delete flag.

Read by keyset cursor on the detail's ``modify_time`` and ``detail_id`` (an index serves it).
"""

from __future__ import annotations

from adapters.preset import Preset

RECEIPTS = """
SELECT TOP (:limit)
       d.detail_id AS line_id, d.modify_time AS changed_at, d.item_code, d.qty AS quantity, d.unit,
       d.lot_no AS lot, d.expire_date AS expiry, m.supplier_name AS distributor, m.accept_time AS accepted_at,
       d.plat_delivery_id AS delivery_id, d.plat_order_id AS order_id, m.invoice_no, d.unit_price,
       m.is_platform AS on_platform, d.del_flag AS deleted, m.delivery_note_no, m.bill_no AS receipt_no
FROM in_bill_detail d
JOIN in_bill m ON m.bill_id = d.bill_id
WHERE (d.modify_time > :since_ts OR (d.modify_time = :since_ts AND d.detail_id > :since_id))
  AND d.modify_time <= :until
ORDER BY d.modify_time, d.detail_id
"""

DDL = (
    "CREATE TABLE in_bill (bill_id BIGINT PRIMARY KEY, bill_no {text}(30) NOT NULL, supplier_code {text}(30),"
    " supplier_name {text}(100), delivery_note_no {text}(40), invoice_no {text}(40), accept_time {ts},"
    " accept_user {text}(20), is_platform CHAR(1), status CHAR(1), create_time {ts}, modify_time {ts})",
    "CREATE TABLE in_bill_detail (detail_id BIGINT PRIMARY KEY, bill_id BIGINT NOT NULL, item_code {text}(20),"
    " qty {dec}(12,2), unit {text}(10), lot_no {text}(40), expire_date DATE, unit_price {dec}(12,4),"
    " amount {dec}(14,2), plat_delivery_id {text}(40), plat_order_id {text}(40), del_flag CHAR(1) NOT NULL,"
    " modify_time {ts} NOT NULL)",
    "CREATE INDEX ix_in_bill_detail_modify ON in_bill_detail (modify_time, detail_id)",
)

PRESET = Preset(
    name="warehouse_std",
    kind="warehouse",
    dialect="tsql",
    queries={"receipts": RECEIPTS},
    ddl=DDL,
    index_tables=("in_bill_detail",),
)
