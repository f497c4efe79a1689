"""The console's accounts, sessions and audit log (操作记录).

Passwords are hashed by the caller (``agent.console.auth``); a session is stored by the SHA-256 of
its cookie token, so the table opens nothing when read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, select

from agent.store.alerts import jsonable
from agent.store.schema.console import console_audit, console_sessions, console_users

ROLES = ("viewer", "pharmacist", "admin")


@dataclass(frozen=True)
class User:
    username: str
    display_name: str
    role: str
    password_hash: str
    disabled: bool


@dataclass(frozen=True)
class Session:
    username: str
    csrf: str
    expires_at: datetime


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    username: str
    action: str
    target: str
    detail: dict[str, Any]
    address: str | None


def _user_key(hospital: str, username: str) -> Any:
    return (console_users.c.hospital_code == hospital) & (console_users.c.username == username)


def _user(r: Any) -> User:
    return User(r.username, r.display_name, r.role, r.password_hash, bool(r.disabled))


def user(conn: Connection, hospital: str, username: str) -> User | None:
    r = conn.execute(select(console_users).where(_user_key(hospital, username))).first()
    return None if r is None else _user(r)


def users(conn: Connection, hospital: str) -> list[User]:
    rows = conn.execute(select(console_users).where(console_users.c.hospital_code == hospital).order_by(console_users.c.username))
    return [_user(r) for r in rows]


def add_user(conn: Connection, hospital: str, username: str, display_name: str, role: str, password_hash: str,
             now: datetime) -> None:
    conn.execute(console_users.insert().values(hospital_code=hospital, username=username, display_name=display_name, role=role,
                                               password_hash=password_hash, disabled=False, created_at=now, updated_at=now))


def update_user(conn: Connection, hospital: str, username: str, now: datetime, **values: Any) -> bool:
    """Set ``password_hash``, ``role``, ``display_name`` or ``disabled``; False when there is no such user."""
    res = conn.execute(console_users.update().where(_user_key(hospital, username)).values(updated_at=now, **values))
    return res.rowcount > 0


def add_session(conn: Connection, hospital: str, token_hash: str, username: str, csrf: str, now: datetime,
                expires_at: datetime) -> None:
    conn.execute(delete(console_sessions).where(console_sessions.c.expires_at < now))
    conn.execute(console_sessions.insert().values(token_hash=token_hash, hospital_code=hospital, username=username, csrf=csrf,
                                                  created_at=now, expires_at=expires_at))


def session(conn: Connection, hospital: str, token_hash: str, now: datetime) -> Session | None:
    s = console_sessions
    r = conn.execute(select(s.c.username, s.c.csrf, s.c.expires_at).where(
        s.c.token_hash == token_hash, s.c.hospital_code == hospital, s.c.expires_at > now)).first()
    return None if r is None else Session(r.username, r.csrf, r.expires_at)


def end_sessions(conn: Connection, hospital: str, *, token_hash: str | None = None, username: str | None = None) -> int:
    """Log out one session (by token) or every session of a user (password changed, account disabled)."""
    s = console_sessions
    cond = s.c.hospital_code == hospital
    cond = cond & (s.c.token_hash == token_hash) if token_hash is not None else cond & (s.c.username == username)
    return conn.execute(delete(s).where(cond)).rowcount


def record(conn: Connection, hospital: str, now: datetime, username: str, action: str, target: str,
           detail: dict[str, Any] | None = None, address: str | None = None) -> None:
    """One line of the audit log: who did what to which, when, from where."""
    conn.execute(console_audit.insert().values(hospital_code=hospital, at=now, username=username, action=action,
                                               target=target[:1000], detail=jsonable(detail or {}), address=address))


def audit_log(conn: Connection, hospital: str, *, limit: int = 200, action: str | None = None,
              since: datetime | None = None) -> list[AuditEntry]:
    """The newest audit lines first."""
    a = console_audit
    q = select(a).where(a.c.hospital_code == hospital)
    if action:
        q = q.where(a.c.action == action)
    if since is not None:
        q = q.where(a.c.at >= since)
    rows = conn.execute(q.order_by(a.c.at.desc(), a.c.id.desc()).limit(limit))
    return [AuditEntry(r.at, r.username, r.action, r.target, dict(r.detail or {}), r.address) for r in rows]


def failed_logins(conn: Connection, hospital: str, username: str, address: str | None, since: datetime) -> int:
    """Failed logins for this account from this address since ``since`` (the login rate limit)."""
    a = console_audit
    return int(conn.execute(select(func.count()).where(
        a.c.hospital_code == hospital, a.c.action == "login_failed", a.c.target == username, a.c.address == address,
        a.c.at >= since)).scalar() or 0)
