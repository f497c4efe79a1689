"""Platform profiles (平台接口规范): envelope, transaction codes and field maps, in a registry dict.

Three ship, all spoken by the reference platform in ``refplatform``. Here are the two JSON ones:
``zj_infno``, the Zhejiang-style envelope (``{"infno": ..., "input": {"data": ...}}``, answer
``infcode``/``err_msg``, HMAC-SM3 over ``timestamp \\n body``), and ``rest_json``, a plain JSON REST
API (one path per transaction, HMAC-SHA256 over ``timestamp \\n nonce \\n body``). ``sh_soap``, the
Shanghai-style SOAP shape (SHA-1 of the XML message, no token), is in ``agent.upstream.soap``; the
contract they share (``Profile``, ``Request``, ``Answer``) is in ``agent.upstream.profile_base``.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from agent.errors import ConfigError
from agent.upstream.profile_base import CODE_KIND, DELIVERY_FIELDS, OK, Answer, Credentials, Profile, Request
from agent.upstream.soap import ShSoapProfile

__all__ = ["CODE_KIND", "DELIVERY_FIELDS", "OK", "PROFILES", "Answer", "Credentials", "Profile", "Request", "get_profile"]


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")


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


PROFILES: dict[str, Profile] = {p.name: p for p in (InfnoProfile(), RestJsonProfile(), ShSoapProfile())}


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ConfigError(f"platform profile '{name}' is unknown: use one of {', '.join(sorted(PROFILES))}") from None
