"""Platform profiles (平台接口规范): envelope, transaction codes and field maps, in a registry dict.

They are all spoken by the reference platform in ``refplatform``. Here are the two JSON ones:
``zj_infno``, Zhejiang as the public client gaigeshen/tripartite speaks it (``{"infno", "input":
{"data"}}``, answers at ``output.data``, HMAC-SM3 over ``seconds \\n body`` in ``x-ca-signature``,
an ``Access-Token``), and ``rest_json``, a plain JSON REST
API (one path per transaction, HMAC-SHA256 over ``timestamp \\n nonce \\n body``). ``sh_soap``, the
Shanghai-style SOAP shape (SHA-1 of the XML message, no token), is in ``agent.upstream.soap``; the
contract they share (``Profile``, ``Request``, ``Answer``) is in ``agent.upstream.profile_base``.
"""

from __future__ import annotations

import copy
import json
from datetime import datetime
from typing import Any

from agent.errors import ConfigError
from agent.upstream.profile_base import CODE_KIND, DELIVERY_FIELDS, OK, Answer, Credentials, Profile, Request
from agent.upstream.soap import ShSoapProfile

__all__ = ["CODE_KIND", "DELIVERY_FIELDS", "OK", "PROFILES", "Answer", "Credentials", "Profile", "Request", "get_profile"]


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")


# Zhejiang (浙江省药械采购平台 两定接口, drugs; public client gaigeshen/tripartite, module
# tripartite-his-procurement-openapi: HisProcurementMedClient, HisProcurementClientRequestResponseInterceptor,
# HisProcurementClientAccessTokenInterceptor). Our operation -> the ZJ96xx transaction.
ZJ_TRANSACTIONS = {
    "deliveries": "ZJ9671",  # 获取配送明细 (listShipments)
    "confirm": "ZJ9658",  # 医疗机构收货 (takeDelivery): THE arrival confirmation
    "orders": "ZJ9670",  # 获取采购订单明细 (listPurchaseOrders)
}
ZJ_NOT_CONFIRMATIONS = {"ZJ9659": "退货申请", "ZJ9660": "退货单查询", "ZJ9670": "采购订单明细", "ZJ9671": "配送明细"}

# ZJ9671 delivery line (配送明细) -> our canonical fields. ``updated_at`` has no field in the line:
# the sync's cursor is the end of the update window it asked for.
ZJ_DELIVERY_FIELDS = {
    "delivery_id": "shpId",
    "order_id": "ordDetlId",
    "order_code": "ordCode",  # not in the public client's line: kept when a platform sends it
    "product_code": "prodId",
    "product_name": "prodName",  # idem
    "lot": "manuLotnum",
    "expiry": "expyEndtime",
    "quantity": "shppCnt",
    "shipped_at": "shpTime",
    "distributor_code": "delventpCode",
    "updated_at": "updtTime",  # idem
}
# ZJ9670 purchase-order line (采购订单明细): field names as the public client's list response
# (HisProcurementPurchaseOrderListResponse: ordDetlId, ordCode, prodCode, prodName, delventpCode,
# delventpName, purcCnt, purcpric, pubonlnPric, subTime, disCnt, disTime). TO CONFIRM: that subTime
# is the submission the 48 h response clock starts from and disTime the delivery; the public line has
# no response time (``respTime`` is assumed, a delivery counts as a response) nor update time.
ZJ_ORDER_FIELDS = {
    "order_id": "ordDetlId", "order_code": "ordCode", "product_code": "prodCode", "product_name": "prodName",
    "distributor_code": "delventpCode", "distributor_name": "delventpName", "quantity": "purcCnt",
    "price": "purcpric", "listed_price": "pubonlnPric", "ordered_at": "subTime",
    "responded_at": "respTime",  # assumed
    "delivered_quantity": "disCnt", "delivered_at": "disTime",
    "updated_at": "updtTime",  # assumed
}
ZJ_TIME = "%Y-%m-%d %H:%M:%S"  # TO CONFIRM: the window's time format (the public client passes strings)


def _zj_time(iso: str | None) -> str | None:
    return datetime.fromisoformat(iso).strftime(ZJ_TIME) if iso else None


class InfnoProfile(Profile):
    """Zhejiang: ``{"infno", "input": {"data"}}`` to one service path, HMAC-SM3 over ``ts \\n body``
    (ts in seconds) in ``x-ca-key`` / ``x-ca-signature: ts:hex``, an ``Access-Token`` from a token
    path, answers at ``output.data``. The paths are the province's (config ``service_path``,
    ``token_path``); the defaults are what the reference platform serves."""

    name = "zj_infno"
    signer = "hmac-sm3"
    supports_reports = False  # no report upload among the public client's transactions
    fields = ZJ_DELIVERY_FIELDS
    order_fields = ZJ_ORDER_FIELDS
    # No bill pull: in the public client the hospital itself creates, fills, submits and examines the
    # settlement statement (结算单, ZJ9666-9669); the payment clock needs the bills from elsewhere.
    bill_fields = None
    paging = "pages"
    idempotency_header = False
    confirm_message = ZJ_TRANSACTIONS["confirm"]
    transactions = ZJ_TRANSACTIONS
    path = "/gateway"
    token_path = "/accessToken"  # the public client skips its token header on a URL containing "accessToken"

    token_ttl_s = 1800.0  # the public client keeps a token 1800 s

    def token_data(self, app_key: str, app_code: str, auth_code: str) -> dict[str, Any]:
        return {"appCode": app_code, "authCode": auth_code}

    def configured(self, options: dict[str, Any]) -> Profile:
        clone = copy.copy(self)
        clone.path = options.get("service_path") or self.path
        clone.token_path = options.get("token_path") or self.token_path
        return clone

    def request(self, op: str, data: dict[str, Any], *, medins_code: str) -> Request:
        if op == "token":  # {appCode, authCode}, plain (HisProcurementAccessTokenParameters)
            return Request("POST", self.token_path, _dumps({"appCode": data["appCode"], "authCode": data["authCode"]}))
        if op == "deliveries":
            data = {"medinsCode": medins_code, "shpUpdateStartTime": _zj_time(data.get("updatedSince")),
                    "shpUpdateEndTime": _zj_time(data.get("updatedUntil")), "current": data.get("page") or 1,
                    "size": data.get("pageSize")}
        elif op == "orders":  # TO CONFIRM: ZJ9670's window field names (assumed like ZJ9671's)
            data = {"medinsCode": medins_code, "ordUpdateStartTime": _zj_time(data.get("updatedSince")),
                    "ordUpdateEndTime": _zj_time(data.get("updatedUntil")), "current": data.get("page") or 1,
                    "size": data.get("pageSize")}
        envelope = {"infno": self.transactions[op], "input": {"data": data}}
        return Request("POST", self.path, _dumps(envelope))

    def seal(self, op: str, data: dict[str, Any], *, medins_code: str, creds: Credentials, timestamp: str,
             nonce: str, token: str | None, idem_key: str | None) -> Request:
        req = self.request(op, data, medins_code=medins_code)
        seconds = str(int(timestamp) // 1000)  # the client gives milliseconds; this platform signs seconds
        signature = creds.sign(creds.secret, seconds.encode() + b"\n" + req.body)
        headers = {"Content-Type": "application/json; charset=utf-8", "x-ca-key": creds.app_key,
                   "x-ca-signature": f"{seconds}:{signature}"}
        if token and op != "token":
            headers["Access-Token"] = token
        return Request(req.method, req.path, req.body, headers)

    def string_to_sign(self, timestamp: str, nonce: str, body: bytes) -> bytes:
        return str(int(timestamp) // 1000).encode() + b"\n" + body

    def parse(self, op: str, status: int, body: Any) -> Answer:
        if not isinstance(body, dict) or "infcode" not in body:
            return Answer("9999", f"unexpected answer (HTTP {status})", None)
        code = str(body.get("infcode"))
        if code != OK:
            return Answer(code, str(body.get("err_msg") or ""), None)
        output = body.get("output")
        if not isinstance(output, dict) or "data" not in output:  # the public client refuses this too
            return Answer("9999", "answer without output.data", None)
        data = output.get("data")
        if op in ("deliveries", "orders"):
            data = data if isinstance(data, dict) else {}
            return Answer(OK, "", {"list": data.get("dataList") or [], "total_pages": int(data.get("totalPageCount") or 0)})
        return Answer(OK, "", data if data is not None else {})

    def confirm_data(self, medins_code: str, delivery_id: str, quantity: str, accepted_at: str,
                     line: dict[str, Any] | None = None) -> dict[str, Any]:
        """ZJ9658 takeDelivery: ``{"medinsCode", "list": [{"shpId", "shppCnt"}]}``, one line per call."""
        return {"medinsCode": medins_code, "list": [{"shpId": delivery_id, "shppCnt": quantity}]}


class RestJsonProfile(Profile):
    """A plain JSON REST API: a path per transaction, ``{"code", "message", "data"}`` answers."""

    name = "rest_json"
    signer = "hmac-sha256"
    supports_reports = True
    paths = {
        "token": "/api/v1/token",
        "orders": "/api/v1/orders/query",
        "deliveries": "/api/v1/deliveries/query",
        "confirm": "/api/v1/confirmations",
        "bills": "/api/v1/bills/query",
        "report": "/api/v1/reports",
    }

    def request(self, op: str, data: dict[str, Any], *, medins_code: str) -> Request:
        return Request("POST", self.paths[op], _dumps({"medinsCode": medins_code, **data}))

    def string_to_sign(self, timestamp: str, nonce: str, body: bytes) -> bytes:
        return timestamp.encode() + b"\n" + nonce.encode() + b"\n" + body

    def parse(self, op: str, status: int, body: Any) -> Answer:
        if not isinstance(body, dict) or "code" not in body:
            return Answer("9999", f"unexpected answer (HTTP {status})", None)
        code = str(body.get("code"))
        if code == OK and status < 300:
            return Answer(OK, "", body.get("data") or {})
        return Answer(code if code != OK else "9999", str(body.get("message") or ""), body.get("data"))


PROFILES: dict[str, Profile] = {p.name: p for p in (InfnoProfile(), RestJsonProfile(), ShSoapProfile())}


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ConfigError(f"platform profile '{name}' is unknown: use one of {', '.join(sorted(PROFILES))}") from None
