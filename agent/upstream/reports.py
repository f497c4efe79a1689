"""Monthly aggregates uploaded to the platform (带量执行 report), where the profile supports it.

Only aggregates leave: a row may hold the product, its quantity, amount, agreed volume and
completion, nothing else; a row with any other field (a patient or prescription field, say) is
refused before anything is queued. The upload goes through the outbox like a confirmation,
once per month (idempotency key ``report:<month>``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from agent.errors import DataError
from agent.store import Tx, outbox
from agent.upstream.profiles import Profile

CHANNEL = "platform:report"
AGGREGATE_FIELDS = frozenset({
    "product_code", "product_name", "programme", "quantity", "amount", "agreed_volume", "completion",
    "time_progress", "winning",
})
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def _clean(row: Mapping[str, Any]) -> dict[str, Any]:
    extra = sorted(set(row) - AGGREGATE_FIELDS)
    if extra:
        raise DataError(f"report row for {row.get('product_code')} holds non-aggregate field(s) {', '.join(extra)}: "
                        "only product aggregates may leave the hospital")
    return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in row.items()}


def queue_monthly_report(conn: Tx, hospital: str, profile: Profile, month: str,
                         rows: Iterable[Mapping[str, Any]], now: datetime) -> bool:
    """Queue the month's aggregates; False when the profile has no report upload or it is already queued."""
    if not _MONTH.match(month):
        raise DataError(f"report month '{month}' is not YYYY-MM")
    if not profile.supports_reports:
        return False
    items = [_clean(r) for r in rows]
    return outbox.enqueue(conn, hospital, CHANNEL, f"report:{month}", {"month": month, "items": items}, now)
