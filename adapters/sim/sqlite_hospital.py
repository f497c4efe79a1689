"""The demo's simulated hospital: one SQLite file holding a HIS and a warehouse (库房) database.

``build_sqlite_hospital`` is deterministic for a seed. ``plan`` plants (a) a rise in one item
(a non-winning one, for the demo) in one department from a given day and (b) receipt lines with
given acceptance times (验收时间), so the arrival-confirmation clock has something to watch.
``replenish`` makes the warehouse restock what was used (see ``Hospital``) instead of random lines.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from adapters.his import mssql_his, oracle_his
from adapters.sim.hospital import Hospital, Plan, PlantedReceipt
from adapters.sim.load import Target, load_his, load_warehouse
from adapters.warehouse import std

__all__ = ["Plan", "PlantedReceipt", "build_sqlite_hospital"]


def build_sqlite_hospital(path: str | Path, seed: int, start: date, days: int, *, plan: Plan | None = None,
                          his_preset: str = "mssql_his", rows_per_day: int = 200, rest_day_factor: float = 1.0,
                          replenish: bool = False) -> Hospital:
    """Write the HIS (preset ``his_preset``) and warehouse (``warehouse_std``) tables into ``path``
    (replaced if it exists). Returns the simulation, whose ``expected_usage`` is the truth."""
    path = Path(path)
    path.unlink(missing_ok=True)
    hospital = Hospital(seed, start, days, rows_per_day=rows_per_day, plan=plan, rest_day_factor=rest_day_factor,
                        replenish=replenish)
    preset = {"mssql_his": mssql_his.PRESET, "oracle_his": oracle_his.PRESET}[his_preset]
    target = Target.sqlite(path)
    try:
        load_his(target, hospital, preset)
        load_warehouse(target, hospital, std.PRESET)
    finally:
        target.close()
    return hospital
