"""TLS to the platform: verified against the hospital's CA bundle; a certificate it cannot vouch for is refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from platform_support import APP_KEY, HOSPITAL, SECRET, START, make_client

from agent.upstream.client import PlatformCallError
from refplatform import ReferencePlatform


@pytest.fixture
def tls_ref(tmp_path: Path) -> Iterator[tuple[ReferencePlatform, Path]]:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert.private_key_and_cert_chain_pem.write_to_path(str(tmp_path / "server.pem"))
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    with ReferencePlatform(apps={APP_KEY: SECRET}, certfile=str(tmp_path / "server.pem"), now=lambda: START) as ref:
        yield ref, tmp_path / "ca.pem"


def test_the_platform_certificate_is_verified_against_the_configured_ca(tls_ref) -> None:
    ref, ca_file = tls_ref
    assert ref.url.startswith("https://")
    client = make_client(ref, verify=str(ca_file))
    ref.seed_delivery(HOSPITAL, "SHP-TLS", "Y0001", 1)
    lines, more = client.deliveries(None, None, 10)
    assert [ln["delivery_id"] for ln in lines] == ["SHP-TLS"] and more is False


def test_a_certificate_from_another_ca_is_refused_and_nothing_is_sent(tls_ref, tmp_path: Path) -> None:
    ref, _ = tls_ref
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    with pytest.raises(PlatformCallError) as err:
        make_client(ref, verify=str(other)).fetch_token()
    assert "certificate was refused" in str(err.value)
    assert err.value.permanent and err.value.scope == "link"
    assert ref.stats()["requests"] == 0


def test_the_system_trust_store_refuses_a_private_ca_too(tls_ref) -> None:
    ref, _ = tls_ref
    with pytest.raises(PlatformCallError, match="certificate was refused"):
        make_client(ref, verify=True).fetch_token()
