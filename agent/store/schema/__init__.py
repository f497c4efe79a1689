"""One module per component of the state store.

Each module defines ``COMPONENT`` (its name), its SQLAlchemy Core tables on the shared
``metadata`` and ``MIGRATIONS``: an ordered list of functions ``(Connection) -> None``. The
component's schema version is ``len(MIGRATIONS)``. Components version independently, so work on
one never renumbers another. A migration, once released, never changes: add a new one.
Use the helpers in ``agent.store.migrate`` (``create_tables``, ``add_column``) in migrations.
"""
