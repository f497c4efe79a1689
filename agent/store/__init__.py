"""The state store: SQLite by default (WAL, synchronous=FULL, BEGIN IMMEDIATE), PostgreSQL for a group."""

from agent.store.engine import Store, open_store

__all__ = ["Store", "open_store"]
