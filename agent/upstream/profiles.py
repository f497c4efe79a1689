"""Platform profiles (平台接口规范): envelope, transaction codes and field maps, in a registry dict.

Two ship: ``zj_infno``, the Zhejiang-style JSON envelope (``{"infno": ..., "input": {"data": ...}}``,
answer ``infcode``/``err_msg``, HMAC-SM3 over ``timestamp \\n body``), and ``rest_json``, a plain
JSON REST API (one path per transaction, HMAC-SHA256 over ``timestamp \\n nonce \\n body``). Both
speak to the reference platform in ``refplatform``. A profile turns a logical operation (token,
deliveries, confirm, report) into a request, and an answer into data or a classified error code.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

# Answer codes both profiles share, and what the agent does about each.
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


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")


class Profile:
    name: str = ""
    signer: str = ""
    supports_reports: bool = False
    fields: dict[str, str] = DELIVERY_FIELDS

    def request(self, op: str, data: dict[str, Any], *, medins_code: str) -> Request:
        raise NotImplementedError

    def string_to_sign(self, timestamp: str, nonce: str, body: bytes) -> bytes:
        raise NotImplementedError

    def parse(self, op: str, status: int, body: Any) -> Answer:
        raise NotImplementedError

    def delivery_line(self, raw: dict[str, Any]) -> dict[str, Any]:
        """A platform delivery line as our canonical dict (missing fields are None)."""
        return {ours: raw.get(theirs) for ours, theirs in self.fields.items()}

    def confirm_data(self, medins_code: str, delivery_id: str, quantity: str, accepted_at: str) -> dict[str, Any]:
        """到货确认: one line per call, so each line has its own idempotency key."""
        return {"medinsCode": medins_code, "list": [{"shpId": delivery_id, "shppCnt": quantity, "acpTime": accepted_at}]}


class InfnoProfile(Profile):
    """The Zhejiang-style envelope: one POST endpoint, the transaction code in the body."""

    name = "zj_infno"
    signer = "hmac-sm3"
    supports_reports = True
    path = "/gateway"
    transactions = {
        "token": "ZJ9000",
        "orders": "ZJ9651",
        "deliveries": "ZJ9658",
        "confirm": "ZJ9659",
        "bills": "ZJ9661",
        "report": "ZJ9670",
    }

    def request(self, op: str, data: dict[str, Any], *, medins_code: str) -> Request:
        envelope = {
            "infno": self.transactions[op],
            "msgid": uuid.uuid4().hex,  # makes every send's body, hence its signature, unique
            "medinsCode": medins_code,
            "input": {"data": data},
        }
        return Request("POST", self.path, _dumps(envelope))

    def string_to_sign(self, timestamp: str, nonce: str, body: bytes) -> bytes:
        return timestamp.encode() + b"\n" + body

    def parse(self, op: str, status: int, body: Any) -> Answer:
        if not isinstance(body, dict) or "infcode" not in body:
            return Answer("9999", f"unexpected answer (HTTP {status})", None)
        code = str(body.get("infcode"))
        if code == OK:
            return Answer(OK, "", (body.get("output") or {}))
        return Answer(code, str(body.get("err_msg") or ""), body.get("output"))


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


PROFILES: dict[str, Profile] = {p.name: p for p in (InfnoProfile(), RestJsonProfile())}


def get_profile(name: str) -> Profile:
    from agent.errors import ConfigError

    try:
        return PROFILES[name]
    except KeyError:
        raise ConfigError(f"platform profile '{name}' is unknown: use one of {', '.join(sorted(PROFILES))}") from None
