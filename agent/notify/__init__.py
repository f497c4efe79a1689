"""Senders (通知渠道) in a registry: a receiver's ``type`` names its class.

Each sender has ``send(message) -> vendor answer`` and raises ``SendFailed`` (a NotifyError) with
``transient`` and ``scope`` (transient, message, robot) set from the vendor's own error code;
``budget(cfg, msg)`` is the size limit of the form a message goes out in, and ``bucket`` its token
bucket.
"""

from __future__ import annotations

from typing import Any

from agent.clock import Clock
from agent.notify.base import SendFailed
from agent.notify.dingtalk import DingTalkSender
from agent.notify.feishu import FeishuSender
from agent.notify.limits import split_text
from agent.notify.mail import EmailSender
from agent.notify.webhook import WebhookSender
from agent.notify.wecom import WeComSender

# The registry of receiver types: a new channel is a sender module here, its config model in
# agent/notify/config.py, and one entry in this tuple.
SENDERS: dict[str, type] = {cls.type: cls for cls in (WeComSender, DingTalkSender, FeishuSender, EmailSender, WebhookSender)}


def build_sender(name: str, cfg: Any, clock: Clock, client: Any = None) -> Any:
    return SENDERS[cfg.type](name, cfg, clock, client)


def build_senders(receivers: dict[str, Any], clock: Clock, client: Any = None) -> dict[str, Any]:
    """One sender per configured receiver (the token buckets live as long as these objects)."""
    return {name: build_sender(name, cfg, clock, client) for name, cfg in receivers.items()}


__all__ = ["SENDERS", "SendFailed", "build_sender", "build_senders", "max_bytes", "split_message"]


def max_bytes(cfg: Any) -> int:
    """The size limit of a receiver's messages (UTF-8 bytes), whatever the message."""
    return int(SENDERS[cfg.type].max_bytes(cfg))


def split_message(cfg: Any, msg: dict[str, Any], more: str | None = None) -> list[str]:
    """``msg["text"]`` in parts that each fit the receiver's limit, counted on the body that is sent;
    ``more`` ends a message cut short (where to read all of it)."""
    budget = SENDERS[cfg.type].budget(cfg, msg)
    return split_text(msg["text"], budget.limit, cost=budget.cost, **({"more": more} if more else {}))
