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


def online_rates(period: Period, mix: Iterable[PurchaseMix], floors: dict[str, float] | None = None) -> list[OnlineRate]:
    """One rate per kind bought in the period (a kind with no purchases has none)."""
    floors = floors or FLOORS
    return [OnlineRate(period, m.kind, m.on_platform_amount, m.total_amount, floors.get(m.kind, FLOORS["drug"]))
            for m in sorted(mix, key=lambda m: m.kind) if m.total_amount > 0]


def rate_lines(rates: Iterable[OnlineRate]) -> list[str]:
    """For a person: one line per kind, its periods side by side (`药品 本月 95.2%，…（要求 ≥90%）`)."""
    by_kind: dict[str, list[OnlineRate]] = {}
    for r in rates:
        by_kind.setdefault(r.kind, []).append(r)
    lines = []
    for kind in sorted(by_kind, key=lambda k: list(KIND_NAMES).index(k) if k in KIND_NAMES else 9):
        parts = [f"{r.period.label} {r.rate:.1%}{'（低于要求）' if r.below else ''}" for r in by_kind[kind]
                 if r.rate is not None]
        lines.append(f"{KIND_NAMES.get(kind, kind)}：{'，'.join(parts)}（要求 ≥{by_kind[kind][0].floor:.0%}）")
    return lines
