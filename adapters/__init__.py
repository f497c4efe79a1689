"""Adapters: one module per source product; SQL lives here as data."""
