"""The ``[monitoring]`` config section, turned into the domain's rule objects."""

from __future__ import annotations

from datetime import date, time
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agent.domain.deadlines import DeadlineRules
from agent.domain.detect import DetectRules
from agent.domain.progress import ProgressRules
from agent.domain.uploads import UploadRules


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DetectConfig(_Strict):
    baseline_days: int = Field(default=84, ge=14, le=365)
    window_days: int = Field(default=7, ge=1, le=28)
    fdr: float = Field(default=0.35, gt=0, lt=1)
    fdr_per_group: float = Field(default=0.0005, ge=0, lt=1)
    short_windows: list[int] = [5, 3]
    long_windows: list[Annotated[int, Field(ge=8, le=56)]] = []  # e.g. [28]: a doubling seen in four weeks (opt-in)
    screen_p: float = Field(default=0.2, gt=0, le=1)  # no longer used: every cell is tested (kept so configs load)
    min_volume: float = Field(default=30.0, ge=0)
    dept_min_volume: float = Field(default=0.0, ge=0)  # a floor under cell_min_volume (kept so configs load)
    cell_min_volume: float = Field(default=10.0, ge=0)  # units a cell's window needs (the group's: min_volume)
    min_effect: float = Field(default=0.2, ge=0)
    persistence: int = Field(default=1, ge=1)
    persistence_of: int = Field(default=3, ge=1)
    overwhelming: float = Field(default=0.07, ge=0, le=1)
    pool_dispersion: bool = True
    freeze_min_days: int = Field(default=28, ge=7, le=365)  # a rise under alert keeps its pre-rise baseline
    top_departments: int = Field(default=3, ge=1, le=20)
    level_days: int = Field(default=42, ge=14, le=365)  # the expected level follows slow seasonal drift over this
    cell_min_baseline: float = Field(default=1.0, ge=0)  # a cell without this much baseline use is new use, not a rise
    # each family's share of a group's weight in its weighted Simes: group total, products, departments, products in
    # departments, products of prescribers ([]: every cell weight 1)
    family_shares: Annotated[list[Annotated[float, Field(ge=0)]], Field(max_length=5)] = []
    level_drift: float = Field(default=0.05, ge=0, le=1)  # relative sd of the level's drift up to the window
    kind_dispersion: bool = True  # the second dispersion fit pools the cells of one kind (else each cell's own)
    exact_level: bool = True  # also the exact (binomial) tail of the window against the level span; the wider is kept
    share_test: bool = False  # also each cell's share of the rest of its group (opt-in)

    @field_validator("family_shares")
    @classmethod
    def _five_shares(cls, v: list[float]) -> list[float]:
        if v and (len(v) != 5 or sum(v) <= 0):
            raise ValueError("five shares (group, products, departments, products in departments, prescribers), "
                             "not all 0, or none")
        return v


class DeadlineConfig(_Strict):
    warn_at: float = Field(default=0.8, gt=0, lt=1)
    delivery_hours_urban: float = Field(default=24, gt=0)
    delivery_hours_other: float = Field(default=48, gt=0)
    payment: Literal["month_end", "30_days"] = "month_end"
    filing_workdays: int = Field(default=7, ge=1)
    online_rate_drug: float = Field(default=0.90, ge=0, le=1)
    online_rate_hv_consumable: float = Field(default=0.80, ge=0, le=1)
    remote_area: bool = False  # the hospital is outside the main urban area (主城区): 48 h delivery for every order
    bill_check_days: float = Field(default=5, gt=0)  # a bill not checked and uploaded (对账上传) this long after issue
    declaration_due: date | None = None  # the bureau's deadline for the volume declaration (报量表)
    declaration_notice_days: int = Field(default=30, ge=1, le=365)


class UploadConfig(_Strict):
    """``[monitoring.uploads]``: the province's deadline for the 医保 进销存 uploads (3501-3507),
    watched where a HIS source has the ``insurance_uploads`` query."""

    deadline_days: int = Field(default=1, ge=0, le=31)  # days after the business day
    deadline_time: time = time(23, 59)
    interfaces: list[Literal["3501", "3502", "3503", "3504", "3505", "3506", "3507"]] = ["3503", "3505"]
    lookback_days: int = Field(default=35, ge=7, le=400)  # business days of the log re-read each hour
    watch_days: int = Field(default=92, ge=7, le=400)  # business days whose open problems stay findings

    def rules(self) -> UploadRules:
        return UploadRules(self.deadline_days, self.deadline_time, tuple(self.interfaces))


class MonitoringConfig(_Strict):
    """``[monitoring]``: 序时进度 basis and margin, the drift allowed between completion by
    acceptance and by usage, rise detection, deadline clocks."""

    time_basis: Literal["calendar", "workdays"] = "calendar"
    behind_margin: float = Field(default=0.0, ge=0, lt=1)
    recent_days: int = Field(default=28, ge=7, le=180)
    drift_points: float = Field(default=0.2, gt=0, le=1)  # 按验收 vs 按使用, share of the agreed volume
    detect: DetectConfig = DetectConfig()
    deadlines: DeadlineConfig = DeadlineConfig()
    uploads: UploadConfig = UploadConfig()

    def progress_rules(self) -> ProgressRules:
        return ProgressRules(self.behind_margin, self.time_basis, self.recent_days)

    def detect_rules(self) -> DetectRules:
        d = self.detect
        return DetectRules(baseline_days=d.baseline_days, window_days=d.window_days, fdr=d.fdr,
                           min_volume=d.min_volume, min_effect=d.min_effect, persistence=d.persistence,
                           persistence_of=d.persistence_of, short_windows=tuple(d.short_windows),
                           long_windows=tuple(d.long_windows),
                           screen_p=d.screen_p, dept_min_volume=d.dept_min_volume, overwhelming=d.overwhelming,
                           fdr_per_group=d.fdr_per_group, pool_dispersion=d.pool_dispersion,
                           freeze_min_days=d.freeze_min_days, level_days=min(d.level_days, d.baseline_days),
                           cell_min_baseline=d.cell_min_baseline, cell_min_volume=d.cell_min_volume,
                           family_shares=tuple(d.family_shares), level_drift=d.level_drift,
                           kind_dispersion=d.kind_dispersion, exact_level=d.exact_level, share_test=d.share_test)

    def deadline_rules(self) -> DeadlineRules:
        d = self.deadlines
        return DeadlineRules(warn_at=d.warn_at, delivery_hours_urban=d.delivery_hours_urban,
                             delivery_hours_other=d.delivery_hours_other, payment=d.payment,
                             filing_workdays=d.filing_workdays, online_rate_drug=d.online_rate_drug,
                             online_rate_hv_consumable=d.online_rate_hv_consumable, remote_area=d.remote_area,
                             bill_check_days=d.bill_check_days, declaration_due=d.declaration_due,
                             declaration_notice_days=d.declaration_notice_days)
