"""Accounts and sessions of the console: scrypt password hashes, session tokens stored by their hash,
a CSRF token per session, the login rate limit, and who may do what.

Roles: ``viewer`` reads; ``pharmacist`` also acts (确认, 屏蔽, 对码审核, 生成报表); ``admin`` also sees
the audit log of everyone. Accounts are managed with ``vbp-agent users``.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from agent.errors import DataError
from agent.store import console as repo

ROLE_CN = {"viewer": "只读", "pharmacist": "药师", "admin": "管理员"}
RANK = {"viewer": 0, "pharmacist": 1, "admin": 2}
# scrypt at N=2**15, r=8 (32 MiB, ~0.1 s here): memory-hard, from the standard library
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
MIN_PASSWORD = 10
RATE_WINDOW = timedelta(minutes=15)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P,
                            maxmem=128 * 1024 * 1024, dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        got = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                             maxmem=128 * 1024 * 1024, dklen=len(base64.b64decode(digest)))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, base64.b64decode(digest))


@functools.cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise DataError(f"密码至少 {MIN_PASSWORD} 个字符")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def may(role: str, needed: str) -> bool:
    return RANK.get(role, -1) >= RANK[needed]


# -- accounts (vbp-agent users) -------------------------------------------------------------------


def add_user(store: Any, username: str, role: str, password: str, now: datetime, display_name: str = "") -> None:
    if role not in RANK:
        raise DataError(f"角色 {role!r} 不存在：可选 {', '.join(RANK)}")
    if not username or len(username) > 64 or not username.replace("_", "").replace("-", "").replace(".", "").isalnum():
        raise DataError(f"用户名 {username!r}：用字母、数字、汉字、. _ -，最多64个字符")
    check_password(password)
    with store.begin() as conn:
        if repo.user(conn, store.hospital_code, username) is not None:
            raise DataError(f"用户 {username} 已存在：改密码用 vbp-agent users passwd {username}")
        repo.add_user(conn, store.hospital_code, username, display_name or username, role, hash_password(password), now)
        repo.record(conn, store.hospital_code, now, "(cli)", "user_add", username, {"role": role})


def set_password(store: Any, username: str, password: str, now: datetime) -> None:
    check_password(password)
    with store.begin() as conn:
        if not repo.update_user(conn, store.hospital_code, username, now, password_hash=hash_password(password)):
            raise DataError(f"没有用户 {username}")
        repo.end_sessions(conn, store.hospital_code, username=username)
        repo.record(conn, store.hospital_code, now, "(cli)", "user_passwd", username)


def set_disabled(store: Any, username: str, disabled: bool, now: datetime) -> None:
    with store.begin() as conn:
        if not repo.update_user(conn, store.hospital_code, username, now, disabled=disabled):
            raise DataError(f"没有用户 {username}")
        repo.end_sessions(conn, store.hospital_code, username=username)
        repo.record(conn, store.hospital_code, now, "(cli)", "user_disable" if disabled else "user_enable", username)


# -- logging in -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoggedIn:
    username: str
    display_name: str
    role: str
    csrf: str


class TooManyAttempts(Exception):
    pass


def login(store: Any, username: str, password: str, address: str | None, now: datetime, hours: float,
          attempts: int) -> tuple[str, LoggedIn] | None:
    """A new session (cookie token, who) for the right password; None otherwise. TooManyAttempts after
    ``attempts`` failures of this account from this address in 15 minutes (no password is checked then)."""
    hosp = store.hospital_code
    with store.read() as conn:
        if repo.failed_logins(conn, hosp, username, address, now - RATE_WINDOW) >= attempts:
            raise TooManyAttempts()
        user = repo.user(conn, hosp, username)
    ok = user is not None and not user.disabled and verify_password(password, user.password_hash)
    if not ok:
        if user is None:  # as slow as a known name, so a name cannot be told from its timing
            verify_password(password, _dummy_hash())
        with store.begin() as conn:
            repo.record(conn, hosp, now, username[:64] or "-", "login_failed", username[:64], {}, address)
        return None
    assert user is not None
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    with store.begin() as conn:
        repo.add_session(conn, hosp, token_hash(token), user.username, csrf, now, now + timedelta(hours=hours))
        repo.record(conn, hosp, now, user.username, "login", user.username, {}, address)
    return token, LoggedIn(user.username, user.display_name, user.role, csrf)


def session_user(store: Any, token: str, now: datetime) -> LoggedIn | None:
    """Who holds this cookie token: an unexpired session of an enabled account."""
    with store.read() as conn:
        s = repo.session(conn, store.hospital_code, token_hash(token), now)
        user = repo.user(conn, store.hospital_code, s.username) if s else None
    if s is None or user is None or user.disabled:
        return None
    return LoggedIn(user.username, user.display_name, user.role, s.csrf)


def logout(store: Any, token: str, username: str, address: str | None, now: datetime) -> None:
    with store.begin() as conn:
        repo.end_sessions(conn, store.hospital_code, token_hash=token_hash(token))
        repo.record(conn, store.hospital_code, now, username, "logout", username, {}, address)
