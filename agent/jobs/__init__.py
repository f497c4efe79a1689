"""Scheduled jobs: one module per job, each one short function over ports, inputs and the store."""
