"""Scheduled jobs: each one short function over ports, inputs and the store."""
