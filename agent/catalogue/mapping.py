"""The 对码 service: propose a winning product and generic group for each local item, persist it.

``map_items`` takes any iterable of ``LocalItem`` (the ingestion ItemSource, or a fixture list),
proposes with the matcher, and writes ``item_mappings`` keyed by (hospital, item code). Reviewed
decisions and manual overrides (status ``reviewed`` / ``manual``) are never overwritten by a
re-run: only the item's snapshot is refreshed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from agent.domain.matching import Matcher, Proposal
from agent.domain.model import LocalItem
from agent.store import Store, mappings
from agent.store import catalogue as repo

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


def item_json(item: LocalItem) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in asdict(item).items()}


def proposal_values(p: Proposal) -> dict[str, Any]:
    return dict(
        status=p.status, product_key=p.product_key, group_key=p.group_key, confidence=p.confidence, reason=p.reason,
        candidates=[{"product_key": c.product_key, "group_key": c.group_key, "score": c.score, "reasons": list(c.reasons)}
                    for c in p.candidates],
        factor=p.factor, factor_source=p.factor_source)


def map_items(store: Store, items: Iterable[LocalItem], now: datetime, *, auto_accept: float = 0.9,
              top: int = 3, synonyms: Mapping[str, str] | None = None) -> MappingSummary:
    """Run 对码 over ``items`` and persist the proposals; returns the counts."""
    hospital = store.hospital_code
    summary = MappingSummary()
    with store.begin() as conn:
        matcher = Matcher(repo.load_products(conn, hospital), auto_accept=auto_accept, top=top, synonyms=synonyms)
        existing = mappings.mapping_states(conn, hospital)
        for item in items:
            old = existing.get(item.code)
            snapshot = dict(item_name=item.name, item=item_json(item), updated_at=now)
            if old is not None and old["status"] in DECIDED:
                mappings.update_mapping(conn, hospital, item.code, snapshot)
                summary.kept += 1
                if old["factor"] is None:
                    summary.without_factor.append(item.code)
                continue
            proposal = matcher.propose(item)
            values = {**proposal_values(proposal), **snapshot}
            if old is None:
                mappings.insert_mapping(conn, hospital, item.code, values)
            else:
                mappings.update_mapping(conn, hospital, item.code, values)
            setattr(summary, proposal.status, getattr(summary, proposal.status) + 1)
            if proposal.factor is None and (proposal.product_key or proposal.group_key):
                summary.without_factor.append(item.code)
    return summary


def decide(store: Store, item_code: str, now: datetime, *, product_key: str | None, group_key: str | None,
           factor: Decimal | None, by: str = "manual", status: str = "manual") -> None:
    """A manual override (人工对码): it persists across re-runs of ``map_items``."""
    with store.begin() as conn:
        mappings.update_mapping(conn, store.hospital_code, item_code, dict(
            status=status, product_key=product_key, group_key=group_key, factor=factor,
            factor_source="review" if factor is not None else None, decided_by=by, decided_at=now, updated_at=now,
            confidence=1.0))
