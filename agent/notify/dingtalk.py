"""DingTalk (钉钉) custom robot, signed: ``sign = urlquote(base64(HMAC_SHA256(secret, f"{ts_ms}\\n{secret}")))``."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any
from urllib.parse import quote_plus

from agent.notify.base import HttpSender, classify, post_json
from agent.notify.markdown import plain

PERMANENT = {310000, 300001, 300005, 400102, 400105, 410100, 430101}
RATE_LIMITED = {130101: 600.0}


def dingtalk_sign(secret: str, ts_ms: int) -> str:
    digest = hmac.new(secret.encode("utf-8"), f"{ts_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest))


class DingTalkSender(HttpSender):
    type = "dingtalk"
    default_api = "https://oapi.dingtalk.com"
    default_rate_per_minute = 20.0

    @classmethod
    def max_bytes(cls, cfg: Any) -> int:
        return 18000

    def body(self, msg: dict[str, Any]) -> dict[str, Any]:
        mobiles = self.mentions(msg)
        at = {"atMobiles": mobiles, "isAtAll": False}
        suffix = ("\n\n" + " ".join(f"@{m}" for m in mobiles)) if mobiles else ""
        if self.cfg.format == "text":
            return {"msgtype": "text", "text": {"content": plain(msg["text"]) + suffix}, "at": at}
        return {"msgtype": "markdown", "markdown": {"title": msg["title"], "text": msg["text"].replace("\n", "  \n") + suffix}, "at": at}

    def send(self, msg: dict[str, Any]) -> dict[str, Any]:
        token = self.cfg.key(self.name)
        url = f"{(self.cfg.api_base or self.default_api).rstrip('/')}/robot/send?access_token={token}"
        secret = self.cfg.secret(self.name)
        if secret:
            ts = int(self.clock.now().timestamp() * 1000)
            url += f"&timestamp={ts}&sign={dingtalk_sign(secret, ts)}"
        answer = post_json(self.client, "DingTalk", url, self.body(msg), self.cfg.timeout_s)
        if answer.get("errcode", -1) != 0:
            raise classify("DingTalk", answer.get("errcode"), str(answer.get("errmsg", "")), PERMANENT, RATE_LIMITED)
        return answer
