"""Alerts (告警): lifecycle state in the store, routing, grouping, digest, rendering in Chinese."""
