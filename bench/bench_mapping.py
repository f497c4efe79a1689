"""对码 on a HIS dictionary nobody tuned for (tests/fixtures_catalogue.his_dictionary, 400+ items).

Per item class (剂型写法, 剂型空白, 旧称俗称, 商品名, HIS国家代码, ...): items grouped right
automatically, sent to review, grouped wrong (an automatic group, or an automatic 非集采, that is
not the item's true group). For the items in review: whether the true group is among the top 3
suggestions (非集采 items count as right: 无关 is always offered). Also the automatic product
errors (right group, wrong winning product). The last line is one JSON object.
``BENCH_SEED`` picks another hospital; ``BENCH_VERBOSE=1`` lists every wrong or missed item.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.domain.matching import AUTO, NONE, REVIEW, Matcher
from tests.fixtures_catalogue import his_dictionary


def main() -> dict:
    seed = int(os.environ.get("BENCH_SEED", "20261125"))
    verbose = os.environ.get("BENCH_VERBOSE") == "1"
    products, items, truth, classes = his_dictionary(seed)
    started = time.perf_counter()
    matcher = Matcher(products)
    proposals = {item.code: matcher.propose(item) for item in items}
    elapsed = time.perf_counter() - started
    per: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for item in items:
        p, (product, group), c = proposals[item.code], truth[item.code], per[classes[item.code]]
        c["items"] += 1
        if p.status in (AUTO, NONE):
            if p.group_key == group:
                c["auto_right"] += 1
                if p.status == AUTO and p.product_key != product:
                    c["auto_wrong_product"] += 1
                    _show(verbose, "wrong product", item, p, product, group)
            else:
                c["auto_wrong"] += 1
                _show(verbose, "WRONG GROUP", item, p, product, group)
        else:
            assert p.status == REVIEW
            c["review"] += 1
            if group is None or group in [x.group_key for x in p.candidates[:3]] or p.group_key == group:
                c["review_top3"] += 1
            else:
                _show(verbose, "review, group not in top 3", item, p, product, group)
    total = {k: sum(c[k] for c in per.values()) for k in ("items", "auto_right", "review", "auto_wrong",
                                                          "auto_wrong_product", "review_top3")}
    result = {
        "bench": "mapping", "seed": seed, "winning_products": len(products), "items": len(items),
        "per_class": {k: {f: v[f] for f in ("items", "auto_right", "review", "auto_wrong", "review_top3",
                                            "auto_wrong_product")} for k, v in sorted(per.items())},
        **total,
        "auto_share": round((total["auto_right"] + total["auto_wrong"]) / total["items"], 4),
        "group_precision": round(total["auto_right"] / max(1, total["auto_right"] + total["auto_wrong"]), 4),
        "review_top3_share": round(total["review_top3"] / max(1, total["review"]), 4),
        "ms_per_item": round(1000 * elapsed / len(items), 3),
    }
    return result


def _show(verbose: bool, what: str, item, p, product, group) -> None:  # type: ignore[no-untyped-def]
    if verbose:
        print(f"{what}: {item}\n    -> {p.status} {p.product_key} {p.group_key} | {p.reason}\n"
              f"    candidates {[c.group_key for c in p.candidates[:3]]}\n    truth {product} {group}", file=sys.stderr)


if __name__ == "__main__":
    print(json.dumps(main(), ensure_ascii=False))
