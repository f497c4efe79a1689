"""高值/低值 of the hospital's consumables, as staff review it (``vbp-agent consumables list|set``).

Each consumable of the HIS / material dictionaries is classed by ``agent.domain.consumables``: a
pharmacist's decision, else its 27-character code's class, else its price against
``[catalogue] high_value_price``. The 80% 网采率 line counts the high-value ones (and the undecided,
until someone decides them); the list shows why each is where it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from agent.catalogue.config import CatalogueConfig
from agent.domain.consumables import HIGH, LOW, ValueClass, ValueRule
from agent.errors import DataError
from agent.store import Store, dictionaries
from agent.store import catalogue as repo


def value_rule(cfg: CatalogueConfig) -> ValueRule:
    return ValueRule(Decimal(str(cfg.high_value_price)), cfg.high_value_classes)


@dataclass(frozen=True)
class ConsumableValue:
    item_code: str
    name: str
    national_code: str | None
    price: Decimal | None
    value: ValueClass


def consumable_values(store: Store, rule: ValueRule) -> list[ConsumableValue]:
    """Every consumable of the dictionaries with its class and the reason, by item code."""
    with store.read() as conn:
        items = [i for i in dictionaries.local_items(conn, store.hospital_code) if i.kind == "consumable"]
        decided = repo.consumable_overrides(conn, store.hospital_code)
    out = []
    for i in items:
        o = decided.get(i.code)
        price = None if i.price is None else Decimal(i.price)
        out.append(ConsumableValue(i.code, i.name, i.national_code, price,
                                   rule.classify(i.national_code, price, o["value"] if o else None,
                                                 o["decided_by"] if o else None)))
    return out


def set_value(store: Store, item_code: str, value: str, by: str, now: datetime, note: str | None = None) -> None:
    """A pharmacist's decision: ``high``, ``low``, or ``auto`` to withdraw it (the rule decides again)."""
    if value not in (HIGH, LOW, "auto"):
        raise DataError(f"value must be high, low or auto, not '{value}'")
    if not by.strip():
        raise DataError("--by: who decides must be named")
    with store.begin() as conn:
        known = {i.code for i in dictionaries.local_items(conn, store.hospital_code) if i.kind == "consumable"}
        if item_code not in known:
            raise DataError(f"item '{item_code}' is no consumable of the HIS / material dictionaries as last read")
        repo.set_consumable_value(conn, store.hospital_code, item_code, None if value == "auto" else value, by, now, note)
