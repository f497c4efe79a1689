"""A reference provincial procurement platform (参考采购平台) for tests and ``make demo``.

No real platform can be reached from a test, so this one plays it: orders, delivery notes
(配送单), arrival confirmation (到货确认), bills (结算单) and report upload, behind every profile's
door (``/gateway``, ``/api/v1/*``, the SOAP ``/soap/SendRecv``), with signature, timestamp
(±5 min), replay and idempotency checks, a rate limit, and faults on demand. Run it alone with
``python -m refplatform --port 8700`` (OpenAPI at ``/openapi.json``) or in-process::

    with ReferencePlatform(apps={"demo-app": "demo-secret"}) as ref:   # a free loopback port
        ref.seed_for_receipts("H1", receipts)   # a delivery line per warehouse receipt
        ... point the agent at ref.url ...
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from refplatform.faults import FaultPlan, RateLimit
from refplatform.server import PlatformServer
from refplatform.state import PlatformState

__all__ = ["ReferencePlatform", "start_reference_platform"]


class ReferencePlatform:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, apps: dict[str, str] | None = None,
                 rate_per_s: float | None = None, burst: int = 5, token_ttl_s: float = 3600.0,
                 certfile: str | None = None, keyfile: str | None = None, soap_preset: str = "dispatcher",
                 auth_codes: dict[str, str] | None = None, now: Callable[[], datetime] | None = None) -> None:
        self.now = now or (lambda: datetime.now().astimezone())  # stamps a line seeded without a time
        apps = dict(apps or {"demo-app": "demo-secret"})
        # Zhejiang's token: appCode/authCode; by default the app key and its secret (the agent's default too)
        self.state = PlatformState(apps=apps, token_ttl_s=token_ttl_s, auth_codes=dict(auth_codes or apps))
        self.faults = FaultPlan()
        self.rate = RateLimit(rate_per_s, burst)
        self.server = PlatformServer((host, port), self.state, self.faults, self.rate, soap_preset)
        self.scheme = "http"
        if certfile:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(certfile, keyfile)
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
            self.scheme = "https"
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.server.server_address[0]}:{self.port}"

    def start(self) -> ReferencePlatform:
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="refplatform", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> ReferencePlatform:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what tests and the demo need -------------------------------------------------------------
    def arm(self, mode: str, count: int = 1, delay_s: float = 0.0, retry_after_s: float | None = None,
            on: bool = True) -> None:
        self.faults.arm(mode, count, delay_s, retry_after_s, on)

    def seed_delivery(self, medins_code: str, shp_id: str, product_code: str, quantity: Any, *, lot: str | None = None,
                      shipped_at: datetime | None = None, updated_at: datetime | None = None, **extra: Any) -> None:
        self.state.seed(medins_code, {
            "shpId": shp_id, "prodCode": product_code, "shpCnt": str(quantity), "manuLotnum": lot,
            "shppTime": shipped_at.isoformat() if shipped_at else None,
            "updtTime": (updated_at or shipped_at or self.now()).isoformat(), **extra,
        })

    def seed_order(self, medins_code: str, order_id: str, product_code: str, quantity: Any, ordered_at: datetime, *,
                   distributor: str = "DIST01", distributor_name: str = "示例医药配送有限公司",
                   responded_at: datetime | None = None, delivered_quantity: Any = None,
                   delivered_at: datetime | None = None, price: Any = None, listed_price: Any = None,
                   updated_at: datetime | None = None, **extra: Any) -> None:
        """An order line (采购订单明细) and what the distributor did with it; seeding it again with
        the same id is the platform's update (response, delivery), stamped ``updated_at``."""
        def iso(at: datetime | None) -> str | None:
            return at.isoformat() if at else None

        stamp = updated_at or max(t for t in (ordered_at, responded_at, delivered_at) if t is not None)
        self.state.seed(medins_code, {
            "ordDetlId": order_id, "ordCode": extra.pop("ordCode", f"O{order_id}"), "prodCode": product_code,
            "prodName": extra.pop("prodName", None), "delventpCode": distributor, "delventpName": distributor_name,
            "purcCnt": str(quantity), "purcpric": None if price is None else str(price),
            "pubonlnPric": None if listed_price is None else str(listed_price), "subTime": iso(ordered_at),
            "respTime": iso(responded_at), "disCnt": None if delivered_quantity is None else str(delivered_quantity),
            "disTime": iso(delivered_at), "updtTime": stamp.isoformat(), **extra,
        }, "orders")

    def seed_bill(self, medins_code: str, bill_id: str, amount: Any, accepted_at: datetime, *,
                  distributor: str = "DIST01", distributor_name: str = "示例医药配送有限公司",
                  issued_at: datetime | None = None, checked_at: datetime | None = None, paid_at: datetime | None = None,
                  updated_at: datetime | None = None) -> None:
        """A distributor's bill (结算单) for goods accepted by ``accepted_at``, with the hospital's check
        (对账上传) and payment (回款) when they happened; seeding it again is the platform's update."""
        issued = issued_at or accepted_at
        stamp = updated_at or max(t for t in (issued, checked_at, paid_at) if t is not None)
        self.state.seed(medins_code, {
            "stmtId": bill_id, "delventpCode": distributor, "delventpName": distributor_name, "stmtAmt": str(amount),
            "acpTime": accepted_at.isoformat(), "crteTime": issued.isoformat(),
            "chkTime": checked_at.isoformat() if checked_at else None, "payTime": paid_at.isoformat() if paid_at else None,
            "updtTime": stamp.isoformat(),
        }, "bills")

    def seed_for_receipts(self, medins_code: str, receipts: list[Any], *, shipped_before: timedelta = timedelta(hours=6),
                          with_ids: bool = True, listed_at: datetime | None = None) -> list[str]:
        """One delivery line per receipt (objects with ``item_code``, ``quantity``, ``lot``,
        ``accepted_at``, optional ``delivery_id``); returns the delivery ids in order. A line is
        listed (its update time) when it is shipped, or at ``listed_at`` when given."""
        ids = []
        for n, r in enumerate(receipts, 1):
            shp = (getattr(r, "delivery_id", None) if with_ids else None) or f"SHP{abs(hash(r.line_id)) % 10**10:010d}{n:04d}"
            accepted = getattr(r, "accepted_at", None) or self.now()
            self.seed_delivery(medins_code, shp, r.item_code, Decimal(str(r.quantity)), lot=getattr(r, "lot", None),
                               shipped_at=accepted - shipped_before, updated_at=listed_at, ordCode=f"ORD{n:06d}",
                               delventpCode="DIST01")
            ids.append(shp)
        return ids

    def url_for(self, profile: str, service: str = "drugs") -> str:
        """The base URL of ``profile``'s service: Shanghai's consumables are a separate endpoint."""
        return self.url + ("/hc" if profile == "sh_soap" and service == "consumables" else "")

    def platform_section(self, profile: str = "zj_infno", secret_env: str = "VBP_PLATFORM_SECRET") -> dict[str, Any]:
        """The agent's ``[platform]`` config for this server (first app); put its secret in ``secret_env``."""
        app_key = next(iter(self.state.apps))
        section = {"profile": profile, "base_url": self.url_for(profile), "app_key": app_key, "secret_env": secret_env,
                   "max_rate_per_s": 50.0}
        if profile == "sh_soap":
            section.update(soap_preset=self.server.soap_preset, head_ip="127.0.0.1", head_mac="00-00-00-00-00-00")
        return section

    def secret_of(self, app_key: str) -> str:
        return self.state.apps[app_key]

    def confirmed(self) -> dict[str, str]:
        """shpId -> confirmed quantity, as the platform holds it."""
        return {c["shpId"]: c["quantity"] for c in self.state.summary()["confirmations"]}

    def stats(self) -> dict[str, Any]:
        return {**self.state.summary(), "requests": self.server.requests, "rate_refused": self.rate.refused,
                "idempotent_replays": self.server.idempotent_replays, "faults_fired": dict(self.faults.fired),
                "refused": dict(self.server.refused), "soap_messages": dict(self.server.soap_messages),
                "received": list(self.server.received)}


def start_reference_platform(**kwargs: Any) -> ReferencePlatform:
    """Start a reference platform on a free loopback port (``.url``, ``.stop()``)."""
    return ReferencePlatform(**kwargs).start()
