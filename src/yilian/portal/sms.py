"""Text messages behind one small interface, sent only after the transaction commits.

A real gateway (阿里云短信, 腾讯云短信 …) is a class with `send(phone, text) -> None` that raises on
failure; name it in `YILIAN_SMS_SENDER` as `package.module:ClassName` (constructed without
arguments; read its keys from the environment). The default, `console`, writes each message to the
server log: for development and the demo only.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass, field
from functools import partial
from typing import Protocol

from sqlalchemy.orm import Session

from yilian.kit.commit import on_commit

log = logging.getLogger("yilian.sms")


class SmsSender(Protocol):
    def send(self, phone: str, text: str) -> None: ...


class ConsoleSender:
    """Development: the message goes to the log (and stderr), nowhere else."""

    def send(self, phone: str, text: str) -> None:
        log.warning("短信 SMS → %s: %s", phone, text)
        print(f"[短信 SMS → {phone}] {text}", flush=True)


@dataclass
class MemorySender:
    """Tests: keeps what was sent."""

    outbox: list[tuple[str, str]] = field(default_factory=list)

    def send(self, phone: str, text: str) -> None:
        self.outbox.append((phone, text))


def sender_from_setting(name: str) -> SmsSender:
    if name == "console":
        return ConsoleSender()
    if name == "memory":
        return MemorySender()
    module, _, attribute = name.partition(":")
    sender: SmsSender = getattr(importlib.import_module(module), attribute)()
    return sender


def send_after_commit(session: Session, sender: SmsSender, phone: str, text: str) -> None:
    """Queue a message; it leaves when the request's outermost transaction commits, never if it (or
    the savepoint it was queued in) rolls back."""
    on_commit(session, partial(_send, sender, phone, text))


def _send(sender: SmsSender, phone: str, text: str) -> None:
    try:
        sender.send(phone, text)
    except Exception:  # a gateway outage must not turn a committed request into an error page
        log.exception("短信发送失败 / SMS not sent to %s", phone)
