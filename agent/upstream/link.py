"""Building the platform link from the config: the client, the drainer, the ingestion callback."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from agent.clock import Clock
from agent.domain.model import Receipt
from agent.store import Store, Tx
from agent.upstream.client import Pacer, PlatformClient
from agent.upstream.config import PlatformConfig
from agent.upstream.confirm import make_on_stored
from agent.upstream.drain import Drainer
from agent.upstream.profiles import get_profile


def build_client(pcfg: PlatformConfig, hospital_code: str, *, transport: httpx.BaseTransport | None = None,
                 pace: bool = True) -> PlatformClient:
    """A client for ``pcfg``; checks the signer works here and reads the secret (ConfigError if not)."""
    profile = get_profile(pcfg.profile).configured(pcfg.profile_options())
    timeout = httpx.Timeout(connect=pcfg.connect_timeout_s, read=pcfg.read_timeout_s, write=pcfg.write_timeout_s,
                            pool=pcfg.pool_timeout_s)
    verify: Any = str(pcfg.ca_file) if pcfg.ca_file else True
    return PlatformClient(
        profile, pcfg.base_url, pcfg.app_key, pcfg.secret(), pcfg.medins_code or hospital_code,
        signer=pcfg.signer_name, timeout=timeout, verify=verify, transport=transport,
        pacer=Pacer(pcfg.max_rate_per_s) if pace else None, app_code=pcfg.app_code, auth_code=pcfg.auth_code(),
    )


@dataclass
class PlatformLink:
    config: PlatformConfig
    client: PlatformClient
    hospital_code: str

    def drainer(self, store: Store, clock: Clock) -> Drainer:
        return Drainer(store, self.client, clock, batch=self.config.drain_batch,
                       retry_after_cap_s=self.config.retry_after_cap_s, inline_wait_cap_s=self.config.inline_wait_cap_s)

    def on_stored(self, clock: Clock) -> Callable[[Tx, Sequence[Receipt]], int]:
        """The ingestion's ``on_stored(conn, receipts)``: queue confirmations in its transaction."""
        return make_on_stored(self.hospital_code, clock.now, self.config.item_map, self.config.match_min_confidence,
                              self.config.auto_confirm_max_age)

    def close(self) -> None:
        self.client.close()


def build_platform(pcfg: PlatformConfig | None, hospital_code: str) -> PlatformLink | None:
    """The link for the ``[platform]`` section ``pcfg`` of hospital ``hospital_code`` (the platform's
    医疗机构代码 unless ``medins_code`` says otherwise), or None when the config has no such section."""
    if pcfg is None:
        return None
    return PlatformLink(pcfg, build_client(pcfg, hospital_code), hospital_code)
