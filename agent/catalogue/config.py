"""The ``[catalogue]`` config section: how sure 对码 must be to accept on its own."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class CatalogueConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    auto_accept: float = Field(default=0.9, ge=0.5, le=1.0, description="lowest score accepted without review")
    candidates: int = Field(default=3, ge=1, le=10, description="candidates kept for review")
    synonyms: dict[str, str] = Field(default_factory=dict, description=(
        "the hospital's own former, colloquial or trade names -> national generic name (with its form when "
        "the name implies one), on top of the built-in table: {\"扑热息痛\" = \"对乙酰氨基酚\"}"))
