"""A warehouse correction to a receipt that was already matched (the warehouse rewrites rows).

Before the confirmation is sent, a new accepted quantity simply replaces the queued one (signing
happens at send time, so nothing stale leaves). A receipt deleted or withdrawn before sending has
its confirmation quarantined. After the platform has accepted the confirmation, the agent cannot
take it back: a finding asks staff to check the platform (到货确认后入库记录被修改).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select, update

from agent.domain.findings import Finding, Severity
from agent.domain.model import Receipt
from agent.store import outbox
from agent.store.schema.core import outbox as outbox_table
from agent.store.schema.platform import platform_confirmations as pc
from agent.store.schema.platform import platform_receipts as pr
from agent.store.findings import write_findings

RULE_CHANGED = "platform.receipt_changed"
CHANNEL = "platform:confirm"


def apply_correction(conn: Connection, hospital: str, r: Receipt, previous: Any, withdrawn: bool, now: datetime) -> None:
    """``previous`` is the stored platform_receipts row of ``r`` (status matched)."""
    old_qty = Decimal(previous.quantity)
    if not withdrawn and old_qty == r.quantity:
        return  # a re-read: nothing changed
    conf = conn.execute(select(pc).where(pc.c.hospital_code == hospital, pc.c.delivery_id == previous.delivery_id)).first()
    if conf is None:
        return
    row = conn.execute(select(outbox_table.c.id, outbox_table.c.payload).where(
        outbox_table.c.hospital_code == hospital, outbox_table.c.channel == CHANNEL,
        outbox_table.c.idem_key == conf.idem_key, outbox_table.c.status == "pending")).first()
    shipped = Decimal(conf.shipped_quantity) if conf.shipped_quantity is not None else None
    key_pr = (pr.c.hospital_code == hospital) & (pr.c.receipt_line_id == r.line_id)
    key_pc = (pc.c.hospital_code == hospital) & (pc.c.delivery_id == conf.delivery_id)
    if row is not None and not withdrawn and (shipped is None or r.quantity <= shipped):
        payload = {**row.payload, "delivery_id": conf.delivery_id, "quantity": str(r.quantity),
                   "accepted_at": conf.accepted_at.isoformat(), "receipt_line_id": r.line_id}
        conn.execute(update(outbox_table).where(outbox_table.c.id == row.id).values(payload=payload))
        conn.execute(pc.update().where(key_pc).values(quantity=str(r.quantity)))
        conn.execute(pr.update().where(key_pr).values(quantity=str(r.quantity), updated_at=now))
        return
    if row is not None:
        message = "入库记录已被库房删除或撤销，到货确认未发送" if withdrawn else f"验收数量改为 {r.quantity}，超过配送数量 {shipped}"
        outbox.quarantine(conn, row.id, now, message)
        conn.execute(pc.update().where(key_pc).values(state="withdrawn" if withdrawn else "quarantined",
                                                      platform_message=message))
        what = message
    else:
        now_qty = "已删除" if withdrawn else str(r.quantity)
        what = f"到货确认已按数量 {conf.quantity} 提交，库房入库记录现为 {now_qty}，请在平台核对"
    conn.execute(pr.update().where(key_pr).values(status="withdrawn" if withdrawn else "matched",
                                                  quantity=str(r.quantity), updated_at=now))
    write_findings(conn, hospital, [Finding(
        rule=RULE_CHANGED, subject=r.line_id, severity=Severity.WARNING, observed_at=now,
        title=f"配送单 {conf.delivery_id}（入库明细 {r.line_id}）：{what}",
        values={"confirmed_quantity": conf.quantity, "warehouse_quantity": None if withdrawn else str(r.quantity)},
        evidence={"delivery_id": conf.delivery_id, "state": conf.state}, labels={"area": "platform", "kind": "arrival_confirmation"},
    )], now)
