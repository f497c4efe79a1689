"""The reference platform's HTTP front: three doors (``/gateway`` infno envelope, ``/api/v1/*`` REST,
``/soap/SendRecv`` the Shanghai-style SOAP shape of ``refplatform.soap``), signature and timestamp
checks, replay refusal, idempotency, faults, rate limit, admin endpoints.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import socket
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any

from refplatform import soap
from refplatform.faults import FaultPlan, RateLimit, retry_after_header
from refplatform.state import PlatformState

SKEW_S = 300.0  # ±5 minutes
REPLAY_WINDOW_S = 2 * SKEW_S
# Zhejiang's transactions (the public client gaigeshen/tripartite's HisProcurementMedClient): what this
# platform serves, and what it knows but refuses to treat as anything else (a return is never a receipt).
INFNO = {"ZJ9671": "deliveries", "ZJ9658": "confirm", "ZJ9670": "orders"}
INFNO_REFUSED = {"ZJ9659": "退货申请", "ZJ9660": "退货单查询", "ZJ9666": "结算单", "ZJ9667": "结算单明细",
                 "ZJ9668": "结算单提交", "ZJ9669": "结算单审核"}
ZJ_TOKEN_PATH = "/accessToken"
ZJ_SIGNATURE = re.compile(r"^(\d{10}):([0-9a-f]{64})$")  # seconds, ':', lowercase hex HMAC-SM3
REST = {"/api/v1/token": "token", "/api/v1/orders/query": "orders", "/api/v1/deliveries/query": "deliveries",
        "/api/v1/confirmations": "confirm", "/api/v1/bills/query": "bills", "/api/v1/reports": "report"}
REST_STATUS = {"0": 200, "1001": 403, "1002": 403, "1003": 409, "1004": 401, "1005": 403, "2001": 404, "2002": 422,
               "2003": 409, "2004": 422, "3001": 429}
IDEMPOTENT_OPS = ("confirm", "report")


def _hmac_sm3(key: bytes, msg: bytes) -> str:
    try:
        return hmac.new(key, msg, "sm3").hexdigest()
    except ValueError:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives import hmac as chmac

        mac = chmac.HMAC(key, hashes.SM3())
        mac.update(msg)
        return mac.finalize().hex()


def _hmac_sha256(key: bytes, msg: bytes) -> str:
    return hmac.new(key, msg, hashlib.sha256).hexdigest()


def _zj_line(line: dict[str, Any]) -> dict[str, Any]:
    """A delivery line as ZJ9671 lists it (field names from the public client's shipment list)."""
    return {"shpId": line["shpId"], "prodId": line.get("prodCode"), "prodName": line.get("prodName"),
            "shppCnt": line["shpCnt"], "shpTime": _zj_time(line.get("shppTime")), "sendTime": _zj_time(line.get("shppTime")),
            "ordDetlId": line.get("ordDetlId"), "ordCode": line.get("ordCode"), "manuLotnum": line.get("manuLotnum"),
            "expyEndtime": line.get("expyEndtime"), "delventpCode": line.get("delventpCode")}


def _zj_order(line: dict[str, Any]) -> dict[str, Any]:
    """An order line as ZJ9670 lists it: times in Beijing ``yyyy-MM-dd HH:mm:ss``."""
    out = {k: v for k, v in line.items() if not k.startswith("_")}
    for key in ("subTime", "respTime", "disTime", "updtTime"):
        out[key] = _zj_time(line.get(key))
    return out


def _zj_time(iso: Any) -> str | None:
    from datetime import datetime

    from refplatform.state import BEIJING

    if not iso:
        return None
    value = datetime.fromisoformat(str(iso))
    return (value.astimezone(BEIJING) if value.tzinfo else value).strftime("%Y-%m-%d %H:%M:%S")


class PlatformServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr: tuple[str, int], state: PlatformState, faults: FaultPlan, rate: RateLimit,
                 soap_preset: str = "dispatcher") -> None:
        super().__init__(addr, Handler)
        self.soap_preset = soap_preset
        self.received: list[tuple[str, str]] = []  # (door, transaction code / message type), in order
        self.state, self.faults, self.rate = state, faults, rate
        self.seen: dict[str, float] = {}  # signature -> first seen
        self.idem: dict[tuple[str, str, str], tuple[int, bytes]] = {}  # (app, op, key) -> first answer
        self.requests = 0
        self.idempotent_replays = 0
        self.refused: dict[str, int] = {}
        self.soap_messages: dict[str, int] = {}  # SOAP msg_type -> requests that passed account and sign


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: PlatformServer

    def setup(self) -> None:
        super().setup()
        # headers and body go out in two writes: without NODELAY, delayed ACK adds 40 ms to each answer
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests and demo read their own output
        return

    # -- writing ----------------------------------------------------------------------------------
    def _send(self, status: int, body: bytes, ctype: str = "application/json; charset=utf-8",
              headers: dict[str, str] | None = None, truncate: bool = False) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body[: len(body) // 2] if truncate else body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        if truncate:
            self.close_connection = True

    def _json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(obj, ensure_ascii=False).encode("utf-8"), headers=headers)

    def _answer(self, door: str, code: str, message: str, data: Any) -> tuple[int, bytes]:
        if door == "soap":
            return 200, soap.result(soap.STATUS.get(code, "11001"), message, preset=self.server.soap_preset)
        if door == "gateway":
            obj = {"infcode": code, "output": {"data": data}} if code == "0" else {"infcode": code, "err_msg": message}
            return 200, json.dumps(obj, ensure_ascii=False).encode("utf-8")
        obj = {"code": code, "message": message, "data": data}
        return REST_STATUS.get(code, 400), json.dumps(obj, ensure_ascii=False).encode("utf-8")

    # -- reading ----------------------------------------------------------------------------------
    def _body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_GET(self) -> None:
        if self.path == "/openapi.json":
            self._send(200, resources.files("refplatform").joinpath("openapi.json").read_bytes())
        elif self.path == "/admin/state":
            srv = self.server
            self._json(200, {**srv.state.summary(), "requests": srv.requests, "rate_refused": srv.rate.refused,
                             "idempotent_replays": srv.idempotent_replays, "faults_fired": srv.faults.fired,
                             "refused": srv.refused, "rate_per_s": srv.rate.rate})
        elif self.path == "/healthz":
            self._json(200, {"ok": True})
        else:
            self._json(404, {"code": "404", "message": "not found"})

    def do_POST(self) -> None:
        body = self._body()
        if self.path.startswith("/admin/"):
            return self._admin(self.path, json.loads(body or b"{}"))
        if self.path in ("/gateway", ZJ_TOKEN_PATH):
            door = "gateway"
        elif self.path in REST:
            door = "rest"
        elif soap.service_of(self.path, self.server.soap_preset):
            door = "soap"
        else:
            return self._json(404, {"code": "404", "message": "not found"})
        self.server.requests += 1
        fault = self.server.faults.take()
        if fault is not None and self._early_fault(fault):
            return
        wait = self.server.rate.take()
        ctype = "text/xml; charset=utf-8" if door == "soap" else "application/json; charset=utf-8"
        if wait:
            return self._send(*self._answer(door, "3001", "请求过于频繁", None), ctype,
                              headers={"Retry-After": retry_after_header(wait)})
        if door == "soap":
            status, answer, code = soap.handle(self.server.state, body, self.path, self.server.soap_preset,
                                               self.server.soap_messages)
            if code not in ("00000", "10000") and not code.startswith(("2", "3")):
                self.server.refused[code] = self.server.refused.get(code, 0) + 1
        else:
            status, answer = self._handle(door, body)
        if fault is not None and fault.mode in ("timeout", "slow"):
            time.sleep(fault.delay_s)
        self._send(status, answer, ctype, truncate=fault is not None and fault.mode == "truncated")

    def _early_fault(self, fault: Any) -> bool:
        """Faults answered before the request is processed; True when the answer was sent."""
        if fault.mode == "outage":
            headers = {"Retry-After": retry_after_header(fault.retry_after_s)} if fault.retry_after_s else {}
            self._send(503, b"Service Unavailable", "text/plain", headers)
        elif fault.mode == "5xx":
            self._send(500, b"Internal Server Error", "text/plain")
        elif fault.mode == "html":
            self._send(200, "<html><body><h1>系统维护中</h1></body></html>".encode(), "text/html; charset=utf-8")
        elif fault.mode == "rate_limit":
            self._send(429, b'{"code":"3001","message":"rate limited"}',
                       headers={"Retry-After": retry_after_header(fault.retry_after_s or 1)})
        elif fault.mode == "expired_token":
            self.server.state.expire_tokens()
            return False
        else:
            return False
        return True

    # -- the platform -----------------------------------------------------------------------------
    def _handle(self, door: str, body: bytes) -> tuple[int, bytes]:
        srv, state = self.server, self.server.state
        try:
            doc = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            doc = None
        if not isinstance(doc, dict):
            return self._answer(door, "9998", "报文格式错误", None)
        if door == "gateway":
            return self._gateway(doc, body)
        else:
            op, data, medins = REST[self.path], doc, doc.get("medinsCode")
        if op is None:
            return self._answer(door, "9997", "交易编号不存在", None)
        app_key = self.headers.get("X-App-Key") or ""
        refusal = self._verify(door, app_key, body)
        if refusal is not None:
            srv.refused[refusal[0]] = srv.refused.get(refusal[0], 0) + 1
            return self._answer(door, *refusal, None)
        if op == "token":
            return self._answer(door, "0", "成功", state.issue_token(app_key))
        bearer = (self.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
        if not state.token_valid(bearer, app_key):
            return self._answer(door, "1004", "访问令牌无效或已过期", None)
        idem = self.headers.get("Idempotency-Key")
        if op in IDEMPOTENT_OPS and idem:
            first = srv.idem.get((app_key, op, idem))
            if first is not None:
                srv.idempotent_replays += 1
                return first
        if op in ("deliveries", "orders", "bills"):
            answer = self._answer(door, "0", "成功", state.list_deliveries(medins, data.get("updatedSince"),
                                                                        data.get("afterId"), data.get("pageSize"), op))
        elif op == "confirm":
            answer = self._answer(door, *state.confirm(medins, data.get("list") or [], idem))
        else:
            answer = self._answer(door, *state.upload_report(medins, data))
        if op in IDEMPOTENT_OPS and idem:
            srv.idem.setdefault((app_key, op, idem), answer)
        return answer

    def _gateway(self, doc: dict[str, Any], body: bytes) -> tuple[int, bytes]:
        """Zhejiang, strictly: x-ca-key / x-ca-signature (seconds:lowercase hex over ``ts\\nbody``),
        the token from /accessToken ({appCode, authCode}) in ``Access-Token``, the envelope
        ``{"infno", "input": {"data"}}`` and nothing else at the top, ``medinsCode`` inside ``data``."""
        srv, state = self.server, self.server.state

        def refuse(code: str, text: str) -> tuple[int, bytes]:
            srv.refused[code] = srv.refused.get(code, 0) + 1
            return self._answer("gateway", code, text, None)

        key, signature = self.headers.get("x-ca-key") or "", self.headers.get("x-ca-signature") or ""
        secret = state.apps.get(key)
        if secret is None:
            return refuse("1005", "x-ca-key不存在")
        m = ZJ_SIGNATURE.match(signature)
        if m is None:
            return refuse("1001", "x-ca-signature须为“秒级时间戳:小写十六进制”")
        if abs(time.time() - int(m.group(1))) > SKEW_S:
            return refuse("1002", "时间戳超出允许范围（±5分钟）")
        if not hmac.compare_digest(_hmac_sm3(secret.encode(), m.group(1).encode() + b"\n" + body), m.group(2)):
            return refuse("1001", "签名验证失败")
        if self.path == ZJ_TOKEN_PATH:
            if set(doc) != {"appCode", "authCode"} or state.auth_codes.get(str(doc["appCode"])) != doc["authCode"]:
                return refuse("1005", "appCode或authCode错误")
            token = state.issue_token(key)
            return self._answer("gateway", "0", "成功", {"accessToken": token["accessToken"]})
        if set(doc) != {"infno", "input"} or not isinstance(doc["input"], dict) or set(doc["input"]) != {"data"}:
            return refuse("9998", "报文须为{infno, input:{data}}")
        infno, data = str(doc["infno"]), doc["input"]["data"]
        srv.received.append(("gateway", infno))
        if infno in INFNO_REFUSED:
            return refuse("9997", f"交易{infno}（{INFNO_REFUSED[infno]}）未开放")
        op = INFNO.get(infno)
        if op is None:
            return refuse("9997", "交易编号不存在")
        if not state.token_valid(self.headers.get("Access-Token"), key):
            return self._answer("gateway", "1004", "访问令牌无效或已过期", None)
        if not isinstance(data, dict) or not data.get("medinsCode"):
            return refuse("9998", "data中缺少medinsCode")
        medins = str(data["medinsCode"])
        if op == "deliveries":
            if set(data) - {"medinsCode", "delventpCode", "shpUpdateStartTime", "shpUpdateEndTime", "shpTime",
                            "current", "size", "list"}:
                return refuse("9998", "ZJ9671含未定义字段")
            page = state.window(medins, data.get("shpUpdateStartTime"), data.get("shpUpdateEndTime"),
                                int(data.get("current") or 1), int(data.get("size") or 100))
            page["dataList"] = [_zj_line(ln) for ln in page["dataList"]]
            return self._answer("gateway", "0", "成功", page)
        if op == "orders":  # ZJ9670: an update-time window, paged like ZJ9671 (the window's names assumed)
            if set(data) - {"medinsCode", "ordUpdateStartTime", "ordUpdateEndTime", "current", "size"}:
                return refuse("9998", "ZJ9670含未定义字段")
            page = state.window(medins, data.get("ordUpdateStartTime"), data.get("ordUpdateEndTime"),
                                int(data.get("current") or 1), int(data.get("size") or 100), "orders")
            page["dataList"] = [_zj_order(ln) for ln in page["dataList"]]
            return self._answer("gateway", "0", "成功", page)
        items = data.get("list") or []
        if set(data) != {"medinsCode", "list"} or any(set(i) != {"shpId", "shppCnt"} for i in items):
            return refuse("9998", "ZJ9658须为{medinsCode, list:[{shpId, shppCnt}]}")
        return self._answer("gateway", *state.confirm(medins, items, None))

    def _verify(self, door: str, app_key: str, body: bytes) -> tuple[str, str] | None:
        secret = self.server.state.apps.get(app_key)
        if secret is None:
            return "1005", "应用标识不存在"
        ts, nonce, sig = (self.headers.get(h) or "" for h in ("X-Timestamp", "X-Nonce", "X-Signature"))
        try:
            skew = abs(time.time() - int(ts) / 1000)
        except ValueError:
            return "1002", "时间戳无效"
        if skew > SKEW_S:
            return "1002", "时间戳超出允许范围（±5分钟）"
        if door == "gateway":
            expected = _hmac_sm3(secret.encode(), ts.encode() + b"\n" + body)
        else:
            expected = _hmac_sha256(secret.encode(), ts.encode() + b"\n" + nonce.encode() + b"\n" + body)
        if not hmac.compare_digest(expected, sig.lower()):
            return "1001", "签名验证失败"
        now = time.monotonic()
        with self.server.state.lock:
            if len(self.server.seen) > 100_000:
                self.server.seen = {s: t for s, t in self.server.seen.items() if now - t < REPLAY_WINDOW_S}
            if sig in self.server.seen:
                return "1003", "重复请求（签名已使用）"
            self.server.seen[sig] = now
        return None

    def _admin(self, path: str, doc: dict[str, Any]) -> None:
        srv = self.server
        if path == "/admin/faults":
            try:
                srv.faults.arm(doc.get("mode", ""), int(doc.get("count", 1)), float(doc.get("delay_s", 0.0)),
                               doc.get("retry_after_s"), bool(doc.get("on", True)))
            except ValueError as exc:
                return self._json(400, {"error": str(exc)})
            return self._json(200, {"armed": doc.get("mode")})
        if path == "/admin/deliveries":
            for line in doc.get("lines") or []:
                srv.state.seed(str(doc.get("medinsCode")), line)
            return self._json(200, {"seeded": len(doc.get("lines") or [])})
        if path == "/admin/config":
            if "rate_per_s" in doc:
                srv.rate.rate = doc["rate_per_s"]
            if "burst" in doc:
                srv.rate.burst = int(doc["burst"])
            if "token_ttl_s" in doc:
                srv.state.token_ttl_s = float(doc["token_ttl_s"])
            return self._json(200, {"ok": True})
        self._json(404, {"error": "unknown admin endpoint"})
