"""What the state store's own failures mean to a caller that must not import SQLAlchemy."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError, SQLAlchemyError

from agent.errors import StoreError


def store_went_away(exc: BaseException) -> bool:
    """True when ``exc`` is the state store's connection failing (a restart, the network, a locked
    file): retrying helps."""
    return isinstance(exc, (OperationalError, InterfaceError, DisconnectionError))


def as_store_error(exc: BaseException) -> StoreError | None:
    """The one-line StoreError a command prints for a failure of the state store in the middle of
    its work (transient or permanent, and what to do); None when ``exc`` is not the store's."""
    if not isinstance(exc, SQLAlchemyError):
        return None
    cause = getattr(exc, "orig", None) if isinstance(exc, DBAPIError) else None
    detail = " ".join(str(cause if cause is not None else exc).split())[:200]
    if store_went_away(exc):
        return StoreError(f"the state store stopped answering ({detail}); the unfinished transaction was rolled "
                          "back and nothing half-written is kept: run the command again once the database is back",
                          transient=True)
    return StoreError(f"the state store refused the work ({type(cause or exc).__name__}: {detail}); retrying will not "
                      "help: check state.url and the database's log, then run `vbp-agent status`", transient=False)
