"""The ``[catalogue]`` config section: how sure 对码 must be to accept on its own, how big a bureau
spreadsheet may be before it is parsed, and what values a row may plausibly hold."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class CatalogueConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    auto_accept: float = Field(default=0.9, ge=0.5, le=1.0, description="lowest score accepted without review")
    candidates: int = Field(default=3, ge=1, le=10, description="candidates kept for review")
    synonyms: dict[str, str] = Field(default_factory=dict, description=(
        "the hospital's own former, colloquial or trade names -> national generic name (with its form when "
        "the name implies one), on top of the built-in table: {\"扑热息痛\" = \"对乙酰氨基酚\"}"))
    # 高值/低值 of a consumable whose 27-character code's class does not decide it (agent.domain.consumables)
    high_value_price: float = Field(default=500.0, gt=0, description=(
        "a consumable at or above this unit price (yuan) is high-value (高值耗材) when its code's class does not say"))
    high_value_classes: dict[str, str] | None = Field(default=None, description=(
        "the 27-character code's 一级分类 (2 digits) counted high-value whatever the price, with their names; "
        "unset: the built-in table (C01 C02 C03 C09 C14)"))

    # A workbook is checked against these before it is parsed (an xlsx is a zip: a 600 KB file can
    # inflate to gigabytes of shared strings).
    max_file_mb: int = Field(default=64, ge=1, le=4096, description="largest spreadsheet file read, in MB")
    max_zip_entries: int = Field(default=1000, ge=10, le=100_000, description="most parts an xlsx may hold")
    max_unzipped_mb: int = Field(default=256, ge=1, le=16_384, description="largest total uncompressed size of an xlsx, in MB")
    max_rows: int = Field(default=200_000, ge=100, le=10_000_000, description="most rows read from one sheet")
    # Plausibility: a row with a value beyond these is refused with its file, sheet, row and column.
    max_pack: int = Field(default=100_000, ge=1, description="largest believable pack size (包装数量)")
    max_price: float = Field(default=10_000_000, gt=0, description="largest believable price in yuan (中选价格)")
    max_volume: float = Field(default=10_000_000_000, gt=0, description="largest believable agreed volume in smallest units")
