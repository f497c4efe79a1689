"""Completion by acceptance (按验收): what the platform and the bureau count.

The platform counts a delivery once the hospital accepts it (到货验收 / 入库), not when it is used.
Warehouse receipt lines come in the unit the warehouse recorded: the HIS unit, the smallest unit
(片/粒/支) or a pack unit (盒/瓶...), some with the line's own factor. A line is converted to the
product's smallest unit by its own factor, else by its unit when that is known for the item (the
smallest unit, the HIS unit and its factor, the pack its spec names); otherwise it is left out and counted as unconvertible, never
guessed (as an item without a factor is skipped in usage).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from agent.domain.monitoring_model import AcceptedTotal, ItemLink
from agent.domain.normalise import split_name_spec
from agent.domain.progress import ProductProgress
from agent.domain.spec import factor_to_smallest, parse_spec


@dataclass
class AcceptedSum:
    """One product's acceptances over a range."""

    qty: float = 0.0  # smallest units, on-platform lines whose unit converts
    unconvertible: int = 0  # on-platform lines left out: their unit is not known for the item
    received: bool = False  # any line for the product's items (on or off the platform)


def receipt_factor(unit: str | None, link: ItemLink) -> float | None:
    """Smallest units per ``unit`` for this item: 1 for the smallest unit, the HIS unit's factor, a
    pack's size when the item's own spec names that pack (20mg*7片/盒, 5mg×7片×4板/盒); None
    otherwise (a 瓶 of a spec that names no 瓶 is not assumed to be its pack)."""
    u = (unit or "").strip()
    if not u:
        return None
    if link.smallest_unit and u == link.smallest_unit.strip():
        return 1.0
    if link.his_unit and u == link.his_unit.strip() and link.factor is not None:
        return link.factor
    spec = parse_spec(link.spec or split_name_spec(link.name)[1])
    if u != spec.container and u not in [x for _, x in spec.counts]:
        return None
    factor = factor_to_smallest(u, spec, link.smallest_unit)
    return None if factor is None else float(factor)


def accepted_units(totals: Iterable[AcceptedTotal], links: Mapping[str, ItemLink]) -> dict[str, AcceptedSum]:
    """Per winning product: accepted quantity in smallest units and the lines left out."""
    out: dict[str, AcceptedSum] = {}
    factors: dict[tuple[str, str | None], float | None] = {}
    for t in totals:
        link = links.get(t.item_code)
        if link is None or link.product_id is None:
            continue
        acc = out.setdefault(link.product_id, AcceptedSum())
        acc.received = True
        if not t.on_platform:
            continue
        if t.factor is not None and t.factor > 0:
            factor: float | None = t.factor  # the line's own factor first, then the item's, then its spec's pack
        else:
            key = (t.item_code, t.unit)
            if key not in factors:
                factors[key] = receipt_factor(t.unit, link)
            factor = factors[key]
        if factor is None:
            acc.unconvertible += t.lines
        else:
            acc.qty += t.qty * factor
    return out


def with_acceptance(p: ProductProgress, by_product: Mapping[str, AcceptedSum] | None) -> ProductProgress:
    """Completion by acceptance beside completion by usage: none without receipts for its items, or
    when every on-platform line was left out (its unit unknown)."""
    acc = (by_product or {}).get(p.product.product_id)
    if acc is None or not acc.received:
        return p
    agreed = p.product.agreed_qty
    known = acc.qty > 0 or not acc.unconvertible
    completion = (acc.qty / agreed if agreed > 0 else 0.0) if known else None
    return dataclasses.replace(p, accepted=acc.qty, accepted_completion=completion,
                               accepted_unconvertible=acc.unconvertible)
