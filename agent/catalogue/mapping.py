"""The 对码 service: propose a winning product and generic group for each local item, persist it.

``map_items`` takes any iterable of ``LocalItem`` (the ingestion ItemSource, or a fixture list),
proposes with the matcher, and writes ``item_mappings`` keyed by (hospital, item code). Reviewed
decisions and manual overrides (status ``reviewed`` / ``manual``) are never overwritten by a
re-run: only the item's snapshot is refreshed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, insert, select, update

from agent.domain.catalogue import Kind, WinningProduct
from agent.domain.matching import Matcher, Proposal
from agent.domain.model import LocalItem
from agent.store import Store
from agent.store.schema.catalogue import item_mappings, winning_products

DECIDED = ("reviewed", "manual")


@dataclass
class MappingSummary:
    auto: int = 0
    review: int = 0
    none: int = 0
    kept: int = 0  # reviewed or manual decisions left as they were
    without_factor: list[str] = field(default_factory=list)  # item codes with no known factor

    def as_text(self) -> str:
        return (f"自动对码{self.auto}，待审核{self.review}，非集采品种{self.none}，保留人工结论{self.kept}，"
                f"缺少换算系数{len(self.without_factor)}")


def load_products(conn: Any, hospital: str) -> list[WinningProduct]:
    """Every winning product of the hospital, one per product key (the latest import wins)."""
    rows = conn.execute(select(winning_products).where(winning_products.c.hospital_code == hospital)
                        .order_by(winning_products.c.updated_at, winning_products.c.id)).mappings()
    by_key: dict[str, WinningProduct] = {}
    for r in rows:
        by_key[r["product_key"]] = product_of(r)
    return list(by_key.values())


def product_of(r: Any) -> WinningProduct:
    return WinningProduct(
        generic_name=r["generic_name"], dosage_form=r["dosage_form"], spec=r["spec"], manufacturer=r["manufacturer"],
        kind=Kind(r["kind"]), pack=_dec(r["pack"]), smallest_unit=r["smallest_unit"], national_code=r["national_code"],
        price=_dec(r["price"]), category=r["category"])


def _dec(v: Any) -> Decimal | None:
    return None if v is None else Decimal(v).normalize()


def item_json(item: LocalItem) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in asdict(item).items()}


def proposal_values(p: Proposal) -> dict[str, Any]:
    return dict(
        status=p.status, product_key=p.product_key, group_key=p.group_key, confidence=p.confidence, reason=p.reason,
        candidates=[{"product_key": c.product_key, "group_key": c.group_key, "score": c.score, "reasons": list(c.reasons)}
                    for c in p.candidates],
        factor=p.factor, factor_source=p.factor_source)


def map_items(store: Store, items: Iterable[LocalItem], now: datetime, *, auto_accept: float = 0.9,
              top: int = 3) -> MappingSummary:
    """Run 对码 over ``items`` and persist the proposals; returns the counts."""
    hospital = store.hospital_code
    summary = MappingSummary()
    with store.begin() as conn:
        matcher = Matcher(load_products(conn, hospital), auto_accept=auto_accept, top=top)
        existing = {r["item_code"]: r for r in conn.execute(
            select(item_mappings.c.item_code, item_mappings.c.status, item_mappings.c.factor)
            .where(item_mappings.c.hospital_code == hospital)).mappings()}
        for item in items:
            old = existing.get(item.code)
            snapshot = dict(item_name=item.name, item=item_json(item), updated_at=now)
            where = and_(item_mappings.c.hospital_code == hospital, item_mappings.c.item_code == item.code)
            if old is not None and old["status"] in DECIDED:
                conn.execute(update(item_mappings).where(where).values(**snapshot))
                summary.kept += 1
                if old["factor"] is None:
                    summary.without_factor.append(item.code)
                continue
            proposal = matcher.propose(item)
            values = {**proposal_values(proposal), **snapshot}
            if old is None:
                conn.execute(insert(item_mappings).values(hospital_code=hospital, item_code=item.code, **values))
            else:
                conn.execute(update(item_mappings).where(where).values(**values))
            setattr(summary, proposal.status, getattr(summary, proposal.status) + 1)
            if proposal.factor is None and (proposal.product_key or proposal.group_key):
                summary.without_factor.append(item.code)
    return summary


def decide(store: Store, item_code: str, now: datetime, *, product_key: str | None, group_key: str | None,
           factor: Decimal | None, by: str = "manual", status: str = "manual") -> None:
    """A manual override (人工对码): it persists across re-runs of ``map_items``."""
    where = and_(item_mappings.c.hospital_code == store.hospital_code, item_mappings.c.item_code == item_code)
    with store.begin() as conn:
        conn.execute(update(item_mappings).where(where).values(
            status=status, product_key=product_key, group_key=group_key, factor=factor,
            factor_source="review" if factor is not None else None, decided_by=by, decided_at=now, updated_at=now,
            confidence=1.0))
