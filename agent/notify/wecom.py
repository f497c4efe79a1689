"""WeCom (企业微信) group robot: text (with mentioned mobiles) or markdown. The key is the secret."""

from __future__ import annotations

from typing import Any

from agent.notify.base import HttpSender, classify, post_json
from agent.notify.markdown import plain

PERMANENT = {93000, 40058, 40008, 93004, 93008, 40035, 44004}
RATE_LIMITED = {45009: 60.0}


class WeComSender(HttpSender):
    type = "wecom"
    default_api = "https://qyapi.weixin.qq.com"
    default_rate_per_minute = 20.0

    @classmethod
    def max_bytes(cls, cfg: Any) -> int:
        return 4096 if cfg.format == "markdown" else 2048

    def body(self, msg: dict[str, Any]) -> dict[str, Any]:
        mobiles = self.mentions(msg)
        if self.cfg.format == "markdown" and not mobiles:
            return {"msgtype": "markdown", "markdown": {"content": msg["text"]}}
        return {"msgtype": "text", "text": {"content": plain(msg["text"]), "mentioned_mobile_list": mobiles}}

    def send(self, msg: dict[str, Any]) -> dict[str, Any]:
        key = self.cfg.key(self.name)
        url = f"{(self.cfg.api_base or self.default_api).rstrip('/')}/cgi-bin/webhook/send?key={key}"
        answer = post_json(self.client, "WeCom", url, self.body(msg), self.cfg.timeout_s)
        if answer.get("errcode", -1) != 0:
            raise classify("WeCom", answer.get("errcode"), str(answer.get("errmsg", "")), PERMANENT, RATE_LIMITED)
        return answer
