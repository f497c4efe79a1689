"""Local HTTP servers imitating the WeCom, DingTalk and Feishu robots and a generic webhook
receiver: keys, signatures (the vendors' documented algorithms), keywords, size limits, rate
limits, robots disabled or removed, and scripted outages. WeCom and DingTalk answer HTTP 200 with a
JSON error code; Feishu answers a bad request with HTTP 400 and its JSON code, as the vendors do.
Every answer carries a ``Date`` header from the robots' own clock (``now``).

Where each code comes from (the vendors' pages, and the public clients that read them):

- WeCom (企业微信): group robot guide, developer.work.weixin.qq.com/document/path/91770 (text at most
  2048 bytes, markdown 4096, 20 a minute; markdown cannot @); global error codes,
  developer.work.weixin.qq.com/document/path/90313 (93000 invalid webhook url, 93004 robot
  disabled, 93008 robot not in the group, 40058 a field out of range, 40035 invalid argument,
  44004 empty content, 45009 api freq out of limit).
- DingTalk (钉钉): 自定义机器人 guide and its error-code table, open.dingtalk.com (20 a minute, then
  throttled for 10 minutes: 130101 "send too fast", 410100 发送速度太快而限流; 310000 signature,
  timestamp an hour off, keyword or IP; 300001 token does not exist; 400102 robot stopped; 400106
  robot does not exist; 400013 group dissolved; 460101 message too long, 20000 bytes); 300001 and
  310000 also as seen by DingtalkChatbot and prometheus-webhook-dingtalk users.
- Feishu (飞书): 自定义机器人使用指南, open.feishu.cn/document/…/bot-v3/use-custom-bots-in-a-group
  (body at most 20 KB; 100 a minute and 5 a second, 11232 when exceeded; 19021 sign match fail or
  timestamp not within one hour; 19022 Ip Not Allowed; 19024 Key Words Not Found; 19001 hook
  invalid; 9499 Bad Request with HTTP 400; ``<at user_id="all">`` in text, ``<at id=all>`` in cards).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
from collections import defaultdict, deque
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


class VendorRobots:
    """One server, three robots: ``/cgi-bin/webhook/send`` (WeCom), ``/robot/send`` (DingTalk),
    ``/open-apis/bot/v2/hook/<id>`` (Feishu), ``/hook`` (webhook)."""

    def __init__(self, *, wecom_key: str = "", ding_token: str = "", ding_secret: str = "", feishu_hook: str = "",
                 feishu_secret: str = "", webhook_secret: str = "", keyword: str | None = None, per_minute: int = 20,
                 now: Callable[[], datetime] | None = None, ding_throttle_code: int = 130101,
                 feishu_ips: tuple[str, ...] | None = None) -> None:
        self.wecom_key, self.ding_token, self.ding_secret = wecom_key, ding_token, ding_secret
        self.feishu_hook, self.feishu_secret, self.webhook_secret = feishu_hook, feishu_secret, webhook_secret
        self.keyword = keyword
        self.per_minute = per_minute
        self.ding_throttle_code = ding_throttle_code  # 130101, or 410100 as DingTalk answers now
        self.feishu_ips = feishu_ips  # the Feishu robot's IP allow-list (19022 from any other address)
        # a robot's state in its group, set by a test: WeCom "disabled" (93004) or "not_in_group"
        # (93008); DingTalk "stopped" (400102), "deleted" (400106) or "dissolved" (400013)
        self.state: dict[str, str] = {}
        self.now = now or (lambda: datetime.now().astimezone())
        self.received: list[dict[str, Any]] = []
        self.script: deque[tuple[int, dict[str, Any]]] = deque()  # forced answers, first in first out
        self.down = False
        self._recent: dict[str, deque[float]] = defaultdict(deque)
        self._throttled_until: dict[str, float] = {}
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
    def _rate_limited(self, who: str, throttle_s: float = 0.0) -> bool:
        """More than ``per_minute`` in a minute of the robots' clock; DingTalk then refuses everything
        for ``throttle_s``."""
        t = self.now().timestamp()
        if self._throttled_until.get(who, 0.0) > t:
            return True
        q = self._recent[who]
        while q and t - q[0] > 60:
            q.popleft()
        if len(q) >= self.per_minute:
            self._throttled_until[who] = t + throttle_s
            return True
        q.append(t)
        return False

    def _keyword_missing(self, text: str) -> bool:
        return self.keyword is not None and self.keyword not in text

    def wecom(self, query: dict[str, str], body: dict[str, Any], raw: bytes) -> dict[str, Any]:
        if query.get("key") != self.wecom_key:
            return {"errcode": 93000, "errmsg": "invalid webhook url, hint: [x]"}
        if self.state.get("wecom") == "disabled":
            return {"errcode": 93004, "errmsg": "robot is disabled, hint: [x]"}
        if self.state.get("wecom") == "not_in_group":
            return {"errcode": 93008, "errmsg": "robot not in the chat, hint: [x]"}
        kind = body.get("msgtype")
        if kind not in ("text", "markdown"):
            return {"errcode": 40008, "errmsg": "invalid message type"}
        content = body[kind].get("content", "")
        if not content.strip():
            return {"errcode": 44004, "errmsg": "empty content, hint: [x]"}
        mobiles = body[kind].get("mentioned_mobile_list", [])
        if not isinstance(mobiles, list) or not all(isinstance(m, str) for m in mobiles):
            return {"errcode": 40035, "errmsg": "invalid args, hint: [x]"}
        limit = 2048 if kind == "text" else 4096  # bytes of the content, by the form sent
        if len(content.encode("utf-8")) > limit:
            return {"errcode": 40058, "errmsg": f"{kind}.content exceed max length {limit}, hint: [x]"}
        if self._rate_limited("wecom"):
            return {"errcode": 45009, "errmsg": "api freq out of limit"}
        self.received.append({"vendor": "wecom", "body": body, "content": content,
                              "mentioned": mobiles if kind == "text" else []})  # markdown cannot @
        return {"errcode": 0, "errmsg": "ok"}

    def dingtalk(self, query: dict[str, str], body: dict[str, Any], raw: bytes) -> dict[str, Any]:
        if query.get("access_token") != self.ding_token:
            return {"errcode": 300001, "errmsg": "token is not exist"}
        gone = {"stopped": (400102, "robot is stopped"), "deleted": (400106, "robot does not exist"),
                "dissolved": (400013, "group is dissolved")}.get(self.state.get("dingtalk", ""))
        if gone:
            return {"errcode": gone[0], "errmsg": gone[1]}
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
        if len(raw) > 20000:  # the body as sent
            return {"errcode": 460101, "errmsg": "message too long, exceed 20000 bytes"}
        if self._rate_limited("dingtalk", throttle_s=600):
            if self.ding_throttle_code == 410100:
                return {"errcode": 410100, "errmsg": "发送速度太快而限流"}
            return {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"}
        self.received.append({"vendor": "dingtalk", "body": body, "content": text, "size": len(raw),
                              "mentioned": body.get("at", {}).get("atMobiles", [])})
        return {"errcode": 0, "errmsg": "ok"}

    def feishu(self, hook: str, body: dict[str, Any], raw: bytes, client_ip: str) -> tuple[int, dict[str, Any]]:
        status, answer = self._feishu(hook, body, raw, client_ip)
        return status, {**answer, "data": {}}

    def _feishu(self, hook: str, body: dict[str, Any], raw: bytes, client_ip: str) -> tuple[int, dict[str, Any]]:
        if len(raw) > 20 * 1024:
            return 400, {"code": 9499, "msg": "Bad Request"}
        if hook != self.feishu_hook:
            return 200, {"code": 19001, "msg": "param invalid: incoming webhook access token invalid"}
        if self.feishu_ips is not None and client_ip not in self.feishu_ips:
            return 200, {"code": 19022, "msg": "Ip Not Allowed"}
        if self.feishu_secret:
            ts = str(body.get("timestamp", "0"))
            expect = base64.b64encode(hmac.new(f"{ts}\n{self.feishu_secret}".encode(), b"", hashlib.sha256).digest()).decode()
            fresh = abs(self.now().timestamp() - int(ts)) < 3600
            if not fresh or not hmac.compare_digest(str(body.get("sign", "")), expect):
                return 200, {"code": 19021, "msg": "sign match fail or timestamp is not within one hour from current time"}
        if body.get("msg_type") == "text":
            text = body.get("content", {}).get("text", "")
            mentioned = re.findall(r'<at user_id="([^"]+)">', text)
        elif body.get("msg_type") == "interactive":
            text = json.dumps(body.get("card", {}), ensure_ascii=False)
            mentioned = re.findall(r"<at id=([^>\s]+)></at>", text)
        else:
            return 400, {"code": 9499, "msg": "Bad Request"}
        if self._keyword_missing(text):
            return 200, {"code": 19024, "msg": "Key Words Not Found"}
        if self._rate_limited("feishu"):
            return 200, {"code": 11232, "msg": "frequency limited psm"}
        self.received.append({"vendor": "feishu", "body": body, "content": text, "size": len(raw), "mentioned": mentioned})
        return 200, {"code": 0, "msg": "success"}

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

            def date_time_string(self, timestamp: float | None = None) -> str:
                return format_datetime(robots.now().astimezone(UTC), usegmt=True)

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
                        status, answer = robots.feishu(url.path.rsplit("/", 1)[1], body, raw, self.client_address[0])
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
