"""WeCom (企业微信) group robot: text (with mentioned mobiles) or markdown. The key is the secret.

Limits (developer.work.weixin.qq.com/document/path/91770): text content at most 2048 bytes,
markdown content at most 4096 bytes, 20 messages a minute; markdown cannot @ anyone, so a critical
alert for a receiver with ``mentioned_mobiles`` goes out as text and is sized as text."""

from __future__ import annotations

from typing import Any

from agent.notify.base import HttpSender, VendorCodes, classify, post_json, too_long
from agent.notify.limits import Budget, nbytes
from agent.notify.markdown import plain

CODES = VendorCodes(
    # 93000 invalid webhook url (key wrong or robot deleted), 93004 robot disabled, 93008 robot not
    # in the group; 40008 a message type the robot does not take (the receiver's format).
    robot=frozenset({93000, 93004, 93008, 40008}),
    # 40058 a field out of range (content too long), 40035 an invalid parameter, 44004 empty text.
    message=frozenset({40058, 40035, 44004}),
    rate_limited={45009: 60.0},  # api freq out of limit: 20 a minute
)
LIMIT = {"text": 2048, "markdown": 4096}


def _form(cfg: Any, mobiles: list[str]) -> str:
    return "markdown" if cfg.format == "markdown" and not mobiles else "text"


class WeComSender(HttpSender):
    type = "wecom"
    default_api = "https://qyapi.weixin.qq.com"
    default_rate_per_minute = 20.0

    @classmethod
    def mentioned(cls, cfg: Any, msg: dict[str, Any] | None) -> list[str]:
        """The mobiles a message @s: a critical one (or, not knowing the message, any one)."""
        return list(cfg.mentioned_mobiles) if msg is None or msg.get("severity") == "critical" else []

    @classmethod
    def budget(cls, cfg: Any, msg: dict[str, Any] | None = None) -> Budget:
        """The limit of the form the message goes out in: text when it @s someone."""
        form = _form(cfg, cls.mentioned(cfg, msg))
        return Budget(LIMIT[form], nbytes if form == "markdown" else (lambda t: nbytes(plain(t))))

    @classmethod
    def max_bytes(cls, cfg: Any) -> int:
        return cls.budget(cfg).limit

    def body(self, msg: dict[str, Any]) -> dict[str, Any]:
        mobiles = self.mentioned(self.cfg, msg)
        if _form(self.cfg, mobiles) == "markdown":
            return {"msgtype": "markdown", "markdown": {"content": msg["text"]}}
        return {"msgtype": "text", "text": {"content": plain(msg["text"]), "mentioned_mobile_list": mobiles}}

    def send(self, msg: dict[str, Any]) -> dict[str, Any]:
        body = self.body(msg)
        form = body["msgtype"]
        size = nbytes(body[form]["content"])
        if size > LIMIT[form]:
            raise too_long("WeCom", size, LIMIT[form], 40058)
        key = self.cfg.key(self.name)
        url = f"{(self.cfg.api_base or self.default_api).rstrip('/')}/cgi-bin/webhook/send?key={key}"
        answer = post_json(self.client, "WeCom", url, body, self.cfg.timeout_s, code_keys=("errcode",))
        if answer.get("errcode", -1) != 0:
            raise classify("WeCom", answer.get("errcode"), str(answer.get("errmsg", "")), CODES)
        return answer
