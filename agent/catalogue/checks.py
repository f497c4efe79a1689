"""``map check`` and ``map list --group``: who is in a group, and the groups that look wrong."""

from __future__ import annotations

from typing import Any

from agent.catalogue.review import typed_group
from agent.domain.catalogue import WinningProduct
from agent.domain.group_checks import GroupFinding, Member, check_groups
from agent.store import Store, mappings
from agent.store import catalogue as repo


def group_findings(store: Store) -> list[GroupFinding]:
    """The suspicious groups of the hospital's accepted mappings."""
    with store.read() as conn:
        winning: dict[str, list[WinningProduct]] = {}
        seen: set[str] = set()
        for row in repo.winning_products(conn, store.hospital_code):
            if row.product_key not in seen:
                seen.add(row.product_key)
                winning.setdefault(row.group_key, []).append(row.product)
        rows = mappings.grouped_items(conn, store.hospital_code)
    members = [Member(r["item_code"], r["item_name"], r["group_key"], r["product_key"],
                      (r["item"] or {}).get("national_code"), (r["item"] or {}).get("spec")) for r in rows]
    return check_groups(winning, members)


def group_listing(store: Store, group: str) -> tuple[str | None, list[dict[str, Any]]]:
    """(the group key ``group`` names, typed as a key or as 通用名+剂型; its members), or (None, [])."""
    with store.read() as conn:
        known = set(repo.product_groups(conn, store.hospital_code).values())
        key = typed_group(group, known)
        return key, (mappings.group_members(conn, store.hospital_code, key) if key else [])
