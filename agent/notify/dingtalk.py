"""DingTalk (钉钉) custom robot, signed: ``sign = urlquote(base64(HMAC_SHA256(secret, f"{ts_ms}\\n{secret}")))``.

Limits (open.dingtalk.com, 自定义机器人): 20 messages a minute, past that the robot is throttled
for 10 minutes; a body of at most 20000 bytes, counted on what is sent (markdown line breaks as
``"  \\n"``, JSON escapes, the @mobiles appended); the timestamp within one hour of DingTalk's clock.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any
from urllib.parse import quote_plus

from agent.notify.base import HttpSender, VendorCodes, body_bytes, classify, post_json, too_long
from agent.notify.limits import Budget
from agent.notify.markdown import plain

CODES = VendorCodes(
    # 310000 signature, timestamp (clock off by more than an hour), keyword or IP refused; 300001
    # token does not exist; 300005 token invalid; 400101 access_token does not exist; 400102 robot
    # stopped; 400106 robot does not exist; 400013 the group is dissolved.
    robot=frozenset({310000, 300001, 300005, 400101, 400102, 400106, 400013}),
    # 400105 message type not supported; 430101-430104 the content is refused (unsafe link, etc.);
    # 460101 message too long.
    message=frozenset({400105, 430101, 430102, 430103, 430104, 460101}),
    # 130101 send too fast; 410100 发送速度太快而限流: both throttle the robot for 10 minutes.
    rate_limited={130101: 600.0, 410100: 600.0},
)
LIMIT = 20000
TITLE_SUFFIX = 16  # room for " (10/10)" added to a part's title


def dingtalk_sign(secret: str, ts_ms: int) -> str:
    digest = hmac.new(secret.encode("utf-8"), f"{ts_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest))


def _json_cost(text: str) -> int:
    return len(json.dumps(text, ensure_ascii=False).encode("utf-8")) - 2


class DingTalkSender(HttpSender):
    type = "dingtalk"
    default_api = "https://oapi.dingtalk.com"
    default_rate_per_minute = 20.0

    @classmethod
    def build_body(cls, cfg: Any, msg: dict[str, Any]) -> dict[str, Any]:
        mobiles = list(cfg.mentioned_mobiles) if msg.get("severity") == "critical" else []
        at = {"atMobiles": mobiles, "isAtAll": False}
        suffix = ("\n\n" + " ".join(f"@{m}" for m in mobiles)) if mobiles else ""
        if cfg.format == "text":
            return {"msgtype": "text", "text": {"content": plain(msg["text"]) + suffix}, "at": at}
        return {"msgtype": "markdown", "markdown": {"title": msg["title"], "text": msg["text"].replace("\n", "  \n") + suffix}, "at": at}

    @classmethod
    def budget(cls, cfg: Any, msg: dict[str, Any] | None = None) -> Budget:
        """What the text may take once the rest of the body (title, @mobiles, JSON) is counted."""
        msg = msg or {"title": "x" * 256, "severity": "critical"}
        overhead = len(body_bytes(cls.build_body(cfg, {**msg, "text": ""}))) + TITLE_SUFFIX
        if cfg.format == "text":
            return Budget(LIMIT - overhead, lambda t: _json_cost(plain(t)))
        return Budget(LIMIT - overhead, lambda t: _json_cost(t.replace("\n", "  \n")))

    @classmethod
    def max_bytes(cls, cfg: Any) -> int:
        return cls.budget(cfg).limit

    def body(self, msg: dict[str, Any]) -> dict[str, Any]:
        return self.build_body(self.cfg, msg)

    def send(self, msg: dict[str, Any]) -> dict[str, Any]:
        body = self.body(msg)
        size = len(body_bytes(body))
        if size > LIMIT:
            raise too_long("DingTalk", size, LIMIT, 460101)
        token = self.cfg.key(self.name)
        url = f"{(self.cfg.api_base or self.default_api).rstrip('/')}/robot/send?access_token={token}"
        secret = self.cfg.secret(self.name)
        if secret:
            ts = int(self.clock.now().timestamp() * 1000)
            url += f"&timestamp={ts}&sign={dingtalk_sign(secret, ts)}"
        answer = post_json(self.client, "DingTalk", url, body, self.cfg.timeout_s, code_keys=("errcode",))
        if answer.get("errcode", -1) != 0:
            raise classify("DingTalk", answer.get("errcode"), str(answer.get("errmsg", "")), CODES)
        return answer
