"""Platform tables: delivery lines pulled from the platform, receipt matches, confirmation state,
and the link's own state (up or held back after a failure)."""

from __future__ import annotations

from sqlalchemy import Column, Float, Index, Integer, String, Table, Text

from agent.store.ddl import create_tables
from agent.store.types import AwareDateTime, Json, metadata

COMPONENT = "platform"

# 配送单明细, as the platform lists them. Quantities are decimal text (exact on every backend).
platform_delivery_lines = Table(
    "platform_delivery_lines",
    metadata,
    Column("hospital_code", String(32), primary_key=True),
    Column("delivery_id", String(64), primary_key=True),  # shpId
    Column("order_id", String(64)),
    Column("order_code", String(64)),
    Column("product_code", String(64), nullable=False),
    Column("product_name", Text),
    Column("lot", String(64)),
    Column("expiry", String(32)),
    Column("quantity", String(40), nullable=False),
    Column("shipped_at", AwareDateTime),
    Column("distributor_code", String(64)),
    Column("platform_updated_at", String(40)),
    Column("synced_at", AwareDateTime, nullable=False),
    Index("ix_platform_delivery_lines_product", "hospital_code", "product_code"),
)

# One row per accepted warehouse receipt line: how it was matched to a delivery line.
platform_receipts = Table(
    "platform_receipts",
    metadata,
    Column("hospital_code", String(32), primary_key=True),
    Column("receipt_line_id", String(100), primary_key=True),
    Column("item_code", String(64), nullable=False),
    Column("quantity", String(40), nullable=False),
    Column("lot", String(64)),
    Column("accepted_at", AwareDateTime, nullable=False),
    Column("delivery_id", String(64)),
    Column("status", String(16), nullable=False),  # matched | unmatched | conflict | withdrawn
    Column("method", String(16)),  # delivery_id | fuzzy
    Column("confidence", Float),
    Column("detail", Json),
    Column("updated_at", AwareDateTime, nullable=False),
    Index("ix_platform_receipts_status", "hospital_code", "status"),
)

# 到货确认: one per delivery line, its state mirrored from the outbox for staff and deadlines.
platform_confirmations = Table(
    "platform_confirmations",
    metadata,
    Column("hospital_code", String(32), primary_key=True),
    Column("delivery_id", String(64), primary_key=True),
    Column("receipt_line_id", String(100), nullable=False),
    Column("idem_key", String(200), nullable=False),
    Column("quantity", String(40), nullable=False),
    Column("shipped_quantity", String(40)),
    Column("accepted_at", AwareDateTime, nullable=False),
    Column("state", String(16), nullable=False),  # queued | confirmed | quarantined | withdrawn
    Column("enqueued_at", AwareDateTime, nullable=False),
    Column("confirmed_at", AwareDateTime),
    Column("attempts", Integer, nullable=False, default=0),
    Column("platform_message", Text),
    Index("ix_platform_confirmations_state", "hospital_code", "state", "accepted_at"),
)

# The link as a whole: held back after a link-level failure, with its own backoff.
platform_link = Table(
    "platform_link",
    metadata,
    Column("hospital_code", String(32), primary_key=True),
    Column("state", String(16), nullable=False),  # up | down
    Column("failures", Integer, nullable=False, default=0),
    Column("hold_until", AwareDateTime),
    Column("last_error", Text),
    Column("changed_at", AwareDateTime, nullable=False),
)


# 采购订单明细, as the platform lists them, with the distributor's response and delivery (#20).
platform_orders = Table(
    "platform_orders",
    metadata,
    Column("hospital_code", String(32), primary_key=True),
    Column("order_id", String(64), primary_key=True),  # ordDetlId
    Column("order_code", String(64)),
    Column("product_code", String(64)),
    Column("product_name", Text),
    Column("distributor_code", String(64)),
    Column("distributor_name", Text),
    Column("quantity", String(40)),
    Column("price", String(40)),
    Column("listed_price", String(40)),
    Column("ordered_at", AwareDateTime, nullable=False),
    Column("responded_at", AwareDateTime),
    Column("delivered_quantity", String(40)),
    Column("delivered_at", AwareDateTime),
    Column("platform_updated_at", String(40)),
    Column("synced_at", AwareDateTime, nullable=False),
    Index("ix_platform_orders_ordered", "hospital_code", "ordered_at"),
)

# 结算单 / 账单 from the distributors, with the hospital's check (对账上传) and payment (回款).
platform_bills = Table(
    "platform_bills",
    metadata,
    Column("hospital_code", String(32), primary_key=True),
    Column("bill_id", String(64), primary_key=True),
    Column("distributor_code", String(64)),
    Column("distributor_name", Text),
    Column("amount", String(40), nullable=False),
    Column("accepted_at", AwareDateTime, nullable=False),
    Column("issued_at", AwareDateTime),
    Column("checked_at", AwareDateTime),
    Column("paid_at", AwareDateTime),
    Column("platform_updated_at", String(40)),
    Column("synced_at", AwareDateTime, nullable=False),
    Index("ix_platform_bills_accepted", "hospital_code", "accepted_at"),
)

# 线下采购备案: the filing of an off-platform receipt line, recorded by staff (or read from the platform).
offplatform_filings = Table(
    "offplatform_filings",
    metadata,
    Column("hospital_code", String(32), primary_key=True),
    Column("receipt_line_id", String(100), primary_key=True),
    Column("reference", String(100)),  # the filing's number (备案号)
    Column("filed_by", String(100)),
    Column("filed_at", AwareDateTime),
    Column("emergency", Integer, nullable=False, default=0),  # 紧急采购: allowed, filed afterwards
    Column("recorded_at", AwareDateTime, nullable=False),
)

# Items the notices exempt from 网采率 and filing: 麻醉/精神药品, 医疗机构制剂 (from review or the HIS).
item_exemptions = Table(
    "item_exemptions",
    metadata,
    Column("hospital_code", String(32), primary_key=True),
    Column("item_code", String(64), primary_key=True),
    Column("reason", String(32), nullable=False),  # narcotic | psychotropic | preparation
    Column("source", String(16), nullable=False),  # his | review
    Column("recorded_at", AwareDateTime, nullable=False),
)


def _v1(conn) -> None:  # type: ignore[no-untyped-def]
    create_tables(conn, [platform_delivery_lines, platform_receipts, platform_confirmations, platform_link])


def _v2(conn) -> None:  # type: ignore[no-untyped-def]
    create_tables(conn, [platform_orders, platform_bills, offplatform_filings, item_exemptions])


MIGRATIONS = [_v1, _v2]
