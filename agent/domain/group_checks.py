"""Checks on the generic groups 对码 built: what looks wrong, for a pharmacist to look at.

- a group holding two molecules by the national code (the codes' generic-name parts differ);
- a non-winning item whose spec strength no winning product of its group has;
- one national code in two groups.

Pure: the caller hands in each group's winning products and the mapped items.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from agent.domain.catalogue import WinningProduct, code_molecule, national_code_problem, normal_code
from agent.domain.normalise import split_name_spec
from agent.domain.spec import parse_spec, strength_similarity


@dataclass(frozen=True, slots=True)
class Member:
    """A local item mapped into a group (product_key None: non-winning)."""

    item_code: str
    name: str
    group_key: str
    product_key: str | None
    national_code: str | None
    spec: str | None


@dataclass(frozen=True, slots=True)
class GroupFinding:
    kind: str  # two_molecules | strength_not_won | code_in_two_groups
    group_key: str
    item_codes: tuple[str, ...]
    message: str  # Chinese, staff-facing


def _drug_code(code: str | None) -> str | None:
    c = normal_code(code)
    return c if c and len(c) == 23 and c.startswith("X") and national_code_problem(c) is None else None


def check_groups(winning: Mapping[str, list[WinningProduct]], members: Iterable[Member]) -> list[GroupFinding]:
    """Every suspicious group, in a stable order (group, then kind)."""
    out: list[GroupFinding] = []
    by_group: dict[str, list[Member]] = defaultdict(list)
    groups_of_code: dict[str, set[str]] = defaultdict(set)
    items_of_code: dict[str, list[str]] = defaultdict(list)
    for m in members:
        by_group[m.group_key].append(m)
        code = _drug_code(m.national_code)
        if code:
            groups_of_code[code].add(m.group_key)
            items_of_code[code].append(m.item_code)
    for group in sorted(by_group):
        items = by_group[group]
        molecules: dict[str, list[str]] = defaultdict(list)
        for p in winning.get(group, []):
            code = _drug_code(p.national_code)
            if code:
                molecules[code_molecule(code)].append(f"中选{p.generic_name}")
        for m in items:
            code = _drug_code(m.national_code)
            if code:
                molecules[code_molecule(code)].append(m.item_code)
        if len(molecules) > 1:
            parts = "；".join(f"{mol}：{'、'.join(who)}" for mol, who in sorted(molecules.items()))
            out.append(GroupFinding("two_molecules", group, tuple(sorted(c for w in molecules.values() for c in w
                                                                          if not c.startswith("中选"))),
                                    f"分组{group}含两种药物（国家代码的通用名部分不同）：{parts}"))
        specs = [parse_spec(p.spec) for p in winning.get(group, [])]
        if specs and all(s.strength for s in specs):
            for m in items:
                if m.product_key is not None:
                    continue
                mine = parse_spec(m.spec or split_name_spec(m.name)[1])
                if mine.strength and all(strength_similarity(mine, s) == 0.0 for s in specs):
                    won = "、".join(sorted({s.strength_text for s in specs}))
                    out.append(GroupFinding("strength_not_won", group, (m.item_code,),
                                            f"分组{group}的非中选品种{m.item_code}（{m.name}）规格{mine.strength_text}，"
                                            f"中选产品无此规格（{won}）：请确认分组"))
    for code in sorted(groups_of_code):
        if len(groups_of_code[code]) > 1:
            groups = "、".join(sorted(groups_of_code[code]))
            out.append(GroupFinding("code_in_two_groups", sorted(groups_of_code[code])[0], tuple(sorted(items_of_code[code])),
                                    f"国家代码{code}的品种（{'、'.join(sorted(items_of_code[code]))}）分在不同分组：{groups}"))
    return out
