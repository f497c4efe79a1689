"""The platform client: httpx with explicit timeouts, a token that refreshes itself, signing at send.

The profile seals each request (headers and signature, or a SOAP body with the account in it) and
reads each answer; a profile without a token (``uses_token = False``) is never asked for one.

Every failure becomes a ``PlatformCallError`` that says what to do: ``scope="link"`` when the
platform as a whole failed us (network, timeout, 5xx, an HTML page, a truncated body, rate
limiting, a refused certificate) so the drainer holds the whole queue; ``scope="item"`` when the
platform refused this one message (its own ``err_msg`` is kept for staff). The request timestamp
is wall time (``time.time``), since the platform checks it against its own clock (±5 minutes).
Tokens, the secret and signatures never enter a log line or an error message.
"""

from __future__ import annotations

import os
import ssl
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
from pydantic import SecretStr

from agent.errors import PlatformError
from agent.logging import get_logger, register_secret
from agent.upstream.profiles import Answer, Credentials, Profile
from agent.upstream.signers import check_signer

log = get_logger("agent.upstream.client")
TOKEN_MARGIN_S = 60.0


class PlatformCallError(PlatformError):
    def __init__(self, message: str, *, transient: bool, scope: str = "link", code: str | None = None,
                 retry_after_s: float | None = None, platform_message: str | None = None) -> None:
        super().__init__(message, transient=transient)
        self.scope = scope
        self.code = code
        self.retry_after_s = retry_after_s
        self.platform_message = platform_message


class Pacer:
    """Keeps our request rate at or below ``rate_per_s`` (wall time: it is about the platform's limit).

    A slot missed by a late wake-up may be caught up, at most ``burst`` requests at once, so the
    long-run rate is the configured one and never above it.
    """

    def __init__(self, rate_per_s: float, burst: int = 3, monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.interval = 1.0 / rate_per_s
        self.burst = max(1, burst)
        self._monotonic, self._sleep = monotonic, sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = self._monotonic()
            at = max(self._next, now - (self.burst - 1) * self.interval)
            self._next = at + self.interval
        if at > now:
            self._sleep(at - now)


def _retry_after(resp: httpx.Response) -> float | None:
    value = resp.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _is_cert_failure(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class PlatformClient:
    def __init__(self, profile: Profile, base_url: str, app_key: str, secret: SecretStr | str, medins_code: str, *,
                 signer: str | None = None, timeout: httpx.Timeout | None = None, verify: Any = True,
                 transport: httpx.BaseTransport | None = None, pacer: Pacer | None = None,
                 wall: Callable[[], float] = time.time, app_code: str | None = None,
                 auth_code: SecretStr | str | None = None) -> None:
        self.profile = profile
        self.medins_code = medins_code
        self._app_key = app_key
        plain = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
        register_secret(plain)  # a SOAP profile puts it in the body: it must be masked wherever it shows
        self._secret = plain.encode()
        self._app_code = app_code or app_key
        code = auth_code.get_secret_value() if isinstance(auth_code, SecretStr) else auth_code
        if code:
            register_secret(code)
        self._auth_code = code or plain  # TO CONFIRM per province: one code for both, or a separate 授权码
        self._sign = check_signer(signer or profile.signer)
        self._pacer = pacer
        self._wall = wall
        self._token: str | None = None
        self._token_until = 0.0
        self._lock = threading.Lock()
        if isinstance(verify, (str, os.PathLike)):  # a CA bundle file
            verify = ssl.create_default_context(cafile=os.fspath(verify))
        self._http = httpx.Client(
            base_url=base_url, timeout=timeout or httpx.Timeout(connect=5.0, read=20.0, write=10.0, pool=5.0),
            verify=verify, transport=transport, follow_redirects=False,
            headers={"User-Agent": "vbp-agent", "Accept": "application/json"},
        )

    def close(self) -> None:
        self._http.close()

    # -- the operations -------------------------------------------------------------------------
    def fetch_token(self) -> str:
        if not self.profile.uses_token:
            raise PlatformCallError(f"profile {self.profile.name} has no access token: each request carries the account",
                                    transient=False)
        answer = self._send("token", self.profile.token_data(self._app_key, self._app_code, self._auth_code), token=None)
        self._raise_unless_ok(answer)
        token = str(answer.data.get("accessToken") or "")
        if not token:
            raise PlatformCallError("the platform answered the token request without a token", transient=True)
        self._token = token  # never logged; not registered for masking, as every refresh would grow that list
        self._token_until = time.monotonic() + float(answer.data.get("expiresIn") or self.profile.token_ttl_s) - TOKEN_MARGIN_S
        return token

    def check(self) -> str:
        """Prove the credentials with a call the platform answers harmlessly (nothing is written): a
        token where the profile has one, else a read of open delivery lines (Shanghai's YY003)."""
        if self.profile.uses_token:
            self.fetch_token()
            return "token fetched"
        self.deliveries(None, None, 1)
        return "account accepted (a read of open delivery lines, nothing written)"

    def call(self, op: str, data: dict[str, Any], idem_key: str | None = None) -> Answer:
        """One call with a valid token; refreshes an expired token and re-signs a replay once each."""
        refreshed = resigned = False
        while True:
            token = self._valid_token() if self.profile.uses_token else None
            answer = self._send(op, data, token=token, idem_key=idem_key)
            kind = self.profile.kind(answer.code)
            if kind == "token" and not refreshed:
                refreshed = True
                log.info("platform token refreshed", reason="expired")
                self._token = None
                continue
            if kind == "retry" and not resigned:
                resigned = True
                continue
            if kind in ("token", "retry"):  # a fresh token or signature did not help: the link, not the message
                raise PlatformCallError(f"{op}: the platform keeps refusing ({answer.code}): {answer.message}",
                                        transient=True, code=answer.code, platform_message=answer.message)
            return answer

    def confirm(self, delivery_id: str, quantity: str, accepted_at: str, idem_key: str,
                line: dict[str, Any] | None = None) -> Answer:
        data = self.profile.confirm_data(self.medins_code, delivery_id, quantity, accepted_at, line)
        return self.call("confirm", data, idem_key)

    def deliveries(self, since: str | None, after_id: str | None, page_size: int, *, until: str | None = None,
                   page: int = 1) -> tuple[list[dict[str, Any]], bool]:
        """One page of delivery lines and whether more follow; the profile's ``paging`` says which of
        the window (since, until), the page number and the cursor (after_id) it uses."""
        return self.listing("deliveries", since, after_id, page_size, until=until, page=page)

    def listing(self, op: str, since: str | None, after_id: str | None, page_size: int, *, until: str | None = None,
                page: int = 1) -> tuple[list[dict[str, Any]], bool]:
        """One page of a pulled list (``deliveries``, ``orders``, ``bills``) as canonical lines, and
        whether more follow; paged the same way as deliveries."""
        answer = self.call(op, {"updatedSince": since, "updatedUntil": until, "afterId": after_id,
                                "pageSize": page_size, "page": page})
        self._raise_unless_ok(answer)
        lines = [self.profile.listed_line(op, raw) for raw in answer.data.get("list") or []]
        more = answer.data["more"] if "more" in answer.data else page < int(answer.data.get("total_pages") or 0)
        return lines, bool(more)

    def upload_report(self, report: dict[str, Any], idem_key: str) -> Answer:
        return self.call("report", report, idem_key)

    # -- the plumbing ---------------------------------------------------------------------------
    def _valid_token(self) -> str:
        with self._lock:
            if self._token is None or time.monotonic() >= self._token_until:
                self.fetch_token()
            assert self._token is not None
            return self._token

    def _raise_unless_ok(self, answer: Answer) -> None:
        kind = self.profile.kind(answer.code) or "reject"
        if kind == "ok":
            return
        transient = kind in ("busy", "retry", "token")
        scope = "item" if kind in ("reject", "done") else "link"
        raise PlatformCallError(
            f"the platform refused ({answer.code}): {answer.message}", transient=transient, scope=scope,
            code=answer.code, platform_message=answer.message,
        )

    def _send(self, op: str, data: dict[str, Any], *, token: str | None, idem_key: str | None = None) -> Answer:
        req = self.profile.seal(op, data, medins_code=self.medins_code,
                                creds=Credentials(self._app_key, self._secret, self._sign),
                                timestamp=str(int(self._wall() * 1000)), nonce=uuid.uuid4().hex, token=token,
                                idem_key=idem_key)
        if self._pacer is not None:
            self._pacer.wait()
        try:
            resp = self._http.request(req.method, req.path, content=req.body, headers=req.headers)
        except httpx.TimeoutException:
            raise PlatformCallError(f"{op}: the platform did not answer in time", transient=True) from None
        except httpx.ConnectError as exc:
            if _is_cert_failure(exc):
                raise PlatformCallError(f"{op}: the platform's TLS certificate was refused (check ca_file)",
                                        transient=False) from None
            raise PlatformCallError(f"{op}: the platform is unreachable", transient=True) from None
        except httpx.TransportError as exc:
            raise PlatformCallError(f"{op}: the connection broke ({type(exc).__name__})", transient=True) from None
        return self._answer(op, resp)

    def _answer(self, op: str, resp: httpx.Response) -> Answer:
        if resp.status_code in (429, 503):
            what = "asks us to slow down" if resp.status_code == 429 else "is unavailable (down for maintenance or overloaded)"
            raise PlatformCallError(f"{op}: the platform {what} (HTTP {resp.status_code})",
                                    transient=True, retry_after_s=_retry_after(resp), code="3001")
        if resp.status_code >= 500:
            raise PlatformCallError(f"{op}: the platform failed (HTTP {resp.status_code})", transient=True)
        try:
            body = self.profile.decode(resp.content)
        except ValueError:  # JSONDecodeError and UnicodeDecodeError are ValueErrors too
            kind = resp.headers.get("Content-Type", "?").split(";")[0]
            raise PlatformCallError(f"{op}: the platform answered HTTP {resp.status_code} with {kind}, not "
                                    f"{self.profile.media} (a maintenance page?)", transient=True) from None
        answer = self.profile.parse(op, resp.status_code, body)
        if self.profile.kind(answer.code) == "busy":
            wait = _retry_after(resp)
            raise PlatformCallError(f"{op}: the platform is busy ({answer.code}): {answer.message}", transient=True,
                                    code=answer.code,
                                    retry_after_s=wait if wait is not None else self.profile.retry_after_s(answer.code))
        if self.profile.kind(answer.code) == "auth":
            raise PlatformCallError(f"{op}: the platform refused our credentials ({answer.code}): {answer.message}",
                                    transient=False, code=answer.code, platform_message=answer.message)
        return answer
