"""vbp-agent: in-hospital early warning for volume-based procurement (集中带量采购)."""

__version__ = "0.1.0"
