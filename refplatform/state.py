"""The reference platform's memory: apps, tokens, delivery notes, orders, bills, confirmations, reports.

Every answer is ``(code, message, data)`` with the codes of ``agent.upstream.profiles.CODE_KIND``
(kept in step by the tests). A delivery line is confirmed at most once, whatever arrives.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

BEIJING = ZoneInfo("Asia/Shanghai")

OK = ("0", "成功")
LIST_KEYS = {"deliveries": "shpId", "orders": "ordDetlId", "bills": "stmtId"}  # each list's line key
PATIENT_FIELDS = ("psn_no", "patient", "patient_id", "id_card", "mdtrt_id", "certno", "psn_name")


@dataclass
class Confirmation:
    shp_id: str
    quantity: str
    accepted_at: str | None
    idem_key: str | None
    seq: int
    at: float


@dataclass
class PlatformState:
    apps: dict[str, str] = field(default_factory=dict)  # app key -> secret
    token_ttl_s: float = 3600.0
    auth_codes: dict[str, str] = field(default_factory=dict)  # Zhejiang appCode -> authCode
    tokens: dict[str, tuple[str, float]] = field(default_factory=dict)
    deliveries: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (medins, shpId) -> line
    orders: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (medins, ordDetlId) -> line
    bills: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (medins, stmtId) -> bill
    confirmations: dict[tuple[str, str], Confirmation] = field(default_factory=dict)
    reports: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    confirm_attempts: int = 0
    double_confirm_refused: int = 0
    lock: threading.RLock = field(default_factory=threading.RLock)

    # -- tokens ---------------------------------------------------------------------------------
    def issue_token(self, app_key: str) -> dict[str, Any]:
        token = secrets.token_urlsafe(24)
        with self.lock:
            self.tokens[token] = (app_key, time.monotonic() + self.token_ttl_s)
        return {"accessToken": token, "expiresIn": int(self.token_ttl_s)}

    def token_valid(self, token: str | None, app_key: str) -> bool:
        with self.lock:
            entry = self.tokens.get(token or "")
            return entry is not None and entry[0] == app_key and entry[1] > time.monotonic()

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens = {t: (k, 0.0) for t, (k, _) in self.tokens.items()}

    # -- delivery notes (配送单) -----------------------------------------------------------------
    def seed(self, medins: str, line: dict[str, Any], kind: str = "deliveries") -> None:
        """Add or replace a line of ``kind`` (deliveries, orders, bills); a replaced line keeps its
        creation order and takes a new update time."""
        key = LIST_KEYS[kind]
        stamp = line.get("updtTime") or line.get("shppTime") or datetime.now().astimezone().isoformat()
        line = {**line, key: str(line[key]), "updtTime": stamp}
        table = getattr(self, kind)
        with self.lock:
            old = table.get((medins, line[key]))
            line["_seq"] = old["_seq"] if old else len(table) + 1  # creation order (Shanghai's cursor)
            table[(medins, line[key])] = line

    def list_deliveries(self, medins: str, since: str | None, after: str | None, size: int,
                        kind: str = "deliveries") -> dict[str, Any]:
        """Lines of ``kind`` updated since ``since`` (after the line ``after`` at that time), oldest first."""
        since_dt = datetime.fromisoformat(since) if since else None
        id_key = LIST_KEYS[kind]

        def key(line: dict[str, Any]) -> tuple[datetime, str]:
            return datetime.fromisoformat(line["updtTime"]), line[id_key]

        with self.lock:
            lines = [ln for (m, _), ln in getattr(self, kind).items() if m == medins]
        lines.sort(key=key)
        if since_dt is not None:
            lines = [ln for ln in lines if (key(ln) > (since_dt, after) if after else key(ln)[0] >= since_dt)]
        size = max(1, min(int(size or 100), 1000))
        return {"list": lines[:size], "more": len(lines) > size}

    def by_creation(self, medins: str, kind: str, after: str, keep: Any = None) -> list[dict[str, Any]]:
        """Lines of ``kind`` in creation order after the line ``after`` (Shanghai's cursor)."""
        table = getattr(self, kind)
        with self.lock:
            lines = sorted((ln for (m, _), ln in table.items() if m == medins and (keep is None or keep(ln))),
                           key=lambda ln: ln.get("_seq", 0))
            seq = table.get((medins, after), {}).get("_seq") if after else None
        return [ln for ln in lines if ln.get("_seq", 0) > seq] if seq is not None else lines

    def window(self, medins: str, start: str | None, end: str | None, current: int, size: int,
               kind: str = "deliveries") -> dict[str, Any]:
        """Zhejiang's ZJ9671 (ZJ9670 for orders): lines updated in [start, end], page ``current``
        (1-based) of ``size``."""
        def at(text: str | None) -> datetime | None:
            return datetime.strptime(text, "%Y-%m-%d %H:%M:%S") if text else None

        lo, hi = at(start), at(end)
        id_key = LIST_KEYS[kind]
        with self.lock:
            lines = [ln for (m, _), ln in getattr(self, kind).items() if m == medins]
        def local(text: str) -> datetime:  # the platform's clock is Beijing time
            value = datetime.fromisoformat(text)
            return value.astimezone(BEIJING).replace(tzinfo=None) if value.tzinfo else value

        stamp = {id(ln): local(ln["updtTime"]) for ln in lines}
        lines = sorted((ln for ln in lines if (lo is None or stamp[id(ln)] >= lo) and (hi is None or stamp[id(ln)] <= hi)),
                       key=lambda ln: (stamp[id(ln)], ln[id_key]))
        size = max(1, min(int(size or 100), 1000))
        pages = (len(lines) + size - 1) // size
        return {"current": current, "size": size, "total": len(lines), "totalPageCount": pages,
                "dataList": lines[(current - 1) * size: current * size]}


    # -- 到货确认 ---------------------------------------------------------------------------------
    def confirm(self, medins: str, items: list[dict[str, Any]], idem_key: str | None) -> tuple[str, str, Any]:
        with self.lock:
            self.confirm_attempts += 1
            checked = []
            for item in items or []:
                shp = str(item.get("shpId"))
                line = self.deliveries.get((medins, shp))
                if line is None:
                    return "2001", f"配送单{shp}不存在", None
                try:
                    qty = Decimal(str(item.get("shppCnt")))
                except InvalidOperation:
                    return "2002", f"配送单{shp}到货数量无效", None
                if qty <= 0 or qty > Decimal(str(line["shpCnt"])):
                    return "2002", f"配送单{shp}到货数量{qty}大于配送数量{line['shpCnt']}", None
                if (medins, shp) in self.confirmations:
                    self.double_confirm_refused += 1
                    return "2003", f"配送单{shp}已确认到货，不能重复确认", None
                checked.append((shp, str(qty), item.get("acpTime")))
            if not checked:
                return "2001", "确认明细为空", None
            for shp, qty, at in checked:
                seq = len(self.confirmations) + 1
                self.confirmations[(medins, shp)] = Confirmation(shp, qty, at, idem_key, seq, time.monotonic())
            return OK[0], OK[1], {"confirmed": [shp for shp, _, _ in checked]}

    # -- 报表上传 ---------------------------------------------------------------------------------
    def upload_report(self, medins: str, data: dict[str, Any]) -> tuple[str, str, Any]:
        month = str(data.get("month") or "")
        for row in data.get("items") or []:
            bad = [k for k in row if k.lower() in PATIENT_FIELDS]
            if bad:
                return "2004", f"上报数据含患者信息字段{','.join(bad)}，拒收", None
        with self.lock:
            self.reports[(medins, month)] = data
        return OK[0], OK[1], {"month": month, "rows": len(data.get("items") or [])}

    def summary(self) -> dict[str, Any]:
        with self.lock:
            confirmed = sorted(self.confirmations.values(), key=lambda c: c.seq)
            return {
                "deliveries": len(self.deliveries),
                "confirmations": [{"shpId": c.shp_id, "quantity": c.quantity, "seq": c.seq} for c in confirmed],
                "confirm_attempts": self.confirm_attempts,
                "double_confirm_refused": self.double_confirm_refused,
                "reports": sorted(m for _, m in self.reports),
            }
