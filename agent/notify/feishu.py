"""Feishu (飞书) custom bot, signed: ``sign = base64(HMAC_SHA256(key=f"{ts_s}\\n{secret}", msg=b""))``; text or card.

Limits (open.feishu.cn, 自定义机器人使用指南): a request body of at most 20 KB; 100 messages a minute
and 5 a second (11232 when exceeded); the timestamp within one hour of Feishu's clock. A custom
bot @s people by open_id only (not by mobile): ``<at user_id="ou_…">`` in text,
``<at id=ou_…></at>`` in a card's markdown, and ``all`` for everyone.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from agent.notify.base import HttpSender, VendorCodes, body_bytes, classify, post_json, too_long
from agent.notify.limits import Budget
from agent.notify.markdown import plain

CODES = VendorCodes(
    # 19001 hook invalid (robot removed), 19002 bad hook, 19007 bot not enabled, 19021 signature or
    # timestamp (clock off by more than an hour), 19022 IP not allowed, 19024 keyword missing.
    robot=frozenset({19001, 19002, 19007, 19021, 19022, 19024}),
    # 9499 Bad Request: this message's body (too big, a bad field); answered with HTTP 400.
    message=frozenset({9499}),
    rate_limited={11232: 60.0},  # frequency limited
)
LIMIT = 20 * 1024
SIGN_RESERVE = 96  # "timestamp" and "sign" added to a signed body
TITLE_SUFFIX = 16
TEMPLATE = {"critical": "red", "warning": "orange", "info": "blue"}


def feishu_sign(secret: str, ts_s: int) -> str:
    digest = hmac.new(f"{ts_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def _json_cost(text: str) -> int:
    return len(json.dumps(text, ensure_ascii=False).encode("utf-8")) - 2


def _at_text(open_id: str) -> str:
    return '<at user_id="all">所有人</at>' if open_id == "all" else f'<at user_id="{open_id}"></at>'


class FeishuSender(HttpSender):
    type = "feishu"
    default_api = "https://open.feishu.cn"
    default_rate_per_minute = 60.0

    @classmethod
    def build_body(cls, cfg: Any, msg: dict[str, Any]) -> dict[str, Any]:
        ids = list(cfg.mentioned_open_ids) if msg.get("severity") == "critical" else []
        if cfg.format == "text":
            at = ("\n" + " ".join(_at_text(i) for i in ids)) if ids else ""
            return {"msg_type": "text", "content": {"text": plain(msg["text"]) + at}}
        at = ("\n" + " ".join(f"<at id={i}></at>" for i in ids)) if ids else ""
        card = {
            "header": {"title": {"tag": "plain_text", "content": msg["title"]}, "template": TEMPLATE.get(msg.get("severity", ""), "blue")},
            "elements": [{"tag": "markdown", "content": msg["text"] + at}],
        }
        return {"msg_type": "interactive", "card": card}

    @classmethod
    def budget(cls, cfg: Any, msg: dict[str, Any] | None = None) -> Budget:
        msg = msg or {"title": "x" * 256, "severity": "critical"}
        overhead = len(body_bytes(cls.build_body(cfg, {**msg, "text": ""}))) + SIGN_RESERVE + TITLE_SUFFIX
        if cfg.format == "text":
            return Budget(LIMIT - overhead, lambda t: _json_cost(plain(t)))
        return Budget(LIMIT - overhead, _json_cost)

    @classmethod
    def max_bytes(cls, cfg: Any) -> int:
        return cls.budget(cfg).limit

    def body(self, msg: dict[str, Any]) -> dict[str, Any]:
        return self.build_body(self.cfg, msg)

    def send(self, msg: dict[str, Any]) -> dict[str, Any]:
        hook = self.cfg.key(self.name)
        url = f"{(self.cfg.api_base or self.default_api).rstrip('/')}/open-apis/bot/v2/hook/{hook}"
        body = self.body(msg)
        secret = self.cfg.secret(self.name)
        if secret:
            ts = int(self.clock.now().timestamp())
            body = {"timestamp": str(ts), "sign": feishu_sign(secret, ts), **body}
        size = len(body_bytes(body))
        if size > LIMIT:
            raise too_long("Feishu", size, LIMIT, 9499)
        answer = post_json(self.client, "Feishu", url, body, self.cfg.timeout_s, code_keys=("code", "StatusCode"))
        code = answer.get("code", answer.get("StatusCode", -1))
        if code != 0:
            raise classify("Feishu", code, str(answer.get("msg", answer.get("StatusMessage", ""))), CODES)
        return answer
