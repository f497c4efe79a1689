"""Presets for HIS and prescription systems (SQL as data)."""
