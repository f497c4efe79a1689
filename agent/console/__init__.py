"""The pharmacy console (药学部控制台, issue #22): server-rendered pages over the store, for staff who
do not use a terminal. ``vbp-agent console`` serves it; ``vbp-agent users`` manages its accounts.

Layer: above the service layer, below the composition root. It reads through the repositories and
the monitoring inputs, and acts through the functions the CLI uses (``agent.alerts.actions``,
``agent.catalogue.review.decide_item``, ``agent.jobs.reporting``); every asset is in ``static/``.
"""
