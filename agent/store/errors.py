"""What the state store's own failures mean to a caller that must not import SQLAlchemy."""

from __future__ import annotations

from sqlalchemy.exc import OperationalError


def store_went_away(exc: BaseException) -> bool:
    """True when ``exc`` is the state store's connection failing (a restart, the network, a locked
    file): retrying helps."""
    return isinstance(exc, OperationalError)
