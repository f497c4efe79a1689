"""A generic webhook: JSON with ``X-VBP-Signature: sha256=hex(HMAC_SHA256(secret, f"{ts}.{body}"))``."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from agent.notify.base import HttpSender, SendFailed, post_json
from agent.notify.limits import Budget


def webhook_signature(secret: str, ts: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), ts.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()


class WebhookSender(HttpSender):
    type = "webhook"
    default_rate_per_minute = 60.0

    @classmethod
    def budget(cls, cfg: Any, msg: dict[str, Any] | None = None) -> Budget:
        return Budget(60000)

    @classmethod
    def max_bytes(cls, cfg: Any) -> int:
        return 60000

    def send(self, msg: dict[str, Any]) -> dict[str, Any]:
        url = self.cfg.key(self.name) or self.cfg.url
        body = {"receiver": self.name, "title": msg["title"], "text": msg["text"], "severity": msg.get("severity", "info"),
                "alert_keys": msg.get("alert_keys", []), "kind": msg.get("kind", "")}
        ts = str(int(self.clock.now().timestamp()))
        headers = {"X-VBP-Timestamp": ts}
        secret = self.cfg.secret(self.name)
        if secret:
            raw = json.dumps(body, ensure_ascii=False).encode("utf-8")
            headers["X-VBP-Signature"] = webhook_signature(secret, ts, raw)
        answer = post_json(self.client, "webhook", url, body, self.cfg.timeout_s, headers=headers)
        if answer.get("ok") is False:
            raise SendFailed(f"webhook refused: {answer.get('error', '')}", transient=False)
        return answer
