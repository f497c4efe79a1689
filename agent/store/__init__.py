"""The state store: SQLite by default (WAL, synchronous=FULL, BEGIN IMMEDIATE), PostgreSQL for a group.

Every query lives in this package, one repository module per aggregate. Callers open a unit of work
with ``store.begin()`` (write) or ``store.read()`` and hand the ``Tx`` it yields to repository
functions; they never build SQL and never import SQLAlchemy.
"""

from sqlalchemy import Connection as Tx

from agent.store.engine import Store, open_store

__all__ = ["Store", "Tx", "open_store"]
