"""Local HTTP servers imitating the WeCom, DingTalk and Feishu robots and a generic webhook
receiver: keys, signatures (the vendors' documented algorithms), keywords, size limits, rate
limits and scripted outages. Each answers HTTP 200 with a JSON error code, as the vendors do."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


class VendorRobots:
    """One server, three robots: ``/cgi-bin/webhook/send`` (WeCom), ``/robot/send`` (DingTalk),
    ``/open-apis/bot/v2/hook/<id>`` (Feishu), ``/hook`` (webhook)."""

    def __init__(self, *, wecom_key: str = "", ding_token: str = "", ding_secret: str = "", feishu_hook: str = "",
                 feishu_secret: str = "", webhook_secret: str = "", keyword: str | None = None, per_minute: int = 20,
                 now: Callable[[], datetime] | None = None) -> None:
        self.wecom_key, self.ding_token, self.ding_secret = wecom_key, ding_token, ding_secret
        self.feishu_hook, self.feishu_secret, self.webhook_secret = feishu_hook, feishu_secret, webhook_secret
        self.keyword = keyword
        self.per_minute = per_minute
        self.now = now or (lambda: datetime.now().astimezone())
        self.received: list[dict[str, Any]] = []
        self.script: deque[tuple[int, dict[str, Any]]] = deque()  # forced answers, first in first out
        self.down = False
        self._recent: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def fail_next(self, n: int, status: int = 500, answer: dict[str, Any] | None = None) -> None:
        for _ in range(n):
            self.script.append((status, answer or {"errcode": -1, "errmsg": "system busy"}))

    def messages(self, vendor: str) -> list[dict[str, Any]]:
        return [m for m in self.received if m["vendor"] == vendor]

    # --- the robots ----------------------------------------------------------------------
    def _rate_limited(self, who: str) -> bool:
        t = time.monotonic()
        q = self._recent[who]
        while q and t - q[0] > 60:
            q.popleft()
        if len(q) >= self.per_minute:
            return True
        q.append(t)
        return False

    def _keyword_missing(self, text: str) -> bool:
        return self.keyword is not None and self.keyword not in text

    def wecom(self, query: dict[str, str], body: dict[str, Any], raw: bytes) -> dict[str, Any]:
        if query.get("key") != self.wecom_key:
            return {"errcode": 93000, "errmsg": "invalid webhook url, hint: [x]"}
        kind = body.get("msgtype")
        if kind not in ("text", "markdown"):
            return {"errcode": 40008, "errmsg": "invalid message type"}
        content = body[kind].get("content", "")
        if len(content.encode("utf-8")) > (2048 if kind == "text" else 4096):
            return {"errcode": 40058, "errmsg": "content exceed max length"}
        if self._rate_limited("wecom"):
            return {"errcode": 45009, "errmsg": "api freq out of limit"}
        self.received.append({"vendor": "wecom", "body": body, "content": content})
        return {"errcode": 0, "errmsg": "ok"}

    def dingtalk(self, query: dict[str, str], body: dict[str, Any], raw: bytes) -> dict[str, Any]:
        if query.get("access_token") != self.ding_token:
            return {"errcode": 300001, "errmsg": "token is not exist"}
        if self.ding_secret:
            ts = query.get("timestamp", "0")
            expect = base64.b64encode(hmac.new(self.ding_secret.encode(), f"{ts}\n{self.ding_secret}".encode(), hashlib.sha256).digest()).decode()
            sign = query.get("sign", "")  # parse_qs has undone the URL quoting
            fresh = abs(self.now().timestamp() * 1000 - int(ts)) < 3600_000
            if not fresh or not hmac.compare_digest(sign, expect):
                return {"errcode": 310000, "errmsg": "sign not match"}
        kind = body.get("msgtype")
        text = body.get(kind, {}).get("text") or body.get(kind, {}).get("content") or ""
        if self._keyword_missing(text):
            return {"errcode": 310000, "errmsg": "keywords not in content"}
        if len(raw) > 20000:
            return {"errcode": 460101, "errmsg": "message too long"}
        if self._rate_limited("dingtalk"):
            return {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"}
        self.received.append({"vendor": "dingtalk", "body": body, "content": text})
        return {"errcode": 0, "errmsg": "ok"}

    def feishu(self, hook: str, body: dict[str, Any], raw: bytes) -> dict[str, Any]:
        if hook != self.feishu_hook:
            return {"code": 19001, "msg": "param invalid: incoming webhook access token invalid"}
        if self.feishu_secret:
            ts = str(body.get("timestamp", "0"))
            expect = base64.b64encode(hmac.new(f"{ts}\n{self.feishu_secret}".encode(), b"", hashlib.sha256).digest()).decode()
            fresh = abs(self.now().timestamp() - int(ts)) < 3600
            if not fresh or not hmac.compare_digest(str(body.get("sign", "")), expect):
                return {"code": 19021, "msg": "sign match fail or timestamp is not within one hour from current time"}
        if body.get("msg_type") == "text":
            text = body.get("content", {}).get("text", "")
        else:
            text = json.dumps(body.get("card", {}), ensure_ascii=False)
        if self._keyword_missing(text):
            return {"code": 19024, "msg": "Key Words Not Found"}
        if len(raw) > 20 * 1024:
            return {"code": 9499, "msg": "Bad Request"}
        if self._rate_limited("feishu"):
            return {"code": 11232, "msg": "frequency limited psm"}
        self.received.append({"vendor": "feishu", "body": body, "content": text})
        return {"code": 0, "msg": "success", "data": {}}

    def webhook(self, headers: Any, body: dict[str, Any], raw: bytes) -> tuple[int, dict[str, Any]]:
        ts = headers.get("X-VBP-Timestamp", "")
        expect = "sha256=" + hmac.new(self.webhook_secret.encode(), ts.encode() + b"." + raw, hashlib.sha256).hexdigest()
        if self.webhook_secret and not hmac.compare_digest(headers.get("X-VBP-Signature", ""), expect):
            return 401, {"ok": False, "error": "bad signature"}
        self.received.append({"vendor": "webhook", "body": body, "content": body.get("text", "")})
        return 200, {"ok": True}

    # --- HTTP plumbing -------------------------------------------------------------------
    def _handler(self) -> type[BaseHTTPRequestHandler]:
        robots = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_a: Any) -> None:
                return

            def _reply(self, status: int, data: dict[str, Any]) -> None:
                raw = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if robots.down:
                    self.close_connection = True
                    self.connection.close()
                    return
                with robots._lock:
                    if robots.script:
                        status, answer = robots.script.popleft()
                        self._reply(status, answer)
                        return
                    url = urlparse(self.path)
                    query = {k: v[0] for k, v in parse_qs(url.query).items()}
                    body = json.loads(raw.decode("utf-8"))
                    status = 200
                    if url.path == "/cgi-bin/webhook/send":
                        answer = robots.wecom(query, body, raw)
                    elif url.path == "/robot/send":
                        answer = robots.dingtalk(query, body, raw)
                    elif url.path.startswith("/open-apis/bot/v2/hook/"):
                        answer = robots.feishu(url.path.rsplit("/", 1)[1], body, raw)
                    elif url.path == "/hook":
                        status, answer = robots.webhook(self.headers, body, raw)
                    else:
                        status, answer = 404, {"errcode": 404}
                self._reply(status, answer)

        return Handler

    def __enter__(self) -> VendorRobots:
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
