"""Request signers (签名): a registry dict of HMAC functions, checked once at start.

A platform signs ``timestamp + "\\n" + body`` (the profile decides the exact string) with the app
secret and sends the hex digest. HMAC-SM3 (国密) comes from OpenSSL through ``hmac`` where the
build has SM3, else from the ``cryptography`` package; ``check_signer`` proves at start that the
chosen signer gives the known answer, so a missing algorithm stops the agent, not a confirmation.
``sha1`` is no HMAC: the Shanghai-style SOAP shape sends the plain SHA-1 of its XML message as
an integrity check (the password in the body authenticates), so that signer ignores the secret.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

from agent.errors import ConfigError

Signer = Callable[[bytes, bytes], str]
"""(secret, message) -> lowercase hex digest."""


def hmac_sha256(secret: bytes, message: bytes) -> str:
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def sha1_of_message(_secret: bytes, message: bytes) -> str:
    """SHA-1 of the message alone (the ``sh_soap`` sign); the secret is not part of it."""
    return hashlib.sha1(message).hexdigest()


def _hmac_sm3_openssl(secret: bytes, message: bytes) -> str:
    return hmac.new(secret, message, "sm3").hexdigest()


def _hmac_sm3_cryptography(secret: bytes, message: bytes) -> str:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives import hmac as chmac

    mac = chmac.HMAC(secret, hashes.SM3())
    mac.update(message)
    return mac.finalize().hex()


def _openssl_has_sm3() -> bool:
    if "sm3" not in hashlib.algorithms_available:
        return False
    try:
        hashlib.new("sm3")
    except ValueError:
        return False
    return True


def hmac_sm3(secret: bytes, message: bytes) -> str:
    """HMAC-SM3 in hex, from whichever implementation this machine has."""
    impl = _hmac_sm3_openssl if _openssl_has_sm3() else _hmac_sm3_cryptography
    return impl(secret, message)


SIGNERS: dict[str, Signer] = {
    "hmac-sha256": hmac_sha256,
    "hmac-sm3": hmac_sm3,
    "sha1": sha1_of_message,
}

# Known answers for secret b"key", message b"The quick brown fox jumps over the lazy dog"; the SM3
# one was computed by OpenSSL and by cryptography alike, whose SM3 gives GB/T 32905's "abc" vector.
_KAT_SECRET = b"key"
_KAT_MESSAGE = b"The quick brown fox jumps over the lazy dog"
_KNOWN_ANSWERS = {
    "hmac-sha256": "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8",
    "hmac-sm3": "bd4a34077888162b210645b8ebf74b9af357303789357a27c7fc457244ebd398",
    "sha1": "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12",
}


def sm3_implementation() -> str:
    """Which library computes SM3 here: 'openssl', 'cryptography' or 'none'."""
    if _openssl_has_sm3():
        return "openssl"
    try:
        _hmac_sm3_cryptography(b"k", b"m")
    except (ImportError, AttributeError, ValueError):  # cryptography missing, or built without SM3
        return "none"
    return "cryptography"


def check_signer(name: str) -> Signer:
    """The signer called ``name``, after proving it gives the known answer; ConfigError otherwise."""
    signer = SIGNERS.get(name)
    if signer is None:
        raise ConfigError(f"platform signer '{name}' is unknown: use one of {', '.join(sorted(SIGNERS))}")
    if name == "hmac-sm3" and sm3_implementation() == "none":
        raise ConfigError(
            "platform signer hmac-sm3: this machine's OpenSSL has no SM3 and the cryptography package "
            "cannot compute it either; install an OpenSSL 1.1.1+ build with SM3"
        )
    expected = _KNOWN_ANSWERS.get(name)
    if expected is not None and signer(_KAT_SECRET, _KAT_MESSAGE) != expected:
        raise ConfigError(f"platform signer {name} gives a wrong answer on this machine")
    return signer
