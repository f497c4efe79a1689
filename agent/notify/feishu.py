"""Feishu (飞书) custom bot, signed: ``sign = base64(HMAC_SHA256(key=f"{ts_s}\\n{secret}", msg=b""))``; text or card."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from agent.notify.base import HttpSender, classify, post_json
from agent.notify.markdown import plain

PERMANENT = {19021, 19024, 9499, 19001, 19002, 19022, 19007}
RATE_LIMITED = {11232: 60.0}
TEMPLATE = {"critical": "red", "warning": "orange", "info": "blue"}


def feishu_sign(secret: str, ts_s: int) -> str:
    digest = hmac.new(f"{ts_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


class FeishuSender(HttpSender):
    type = "feishu"
    default_api = "https://open.feishu.cn"
    default_rate_per_minute = 60.0

    @classmethod
    def max_bytes(cls, cfg: Any) -> int:
        return 18000

    def body(self, msg: dict[str, Any]) -> dict[str, Any]:
        if self.cfg.format == "text":
            return {"msg_type": "text", "content": {"text": plain(msg["text"])}}
        card = {
            "header": {"title": {"tag": "plain_text", "content": msg["title"]}, "template": TEMPLATE.get(msg.get("severity", ""), "blue")},
            "elements": [{"tag": "markdown", "content": msg["text"]}],
        }
        return {"msg_type": "interactive", "card": card}

    def send(self, msg: dict[str, Any]) -> dict[str, Any]:
        hook = self.cfg.key(self.name)
        url = f"{(self.cfg.api_base or self.default_api).rstrip('/')}/open-apis/bot/v2/hook/{hook}"
        body = self.body(msg)
        secret = self.cfg.secret(self.name)
        if secret:
            ts = int(self.clock.now().timestamp())
            body = {"timestamp": str(ts), "sign": feishu_sign(secret, ts), **body}
        answer = post_json(self.client, "Feishu", url, body, self.cfg.timeout_s)
        code = answer.get("code", answer.get("StatusCode", -1))
        if code != 0:
            raise classify("Feishu", code, str(answer.get("msg", answer.get("StatusMessage", ""))), PERMANENT, RATE_LIMITED)
        return answer
