"""The provincial procurement platform (省级医药集中采购平台): profiles, signing, delivery sync,
arrival confirmation (到货确认) through the outbox, deadline safety and report upload.

Entry points: ``link.build_platform`` (from the config), ``confirm.enqueue_confirmations`` (the
ingestion's ``on_stored`` callback), ``agent.jobs.platform`` (what the scheduler runs).
"""
