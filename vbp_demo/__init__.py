"""``make demo``: the agent against a simulated hospital and the reference platform, on this machine.

Not part of the production agent: it adds its ``vbp-agent demo`` command through the
``vbp_agent.commands`` entry point, so the agent never imports the simulator or the reference
platform (import-linter holds it to that).
"""
