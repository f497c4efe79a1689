"""网采率 (the share of purchases made on the provincial platform) over the periods the regulator
reads it: the month so far, each agreement year so far (协议年度) and the calendar year so far.

Counted as the bureau counts it (001: drugs >= 90%, high-value consumables >= 80%): by amount, over
the warehouse receipt lines accepted (验收入库) in the period by the day of acceptance, on-platform
amount over the whole, drugs and consumables apart; a voided line counts nowhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from agent.domain.monitoring_model import PurchaseMix

KIND_NAMES = {"drug": "药品", "high_value_consumable": "高值医用耗材"}
PERIOD_NAMES = {"month": "本月", "agreement_year": "协议年度", "calendar_year": "本年累计"}
FLOORS = {"drug": 0.90, "high_value_consumable": 0.80}


@dataclass(frozen=True)
class Period:
    kind: str  # month | agreement_year | calendar_year
    start: date
    end: date

    @property
    def label(self) -> str:
        name = PERIOD_NAMES[self.kind]
        return f"{name}（{self.start:%Y-%m-%d}起）" if self.kind == "agreement_year" else name


@dataclass(frozen=True)
class OnlineRate:
    period: Period
    kind: str  # drug | high_value_consumable
    on_platform_amount: float
    total_amount: float
    floor: float

    @property
    def rate(self) -> float | None:
        return self.on_platform_amount / self.total_amount if self.total_amount > 0 else None

    @property
    def below(self) -> bool:
        return self.rate is not None and self.rate < self.floor


def periods(as_of: date, agreement_starts: Iterable[date]) -> list[Period]:
    """The month, each agreement year running on ``as_of`` (by its start) and the calendar year,
    each to ``as_of``."""
    out = [Period("month", as_of.replace(day=1), as_of)]
    out += [Period("agreement_year", s, as_of) for s in sorted(set(agreement_starts)) if s <= as_of]
    return [*out, Period("calendar_year", date(as_of.year, 1, 1), as_of)]


def online_rates(mixes: Iterable[tuple[Period, Iterable[PurchaseMix]]],
                 floors: dict[str, float] | None = None) -> list[OnlineRate]:
    """One rate per period for each kind bought in any of them (a period without purchases of the
    kind has no rate: 无验收入库), kind by kind."""
    floors = floors or FLOORS
    read = [(period, {m.kind: m for m in mix if m.total_amount > 0}) for period, mix in mixes]
    kinds = sorted({k for _p, by_kind in read for k in by_kind}, key=_kind_order)
    return [OnlineRate(period, k, by_kind[k].on_platform_amount if k in by_kind else 0.0,
                       by_kind[k].total_amount if k in by_kind else 0.0, floors.get(k, FLOORS["drug"]))
            for k in kinds for period, by_kind in read]


def _kind_order(kind: str) -> tuple[int, str]:
    return (list(KIND_NAMES).index(kind) if kind in KIND_NAMES else len(KIND_NAMES), kind)


def rate_lines(rates: Iterable[OnlineRate]) -> list[str]:
    """For a person: one line per kind, its periods side by side (`药品 本月 95.2%，…（要求 ≥90%）`)."""
    by_kind: dict[str, list[OnlineRate]] = {}
    for r in rates:
        by_kind.setdefault(r.kind, []).append(r)
    lines = []
    for kind in sorted(by_kind, key=_kind_order):
        parts = [f"{r.period.label} " + (f"{r.rate:.1%}{'（低于要求）' if r.below else ''}" if r.rate is not None
                                         else "无验收入库") for r in by_kind[kind]]
        lines.append(f"{KIND_NAMES.get(kind, kind)}：{'，'.join(parts)}（要求 ≥{by_kind[kind][0].floor:.0%}）")
    return lines
