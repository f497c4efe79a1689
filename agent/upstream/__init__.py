"""The provincial procurement platform (省级医药集中采购平台): profiles, signing, delivery sync,
arrival confirmation (到货确认) through the outbox, deadline safety and report upload.

Entry points: ``link.build_platform`` (from the ``[platform]`` section), ``confirm.enqueue_confirmations`` (the
ingestion's ``on_stored`` callback), ``agent.jobs.platform`` (what the scheduler runs).
Their tables are read and written through ``agent.store.platform`` (and the outbox through
``agent.store.outbox``); nothing here builds SQL.
"""
