"""What monitoring reads: agreement years, generic groups, item links, usage, and the events
behind the deadline clocks. Plain dataclasses; the ``MonitoringInputs`` port that returns them
(implemented over the ingestion and catalogue tables) is in ``agent.ports``.

Units: ``DailyUsage.qty`` is in the HIS unit of the local item; ``ItemLink.factor`` converts it
to the smallest unit (片/粒/支/袋) in which agreed volumes (约定采购量) are set. Monitoring does the
conversion itself, so a pack-unit item is counted right or not at all (a link without a factor
is reported, never guessed). Warehouse acceptances (``AcceptedTotal``) come in whatever unit the
warehouse recorded (the HIS unit, the smallest unit or a pack unit); ``ItemLink.his_unit``,
``spec`` and ``smallest_unit`` say which of those can be converted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True, slots=True)
class ProductYear:
    """One winning product (中选产品) in one agreement year (协议年度) of a programme (批次)."""

    product_id: str
    group_id: str
    name: str  # 通用名, as the bureau lists it
    programme: str  # 批次 / 联盟 name
    year_start: date
    year_end: date  # inclusive
    agreed_qty: float  # 约定采购量, smallest units
    price: float = 0.0  # 中选价格 per smallest unit
    spec: str = ""
    manufacturer: str = ""
    kind: str = "drug"  # drug | consumable

    @property
    def key(self) -> str:
        return f"{self.product_id}@{self.year_start.isoformat()}"

    def covers(self, day: date) -> bool:
        return self.year_start <= day <= self.year_end


@dataclass(frozen=True, slots=True)
class GenericGroup:
    """Products of one generic name and form (同通用名): the winning ones and their rivals."""

    group_id: str
    name: str
    programme: str
    winning_products: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ItemLink:
    """A local HIS item mapped (对码) to a group; ``product_id`` set when it is a winning product."""

    item_code: str
    group_id: str
    name: str
    product_id: str | None = None
    factor: float | None = 1.0  # smallest units per HIS unit; None: unknown, the item is skipped
    price: float = 0.0  # per smallest unit, for ranking expensive non-winning items
    his_unit: str | None = None  # the unit ``factor`` converts (盒, 片...), as the HIS dictionary names it
    spec: str | None = None  # the item's own 规格 (7片/盒): a pack unit's size when the HIS unit is not the pack
    smallest_unit: str | None = None  # the winning product's 最小制剂单位 (片/粒/支)
    substitutable: bool = False  # 可替代产品: marked by staff, counted apart from the group's rivals

    @property
    def winning(self) -> bool:
        return self.product_id is not None


@dataclass(slots=True)  # not frozen: hundreds of thousands are built per evaluation
class UsageTotal:
    """Usage of one local item summed over a date range (net of returns, HIS unit)."""

    item_code: str
    qty: float
    amount: float


@dataclass(slots=True)  # not frozen: hundreds of thousands are built per evaluation
class DailyUsage:
    """One day x local item (x department, x prescriber when asked for) aggregate, HIS unit."""

    day: date
    item_code: str
    qty: float
    amount: float
    dept: str = ""
    prescriber: str = ""
    lines: int = 0  # the source lines behind it (prescription lines: its dispensings); 0 where not read


@dataclass(slots=True)
class AcceptedTotal:
    """Warehouse receipt lines (入库明细) of one local item in one recorded unit, summed over a date
    range of acceptance (验收日期, the hospital's own day); deleted lines are not counted."""

    item_code: str
    unit: str | None  # as the warehouse recorded it
    on_platform: bool  # 平台采购: only these count towards completion by acceptance
    qty: float
    lines: int
    factor: float | None = None  # the lines' own smallest units per ``unit``, when the warehouse records it


@dataclass(frozen=True, slots=True)
class Acceptance:
    """A warehouse acceptance (验收入库) waiting for its platform arrival confirmation (到货确认)."""

    line_id: str
    item: str
    accepted_at: datetime
    confirmed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Order:
    """A platform order (采购订单) and what the distributor did with it."""

    order_id: str
    distributor: str
    item: str
    ordered_at: datetime
    responded_at: datetime | None = None
    delivered_at: datetime | None = None
    urban: bool = True  # 主城区: 24 h delivery, elsewhere 48 h
    quantity: float | None = None  # ordered
    delivered_qty: float | None = None  # delivered so far: below ``quantity`` is a short delivery (短送)

    @property
    def short(self) -> bool:
        return self.quantity is not None and self.delivered_at is not None and (self.delivered_qty or 0) < self.quantity


@dataclass(frozen=True, slots=True)
class Payable:
    """Goods accepted and not yet paid (回款)."""

    bill_id: str
    supplier: str
    accepted_at: datetime
    amount: float
    paid_at: datetime | None = None
    issued_at: datetime | None = None  # the bill (账单) issued by the distributor
    checked_at: datetime | None = None  # the hospital checked it against its arrivals and uploaded it (对账上传)
    checkable: bool = False  # the bill comes from the platform: its check is watched too


@dataclass(frozen=True, slots=True)
class OffPlatformPurchase:
    """A purchase made off the platform (线下采购) that must be filed (备案)."""

    line_id: str
    item: str
    purchased_on: date
    filed_on: date | None = None
    supplier: str = ""
    emergency: bool = False  # 紧急采购: allowed, filed afterwards all the same


@dataclass(frozen=True, slots=True)
class PurchaseMix:
    """Warehouse receipts of one kind in a period, on and off the platform (网采率)."""

    kind: str  # drug | high_value_consumable
    on_platform_amount: float
    total_amount: float


@dataclass(frozen=True, slots=True)
class VolumePlan:
    """A planned volume (报量) for the next cycle, against last year's and historic purchases."""

    product_id: str
    name: str
    planned_qty: float
    last_year_qty: float
    history_qty: float
    explained: bool = False


from agent.domain.prices import PricedReceipt  # noqa: E402  (defined beside the price rules)


@dataclass(frozen=True)
class DeadlineInputs:
    acceptances: Sequence[Acceptance] = ()
    orders: Sequence[Order] = ()
    payables: Sequence[Payable] = ()
    off_platform: Sequence[OffPlatformPurchase] = ()
    purchase_mix: Sequence[PurchaseMix] = ()
    volume_plans: Sequence[VolumePlan] = ()
    priced: Sequence[PricedReceipt] = ()  # recent receipt lines with the prices they are held to
    declared: bool = False  # a volume declaration (报量) was imported in the year before its deadline

