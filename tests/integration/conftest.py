"""Fixtures the platform tests share (``platform_support``): a reference platform on loopback, a
SQLite store, and a clock fixed on the day their receipts are accepted."""

from platform_support import clock, ref, store

__all__ = ["clock", "ref", "store"]
