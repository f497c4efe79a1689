"""A warehouse correction to a receipt that was already matched (the warehouse rewrites rows).

Before the confirmation is sent, a new accepted quantity simply replaces the queued one (signing
happens at send time, so nothing stale leaves). A receipt deleted or withdrawn before sending has
its confirmation quarantined; one the platform had refused is simply withdrawn. Either way its
``platform.confirm_late`` finding (and the refusal's) is resolved at once: there is nothing left to confirm. After the platform has accepted the confirmation, the agent cannot
take it back: a finding asks staff to check the platform (到货确认后入库记录被修改).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from agent.domain.findings import Finding, Severity
from agent.domain.model import Receipt
from agent.store import Tx, outbox
from agent.store import platform as repo
from agent.store.findings import resolve_finding, write_findings
from agent.upstream.deadlines import RULE_LATE
from agent.upstream.drain import RULE_REJECTED

RULE_CHANGED = "platform.receipt_changed"
CHANNEL = "platform:confirm"


def apply_correction(conn: Tx, hospital: str, r: Receipt, previous: repo.ReceiptStatus, withdrawn: bool,
                     now: datetime) -> None:
    """``previous`` is how ``r`` was stored (status matched)."""
    old_qty = Decimal(previous.quantity)
    if not withdrawn and old_qty == r.quantity:
        return  # a re-read: nothing changed
    conf = repo.confirmation(conn, hospital, previous.delivery_id) if previous.delivery_id is not None else None
    if conf is None:
        return
    row = outbox.pending_item(conn, hospital, CHANNEL, conf.idem_key)
    if withdrawn and row is None and conf.state != "confirmed":  # the platform refused it, and now there is nothing to confirm
        repo.stop_confirmation(conn, hospital, conf.delivery_id, "withdrawn", "入库记录已被库房撤销，到货确认不再发送")
        repo.update_receipt(conn, hospital, r.line_id, now, status="withdrawn", quantity=r.quantity)
        resolve_finding(conn, hospital, RULE_LATE, r.line_id, now)
        resolve_finding(conn, hospital, RULE_REJECTED, conf.idem_key, now)
        return
    shipped = Decimal(conf.shipped_quantity) if conf.shipped_quantity is not None else None
    if row is not None and not withdrawn and (shipped is None or r.quantity <= shipped):
        payload = {**row.payload, "delivery_id": conf.delivery_id, "quantity": str(r.quantity),
                   "accepted_at": conf.accepted_at.isoformat(), "receipt_line_id": r.line_id}
        outbox.replace_payload(conn, row.id, payload)
        repo.correct_confirmation(conn, hospital, conf.delivery_id, r.quantity)
        repo.update_receipt(conn, hospital, r.line_id, now, quantity=r.quantity)
        return
    if row is not None:
        message = "入库记录已被库房删除或撤销，到货确认未发送" if withdrawn else f"验收数量改为 {r.quantity}，超过配送数量 {shipped}"
        outbox.quarantine(conn, row.id, now, message)
        repo.stop_confirmation(conn, hospital, conf.delivery_id, "withdrawn" if withdrawn else "quarantined", message)
        what = message
    else:
        now_qty = "已删除" if withdrawn else str(r.quantity)
        what = f"到货确认已按数量 {conf.quantity} 提交，库房入库记录现为 {now_qty}，请在平台核对"
    repo.update_receipt(conn, hospital, r.line_id, now, status="withdrawn" if withdrawn else "matched",
                        quantity=r.quantity)
    if withdrawn:
        resolve_finding(conn, hospital, RULE_LATE, r.line_id, now)
    write_findings(conn, hospital, [Finding(
        rule=RULE_CHANGED, subject=r.line_id, severity=Severity.WARNING, observed_at=now,
        title=f"配送单 {conf.delivery_id}（入库明细 {r.line_id}）：{what}",
        values={"confirmed_quantity": conf.quantity, "warehouse_quantity": None if withdrawn else str(r.quantity)},
        evidence={"delivery_id": conf.delivery_id, "state": conf.state}, labels={"area": "platform", "kind": "arrival_confirmation"},
    )], now)
