"""Presets for warehouse systems (库房 / 物资管理)."""
