"""The profile contract (接口规范): a request as sent, an answer as read, and the ``Profile`` base.

A profile turns a logical operation (token, deliveries, confirm, report) into a sealed request and
an answer into data and a code whose *kind* (``ok``, ``auth``, ``reject``, ``done``, ``busy``,
``retry``, ``token``) tells the agent what to do. The base seals the JSON way (signature headers);
the concrete profiles are in ``profiles`` (JSON) and ``soap`` (the Shanghai-style SOAP shape).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from agent.upstream.signers import Signer

# Answer codes the JSON profiles share, and what the agent does about each.
OK = "0"
CODE_KIND = {
    "1001": "auth",  # signature invalid: a person must fix the secret
    "1002": "auth",  # timestamp outside the window: a person must fix the clock
    "1003": "retry",  # replayed signature: sign again
    "1004": "token",  # access token missing or expired: fetch a new one
    "1005": "auth",  # unknown app key
    "2001": "reject",  # delivery line not found
    "2002": "reject",  # quantity above the shipped quantity
    "2003": "done",  # already confirmed: the platform holds our confirmation
    "3001": "busy",  # rate limited
    "9999": "busy",  # system busy
}

# Our canonical delivery-line fields <- the platform's names (配送单明细).
DELIVERY_FIELDS = {
    "delivery_id": "shpId",
    "order_id": "ordDetlId",
    "order_code": "ordCode",
    "product_code": "prodCode",
    "product_name": "prodName",
    "lot": "manuLotnum",
    "expiry": "expyEndtime",
    "quantity": "shpCnt",
    "shipped_at": "shppTime",
    "distributor_code": "delventpCode",
    "updated_at": "updtTime",
}


# Our canonical purchase-order line fields (采购订单明细) <- the platform's names. Every platform
# lists the order line, its quantity and submission time; the response and delivery fields are
# the ones each profile maps (``None``: the platform does not say).
ORDER_FIELDS = {
    "order_id": "ordDetlId",  # 订单明细编号: the key
    "order_code": "ordCode",
    "product_code": "prodCode",
    "product_name": "prodName",
    "distributor_code": "delventpCode",
    "distributor_name": "delventpName",
    "quantity": "purcCnt",  # 采购数量
    "price": "purcpric",  # 采购价
    "listed_price": "pubonlnPric",  # 挂网价
    "ordered_at": "subTime",  # 提交时间
    "responded_at": "respTime",  # 配送企业响应时间
    "delivered_quantity": "disCnt",  # 配送数量
    "delivered_at": "disTime",  # 配送时间
    "updated_at": "updtTime",
}

# Our canonical bill fields (结算单 / 账单) <- the platform's names.
BILL_FIELDS = {
    "bill_id": "stmtId",  # 结算单编号: the key
    "distributor_code": "delventpCode",
    "distributor_name": "delventpName",
    "amount": "stmtAmt",  # 结算金额
    "accepted_at": "acpTime",  # the latest acceptance the bill covers: the payment clock starts here
    "issued_at": "crteTime",  # when the distributor issued it
    "checked_at": "chkTime",  # when the hospital checked and uploaded it (对账上传)
    "paid_at": "payTime",  # 回款时间
    "updated_at": "updtTime",
}
# The line key of each pulled list, for the keyset cursor.
LIST_KEYS = {"deliveries": "delivery_id", "orders": "order_id", "bills": "bill_id"}


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Answer:
    """A parsed answer: ``code`` is OK or one of CODE_KIND; ``message`` is the platform's own text."""

    code: str
    message: str
    data: Any


@dataclass(frozen=True)
class Credentials:
    """What the client holds for signing: never logged (the secret is registered for redaction)."""

    app_key: str
    secret: bytes
    sign: Signer


class Profile:
    name: str = ""
    signer: str = ""
    supports_reports: bool = False
    uses_token: bool = True  # False: no token operation; the client never asks for one
    ok_code: str = OK
    code_kind: dict[str, str] = CODE_KIND
    media: str = "JSON"  # what the answers are, for error messages
    fields: dict[str, str] = DELIVERY_FIELDS
    order_fields: dict[str, str] | None = ORDER_FIELDS  # None: the profile pulls no orders
    bill_fields: dict[str, str] | None = BILL_FIELDS  # None: the profile pulls no bills
    # How deliveries are paged: "keyset" (updated since, after this id), "pages" (an update-time
    # window read page by page), "cursor" (the platform's own cursor: the last line id read).
    paging: str = "keyset"
    idempotency_header: bool = True  # False: the real platform has no such header; it refuses a second confirmation
    confirm_message: str = "confirm"  # the transaction code or message type a confirmation is sent under

    token_ttl_s: float = 600.0  # when the token answer gives no lifetime

    def token_data(self, app_key: str, app_code: str, auth_code: str) -> dict[str, Any]:
        """What the token request carries."""
        return {"appKey": app_key}

    def configured(self, options: dict[str, Any]) -> Profile:
        """This profile with the ``[platform]`` options that the province decides (paths, names); the
        shared instance is never changed. Unknown options are refused by the config, not here."""
        return self

    def retry_after_s(self, code: str) -> float | None:
        """How long the platform asks us to wait after answer ``code`` (None: our own backoff)."""
        return None

    def confirmation_code(self, data: dict[str, Any]) -> str:
        """The transaction code / message type a sealed confirmation carries (for the tests that
        prove a confirmation can go under no other code)."""
        return self.confirm_message

    def kind(self, code: str) -> str | None:
        """What an answer code means for the agent: ``ok`` or one of the kinds; None when unknown."""
        return "ok" if code == self.ok_code else self.code_kind.get(code)

    def seal(self, op: str, data: dict[str, Any], *, medins_code: str, creds: Credentials, timestamp: str,
             nonce: str, token: str | None, idem_key: str | None) -> Request:
        """The request as sent: the JSON profiles sign in headers (app key, timestamp, nonce, signature)."""
        req = self.request(op, data, medins_code=medins_code)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-App-Key": creds.app_key,
            "X-Timestamp": timestamp,
            "X-Nonce": nonce,
            "X-Signature": creds.sign(creds.secret, self.string_to_sign(timestamp, nonce, req.body)),
            **req.headers,
        }
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if idem_key and self.idempotency_header:
            headers["Idempotency-Key"] = idem_key
        return Request(req.method, req.path, req.body, headers)

    def decode(self, content: bytes) -> Any:
        """The answer body as data; ValueError when it is not this profile's format."""
        return json.loads(content.decode("utf-8"))

    def request(self, op: str, data: dict[str, Any], *, medins_code: str) -> Request:
        raise NotImplementedError

    def string_to_sign(self, timestamp: str, nonce: str, body: bytes) -> bytes:
        raise NotImplementedError

    def parse(self, op: str, status: int, body: Any) -> Answer:
        raise NotImplementedError

    def delivery_line(self, raw: dict[str, Any]) -> dict[str, Any]:
        """A platform delivery line as our canonical dict (missing fields are None)."""
        return {ours: raw.get(theirs) for ours, theirs in self.fields.items()}

    def supports(self, op: str) -> bool:
        """Whether this profile pulls ``op`` (``deliveries``, ``orders``, ``bills``)."""
        return op == "deliveries" or self.field_map(op) is not None

    def field_map(self, op: str) -> dict[str, str] | None:
        return {"deliveries": self.fields, "orders": self.order_fields, "bills": self.bill_fields}.get(op)

    def listed_line(self, op: str, raw: dict[str, Any]) -> dict[str, Any]:
        """A pulled line of ``op`` as our canonical dict (missing fields are None)."""
        if op == "deliveries":
            return self.delivery_line(raw)
        fields = self.field_map(op) or {}
        return {ours: raw.get(theirs) for ours, theirs in fields.items()}

    def confirm_data(self, medins_code: str, delivery_id: str, quantity: str, accepted_at: str,
                     line: dict[str, Any] | None = None) -> dict[str, Any]:
        """到货确认: one line per call, so each line has its own idempotency key. ``line`` is the
        queued payload (product code, lot, shipped quantity when known), for profiles that need them."""
        return {"medinsCode": medins_code, "list": [{"shpId": delivery_id, "shppCnt": quantity, "acpTime": accepted_at}]}
