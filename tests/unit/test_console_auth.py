"""Console passwords: scrypt at the cost the module names, and a hash that carries its own cost."""

from __future__ import annotations

from agent.console import auth


def test_a_password_is_hashed_at_the_named_scrypt_cost_and_checks() -> None:
    stored = auth.hash_password("正确的密码-1234")
    kind, n, r, p, _salt, _digest = stored.split("$")
    assert (kind, int(n), int(r), int(p)) == ("scrypt", 2**15, 8, 1)
    assert auth.verify_password("正确的密码-1234", stored)
    assert not auth.verify_password("正确的密码-1235", stored)


def test_a_hash_made_at_another_cost_is_checked_at_its_own(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """What the console tests rely on when they hash their accounts' passwords cheaply, and what lets
    a later version raise the cost without locking anyone out."""
    monkeypatch.setattr(auth, "SCRYPT_N", 2**10)
    cheap = auth.hash_password("another-password")
    monkeypatch.undo()
    assert cheap.split("$")[1] == str(2**10)
    assert auth.verify_password("another-password", cheap)
    assert not auth.verify_password("another-passwore", cheap)
    assert not auth.verify_password("another-password", cheap.replace("$1024$", "$2048$", 1))
