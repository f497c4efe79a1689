"""Prescriber concentration (医生非中选处方集中): a prescriber whose non-winning share of a group is
far above the rest of the department's, a finding of its own kept as evidence for the misconduct
clue report. The prescriber is named by the HIS's own code only.

Over the last ``days`` (28), per group, department and prescriber: the prescriber's non-winning
share of the group's use against the share of the department's other prescribers. A finding
needs the prescriber's non-winning use to reach ``min_volume`` units, a share of at least
``min_share`` and at least ``ratio`` x and ``margin`` above the others', and a binomial tail below
``alpha`` / m (Bonferroni over the m prescribers tested in the evaluation: few pass the gates and
each finding names a person, so the simplest strict control is the right one). The binomial counts
dispensings, not units: each is taken as the group's median dispensing (row) in smallest units,
so a prescriber with three boxes of 28 is three events, not 84.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from agent.domain.findings import Finding, Severity
from agent.domain.monitoring_model import DailyUsage, GenericGroup, ItemLink
from agent.domain.stats import binom_sf

RULE_PRESCRIBER = "prescriber_concentration"


@dataclass(frozen=True)
class ShareRules:
    days: int = 28
    min_volume: float = 60.0  # the prescriber's non-winning units over the days
    min_share: float = 0.5
    ratio: float = 2.0  # the prescriber's share at least this x the others'
    margin: float = 0.3  # and this much above it
    alpha: float = 0.01  # family-wise, Bonferroni over the prescribers tested


@dataclass(frozen=True)
class PrescriberShare:
    group_id: str
    dept: str
    prescriber: str  # the HIS's own code
    non_winning: float  # units over the days
    total: float
    others_non_winning: float
    others_total: float
    p_value: float

    @property
    def share(self) -> float:
        return self.non_winning / self.total if self.total else 0.0

    @property
    def others_share(self) -> float:
        return self.others_non_winning / self.others_total if self.others_total else 0.0


def concentrated_prescribers(rows: Iterable[DailyUsage], links: Mapping[str, ItemLink], end: date,
                             rules: ShareRules = ShareRules()) -> list[PrescriberShare]:
    """``rows``: per day x item x department x prescriber, winning and non-winning items of the
    groups to look at; rows without a prescriber are left out."""
    first = end - timedelta(days=rules.days - 1)
    acc: dict[tuple[str, str, str], list[float]] = {}
    row_sizes: dict[str, list[float]] = {}
    for row in rows:
        link = links.get(row.item_code)
        if not row.prescriber or link is None or link.factor is None or not first <= row.day <= end or row.qty <= 0:
            continue
        qty = row.qty * link.factor
        a = acc.setdefault((link.group_id, row.dept, row.prescriber), [0.0, 0.0])
        a[1] += qty
        if not link.winning:
            a[0] += qty
        row_sizes.setdefault(link.group_id, []).append(qty)
    depts: dict[tuple[str, str], list[float]] = {}
    for (gid, dept, _doc), (nw, tot) in acc.items():
        d = depts.setdefault((gid, dept), [0.0, 0.0, 0.0])
        d[0], d[1], d[2] = d[0] + nw, d[1] + tot, d[2] + 1
    candidates = []
    tested = 0
    for (gid, dept, doc), (nw, tot) in sorted(acc.items()):
        d_nw, d_tot, n_docs = depts[(gid, dept)]
        o_nw, o_tot = d_nw - nw, d_tot - tot
        if n_docs < 2 or o_tot <= 0 or tot <= 0:
            continue
        tested += 1
        share, others = nw / tot, o_nw / o_tot
        if nw < rules.min_volume or share < rules.min_share or share < rules.ratio * others or share < others + rules.margin:
            continue
        sizes = sorted(row_sizes[gid])
        unit = max(sizes[len(sizes) // 2], 1.0)
        p = binom_sf(nw / unit, tot / unit, min(max(others, 0.02), 0.98))
        candidates.append(PrescriberShare(gid, dept, doc, nw, tot, o_nw, o_tot, p))
    return [c for c in candidates if c.p_value * max(tested, 1) <= rules.alpha]


def prescriber_finding(share: PrescriberShare, group: GenericGroup, observed_at: datetime, days: int,
                       dept_names: Mapping[str, str] | None = None) -> Finding:
    names = dept_names or {}
    dept = names.get(share.dept) or share.dept or "未知科室"
    return Finding(
        rule=RULE_PRESCRIBER,
        subject=f"{share.group_id}|{share.prescriber}",
        severity=Severity.WARNING,
        title=(f"{group.name}：医生{share.prescriber}（{dept}）近{days}日非中选产品占比 {share.share:.0%}，"
               f"本科室其他医生 {share.others_share:.0%}"),
        observed_at=observed_at,
        values={
            "prescriber": share.prescriber,
            "prescriber_share": round(share.share, 4),
            "dept_share": round(share.others_share, 4),
            "observed": round(share.non_winning, 2),
            "p_value": share.p_value,
            "window_days": days,
        },
        evidence={"dept": share.dept, "dept_name": names.get(share.dept, ""), "non_winning": round(share.non_winning, 2),
                  "total": round(share.total, 2), "others_non_winning": round(share.others_non_winning, 2),
                  "others_total": round(share.others_total, 2), "use": "misconduct_clue"},
        labels={"programme": group.programme, "group": group.group_id, "kind": RULE_PRESCRIBER,
                "prescriber": share.prescriber},
    )
