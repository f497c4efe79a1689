"""SMTP email: STARTTLS, implicit TLS (SSL) or a plain internal relay; Chinese subjects are
RFC 2047 encoded by ``EmailMessage``."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from agent.clock import Clock
from agent.notify.base import SendFailed, TokenBucket
from agent.notify.limits import Budget
from agent.notify.markdown import plain

PORTS = {"starttls": 587, "ssl": 465, "none": 25}


class EmailSender:
    type = "email"

    def __init__(self, name: str, cfg: Any, clock: Clock, client: Any = None) -> None:
        self.name = name
        self.cfg = cfg
        self.clock = clock
        self.bucket = TokenBucket(clock, cfg.rate_per_minute or 30.0)

    @classmethod
    def budget(cls, cfg: Any, msg: dict[str, Any] | None = None) -> Budget:
        return Budget(200_000)

    @classmethod
    def max_bytes(cls, cfg: Any) -> int:
        return 200_000

    def _context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.cfg.ca_file) if self.cfg.ca_file else ssl.create_default_context()

    def message(self, msg: dict[str, Any]) -> EmailMessage:
        m = EmailMessage()
        m["Subject"] = msg["title"]
        m["From"] = self.cfg.mail_from
        m["To"] = ", ".join(self.cfg.to)
        m["Date"] = formatdate(self.clock.now().timestamp(), localtime=True)
        m["Message-ID"] = make_msgid(domain="vbp-agent")
        m.set_content(plain(msg["text"]), charset="utf-8")
        return m

    def send(self, msg: dict[str, Any]) -> dict[str, Any]:
        cfg = self.cfg
        port = cfg.smtp_port or PORTS[cfg.smtp_security]
        try:
            if cfg.smtp_security == "ssl":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(cfg.smtp_host, port, timeout=cfg.timeout_s, context=self._context())
            else:
                smtp = smtplib.SMTP(cfg.smtp_host, port, timeout=cfg.timeout_s)
            with smtp:
                if cfg.smtp_security == "starttls":
                    smtp.starttls(context=self._context())
                password = cfg.password(self.name)
                if cfg.smtp_user and password:
                    smtp.login(cfg.smtp_user, password)
                refused = smtp.send_message(self.message(msg))
        except smtplib.SMTPAuthenticationError as exc:
            raise SendFailed(f"SMTP login refused ({exc.smtp_code})", transient=False, code=str(exc.smtp_code)) from None
        except smtplib.SMTPNotSupportedError:
            raise SendFailed("SMTP server offers no login (AUTH): remove smtp_user or use starttls", transient=False) from None
        except smtplib.SMTPRecipientsRefused:
            raise SendFailed("SMTP refused every recipient", transient=False) from None
        except smtplib.SMTPResponseException as exc:
            raise SendFailed(f"SMTP {exc.smtp_code}", transient=exc.smtp_code < 500, code=str(exc.smtp_code)) from None
        except ssl.SSLCertVerificationError as exc:
            raise SendFailed(f"SMTP certificate not trusted: {exc.verify_message}", transient=False) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise SendFailed(f"SMTP {type(exc).__name__}", transient=True) from None
        return {"accepted": len(cfg.to) - len(refused), "refused": sorted(refused)}

    def close(self) -> None:
        return None
